"""Checkpoints by replay: a checkpoint at any moment, even with handlers mid-flight.

A running handler is a Python generator and cannot be saved, so a checkpoint taken
while domains are mid-flight (``cat`` blocked on the terminal, a call half done)
saves what made the state instead of the state: the journal's quiescent **base**
(:mod:`keykos_lab.kernel.journal`), the **inputs** from outside since, and the
**events** they made. Restoring rebuilds the base, runs the inputs again, and checks
that the replay makes exactly the recorded events — the number after each input,
then every row byte for byte — and ends in the recorded state (clock, allocation
counter, the console's key ring, a digest of every page and node). Anything else is
a :class:`CheckpointError` saying where the replay left the recording: a restore
never diverges silently. docs/decisions/0014-checkpoint-by-replay.md is the design
record.

The body (format version 3), canonical JSON like a snapshot's:

``{"base": {"genesis": {"class": "module.Name", "seed": int | null}} |
{"snapshot": <a snapshot body, its "log" null>}, "base_rows": int, "inputs": [...],
"log": <the whole event log, as a snapshot's>, "expect": {"rows", "tick",
"next_alloc", "ring", "objects"}, "settings": {"step_limit", "time_limit",
"handler_time_limit"}}``

Each input is a list (:data:`keykos_lab.kernel.journal.INPUTS`):

- ``["call" | "fork", key, order, [keys], base64 data, step limit, outcome, rows]``
- ``["run", max steps | null, step limit, steps, outcome, rows]``
- ``["step", ran, rows]``, ``["stop", root, why, rows]``
- ``["name", name, index, label, rows]``, ``["label", index, text, rows]``,
  ``["hold", [type, object, databyte, alloc], rows]``

where ``outcome`` is null or ``[error class name, null | [what, steps]]``.

A file from a stranger is checked field by field before anything runs, and the
replay runs only the kernel's own code and the programs registered here, under a
wall-clock budget (``replay_seconds``): nothing in the file is executed, and nothing
hangs.

>>> import os, tempfile
>>> from keykos_lab.kernel.core import Kernel
>>> from keykos_lab.kernel.checkpoint.save import save_replay
>>> k = Kernel(seed=1); con = k.console
>>> _ = con.call(con.dkc, 0, data=b"\\0\\0\\0\\0\\0\\x07")
>>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
>>> header = save_replay(k, path)           # as save() does when something is mid-flight
>>> header["version"], header["replay"]["inputs"]
(3, 1)
>>> r = load(path)
>>> len(r.log) == len(k.log) and r.tick == k.tick
True
"""

from __future__ import annotations

import os
from time import monotonic
from typing import Any, TypeVar, overload

from keykos_lab.kernel.checkpoint.format import (
    INT64,
    MAX_OBJECTS,
    REPLAY_VERSION,
    SEED_BITS,
    Json,
    _log_record,
    _Validator,
)
from keykos_lab.kernel.checkpoint.load import (
    _check_blob,
    _Decoder,
    _read,
    _strict_json,
    decode,
    loader_bug,
    snapshot,
)
from keykos_lab.kernel.checkpoint.save import canonical, expect
from keykos_lab.kernel.console import KeyHandle
from keykos_lab.kernel.core import Kernel
from keykos_lab.kernel.errors import CheckpointError, KernelError, TimeLimitExceeded
from keykos_lab.kernel.eventlog import ROW, EventLog
from keykos_lab.kernel.history import History
from keykos_lab.kernel.journal import INPUTS, MAX_TEXT
from keykos_lab.kernel.keys import Key
from keykos_lab.kernel.process import MAX_ORDER, MAX_STRING

_K = TypeVar("_K", bound=Kernel)

#: Seconds of wall clock a restore may spend replaying, by default (``load``'s
#: ``replay_seconds``): past it, :class:`CheckpointError`.
REPLAY_SECONDS = 300.0
_REPLAY_KEYS = frozenset({"base", "base_rows", "inputs", "log", "expect", "settings"})
_EXPECT_KEYS = frozenset({"rows", "tick", "next_alloc", "ring", "objects"})
_FIELDS = {"call": 8, "fork": 8, "run": 6, "step": 3, "stop": 4, "name": 5, "label": 4, "hold": 3}


# ------------------------------------------------------------------ reading
@overload
def load(
    path: str | os.PathLike, cls: None = None, replay_seconds: float | None = None
) -> Kernel: ...
@overload
def load(path: str | os.PathLike, cls: type[_K], replay_seconds: float | None = None) -> _K: ...


def load(
    path: str | os.PathLike,
    cls: type[Kernel] | None = None,
    replay_seconds: float | None = None,
) -> Kernel:
    """Restore the checkpoint at ``path`` as an instance of ``cls`` (default
    ``keykos_lab.kernel.core.Kernel``): a snapshot (version 2) as it is, boot not
    re-run (:func:`.load.load`); a checkpoint by replay (version 3) from its base,
    its inputs run again within ``replay_seconds`` of wall clock (default
    :data:`REPLAY_SECONDS`) and checked event by event against the recording.
    The package exports this as ``keykos_lab.kernel.checkpoint.load``.

    Raises :class:`CheckpointError` for any file that is not a valid checkpoint, and
    where a replay leaves the recording.
    """
    if cls is None:
        cls = Kernel
    if replay_seconds is None:
        replay_seconds = REPLAY_SECONDS
    elif isinstance(replay_seconds, bool) or not isinstance(replay_seconds, (int, float)):
        raise TypeError(f"replay_seconds is a number of seconds, not {replay_seconds!r}")
    header, blob = _read(path)
    if header["version"] != REPLAY_VERSION:  # the base: the body as read, its log null
        return snapshot(path, cls, header, blob)
    _check_blob(path, header, blob)
    body = _strict_json(blob, path, "the body")
    try:
        return restore(body, cls, str(path), len(blob), float(replay_seconds))
    except (CheckpointError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # not the file's fault: every value from it is checked
        raise loader_bug(str(path), exc, " while replaying") from exc


class _Inputs(_Validator):
    """Checked readers for the replay body: JSON in, journal entries out."""

    def entry(self, v: Json, i: int) -> tuple:
        what = f"input {i}"
        f = self.list_(v, what)
        kind = f[0] if f else None
        if kind not in _FIELDS or len(f) != _FIELDS[kind]:
            self.fail(f"{what} is not one of {', '.join(INPUTS)} with its fields: {v!r:.80}")
        rows = self.int_(f[-1], f"{what}'s event count")
        if kind in ("call", "fork"):
            keys = self.list_(f[3], f"{what}'s keys")
            if len(keys) > (3 if kind == "call" else 4):
                self.fail(f"{what} passes {len(keys)} keys")
            return (
                kind,
                self.int_(f[1], f"{what}'s key"),
                self.int_(f[2], f"{what}'s order", 0, MAX_ORDER + 1),
                tuple(self.int_(x, f"{what}'s keys") for x in keys),
                self.bytes_(f[4], f"{what}'s string", MAX_STRING),
                self.int_(f[5], f"{what}'s step limit", 1),
                self.outcome(f[6], what),
                rows,
            )
        if kind == "run":
            return (
                kind,
                None if f[1] is None else self.int_(f[1], f"{what}'s max steps"),
                self.int_(f[2], f"{what}'s step limit", 1),
                self.int_(f[3], f"{what}'s steps"),
                self.outcome(f[4], what),
                rows,
            )
        if kind == "step":
            return (kind, self.bool_(f[1], f"{what}'s result"), rows)
        if kind == "stop":
            return (kind, self.int_(f[1], f"{what}'s domain"), self.text(f[2], what), rows)
        if kind == "name":
            name = self.text(f[1], what)
            if not name:
                self.fail(f"{what} names a key with an empty name")
            return (
                kind,
                name,
                self.int_(f[2], f"{what}'s key"),
                self.bool_(f[3], f"{what}'s label"),
                rows,
            )
        if kind == "label":
            text = self.text(f[2], what)
            if not text:
                self.fail(f"{what} gives an empty label")
            return (kind, self.int_(f[1], f"{what}'s key"), text, rows)
        return (kind, self.key(f[1], f"{what}'s key"), rows)

    def text(self, v: Json, what: str) -> str:
        if type(v) is not str or len(v) > MAX_TEXT:
            self.fail(f"{what}'s text is not a string of at most {MAX_TEXT} characters")
        return v

    def outcome(self, v: Json, what: str) -> tuple[str, tuple[str, int] | None] | None:
        if v is None:
            return None
        f = self.list_(v, f"{what}'s outcome", 2)
        name = self.text(f[0], what)
        if not name.isidentifier():
            self.fail(f"{what}'s outcome {name!r:.40} is not an exception's name")
        if f[1] is None:
            return (name, None)
        forced = self.list_(f[1], f"{what}'s forced failure", 2)
        return (name, (self.text(forced[0], what), self.int_(forced[1], f"{what}'s steps")))


def restore(
    body: Json,
    cls: type[_K],
    path: str,
    size: int,
    replay_seconds: float = REPLAY_SECONDS,
) -> _K:
    """A kernel of class ``cls`` from a checkpoint-by-replay body: the base rebuilt,
    the inputs run again and checked against the recorded events and state."""
    check = _Inputs(path)
    if type(body) is not dict or set(body) != _REPLAY_KEYS:
        check.fail(f"a replay body has exactly the records {sorted(_REPLAY_KEYS)}")
    exp = check.dict_(body["expect"], "expect", _EXPECT_KEYS)
    want = {
        "rows": check.int_(exp["rows"], "expect.rows"),
        "tick": check.int_(exp["tick"], "expect.tick"),
        "next_alloc": check.int_(exp["next_alloc"], "expect.next_alloc"),
        "ring": check.int_(exp["ring"], "expect.ring"),
        "objects": check.text(exp["objects"], "expect.objects"),
    }
    # The recorded events: whole chunks of whole rows (their meaning is checked by
    # comparing them with the replay's, which the kernel makes itself).
    reader = _Decoder(body, path, size)
    reader.tick, reader.n_objects = INT64 - 1, MAX_OBJECTS + 1
    recorded = reader.log(body["log"])
    if len(recorded) != want["rows"]:
        check.fail(f"the log holds {len(recorded)} events, expect.rows says {want['rows']}")
    base_rows = check.int_(body["base_rows"], "base_rows", 0, len(recorded) + 1)
    inputs = [check.entry(e, i) for i, e in enumerate(check.list_(body["inputs"], "inputs"))]
    last = base_rows
    for i, e in enumerate(inputs):
        if not last <= e[-1] <= len(recorded):
            check.fail(f"input {i}'s event count {e[-1]} is not in [{last}, {len(recorded)}]")
        last = e[-1]
    base = body["base"]
    if type(base) is not dict:
        check.fail('the base is {"genesis": ...} or {"snapshot": ...}')
    if set(base) == {"genesis"}:
        k = _genesis(check, base["genesis"], cls, path)
    elif set(base) == {"snapshot"}:
        snap = base["snapshot"]
        if type(snap) is not dict or snap.get("log", 0) is not None:
            check.fail("the base snapshot is a body whose log record is null")
        snap = dict(snap, log=_log_record(EventLog(recorded._rows)))
        k = decode(snap, cls, path=path, size=size)
        journal_base = canonical(dict(snap, log=None))
        k.console.journal.rebase(journal_base, base_rows, len(k.objs))
    else:
        check.fail('the base is {"genesis": ...} or {"snapshot": ...}')
    prefix = rows_bytes(recorded, 0, base_rows)
    if set(base) == {"genesis"}:
        if rows_bytes(k.log, 0, len(k.log)) != prefix:
            raise CheckpointError(
                f"{path}: cannot restore: {cls.__qualname__}(seed) here does not make the "
                f"{base_rows} events the recording starts with (another keykos_lab, or "
                "programs that changed?)"
            )
    else:
        log = EventLog(recorded._rows)
        log.extend_rows(prefix)
        log.enabled = recorded.enabled
        k.log = log
        # The history decode started saw an empty log: it begins at the base's events.
        k.history = None
        History.start(k)
    limits = _settings(check, body["settings"])
    _replay(k, inputs, path, replay_seconds)
    if rows_bytes(k.log, base_rows, len(k.log)) != rows_bytes(recorded, base_rows, len(recorded)):
        seq = _first_difference(k.log, recorded, base_rows)
        raise CheckpointError(
            f"{path}: the replay diverged from the recording at event #{seq}: "
            "the restored system would not continue as the original"
        )
    got = expect(k)
    for name, value in want.items():
        if got[name] != value:
            raise CheckpointError(
                f"{path}: the replay diverged from the recording: it ends with "
                f"{name} {got[name]!r:.80}, the recording with {value!r:.80}"
            )
    k.log.enabled = recorded.enabled
    k.console.step_limit, k.console.time_limit, k.handler_time_limit = limits
    return k


def _settings(check: _Inputs, v: Json) -> tuple[int, float | None, float | None]:
    """The recorded limits (:func:`.save.settings`), checked."""
    rec = check.dict_(v, "settings", ("step_limit", "time_limit", "handler_time_limit"))

    def seconds(x: Json, what: str) -> float | None:
        if x is None:
            return None
        if type(x) not in (int, float) or not 0 < x < 1e9:
            check.fail(f"settings.{what} is a positive number of seconds or null, not {x!r:.40}")
        return float(x)

    return (
        check.int_(rec["step_limit"], "settings.step_limit", 1),
        seconds(rec["time_limit"], "time_limit"),
        seconds(rec["handler_time_limit"], "handler_time_limit"),
    )


def _genesis(check: _Inputs, v: Json, cls: type[_K], path: str) -> _K:
    g = check.dict_(v, "base.genesis", ("class", "seed"))
    name = check.text(g["class"], "base.genesis")
    seed = g["seed"]
    if seed is not None and (type(seed) is not int or seed.bit_length() > SEED_BITS):
        check.fail(f"base.genesis.seed is an int of at most {SEED_BITS} bits or null")
    here = f"{cls.__module__}.{cls.__qualname__}"
    if name != here:
        raise CheckpointError(
            f"{path}: this checkpoint replays from a new {name}; restore it with that "
            f"class (kl.Kernel.restore for a booted system), not {here}"
        )
    return cls(seed)


def _replay(k: Kernel, inputs: list[tuple], path: str, seconds: float) -> None:
    """Run the recorded inputs on ``k``; CheckpointError where they do not go as
    recorded, or past the budget."""
    con = k.console
    deadline = monotonic() + seconds
    saved = (con.step_limit, con.time_limit)
    try:
        for i, entry in enumerate(inputs):
            left = deadline - monotonic()
            if left <= 0:
                raise CheckpointError(
                    f"{path}: the replay took more than {seconds} s (replay_seconds) "
                    f"and stopped at input {i} of {len(inputs)}"
                )
            got = _apply(k, entry, left, path, i)
            want = _outcome_name(entry)
            if got != want:
                raise CheckpointError(
                    f"{path}: the replay diverged from the recording at input {i} "
                    f"({entry[0]}): it ended with {got or 'no error'}, the recording "
                    f"with {want or 'no error'}"
                )
            if len(k.log) != entry[-1]:
                raise CheckpointError(
                    f"{path}: the replay diverged from the recording at input {i} "
                    f"({entry[0]}): {len(k.log)} events, the recording {entry[-1]}"
                )
    finally:
        con.step_limit, con.time_limit = saved
        con._clock = monotonic
        con._forced = None


def _outcome_name(entry: tuple) -> str | None:
    if entry[0] in ("call", "fork"):
        outcome = entry[6]
    elif entry[0] == "run":
        outcome = entry[4]
    else:
        return None
    return None if outcome is None else outcome[0]


def _apply(k: Kernel, entry: tuple, left: float, path: str, i: int) -> str | None:
    """Run one input; the name of the error it ended with, or None."""
    con = k.console
    kind = entry[0]

    def handle(index: int) -> KeyHandle:
        if not 0 <= index < con._count:
            raise CheckpointError(
                f"{path}: the replay diverged from the recording at input {i}: the "
                f"console holds {con._count} keys, the input names key {index}"
            )
        return KeyHandle(con, index)

    try:
        if kind in ("call", "fork", "run"):
            outcome = entry[6] if kind != "run" else entry[4]
            con.step_limit = entry[5] if kind != "run" else entry[2]
            con.time_limit = left
            forced = None if outcome is None else outcome[1]
            if forced is not None:
                con._forced = (TimeLimitExceeded, forced[0])
                con._clock = _steps_clock(forced[1], kind == "run", monotonic() + left)
            try:
                if kind == "run":
                    con.run(entry[1])
                else:
                    op = con.call if kind == "call" else con.fork
                    op(handle(entry[1]), entry[2], *map(handle, entry[3]), data=entry[4])
            finally:
                con._clock, con._forced = monotonic, None
        elif kind == "step":
            if k.step() != entry[1]:
                raise CheckpointError(
                    f"{path}: the replay diverged from the recording at input {i}: a "
                    f"step {'found nothing' if entry[1] else 'ran a domain'} to run"
                )
        elif kind == "stop":
            ds = k.domains.get(entry[1])
            if ds is None:
                raise CheckpointError(
                    f"{path}: the replay diverged from the recording at input {i}: no "
                    f"domain #{entry[1]} to stop"
                )
            k.stop(ds, entry[2])
        elif kind == "name":
            con.name(entry[1], handle(entry[2]), label=entry[3])
        elif kind == "label":
            con.label(handle(entry[1]), entry[2])
        else:
            check = _Validator(path)
            check.n_objects, check.next_alloc, check.objs = len(k.objs), k.store.next_alloc, k.objs
            key = check.key(list(entry[1]), f"input {i}'s key")
            con.hold(Key(*key))
    except CheckpointError:
        raise
    except KernelError as exc:
        return type(exc).__name__
    except (ValueError, TypeError) as exc:
        return type(exc).__name__
    return None


def _steps_clock(steps: int, counts_after: bool, deadline: float) -> Any:
    """A clock for replaying a time limit: 0 until the check after ``steps`` scheduler
    steps, then past any deadline. ``run`` checks after each step; a call's wait
    checks before each (so once more: the check at ``steps`` is its ``steps + 1``th).
    Past the replay's own ``deadline`` (wall clock) it is past any deadline too, so a
    forged step count cannot keep a replay going (found by the red team): the replay
    then stops at another step and the event counts tell the divergence."""
    n = steps if counts_after else steps + 1
    calls = [0]

    def clock() -> float:
        calls[0] += 1
        return float("inf") if calls[0] >= n or monotonic() > deadline else 0.0

    return clock


# ------------------------------------------------------------------ helpers
def rows_bytes(log: EventLog, start: int, stop: int) -> bytes:
    """The packed rows ``start`` to ``stop`` of ``log``.

    >>> log = EventLog()
    >>> for t in range(3):
    ...     log.emit(t, 0, 0, 1, -1, -1, -1, 0, -1, 0, 0, 1, 1, 0)
    >>> len(rows_bytes(log, 1, 3)) == 2 * ROW.size
    True
    """
    raw = b"".join(bytes(c) for c in log.chunks())
    return raw[start * ROW.size : stop * ROW.size]


def _first_difference(a: EventLog, b: EventLog, start: int) -> int:
    n = min(len(a), len(b))
    for seq in range(start, n):
        if a.row(seq) != b.row(seq):
            return seq
    return n


__all__ = ["load", "restore", "rows_bytes", "REPLAY_SECONDS"]
