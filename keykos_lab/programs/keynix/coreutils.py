"""More Unix to play with: ``ls``, ``wc``, ``grep``, ``sort`` and ``pwd``.

Each is ``main(dom, argv, forked)`` under :func:`.libc.unix_program`, linked in
``/bin`` at boot like every Unix program. They read the files named (relative
to the current directory, ``PWD``) or fd 0, write fd 1, and say what went
wrong on fd 2 as ``prog: name: ERRNO``; the exit status is 0, 1 (nothing
found, for ``grep``) or 2 (bad usage, a file missing). The line and word rules
are the pure functions below.

>>> from keykos_lab.system import KeyNIX
>>> knx = KeyNIX()
>>> knx.write_file("/tmp/f", "pear\\napple\\nfig tree\\n")
>>> _ = knx.spawn("/bin/sh", ["sh", "-c", "sort /tmp/f | grep -v fig; wc /tmp/f"])
>>> _ = knx.run(); knx.tty()
b'apple\\npear\\n3 4 20 /tmp/f\\n'
"""

from __future__ import annotations

from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix import libc as c
from keykos_lab.programs.keynix.fs import DIR


def lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, without their newlines (a last line may lack one).

    >>> lines(b"a\\nb"), lines(b"a\\n\\n"), lines(b"")
    ([b'a', b'b'], [b'a', b''], [])
    """
    parts = data.split(b"\n")
    return parts[:-1] if parts[-1] == b"" else parts


def counts(data: bytes) -> tuple[int, int, int]:
    """``(lines, words, bytes)`` as ``wc`` counts them: newlines, blank-separated words, bytes.

    >>> counts(b"one two\\nthree"), counts(b"")
    ((1, 3, 13), (0, 0, 0))
    """
    return data.count(b"\n"), len(data.split()), len(data)


def sort_lines(data: bytes, reverse: bool = False) -> bytes:
    """``sort``: the lines in bytewise order, each ending in a newline.

    >>> sort_lines(b"b\\nB\\na"), sort_lines(b"x\\ny\\n", reverse=True)
    (b'B\\na\\nb\\n', b'y\\nx\\n')
    """
    return b"".join(line + b"\n" for line in sorted(lines(data), reverse=reverse))


def options(argv: list[bytes], allowed: bytes) -> tuple[set[int], list[bytes], bytes]:
    """``(flags, operands, bad flag)``: single-letter flags before the operands
    (``-lw`` is ``-l -w``; ``--`` ends them; ``-`` alone is an operand).

    >>> options([b"-vc", b"x", b"-n"], b"vc")
    ({99, 118}, [b'x', b'-n'], b'')
    >>> options([b"-z"], b"vc")[2]
    b'z'
    """
    flags: set[int] = set()
    i = 0
    while i < len(argv) and argv[i].startswith(b"-") and argv[i] != b"-":
        if argv[i] == b"--":
            i += 1
            break
        for ch in argv[i][1:]:
            if ch not in allowed:
                return flags, [], bytes([ch])
            flags.add(ch)
        i += 1
    return flags, argv[i:], b""


def _say(dom, *parts: bytes | str):
    yield from c.write(dom, 2, b"".join(p.encode() if isinstance(p, str) else p for p in parts))


def _slurp(dom, prog: bytes, name: bytes | None):
    """``(ok, data)``: all of file ``name`` (or of fd 0 when None); a message if not ok."""
    fd = 0
    if name is not None and name != b"-":
        fd = yield from c.open_(dom, (yield from c.abspath(dom, name)))
        if fd < 0:
            yield from _say(dom, prog, b": ", name, f": {abi.errno_name(-fd)}\n")
            return False, b""
    rc, data = yield from c.read_all(dom, fd)
    if fd:
        yield from c.close(dom, fd)
    if rc < 0:
        yield from _say(dom, prog, b": ", name or b"-", f": {abi.errno_name(-rc)}\n")
        return False, b""
    return True, data


def _usage(dom, prog: bytes, bad: bytes, usage: str):
    yield from _say(dom, prog, b": unknown option -", bad, f"\nusage: {usage}\n")
    return 2


@c.unix_program("wc")
def wc(dom, argv, forked):
    """``wc [-lwc] [file...]``: lines, words and bytes (the ones asked for), per
    file and a total when there are several."""
    flags, names, bad = options(argv[1:], b"lwc")
    if bad:
        return (yield from _usage(dom, b"wc", bad, "wc [-lwc] [file...]"))
    show = [i for i, f in enumerate(b"lwc") if f in flags] or [0, 1, 2]
    status, total, out = 0, [0, 0, 0], []
    for name in names or [None]:
        ok, data = yield from _slurp(dom, b"wc", name)
        if not ok:
            status = 2
            continue
        n = counts(data)
        total = [t + x for t, x in zip(total, n, strict=True)]
        out.append(" ".join(str(n[i]) for i in show).encode() + (b" " + name if name else b""))
    if len(names) > 1:
        out.append(" ".join(str(total[i]) for i in show).encode() + b" total")
    if out:
        yield from c.write_all(dom, 1, b"\n".join(out) + b"\n")
    return status


@c.unix_program("grep")
def grep(dom, argv, forked):
    """``grep [-vc] string [file...]``: the lines holding ``string`` (a fixed
    string); ``-v`` the others, ``-c`` only how many. Status 0 if a line was
    selected, 1 if none, 2 on an error."""
    flags, rest, bad = options(argv[1:], b"vc")
    if bad or not rest:
        yield from _say(dom, b"usage: grep [-vc] string [file...]\n")
        return 2
    pattern, names = rest[0], rest[1:]
    invert, count = ord("v") in flags, ord("c") in flags
    status, found = 0, False
    for name in names or [None]:
        ok, data = yield from _slurp(dom, b"grep", name)
        if not ok:
            status = 2
            continue
        chosen = [line for line in lines(data) if (pattern in line) != invert]
        found = found or bool(chosen)
        prefix = name + b":" if len(names) > 1 and name else b""
        if count:
            yield from c.write_all(dom, 1, prefix + str(len(chosen)).encode() + b"\n")
        elif chosen:
            yield from c.write_all(dom, 1, b"".join(prefix + line + b"\n" for line in chosen))
    return status or (0 if found else 1)


@c.unix_program("sort")
def sort(dom, argv, forked):
    """``sort [-r] [file...]``: all the lines, bytewise (``-r``: reversed)."""
    flags, names, bad = options(argv[1:], b"r")
    if bad:
        return (yield from _usage(dom, b"sort", bad, "sort [-r] [file...]"))
    data, status = [], 0
    for name in names or [None]:
        ok, got = yield from _slurp(dom, b"sort", name)
        if not ok:
            status = 2
        data.extend(lines(got))
    out = b"".join(line + b"\n" for line in sorted(data, reverse=ord("r") in flags))
    if out:
        yield from c.write_all(dom, 1, out)
    return status


@c.unix_program("ls")
def ls(dom, argv, forked):
    """``ls [-F] [path...]``: the names in each directory, sorted (``-F``: a ``/``
    after a directory's); a file's own name; ``.`` by default."""
    flags, names, bad = options(argv[1:], b"F")
    if bad:
        return (yield from _usage(dom, b"ls", bad, "ls [-F] [path...]"))
    status, blocks = 0, []
    for name in names or [b"."]:
        rc, entries = yield from c.listdir(dom, name)
        fd = (
            (yield from c.open_(dom, (yield from c.abspath(dom, name))))
            if rc == -abi.ENOTDIR
            else -1
        )
        if fd >= 0:  # a file: its own name
            yield from c.close(dom, fd)
            blocks.append(name + b"\n")
            continue
        if rc < 0:
            yield from _say(dom, b"ls: ", name, f": {abi.errno_name(-rc)}\n")
            status = 2
            continue
        mark = ord("F") in flags
        listed = b"".join(
            n + (b"/" if mark and kind == DIR else b"") + b"\n"
            for kind, n in sorted(entries, key=lambda e: e[1])
        )
        blocks.append((name + b":\n" if len(names) > 1 else b"") + listed)
    if blocks:
        yield from c.write_all(dom, 1, b"\n".join(blocks))
    return status


@c.unix_program("pwd")
def pwd(dom, argv, forked):
    """``pwd``: the current directory."""
    yield from c.write_all(dom, 1, (yield from c.getcwd(dom)) + b"\n")
    return 0


@c.unix_program("kill")
def kill(dom, argv, forked):
    """``kill [-SIG] pid...``: send SIG (a number, default 15, SIGTERM) to each pid; a bad
    argument or a refused pid is reported on fd 2, and the status is 1."""
    args, sig, status = list(argv[1:]), abi.SIGTERM, 0
    if args and args[0].startswith(b"-"):
        flag = args.pop(0)[1:]
        sig = int(flag) if flag.isdigit() else -1
    if not args or sig < 0:
        yield from _say(dom, b"usage: kill [-SIG] pid...\n")
        return 1
    for arg in args:
        rc = (yield from c.kill(dom, int(arg), sig)) if arg.isdigit() else -abi.ESRCH
        if rc < 0:
            yield from _say(dom, b"kill: " + arg + b": " + abi.errno_name(-rc).encode() + b"\n")
            status = 1
    return status
