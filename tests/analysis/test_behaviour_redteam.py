"""Red team for declared behaviour (docs/analyses.md#analyses-declared-behaviour).

The promises attacked: (1) a true declaration (the referee reports no violation) leaves
nothing the running kernel shows out of the static answers; (2) a false declaration that
hides something is reported as a violation; (3) bad declarations raise ValueError or
TypeError; (4) a watched run behaves exactly like an unwatched one.

The counterexamples found, each the smallest system found, were strict expected failures
until fixed; they are regression tests now (their docstrings tell what was wrong). The tests
at the end are tricky cases on which the promises held from the start.
"""

import gc
import sys

import numpy as np
import pytest

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.analysis import Behaviour, authority, explore, soundness
from keykos_lab.analysis.watch import Watch
from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.process import program


# ------------------------------------------------------------------ programs
@program("rt_fetch_into_own")
def fetch_into_own(dom, msg):
    """Fetches slot 0 of the node behind register 6 into its own register 5, then writes
    the caller's string through register 5."""
    dom.keys[5] = (yield dom.call(dom.keys[6], oc.Node.Fetch + 0)).keys[0]
    yield dom.call(dom.keys[5], oc.Page.WriteData, data=msg.data[:8])
    yield dom.return_(msg.resume, rc=0)


@program("rt_stash_resume")
def stash_resume(dom, msg):
    """Stores the resume key it was called with in slot 0 of the node behind register 0,
    and ends without answering."""
    yield dom.call(dom.keys[0], oc.Node.Swap + 0, msg.resume)


@program("rt_call_reg1")
def call_reg1(dom, msg):
    """CALLs register 1 with no key, then answers with no key."""
    yield dom.call(dom.keys[1], 0)
    yield dom.return_(msg.resume, rc=0)


@program("rt_returner_answer")
def returner_answer(dom, msg):
    """Answers its caller with register 1's key, RETURNing through the returner (register
    0) with the caller's resume key as the fourth key: the returner sends it on."""
    yield dom.return_(dom.keys[0], 0, dom.keys[1], DK0, DK0, msg.resume)


@program("rt_gives_own")
def gives_own(dom, msg):
    """Answers every message with the key in its register 1."""
    yield dom.return_(msg.resume, rc=0, keys=(dom.keys[1],))


@program("rt_order_chooses")
def order_chooses(dom, msg):
    """Writes the caller's string through register 5 for order 0, register 6 otherwise."""
    reg = 5 if msg.order == 0 else 6
    yield dom.call(dom.keys[reg], oc.Page.WriteData, data=msg.data[:8])
    yield dom.return_(msg.resume, rc=0)


@program("rt_forward_resume")
def forward_resume(dom, msg):
    """FORKs register 1 passing its caller's resume key, and ends."""
    yield dom.fork(dom.keys[1], 0, msg.resume)


@program("rt_answer_with_own")
def answer_with_own(dom, msg):
    """Answers through the first key it was sent with its register 1's key."""
    yield dom.return_(msg.keys[0], 0, dom.keys[1])


@program("rt_passes_reply")
def passes_reply(dom, msg):
    """CALLs register 1 and answers its caller with the first key of the reply."""
    r = yield dom.call(dom.keys[1], 0)
    yield dom.return_(msg.resume, 0, r.keys[0])


CLEANUPS: list[int] = []


@program("rt_stubborn")
def stubborn(dom, msg):
    """Answers, and when the kernel closes the handler, counts the clean-up and refuses
    to end (it yields again): the kernel keeps such a handler (``UNCLOSABLE``)."""
    resume = msg.resume
    while True:
        try:
            yield dom.return_(resume, rc=7)
        except GeneratorExit:
            if CLEANUPS is not None:  # None at interpreter exit
                CLEANUPS.append(1)


@program("rt_odd")
def odd(dom, msg):
    """Catches the error of its own bad read, then yields things that are not ops."""
    try:
        yield dom.call(dom.keys[1], oc.Node.Fetch + 0)
        raise KeyError("its own bug")
    except KeyError:
        pass
    if msg.order == 1:
        yield 42
    if msg.order == 2:
        yield ("call", dom.keys[1])
    yield dom.return_(msg.resume, rc=msg.order, data=msg.data)


# ------------------------------------------------------------------ helpers
def buy(con, order=oc.SB.CreatePage):
    return con.call(con["bank"], order).keys[0]


def server(con, name, keys):
    return kl.start_key(con, kl.build_domain(con, name, keys=keys))


def client(con, deputy, more=None):
    """An echo domain holding a start key to ``deputy`` in register 0 (and ``more``
    registers): the subject."""
    return con.target(kl.build_domain(con, "echo", keys={0: deputy, **(more or {})}))


def sound(k, subject, decl):
    return soundness(k, subject, 2, console=False, behaviour=decl)


# ------------------------------------------------------------------ counterexamples
def test_caller_keys_own_register_refilled_at_run_time_hides_a_flow():
    """Promise (1). The deputy's own register 5 holds page A in the graph; it fetches page
    B (from a node it reads) into register 5 and writes the caller's string there. The
    watcher compares with what register 5 holds *now*, so it sees an own-register write
    and reports nothing; the flow graph lets the deputy act only through register 5's key
    *as the graph had it* (``_acts_through`` uses ``register(G, d, 5)``), so the marker
    reaching B is missed."""
    k = kl.Kernel()
    con = k.console
    a, b = buy(con), buy(con)
    n = buy(con, oc.SB.CreateNode)
    con.call(n, oc.Node.Swap + 0, b)
    fetch = con.call(n, oc.Node.MakeFetchKey).keys[0]
    d = server(con, "rt_fetch_into_own", {5: a, 6: fetch})
    decl = {con.target(d): Behaviour.parse(("keeps_keys", "caller_keys"), own=[5])}
    r = sound(k, client(con, d), decl)
    # Fixed: the watcher takes the own registers' keys as the exploration begins (the
    # graph's), so the write through the key fetched into register 5 is a violation.
    assert "caller_keys" in {v["term"] for v in r["violations"]}
    assert r["flow_missing"] == [] or r["violations"]


def test_a_described_callers_resume_key_reaches_the_callee():
    """Promise (1). A keeps_keys deputy CALLs e with no key: the kernel hands e a resume key
    to the deputy (allowed: the kernel makes it). e stores it in a node the subject reads.
    ``_channel`` gives a resume key only to a *described* callee, so statically e (and
    whoever reads what e stores) never holds ``(deputy, resume, 2)``; the referee fetches
    it. (The subject reaches the node through a second fetch key so the slot is read
    after the call.)"""
    k = kl.Kernel()
    con = k.console
    n = buy(con, oc.SB.CreateNode)
    outer = buy(con, oc.SB.CreateNode)
    con.call(outer, oc.Node.Swap + 0, con.call(n, oc.Node.MakeFetchKey).keys[0])
    e = server(con, "rt_stash_resume", {0: n})
    d = server(con, "rt_call_reg1", {1: e})
    s = client(con, d, {1: con.call(outer, oc.Node.MakeFetchKey).keys[0]})
    r = sound(k, s, {con.target(d): "keeps_keys"})
    assert r["violations"] == []
    assert r["missing"] == []


def test_data_only_answering_through_the_returner_is_a_violation():
    """Promise (2). The watcher calls a jump an answer only when it invokes a resume key.
    RETURN to the returner misc key with the caller's resume key fourth sends the keys on
    to the caller all the same: the deputy answers with its own page, the static answer
    (data_only: no key in answers) misses the page, and no violation is reported."""
    k = kl.Kernel()
    con = k.console
    page = buy(con)
    d = server(con, "rt_returner_answer", {0: con["returner"], 1: page})
    r = sound(k, client(con, d), {con.target(d): "data_only"})
    assert con.target(page) in {m["target"] for m in r["missing"]}  # the static miss
    assert r["violations"], "a hidden answer with a key must be named"


def test_a_declaration_keyed_by_a_numpy_int_is_checked():
    """Promises (2)/(3). Vertices read from an authority frame are numpy ints;
    ``declared`` accepts ``np.int64(v)`` (``v in G``), so the static rules use it, but the
    referee keeps only keys with ``type(v) is int``: the leaky server is never watched.
    Declared keeps_keys, it hands out its page: missed, and no violation."""
    k = kl.Kernel()
    con = k.console
    page = buy(con)
    d = server(con, "rt_gives_own", {1: page})
    r = sound(k, client(con, d), {np.int64(con.target(d)): "keeps_keys"})
    assert r["missing"] == [] or r["violations"]


def test_a_behaviour_built_directly_with_a_misspelt_term_is_refused():
    """Promise (3). ``Behaviour.parse`` checks the terms of strings, but returns a
    ``Behaviour`` it is given unchecked, so ``Behaviour(frozenset({"keepskeys"}))`` (or
    ``own`` register 99) is accepted silently and the domain is treated as described."""
    k = kl.Kernel()
    con = k.console
    d = server(con, "echo", {})
    G = k.capability_graph()
    with pytest.raises(ValueError):
        authority(G, con.root, behaviour={con.target(d): Behaviour(frozenset({"keepskeys"}))})


def test_the_callers_order_choosing_among_own_registers_is_a_violation():
    """Promise (2), the confused deputy by order code. The across-messages check compares
    only messages with the same order and keys (``sig`` includes ``msg.order``), so a
    deputy that writes register 5 for order 0 and register 6 for order 1 — the caller's
    data choosing among its own keys, which the docs call a violation — is not reported,
    while ``authority`` (caller_keys: no ``through`` rows) says the caller cannot have
    either page written."""
    k = kl.Kernel()
    con = k.console
    a, b = buy(con), buy(con)
    d = server(con, "rt_order_chooses", {5: a, 6: b})
    decl = {con.target(d): Behaviour.parse(("keeps_keys", "caller_keys"), own=[5, 6])}
    s = client(con, d)
    G = k.capability_graph()
    G.remove_node(con.root)
    a = authority(G, s, behaviour=decl)
    assert not {(t, kt) for t, kt in zip(a.target, a.key_type)} & {(con.target(b), "page")}
    violations = explore(k, s, 1, behaviour=decl).attrs["violations"]
    assert con.call(d, 1, data=b"chosen").rc == 0  # order 1: page b is written
    assert violations


def _run_stubborn(watch: bool):
    CLEANUPS.clear()
    k = kl.Kernel()
    con = k.console
    d = server(con, "rt_stubborn", {})
    if watch:
        w = Watch({con.target(d): Behaviour.parse("keeps_keys")}, str)
        k.handler_wrapper = lambda ds, msg, proc: w.wrap(k, ds, msg, proc)
    rcs = [con.call(d, 0).rc for _ in range(2)]
    gc.collect()
    return rcs, len(CLEANUPS), k.events()


def test_a_closed_handler_that_refuses_to_end_is_cleaned_up_once_when_watched(monkeypatch):
    """Promise (4). RETURN closes the handler (``close_handler``); a program that yields
    again is kept in ``UNCLOSABLE`` so its clean-up never runs again. Watched, the kernel
    closes the wrapper, whose ``finally`` closes the program: the RuntimeError ends the
    wrapper, ``close_handler`` finds no ``gi_yieldfrom`` chain to keep, and the program's
    clean-up runs a second time when the garbage collector finalises it, in the middle of
    kernel code. (The event logs are equal; the program's behaviour is not.)"""
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: None)
    plain, watched = _run_stubborn(False), _run_stubborn(True)
    assert plain[0] == watched[0] == [7, 7]
    assert plain[2].equals(watched[2])
    assert watched[1] == plain[1]  # 4 clean-ups watched, 2 without


# ------------------------------------------------------------------ attacks that held
def test_a_passes_received_deputy_forwarding_the_resume_key_is_sound():
    """The deputy FORKs its caller's resume key to e, which answers the caller with its
    own page: the static rules give e the received resume key and link e to the caller."""
    k = kl.Kernel()
    con = k.console
    page = buy(con)
    e = server(con, "rt_answer_with_own", {1: page})
    d = server(con, "rt_forward_resume", {1: e})
    s = client(con, d)
    r = sound(k, s, {con.target(d): ("passes_received", "data_only")})
    assert r["violations"] == [] and r["missing"] == [] and r["flow_missing"] == []
    assert con.target(page) in set(explore(k, s, 2).target)  # it really got there


def test_passing_on_a_key_from_the_reply_to_its_own_call_is_a_violation():
    """Keys in the reply to the deputy's own CALL are not received in the message it
    serves: passing them on is named, and the miss shows beside it."""
    k = kl.Kernel()
    con = k.console
    page = buy(con)
    e = server(con, "rt_gives_own", {1: page})
    d = server(con, "rt_passes_reply", {1: e})
    r = sound(k, client(con, d), {con.target(d): "passes_received"})
    assert "passes_received" in {v["term"] for v in r["violations"]}


def test_own_registers_that_are_not_an_iterable_raise_type_error():
    with pytest.raises(TypeError):
        Behaviour.parse("caller_keys", own=5)


def test_a_program_catching_its_own_errors_and_yielding_odd_things_runs_the_same_watched():
    def run(watch: bool):
        k = kl.Kernel()
        con = k.console
        n = buy(con, oc.SB.CreateNode)
        d = server(con, "rt_odd", {1: n})
        if watch:
            w = Watch({con.target(d): Behaviour.parse(("keeps_keys", "caller_keys"))}, str)
            k.handler_wrapper = lambda ds, msg, proc: w.wrap(k, ds, msg, proc)
        for order in range(3):
            try:
                con.call(d, order, data=b"x")
            except kl.KernelError:
                pass
        return k.events()

    assert run(True).equals(run(False))
