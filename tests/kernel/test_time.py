"""The system timer and calendar clock as programs see them: the logical clock
(docs/decisions/0004-logical-time.md), read from inside domains, reproducible run for run,
and a hole to a factory (``Base/jsensec.c:34-41``)."""

import pytest

import keykos_lab as kl

ST = kl.oc.Systimer


def ticks(data: bytes) -> int:
    return int.from_bytes(data[:8], "big")


@kl.program("time-stopwatch")
def stopwatch(dom, msg):
    """Reads the timer (key register 0), makes ``msg.order`` calls to the DKC (key
    register 1), reads the timer again; replies with both readings."""
    t0 = (yield dom.call(dom.keys[0], ST.ReadSystemTime)).data
    for _ in range(msg.order):
        yield dom.call(dom.keys[1], kl.oc.DKC.Create6)
    t1 = (yield dom.call(dom.keys[0], ST.ReadSystemTime)).data
    yield dom.return_(msg.resume, rc=0, data=t0 + t1)


def run_stopwatch(n: int, seed=None):
    k = kl.Kernel(seed=seed)
    con = k.console
    dom = kl.build_domain(con, "time-stopwatch", keys={0: con["systimer"], 1: con["dkc"]})
    r = con.call(kl.start_key(con, dom), n)
    return k, ticks(r.data[:8]), ticks(r.data[8:])


def test_a_domain_measures_its_own_work_in_ticks():
    """Each DKC call costs one tick (decision 0004), so the two readings are n + 1 apart:
    the n calls and the second read."""
    for n in (0, 1, 10, 100):
        _, t0, t1 = run_stopwatch(n)
        assert t1 - t0 == n + 1


def test_the_timer_is_reproducible():
    """Same inputs, same readings and the same event log, row for row."""
    k1, a0, a1 = run_stopwatch(7)
    k2, b0, b1 = run_stopwatch(7)
    assert (a0, a1) == (b0, b1)
    assert k1.events().equals(k2.events())


def test_timer_reads_are_in_the_event_log():
    """Each read is an ``invoke`` row on the ``systimer`` key type, order 7."""
    k, _, _ = run_stopwatch(3)
    ev = k.events()
    reads = ev[ev.key_type == "systimer"]
    assert len(reads) == 2
    assert set(reads.order) == {ST.ReadSystemTime}
    assert set(reads.rc) == {0}


def test_time_keys_in_the_capability_graph():
    """The console holds both; each is a ``misc`` vertex, reached with the ``call`` right;
    neither is sensory."""
    k = kl.Kernel()
    G = k.capability_graph()
    for name in ("systimer", "calclock"):
        vertex = f"misc:{name}"
        assert G.nodes[vertex]["kind"] == "misc"
        edges = [d for _, _, d in G.in_edges(vertex, data=True)]
        assert edges and all(d["key_type"] == name for d in edges)
        assert all(d["rights"] == frozenset({"call"}) and not d["sensory"] for d in edges)
        assert any(u == k.console.root for u, _ in G.in_edges(vertex))


def test_a_factory_takes_the_timer_only_as_a_hole():
    """Not sensory (jsensec.c:34-41), not a factory: the timer is refused as a component
    and taken as a hole, and then the factory is not discreet (Dom/fundamental/init.cmd:113
    installs it in the clock factory as a hole, ``h0=admin/systimer``)."""
    k = kl.Kernel()
    con = k.console
    with pytest.raises(kl.FactoryError, match="neither sensory nor a factory"):
        kl.build_factory(con, "echo", components={0: con["systimer"]})
    timed = kl.build_factory(con, "echo", holes={0: con["systimer"]})
    plain = kl.build_factory(con, "echo")
    assert kl.is_discreet(con, plain.requestor)
    assert not kl.is_discreet(con, timed.requestor)
