"""Pictures for papers and for people: names beside ids, the palette, type sizes, the
collapsed system, PDF and SVG out, and HTML that escapes what users wrote."""

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

import keykos_lab as kl
from keykos_lab import oc, plot
from keykos_lab.analysis import confinement
from keykos_lab.plot import style
from keykos_lab.plot.collapse import collapse_system, member_of
from keykos_lab.plot.export import new_figure, savefig
from keykos_lab.plot.path import draw_path, vertex_ids
from keykos_lab.views import events, frames
from keykos_lab.views.names import label_events, order_name

NASTY = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def run():
    """A system with named domains, labelled pages, a factory and a sub-bank (~55 vertices)."""
    k = kl.Kernel()
    con = k.console
    f = kl.build_factory(con, "echo")
    con.name("echo factory", f.requestor)
    for name in ("alice", "bob"):
        con.name(name, kl.start_key(con, kl.build_domain(con, "echo")))
    pages = {}
    for name in ("diary", "notes", "ledger", "inbox"):
        pages[name] = con.call(con["bank"], oc.SB.CreatePage).keys[0]
        con.label(pages[name], name)
    con.call(pages["diary"], oc.Page.WriteData + 0, data=b"hi")
    con.call(con["sbt"], oc.SBT.Create, con["bank"])
    con.call(con["alice"], 42)
    con.call(f.requestor, 7, con["bank"], con["meter"], data=b"hi")
    return k, pages


# ---------------------------------------------------------------- names in the log
def test_label_columns_are_added_beside_the_typed_ones_unchanged(run):
    k, _ = run
    plain = k.events()
    ev = events(k, labels=True)
    assert list(ev.columns) == [*plain.columns, "actor_label", "target_label", "order_name"]
    assert ev[list(plain.columns)].equals(plain)
    for col in ("actor_label", "target_label", "order_name"):
        assert isinstance(ev[col].dtype, pd.CategoricalDtype), col


def test_labels_are_the_objects_labels_and_the_kernel(run):
    k, pages = run
    con = k.console
    ev = events(k, labels=True)
    label = dict(zip(k.objects()["id"], k.objects()["label"]))
    objs = ev[ev["target"] >= 0]
    assert (objs["target_label"].astype(str) == objs["target"].map(label).astype(str)).all()
    mine = ev[ev["actor"] == con.root]
    assert set(mine["actor_label"].astype(str)) == {"console"}
    write = ev[(ev["target"] == con.target(pages["diary"])) & (ev["order"] == 4096)]
    assert write["target_label"].tolist() == ["diary"]
    kernel_rows = ev[ev["actor"] < 0]
    assert kernel_rows.empty or set(kernel_rows["actor_label"].astype(str)) == {"kernel"}
    misc = ev[(ev["target"] < 0) & (ev["key_type"].astype(str) == "domtool")]
    assert not misc.empty and set(misc["target_label"].astype(str)) == {"domtool"}


def test_order_names_for_calls_and_numbers_for_returns(run):
    k, pages = run
    ev = events(k, labels=True)
    calls = ev[ev["jump"].astype(str) == "call"]
    named = set(calls["order_name"].dropna().astype(str))
    assert {"SB.CreatePage", "Page.WriteData+0", "SBT.Create", "Range.Create"} <= named
    assert any(re.fullmatch(r"Node\.Swap\+\d+", n) for n in named)  # the bank's ledger
    returns = ev[ev["jump"].astype(str) == "return"]
    assert returns["order_name"].isna().all()  # a RETURN's code stays a number
    echo = calls[(calls["key_type"].astype(str) == "start") & (calls["order"] == 42)]
    assert not echo.empty and echo["order_name"].isna().all()  # echo's orders: no names


def test_order_name_table():
    assert order_name("page", oc.Page.WriteData + 7) == "Page.WriteData+7"
    assert order_name("node", oc.Node.Swap + 3) == "Node.Swap+3"
    assert order_name("domain", oc.Domain.SwapKeeper) == "Domain.SwapKeeper"
    assert order_name("start", oc.SB.CreatePage, "spacebank") == "SB.CreatePage"
    assert order_name("start", oc.SB.Forbid, "spacebank") == "SB.Forbid+0"
    assert order_name("start", oc.SB.Forbid + 5, "spacebank") == "SB.ForbidDestroyAndChangeLimits"
    assert order_name("start", oc.SB.CreatePage, "echo") is None
    assert order_name("page", oc.Page.AKT) is None  # an answer, not an order
    assert order_name("meter", oc.KT) == "KT"


def test_labels_follow_a_relabel_and_slices_work(run):
    k, pages = run
    con = k.console
    ev = k.events()
    part = label_events(ev.iloc[-20:], k)
    assert len(part) == 20 and list(part.index) == list(ev.index[-20:])
    before = events(k, labels=True)
    con.label(pages["notes"], "renamed notes")
    after = events(k, labels=True)
    notes = before["target"] == con.target(pages["notes"])
    assert set(before.loc[notes, "target_label"].astype(str)) == {"notes"}
    assert set(after.loc[notes, "target_label"].astype(str)) == {"renamed notes"}
    con.label(pages["notes"], "notes")


def test_an_empty_log_gets_empty_label_columns():
    k = kl.kernel.Kernel()
    ev = frames.events(k, labels=True)
    assert len(ev) == 0 and {"actor_label", "target_label", "order_name"} <= set(ev.columns)


# ---------------------------------------------------------------- pictures use names
def test_sequence_chart_names_lanes_and_orders_from_a_labelled_log(run):
    k, _ = run
    ev = events(k, labels=True)
    ax = plot.plot_sequence(ev)  # no labels= given: the log's own
    lanes = {t.get_text() for t in ax.texts if t.get_gid() == "lifeline-label"}
    assert "console" in lanes and not any(t.startswith("#") for t in lanes)
    words = {t.get_text() for t in ax.texts}
    assert "SB.CreatePage" in words
    bare = plot.plot_sequence(k.events())  # without names: ids
    assert any(t.get_text().startswith("#") for t in bare.texts if t.get_gid() == "lifeline-label")


def test_timeline_by_actor_names_actors_from_a_labelled_log(run):
    k, _ = run
    ax = plot.plot_timeline(events(k, labels=True), by="actor")
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert "console" in legend and "prime bank" in legend


# ---------------------------------------------------------------- readable pictures
def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]


def test_no_text_below_eight_points(run):
    k, _ = run
    G = k.capability_graph()
    ev = events(k, labels=True)
    axes = [
        plot.draw_capability_graph(G, collapse=False),
        plot.draw_capability_graph(G, highlight=k.console.root),
        plot.draw_capability_graph(G, max_vertices=5),
        plot.plot_sequence(ev),
        plot.plot_timeline(ev, by="actor"),
        plot.plot_reachability(G, [k.console.root]),
    ]
    for ax in axes:
        sizes = [t.get_fontsize() for t in _texts(ax.figure)]
        assert sizes and min(sizes) >= 8, ax.get_title()  # no 6-pt text
        legend = ax.get_legend() or (ax.figure.legends or [None])[0]
        if legend is not None:
            assert min(t.get_fontsize() for t in legend.get_texts()) >= 9


def test_palettes_are_the_published_ones_and_distinct():
    assert style.OKABE_ITO[5] == "#0072b2" and style.TOL_MUTED[0] == "#332288"
    kinds = [style.kind_style(k)["color"] for k in style.KINDS]
    assert len(set(kinds)) == len(kinds)
    assert set(kinds) - {"#bbbbbb"} <= set(style.OKABE_ITO)
    objects = [style.KEY_COLOURS[t] for t in style.OBJECT_KEY_TYPES]
    assert len(set(objects)) == len(objects)
    assert set(objects) - {"#555555"} <= set(style.TOL_MUTED)
    assert {style.KEY_COLOURS[t] for t in style.KERNEL_KEY_TYPES} == {style.KERNEL_KEY_COLOUR}
    assert style.KERNEL_KEY_COLOUR not in objects


def test_collapse_merges_the_system_and_keeps_what_the_user_built(run):
    k, pages = run
    con = k.console
    G = k.capability_graph()
    H = collapse_system(G)
    assert G.number_of_nodes() > 50 and H.number_of_nodes() < G.number_of_nodes() / 2 + 5
    parts = {d["label"].rsplit(" (", 1)[0] for _, d in H.nodes(data=True) if d["kind"] == "system"}
    assert {"space banks", "SBT", "DCC and DCs", "KIDC and KIDs", "meters"} <= parts
    for name in ("alice", "bob", "echo factory"):
        assert con.target(con[name]) in H  # the user's domains stay
    for page in pages.values():
        assert con.target(page) in H
    assert con.root in H
    where = member_of(H)
    assert where[con.target(con["bank"])] == "space banks"
    members = sum(len(d.get("members", ())) for _, d in H.nodes(data=True))
    assert members + sum(1 for v in H if H.nodes[v]["kind"] != "system") == len(G)
    kept = collapse_system(G, keep=[con.target(con["bank"])])
    assert con.target(con["bank"]) in kept


def test_auto_collapse_above_thirty_vertices_and_paths_through_parts(run):
    k, pages = run
    con = k.console
    G = k.capability_graph()
    fig, ax = new_figure((12, 8))
    plot.draw_capability_graph(G, ax=ax)
    kinds = {c.get_gid() for c in ax.collections if (c.get_gid() or "").startswith("vertices:")}
    assert "vertices:system" in kinds and "(the system as" in ax.get_title()
    bank = con.target(con["bank"])
    line = draw_path(ax, [con.root, bank])  # a member of a part: drawn at the part
    assert len(line.get_xdata()) == 2
    small = kl.Kernel().capability_graph()  # 29 vertices: drawn vertex by vertex
    ax2 = plot.draw_capability_graph(small)
    assert not any(c.get_gid() == "vertices:system" for c in ax2.collections)


def test_highlight_in_a_collapsed_picture_halos_parts_it_reaches(run):
    k, _ = run
    con = k.console
    G = k.capability_graph()
    alice = con.target(con["alice"])
    ax = plot.draw_capability_graph(G, highlight=alice)
    (halo,) = [c for c in ax.collections if c.get_gid() == "authority"]
    a = kl.analysis.authority(G, alice)
    where = member_of(collapse_system(G, keep=[alice]))
    expected = {str(where[t]) for t in a.target if not isinstance(t, tuple) and t in G}
    assert set(vertex_ids(halo)) == expected


# ---------------------------------------------------------------- files for papers
def test_pdf_and_svg_are_written_with_fonts_embedded_and_labels_as_text(run, tmp_path):
    k, _ = run
    with style.paper():
        ax = plot.draw_capability_graph(k.capability_graph(), collapse=False)
    pdf = savefig(ax, tmp_path / "g.pdf")
    svg = savefig(ax.figure, tmp_path / "g.svg")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 5000
    assert b"/FontFile2" in data and b"/Type3" not in data  # TrueType (Type 42), not Type 3
    text = svg.read_text()
    assert len(text) > 5000
    for label in ("console", "prime bank", "diary", "alice"):
        assert f">{label}<" in text, label  # text kept as text
    with pytest.raises(ValueError, match=r"\.pdf, \.svg or \.png"):
        savefig(ax, tmp_path / "g.jpg")


def test_an_exported_svg_has_no_dead_links(run, tmp_path):
    """The vertex ids stay on the Axes for tests and draw_path, not as SVG links."""
    k, _ = run
    con = k.console
    ax = plot.draw_capability_graph(k.capability_graph(), highlight=con.root)  # collapsed
    gids = {str(c.get_gid()) for c in ax.collections}
    assert {"authority", "subject", "vertices:domain"} <= gids
    assert any(g.startswith("members:") for g in gids)
    text = savefig(ax, tmp_path / "g.svg").read_text()
    assert "<a " not in text  # no link elements …
    hrefs = re.findall(r'xlink:href="([^"]*)"', text)
    assert hrefs and all(h.startswith("#") for h in hrefs)  # … only the markers' <use>
    ring = next(c for c in ax.collections if c.get_gid() == "subject")
    assert vertex_ids(ring) == [str(con.root)]


def test_paper_style_restores_the_settings_after():
    before = matplotlib.rcParams["pdf.fonttype"]
    with style.paper({"font.size": 12}):
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        assert matplotlib.rcParams["font.size"] == 12
    assert matplotlib.rcParams["pdf.fonttype"] == before


# ---------------------------------------------------------------- HTML
def test_kernel_and_console_html_escape_labels_and_names():
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.label(page, NASTY)
    con.name(NASTY, page)
    k.store.labels[con.root] = NASTY  # what the kernel lists as running, itself
    assert (
        NASTY.replace("<", "&lt;").replace(">", "&gt;")[:20]
        in k._repr_html_().split('<div class="keykos-console">')[0]
    )
    for html in (k._repr_html_(), con._repr_html_()):
        assert "<script" not in html.lower()
        assert "&lt;script&gt;" in html
    html = k._repr_html_()
    assert re.search(r"\d+ domains, \d+ pages, \d+ nodes \(.*\), \d+ events", html)
    assert "running: &lt;script&gt;" in html and "bank" in html


def test_kernel_html_counts_every_node():
    """The domains' keys and registers nodes and the meters are nodes too."""
    k = kl.Kernel()
    objs = frames.objects(k)
    kinds = objs["kind"].astype(str).value_counts()
    every = sum(int(kinds.get(c, 0)) for c in ("node", "domain_part", "meter", "segment"))
    parts, meters = int(kinds["domain_part"]), int(kinds["meter"])
    assert every > int(kinds["node"])
    html = k._repr_html_()
    assert f"{every} nodes ({parts} hold the keys and registers of domains, {meters} meters)" in (
        html
    )


def test_console_html_is_tidy():
    """No empty brackets, a domain's program not said twice when its label says it."""
    k = kl.Kernel()
    con = k.console
    con.name("echo", kl.start_key(con, kl.build_domain(con, "echo")))
    html = con._repr_html_()
    assert "()" not in html and "meter key → meter #" in html
    assert "(echo) (echo" not in html and "(echo): available" in html
    assert "(prime bank): spacebank, available" in html


def test_verdict_html_names_the_objects_beside_their_ids():
    k = kl.Kernel()
    con = k.console
    out = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.label(out, "out")
    f = kl.build_factory(con, "echo", holes={0: out})
    con.label(f.requestor, "echo factory")
    v = confinement(k, f.requestor)
    html = v._repr_html_()
    fid, pid = con.target(f.requestor), con.target(out)
    assert f"<b>echo factory #{fid}</b>" in html
    assert f"page key (databyte 0) to out #{pid}</li>" in html  # the hole
    assert f"the yield of echo factory #{fid} for a fresh requestor (requestor) → out #{pid}" in (
        html
    )
    assert "(" + str(pid) + ", " not in html and "('yield'" not in html  # no raw tuples
    assert v == confinement(k, f.requestor)  # labels do not change what a verdict is


def test_verdict_html_says_the_verdict_and_escapes():
    k = kl.Kernel()
    con = k.console
    leaky = kl.build_factory(con, "echo", holes={0: con.call(con["bank"], 16).keys[0]})
    v = confinement(k, leaky.requestor)
    html = v._repr_html_()
    assert "NOT confined" in html and "holes (" in html and "out of scope" in html
    G = k.capability_graph()
    G.add_node(NASTY, kind="domain")
    sealed = confinement(G, NASTY)._repr_html_()
    assert "<script" not in sealed.lower() and "&lt;script&gt;" in sealed


def test_label_columns_are_vectorised_not_per_row(run, monkeypatch):
    """The names are looked up once per distinct id and (class, order), not per row."""
    k, _ = run
    from keykos_lab.views import names

    calls = {"label": 0, "order": 0}
    real_label, real_name = names._Labels.label, names._name_in

    def count_label(self, oid):
        calls["label"] += 1
        return real_label(self, oid)

    def count_name(cls, order):
        calls["order"] += 1
        return real_name(cls, order)

    monkeypatch.setattr(names._Labels, "label", count_label)
    monkeypatch.setattr(names, "_name_in", count_name)
    ev = events(k, labels=True)
    ids = np.union1d(ev["actor"][ev["actor"] >= 0], ev["target"][ev["target"] >= 0])
    assert calls["label"] == len(ids)
    assert calls["order"] <= ev["order_name"].nunique() + 10 < len(ev)
    assert to_hex(style.key_colour("page")) == style.KEY_COLOURS["page"]
