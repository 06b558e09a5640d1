"""plot_sequence: one lifeline per participating domain, one arrow per message."""

import programs_for_tests  # noqa: F401  (registers the t-* programs)
import pytest
from matplotlib.colors import to_hex

import keykos_lab as kl
from keykos_lab.plot import plot_sequence
from keykos_lab.plot.sequence import messages
from keykos_lab.plot.style import MESSAGE_STYLES


def _gids(ax, prefix):
    return [
        a.get_gid()
        for a in (*ax.patches, *ax.lines, *ax.collections)
        if (a.get_gid() or "").startswith(prefix)
    ]


def test_factory_request_lifelines_and_arrows(factory_run):
    k, _, first = factory_run
    ev = k.events()
    ax = plot_sequence(ev, labels=k, start=first)
    window = ev[ev.seq >= first]
    msgs = window[
        window.event.isin(["invoke", "keeper"]) & window.key_type.isin(["start", "resume"])
    ]
    assert sorted(_gids(ax, "message:")) == sorted(f"message:{s}" for s in msgs.seq)
    prim = window[(window.event == "invoke") & ~window.key_type.isin(["start", "resume"])]
    domains = set(msgs.actor) | set(msgs.target) | set(prim.actor)
    assert sorted(_gids(ax, "lifeline:")) == sorted(f"lifeline:{d}" for d in domains)
    names = {t.get_text() for t in ax.texts if t.get_gid() == "lifeline-label"}
    G = k.capability_graph()
    assert names == {G.nodes[d]["label"] for d in domains}
    assert "console" in names
    assert f"{len(msgs)} messages between {len(domains)} domains" in ax.get_title()


def test_styles_and_resume_labels(factory_run):
    k, _, first = factory_run
    ev = k.events()
    ax = plot_sequence(ev, start=first)
    m = messages(ev[ev.seq >= first]).set_index("seq")
    arrows = {a.get_gid(): a for a in ax.patches if (a.get_gid() or "").startswith("message:")}
    assert {"call", "return"} <= set(m["kind"])
    for gid, arrow in arrows.items():
        row = m.loc[int(gid.split(":")[1])]
        st = MESSAGE_STYLES[row["kind"]]
        assert to_hex(arrow.get_edgecolor()) == to_hex(st["color"])
        assert arrow.get_linestyle() == st["linestyle"]
    n_resume = int(m["resume"].sum())
    assert n_resume > 0
    assert sum(t.get_text().startswith("resume ") for t in ax.texts) == n_resume
    labels = {t.get_text() for t in ax.texts if t.get_gid() == "lifeline-label"}
    assert "#2" in labels  # no labels: ids


def test_start_stop_slice_by_seq(factory_run):
    k, _, first = factory_run
    ev = k.events()
    m = messages(ev[ev.seq >= first])
    stop = int(m.seq.iloc[3])  # keeps the first three messages
    ax = plot_sequence(ev, start=first, stop=stop)
    assert sorted(_gids(ax, "message:")) == sorted(f"message:{s}" for s in m.seq.iloc[:3])


def test_max_arrows_cuts_and_says_so(factory_run):
    k, _, _ = factory_run
    ev = k.events()
    total = len(messages(ev))
    assert total > 10
    ax = plot_sequence(ev, max_arrows=10)
    assert len(_gids(ax, "message:")) == 10
    assert f"first 10 of {total} messages" in ax.get_title()
    assert sorted(_gids(ax, "message:")) == sorted(
        f"message:{s}" for s in messages(ev).seq.iloc[:10]
    )


def test_keeper_and_fork_messages():
    k = kl.Kernel()
    con = k.console
    keeper_dom = kl.build_domain(con, "t-trap-logger")
    crasher = kl.start_key(
        con, kl.build_domain(con, "crasher", keeper=kl.start_key(con, keeper_dom))
    )
    first = len(k.events())
    with pytest.raises(kl.Deadlock):
        con.call(crasher, 0)
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    con.fork(echo, 3)
    con.run()
    ev = k.events()
    m = messages(ev[ev.seq >= first])
    assert {"keeper", "fork"} <= set(m["kind"])
    ax = plot_sequence(ev, start=first, labels={con.root: "experimenter"})
    arrows = {a.get_gid(): a for a in ax.patches if (a.get_gid() or "").startswith("message:")}
    assert len(arrows) == len(m)
    for seq, kind in zip(m.seq, m["kind"]):
        assert arrows[f"message:{seq}"].get_linestyle() == MESSAGE_STYLES[kind]["linestyle"]
        assert to_hex(arrows[f"message:{seq}"].get_edgecolor()) == to_hex(
            MESSAGE_STYLES[kind]["color"]
        )
    assert "experimenter" in {t.get_text() for t in ax.texts}


def test_bad_input(factory_run):
    k, _, _ = factory_run
    ev = k.events()
    with pytest.raises(ValueError, match=r"lacks the event-log column\(s\) \['actor'\]"):
        plot_sequence(ev.drop(columns=["actor"]))
    with pytest.raises(TypeError, match="event log DataFrame"):
        plot_sequence(k.capability_graph())
    with pytest.raises(TypeError, match="labels is None"):
        plot_sequence(ev, labels=42)
    with pytest.raises(ValueError, match="max_arrows"):
        plot_sequence(ev, max_arrows=0)


def test_a_kernel_as_labels_names_the_orders_too(factory_run):
    """labels=k names the domains and the orders: ``SB.CreateNode``, not ``oc 17``."""
    k, _, first = factory_run
    ev = k.events()
    named = {t.get_text() for t in plot_sequence(ev, labels=k, start=first).texts}
    bare = {t.get_text() for t in plot_sequence(ev, start=first).texts}
    assert any(t.startswith("SB.") for t in named), named
    assert not any(t.startswith("SB.") for t in bare)
    n_oc = sum(t.startswith("oc ") for t in bare)
    assert 0 < n_oc and sum(t.startswith("oc ") for t in named) < n_oc
    assert "order_name" not in ev.columns  # the caller's log is left as it was
