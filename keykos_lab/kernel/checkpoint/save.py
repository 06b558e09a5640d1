"""Writing a checkpoint, atomically: a snapshot of a quiescent kernel, or one by replay.

:func:`encode` refuses a kernel with a handler mid-flight (a running handler is a
Python generator, and cannot be saved: docs/decisions/0005-checkpoint-at-quiescence.md),
then gives every reachable domain state an index and encodes each part of the state
with the record encoders of :mod:`keykos_lab.kernel.checkpoint.format`. Mid-flight,
:func:`save` writes a checkpoint by replay instead (:func:`save_replay`: the journal's
base and inputs, the events and the end state they must give;
docs/decisions/0014-checkpoint-by-replay.md; :mod:`.replay` reads it). :func:`save`
writes header and body to a temporary file in the target's folder, flushes and
``fsync``-s it, and ``os.replace``-s it over the target, so a crash at any point
leaves the previous checkpoint intact (docs/reliability.md); on any failure the
temporary file is removed.

The crash tests replace ``_open_temp`` and ``_discard`` on the *package*
(``keykos_lab.kernel.checkpoint``), which is where :func:`_write_atomically` looks
them up, at call time.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from keykos_lab.kernel import journal
from keykos_lab.kernel.checkpoint.format import (
    FORMAT,
    OBJECTS_FREE,
    REPLAY_VERSION,
    SCHEMAS,
    SEED_BITS,
    SNAPSHOT_VERSION,
    Json,
    _b64,
    _digest,
    _domain_record,
    _log_record,
    _node_record,
    _page_record,
    _rng_state,
    _value,
    log_json_parts,
)
from keykos_lab.kernel.checkpoint.history import encode_history
from keykos_lab.kernel.collector import gc_paused
from keykos_lab.kernel.console import Console
from keykos_lab.kernel.core import Kernel
from keykos_lab.kernel.domains import RUNNING, DomainState
from keykos_lab.kernel.errors import CheckpointError
from keykos_lab.kernel.objects import Page
from keykos_lab.kernel.process import PROGRAMS, parse_image

_WRITE_BLOCK = 1 << 20
_PACKAGE = "keykos_lab.kernel.checkpoint"  # where the crash tests' seams live


# ------------------------------------------------------------------ the body
def busy_domains(kernel: Kernel) -> list[str]:
    """Domains in the middle of a handler (``'#12 (echo)'``); empty at quiescence.

    >>> from keykos_lab.kernel.core import Kernel
    >>> busy_domains(Kernel())
    []
    """
    out = [
        f"#{ds.root} ({ds.program or '?'})" for ds in kernel.domains.values() if ds.proc is not None
    ]
    con = kernel.console.state
    if con.state != RUNNING or con.next is not None or con.stalled_on is not None:
        out.append(f"#{con.root} (the console, waiting for a reply)")
    return out


def encode(kernel: Kernel, log: bool = True) -> dict[str, Json]:
    """The body of a checkpoint of a quiescent ``kernel``, as plain JSON data
    (``log=False``: its ``"log"`` record None, as the journal keeps its base).

    >>> from keykos_lab.kernel.core import Kernel
    >>> sorted(encode(Kernel()))
    ['console', 'domain_states', 'history', 'kernel', 'labels', 'log', 'nodes', 'pages']
    """
    busy = busy_domains(kernel)
    if busy:
        raise CheckpointError(
            "a checkpoint is taken at quiescence, but these domains are "
            f"mid-flight (running handlers cannot be saved): {', '.join(busy)}"
        )
    k = kernel
    pages, nodes = _object_records(k)
    # Every DomainState the kernel can reach gets an index: registered ones first,
    # in kernel.domains order, then any the queues still point at (stale entries).
    index: dict[int, int] = {}
    states: list[DomainState] = []

    def ref(ds: DomainState) -> int:
        i = index.get(id(ds))
        if i is None:
            i = index[id(ds)] = len(states)
            states.append(ds)
        return i

    for ds in k.domains.values():
        ref(ds)
    kern = _kernel_record(k, ref, index)
    console = _console_record(k.console, ref)
    records = []
    i = 0
    while i < len(states):  # states grows while stall queues reach further
        records.append(_domain_record(k, states[i], ref))
        i += 1
    body: dict[str, Json] = {
        "kernel": kern,
        "pages": pages,
        "nodes": nodes,
        "labels": [[oid, text] for oid, text in k.store.labels.items()],
        "domain_states": records,
        "console": console,
        "log": _log_record(k.log) if log else None,
    }
    if log:  # the past, for capability_graph(at=seq) after a restore (not in a base)
        body["history"] = encode_history(k.history)
    return body


def canonical(body: Json) -> bytes:
    """A body as the file holds it: canonical JSON (sorted keys, no spaces)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def joined(records: dict[str, bytes]) -> bytes:
    """The canonical JSON of a body from the canonical JSON of each of its records: the
    same bytes as :func:`canonical` of the body, so a record can be swapped (the log left
    out of the journal's base) without encoding the others again.

    >>> body = {"b": [1, {"y": 2, "x": None}], "a": "t\u00e9xt", "c": {}}
    >>> joined({name: canonical(v) for name, v in body.items()}) == canonical(body)
    True
    """
    return b"".join(joined_parts(records))


def joined_parts(records: Mapping[str, bytes | list[bytes]]) -> list[bytes]:
    """:func:`joined` as a list of pieces, never joined: a record may be given as its
    own pieces (the log's), so a large body is never copied whole before it is written.

    >>> b"".join(joined_parts({"a": b"1", "b": [b"[", b"2", b"]"]}))
    b'{"a":1,"b":[2]}'
    """
    parts = [b"{"]
    for name in sorted(records):
        record = records[name]
        parts += (canonical(name), b":")
        parts += [record] if isinstance(record, bytes) else record
        parts.append(b",")
    parts[-1] = b"}" if len(parts) > 1 else b"{}"
    return parts


def base_body(kernel: Kernel) -> bytes | None:
    """The journal's base for ``kernel`` as it is now (canonical JSON of its body
    without the event log), or None when something is mid-flight.

    >>> from keykos_lab.kernel.core import Kernel
    >>> base_body(Kernel())[:10]
    b'{"console"'
    """
    if busy_domains(kernel):
        return None
    return canonical(encode(kernel, log=False))


def _object_records(k: Kernel) -> tuple[list[Json], list[Json]]:
    """(page records, node records), in object-id order."""
    pages, nodes = [], []
    for obj in k.objs:
        if obj is None:
            continue
        if isinstance(obj, Page):
            pages.append(_page_record(obj))
        else:
            nodes.append(_node_record(obj))  # not a page: a node
    return pages, nodes


def _kernel_record(
    k: Kernel, ref: Callable[[DomainState], int], index: dict[int, int]
) -> dict[str, Json]:
    """The kernel's own fields and queues (SCHEMAS['kernel'])."""
    if k.seed is not None and k.seed.bit_length() > SEED_BITS:
        raise CheckpointError(
            f"a checkpoint saves a seed of at most {SEED_BITS} bits, not {k.seed.bit_length()}"
        )
    return {
        "seed": k.seed,
        "rng": None if k._rng is None else _rng_state(k._rng),
        "tick": k.tick,
        "node_epoch": k.node_epoch,
        "page_epoch": k.page_epoch,
        "prime_meter": k.prime_meter,
        "next_alloc": k.store.next_alloc,
        "n_objects": len(k.objs),
        "runq": [ref(ds) for ds in k.runq],
        "parked": [ref(ds) for ds in k.parked],
        "borrowers": sorted(ref(ds) for ds in _in_order(k._borrowers, index)),
        "meter_stopped": [
            [mid, [[ref(ds), _value(act), act is ds.on_resume] for ds, act in entries]]
            for mid, entries in k.meter_stopped.items()
        ],
    }


def _in_order(states: set[DomainState], index: dict[int, int]) -> list[DomainState]:
    """A set of domain states in an order that does not depend on memory addresses (a
    set of them iterates by ``id()``): those already indexed by index, the others by
    root, then by what their record would hold. The saved file is then byte-identical
    from run to run."""

    def order(ds: DomainState) -> tuple:
        i = index.get(id(ds))
        return (
            (0, i, 0, "")
            if i is not None
            else (
                1,
                ds.root,
                ds.state,
                repr((ds.next, ds.on_resume, ds.resume_alloc, ds.cpu, ds.program, ds.parked)),
            )
        )

    return sorted(states, key=order)


def _console_record(con: Console, ref: Callable[[DomainState], int]) -> dict[str, Json]:
    """The console's key ring, names and call state (SCHEMAS['console'])."""
    return {
        "root": con.root,
        "state": ref(con.state),
        "ring": [n.id for n in con._ring],
        "where": [[list(key), i] for key, i in con._where.items()],
        "count": con._count,
        "names": [[name, h.index] for name, h in con._names.items()],
        "woken": bool(con._woken),
        "result": _value(con._result),
        "step_limit": con.step_limit,
    }


def bound_programs(kernel: Kernel) -> tuple[list[str], list[str]]:
    """(registered programs the system is bound to, image names registered nowhere).

    >>> import keykos_lab as kl
    >>> progs, unbound = bound_programs(kl.Kernel())
    >>> "spacebank" in progs, unbound
    (True, [])
    """
    names = set()
    for obj in kernel.objs:
        if isinstance(obj, Page) and obj.data is not None:
            name = parse_image(bytes(obj.data[:64]))
            if name is not None:
                names.add(name)
    for ds in kernel.domains.values():
        if ds.program is not None and ds is not kernel.console.state:
            names.add(ds.program)
    return sorted(n for n in names if n in PROGRAMS), sorted(n for n in names if n not in PROGRAMS)


# ------------------------------------------------------------------ the file
def save(kernel: Kernel, path: str | os.PathLike) -> dict[str, Json]:
    """Write a checkpoint of ``kernel`` to ``path`` atomically; the header written.

    At quiescence the file is a snapshot of the state (format version 2), and that
    state becomes the journal's base; otherwise it is a checkpoint by replay (version
    3, :func:`.replay.save_replay`). Raises :class:`CheckpointError` saying why when
    the file cannot be written (a missing or unwritable folder, a full disk, a folder
    at ``path``), or when the inputs since the last quiescent state cannot be replayed
    (:attr:`.journal.Journal.broken`); then no temporary file is left behind and a
    previous checkpoint at ``path`` is intact.

    >>> import os, tempfile
    >>> from keykos_lab.kernel.core import Kernel
    >>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
    >>> save(Kernel(), path)["version"] == SNAPSHOT_VERSION
    True
    >>> save(Kernel(), os.path.join(path, "no", "such.ckpt"))
    Traceback (most recent call last):
    ...
    keykos_lab.kernel.errors.CheckpointError: cannot write the checkpoint .../such.ckpt: ...
    """
    if busy_domains(kernel):
        return save_replay(kernel, path)
    with gc_paused():
        return _save_snapshot(kernel, path)


def _save_snapshot(kernel: Kernel, path: str | os.PathLike) -> dict[str, Json]:
    # The body of encode(kernel), each record as canonical JSON; the log's made directly.
    body = encode(kernel, log=False)
    body["history"] = encode_history(kernel.history)
    records = {name: canonical(value) for name, value in body.items()}
    programs, unbound = bound_programs(kernel)
    blob = joined_parts({**records, "log": log_json_parts(kernel.log)})  # written unjoined
    length = sum(map(len, blob))
    short = body["kernel"]["n_objects"] - OBJECTS_FREE - length
    if short > 0:  # the loader wants a byte of file per object id (load.decode's bound)
        blob.append(b" " * short)
        length += short
    header = {
        "format": FORMAT,
        "version": SNAPSHOT_VERSION,
        "length": length,
        "programs": programs,
        "unbound_images": unbound,
        "counts": {
            "pages": len(body["pages"]),
            "nodes": len(body["nodes"]),
            "domains": sum(r["registered"] for r in body["domain_states"]),
            "events": len(kernel.log),
        },
        "schemas": SCHEMAS,
    }
    _write_file(path, header, blob)
    # Nothing is mid-flight: this state is the journal's new base (the body, its log null,
    # no history: a base's log is empty, so a replay starts the history at the base).
    records["log"] = canonical(None)
    records.pop("history", None)
    kernel.console.journal.rebase(joined(records), len(kernel.log), len(kernel.objs))
    return header


def _write_file(
    path: str | os.PathLike, header: dict[str, Json], blob: bytes | list[bytes]
) -> None:
    """Seal ``header`` (its checksum over itself and ``blob``, bytes or their pieces) and
    write both to ``path`` atomically (:func:`_write_atomically`)."""
    header["sha256"] = _digest(header, blob)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    try:
        target = os.fspath(path)
    except TypeError:
        raise CheckpointError(
            f"a checkpoint's path is a str or os.PathLike, not {type(path).__name__}"
        ) from None
    _write_atomically(target, [head, *([blob] if isinstance(blob, bytes) else blob)])


def _seams() -> ModuleType:
    """The package, whose ``_open_temp`` and ``_discard`` the crash tests replace
    (``monkeypatch.setattr(checkpoint, "_open_temp", ...)``). Looked up when a file
    is written, never imported from here: the package imports this module."""
    return sys.modules[_PACKAGE]


def _write_atomically(path: str, parts: list[bytes]) -> None:
    """Write ``parts`` to a temporary file beside ``path``, sync it, rename it over
    ``path``. Any failure of the file system is a :class:`CheckpointError`, and the
    temporary file is removed (a crash, a ``BaseException``, goes on as it is)."""
    seams = _seams()
    tmp = None
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "is a folder", path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(
            prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder
        )
        with seams._open_temp(fd) as f:
            for part in parts:
                view = memoryview(part)  # slices of a view: no copy of a large body
                for at in range(0, len(part), _WRITE_BLOCK):
                    f.write(view[at : at + _WRITE_BLOCK])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path, a closed file
        if tmp is not None:
            seams._discard(tmp)
        raise CheckpointError(
            f"cannot write the checkpoint {path}: {type(exc).__name__}: {exc}"
        ) from exc
    except BaseException:
        if tmp is not None:
            seams._discard(tmp)
        raise
    _sync_folder(folder)


def _open_temp(fd: int) -> io.BufferedWriter:
    """The temporary file, open for writing (a seam for the crash tests: replace
    ``keykos_lab.kernel.checkpoint._open_temp``, not this module's name)."""
    return os.fdopen(fd, "wb")


def _discard(tmp: str) -> None:
    """Remove a temporary file a failed write left (a seam, like :func:`_open_temp`)."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _sync_folder(folder: str) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------- a checkpoint by replay
def save_replay(kernel: Kernel, path: str | os.PathLike) -> dict[str, Json]:
    """Write a checkpoint by replay of ``kernel`` to ``path`` atomically; the header.

    Raises :class:`CheckpointError` when an input is still in progress (``save``
    called from a handler or a hook inside one), when the inputs since the base
    cannot be replayed (an interrupt, a kernel failure: :attr:`Journal.broken`), or
    when the file cannot be written.
    """
    j = kernel.console.journal
    if j.depth:
        raise CheckpointError(
            "cannot checkpoint in the middle of an input from outside (a console call "
            "or a step has not returned): call checkpoint() between them"
        )
    if j.broken is not None:
        busy = ", ".join(busy_domains(kernel)) or "none"
        raise CheckpointError(
            f"cannot checkpoint now: domains are mid-flight ({busy}) and {j.broken} "
            "since the last quiescent state, which cannot be replayed; a checkpoint is "
            "possible again once nothing is mid-flight"
        )
    base: dict[str, Json] = (
        {"genesis": dict(j.genesis)} if j.base is None else {"snapshot": json.loads(j.base)}
    )
    body = {
        "base": base,
        "base_rows": j.base_rows,
        "inputs": [_input_json(e) for e in j.inputs],
        "log": _log_record(kernel.log),
        "expect": expect(kernel),
        "settings": settings(kernel),
    }
    blob = canonical(body)
    programs, unbound = bound_programs(kernel)
    ran = {ds.program for ds in kernel.domains.values() if ds.program}
    header: dict[str, Json] = {
        "format": FORMAT,
        "version": REPLAY_VERSION,
        "length": len(blob),
        "programs": sorted(set(programs) | (ran & _registered())),
        "unbound_images": unbound,
        "counts": {"events": len(kernel.log), "domains": len(kernel.domains)},
        "replay": {
            "base": "genesis" if j.base is None else "snapshot",
            "inputs": len(j.inputs),
            "busy": busy_domains(kernel)[:100],
        },
        "schemas": SCHEMAS,
    }
    _write_file(path, header, blob)
    return header


def _registered() -> set[str]:
    from keykos_lab.kernel.process import PROGRAMS

    return set(PROGRAMS)


def settings(kernel: Kernel) -> dict[str, Json]:
    """The limits set from outside that shape what the kernel does next, restored after
    a replay: the console's ``step_limit`` and ``time_limit`` and the kernel's
    ``handler_time_limit`` (found by the red team: a restored kernel ran past the step
    limit its original had).

    >>> settings(Kernel())["step_limit"]
    1000000
    """
    con = kernel.console
    return {
        "step_limit": con.step_limit,
        "time_limit": con.time_limit,
        "handler_time_limit": kernel.handler_time_limit,
    }


def expect(kernel: Kernel) -> dict[str, Json]:
    """What a replay must end with: the event count, the clock, the allocation
    counter, the console's key ring and a digest of every page, node and label.

    >>> sorted(expect(Kernel()))
    ['next_alloc', 'objects', 'ring', 'rows', 'tick']
    """
    pages, nodes = _object_records(kernel)
    labels = sorted([oid, text] for oid, text in kernel.store.labels.items())
    digest = hashlib.sha256(canonical([pages, nodes, labels])).hexdigest()
    return {
        "rows": len(kernel.log),
        "tick": kernel.tick,
        "next_alloc": kernel.store.next_alloc,
        "ring": kernel.console._count,
        "objects": digest,
    }


def _input_json(entry: tuple) -> list[Json]:
    kind = entry[0]
    if kind in ("call", "fork"):
        _, key, order, keys, data, limit, outcome, rows = entry
        return [kind, key, order, list(keys), _b64(data), limit, _outcome_json(outcome), rows]
    if kind == "run":
        _, max_steps, limit, steps, outcome, rows = entry
        return [kind, max_steps, limit, steps, _outcome_json(outcome), rows]
    if kind == "hold":
        return [kind, list(entry[1]), entry[2]]
    return list(entry)


def _outcome_json(outcome: Any) -> Json:
    if outcome is None:
        return None
    name, forced = outcome
    return [name, None if forced is None else list(forced)]


journal.ENCODER = base_body
