"""KeyNIX's copy-on-write fork: a virtual copy segment each for parent and child."""

from __future__ import annotations

import pytest

from keykos_lab import analysis
from keykos_lab.analysis.keynix import analysis_view, processes, register_target, slot_target
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix import libc as c
from keykos_lab.programs.keynix.keeper import KK_MEM
from keykos_lab.scenarios.keynix import _pages_copied
from keykos_lab.system.keynix import KeyNIX

COW_CHILD = 21


def _say(dom, text: bytes):
    yield from c.write(dom, 1, text + b"\n")


@c.unix_program("t-cow")
def t_cow(dom, argv, forked):
    """``t-cow both``: parent and child each write the data page after the fork and
    say what they see; ``t-cow none``/``t-cow one``: the child writes no page / one
    page of memory itself (no ``write``), the parent only waits; ``t-cow wait``: the
    child waits on fd 0 after the fork (for the authority test)."""
    how = argv[1] if len(argv) > 1 else b"both"
    if forked == COW_CHILD:
        if how == b"wait":
            yield from c.read(dom, 0, 8)
        if how == b"one":
            yield dom.write(abi.DATA, b"child!")
        if how == b"both":
            _, line = yield from c.read(dom, 0, 8)  # the parent has written by then
            before = yield dom.read(abi.DATA, 6)
            yield dom.write(abi.DATA, b"child!")
            after = yield dom.read(abi.DATA, 6)
            yield from _say(dom, line.strip() + b": child saw " + before + b" then " + after)
        return 0
    yield dom.write(abi.DATA, b"parent")
    pid = yield from c.fork(dom, COW_CHILD)
    if how in (b"both", b"wait"):
        yield dom.write(abi.DATA, b"PARENT")
    yield from c.wait(dom, pid)
    if how == b"both":
        yield from _say(dom, b"parent sees " + (yield dom.read(abi.DATA, 6)))
    return 0


def _vcs_domains(k) -> set:
    return {d for d, ds in k.domains.items() if ds.program == "vcs"}


def test_parent_and_child_each_see_their_own_writes_only():
    knx = KeyNIX()
    assert knx.fork == "cow"
    pid = knx.spawn("/bin/t-cow", ["t-cow", "both"])
    knx.run()
    knx.type("go\n")  # the keeper writes the line into the child's buffer page: a copy
    knx.run()
    lines = sorted(knx.tty().decode().splitlines())
    assert lines == ["go: child saw parent then child!", "parent sees PARENT"]
    assert knx.status(pid) == ("zombie", 0)


def test_the_plain_copy_gives_the_same_answers():
    knx = KeyNIX(fork="copy")
    knx.spawn("/bin/t-cow", ["t-cow", "both"])
    knx.run()
    knx.type("go\n")
    knx.run()
    assert sorted(knx.tty().decode().splitlines()) == [
        "go: child saw parent then child!",
        "parent sees PARENT",
    ]
    assert not _vcs_domains(knx.kernel)


def _copies(knx: KeyNIX, how: str) -> int:
    """Pages the virtual copy segments bought while ``t-cow how`` ran."""
    k = knx.kernel
    vcs: set = set()
    banks = {d for d, ds in k.domains.items() if ds.program == "spacebank"}
    before = len(k.log)
    knx.spawn("/bin/t-cow", ["t-cow", how])
    while k.step():
        vcs |= _vcs_domains(k)
    assert vcs, "a cow fork makes virtual copy segments"
    return _pages_copied(k.events().iloc[before:], vcs, banks)


@pytest.mark.parametrize(("how", "copied"), [("none", 0), ("one", 1)])
def test_only_written_pages_are_copied(how, copied):
    assert _copies(KeyNIX(), how) == copied


def test_exec_after_a_cow_fork_and_nothing_left_behind():
    knx = KeyNIX()
    k = knx.kernel
    seen: set = set()
    pid = knx.spawn("/bin/sh", ["sh", "-c", "echo one two | cat | cat"])
    while k.step():
        seen |= _vcs_domains(k)
    assert knx.tty() == b"one two\n" and knx.status(pid) == ("zombie", 0)
    assert len(seen) >= 4  # two forks: a VCS each for parent and child
    assert not _vcs_domains(k)  # every layer released, every VCS gone with its bank


def test_a_cow_child_cannot_reach_the_parents_pages():
    knx = KeyNIX()
    pid = knx.spawn("/bin/t-cow", ["t-cow", "wait"])
    knx.run()  # the child waits on the terminal; the parent wrote its copy and waits
    G = knx.kernel.capability_graph()
    procs = {p: (dom, kp) for p, dom, kp in processes(G, knx.con.target(knx.system))}
    (_, pkeeper), (child, _) = procs[pid], procs[pid + 1]
    pspace = register_target(G, pkeeper, KK_MEM)
    data = slot_target(G, pspace, abi.DATA // abi.PAGE)
    store = knx.kernel.store.objects
    assert store[data].read(0, 6) == b"PARENT"  # the parent's own copy
    reach = analysis.authority(analysis_view(knx, G), child)
    assert data not in set(reach.target)
    # what the child reaches of its parent's memory is the frozen original, read-only
    for page in (slot_target(G, pspace, n) for n in range(abi.SPACE_PAGES)):
        rows = reach[reach.target == page]
        assert not any("write" in r for r in rows.rights), page
    knx.type("go\n")
    knx.run()
    assert knx.status(pid) == ("zombie", 0)
