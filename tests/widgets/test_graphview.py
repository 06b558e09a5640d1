"""The interactive graph view, without a browser: what it hands to the front end, what it
highlights, where it puts vertices, and how a click's pick reaches Python."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import networkx as nx
import pytest

import keykos_lab as kl
from keykos_lab.plot.style import HALO, SUBJECT, key_colour, kind_style
from keykos_lab.widgets import ask
from keykos_lab.widgets.graphview import (
    BUNDLE,
    SPREAD,
    WITNESS,
    GraphView,
    SigmaCanvas,
    front_end_present,
    json_safe,
)
from keykos_lab.widgets.graphview import _size as kind_size


def test_json_safe_turns_what_the_graph_holds_into_json():
    value = {
        "rights": frozenset({"write", "read"}),
        "slot": (1, 2),
        3: b"\x01",
        "inf": float("inf"),
        "obj": object,
    }
    safe = json_safe(value)
    assert safe["rights"] == ["read", "write"] and safe["slot"] == [1, 2]
    assert safe["3"] == "01" and safe["inf"] is None and safe["obj"].startswith("<class")
    json.dumps(safe)


def test_the_data_is_json_and_says_everything_about_vertices_and_keys(writer_system):
    k, writer, reader, page = writer_system
    G = k.capability_graph()
    view = GraphView(G, collapse=False)
    data = view.data
    json.dumps(data)  # no frozenset, no tuple keys: what a widget can carry
    nodes = {n["key"]: n["attributes"] for n in data["nodes"]}
    assert set(nodes) == {str(v) for v in G}
    console = nodes[str(k.console.root)]
    assert console["kind"] == "domain" and console["label"] == "console"
    assert console["state"] == "running" and console["program"] == "console"
    assert console["color"] == kind_style("domain")["color"] and console["size"] > 0
    assert isinstance(console["x"], float) and isinstance(console["y"], float)
    assert nodes[str(page)]["kind"] == "page"
    # parallel keys are one edge each pair; every key is counted, and described
    edges = {(e["source"], e["target"]): e["attributes"] for e in data["edges"]}
    assert sum(e["count"] for e in edges.values()) == G.number_of_edges()
    pairs = {(str(u), str(v)) for u, v in G.edges()}
    assert set(edges) == pairs
    key = edges[(str(writer), str(page))]
    assert key["key_type"] == "page" and key["count"] == 1
    assert key["rights"] == ", ".join(sorted(G[writer][page][0]["rights"]))
    assert key["slot"] == G[writer][page][0]["slot"] and "databyte" in key
    assert key["label"].startswith("page key in") and key["color"] == key_colour("page")
    many = next(e for e in edges.values() if e["count"] > 1)
    assert many["label"].startswith(f"{many['count']} keys: ")


def test_above_thirty_vertices_the_system_is_folded(writer_system):
    k, writer, reader, page = writer_system
    G = k.capability_graph()
    assert G.number_of_nodes() > 30
    view = GraphView(G)
    s = view.state
    assert s["collapsed"] and s["vertices"] < G.number_of_nodes()
    assert s["keys"] == G.number_of_edges()
    bank = k.console.target(k.console["bank"])
    assert view.where[bank] == "space banks" and view.ids["space banks"] == "space banks"
    assert view.where[writer] == str(writer)  # what the user built stays itself
    assert not GraphView(G, collapse=False).state["collapsed"]
    assert not GraphView(kl.Kernel().capability_graph()).state["collapsed"]  # 29 vertices


def test_highlight_marks_the_region_and_the_witness(writer_system):
    k, writer, reader, page = writer_system
    G = k.capability_graph()
    G.remove_node(k.console.root)
    a = ask(G, writer, reader)
    view = GraphView(G, collapse=False)
    view.highlight(region=a.region, witness=a.witness, subject=writer)
    s = view.state
    assert s["region"] == len(a.region) and s["subject"] == str(writer)
    assert s["witness"] == [str(v) for v in a.witness]
    assert len(s["witness_edges"]) == len(a.witness) - 1
    nodes = {n["key"]: n["attributes"] for n in view.data["nodes"]}
    assert nodes[str(writer)]["ringColor"] == SUBJECT and nodes[str(writer)]["ringSize"] > 0
    assert nodes[str(page)]["haloSize"] > 0 and nodes[str(page)]["haloColor"] == HALO
    assert nodes[str(reader)]["ringColor"] == WITNESS and nodes[str(reader)]["ringSize"] > 0
    # a marked vertex is drawn larger, so that its fill keeps the size of its kind
    plain = next(n for n in view.data["nodes"] if not n["attributes"]["haloSize"])
    assert nodes[str(page)]["size"] > kind_size(nodes[str(page)]["kind"])
    assert plain["attributes"]["size"] == kind_size(plain["attributes"]["kind"])
    edges = {(e["source"], e["target"]): e["attributes"] for e in view.data["edges"]}
    for u, v in s["witness_edges"]:
        assert edges[(u, v)]["color"] == WITNESS and edges[(u, v)]["size"] > 2
    outside = [v for v in G if v not in a.region]
    assert outside and all(nodes[str(v)]["haloSize"] == 0 for v in outside)
    view.highlight()  # cleared
    assert view.state["region"] == 0 and view.state["witness"] == []


def test_a_member_of_a_folded_part_marks_its_part(writer_system):
    k, writer, reader, page = writer_system
    view = GraphView(k.capability_graph())
    bank = k.console.target(k.console["bank"])
    view.highlight(region=[bank, writer])
    halo = {n["key"] for n in view.data["nodes"] if n["attributes"]["haloSize"]}
    assert halo == {"space banks", str(writer)}


def test_update_keeps_places_and_puts_newcomers_beside_a_neighbour():
    k = kl.Kernel()
    con = k.console
    view = GraphView(k.capability_graph(), collapse=False)
    before = dict(view.positions)
    page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    view.update(k.capability_graph())
    p = str(con.target(page))
    assert {v: view.positions[v] for v in before} == before
    assert p in view.positions and p not in before
    near = [str(u) for u in k.capability_graph().predecessors(con.target(page))]
    x, y = view.positions[p]
    assert any(
        math.isclose(math.dist((x, y), view.positions[n]), SPREAD, rel_tol=1e-6) for n in near
    )
    view.show(k.capability_graph())  # show starts afresh: a new layout
    assert view.state["picked"] is None


def test_a_pick_reaches_python(writer_system):
    k, writer, reader, page = writer_system
    seen = []
    view = GraphView(k.capability_graph(), collapse=False, on_pick=seen.append)
    view.pick(writer)
    assert view.picked == writer and seen == [writer]
    assert "picked: <b>" in view.status.value and "domain" in view.status.value
    with pytest.raises(ValueError, match="not a vertex"):
        view.pick("nobody")
    view.pick(None)
    assert view.picked is None and seen == [writer, None]


def test_the_browser_widget_gets_the_graph_and_sends_picks_back(writer_system):
    k, writer, reader, page = writer_system
    view = GraphView(k.capability_graph(), interactive=True)
    sigma = view.sigma
    assert isinstance(sigma, SigmaCanvas) and view.canvas.children == (sigma,)
    sent = sigma.data
    json.dumps(sent)  # what the comm carries
    assert [n["key"] for n in sent["nodes"]] == list(view.H)
    assert {tuple(x) for x in sent["legend"]["kinds"]} >= {
        ("domain", kind_style("domain")["color"])
    }
    assert ("start key", key_colour("start")) in {tuple(x) for x in sent["legend"]["keys"]}
    # a click in the browser sets picked (a string key); the view maps it back to the vertex
    sigma.picked = str(writer)
    assert view.picked == writer
    sigma.picked_edge = [str(writer), str(page)]
    assert view.picked_edge == (writer, page)
    # a pick made in Python shows in the browser too
    view.pick(reader)
    assert sigma.picked == str(reader)
    # an update sends new data to the same widget: one renderer, one set of WebGL contexts
    generation = sigma.generation
    con = k.console
    new = con.target(con.call(con["bank"], kl.oc.SB.CreatePage).keys[0])
    view.update(k.capability_graph())
    assert view.sigma is sigma and sigma.data is not sent
    assert str(new) in {n["key"] for n in sigma.data["nodes"]} | {"space banks"}
    assert sigma.generation == generation and sigma.picked == str(reader)
    view.show(k.capability_graph())  # afresh: the camera is reset, the pick cleared
    assert sigma.generation == generation + 1 and sigma.picked is None


def test_the_bundle_is_one_module_that_loads_nothing_from_the_network():
    """The front end is vendored: sigma.js, graphology and the view in one ES module, built
    from the source beside it; no URL to fetch, no import from elsewhere."""
    text = BUNDLE.read_text(encoding="utf-8")
    assert str(SigmaCanvas._esm) == text and len(text) > 50_000  # anywidget read it
    assert not re.search(r"https?://", text), "the bundle names a URL"
    # no static import, no dynamic import (graphology's Graph.import method is no import),
    # no fetch, no worker script
    dynamic = r"(?:[=(,:?]|return|await)\s*import\s*\("
    static = r"(?:^|[;\n])\s*import\s*[{*\w$]"
    for what in (static, dynamic, r"\bfetch\s*\(", r"\bimportScripts\b", r"new Worker"):
        assert not re.search(what, text), what
    assert "export{" in text[-200:]  # an ES module with a default export, for anywidget
    package = json.loads((BUNDLE.parent / "package.json").read_text())
    banner = text.splitlines()[0]
    for name, version in package["dependencies"].items():
        assert f"{name} {version}" in banner, f"the bundle's banner does not name {name}"
    notices = (BUNDLE.parent / "graphview.js.LICENSE.txt").read_text()
    assert all(
        f"{name} {version} (MIT)" in notices for name, version in package["dependencies"].items()
    )
    source = (BUNDLE.parent / "graphview.src.js").read_text()
    for call in ('model.set("picked"', 'model.on("change:data"', "renderer.kill()"):
        assert call in source


def test_the_headless_view_builds_no_widget_and_says_so():
    view = GraphView(kl.Kernel().capability_graph())
    assert not front_end_present() and not view.interactive
    assert view.sigma is None and view.canvas.children == ()
    assert "no front end" in view.status.value


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="networkx graph"):
        GraphView([1, 2, 3])
    with pytest.raises(ValueError, match="collapse"):
        GraphView(collapse="sometimes")
    G = nx.MultiDiGraph()
    G.add_node(1, kind="page", label="a")
    G.add_node("1", kind="page", label="b")
    with pytest.raises(ValueError, match="same string form"):
        GraphView(G)


def test_the_jupyterlab_extension_is_installed_prebuilt():
    """anywidget's front end comes with its wheel: no build step, no CDN."""
    import anywidget

    ext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "anywidget"
    package = json.loads((ext / "package.json").read_text())
    assert package["version"] == anywidget.__version__
    assert (ext / package["jupyterlab"]["_build"]["load"]).is_file()
