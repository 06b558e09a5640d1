"""draw_capability_graph: markers per kind, key colours and dashes, the highlight, the summary."""

from collections import Counter

import networkx as nx
import pytest
from matplotlib.colors import to_hex

from keykos_lab import readers
from keykos_lab.analysis import authority
from keykos_lab.cli import SYSTEM
from keykos_lab.plot import draw_capability_graph, vertex_ids
from keykos_lab.plot.style import KERNEL_KEY_TYPES, KEY_COLOURS, key_colour


def _gid(artists, prefix):
    return [a for a in artists if (a.get_gid() or "").startswith(prefix)]


def _vertices_by_kind(ax):
    return {c.get_gid().split(":", 1)[1]: c for c in _gid(ax.collections, "vertices:")}


def test_one_marker_per_vertex_by_kind(factory_run):
    k, _, _ = factory_run
    G = k.capability_graph()
    ax = draw_capability_graph(G, collapse=False)
    drawn = _vertices_by_kind(ax)
    counts = Counter(d["kind"] for _, d in G.nodes(data=True))
    assert {kind: len(c.get_offsets()) for kind, c in drawn.items()} == dict(counts)
    for kind, c in drawn.items():  # the right vertices, by id
        assert set(vertex_ids(c)) == {str(v) for v, d in G.nodes(data=True) if d["kind"] == kind}
    markers = {kind: c.get_paths()[0].vertices.tobytes() for kind, c in drawn.items()}
    assert len(set(markers.values())) == len(markers)  # each kind its own shape
    colours = {kind: to_hex(c.get_facecolor()[0]) for kind, c in drawn.items()}
    assert len(set(colours.values())) == len(colours)  # and its own colour
    assert ax.get_title() == f"capability graph: {len(G)} vertices, {G.number_of_edges()} keys"


def test_edge_colours_follow_key_types_and_sensory_is_dashed(factory_run):
    k, _, _ = factory_run
    G = k.capability_graph()
    ax = draw_capability_graph(G, collapse=False)
    arrows = _gid(ax.patches, "key:")
    groups = {(u, v, d["key_type"], d["sensory"]) for u, v, d in G.edges(data=True)}
    assert len(arrows) == len(groups)  # parallel keys drawn once
    assert {a.get_gid() for a in arrows} == {
        f"key:{kt}" + (":sensory" if s else "") for _, _, kt, s in groups
    }
    assert any(a.get_gid().endswith(":sensory") for a in arrows)
    for a in arrows:
        kt = a.get_gid().split(":")[1]
        assert to_hex(a.get_edgecolor()) == KEY_COLOURS[kt]
        assert (a.get_linestyle() == "--") == a.get_gid().endswith(":sensory")
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {f"{kt} key" for _, _, kt, _ in groups if kt not in KERNEL_KEY_TYPES} <= legend
    misc = sorted({kt for _, _, kt, _ in groups if kt in KERNEL_KEY_TYPES})
    assert any(t.startswith("kernel misc key (") for t in legend) == bool(misc)
    assert {"domain", "node", "page", "meter", "misc", "sensory key"} <= legend


def test_palette_is_stable_across_calls_and_graphs():
    G = readers.read_microkit_text(SYSTEM)
    a = draw_capability_graph(G)
    b = draw_capability_graph(G.subgraph(["a", "b"]).copy())
    start_a = [p for p in _gid(a.patches, "key:start")]
    start_b = [p for p in _gid(b.patches, "key:start")]
    assert start_a and start_b
    assert (
        to_hex(start_a[0].get_edgecolor())
        == to_hex(start_b[0].get_edgecolor())
        == key_colour("start")
    )


def test_parallel_keys_drawn_once_with_a_count():
    G = nx.MultiDiGraph()
    G.add_node("d", kind="domain", label="d")
    G.add_node("p", kind="page", label="p")
    for slot in range(3):
        G.add_edge(
            "d",
            "p",
            key_type="page",
            databyte=0,
            slot=slot,
            slot_kind="key_register",
            rights=frozenset({"read", "write"}),
            sensory=False,
        )
    G.add_edge(
        "d",
        "p",
        key_type="page",
        databyte=0x80,
        slot=4,
        slot_kind="key_register",
        rights=frozenset({"read"}),
        sensory=True,
    )
    ax = draw_capability_graph(G)
    assert sorted(a.get_gid() for a in _gid(ax.patches, "key:")) == ["key:page", "key:page:sensory"]
    assert "×3" in [t.get_text() for t in ax.texts]


def test_highlight_shades_exactly_the_authority(factory_run):
    k, f, _ = factory_run
    G = k.capability_graph()
    subject = k.console.root
    ax = draw_capability_graph(G, highlight=subject, collapse=False)
    a = authority(G, subject)
    expected = {str(t) for t in a.target if not isinstance(t, tuple) and t in G}
    (halo,) = _gid(ax.collections, "authority")
    assert set(vertex_ids(halo)) == expected and len(halo.get_offsets()) == len(expected)
    (ring,) = _gid(ax.collections, "subject")
    assert vertex_ids(ring) == [str(subject)]
    domains = _vertices_by_kind(ax)["domain"]
    i = vertex_ids(domains).index(str(subject))
    assert tuple(ring.get_offsets()[0]) == tuple(domains.get_offsets()[i])
    assert ax.get_title().startswith(f"authority of console: {len(expected)} of {len(G)}")


def test_highlight_on_a_reader_graph():
    G = readers.read_microkit_text(SYSTEM)
    ax = draw_capability_graph(G, highlight="b")
    (halo,) = _gid(ax.collections, "authority")
    assert set(vertex_ids(halo)) == {str(t) for t in authority(G, "b").target}
    assert "authority of b" in ax.get_title()


def test_fallback_summary_above_max_vertices(factory_run):
    k, _, _ = factory_run
    G = k.capability_graph()
    ax = draw_capability_graph(G, max_vertices=10)
    assert not _gid(ax.collections, "vertices:")
    boxes = {p.get_gid() for p in _gid(ax.patches, "kind:")}
    assert boxes == {f"kind:{d['kind']}" for _, d in G.nodes(data=True)}
    flows = _gid(ax.patches, "flow:")
    kinds = nx.get_node_attributes(G, "kind")
    assert {p.get_gid() for p in flows} == {
        f"flow:{kinds[u]}->{kinds[v]}:{d['key_type']}" for u, v, d in G.edges(data=True)
    }
    assert ax.get_title().startswith(f"summary of {len(G)} vertices / {G.number_of_edges()} keys")
    assert "max_vertices=10" in ax.get_title()
    full = draw_capability_graph(G, max_vertices=len(G))  # at the limit: drawn in full
    assert _gid(full.collections, "vertices:")


def test_summary_with_highlight_counts_the_reach(factory_run):
    k, _, _ = factory_run
    G = k.capability_graph()
    ax = draw_capability_graph(G, highlight=k.console.root, max_vertices=5)
    assert "authority of console" in ax.get_title()
    assert any("reached" in t.get_text() for t in ax.texts)


def test_capdl_graph_labels_domains_only():
    from external_data import root

    adder = root("sel4-capdl") / "capDL-tool" / "camkes-adder-arm.cdl"
    if not adder.is_file():
        pytest.skip("external capDL specifications not present")
    G = readers.read_capdl(adder)
    assert 80 < len(G) <= 200
    ax = draw_capability_graph(G)
    n_domains = sum(d["kind"] == "domain" for _, d in G.nodes(data=True))
    labels = [t for t in ax.texts if not t.get_text().startswith("×")]
    assert len(labels) == n_domains


def test_draws_into_a_given_axes_and_empty_graph():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert draw_capability_graph(readers.read_microkit_text(SYSTEM), ax=ax) is ax
    empty = draw_capability_graph(nx.MultiDiGraph())
    assert empty.get_title() == "capability graph: 0 vertices, 0 keys"


def test_bad_input():
    G = readers.read_microkit_text(SYSTEM)
    with pytest.raises(ValueError, match="'nobody' is not a vertex"):
        draw_capability_graph(G, highlight="nobody")
    with pytest.raises(ValueError, match="is a page, not a domain"):
        draw_capability_graph(G, highlight="channel:a:0-b:0")
    with pytest.raises(TypeError, match="capability graph"):
        draw_capability_graph([1, 2, 3])
