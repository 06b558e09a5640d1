"""The grammar of KeyNIX's ``sh -c``: lists of pipelines with redirections.

::

    script   := pipeline { ";" pipeline } [ ";" ]
    pipeline := command { "|" command }
    command  := { word | redirect }       (at least one word)
    redirect := ( "<" | ">" | ">>" ) word

Words are split at blanks; ``'…'`` and ``"…"`` quote (no escapes inside), and
``|``, ``;``, ``<``, ``>``, ``>>`` are operators wherever they stand, as in
``echo b>/tmp/x``. A command is ``(argv, redirections)``, a redirection
``(fd, path, flags)`` with the ``open`` flags it needs: ``<`` reads (fd 0),
``>`` creates and truncates (fd 1), ``>>`` creates and appends (fd 1). Pure
Python on bytes: :func:`parse` raises :class:`ShellSyntax` for bad input.

>>> parse(b"echo b > /tmp/x; sort < /tmp/x | wc -l")  # doctest: +NORMALIZE_WHITESPACE
[[([b'echo', b'b'], [(1, b'/tmp/x', 577)])],
 [([b'sort'], [(0, b'/tmp/x', 0)]), ([b'wc', b'-l'], [])]]
>>> parse(b"grep 'a b' f>>log")
[[([b'grep', b'a b', b'f'], [(1, b'log', 1089)])]]
"""

from __future__ import annotations

from keykos_lab.programs.keynix import abi

Redirect = tuple[int, bytes, int]
Command = tuple[list[bytes], list[Redirect]]

_BLANKS = b" \t\n\r"
_OPERATORS = (b">>", b"|", b";", b"<", b">")
_REDIRECTS = {
    b"<": (0, abi.O_RDONLY),
    b">": (1, abi.O_WRONLY | abi.O_CREAT | abi.O_TRUNC),
    b">>": (1, abi.O_WRONLY | abi.O_CREAT | abi.O_APPEND),
}


class ShellSyntax(ValueError):
    """A script ``sh`` cannot parse; the message says where."""


def tokens(text: bytes) -> list[tuple[bool, bytes]]:
    """``(is operator, text)`` tokens.

    >>> tokens(b'a"b c"d|e')
    [(False, b'ab cd'), (True, b'|'), (False, b'e')]
    """
    out: list[tuple[bool, bytes]] = []
    word: bytes | None = None
    i = 0
    while i < len(text):
        ch = text[i : i + 1]
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if ch in (b"'", b'"'):
            end = text.find(ch, i + 1)
            if end < 0:
                raise ShellSyntax(f"unterminated quote at {i}")
            word = (word or b"") + text[i + 1 : end]
            i = end + 1
            continue
        if op is not None or ch in _BLANKS:
            if word is not None:
                out.append((False, word))
                word = None
            if op is not None:
                out.append((True, op))
                i += len(op)
                continue
        else:
            word = (word or b"") + ch
        i += 1
    if word is not None:
        out.append((False, word))
    return out


def _command(toks: list[tuple[bool, bytes]]) -> Command:
    argv: list[bytes] = []
    redirects: list[Redirect] = []
    i = 0
    while i < len(toks):
        is_op, text = toks[i]
        if not is_op:
            argv.append(text)
            i += 1
            continue
        if i + 1 >= len(toks) or toks[i + 1][0]:
            raise ShellSyntax(f"{text.decode()} needs a file name")
        fd, flags = _REDIRECTS[text]
        redirects.append((fd, toks[i + 1][1], flags))
        i += 2
    if not argv:
        raise ShellSyntax("missing command")
    return argv, redirects


def _split(toks: list[tuple[bool, bytes]], op: bytes) -> list[list[tuple[bool, bytes]]]:
    parts: list[list[tuple[bool, bytes]]] = [[]]
    for tok in toks:
        if tok == (True, op):
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


def parse(text: bytes) -> list[list[Command]]:
    """The pipelines of a script, each a list of commands (``[]`` for a blank one)."""
    toks = tokens(text)
    lists = _split(toks, b";")
    if lists and not lists[-1]:
        lists.pop()  # a trailing ";"
    return [[_command(c) for c in _split(part, b"|")] for part in lists]
