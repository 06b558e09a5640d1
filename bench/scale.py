"""Scale curves (issue 22): every peer measure at 100, 1,000, 10,000 and 100,000 domains.

    python bench/scale.py [--quick | --smoke] [--domains N ...] [--repeat R]

At each size N (``--quick``: up to 10,000; ``--smoke``: 20 and 60, nothing written):

* **generated system** (``random_csr``, 4·N objects, 20·N keys; ``bench/graph.py``,
  4.): one subject's question by the fast engine and by scipy, rustworkx, igraph
  and networkx breadth-first searches on the same CSR; memory per key of each.
* **booted system** (``kl.Kernel()`` and N domains built by console calls;
  ``bench/graph.py``, 3.): ``capability_graph()`` and ``objects()``; ``k.events()``
  against the same frame from ready numpy columns (``bench/eventlog.py``);
  ``k.checkpoint`` and ``kl.Kernel.restore`` against pickle's dump and load
  (``bench/checkpoint.py``); and the fast engine's question on the booted system's
  CSR (``analysis.fast_booted.BootedAuthority`` where the library has it, else
  ``FastAuthority``) against scipy's search there, or why the engine refuses it; then
  its flow graph, ten domains' ``flows`` and one domain's ``confinement`` (the
  console's domain in the graph, as ``capability_graph()`` gives it).

For every measure, the exponent ``b`` of ``time ≈ c · N^b`` fitted by least squares
on the logarithms (``bench/peers.py``): 1 is linear. Times are best of ``--repeat``,
interleaved with their yardstick. The tables are printed and written to
``bench/results-scale.md`` (``--quick``: ``bench/results-scale-quick.md``).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import keykos_lab  # noqa: F401
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(HERE.parent))

import checkpoint  # noqa: E402  (bench/checkpoint.py)
import eventlog  # noqa: E402  (bench/eventlog.py)
import graph  # noqa: E402  (bench/graph.py)
from peers import CAVEAT, NOT_INSTALLED, fit_exponent, interleaved, machine, optional  # noqa: E402
from peers import ratio as fmt_ratio  # noqa: E402
from peers import seconds as fmt_seconds  # noqa: E402

SIZES = {
    "full": (100, 1_000, 10_000, 100_000),
    "quick": (100, 1_000, 10_000),
    "smoke": (20, 60),
}
RESULTS = {"full": HERE / "results-scale.md", "quick": HERE / "results-scale-quick.md"}
FAST = "fast engine (`authority`)"


def booted_measures(n_domains: int, repeat: int, history_max: int) -> dict[str, float | str]:
    """Seconds of each booted-system measure at ``n_domains`` (a string: not run, why),
    on a kernel that keeps no history; the checkpoint of a kernel that keeps one (the
    default), once, up to ``history_max`` domains."""
    from scipy.sparse.csgraph import breadth_first_order

    from keykos_lab.analysis import to_csr
    from keykos_lab.analysis.fast import FastAuthority
    from keykos_lab.views.frames import objects
    from keykos_lab.views.graph import capability_graph

    out: dict[str, float | str] = {}
    if n_domains <= history_max:  # the history grows faster than the system: small only
        k = graph.booted_system(n_domains, history=True)
        with tempfile.TemporaryDirectory(prefix="kl-scale-") as folder:
            t = checkpoint.versus_pickle(k, folder, 1)
        for name in ("checkpoint", "pickle_dump", "restore", "pickle_load"):
            out[f"history: {name}"] = t[name]
        del k
    else:
        out["history: checkpoint"] = out["history: restore"] = "not run"
    k = graph.booted_system(n_domains, history=False)
    out["objects"] = float(sum(o is not None for o in k.objs))
    out["events"] = float(len(k.log))
    t = interleaved({"graph": lambda: capability_graph(k), "table": lambda: objects(k)}, repeat)
    out["capability_graph()"], out["objects()"] = t["graph"], t["table"]
    t = eventlog.events_vs_ready(k, repeat)
    out["k.events()"], out["frame from ready columns"] = t["events"], t["ready"]
    with tempfile.TemporaryDirectory(prefix="kl-scale-") as folder:
        t = checkpoint.versus_pickle(k, folder, repeat)
    for name in ("checkpoint", "pickle_dump", "restore", "pickle_load"):
        out[name] = t[name]
    csr = to_csr(capability_graph(k))
    subject = int(np.flatnonzero(csr.kind == 0)[-1])
    # The fast engine for booted systems, where the library has one (issue 22).
    booted_engine = getattr(optional("keykos_lab.analysis.fast_booted"), "BootedAuthority", None)
    try:
        t0 = time.perf_counter()
        engine = (booted_engine or FastAuthority)(csr)
        out["booted: fast engine build"] = time.perf_counter() - t0
    except ValueError as refused:
        out["booted: fast engine"] = f"refused ({str(refused).split(';')[0]})"
        out["booted: fast engine build"] = "refused"
    else:
        G = graph._scipy_graph(csr)
        t = interleaved(
            {
                "fast": lambda: engine.authority(subject),
                "bfs": lambda: breadth_first_order(
                    G, subject, directed=True, return_predecessors=False
                ),
            },
            repeat,
            min_seconds=0.02,
        )
        out["booted: fast engine"], out["booted: scipy BFS"] = t["fast"], t["bfs"]
        _flow_measures(out, engine, csr, subject)
    return out


def _flow_measures(out: dict[str, float | str], engine, csr, subject: int) -> None:
    """The booted system's flow graph, ten domains' flows and one domain's confinement
    by the fast engine (issue 22)."""
    from keykos_lab import analysis
    from keykos_lab.analysis.fast_frames import flows_frame

    doms = csr.vertices[np.flatnonzero(csr.kind == 0)[-10:]]
    t0 = time.perf_counter()
    engine.flow_graph()
    out["booted: flow graph"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    flows_frame(engine, doms)
    out["booted: flows (10 domains)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    analysis.confinement(csr, csr.vertices[subject], engine="csr")
    out["booted: confinement"] = time.perf_counter() - t0


#: (row label, measure, yardstick or None) of the booted-system table.
BOOTED_ROWS = [
    ("`capability_graph()`", "capability_graph()", None),
    ("`objects()`", "objects()", None),
    ("`k.events()` ÷ frame from ready columns", "k.events()", "frame from ready columns"),
    ("`k.checkpoint` ÷ pickle dump", "checkpoint", "pickle_dump"),
    ("`Kernel.restore` ÷ pickle load", "restore", "pickle_load"),
    (
        "with the history: `k.checkpoint` ÷ pickle dump",
        "history: checkpoint",
        "history: pickle_dump",
    ),
    (
        "with the history: `Kernel.restore` ÷ pickle load",
        "history: restore",
        "history: pickle_load",
    ),
    ("fast engine for booted systems: build", "booted: fast engine build", None),
    ("fast engine's question ÷ scipy BFS (booted CSR)", "booted: fast engine", "booted: scipy BFS"),
    ("fast engine: the flow graph", "booted: flow graph", None),
    ("fast engine: `flows` of 10 domains", "booted: flows (10 domains)", None),
    (
        "fast engine: one domain's `confinement` from the CSR (engine built)",
        "booted: confinement",
        None,
    ),
]


def _cell(value, yardstick=None) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    if yardstick is None or isinstance(yardstick, str):
        return fmt_seconds(value)
    return f"{fmt_seconds(value)} ({fmt_ratio(value, yardstick, 2)})"


def _exponent(sizes, values) -> str:
    usable = [(n, v) for n, v in zip(sizes, values) if isinstance(v, float)]
    b = fit_exponent([n for n, _ in usable], [v for _, v in usable])
    return "—" if math.isnan(b) else f"{b:.2f}"


def tables(sizes, generated: list[dict], booted: list[dict]) -> list[str]:
    head = "| measure | " + " | ".join(f"{n:,}" for n in sizes) + " | exponent |"
    rule = "| --- " * (len(sizes) + 2) + "|"
    lines = [
        "## Generated systems: one subject's question, fast engine and peers",
        "",
        "Seconds per question (best of the repeats, interleaved), the fast engine ÷ the peer "
        "in brackets, at N domains (4·N objects, 20·N keys); the exponent fits the time "
        "against N.",
        "",
        head.replace("measure", "engine"),
        rule,
    ]
    names = list(graph._peers(0))
    for name in names:
        times = [m["query"].get(name) for m in generated]
        if all(t is None for t in times):
            lines.append(f"| {name} | " + " | ".join([NOT_INSTALLED] * len(sizes)) + " | — |")
            continue
        cells = [
            "—"
            if t is None
            else fmt_seconds(t)
            if name == FAST
            else f"{fmt_seconds(t)} ({fmt_ratio(m['query'][FAST], t)})"
            for t, m in zip(times, generated)
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_exponent(sizes, times)} |")
    lines += [
        "",
        "Memory per key (resident memory the built engine or graph keeps, a forked child; "
        "small systems are dominated by fixed costs):",
        "",
        head.replace("measure", "engine").replace(" exponent |", ""),
        "| --- " * (len(sizes) + 1) + "|",
        "| CSR form (`bytes_per_key`) | "
        + " | ".join(f"{m['csr_bytes_per_key']:.1f}" for m in generated)
        + " |",
    ]
    for name in names:
        cells = [
            NOT_INSTALLED
            if name in m["missing"]
            else "—"
            if m["bytes_per_key"].get(name) is None
            else f"{m['bytes_per_key'][name]:,.0f}"
            for m in generated
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Booted systems: the library against its yardsticks",
        "",
        "Seconds (best of the repeats, interleaved with the yardstick), the library ÷ the "
        "yardstick in brackets, at N extra domains built by console calls on a kernel that "
        "keeps no history (`kl.Kernel(history=False)`); the exponent fits the library's time "
        "against N. The rows *with the history* time a default kernel's checkpoint once "
        "(its history grows faster than the system; small sizes only).",
        "",
        head,
        rule,
        "| live objects / events in the log | "
        + " | ".join(f"{m['objects']:,.0f} / {m['events']:,.0f}" for m in booted)
        + " | |",
    ]
    for label, key, yard in BOOTED_ROWS:
        cells = [_cell(m.get(key), m.get(yard) if yard else None) for m in booted]
        fit = _exponent(sizes, [m.get(key) for m in booted])
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {fit} |")
    return lines


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="up to 10,000 domains")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, nothing written")
    parser.add_argument("--domains", type=int, nargs="+", metavar="N", help="the sizes")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--history-max",
        type=int,
        help="largest system whose checkpoint is also timed with its history "
        "(default 1,000; --quick: 100)",
    )
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    sizes = tuple(args.domains or SIZES[mode])
    started = time.perf_counter()
    generated, booted = [], []
    for n in sizes:
        t0 = time.perf_counter()
        generated.append(graph.peer_measures(n, args.repeat))
        history_max = args.history_max or (1_000 if mode == "full" else 100)
        booted.append(booted_measures(n, args.repeat, history_max))
        print(f"{n:,} domains measured in {time.perf_counter() - t0:.0f} s", flush=True)
    lines = [
        "# keykos_lab scale curves",
        "",
        f"{machine()} · mode {mode} · best of {args.repeat}",
        "",
        f"Figures from {CAVEAT}.",
        "",
        *tables(sizes, generated, booted),
        "",
        f"wall time of the run: {time.perf_counter() - started:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if mode != "smoke":
        RESULTS[mode].write_text(text, encoding="utf-8")
        print(f"(written to {RESULTS[mode]})")
    return {"sizes": sizes, "generated": generated, "booted": booted}


if __name__ == "__main__":
    main()
