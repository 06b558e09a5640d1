"""Analysis speed: the CSR engine against the networkx reference, from one process run.

    python bench/graph.py [--quick]

1. Generates a KeyKOS-like system (``analysis.random_csr``, seeded) of 1,000,000
   objects and 5,000,000 keys (``--quick``: 100,000 and 500,000) and times, on the
   fast engine: building the groups, ``authority`` for one subject, and the full
   flow matrix of 100 subjects; and reports the memory of the CSR form per key.
2. Runs the reference (a fixpoint over Python dicts, with witnesses) and the fast
   engine on the same graph at growing sizes, up to the largest the reference
   finishes in about a minute, and prints the ratio. The reference grows faster
   than linearly (a class that holds many keys hands each to each of its readers),
   so on the large system it is not run: the table says how its time grew.

The table is printed and written to ``bench/results-graph.md``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

try:
    import keykos_lab  # noqa: F401
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keykos_lab.analysis import Closure, flow_graph, from_csr, random_csr
from keykos_lab.analysis.fast import FastAuthority

RESULTS = Path(__file__).resolve().parent / "results-graph.md"
SIZES = {"full": (1_000_000, 5_000_000, 100), "quick": (100_000, 500_000, 100)}
SAME_GRAPH = {"full": (2_500, 5_000, 10_000), "quick": (2_500, 5_000)}
KEYS_PER_OBJECT = 5


def timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def large(n_objects: int, n_keys: int, n_subjects: int) -> list[tuple[str, str]]:
    t_gen, csr = timed(lambda: random_csr(n_objects, n_keys, seed=0))
    t_groups, engine = timed(lambda: FastAuthority(csr))
    domains = np.flatnonzero(csr.kind == 0)
    t_auth, keys = timed(lambda: engine.authority(int(domains[0])))
    t_flows, matrix = timed(lambda: engine.flows(domains[:n_subjects]))
    groups = int((engine.group == np.arange(len(engine.group))).sum())
    return [
        (
            f"system: {n_objects:,} objects, {n_keys:,} keys (generated in {t_gen:.1f} s)",
            f"{csr.bytes_per_key:.1f} bytes per key in CSR form",
        ),
        (
            "fast engine: groups (connected components, a few rounds)",
            f"{t_groups:.2f} s ({groups:,} groups)",
        ),
        ("fast engine: authority of one subject", f"{t_auth:.2f} s ({len(keys):,} keys)"),
        (
            f"fast engine: flow matrix of {n_subjects} subjects",
            f"{t_flows:.2f} s ({matrix.mean():.0%} of pairs flow)",
        ),
        ("fast engine: total, from arrays to both answers", f"{t_groups + t_auth + t_flows:.2f} s"),
    ]


def same_graph(n_objects: int) -> tuple[float, float, int]:
    """Seconds for the reference and for the fast engine (groups included) to give
    one subject's authority and a 20-subject flow matrix, on one graph."""
    csr = random_csr(n_objects, KEYS_PER_OBJECT * n_objects, seed=0)
    G = from_csr(csr)
    domains = np.flatnonzero(csr.kind == 0)[:20]
    subjects = [csr.vertices[i] for i in domains]

    def reference():
        closure = Closure(G)
        held = closure.held(subjects[0])
        F = flow_graph(G, closure)
        import networkx as nx

        reach = [nx.descendants(F, s) | {s} for s in subjects]
        return len(held), sum(len(r) for r in reach)

    def fast():
        engine = FastAuthority(csr)
        return len(engine.authority(int(domains[0]))), engine.flows(domains).sum()

    t_ref, (n_keys, _) = timed(reference)
    t_fast, (n_fast, _) = timed(fast)
    if n_keys != n_fast:
        raise RuntimeError(f"the engines disagree: {n_keys} keys against {n_fast}")
    return t_ref, t_fast, n_keys


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller system")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    rows = large(*SIZES[mode])
    same = []
    for n in SAME_GRAPH[mode]:
        t_ref, t_fast, n_keys = same_graph(n)
        same.append((n, t_ref, t_fast, n_keys))
    lines = [
        "# keykos_lab analysis benchmark",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · mode {mode}",
        "",
        "## The fast engine on a large system",
        "",
        "| measure | value |",
        "| --- | --- |",
        *[f"| {a} | {b} |" for a, b in rows],
        "",
        "## Same graph: reference (networkx, dicts, witnesses) against the fast engine",
        "",
        "Authority of one subject and the flow matrix of 20 subjects, groups included.",
        "",
        "| objects | keys | keys held | reference | fast | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
        *[
            f"| {n:,} | {KEYS_PER_OBJECT * n:,} | {k:,} | {r:.2f} s | {f:.3f} s | {r / f:.0f}× |"
            for n, r, f, k in same
        ],
        "",
        f"wall time of the run: {time.perf_counter() - started:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)
    print(f"(written to {RESULTS})")


if __name__ == "__main__":
    main()
