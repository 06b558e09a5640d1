"""The notebooks, executed headless: seconds per notebook against an empty one, same run.

    python bench/notebooks.py [NOTEBOOK ...] [--timeout SECONDS]

Runs every notebook in ``notebooks/`` (or those named) top to bottom, one after the
other, each in a fresh Python kernel started by nbclient with ``notebooks/`` as its
working directory — what ``make test`` (nbmake) and a reader's "Run all" do. The
baseline is an empty notebook (one ``pass`` cell) run the same way in the same run:
the fixed cost of starting and stopping a kernel. For each notebook: wall seconds,
the ratio to the baseline, its slowest cell (from nbclient's execution timestamps)
and whether it ran to the end; then the total against the target of issue 9 (the
whole folder in under two minutes). Nothing is written back to the notebooks.

Notebook 06 reads external capability files (``keykos_lab.datasets.external``:
``$KEYKOS_LAB_EXTERNAL`` or ``../shared/external`` beside the checkout); when they
are not on disk it is skipped and the table says so — the bench downloads nothing.
The table is printed and written to ``bench/results-notebooks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = Path(__file__).resolve().parent / "results-notebooks.md"
TARGET = 120.0  # seconds for the whole folder (issue 9)
PER_NOTEBOOK = 60.0  # seconds each notebook should stay under (the notebook rules)
EXTERNAL = {"06_real_systems.ipynb": ("sel4-capdl", "sel4-microkit-sdf", "fuchsia-cml")}

try:
    from keykos_lab import datasets
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(ROOT))
    from keykos_lab import datasets


def missing_data(path: Path) -> list[str]:
    """The external data sets ``path`` needs that are not on disk (never downloads)."""
    out = []
    for name in EXTERNAL.get(path.name, ()):
        env = os.environ.get(datasets.ENV_VAR)
        where = [Path(env) / name] if env else []
        where.append(datasets.SHARED_EXTERNAL / name)
        if not any(p.is_dir() for p in where):
            out.append(name)
    return out


def _stamp(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run(nb: nbformat.NotebookNode, timeout: float) -> dict:
    """Execute ``nb`` in a fresh kernel; wall seconds, the slowest cell, and any error."""
    client = NotebookClient(
        nb,
        timeout=int(timeout),
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        record_timing=True,
    )
    error = None
    t0 = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:120]}"
    seconds = time.perf_counter() - t0
    slowest, cell_no = 0.0, None
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code_cells, 1):
        timing = cell.get("metadata", {}).get("execution", {})
        start = _stamp(timing.get("iopub.execute_input"))
        end = _stamp(timing.get("shell.execute_reply"))
        if start is not None and end is not None and end - start > slowest:
            slowest, cell_no = end - start, i
    return {
        "seconds": seconds,
        "slowest": slowest,
        "cell": cell_no,
        "cells": len(code_cells),
        "error": error,
    }


def empty_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass")]
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to run (default: every notebooks/*.ipynb)",
    )
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    wall = time.perf_counter()

    base = min(run(empty_notebook(), args.timeout)["seconds"] for _ in range(2))
    rows, total, failed, skipped = [], 0.0, [], []
    for path in paths:
        gone = missing_data(path)
        if gone:
            skipped.append(path.name)
            rows.append([path.name, "-", "-", "-", f"skipped: no {', '.join(gone)} on disk"])
            print(f"{path.name}: skipped (no {', '.join(gone)} on disk)", flush=True)
            continue
        r = run(nbformat.read(path, as_version=4), args.timeout)
        total += r["seconds"]
        if r["error"]:
            failed.append(path.name)
        status = r["error"] or (
            "ok" if r["seconds"] < PER_NOTEBOOK else f"ok, over {PER_NOTEBOOK:.0f} s"
        )
        slowest = f"{r['slowest']:.1f} s (cell {r['cell']} of {r['cells']})" if r["cell"] else "-"
        rows.append(
            [path.name, f"{r['seconds']:.1f}", f"{r['seconds'] / base:.1f}", slowest, status]
        )
        print(f"{path.name}: {r['seconds']:.1f} s  {status}", flush=True)

    ok = not failed and total < TARGET
    lines = [
        "# keykos_lab notebooks, executed headless",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · {os.cpu_count()} CPUs · nbclient, one fresh kernel per "
        "notebook, run one after the other",
        "",
        f"Baseline: an empty notebook (kernel start, one `pass` cell, shutdown), best of 2: "
        f"{base:.2f} s.",
        "",
        "| notebook | seconds | ratio to empty | slowest cell | result |",
        "| --- | --- | --- | --- | --- |",
        *[f"| {' | '.join(row)} |" for row in rows],
        f"| **total** | **{total:.1f}** | {total / base:.1f} | | "
        f"{len(rows) - len(failed) - len(skipped)} of {len(rows)} ran to the end |",
        "",
        f"Target (issue 9): the whole folder in under {TARGET:.0f} s: "
        f"**{'PASS' if ok else 'MISS'}** ({total:.1f} s"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + (f"; skipped: {', '.join(skipped)}" if skipped else "")
        + ").",
        "",
        f"wall time of the run: {time.perf_counter() - wall:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"(written to {RESULTS})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
