"""The console never hangs, and a runaway keeps nothing running after it gives up.

Each console call (``call``, ``fork``, ``run``) has a wall-clock budget
(``con.time_limit``) besides its step budget (``con.step_limit``); past either it
raises, naming the domain that was running, and stops every domain still runnable
(parked, the reason in ``k.objects()``), so the next call is not blocked by them. A bug
in the kernel's own code stops the domain it was running and says so.
"""

from __future__ import annotations

import time

import pytest

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.kernel import orders
from keykos_lab.kernel.domains import WAITING


@kl.program("tl-invoking-spinner")
def invoking_spinner(dom, msg):
    """Loops for ever, invoking a data key (the meter is the user's, huge)."""
    while True:
        yield dom.call(dom.keys[15], 0)


@kl.program("tl-relay")
def relay(dom, msg):
    """Forks a message to its partner (register 14) and ends: two of them relay for ever,
    with no one waiting for them."""
    yield dom.fork(dom.keys[14], 0)


@kl.program("tl-finally-loop")
def finally_loop(dom, msg):
    """Yields garbage (a trap) from inside a try whose finally never ends."""
    try:
        yield "not an op"
    finally:
        while True:
            pass


def _echo(con):
    return kl.start_key(con, kl.build_domain(con, "echo"))


def _usable(con, echo):
    assert con.call(echo, 7, data=b"after").data == b"after"


def _parked(k, target):
    row = k.objects().set_index("id").loc[target]
    return str(row["state"]), str(row["parked"])


def test_a_runaway_call_stops_within_the_time_limit_and_names_the_domain():
    k = kl.Kernel()
    con = k.console
    echo = _echo(con)
    dom = kl.build_domain(con, "tl-invoking-spinner", keys={15: con["dkc"]})
    con.time_limit = 0.5
    started = time.monotonic()
    with pytest.raises(kl.TimeLimitExceeded) as info:
        con.call(kl.start_key(con, dom), 0)
    assert time.monotonic() - started < 5
    root = con.target(dom)
    assert f"#{root} (tl-invoking-spinner) was running" in str(info.value)
    state, why = _parked(k, root)
    assert state == "waiting" and "stopped by the console" in why
    _usable(con, echo)  # the runaway does not go on in the next call
    assert k.domains[root].proc is None and k.domains[root] not in k.runq


def test_the_step_limit_stops_runaways_too():
    k = kl.Kernel()
    con = k.console
    echo = _echo(con)
    dom = kl.build_domain(con, "tl-invoking-spinner", keys={15: con["dkc"]})
    con.step_limit = 50
    with pytest.raises(kl.StepLimitExceeded, match="tl-invoking-spinner"):
        con.call(kl.start_key(con, dom), 0)
    con.step_limit = 1_000_000
    _usable(con, echo)


def test_background_runaways_are_stopped_whole_and_the_console_goes_on():
    k = kl.Kernel()
    con = k.console
    echo = _echo(con)
    a, b = kl.build_domain(con, "tl-relay"), kl.build_domain(con, "tl-relay")
    con.call(a, oc.Domain.SwapKey + 14, kl.start_key(con, b))
    con.call(b, oc.Domain.SwapKey + 14, kl.start_key(con, a))
    con.time_limit = 0.5
    con.fork(kl.start_key(con, a), 0)
    with pytest.raises(kl.TimeLimitExceeded, match="stopped"):
        con.run()
    assert not k.runnable()
    # After a FORK the forker waits on the CPU queue while its partner runs
    # (Base/primcomc.c:281 handlejumper's rundom, Base/jresumec.c:310 startdom), so the
    # partner's FORK back may find it busy and stall on it (jresumec.c:203): a stalled
    # domain is "running" but not runnable, and stays stalled on the one stopped.
    for d in (a, b):
        ds = k.domains[con.target(d)]
        assert _parked(k, ds.root)[0] in {"waiting", "available"} or ds.stalled_on is not None
    _usable(con, echo)


def test_a_loop_in_finally_is_ended_by_the_watchdog():
    k = kl.Kernel()
    con = k.console
    echo = _echo(con)
    k.handler_time_limit = 0.2
    dom = kl.build_domain(con, "tl-finally-loop")
    started = time.monotonic()
    with pytest.raises(kl.Deadlock, match="parked"):  # it trapped with no keeper
        con.call(kl.start_key(con, dom), 0)
    assert time.monotonic() - started < 5
    assert k.domains[con.target(dom)].state == WAITING
    _usable(con, echo)


def test_a_kernel_bug_stops_its_domain_and_the_console_goes_on(monkeypatch, tmp_path):
    k = kl.Kernel()
    con = k.console
    echo = _echo(con)
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    proxy = kl.start_key(con, kl.build_domain(con, "proxy", keys={0: page}))

    def broken(*args):
        raise ZeroDivisionError("a bug in a page order")

    monkeypatch.setitem(orders.BY_TYPE, kl.kernel.keys.PAGE, broken)
    monkeypatch.setitem(orders.FAST, kl.kernel.keys.PAGE, broken)
    from keykos_lab.kernel import fastpath

    monkeypatch.setitem(fastpath.PRIMARY_CALLS, kl.kernel.keys.PAGE, broken)
    with pytest.raises(kl.KernelError, match=r"domain #\d+ \(proxy\).*ZeroDivisionError"):
        con.call(proxy, oc.Page.TestForZeroes)
    monkeypatch.undo()
    _usable(con, echo)
    assert con.call(page, oc.Page.TestForZeroes).rc == 0
    state, why = _parked(k, con.target(proxy))
    assert "the kernel failed while running it" in why
    k.checkpoint(tmp_path / "after-the-bug.ckpt")  # quiescent again: it saves


@pytest.mark.parametrize("limit", [0, -1, "5", True, float("nan")])
def test_a_bad_time_limit_is_refused_before_anything_runs(limit):
    k = kl.Kernel()
    con = k.console
    echo = _echo(con)
    before = len(k.log)
    con.time_limit = limit
    with pytest.raises(ValueError, match="time_limit"):
        con.call(echo, 1)
    assert len(k.log) == before
    con.time_limit = None
    _usable(con, echo)
