"""Analysis speed: the CSR engine against the networkx reference, from one process run.

    python bench/graph.py [--quick] [--booted-only] [--booted N ...]

1. Generates a KeyKOS-like system (``analysis.random_csr``, seeded) of 1,000,000
   objects and 5,000,000 keys (``--quick``: 100,000 and 500,000) and times, on the
   fast engine: building the groups, ``authority`` for one subject, and the full
   flow matrix of 100 subjects; and reports the memory of the CSR form per key.
2. Runs the reference (a fixpoint over Python dicts, with witnesses) and the fast
   engine on the same graph at growing sizes, up to the largest the reference
   finishes in about a minute, and prints the ratio. The reference grows faster
   than linearly (a class that holds many keys hands each to each of its readers),
   so on the large system it is not run: the table says how its time grew.

3. Booted systems (issue 22): a ``kl.Kernel()`` with N extra domains (default
   1,000, 10,000 and 100,000; ``--quick``: 1,000 and 10,000), each a root, a keys
   node and a registers node from a bank, a meter and a shared memory page, built
   with ordinary console calls (a sub-bank per 500 domains keeps every bank's chain
   short). Times ``k.capability_graph()`` and ``k.objects()`` in µs per live object
   (page or node), after (the library) and before (the implementation issue 22
   replaced, copied in tests/test_graph_linear.py; not run past ``--before-max``
   domains: its graph is quadratic), best of ``--repeat``.

The table is printed and written to ``bench/results-graph.md``
(``--booted-only``: ``bench/results-graph-booted.md``).
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
RESULTS_BOOTED = Path(__file__).resolve().parent / "results-graph-booted.md"
BOOTED = {"full": (1_000, 10_000, 100_000), "quick": (1_000, 10_000)}
DOMAINS_PER_BANK = 500
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


def booted_system(n_domains: int):
    """A booted kernel with ``n_domains`` extra domains (the module docstring, 3.)."""
    import keykos_lab as kl

    return _build_domains(kl.Kernel(), n_domains)


def _build_domains(k, n_domains: int):
    import keykos_lab as kl
    from keykos_lab import oc
    from keykos_lab.kernel.domains import KEYS_NODE, REGS_NODE

    con = k.console
    memory, meter, domtool = kl.image(con, "echo"), con["meter"], con["domtool"]
    bank = con["bank"]
    for i in range(n_domains):
        if i % DOMAINS_PER_BANK == 0:
            bank = con.call(con["bank"], oc.SB.CreateBank).keys[0]
        root, keys_node, regs_node = con.call(bank, oc.SB.CreateThreeNodes).keys[:3]
        con.call(root, oc.Node.Swap + KEYS_NODE, keys_node)
        con.call(root, oc.Node.Swap + REGS_NODE, regs_node)
        dom = con.call(domtool, oc.DomTool.MakeDomainKey, root).keys[0]
        con.call(dom, oc.Domain.SwapMeter, meter)
        con.call(dom, oc.Domain.SwapMemory, memory)
    return k


def _reference():
    """The implementation issue 22 replaced (tests/test_graph_linear.py)."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import test_graph_linear

    return test_graph_linear


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t, value = timed(fn)
        del value
        best = min(best, t)
    return best


def booted(n_domains: int, repeat: int, before_max: int) -> dict:
    """µs per live object for the graph and the object table, after and before."""
    from keykos_lab.views.frames import objects
    from keykos_lab.views.graph import capability_graph

    t_build, k = timed(lambda: booted_system(n_domains))
    n_objects = sum(o is not None for o in k.objs)
    G = capability_graph(k)
    row = {
        "domains": n_domains,
        "objects": n_objects,
        "vertices": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "build": t_build,
        "graph": best_of(lambda: capability_graph(k), repeat) / n_objects * 1e6,
        "objects_table": best_of(lambda: objects(k), repeat) / n_objects * 1e6,
        "graph_before": None,
        "objects_before": None,
    }
    del G
    if n_domains <= before_max:
        ref = _reference()
        row["graph_before"] = best_of(lambda: ref.ref_capability_graph(k), 1) / n_objects * 1e6
        row["objects_before"] = best_of(lambda: ref.ref_objects(k), repeat) / n_objects * 1e6
    return row


def booted_table(rows: list[dict]) -> list[str]:
    def cell(before, after):
        if before is None:
            return "not run", "—"
        return f"{before:,.1f}", f"{before / after:,.1f}×"

    lines = [
        "## Booted systems: capability graph and object table (issue 22)",
        "",
        "µs per live object (page or node), best of the repeats; *before* is the",
        "implementation issue 22 replaced (tests/test_graph_linear.py), run in the same",
        "process on the same kernel.",
        "",
        "| extra domains | objects | vertices | edges | built in | graph before | graph after "
        "| ratio | objects() before | objects() after | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        gb, gr = cell(r["graph_before"], r["graph"])
        ob, orat = cell(r["objects_before"], r["objects_table"])
        lines.append(
            f"| {r['domains']:,} | {r['objects']:,} | {r['vertices']:,} | {r['edges']:,} "
            f"| {r['build']:.0f} s | {gb} | {r['graph']:.1f} | {gr} | {ob} "
            f"| {r['objects_table']:.1f} | {orat} |"
        )
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller system")
    parser.add_argument("--booted-only", action="store_true", help="only the booted systems (3.)")
    parser.add_argument(
        "--booted", type=int, nargs="+", metavar="N", help="extra domains of the booted systems"
    )
    parser.add_argument(
        "--before-max",
        type=int,
        default=10_000,
        help="largest booted system the replaced (quadratic) implementation runs on",
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    booted_rows = []
    for n in args.booted or BOOTED[mode]:
        booted_rows.append(booted(n, args.repeat, args.before_max))
        print(booted_table(booted_rows)[-1], flush=True)
    header = [
        "# keykos_lab analysis benchmark",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · mode {mode}",
        "",
    ]
    if args.booted_only:
        text = "\n".join(
            [
                *header,
                *booted_table(booted_rows),
                "",
                f"wall time of the run: {time.perf_counter() - started:.0f} s",
            ]
        )
        print(text)
        RESULTS_BOOTED.write_text(text + "\n")
        print(f"(written to {RESULTS_BOOTED})")
        return
    rows = large(*SIZES[mode])
    same = []
    for n in SAME_GRAPH[mode]:
        t_ref, t_fast, n_keys = same_graph(n)
        same.append((n, t_ref, t_fast, n_keys))
    lines = [
        *header,
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
        *booted_table(booted_rows),
        "",
        f"wall time of the run: {time.perf_counter() - started:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)
    print(f"(written to {RESULTS})")


if __name__ == "__main__":
    main()
