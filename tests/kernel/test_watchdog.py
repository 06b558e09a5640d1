"""The watchdog stops a handler that computes without invoking, and nothing else."""

import signal
import time

import pytest

import keykos_lab as kl
from keykos_lab.kernel.domains import STATE_NAMES
from keykos_lab.kernel.watchdog import ProgramTimeLimit, Watchdog


@kl.program("t-python-loop")
def python_loop(dom, msg):
    while True:
        pass
    yield


@kl.program("t-trap-recorder")
def trap_recorder(dom, msg):
    """A domain keeper that notes the trap (count, code) and leaves the domain waiting."""
    dom.regs[0] += 1
    dom.regs[1] = msg.order
    return
    yield


@kl.program("t-busy-invoker")
def busy_invoker(dom, msg):
    """Invokes a data key for ``msg.order`` seconds: busy, but always invoking."""
    end = time.perf_counter() + msg.order / 1000
    while time.perf_counter() < end:
        yield dom.call(dom.keys[15], 0)
    yield dom.return_(msg.resume, rc=7)


def test_a_python_loop_traps_instead_of_hanging_the_console(k, con):
    k.handler_time_limit = 0.2
    looper = kl.build_domain(con, "t-python-loop")
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    started = time.perf_counter()
    with pytest.raises(kl.Deadlock, match="ProgramTimeLimit"):
        con.call(kl.start_key(con, looper), 0)
    assert time.perf_counter() - started < 5
    assert "more than 0.2 s without invoking" in k.domains[con.target(looper)].error
    assert con.call(echo, 3).rc == 3  # the others are untouched


def test_the_trap_goes_to_the_domain_keeper(k, con):
    k.handler_time_limit = 0.2
    keeper_dom = kl.build_domain(con, "t-trap-recorder")
    looper = kl.build_domain(con, "t-python-loop", keeper=kl.start_key(con, keeper_dom))
    con.fork(kl.start_key(con, looper), 0)
    con.run()
    traps = con.call(keeper_dom, kl.oc.Domain.GetRegs).data
    assert int.from_bytes(traps[:8], "big") == 1  # the keeper saw one trap
    assert int.from_bytes(traps[8:16], "big") == kl.oc.Trap.EXCEPTION


def test_a_busy_program_that_keeps_invoking_is_left_alone(k, con):
    k.handler_time_limit = 0.1
    busy = kl.start_key(con, kl.build_domain(con, "t-busy-invoker", keys={15: con["dkc"]}))
    assert con.call(busy, 400).rc == 7  # 0.4 s, four limits long


def test_the_timer_and_the_handler_are_put_back(k, con):
    before = signal.getsignal(signal.SIGALRM)
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    assert con.call(echo, 1).rc == 1
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before


def test_ticks_outside_a_handler_never_raise(k):
    """Ticks that find the kernel idle, or code that is not a handler the kernel
    resumed, remember nothing and raise nothing, however many come."""
    import sys

    dog = Watchdog(k, 1.0)
    for frame in (None, sys._getframe(), None, sys._getframe(), sys._getframe()):
        dog._tick(signal.SIGALRM, frame)
        assert dog._seen is None


def test_two_ticks_on_the_same_handler_frame_raise(k, con):
    """The rule itself: the same handler frame and the same kernel tick twice."""
    dog = Watchdog(k, 1.0)
    seen = []

    @kl.program("t-watchdog-probe")
    def probe(dom, msg):
        import sys

        frame = sys._getframe()
        dog._tick(signal.SIGALRM, frame)  # first sight: remembered
        seen.append(dog._seen is not None)
        try:
            dog._tick(signal.SIGALRM, frame)  # no invocation since: raises
        except ProgramTimeLimit:
            seen.append(True)
        yield dom.return_(msg.resume, rc=0)

    assert con.call(kl.start_key(con, kl.build_domain(con, "t-watchdog-probe")), 0).rc == 0
    assert seen == [True, True]


@pytest.mark.parametrize("limit", [-1, 0, "2", True])
def test_a_bad_limit_is_refused_before_anything_runs(k, con, limit):
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    k.handler_time_limit = limit
    before = len(k.log)
    with pytest.raises(kl.KernelError, match="positive number of seconds or None"):
        con.call(echo, 1)
    assert len(k.log) == before
    k.handler_time_limit = None  # the console still works
    assert con.call(echo, 1).rc == 1 and STATE_NAMES[k.console.state.state] == "running"
