"""Unix programs for KeyNIX: ``echo``, ``cat``, ``sh``, ``secretreader`` and ``probe``.

Each is ``main(dom, argv, forked)`` under :func:`.libc.unix_program`; the file
``/bin/<name>`` holds its image. ``sh -c "cmd | cmd"`` runs a pipeline the
classic way: ``pipe``, ``fork``, ``dup``/``close`` in the child, ``exec``,
then ``wait`` for each. The fork child resumes at ``CHILD`` with the copied
memory, where the parent left the command to run and its pipe ends (the data
page, ``abi.DATA``).
"""

from __future__ import annotations

import json

from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix import libc as c

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
        fd = 0 if name is None else (yield from c.open_(dom, name))
        if fd < 0:
            yield from c.write(
                dom, 2, b"cat: " + name + b": " + abi.errno_name(-fd).encode() + b"\n"
            )
            return 1
        while True:
            n, data = yield from c.read(dom, fd)
            if n <= 0:
                break
            yield from c.write(dom, 1, data)
        if name is not None:
            yield from c.close(dom, fd)
    return 0


def _save(dom, state: dict):
    yield dom.write(abi.DATA, json.dumps(state).encode().ljust(256, b" "))


def _load(dom) -> dict:
    raw = yield dom.read(abi.DATA, abi.PAGE)
    return json.loads(raw.rstrip(b"\0").decode() or "{}")


@c.unix_program("sh")
def sh(dom, argv, forked):
    """``sh -c "a b | c d"``: a pipeline of commands found in ``/bin``."""
    if forked == CHILD:
        state = yield from _load(dom)
        i, words, pipes = state["i"], state["cmds"][state["i"]], state["pipes"]
        if i > 0:
            yield from c.close(dom, 0)
            yield from c.dup(dom, pipes[i - 1][0])
        if i < len(pipes):
            yield from c.close(dom, 1)
            yield from c.dup(dom, pipes[i][1])
        for r, w in pipes:
            yield from c.close(dom, r)
            yield from c.close(dom, w)
        rc = yield from c.exec_(dom, b"/bin/" + words[0].encode(), [w.encode() for w in words])
        yield from c.write(dom, 2, f"sh: {words[0]}: {abi.errno_name(-rc)}\n")
        return 127
    if len(argv) < 3 or argv[1] != b"-c":
        yield from c.write(dom, 2, b"usage: sh -c 'cmd | cmd'\n")
        return 2
    cmds = [part.split() for part in argv[2].decode().split("|")]
    if any(not words for words in cmds):
        yield from c.write(dom, 2, b"sh: syntax error\n")
        return 2
    pipes = []
    for _ in cmds[1:]:
        r, w = yield from c.pipe(dom)
        pipes.append((r, w))
    pids = []
    for i in range(len(cmds)):
        yield from _save(dom, {"i": i, "cmds": cmds, "pipes": pipes})
        pid = yield from c.fork(dom, CHILD)
        pids.append(pid)
    for r, w in pipes:
        yield from c.close(dom, r)
        yield from c.close(dom, w)
    status = 0
    for _ in pids:
        _, status = yield from c.wait(dom)
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
