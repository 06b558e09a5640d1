"""Unix programs for KeyNIX: ``echo``, ``cat``, ``sh``, ``secretreader`` and ``probe``.

Each is ``main(dom, argv, forked)`` under :func:`.libc.unix_program`; the file
``/bin/<name>`` holds its image. ``sh -c "cmd < in | cmd > out; cmd >> out"``
runs each pipeline the classic way: ``pipe``, ``fork``, ``dup``/``close`` in
the child, ``close`` and ``open`` for a redirection (the lowest free fd is the
one just closed), ``exec``, then ``wait`` for each. The fork child resumes at
``CHILD`` with the copied memory, where the parent left the command to run, its
redirections and the pipe ends (the data page, ``abi.DATA``). The other Unix
commands (``ls``, ``wc``, ``grep``, ``sort``, ``pwd``) are in :mod:`.coreutils`.

>>> from keykos_lab.system import KeyNIX
>>> knx = KeyNIX()
>>> _ = knx.spawn("/bin/sh", ["sh", "-c", "echo b > /tmp/x; echo a >> /tmp/x; cat < /tmp/x"])
>>> _ = knx.run(); knx.tty()
b'b\\na\\n'

"""

from __future__ import annotations

import json

from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix import libc as c
from keykos_lab.programs.keynix.shparse import ShellSyntax, parse

CHILD = 7  # the fork label of sh's children
PROBE_CHILD = 8


@c.unix_program("echo")
def echo(dom, argv, forked):
    rc = yield from c.write(dom, 1, b" ".join(argv[1:]) + b"\n")
    return 0 if rc >= 0 else 1


@c.unix_program("cat")
def cat(dom, argv, forked):
    """Copy the files named (or fd 0) to fd 1."""
    for name in argv[1:] or [None]:
        fd = 0 if name is None else (yield from c.open_(dom, (yield from c.abspath(dom, name))))
        if fd < 0:
            yield from c.write(
                dom, 2, b"cat: " + name + b": " + abi.errno_name(-fd).encode() + b"\n"
            )
            return 1
        while True:
            n, data = yield from c.read(dom, fd)
            if n <= 0:
                break
            yield from c.write_all(dom, 1, data)
        if name is not None:
            yield from c.close(dom, fd)
    return 0


def _save(dom, state: dict):
    """Leave ``state`` in the data page (the fork child finds it in its copy);
    False if it does not fit."""
    raw = json.dumps(state).encode()
    if len(raw) > abi.PAGE:
        return False
    yield dom.write(abi.DATA, raw.ljust(abi.PAGE, b"\0"))
    return True


def _load(dom):
    raw = yield dom.read(abi.DATA, abi.PAGE)
    return json.loads(raw.rstrip(b"\0").decode() or "{}")


def _say(dom, *parts: bytes | str):
    yield from c.write(dom, 2, b"".join(p.encode() if isinstance(p, str) else p for p in parts))


def _text(b: bytes) -> str:  # bytes through JSON, losslessly
    return b.decode("latin-1")


def _redirect(dom, fd: int, path: bytes, flags: int):
    """Make ``fd`` the file ``path`` opened with ``flags``: 0, or 1 after a message."""
    yield from c.close(dom, fd)
    got = yield from c.open_(dom, (yield from c.abspath(dom, path)), flags)
    if got != fd:
        if got >= 0:
            yield from c.close(dom, got)
        why = abi.errno_name(-got) if got < 0 else "EBADF"
        yield from _say(dom, b"sh: ", path, f": {why}\n")
        return 1
    return 0


def _builtin(dom, argv: list[bytes]):
    """``cd`` and ``exit`` run in the shell itself: ``(done, status)``."""
    if argv[0] == b"cd":
        where = argv[1] if len(argv) > 1 else ((yield from c.getenv(dom, b"HOME")) or b"/")
        rc = yield from c.chdir(dom, where)
        if rc < 0:
            yield from _say(dom, b"sh: cd: ", where, f": {abi.errno_name(-rc)}\n")
        return True, 1 if rc < 0 else 0
    if argv[0] == b"exit":
        return True, int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 0
    return False, 0


def _child(dom):
    """A fork child of ``sh``: its pipe ends, its redirections, then exec."""
    state = yield from _load(dom)
    i, pipes = state["i"], state["pipes"]
    argv = [w.encode("latin-1") for w in state["argv"]]
    if i > 0:
        yield from c.close(dom, 0)
        yield from c.dup(dom, pipes[i - 1][0])
    if i < len(pipes):
        yield from c.close(dom, 1)
        yield from c.dup(dom, pipes[i][1])
    for r, w in pipes:
        yield from c.close(dom, r)
        yield from c.close(dom, w)
    for fd, path, flags in state["redirects"]:
        if (yield from _redirect(dom, fd, path.encode("latin-1"), flags)):
            return 1
    done, status = yield from _builtin(dom, argv)
    if done:
        return status
    path = (yield from c.abspath(dom, argv[0])) if b"/" in argv[0] else b"/bin/" + argv[0]
    rc = yield from c.exec_(dom, path, argv)
    yield from _say(dom, b"sh: ", argv[0], f": {abi.errno_name(-rc)}\n")
    return 127


def _pipeline(dom, commands):
    """Run one pipeline: pipes, a fork per command, wait; the last command's status."""
    if len(commands) == 1 and not commands[0][1]:
        done, status = yield from _builtin(dom, commands[0][0])
        if done:
            return status
    pipes: list[tuple[int, int]] = []
    status = 0
    for _ in commands[1:]:
        r, w = yield from c.pipe(dom)
        if r < 0:
            yield from _say(dom, f"sh: pipe: {abi.errno_name(-r)}\n")
            status = 1
            break
        pipes.append((r, w))
    pids = []
    for i, (argv, redirects) in enumerate(commands if not status else []):
        state = {
            "i": i,
            "pipes": pipes,
            "argv": [_text(w) for w in argv],
            "redirects": [(fd, _text(path), flags) for fd, path, flags in redirects],
        }
        if not (yield from _save(dom, state)):
            yield from _say(dom, b"sh: command too long\n")
            status = 1
            break
        pid = yield from c.fork(dom, CHILD)
        if pid < 0:
            yield from _say(dom, f"sh: fork: {abi.errno_name(-pid)}\n")
            status = 1
            break
        pids.append(pid)
    for r, w in pipes:
        yield from c.close(dom, r)
        yield from c.close(dom, w)
    failed = status
    for pid in pids:
        _, code = yield from c.wait(dom, pid)
        if pid == pids[-1] and not failed:
            status = abi.shell_status(code)
    return status


@c.unix_program("sh")
def sh(dom, argv, forked):
    """``sh -c "a < f | b > g; c >> g"``: pipelines of commands found in ``/bin``
    (or at a path), with redirections, one after another (:mod:`.shparse`);
    ``cd`` and ``exit`` are built in. The status is the last command's."""
    if forked == CHILD:
        return (yield from _child(dom))
    if len(argv) < 3 or argv[1] != b"-c":
        yield from c.write(dom, 2, b"usage: sh -c 'cmd | cmd'\n")
        return 2
    try:
        script = parse(argv[2])
    except ShellSyntax as e:
        yield from _say(dom, f"sh: syntax error: {e}\n")
        return 2
    status = 0
    for commands in script:
        status = yield from _pipeline(dom, commands)
        if commands[0][0][0] == b"exit" and len(commands) == 1:
            break
    return status


@c.unix_program("secretreader")
def secretreader(dom, argv, forked):
    """Waits for a line on fd 0, then tries every way to the secret and reports
    (one line on fd 1): through an inherited fd 3, through its own memory (the
    data page), and by ``open(argv[1])``."""
    yield from c.read(dom, 0, 64)
    found = []
    n, data = yield from c.read(dom, 3, 256)
    if n > 0:
        found.append("fd3")
    mem = yield dom.read(abi.DATA, abi.PAGE)
    if b"SECRET" in mem:
        found.append("memory")
    if len(argv) > 1:
        fd = yield from c.open_(dom, argv[1])
        if fd >= 0:
            found.append("open")
    yield from c.write(dom, 1, ("reader: " + (",".join(found) or "nothing") + "\n").encode())
    return 0


@c.unix_program("probe")
def probe(dom, argv, forked):
    """The workload of ``process_creation``: hold a secret (fd 3 and the data
    page), then make one child running ``secretreader`` with the primitive
    named in argv[1] (``fork``, ``spawn`` or ``empty``), passing stdin/stdout."""
    secret = argv[2] if len(argv) > 2 else b"/home/secret"
    if forked == PROBE_CHILD:
        yield from c.read(dom, 0, 64)  # the clone waits, as it is, to be measured
        yield from c.exec_(dom, b"/bin/secretreader", [b"secretreader", secret])
        return 127
    yield from c.open_(dom, secret)  # fd 3: held, not meant for the child
    fd = yield from c.open_(dom, secret)
    _, data = yield from c.read(dom, fd)
    yield from c.close(dom, fd)
    yield dom.write(abi.DATA, data)  # and a copy in memory
    how = argv[1]
    if how == b"fork":
        pid = yield from c.fork(dom, PROBE_CHILD)
    elif how == b"spawn":
        pid = yield from c.spawn(
            dom, b"/bin/secretreader", [b"secretreader", secret], {0: 0, 1: 1, 2: 2}
        )
    else:
        pid = yield from c.create(dom)
        for n in (0, 1, 2):
            yield from c.install_fd(dom, pid, n, n)
        yield from c.install_program(dom, pid, b"/bin/secretreader")
        yield from c.start(dom, pid, [b"secretreader", secret])
    _, status = yield from c.wait(dom, pid)
    return status
