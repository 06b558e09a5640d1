"""Red team, session 11: programs against the kernel beyond the catalogue of hostile yields.

``test_hostile_yields`` and ``test_yield_anything`` try what a program may *yield*. This file
tries what else a program's Python can do while it runs, through its ``dom`` and its own
objects, on both builds (pure Python and mypyc-compiled):

* values whose *classes* run code when the kernel names them (a metaclass ``__name__``);
* recursion: kernel code a program calls (``dom.keys[n] = k``, ``dom.regs[n] = v``) runs on
  top of the program's stack, near the recursion limit;
* the watchdog firing while kernel code called from the handler runs;
* a "program" that only looks like a generator function to ``inspect``, or whose code is
  swapped after it was registered;
* another domain's activation (its ``dom``, its generators, its message's keys) reached
  through Python globals while that domain waits;
* the builds agreeing on what a ``dom`` is, and the program registry (a system program
  replaced).

Outside the program interface, and so not tested here (docs/reliability.md#reliability-trust):
a program that lowers ``sys.setrecursionlimit``, a finalizer that runs for ever when the
kernel drops the program's object, and the kernel state reachable from a ``dom``'s private
attributes or the watchdog's signal handler.

A test marked ``xfail(strict=True)`` states the correct behaviour of something that is broken
now (the reason says what, and on which build); the rest are regression guards.
"""

from __future__ import annotations

import copy
import faulthandler
import functools
import itertools
import statistics
import sys
import time
import traceback

import pytest
from hostile_kit import (
    R_DKC,
    R_ECHO,
    R_PAGE,
    R_PAUSE,
    SURVIVED,
    Isolated,
    Lab,
    Trap,
    oc,
    op,
)
from odd_objects import OddName

import keykos_lab as kl
from keykos_lab.kernel import domains as kdomains
from keykos_lab.kernel.domains import WAITING
from keykos_lab.kernel.keys import DK, Key
from keykos_lab.kernel.process import OP_CALL, OP_RETURN, PROGRAMS, DeadDomain
from keykos_lab.kernel.watchdog import ProgramTimeLimit

BK, EX = Trap.BADKEY, Trap.EXCEPTION
PURE = not kl.compiled


def _odd_key() -> Key:
    """A Key whose first field is an object of a class whose metaclass ``__name__`` raises
    (``odd_objects.OddName``): naming its type runs the program's code."""
    return tuple.__new__(Key, (OddName(), 0, 0, 0))


# ============ 1. naming the type of a key's field runs the program's metaclass =============
def _yield_odd(where):
    def body(dom, msg, lab):
        if where == "invoked":
            yield op(OP_CALL, _odd_key(), 0)
        elif where == "passed":
            yield op(OP_CALL, dom.keys[R_ECHO], 0, (_odd_key(),))
        else:  # a RETURN passing it
            yield op(OP_RETURN, msg.resume, 0, (_odd_key(),))
        yield dom.return_(msg.resume, SURVIVED)

    return body


def _raise_odd(where):
    def body(dom, msg, lab):
        if where == "raised-after-a-yield":
            yield dom.call(dom.keys[R_DKC], 0, data=bytes(6))
            raise ValueError(_odd_key())
        if where == "raised-before-any-yield":
            raise ValueError(_odd_key())
        try:  # raised by the clean-up of a handler that returned
            yield dom.return_(msg.resume, SURVIVED)
        finally:
            raise ValueError(_odd_key())
        yield

    return body


ODD_FIELD = [
    ("invoked", _yield_odd("invoked"), BK, True),
    ("passed", _yield_odd("passed"), BK, True),
    ("passed-on-return", _yield_odd("return"), BK, True),
    ("raised-after-a-yield", _raise_odd("raised-after-a-yield"), EX, False),
    ("raised-before-any-yield", _raise_odd("raised-before-any-yield"), EX, False),
    ("raised-in-a-finally", _raise_odd("finally"), "done", False),
]


@pytest.mark.parametrize(
    "body, expect, warm",
    [
        pytest.param(b, e, w, id=f"{name}-{'warm' if w else 'cold'}")
        for name, b, e, both in ODD_FIELD
        for w in ((False, True) if both else (False,))
    ],
)
def test_a_key_field_whose_class_name_raises_is_refused_without_running_it(body, expect, warm):
    lab = Lab(body, warm=warm)
    lab.run()
    if expect == "done":
        lab.expect_done(SURVIVED)
    else:
        lab.expect_trap(expect)
    assert lab.k.console.journal.broken is None
    lab.check_clean()  # (includes: the kernel ran none of the program's methods)


# ============ 2. kernel code called near the recursion limit ================================
def _at_depth(n, fn):
    if n <= 0:
        return fn()
    return _at_depth(n - 1, fn)


DEEP_OPS = {
    "set-key-register": lambda dom: dom.keys.__setitem__(9, dom.keys[R_ECHO]),
    "set-register": lambda dom: dom.regs.__setitem__(1, 5),
    "read-key-register-minus-1": lambda dom: dom.keys[-1],  # refused: its message names it
    "read-key-register": lambda dom: dom.keys[1],
    "read-register": lambda dom: dom.regs[1],
}


def _deep_lab(action):
    """In a child process: a program that calls ``action`` at every depth up to the
    recursion limit (a RecursionError, or the IndexError of a refused slot, is its own)."""
    faulthandler.disable()  # (an abort in the child should not print a Python traceback)

    def body(dom, msg, lab):
        for depth in range(sys.getrecursionlimit()):
            try:
                _at_depth(depth, lambda: action(dom))
            except (RecursionError, IndexError):
                pass
        yield dom.return_(msg.resume, SURVIVED)

    lab = Lab(body)
    lab.run()
    lab.expect_done(SURVIVED)
    lab.check_clean()
    return True


# The compiled build aborted the process on the first three (mypyc's tagged-int comparison
# with a big int fails near the recursion limit and calls abort()); ops.within compares as
# objects now, so the RecursionError reaches the program on both builds.
@pytest.mark.parametrize("name", list(DEEP_OPS))
def test_a_deeply_recursive_program_using_its_dom_cannot_kill_the_process(name):
    child = Isolated(lambda: _deep_lab(DEEP_OPS[name]))
    status, value, _ = child.result(timeout=60)
    assert (status, value) == ("ok", True), f"{status}: {value}"


# ============ 3. the watchdog firing inside kernel code the handler called ==================
def _spin_writing_registers(dom, msg, lab):
    a, b = dom.keys[R_PAGE], dom.keys[R_ECHO]
    yield dom.call(dom.keys[R_DKC], 0, data=bytes(6))
    end = time.monotonic() + 5  # (a watchdog that never fires fails the test, not hangs it)
    try:
        while time.monotonic() < end:
            for _ in range(256):
                dom.keys[9] = a
                dom.keys[9] = b
    except ProgramTimeLimit as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        # the frame the signal interrupted: just above the watchdog's own _tick
        hit = frames[-2] if len(frames) > 1 else frames[-1]
        lab.state["where"] = (hit.filename.rsplit("/", 1)[-1], hit.name)
        raise


def _watchdog_lab():
    lab = Lab(_spin_writing_registers)
    lab.k.handler_time_limit = 0.05
    lab.run()
    lab.expect_trap(EX)
    return lab


def test_the_watchdog_stops_a_program_that_writes_registers_for_ever():
    lab = _watchdog_lab()
    assert "ProgramTimeLimit" in (lab.ds.error or "")


class _SlowEq:
    """Compares for up to 5 s (for ever, in a real attack)."""

    def __eq__(self, other):
        end = time.monotonic() + 5
        while time.monotonic() < end:
            pass
        return False

    __hash__ = object.__hash__


def _slow_membership(dom, msg, lab):
    yield dom.call(dom.keys[R_DKC], 0, data=bytes(6))
    started = time.monotonic()
    try:
        _SlowEq() in dom.keys  # noqa: B015 - the comparison is the attack
    finally:
        lab.state["took"] = time.monotonic() - started


def test_the_watchdog_stops_a_slow_eq_in_a_register_lookup():
    """``x in dom.keys`` compares in the program's frame (KeyRegisters has no
    ``__contains__``), so the watchdog, which waits while kernel code runs, stops it."""
    lab = Lab(_slow_membership)
    lab.k.handler_time_limit = 0.05
    lab.run()
    lab.expect_trap(EX)
    assert lab.state["took"] < 2


def _loop_in_the_library(dom, msg, lab):
    yield dom.call(dom.keys[R_DKC], 0, data=bytes(6))
    started = time.monotonic()
    try:
        statistics.mean(itertools.islice(itertools.count(), 10**12))  # Python code, for ever
    finally:
        lab.state["took"] = time.monotonic() - started


def test_the_watchdog_stops_a_program_looping_in_the_standard_library():
    """The watchdog puts off a tick that lands in standard-library code (the kernel calls
    some), but only a while: a program looping inside the library is stopped too."""
    lab = Lab(_loop_in_the_library)
    lab.k.handler_time_limit = 0.05
    lab.run()
    lab.expect_trap(EX)
    assert lab.state["took"] < 2


def test_the_watchdog_interrupts_only_the_handlers_own_code():
    me = __file__.rsplit("/", 1)[-1]
    for _ in range(20):
        lab = _watchdog_lab()
        k, h = lab.k, lab.k.history
        assert lab.state["where"] == (me, "_spin_writing_registers"), lab.state["where"]
        assert len(h.at) == len(h.changes), "the history's times and changes are out of step"
        kn = k.objs[lab.root].slots[14].obj
        past = h.state(len(k.log) - 1)
        assert past.objs[kn][2][9] == k.objs[kn].slots[9], "the history missed a slot write"


# ============ 4. program code that runs outside the handler's frame =========================
def _gen(dom, msg):
    yield dom.return_(msg.resume, SURVIVED)


class _LooksLikeAGeneratorFunction:
    """Passes ``inspect.isgeneratorfunction`` (a generator's ``__code__`` and the other
    fields ``inspect._signature_is_functionlike`` reads); calling it runs ``act``."""

    __code__ = _gen.__code__
    __defaults__ = None
    __kwdefaults__ = None
    __annotations__: dict = {}
    __name__ = "looks_like_a_generator_function"

    def __init__(self, act):
        self.act = act

    def __call__(self, dom, msg):
        return self.act(dom, msg)


class _CallingPartial(functools.partial):
    """A partial of a generator function (so ``isgeneratorfunction`` says yes) whose call runs
    the program's code first."""

    def __call__(self, dom, msg):
        ACTED.append("called")
        return super().__call__(dom, msg)


ACTED: list[str] = []


def _act(dom, msg):
    ACTED.append("called")
    return _gen(dom, msg)


@pytest.mark.parametrize(
    "make",
    [lambda: _LooksLikeAGeneratorFunction(_act), lambda: _CallingPartial(_gen)],
    ids=["object-with-a-generators-code", "partial-subclass-with-a-call"],
)
def test_only_a_generator_function_is_registered(make):
    name = "rt11-not-a-generator-function"
    try:
        with pytest.raises(TypeError):
            kl.program(name)(make())
    finally:
        PROGRAMS.pop(name, None)


def test_the_kernel_runs_no_program_code_to_start_a_handler():
    name = "rt11-code-swapped"

    def handler(dom, msg):
        yield dom.return_(msg.resume, SURVIVED)

    def plain(dom, msg):
        ACTED.append("called")
        return _gen(dom, msg)

    ACTED.clear()
    try:
        kl.program(name)(handler)
        handler.__code__ = plain.__code__
        k = kl.Kernel()
        con = k.console
        start = kl.start_key(con, kl.build_domain(con, name))
        con.fork(start, 0)
        con.run()
        assert ACTED == [], "the kernel ran the program's code to start it"
    finally:
        PROGRAMS.pop(name, None)


SHARED: dict = {}


def _share_first(dom, msg):
    """Domain B's handler: waits on the pause domain, then reports what its dom could do."""
    SHARED["b_dom"] = dom
    yield dom.call(dom.keys[R_PAUSE], 0)
    try:
        dom.regs[0] = 1234  # B waits; this runs in C's activation
        SHARED["b_wrote"] = True
    except DeadDomain:
        SHARED["b_wrote"] = False
    yield dom.return_(msg.resume, SURVIVED)


def _hand_over(dom, msg):
    if msg.order == 1:  # domain C: start domain B's suspended handler as its own
        return SHARED["g"]
    g = SHARED["g"] = _share_first(dom, msg)
    return g


def test_a_handler_belongs_to_one_domain():
    name = "rt11-hand-over"
    SHARED.clear()
    try:
        try:
            kl.program(name)(_LooksLikeAGeneratorFunction(_hand_over))
        except TypeError:
            return  # refused at registration: the attack cannot start
        k = kl.Kernel()
        con = k.console
        pause = kl.start_key(con, kl.build_domain(con, "adv-pause"))
        b = kl.build_domain(con, name, keys={R_PAUSE: pause})
        c = kl.build_domain(con, name)
        con.fork(kl.start_key(con, b), 0)
        con.run()
        ds_b = k.domains[con.target(b)]
        assert ds_b.state == WAITING and ds_b.proc is SHARED["g"]
        con.fork(kl.start_key(con, c), 1)
        con.run()
        ds_c = k.domains[con.target(c)]
        assert "b_wrote" not in SHARED, "B's handler ran in C's activation"
        assert ds_b.proc is SHARED["g"] and ds_b.proc.gi_frame is not None, (
            "B's handler was closed by C"
        )
        assert ds_c.error is not None  # C refused (ILLEGAL: not a fresh handler of its own)
    finally:
        PROGRAMS.pop(name, None)
        SHARED.clear()


# ============ 5. another domain's activation, while it waits ================================
def _first_waits(dom, msg, lab):
    """Domain 1: keeps its dom, its message's key and a sub-generator in lab.state, then
    CALLs the pause domain: its activation stays alive, waiting."""

    def inner():
        yield dom.call(dom.keys[R_PAGE], oc.Page.ReadData, data=(4).to_bytes(4, "big"))
        dom.keys[9] = msg.keys[0]
        yield dom.call(msg.keys[0], oc.Page.WriteData, data=b"pwned")

    lab.state.update(dom=dom, key=msg.keys[0], inner=inner())
    yield dom.call(dom.keys[R_PAUSE], 0)
    yield dom.return_(msg.resume, SURVIVED)


SECOND_TRIES = {
    # (what domain 2 does, the trap it earns, what its error says)
    "use-its-dom": (lambda dom, msg, lab: lab.state["dom"].keys[R_PAGE], EX, "DeadDomain"),
    "write-its-register": (
        lambda dom, msg, lab: lab.state["dom"].regs.__setitem__(0, 7),
        EX,
        "DeadDomain",
    ),
    "invoke-its-message-key": ("invoke", BK, "invoked"),
    "pass-its-message-key": ("pass", BK, "passed"),
    "drive-its-sub-generator": ("drive", EX, "DeadDomain"),
}


@pytest.mark.parametrize("what", list(SECOND_TRIES))
def test_another_domains_waiting_activation_gives_nothing(what):
    act, trap, says = SECOND_TRIES[what]

    def body(dom, msg, lab):
        if dom.id == lab.root:
            yield from _first_waits(dom, msg, lab)
            return
        if act == "invoke":
            yield dom.call(lab.state["key"], oc.Page.WriteData, data=b"pwned")
        elif act == "pass":
            yield dom.call(dom.keys[R_DKC], 0, lab.state["key"], data=bytes(6))
        elif act == "drive":
            yield from lab.state["inner"]
        else:
            act(dom, msg, lab)
        yield dom.return_(msg.resume, SURVIVED)

    lab = Lab(body, second=True, pause=True)
    lab.run(0, lab.gift)
    first = lab.k.domains[lab.root]
    assert first.state == WAITING and first.proc is not None and lab.traps()[0] == 0
    lab.run(0, target=lab.start2)
    assert lab.traps() == (1, trap), (lab.traps(), lab.k.domains[lab.root2].error)
    assert says in (lab.k.domains[lab.root2].error or "")
    assert first.state == WAITING and first.proc is not None, "domain 1's activation was hurt"
    gift = lab.con.call(lab.gift, oc.Page.ReadData, data=(5).to_bytes(4, "big")).data
    assert gift == bytes(5), "the gift page was written"
    lab.check_clean()


def test_a_handler_the_kernel_could_not_close_gives_nothing_to_another_domain():
    """``domains.UNCLOSABLE`` (a public list) keeps handlers that refused to end; a program
    that drives one runs that domain's code with that domain's dom: dead."""

    def body(dom, msg, lab):
        if dom.id == lab.root:
            while True:  # refuses to end: the kernel keeps it in UNCLOSABLE
                try:
                    yield dom.return_(msg.resume, SURVIVED)
                    dom.keys[9] = dom.keys[R_ECHO]
                    yield dom.call(dom.keys[R_PAGE], oc.Page.WriteData, data=b"pwned")
                except GeneratorExit:
                    lab.state["kept"] = True
            return
        g = kdomains.UNCLOSABLE[-1]
        yield from g

    lab = Lab(body, second=True)
    lab.run(0)
    lab.expect_done(SURVIVED)
    assert lab.state.get("kept")
    lab.run(0, target=lab.start2)
    assert lab.traps() == (1, EX), lab.k.domains[lab.root2].error
    assert "DeadDomain" in (lab.k.domains[lab.root2].error or "")
    lab.check_clean()


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_fresh_dk0_passes_like_dk0(warm):
    """The fast path tests ``key is DK0``; an equal DK(0) that is another object goes the
    general way, which accepts it (``_holds``: DK(0) is always held, even by a handler whose
    message brought four keys and no DK(0)): the same answer either way."""

    def body(dom, msg, lab):
        r = yield op(OP_CALL, dom.keys[R_ECHO], 3, (DK(0), tuple.__new__(Key, (0, 0, 0, 0))))
        yield dom.return_(msg.resume, SURVIVED if r.rc == 3 else 1)

    lab = Lab(body, warm=warm)
    lab.run(0, lab.gift, lab.gift, lab.gift)  # four keys in the message: no DK(0) among them
    lab.expect_done(SURVIVED)
    lab.check_clean()


# ============ 6. the builds agree on what a dom is ==========================================
DOM_USES = {
    "list-of-key-registers": lambda dom: len(list(dom.keys)),
    "key-in-key-registers": lambda dom: dom.keys[R_PAGE] in dom.keys,
    "list-of-registers": lambda dom: len(list(dom.regs)),
}


@pytest.mark.parametrize("use", list(DOM_USES))
def test_the_register_views_iterate_in_both_builds(use):
    def body(dom, msg, lab):
        lab.state["got"] = DOM_USES[use](dom)
        yield dom.return_(msg.resume, SURVIVED)

    lab = Lab(body)
    lab.run()
    lab.expect_done(SURVIVED)
    assert lab.state["got"] in (16, True)
    lab.check_clean()


def test_a_copied_dom_is_no_more_than_the_dom():
    """``copy.copy(dom)`` works in the pure build (the compiled Dom refuses it): the copy is
    the same activation's handle, dead when it is."""

    def body(dom, msg, lab):
        try:
            other = copy.copy(dom)
        except TypeError:  # the compiled Dom
            other = None
        lab.state["copy"] = other
        if other is not None:
            lab.state["live"] = other.keys[R_PAGE] == dom.keys[R_PAGE]
        yield dom.return_(msg.resume, SURVIVED)

    lab = Lab(body)
    lab.run()
    lab.expect_done(SURVIVED)
    if lab.state["copy"] is not None:
        assert lab.state["live"]
        with pytest.raises(DeadDomain):
            lab.state["copy"].keys[R_PAGE]
    lab.check_clean()


# ============ 7. replacing a system program ================================================
def test_a_program_cannot_take_over_a_system_program():
    original = PROGRAMS["spacebank"]
    stolen: list = []

    def body(dom, msg, lab):
        def impostor(dom, msg):
            stolen.extend(dom.keys[n] for n in range(16))
            yield dom.return_(msg.resume, 0)

        impostor.__module__ = original.__module__
        impostor.__qualname__ = original.__qualname__
        impostor.__code__ = impostor.__code__.replace(
            co_filename=original.__code__.co_filename,
            co_firstlineno=original.__code__.co_firstlineno,
        )
        try:
            kl.program("spacebank")(impostor)
        except (ValueError, TypeError):
            pass
        yield dom.return_(msg.resume, SURVIVED)

    try:
        lab = Lab(body)
        lab.run()
        lab.expect_done(SURVIVED)
        lab.con.call(lab.con["bank"], oc.SB.CreatePage)
        assert PROGRAMS["spacebank"] is original, "the space bank's program was replaced"
        assert not stolen, f"the impostor ran in the bank with {stolen[:2]} …"
    finally:
        PROGRAMS["spacebank"] = original
