"""The one exception every reader raises on bad input."""

from __future__ import annotations


class FormatError(ValueError):
    """A specification file could not be read: ``path``, ``line`` (1-based, or None)
    and a readable ``reason``.

    >>> str(FormatError("a.cdl", 3, "unknown object type 'foo'"))
    "a.cdl:3: unknown object type 'foo'"
    """

    def __init__(self, path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")
