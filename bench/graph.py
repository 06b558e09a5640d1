"""Analysis speed: the CSR engine against the networkx reference, from one process run.

    python bench/graph.py [--quick | --smoke] [--booted-only | --peers-only] [--booted N ...]

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

4. Peers (issue 22): on a generated system of N domains (``random_csr`` with
   4·N objects and 20·N keys; default N = 100,000, ``--quick`` 10,000), one
   subject's question, best of ``--repeat`` interleaved: the fast engine's
   ``authority`` against a breadth-first search from the same vertex on the same
   CSR with scipy (``csgraph.breadth_first_order``), rustworkx (``descendants``),
   igraph (``subcomponent``) and networkx (``descendants``); the time each takes to
   build its graph from the arrays; and the memory per key each keeps (resident
   memory added, measured in a forked child). The aim: the fast engine within 5×
   of scipy's search. A peer that is not installed gives a "not installed" row
   (``pip install -e '.[bench]'`` installs them).

The table is printed and written to ``bench/results-graph.md``
(``--booted-only``: ``bench/results-graph-booted.md``; ``--peers-only``:
``bench/results-graph-peers.md``; ``--smoke``: tiny sizes, nothing written).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

try:
    import keykos_lab  # noqa: F401
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keykos_lab.analysis import Closure, flow_graph, from_csr, random_csr
from keykos_lab.analysis.fast import FastAuthority

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import (  # noqa: E402  (bench/peers.py, beside this file)
    CAVEAT,
    NOT_INSTALLED,
    interleaved,
    machine,
    optional,
    ratio,
    rss_growth,
    seconds,
    version,
)

RESULTS = Path(__file__).resolve().parent / "results-graph.md"
RESULTS_BOOTED = Path(__file__).resolve().parent / "results-graph-booted.md"
RESULTS_PEERS = Path(__file__).resolve().parent / "results-graph-peers.md"
BOOTED = {"full": (1_000, 10_000, 100_000), "quick": (1_000, 10_000), "smoke": (20,)}
PEER_DOMAINS = {"full": 100_000, "quick": 10_000, "smoke": 100}
#: A generated system of N domains: this many objects and keys per domain.
OBJECTS_PER_DOMAIN, KEYS_PER_DOMAIN = 4, 20
AIM_PER_QUERY = 5.0  # the fast engine's question within this many times scipy's BFS
DOMAINS_PER_BANK = 500
SIZES = {
    "full": (1_000_000, 5_000_000, 100),
    "quick": (100_000, 500_000, 100),
    "smoke": (2_000, 10_000, 10),
}
SAME_GRAPH = {"full": (2_500, 5_000, 10_000), "quick": (2_500, 5_000), "smoke": (200,)}
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


def booted_system(n_domains: int, history: bool = True):
    """A booted kernel with ``n_domains`` extra domains (the module docstring, 3.);
    ``history=False``: a kernel that keeps no history (``kl.Kernel(history=False)``)."""
    import keykos_lab as kl

    return _build_domains(kl.Kernel(history=history), n_domains)


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


# ------------------------------------------------------------------ 4. peers
def generated(n_domains: int, seed: int = 0):
    """The generated system of ``n_domains`` domains the peer benchmarks share."""
    return random_csr(
        OBJECTS_PER_DOMAIN * n_domains, KEYS_PER_DOMAIN * n_domains, n_subjects=n_domains, seed=seed
    )


def _edges(csr) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(csr.n_vertices), np.diff(csr.indptr)), csr.indices


def _scipy_graph(csr):
    from scipy.sparse import csr_array

    n = csr.n_vertices
    return csr_array((np.ones(csr.n_edges, np.int8), csr.indices, csr.indptr), shape=(n, n))


def _rustworkx_graph(csr):
    rx = optional("rustworkx")
    g = rx.PyDiGraph(multigraph=True)
    g.add_nodes_from(range(csr.n_vertices))
    src, dst = _edges(csr)
    step = 1 << 18  # in chunks: the tuples for the whole graph would dwarf the graph
    for i in range(0, len(src), step):
        g.extend_from_edge_list(list(zip(src[i : i + step].tolist(), dst[i : i + step].tolist())))
    return g


def _igraph_graph(csr):
    ig = optional("igraph")
    src, dst = _edges(csr)
    return ig.Graph(n=csr.n_vertices, edges=np.column_stack([src, dst]), directed=True)


def _networkx_graph(csr):
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(csr.n_vertices))
    src, dst = _edges(csr)
    g.add_edges_from(zip(src.tolist(), dst.tolist()))
    return g


def _peers(subject: int) -> dict:
    """Per peer: (module needed, graph builder, one question on the built graph)."""
    from scipy.sparse.csgraph import breadth_first_order

    return {
        "fast engine (`authority`)": (None, FastAuthority, lambda e: e.authority(subject)),
        "scipy `breadth_first_order`": (
            "scipy",
            _scipy_graph,
            lambda g: breadth_first_order(g, subject, directed=True, return_predecessors=False),
        ),
        "rustworkx `descendants`": (
            "rustworkx",
            _rustworkx_graph,
            lambda g: optional("rustworkx").descendants(g, subject),
        ),
        "igraph `subcomponent`": (
            "igraph",
            _igraph_graph,
            lambda g: g.subcomponent(subject, mode="out"),
        ),
        "networkx `descendants`": (
            "networkx",
            _networkx_graph,
            lambda g: optional("networkx").descendants(g, subject),
        ),
    }


def peer_measures(n_domains: int, repeat: int = 5, memory: bool = True) -> dict:
    """One subject's question on a generated system of ``n_domains`` domains, by the
    fast engine and by each peer's breadth-first search on the same CSR: seconds to
    build, seconds per question (best of ``repeat``, interleaved), bytes per key kept
    (``None``: not measured; peers not installed are left out of the dicts)."""
    csr = generated(n_domains)
    subject = int(np.flatnonzero(csr.kind == 0)[0])
    built, build_s, bytes_per_key, missing = {}, {}, {}, []
    for name, (module, build, _) in _peers(subject).items():
        if module is not None and optional(module) is None:
            missing.append(name)
            continue
        build_s[name], built[name] = timed(lambda build=build: build(csr))
        if memory:
            grown = rss_growth(lambda build=build: build(csr))
            bytes_per_key[name] = None if grown is None else grown / csr.n_edges
    questions = {
        name: (lambda ask=ask, g=built[name]: ask(g))
        for name, (_, _, ask) in _peers(subject).items()
        if name in built
    }
    per_query = interleaved(questions, repeat, min_seconds=0.02)
    return {
        "domains": n_domains,
        "objects": csr.n_vertices,
        "keys": csr.n_edges,
        "csr_bytes_per_key": csr.bytes_per_key,
        "build": build_s,
        "query": per_query,
        "bytes_per_key": bytes_per_key,
        "missing": missing,
    }


def peer_table(m: dict) -> list[str]:
    fast = m["query"]["fast engine (`authority`)"]
    scipy_bfs = m["query"].get("scipy `breadth_first_order`")
    lines = [
        "## Peers: one subject's question against a breadth-first search (issue 22)",
        "",
        f"A generated system (`random_csr`) of {m['domains']:,} domains, {m['objects']:,} "
        f"objects and {m['keys']:,} keys ({m['csr_bytes_per_key']:.1f} bytes per key in "
        "CSR form). The fast engine answers `authority(s)`, every key the subject can come "
        "to hold; each peer searches breadth-first from the same vertex along the same "
        "keys (reachability only: no rules, no keeper channels). Per question: best of the "
        "repeats, interleaved, in one process. Memory: resident memory the built engine or "
        "graph keeps, per key (a forked child).",
        "",
        "| engine | version | build | per question | fast engine ÷ peer | bytes per key |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    modules = {"fast": "keykos_lab", "scipy": "scipy", "rustworkx": "rustworkx"}
    modules |= {"igraph": "igraph", "networkx": "networkx"}
    for name in _peers(0):
        module = modules[name.split()[0]]
        if name in m["missing"]:
            lines.append(f"| {name} | {NOT_INSTALLED} | — | — | — | — |")
            continue
        b = m["bytes_per_key"].get(name)
        lines.append(
            f"| {name} | {version(module)} | {seconds(m['build'][name])} "
            f"| {seconds(m['query'][name])} | {ratio(fast, m['query'][name])} "
            f"| {'—' if b is None else f'{b:,.0f}'} |"
        )
    if scipy_bfs is not None:
        verdict = "PASS" if fast <= AIM_PER_QUERY * scipy_bfs else "MISS"
        lines += [
            "",
            f"Aim (issue 22): the fast engine's question within {AIM_PER_QUERY:.0f}× of "
            f"scipy's search: **{verdict}** ({ratio(fast, scipy_bfs)}).",
        ]
    return lines


def _write(path: Path, text: str, smoke: bool) -> None:
    print(text)
    if not smoke:
        path.write_text(text)
        print(f"(written to {path})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a smaller system")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, nothing written")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--booted-only", action="store_true", help="only the booted systems (3.)")
    only.add_argument("--peers-only", action="store_true", help="only the peers (4.)")
    parser.add_argument(
        "--booted", type=int, nargs="+", metavar="N", help="extra domains of the booted systems"
    )
    parser.add_argument(
        "--peer-domains", type=int, metavar="N", help="domains of the peers' generated system"
    )
    parser.add_argument(
        "--before-max",
        type=int,
        default=10_000,
        help="largest booted system the replaced (quadratic) implementation runs on",
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    started = time.perf_counter()
    header = [
        "# keykos_lab analysis benchmark",
        "",
        f"{machine()} · mode {mode}",
        "",
        f"Figures from {CAVEAT}.",
        "",
    ]
    peers: list[str] = []
    if not args.booted_only:
        m = peer_measures(args.peer_domains or PEER_DOMAINS[mode], args.repeat)
        peers = [*peer_table(m), ""]
        print("\n".join(peers), flush=True)
    if args.peers_only:
        wall = f"wall time of the run: {time.perf_counter() - started:.0f} s"
        _write(RESULTS_PEERS, "\n".join([*header, *peers, wall]) + "\n", args.smoke)
        return
    booted_rows = []
    for n in args.booted or BOOTED[mode]:
        booted_rows.append(booted(n, args.repeat, args.before_max))
        print(booted_table(booted_rows)[-1], flush=True)
    if args.booted_only:
        text = "\n".join(
            [
                *header,
                *booted_table(booted_rows),
                "",
                f"wall time of the run: {time.perf_counter() - started:.0f} s",
            ]
        )
        _write(RESULTS_BOOTED, text + "\n", args.smoke)
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
        *peers,
        *booted_table(booted_rows),
        "",
        f"wall time of the run: {time.perf_counter() - started:.0f} s",
    ]
    _write(RESULTS, "\n".join(lines) + "\n", args.smoke)


if __name__ == "__main__":
    main()
