"""KeyNIX: every system call, the three primitives, pipes, bad input → errno."""

from __future__ import annotations

import pytest

from keykos_lab.keynix_scenarios import process_creation
from keykos_lab.programs.keynix import KeyNIX, KeyNIXError, abi
from keykos_lab.programs.keynix import libc as c


@c.unix_program("t-syscalls")
def t_syscalls(dom, argv, forked):
    """Runs each call and writes ``name=result`` lines to fd 1."""
    out = []

    def say(name, value):
        out.append(f"{name}={value}")

    say("getpid", (yield from c.getpid(dom)))
    fd = yield from c.open_(dom, "/tmp/f", abi.O_CREAT | abi.O_RDWR)
    say("open", fd)
    say("write", (yield from c.write(dom, fd, b"abcdef")))
    say("close", (yield from c.close(dom, fd)))
    fd = yield from c.open_(dom, "/tmp/f")
    d = yield from c.dup(dom, fd)
    say("dup", d)
    _, a = yield from c.read(dom, fd, 3)
    _, b = yield from c.read(dom, d, 3)          # dup shares the offset
    say("read", (a + b).decode())
    r, w = yield from c.pipe(dom)
    say("pipe", f"{r},{w}")
    yield from c.write(dom, w, b"through the pipe")
    _, p = yield from c.read(dom, r)
    say("piperead", p.decode())
    say("env", (yield from c.getenv(dom, "HOME")).decode())
    yield from c.setenv(dom, "X", "1")
    say("setenv", (yield from c.getenv(dom, "X")).decode())
    # bad input: errno, never a traceback
    say("ebadf", (yield from c.close(dom, 12)))
    say("enoent", (yield from c.open_(dom, "/nope")))
    say("enametoolong", (yield from c.open_(dom, "/" + "x" * 100)))
    say("enosys", (yield from c.syscall(dom, 99)))
    say("efault", (yield from c.syscall(dom, abi.SYS_READ, fd, 0, 10)))
    say("echild", (yield from c.wait(dom))[0])
    say("enoexec", (yield from c.exec_(dom, "/tmp/f", ["f"])))
    say("eisdir", (yield from c.open_(dom, "/bin")))
    say("eacces", (yield from c.open_(dom, "/bin/cat", abi.O_WRONLY)))
    say("einval", (yield from c.syscall(dom, abi.SYS_READ, 1)))
    yield from c.write(dom, 1, "\n".join(out) + "\n")
    return 3


@pytest.fixture(scope="module")
def syscalls():
    knx = KeyNIX()
    pid = knx.spawn("/bin/t-syscalls", ["t-syscalls"], env={"HOME": "/home"})
    knx.run()
    lines = dict(line.split("=", 1) for line in knx.tty().decode().splitlines())
    return knx, pid, lines


def test_each_system_call(syscalls):
    knx, pid, r = syscalls
    assert r["getpid"] == str(pid)
    assert r["open"] == "3" and r["write"] == "6" and r["close"] == "0"
    assert r["dup"] == "4" and r["read"] == "abcdef"
    assert r["pipe"] == "5,6" and r["piperead"] == "through the pipe"
    assert r["env"] == "/home" and r["setenv"] == "1"
    assert knx.read_file("/tmp/f") == b"abcdef"
    assert knx.status(pid) == ("zombie", 3)                       # exit status


def test_bad_input_gives_errno(syscalls):
    _, _, r = syscalls
    for name, err in (("ebadf", abi.EBADF), ("enoent", abi.ENOENT),
                      ("enametoolong", abi.ENAMETOOLONG), ("enosys", abi.ENOSYS),
                      ("efault", abi.EFAULT), ("echild", abi.ECHILD), ("enoexec", abi.ENOEXEC),
                      ("eisdir", abi.EISDIR), ("eacces", abi.EACCES), ("einval", abi.EINVAL)):
        assert r[name] == str(-err), name


def test_fork_exec_wait_and_pipes_between_processes():
    knx = KeyNIX()
    pid = knx.spawn("/bin/sh", ["sh", "-c", "echo one two | cat | cat"])
    knx.run()
    assert knx.tty() == b"one two\n"
    assert knx.status(pid) == ("zombie", 0)


def test_cat_reads_the_terminal_until_eof():
    knx = KeyNIX()
    pid = knx.spawn("/bin/cat", ["cat"])
    knx.run()
    assert knx.status(pid)[0] == "running"                        # blocked in read
    knx.type("typed\n")
    knx.run()
    knx.eof()
    knx.run()
    assert knx.tty() == b"typed\n" and knx.status(pid) == ("zombie", 0)


def test_cat_of_missing_file_reports_errno():
    knx = KeyNIX()
    pid = knx.spawn("/bin/cat", ["cat", "/home/none"])
    knx.run()
    assert knx.tty() == b"cat: /home/none: ENOENT\n" and knx.status(pid) == ("zombie", 1)


def test_python_api_misuse_is_a_clear_exception():
    knx = KeyNIX()
    with pytest.raises(KeyNIXError, match="ENOENT"):
        knx.spawn("/bin/nothing", ["nothing"])
    with pytest.raises(KeyNIXError, match="ENOENT"):
        knx.read_file("relative/path")


@pytest.fixture(scope="module")
def table():
    return process_creation()


def test_process_creation_table(table):
    assert list(table.index) == ["fork", "spawn", "empty child"]
    f, s, e = (table.loc[p] for p in table.index)
    # fork: everything (the fd, the memory copy, the root directory)
    assert f.secret_in_memory and f.secret_by_keys and f.child_report == "reader: fd3,open"
    # spawn: what was listed plus the inherited root directory
    assert not s.secret_in_memory and s.secret_by_keys and s.child_report == "reader: open"
    # empty child: exactly what was installed
    assert not e.reaches_secret and e.child_report == "reader: nothing"
    assert f.objects_reachable > s.objects_reachable > e.objects_reachable
    assert f.keys_held > s.keys_held > e.keys_held
    assert (table.pages_bought > 0).all() and (table.invocations > 0).all()
