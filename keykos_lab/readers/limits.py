"""What every reader refuses to do for a hostile file, and how it opens files.

The readers take specifications from anywhere, so each enforces limits **per file** (or,
for a CML folder, per folder), never per construct: a file that stays under every limit
here is read in time and memory proportional to its size. A file past a limit raises
:class:`~keykos_lab.readers.errors.FormatError` naming the file and the line where the
limit was crossed, and nothing partially read is returned.

The limits are module attributes, read at each use, so a caller with a genuinely larger
system can raise them (``limits.MAX_EDGES = ...``) before reading it. The real
specifications in the test data stay far below every one of them (the largest, capDL's
``example-ia32``, has a few hundred vertices).

============================  ===================================================
``MAX_FILE_BYTES``            bytes read from one file (more: refused, not read)
``MAX_NUMBER_CHARS``          characters of one numeric literal (``int('9' * 10**6)``
                              is slow, and past 4300 digits Python refuses it)
``MAX_NESTING``               nesting depth: capDL covers, CDT trees, chains of cap
                              copies; XML elements; JSON5 objects and arrays
``MAX_INCLUDE_DEPTH``         CML ``include`` chains (a shard including a shard ...)
``MAX_TOKENS``                words and punctuation in one capDL file
``MAX_VERTICES``              vertices a file (or a CML folder) produces
``MAX_EDGES``                 edges a file (or a CML folder) produces, derived ones
                              included (a thread's mapped frames, routed capabilities)
``MAX_NAME_CHARS``            characters of all the vertex names a file (or a CML
                              folder) produces: a long name is cheap in a file, but an
                              array of it (capDL) or a tree of it (CML paths) is not
``MAX_ECHO``                  characters of the input an error message quotes
============================  ===================================================

Files are opened without blocking and must be regular files: a FIFO, a device or a
directory is refused at once (:func:`read_file`), and at most ``MAX_FILE_BYTES + 1``
bytes are ever read.

>>> shown("x" * 200)[:20], len(shown("x" * 200)) < 80
("'xxxxxxxxxxxxxxxxxxx", True)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from keykos_lab.readers.errors import FormatError

MAX_FILE_BYTES = 16 << 20
MAX_NUMBER_CHARS = 64
MAX_NESTING = 64
MAX_INCLUDE_DEPTH = 16
MAX_TOKENS = 1 << 22
MAX_VERTICES = 1 << 18
MAX_EDGES = 1 << 20
MAX_NAME_CHARS = 1 << 25
MAX_ECHO = 60

__all__ = [
    "MAX_ECHO",
    "MAX_EDGES",
    "MAX_FILE_BYTES",
    "MAX_INCLUDE_DEPTH",
    "MAX_NAME_CHARS",
    "MAX_NESTING",
    "MAX_NUMBER_CHARS",
    "MAX_TOKENS",
    "MAX_VERTICES",
    "Budget",
    "decode_utf8",
    "read_file",
    "reading",
    "shown",
]


def shown(text: object) -> str:
    """``repr`` of a piece of input, cut to ``MAX_ECHO`` characters for messages.

    >>> shown("abc"), shown(12)
    ("'abc'", '12')
    """
    r = repr(text)
    return r if len(r) <= MAX_ECHO else r[: MAX_ECHO - 5] + "…" + r[-4:]


def read_file(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> bytes:
    """The bytes of a regular file, opened without blocking, at most ``MAX_FILE_BYTES``.

    A FIFO, socket, device or directory is refused before anything is read (opening a FIFO
    for reading with ``O_NONBLOCK`` returns at once, and the type is checked on the open
    descriptor, so there is no race with a renamed file). With ``follow_symlinks=False`` a
    symbolic link is refused too. Errors: :class:`FormatError` with no line (the file as a
    whole) or, past the size limit, the line where the limit falls.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FormatError(path, None, f"cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(mode)
                else "a FIFO"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "not a regular file"
            )
            raise FormatError(path, None, f"{kind}, not a regular file: refused")
        limit = MAX_FILE_BYTES
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FormatError(path, None, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FormatError(
            path,
            data.count(b"\n", 0, limit) + 1,
            f"larger than MAX_FILE_BYTES = {limit:,} bytes: refused",
        )
    return data


def decode_utf8(data: bytes, path: str | os.PathLike[str]) -> str:
    """``data`` as UTF-8 text; an invalid byte is a :class:`FormatError` on its line.

    >>> decode_utf8(b"a\\n\\xff", "f")
    Traceback (most recent call last):
    ...
    keykos_lab.readers.errors.FormatError: f:2: not UTF-8 text (byte 0xff)
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FormatError(path, line, f"not UTF-8 text (byte {data[exc.start]:#04x})") from None


@contextmanager
def reading(path: str | os.PathLike[str], line: Callable[[], int | None]) -> Iterator[None]:
    """Only :class:`FormatError` leaves this block: anything else a hostile input could still
    provoke (``RecursionError``, ``MemoryError``, ``ValueError``, ``LookupError``,
    ``UnicodeError``, ``ArithmeticError``) becomes one, on the line ``line()`` gives.

    The readers check every limit explicitly; this is the net under those checks.

    >>> with reading("f", lambda: 3):
    ...     int("x")
    Traceback (most recent call last):
    ...
    keykos_lab.readers.errors.FormatError: f:3: cannot read this input (ValueError)
    """
    try:
        yield
    except FormatError:
        raise
    except RecursionError:
        raise FormatError(path, _safe(line), "nested too deeply to read") from None
    except MemoryError:
        raise FormatError(path, _safe(line), "too large to read in memory") from None
    except (ValueError, LookupError, ArithmeticError) as exc:  # UnicodeError is a ValueError
        raise FormatError(
            path, _safe(line), f"cannot read this input ({type(exc).__name__})"
        ) from None


def _safe(line: Callable[[], int | None]) -> int | None:
    try:
        return line()
    except Exception:  # the net must not throw
        return None


class Budget:
    """Counts the vertices and edges one file produces against ``MAX_VERTICES`` and
    ``MAX_EDGES``; :meth:`vertices` and :meth:`edges` raise :class:`FormatError` *before*
    the caller allocates them.

    >>> b = Budget("f")
    >>> b.edges(3, 1)
    >>> b.n_edges
    3
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self.n_vertices = 0
        self.n_edges = 0
        self.n_chars = 0

    def vertices(
        self, n: int, line: int | None, chars: int = 0, path: str | os.PathLike[str] | None = None
    ) -> None:
        """``n`` more vertices whose names have ``chars`` characters in all; an error
        names ``path`` (default: the file the budget is for)."""
        self.n_vertices += n
        self.n_chars += chars
        if self.n_vertices > MAX_VERTICES:
            raise FormatError(
                path or self.path,
                line,
                f"more than MAX_VERTICES = {MAX_VERTICES:,} vertices in one file: refused",
            )
        if self.n_chars > MAX_NAME_CHARS:
            raise FormatError(
                path or self.path,
                line,
                f"more than MAX_NAME_CHARS = "
                f"{MAX_NAME_CHARS:,} characters of vertex names: refused",
            )

    def edges(self, n: int, line: int | None, path: str | os.PathLike[str] | None = None) -> None:
        self.n_edges += n
        if self.n_edges > MAX_EDGES:
            raise FormatError(
                path or self.path,
                line,
                f"more than MAX_EDGES = {MAX_EDGES:,} edges in one file: refused",
            )

    def left(self) -> int:
        """Edges still allowed (a bound for a selection before it is expanded)."""
        return max(0, MAX_EDGES - self.n_edges)
