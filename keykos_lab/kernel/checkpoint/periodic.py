"""Periodic checkpoints, as KeyKOS took them: every so many ticks, the newest kept.

:func:`checkpoint_every` makes the kernel write a checkpoint into a folder after the
first input from outside (a console call, a ``run``, a step) that ends at least
``ticks`` ticks after the last one, mid-flight or not (:func:`.save.save`: a
snapshot at quiescence, a checkpoint by replay otherwise), and keeps the newest
``keep``. Each file is written whole to a temporary file and renamed into place,
and older ones are removed only after the new one is in place, so a crash at any
moment — the writer killed while encoding, writing, syncing, renaming or pruning —
leaves the newest complete checkpoint readable: :func:`latest` finds it, checking
every candidate's length and checksum, and skipping what a crash left half-made.

>>> import tempfile
>>> from keykos_lab.kernel.core import Kernel
>>> k = Kernel(); folder = tempfile.mkdtemp()
>>> every = checkpoint_every(k, 1, folder, keep=2)
>>> for i in range(4):
...     _ = k.console.call(k.console.dkc, 0, data=bytes([0, 0, 0, 0, 0, i]))
>>> len(checkpoints(folder)), latest(folder) == checkpoints(folder)[-1]
(2, True)
>>> every.stop()
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from keykos_lab.kernel.errors import CheckpointError

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel

_NAME = re.compile(r"checkpoint-(\d{8,})\.ckpt")


class CheckpointWarning(UserWarning):
    """A periodic checkpoint could not be written; the run goes on."""


class Periodic:
    """The periodic writer :func:`checkpoint_every` installs (``kernel.console.after_input``)."""

    def __init__(self, kernel: Kernel, ticks: int, folder: Path, keep: int) -> None:
        self.kernel, self.ticks, self.folder, self.keep = kernel, ticks, folder, keep
        self.last = kernel.tick
        taken = [_number(p) for p in checkpoints(folder)]
        self.next_number = max(taken, default=0) + 1
        #: The checkpoints written by this writer, and the errors of those that failed.
        self.written: list[Path] = []
        self.errors: list[str] = []

    def __call__(self) -> None:
        if self.kernel.tick - self.last >= self.ticks:
            self.write()

    def __deepcopy__(self, memo: dict) -> None:
        return None  # a copy of the kernel does not write into this folder

    def write(self) -> Path | None:
        """Write one checkpoint now, then remove all but the newest ``keep``."""
        from keykos_lab.kernel.checkpoint.save import save

        path = self.folder / f"checkpoint-{self.next_number:08d}.ckpt"
        try:
            save(self.kernel, path)
        except CheckpointError as exc:
            self.errors.append(str(exc))
            warnings.warn(f"periodic checkpoint not written: {exc}", CheckpointWarning, 2)
            return None
        self.next_number += 1
        self.last = self.kernel.tick
        self.written.append(path)
        for old in checkpoints(self.folder)[: -self.keep]:
            try:
                old.unlink()
            except OSError:
                pass  # removed already, or not ours to remove: the next write tries again
        return path

    def stop(self) -> None:
        """No more periodic checkpoints."""
        con = self.kernel.console
        if con.after_input is self:
            con.after_input = None


def checkpoint_every(
    kernel: Kernel, ticks: int, folder: str | os.PathLike, keep: int = 3
) -> Periodic:
    """Checkpoint ``kernel`` into ``folder`` every ``ticks`` ticks, keeping the newest
    ``keep`` (module docstring); the writer (``.stop()`` ends it, ``.written``,
    ``.errors``). A checkpoint that cannot be written is a :class:`CheckpointWarning`,
    and the run goes on. The folder must exist; a kernel has one writer at a time
    (:class:`CheckpointError` otherwise)."""
    if isinstance(ticks, bool) or type(ticks) is not int or ticks < 1:
        raise ValueError(f"ticks is an int ≥ 1, not {ticks!r}")
    if isinstance(keep, bool) or type(keep) is not int or keep < 1:
        raise ValueError(f"keep is an int ≥ 1, not {keep!r}")
    try:
        where = Path(os.fspath(folder))
    except TypeError:
        raise TypeError(f"folder is a str or os.PathLike, not {type(folder).__name__}") from None
    if not where.exists():
        raise CheckpointError(f"{where}: no such folder to write checkpoints into")
    if not where.is_dir():
        raise CheckpointError(f"{where}: not a folder to write checkpoints into")
    current = kernel.console.after_input
    if isinstance(current, Periodic):
        raise CheckpointError(
            f"this kernel checkpoints into {current.folder} already: stop() that writer first"
        )
    writer = Periodic(kernel, ticks, where, keep)
    kernel.console.after_input = writer
    return writer


def _number(path: Path) -> int:
    m = _NAME.fullmatch(path.name)
    return int(m.group(1)) if m else -1


def checkpoints(folder: str | os.PathLike) -> list[Path]:
    """The periodic checkpoints in ``folder``, oldest first (by number; what a crash
    left half-written is a temporary file, not among them); :class:`CheckpointError`
    when the folder cannot be read."""
    where = Path(folder)
    try:
        found = [p for p in where.iterdir() if _NAME.fullmatch(p.name) and p.is_file()]
    except OSError as exc:
        raise CheckpointError(f"{where}: cannot list the checkpoints: {exc.strerror}") from None
    return sorted(found, key=_number)


def latest(folder: str | os.PathLike) -> Path:
    """The newest checkpoint in ``folder`` whose length and checksum are right;
    :class:`CheckpointError` when there is none."""
    from keykos_lab.kernel.checkpoint.format import _digest
    from keykos_lab.kernel.checkpoint.load import _read

    bad = []
    for path in reversed(checkpoints(folder)):
        try:
            header, blob = _read(path)
        except CheckpointError as exc:
            bad.append(str(exc))
            continue
        if len(blob) == header["length"] and _digest(header, blob) == header["sha256"]:
            return path
        bad.append(f"{path}: length or checksum wrong")
    raise CheckpointError(
        f"{folder}: no complete checkpoint" + (f" ({'; '.join(bad)[:300]})" if bad else "")
    )


__all__ = ["checkpoint_every", "checkpoints", "latest", "Periodic", "CheckpointWarning"]
