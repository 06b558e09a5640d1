"""The compiled kernel against the pure one: the same benchmark in two processes, interleaved.

    make compiled && python bench/compiled.py [--rounds N]

Which kernel a process runs is fixed when it imports keykos_lab (kernel/native.py), so
the two kernels cannot share a process. This script runs ``bench/kernel.py --quick --json``
alternately with ``KEYKOS_LAB_PURE=1`` (the pure kernel) and without it (the compiled build,
if ``make compiled`` made one), ``--rounds`` times each, and keeps each figure's best round.
Every ratio is to the bare generator loop timed in the same process, so the two columns are
comparable even when the machine's speed drifts between processes.

The targets are issue 22's: round trip >= 0.06 of the loop compiled (0.025 pure), primary
call >= 0.3 compiled, and a compiled round trip at least as fast as SimPy's bare-event
exchange. The table is printed and written to ``bench/results-compiled.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results-compiled.md"
ROWS = (  # (what, key in "us")
    ("primary-key CALL, op built once", "primary_op"),
    ("CALL/RETURN round trip, op built once", "rt_op"),
    ("round trip, log off", "rt_off"),
    ("round trip, history on", "rt_hist"),
    ("primary-key CALL, op built per call", "primary"),
    ("round trip, op built per call", "rt"),
)


def _one(pure: bool) -> dict:
    env = dict(os.environ)
    env.pop("KEYKOS_LAB_PURE", None)
    if pure:
        env["KEYKOS_LAB_PURE"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        subprocess.run(
            [sys.executable, str(HERE / "kernel.py"), "--quick", "--json", str(out)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(out.read_text(encoding="utf-8"))


def _best(runs: list[dict]) -> dict:
    """Each figure's best round, as a ratio to that round's own baseline."""
    best = {"ratio": {}, "us": {}, "peer_ratio": {}, "status": runs[0]["status"]}
    for key in runs[0]["us"]:
        best["ratio"][key] = max(r["base_us"] / r["us"][key] for r in runs)
        best["us"][key] = min(r["us"][key] for r in runs)
    for key in runs[0]["peers_us"]:
        if runs[0]["peers_us"][key] is not None:  # kernel round trip / peer, best round
            best["peer_ratio"][key] = min(r["us"]["rt_op"] / r["peers_us"][key] for r in runs)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="processes per kernel (default 2)")
    args = ap.parse_args(argv)
    runs: dict[str, list[dict]] = {"pure": [], "compiled": []}
    for _ in range(args.rounds):
        runs["pure"].append(_one(pure=True))
        runs["compiled"].append(_one(pure=False))
    pure, comp = _best(runs["pure"]), _best(runs["compiled"])
    have = all(r["compiled"] for r in runs["compiled"])
    lines = [
        "# The compiled kernel against the pure one",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · bench/kernel.py --quick in {args.rounds} processes per "
        f"kernel, best round · compiled process: {comp['status']}",
        "",
    ]
    if not have:
        lines += ["No compiled build here (`make compiled` makes one): both columns are pure.", ""]
    lines += [
        "| measure | pure µs | compiled µs | speed-up | pure ratio | compiled ratio |",
        "|---|---|---|---|---|---|",
    ]
    for what, key in ROWS:
        lines.append(
            f"| {what} | {pure['us'][key]:.2f} | {comp['us'][key]:.2f} | "
            f"{pure['us'][key] / comp['us'][key]:.2f}x | {pure['ratio'][key]:.4f} | "
            f"{comp['ratio'][key]:.4f} |"
        )
    targets = (
        ("round trip, compiled", comp["ratio"]["rt_op"], 0.06),
        ("round trip, pure", pure["ratio"]["rt_op"], 0.025),
        ("primary call, compiled", comp["ratio"]["primary_op"], 0.3),
    )
    lines += ["", "| target (ratio to the bare loop) | ratio | needed | result |"]
    lines += ["|---|---|---|---|"]
    for what, ratio, needed in targets:
        ok = "PASS" if ratio >= needed else f"MISS ({needed / ratio:.1f}x to go)"
        lines.append(f"| {what} | {ratio:.4f} | >= {needed} | {ok} |")
    simpy = comp["peer_ratio"].get("simpy_events")
    if simpy is not None:
        lines.append(
            f"| compiled round trip / SimPy bare-event exchange (time) | {simpy:.2f} | <= 1 | "
            f"{'PASS' if simpy <= 1 else 'MISS'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
