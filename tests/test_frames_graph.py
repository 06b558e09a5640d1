"""The event log, the object table and the capability graph; the Python API's errors."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import keykos_lab as kl
from keykos_lab import oc

SCHEMA = [
    "seq",
    "tick",
    "event",
    "jump",
    "actor",
    "key_type",
    "target",
    "databyte",
    "order",
    "rc",
    "n_keys",
    "string_len",
    "state_before",
    "state_after",
    "cause",
]


def script(k):
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    for i in range(5):
        con.fork(echo, i, page)
        con.call(echo, 100 + i, data=bytes(i))
    con.run()
    return page, echo


def test_events_schema_and_types(k):
    script(k)
    ev = k.events()
    assert list(ev.columns) == SCHEMA
    assert (ev["seq"].to_numpy() == np.arange(len(ev))).all()
    for col in ("event", "jump", "key_type", "state_before", "state_after", "cause"):
        assert isinstance(ev[col].dtype, pd.CategoricalDtype), col
    for col in ("seq", "tick", "actor", "target", "order", "rc", "string_len"):
        assert ev[col].dtype == np.int64, col
    assert not any(ev[c].dtype == object for c in ev.columns)
    assert ev["tick"].is_monotonic_increasing


def test_events_of_a_fresh_kernel_is_an_empty_frame_with_the_schema():
    k = kl.kernel.Kernel()
    ev = kl.views.frames.events(k)
    assert list(ev.columns) == SCHEMA and len(ev) == 0


def test_same_inputs_same_events():
    a, b = kl.Kernel(), kl.Kernel()
    script(a)
    script(b)
    pd.testing.assert_frame_equal(a.events(), b.events())


def test_seeded_kernels_are_reproducible_and_still_correct():
    frames = []
    for _ in range(2):
        k = kl.Kernel(seed=7)
        script(k)
        frames.append(k.events())
    pd.testing.assert_frame_equal(*frames)


def test_event_log_spans_chunks(k):
    from keykos_lab.kernel.eventlog import EventLog

    k.log = EventLog(chunk_rows=64)
    con = k.console
    for _ in range(3000):
        con.call(con["discrim"], oc.KT)
    ev = k.events()
    assert len(ev) == len(k.log) == 3000
    assert ev.iloc[-1]["order"] == oc.KT and k.log.row(2999)[0] == 2999
    assert (ev["seq"].diff().dropna() == 1).all()


def test_objects_frame(k):
    script(k)
    obj = k.objects()
    assert list(obj.columns) == ["id", "kind", "label", "domain", "alloc", "state", "parked"]
    console = obj[obj["id"] == k.console.root].iloc[0]
    assert console["kind"] == "domain" and console["label"] == "console"
    parts = obj[obj["domain"] == k.console.root]
    assert len(parts) >= 3  # keys node, registers node, key ring
    assert set(obj["kind"]) >= {"page", "domain", "meter", "domain_part"}


def test_capability_graph_schema(k):
    page, echo = script(k)
    con = k.console
    G = k.capability_graph()
    assert isinstance(G, nx.MultiDiGraph)
    assert G.nodes[con.root]["kind"] == "domain"
    dom = con.target(echo)
    assert G.nodes[dom]["kind"] == "domain" and len(G.nodes[dom]["nodes"]) == 3
    assert G.nodes[dom]["program"] == "echo"
    assert G.nodes[con.target(page)]["kind"] == "page"
    for _, _, data in G.edges(data=True):
        assert set(data) == {"key_type", "databyte", "slot", "slot_kind", "rights", "sensory"}
        assert isinstance(data["rights"], frozenset)
    held = [d for _, v, d in G.out_edges(con.root, data=True) if v == con.target(page)]
    assert any(d["key_type"] == "page" and d["rights"] == {"read", "write"} for d in held)
    address = [d for _, _, d in G.out_edges(dom, data=True) if d["slot_kind"] == "address"]
    assert address and address[0]["sensory"]


def test_graph_drops_revoked_keys(k):
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    target = con.target(page)
    assert target in k.capability_graph()
    con.call(con["bank"], oc.SB.DestroyPage, page)
    G = k.capability_graph()
    assert target not in G
    assert con.key(page) == kl.DK0


def test_graph_shows_keys_a_waiting_handler_holds():
    import programs_for_tests  # noqa: F401

    k = kl.Kernel()
    con = k.console
    stash = kl.build_domain(con, "t-stasher")
    proxy = kl.build_domain(con, "proxy", keys={0: kl.start_key(con, stash, 0)})
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.fork(kl.start_key(con, proxy), 1, page)
    con.run()
    G = k.capability_graph()
    transient = [(u, v) for u, v, d in G.edges(data=True) if d["slot_kind"] == "transient"]
    assert (con.target(proxy), con.target(page)) in transient


# ------------------------------------------------------------ API misuse
def test_console_rejects_what_is_not_a_held_key(con):
    with pytest.raises(TypeError, match="key handles"):
        con.call(kl.Key(1, 5, 0, 1), 0)
    other = kl.Kernel().console
    with pytest.raises(ValueError, match="another kernel"):
        con.call(other["bank"], 0)


@pytest.mark.parametrize("order", [-1, 2**32, 1.5, "0"])
def test_console_rejects_bad_order_codes(con, order):
    with pytest.raises(ValueError, match="order code"):
        con.call(con["discrim"], order)


def test_console_rejects_bad_strings(con):
    with pytest.raises(TypeError, match="bytes"):
        con.call(con["discrim"], 0, data="text")


def test_unknown_name_lists_the_names(con):
    with pytest.raises(KeyError, match="bank"):
        con["no such key"]


def test_data_key_values_are_checked():
    with pytest.raises(ValueError, match="2\\*\\*88"):
        kl.DK(2**88)


def test_unregistered_program_image_is_refused(con):
    with pytest.raises(KeyError, match="no program named"):
        kl.image(con, "no-such-program")


def test_step_limit_stops_a_runaway_and_console_recovers(k):
    import programs_for_tests  # noqa: F401

    con = k.console
    spin = kl.start_key(con, kl.build_domain(con, "spinner"))
    con.step_limit = 200
    with pytest.raises(kl.StepLimitExceeded, match="200 scheduler steps"):
        con.call(spin, 0)
    assert con.call(con["discrim"], oc.KT).rc == oc.Discrim.AKT
