"""Capability graphs ↔ CSR arrays, pandas edge lists and files (keykos_lab.analysis.convert)."""

import json

import networkx as nx
import numpy as np
import pytest

import keykos_lab as kl
from keykos_lab import scenarios
from keykos_lab.analysis.convert import (
    KEY_TYPES,
    RIGHTS,
    SLOT_KINDS,
    VERTEX_KINDS,
    CapabilityCSR,
    from_csr,
    mask_to_rights,
    read_node_link,
    rights_mask,
    rights_to_mask,
    sensory_mask,
    to_csr,
    to_pandas_edgelist,
    write_graphml,
    write_node_link,
)
from keykos_lab.kernel import keys
from keykos_lab.views.schema import is_sensory, rights_of

ARRAYS = (
    "vertices",
    "kind",
    "indptr",
    "indices",
    "key_type",
    "databyte",
    "slot",
    "slot_kind",
    "rights",
    "sensory",
)
KEPT = ("kind", "label", "program")


def _rich(k):
    """Pages, a node holding sense, fetch, segment and node keys, a domain holding keys."""
    con = k.console
    buy = lambda order: con.call(con["bank"], order).keys[0]  # noqa: E731
    node, page = buy(kl.oc.SB.CreateNode), buy(kl.oc.SB.CreatePage)
    made = [
        con.call(node, order).keys[0]
        for order in (kl.oc.Node.MakeSenseKey, kl.oc.Node.MakeFetchKey, kl.oc.Node.MakeSegmentKey)
    ]
    holder = buy(kl.oc.SB.CreateNode)
    for slot, key in enumerate([page, *made, node, kl.image(con, "echo")]):
        assert con.call(holder, kl.oc.Node.Swap + slot, key).rc == 0
    kl.build_domain(con, "holder", keys={0: holder, 1: page, 2: con["discrim"]})
    kl.build_segment(con, [page, kl.image(con, "counter")], read_only=True)
    return k


def _graphs():
    k = kl.Kernel()
    yield "boot", k.capability_graph()
    k = kl.Kernel()
    kl.build_factory(k.console, "echo")
    yield "factory", k.capability_graph()
    yield "tso", scenarios.tso_domain_key().kernel.capability_graph()
    yield "rich", _rich(kl.Kernel()).capability_graph()


GRAPHS = dict(_graphs())


@pytest.fixture(params=sorted(GRAPHS))
def G(request):
    return GRAPHS[request.param]


def kept(G):
    return [(v, {a: d[a] for a in KEPT if a in d}) for v, d in G.nodes(data=True)]


def same_arrays(a: CapabilityCSR, b: CapabilityCSR) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ARRAYS)


# ----------------------------------------------------------------- round trips
def test_round_trip_kernel_graph(G):
    csr = to_csr(G)
    H = from_csr(csr)
    assert kept(H) == kept(G)
    assert list(H.edges(keys=True, data=True)) == list(G.edges(keys=True, data=True))
    assert same_arrays(to_csr(H), csr)


def test_csr_shapes_and_dtypes(G):
    csr = to_csr(G)
    n, m = G.number_of_nodes(), G.number_of_edges()
    assert (csr.n_vertices, csr.n_edges) == (n, m)
    assert csr.vertices.dtype == object  # ints and "misc:<name>" strings
    assert [
        a.dtype.name
        for a in (
            csr.kind,
            csr.indptr,
            csr.indices,
            csr.key_type,
            csr.databyte,
            csr.slot,
            csr.slot_kind,
            csr.rights,
        )
    ] == ["int8", "int64", "int32", "int8", "int16", "int16", "int8", "int16"]
    assert csr.sensory.dtype == bool
    assert csr.nbytes > 13 * m and csr.bytes_per_key == csr.nbytes / m
    for i, v in enumerate(G):
        assert csr.index_of(v) == i
    with pytest.raises(ValueError, match="not a vertex"):
        csr.index_of("nowhere")


def test_schema_names_are_known(G):
    for v, d in G.nodes(data=True):
        assert d["kind"] in VERTEX_KINDS, v
    for *_, d in G.edges(data=True):
        assert d["key_type"] in KEY_TYPES and d["slot_kind"] in SLOT_KINDS
        assert d["rights"] <= set(RIGHTS)
        assert mask_to_rights(rights_to_mask(d["rights"])) == d["rights"]


def test_rights_and_sensory_tables_agree_with_the_schema_and_the_kernel():
    """The vectorised tables say what the schema's rules say, key by key; and the schema's
    sensory rule is the kernel's: a key is sensory when a sense key passes it unchanged."""
    types = [t for t in keys.TYPE_NAMES if t != keys.MISC]
    every = [keys.Key(t, 1, db, 1) for t in types for db in range(256)]
    every += [keys.Key(keys.MISC, sub, db, 0) for sub in range(6) for db in (0, 0x80, 0xC0)]
    for key in every:
        name, db = key.type_name, key.databyte
        code = KEY_TYPES.index(name)
        assert mask_to_rights(rights_mask(code, db)) == rights_of(name, db), key
        assert bool(sensory_mask(code, db)) == is_sensory(name, db), key
        assert is_sensory(name, db) == (keys.sensory_version(key) == key), key


def test_scipy_view_traverses_like_networkx(G):
    from scipy.sparse import csgraph

    csr = to_csr(G)
    A = csr.to_scipy()
    assert A.shape == (csr.n_vertices,) * 2 and A.nnz == csr.n_edges
    root = next(v for v, d in G.nodes(data=True) if d.get("label") == "console")
    order = csgraph.breadth_first_order(A, csr.index_of(root), return_predecessors=False)
    assert set(csr.vertices[order]) == nx.descendants(G, root) | {root}
    index = csr.to_scipy(data="index")
    assert sorted(index.data) == list(range(csr.n_edges))
    with pytest.raises(ValueError):
        csr.to_scipy(data="weights")


def test_digraph_and_missing_optional_attributes():
    D = nx.DiGraph()
    D.add_node("a", kind="domain")
    D.add_node("b", kind="page")
    D.add_edge("a", "b", key_type="page", databyte=0x80)
    csr = to_csr(D)
    assert csr.slot.tolist() == [-1] and SLOT_KINDS[csr.slot_kind[0]] == "transient"
    assert mask_to_rights(csr.rights[0]) == {"read"} and csr.sensory.tolist() == [True]
    H = from_csr(csr)
    assert isinstance(H, nx.MultiDiGraph) and H.nodes["a"] == {"kind": "domain"}
    assert H.edges["a", "b", 0]["rights"] == frozenset({"read"})


def test_empty_graph():
    csr = to_csr(nx.MultiDiGraph())
    assert (csr.n_vertices, csr.n_edges) == (0, 0) and csr.indptr.tolist() == [0]
    assert from_csr(csr).number_of_nodes() == 0
    assert len(to_pandas_edgelist(csr)) == 0


# ------------------------------------------------------------------ bad input
def _one_edge(**attrs):
    G = nx.MultiDiGraph()
    G.add_node(1, kind="domain", label="d")
    G.add_node("misc:x", kind="misc", label="x")
    G.add_edge(1, "misc:x", **attrs)
    return G


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({}, "has no key_type"),
        ({"key_type": "capability"}, "unknown key_type 'capability'"),
        ({"key_type": "page", "slot_kind": "pocket"}, "unknown slot_kind 'pocket'"),
        ({"key_type": "page", "rights": frozenset({"fly"})}, "has rights"),
        ({"key_type": "page", "databyte": 300}, "databyte 300"),
        ({"key_type": "page", "slot": -5}, "slot -5"),
        ({"key_type": "page", "databyte": "high"}, "not an integer"),
    ],
)
def test_bad_edges_are_named(attrs, message):
    with pytest.raises(ValueError, match=message) as err:
        to_csr(_one_edge(**attrs))
    assert "edge 1 -> 'misc:x' (key 0)" in str(err.value)


@pytest.mark.parametrize("G", [nx.Graph(), nx.MultiGraph(), [(1, 2)], None])
def test_not_a_directed_graph(G):
    with pytest.raises(ValueError, match="expected a networkx MultiDiGraph or DiGraph"):
        to_csr(G)


def test_bad_vertex_kind():
    G = nx.MultiDiGraph()
    G.add_node(3, label="no kind")
    with pytest.raises(ValueError, match="vertex 3 has kind None"):
        to_csr(G)


def test_inconsistent_csr_is_refused():
    with pytest.raises(ValueError, match="indptr"):
        CapabilityCSR([1, 2], [0, 0], [0, 1], [1], [1], [0], [0], [0], [0], [False])


# --------------------------------------------------------------------- pandas
def test_pandas_edgelist(G):
    df = to_pandas_edgelist(G)
    assert list(df.columns) == [
        "source",
        "target",
        "key_type",
        "databyte",
        "slot",
        "slot_kind",
        "rights",
        "sensory",
    ]
    assert [df[c].dtype.name for c in ("key_type", "slot_kind", "rights")] == ["category"] * 3
    edges = list(G.edges(data=True))
    assert len(df) == len(edges)
    for row, (u, v, d) in zip(df.itertuples(index=False), edges):
        assert (
            row.source,
            row.target,
            row.key_type,
            row.databyte,
            row.slot,
            row.slot_kind,
            row.rights,
            row.sensory,
        ) == (
            u,
            v,
            d["key_type"],
            d["databyte"],
            d["slot"],
            d["slot_kind"],
            ",".join(sorted(d["rights"])),
            d["sensory"],
        )


# ---------------------------------------------------------------------- files
def test_node_link_round_trip_is_exact(G, tmp_path):
    path = tmp_path / "g.json"
    write_node_link(G, path)
    data = json.loads(path.read_text())
    assert {type(n["id"]) for n in data["nodes"]} <= {int, str}
    assert all(isinstance(e["rights"], str) for e in data["edges"])
    H = read_node_link(path)
    assert list(H.nodes(data=True)) == list(G.nodes(data=True))
    assert list(H.edges(keys=True, data=True)) == list(G.edges(keys=True, data=True))


def test_graphml_reads_back(G, tmp_path):
    path = tmp_path / "g.graphml"
    write_graphml(G, path)
    H = nx.read_graphml(path)
    assert H.is_directed() and H.is_multigraph()
    assert sorted(H) == sorted(map(str, G))
    assert H.number_of_edges() == G.number_of_edges()
    for u, v, d in G.edges(data=True):
        assert any(
            e["rights"] == ",".join(sorted(d["rights"])) or not d["rights"]
            for e in H.get_edge_data(str(u), str(v)).values()
        )
    root = next(v for v, d in G.nodes(data=True) if d.get("label") == "console")
    assert H.nodes[str(root)]["nodes"] == ",".join(map(str, G.nodes[root]["nodes"]))
    assert isinstance(next(iter(H.edges(data=True)))[2]["sensory"], bool)


def test_writers_refuse_ambiguous_ids(tmp_path):
    G = nx.MultiDiGraph()
    G.add_node(1, kind="page")
    G.add_node("1", kind="page")
    for write in (write_graphml, write_node_link):
        with pytest.raises(ValueError, match="both be written"):
            write(G, tmp_path / "x")
    T = nx.MultiDiGraph()
    T.add_node((1, 2), kind="page")
    with pytest.raises(ValueError, match="ints or strings"):
        write_node_link(T, tmp_path / "x")


def test_read_node_link_refuses_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not node-link JSON"):
        read_node_link(path)
