"""The journal: what came into the kernel from outside since its last quiescent state.

A checkpoint can be taken at any moment (docs/decisions/0014-checkpoint-by-replay.md):
a running handler is a Python generator and cannot be saved, but everything that
makes a system move comes from outside the kernel through a few doors — the
console's ``call``, ``fork``, ``run``, ``name``, ``label`` and ``hold``, and the kernel's public
``step`` and ``stop`` — and the kernel is deterministic given its seed. So the
kernel keeps

* a **base**: a quiescent state — the kernel as its class and seed make it (the
  *genesis*), or a checkpoint body (:func:`~keykos_lab.kernel.checkpoint.encode`)
  taken while nothing was mid-flight — and the length of the event log then;
* the **inputs** since the base, in order, each with its outcome (the error it ended
  with, if any), the console's step limit in force and the length of the event log
  after it.

A checkpoint taken mid-flight is the base, the inputs and the events they made;
restoring it re-runs the inputs on the base and checks every event against the
recorded ones (:mod:`keykos_lab.kernel.checkpoint.replay`). Only inputs made from
outside are recorded: whatever the kernel or the console does inside one of them
(replies handed to the console, domains stopped by a failing call) is part of that
input and happens again on replay.

Two things cannot be replayed, and the journal says so instead of guessing: an
interrupt (Ctrl-C) lands anywhere inside a quantum, and a kernel that failed inside
one (a bug) may not fail the same way twice. After either, a checkpoint waits for
the next quiescent moment (:attr:`Journal.broken`).

>>> from keykos_lab.kernel.core import Kernel
>>> k = Kernel(seed=3); con = k.console
>>> _ = con.call(con.dkc, 0, data=b"\\0\\0\\0\\0\\0\\x07")
>>> [entry[0] for entry in con.journal.inputs]
['call']
>>> con.journal.genesis
{'class': 'keykos_lab.kernel.core.Kernel', 'seed': 3}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: The console's and kernel's inputs, as the journal records them (tuples of plain
#: values; ``checkpoint.replay`` turns them into JSON and back):
#:
#: - ``("call" | "fork", key, order, keys, data, step_limit, outcome, rows)``: ``key``
#:   and ``keys`` are indices into the console's key ring;
#: - ``("run", max_steps, step_limit, steps, outcome, rows)``: the steps it took;
#: - ``("step", ran, rows)``: ``Kernel.step()`` called from outside, what it returned;
#: - ``("stop", root, why, rows)``: ``Kernel.stop()`` called from outside;
#: - ``("name", name, index, label, rows)``, ``("label", index, text, rows)`` and
#:   ``("hold", key, rows)``.
#:
#: ``outcome`` is None, or ``(error class name, forced)`` where ``forced`` is None or
#: ``(what, steps)`` for a failure the wall clock decided (``TimeLimitExceeded``):
#: replay makes it happen after the same number of scheduler steps. ``rows`` is the
#: length of the event log after the input.
INPUTS = ("call", "fork", "run", "step", "stop", "name", "label", "hold")

#: Inputs recorded before the journal tries to move its base to a quiescent state:
#: ``encode`` costs about as much as the state is large (a few µs an object), so it is
#: paid once per ``REBASE_EVERY`` inputs, or per ``INPUTS_PER_OBJECT`` times the number
#: of objects when that is more (about 1 µs an input either way); a replay then re-runs
#: at most that many inputs.
#: Characters of a name, a label or a reason given from outside (``con.name``,
#: ``con.label``, ``Kernel.stop``): what a checkpoint by replay records and reads back.
MAX_TEXT = 1 << 16

REBASE_EVERY = 512
INPUTS_PER_OBJECT = 4

#: ``encode(kernel) -> bytes | None``: the base for the kernel as it is now, or None
#: when something is mid-flight. ``keykos_lab.kernel.checkpoint.save`` sets it (the
#: checkpoint package sits above the console, which may not import it).
ENCODER: Callable[[Any], bytes | None] | None = None


class Journal:
    """The inputs since a quiescent base (module docstring); ``kernel.console.journal``.

    ``depth`` counts the inputs in progress: only those that start at depth 0 — from
    outside — are recorded.
    """

    __slots__ = ("genesis", "base", "base_rows", "inputs", "depth", "broken", "next_rebase")

    def __init__(self, cls: type, seed: int | None) -> None:
        #: The class and seed that make the genesis state: ``{"class": "module.Name",
        #: "seed": int | None}``.
        self.genesis: dict[str, Any] = {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "seed": seed,
        }
        #: None (the base is the genesis) or a checkpoint body as canonical JSON bytes.
        self.base: bytes | None = None
        #: The length of the event log at the base.
        self.base_rows = 0
        self.inputs: list[tuple] = []
        self.depth = 0
        #: Why the inputs since the base cannot be replayed (None: they can).
        self.broken: str | None = None
        self.next_rebase = REBASE_EVERY

    def restart(self, rows: int) -> None:
        """The state as it is now is the genesis (a constructor that boots the system
        calls this when booting is done: restoring re-runs the constructor)."""
        self.base, self.base_rows, self.inputs, self.broken = None, rows, [], None

    def rebase(self, body: bytes, rows: int, n_objects: int = 0) -> None:
        """``body`` (canonical JSON of a quiescent checkpoint body) is the new base, of a
        state with ``n_objects`` objects (the next move waits in proportion)."""
        self.base, self.base_rows, self.inputs, self.broken = body, rows, [], None
        self.next_rebase = spacing(n_objects)

    def record(self, entry: tuple) -> None:
        self.inputs.append(entry)

    def due(self, n_objects: int) -> bool:
        """Time to try moving the base (the caller checks quiescence and encodes);
        ``next_rebase`` is the number of inputs when it is next worth asking."""
        if len(self.inputs) < self.next_rebase:
            return False
        self.next_rebase = len(self.inputs) + spacing(n_objects)  # (if it cannot move now)
        return True


def spacing(n_objects: int) -> int:
    """How many inputs the journal lets pass between two moves of its base.

    >>> spacing(40), spacing(100_000)
    (512, 400000)
    """
    return max(REBASE_EVERY, INPUTS_PER_OBJECT * n_objects)


__all__ = ["Journal", "INPUTS", "MAX_TEXT", "REBASE_EVERY", "spacing"]
