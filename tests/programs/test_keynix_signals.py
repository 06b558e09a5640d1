"""KeyNIX signals: kill (permission by euid), default actions, SIGPIPE, bad arguments."""

from __future__ import annotations

import pytest

from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix import libc as c
from keykos_lab.system.keynix import KeyNIX


@c.unix_program("t-sigpipe")
def t_sigpipe(dom, argv, forked):
    """Write to a pipe whose read end is closed: SIGPIPE ends me."""
    r, w = yield from c.pipe(dom)
    yield from c.close(dom, r)
    yield from c.write(dom, w, b"nobody reads this")
    return 3  # not reached


@c.unix_program("t-sleep")
def t_sleep(dom, argv, forked):
    """Wait for ever: read a pipe whose write end I hold (the terminal stays free)."""
    r, _ = yield from c.pipe(dom)
    yield from c.read(dom, r)
    return 3  # not reached


@c.unix_program("t-killself")
def t_killself(dom, argv, forked):
    yield from c.kill(dom, (yield from c.getpid(dom)), abi.SIGTERM)
    return 3  # not reached


@c.unix_program("t-killchild")
def t_killchild(dom, argv, forked):
    """Spawn ``cat`` (it waits on the tty), kill it, and report what ``wait`` says."""
    pid = yield from c.spawn(dom, b"/bin/cat", [b"cat"], {0: 0, 1: 1})
    yield from c.kill(dom, pid, abi.SIGKILL)
    _, status = yield from c.wait(dom, pid)
    line = f"signaled={abi.wifsignaled(status)} sig={abi.wtermsig(status)}\n"
    yield from c.write(dom, 1, line)
    return 0


def test_kill_ends_a_process_and_wait_reports_the_signal():
    knx = KeyNIX()
    pid = knx.spawn("/bin/t-killchild", ["t-killchild"])
    knx.run()
    assert knx.tty() == b"signaled=True sig=9\n" and knx.status(pid) == ("zombie", 0)


def test_kill_command_and_permission_by_euid():
    knx = KeyNIX()
    mine = knx.spawn("/bin/t-sleep", ["t-sleep"], euid=100)
    theirs = knx.spawn("/bin/t-sleep", ["t-sleep"], euid=200)
    knx.run()
    k = knx.spawn("/bin/kill", ["kill", "-9", str(theirs), str(mine)], euid=100)
    knx.run()
    assert knx.tty() == f"kill: {theirs}: EPERM\n".encode()
    assert knx.status(k) == ("zombie", abi.exited(1))
    assert knx.status(mine) == ("zombie", abi.signaled(abi.SIGKILL))
    assert knx.status(theirs)[0] == "running"
    root = knx.spawn("/bin/kill", ["kill", str(theirs)], euid=0)  # root may; SIGTERM
    knx.run()
    assert knx.status(root) == ("zombie", 0)
    assert knx.status(theirs) == ("zombie", abi.signaled(abi.SIGTERM))


def test_sigchld_is_ignored_by_default_and_signal_0_only_checks():
    knx = KeyNIX()
    cat = knx.spawn("/bin/cat", ["cat"])
    knx.run()
    for sig in (abi.SIGCHLD, 0):
        k = knx.spawn("/bin/kill", ["kill", f"-{sig}", str(cat)])
        knx.run()
        assert knx.status(k) == ("zombie", 0)
    assert knx.status(cat)[0] == "running"


def test_sigpipe_ends_a_writer_with_no_reader():
    knx = KeyNIX()
    pid = knx.spawn("/bin/t-sigpipe", ["t-sigpipe"])
    knx.run()
    assert knx.status(pid) == ("zombie", abi.signaled(abi.SIGPIPE))


def test_kill_yourself():
    knx = KeyNIX()
    pid = knx.spawn("/bin/t-killself", ["t-killself"])
    knx.run()
    assert knx.status(pid) == ("zombie", abi.signaled(abi.SIGTERM))


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (["kill", "-9", "0"], "ESRCH"),
        (["kill", "-9", "999"], "ESRCH"),
        (["kill", "-9", "77"], "ESRCH"),  # a free pid
        (["kill", "-99", "1"], "EINVAL"),
        (["kill", "-9", "1"], "EPERM"),  # pid 1, another user's
    ],
)
def test_hostile_arguments_give_errno(argv, err):
    knx = KeyNIX()
    first = knx.spawn("/bin/t-sleep", ["t-sleep"], euid=300)  # pid 1
    knx.run()
    k = knx.spawn("/bin/kill", argv)
    knx.run()
    assert knx.tty() == f"kill: {argv[-1]}: {err}\n".encode()
    assert knx.status(k) == ("zombie", abi.exited(1))
    assert knx.status(first)[0] == "running"
    knx.spawn("/bin/echo", ["echo", "still served"])  # the system domain still answers
    knx.run()
    assert knx.tty().endswith(b"still served\n")
