"""Checkpoint and restore: the whole kernel state in one documented, checked file (D5).

A checkpoint is taken at *quiescence* — no domain in the middle of a handler, the
console between calls — because a running handler is a Python generator, and
generators cannot be saved. Everything else is data: pages, nodes (with their
keys, allocation ids included), the allocation counter, every domain's kernel
state (state, pending action, stall queue, borrowed CPU, cached meter chain),
the run queue, parked and meter-stopped domains, the scheduler's random state,
the console's key ring and names, and the event log. A restored kernel carries
on exactly as the original would, event for event.

The file
--------

Two parts, both UTF-8 JSON, and nothing in them is ever executed:

1. **Header**, the first line: ``{"format": "keykos_lab-checkpoint", "version":
   1, "length": <bytes of the body>, "sha256": <hex digest, below>,
   "programs": [...], "unbound_images": [...], "counts": {...}, "schemas": {...}}``.
   ``programs`` names every program the system is bound to (program images in
   pages, the program each domain last ran) that was registered when the
   checkpoint was taken: restoring needs them registered again. ``schemas``
   describes every record, field by field (:data:`SCHEMAS`). ``sha256`` is the
   digest of the header's other fields (canonical JSON) and the body, so
   neither can change unnoticed.
2. **Body**: one canonical JSON object (sorted keys, no spaces). Pages are
   sparse: a never-written page has ``null`` data, others the base64 of their
   bytes up to the last nonzero one. Node slots are sparse: only slots that do
   not hold DK(0). A key is ``[type, object, databyte,
   alloc]``. The event log is kept as its packed chunks, base64 of the raw
   little-endian int64 rows.

Writing goes to a temporary file in the same folder, flushed and ``fsync``-ed,
then ``os.replace``-d over the target: a crash at any point leaves the previous
checkpoint intact. Reading checks the format name, the version, the length, the
checksum, every record against its schema and every reference (object ids,
domains, allocation ids), then builds a complete new kernel; anything wrong
raises :class:`CheckpointError` saying what, and the caller never sees a
half-loaded kernel.

>>> import os, tempfile
>>> from keykos_lab.kernel.core import Kernel
>>> k = Kernel()
>>> _ = k.console.call(k.console.dkc, 0, data=b"\\0\\0\\0\\0\\0\\x07")
>>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
>>> info = save(k, path)
>>> r = load(path, Kernel)
>>> len(r.log) == len(k.log) and r.store.next_alloc == k.store.next_alloc
True
>>> encode(r) == encode(k)
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import random
import tempfile
from collections import deque

from keykos_lab.kernel.core import Kernel
from keykos_lab.kernel.domains import A_RETRY, AVAILABLE, RUNNING, WAITING, DomainState
from keykos_lab.kernel.errors import CheckpointError
from keykos_lab.kernel.eventlog import ROW, EventLog
from keykos_lab.kernel.keys import (
    DATA,
    DATA_LIMIT,
    DK0,
    MISC,
    MISC_NAMES,
    OBJECT_TYPES,
    TYPE_NAMES,
    Key,
)
from keykos_lab.kernel.objects import PAGE_SIZE, SLOTS, Node, ObjectStore, Page
from keykos_lab.kernel.process import PROGRAMS, Message, parse_image

FORMAT = "keykos_lab-checkpoint"
VERSION = 1
MAX_HEADER = 1 << 20          # bytes: a longer first line is not a header
MAX_OBJECTS = 1 << 25         # object ids a checkpoint may claim (memory bound)
MAX_CHUNK_ROWS = 1 << 22      # rows per event-log chunk a checkpoint may claim
MAX_DEPTH = 16                # nesting of a saved value (ops, messages)
_WRITE_BLOCK = 1 << 20

#: Every record of the body, field by field (also written into each header).
SCHEMAS: dict[str, dict[str, str]] = {
    "key": {"": "[type, object, databyte, alloc]: four ints, as keys.Key"},
    "value": {"": "a saved Python value: int | null | ['K', t, o, d, a] (a key) | "
                  "['B', base64] (bytes) | ['M', order, [4 keys], base64, databyte] (a "
                  "Message) | ['S', text] | ['T', [values]] (a tuple)"},
    "kernel": {"seed": "int | null", "rng": "the scheduler's random.Random state as "
               "[version, [625 ints], gauss_next] | null", "tick": "int",
               "node_epoch": "int", "page_epoch": "int", "prime_meter": "object id",
               "next_alloc": "int", "n_objects": "int: object ids ever made + 1",
               "runq": "[domain-state index]", "parked": "[domain-state index]",
               "borrowers": "[domain-state index]",
               "meter_stopped": "[[meter id, [[domain-state index, action value, same]]]] "
                                "(same: the action is that domain's on_resume)"},
    "page": {"": "[id, alloc, base64 of the bytes up to the last nonzero one | null "
                 "(never written)]"},
    "node": {"": "[id, alloc, [[slot, type, object, databyte, alloc], ...]] (slots "
                 "holding DK(0) are left out)"},
    "label": {"": "[object id, text]"},
    "domain_state": {"root": "object id", "registered": "bool: in kernel.domains",
                     "state": "1 available | 2 running | 3 waiting",
                     "next": "action value | null", "on_resume": "action value | null",
                     "stall": "[[domain-state index, op value]]", "resume_alloc": "int",
                     "held": "[key] (sorted)", "cpu": "int: ticks borrowed",
                     "chain": "[[meter node id, alloc, live]] | null",
                     "chain_epoch": "int", "image": "value | null", "stalled_on":
                     "domain-state index | null", "woken_by": "domain-state index | null",
                     "parked": "text | null", "program": "text | null",
                     "error": "text | null"},
    "console": {"root": "object id", "state": "domain-state index", "ring": "[node id]",
                "where": "[[key, ring index]]", "count": "int", "names": "[[name, ring index]]",
                "woken": "bool", "result": "value", "step_limit": "int"},
    "log": {"chunk_rows": "int", "enabled": "bool", "full": "[base64 of a full chunk]",
            "current": "base64 of the rows in the chunk being filled",
            "capacity": "bytes allocated to the chunk being filled", "rows": "int"},
}
_BODY_KEYS = frozenset({"kernel", "pages", "nodes", "labels", "domain_states", "console", "log"})


# ------------------------------------------------------------------ writing
def busy_domains(kernel) -> list[str]:
    """Domains in the middle of a handler (``'#12 (echo)'``); empty at quiescence.

    >>> from keykos_lab.kernel.core import Kernel
    >>> busy_domains(Kernel())
    []
    """
    out = [f"#{ds.root} ({ds.program or '?'})" for ds in kernel.domains.values()
           if ds.proc is not None]
    con = kernel.console.state
    if con.state != RUNNING or con.next is not None or con.stalled_on is not None:
        out.append(f"#{con.root} (the console, waiting for a reply)")
    return out


def encode(kernel) -> dict:
    """The body of a checkpoint of a quiescent ``kernel``, as plain JSON data.

    >>> from keykos_lab.kernel.core import Kernel
    >>> sorted(encode(Kernel()))
    ['console', 'domain_states', 'kernel', 'labels', 'log', 'nodes', 'pages']
    """
    busy = busy_domains(kernel)
    if busy:
        raise CheckpointError("a checkpoint is taken at quiescence, but these domains are "
                              f"mid-flight (running handlers cannot be saved): {', '.join(busy)}")
    k = kernel
    objs = k.objs
    pages, nodes = [], []
    for obj in objs:
        if obj is None:
            continue
        if type(obj) is Page:
            data = obj.data
            pages.append([obj.id, obj.alloc, None if data is None else
                          _b64(bytes(data).rstrip(b"\0"))])
        else:
            nodes.append([obj.id, obj.alloc, [[i, *key] for i, key in enumerate(obj.slots)
                                               if key != DK0]])
    # Every DomainState the kernel can reach gets an index: registered ones first,
    # in kernel.domains order, then any the queues still point at (stale entries).
    index: dict[int, int] = {}
    states: list[DomainState] = []

    def ref(ds) -> int:
        i = index.get(id(ds))
        if i is None:
            i = index[id(ds)] = len(states)
            states.append(ds)
        return i

    for ds in k.domains.values():
        ref(ds)
    kern = {
        "seed": k.seed,
        "rng": None if k._rng is None else _rng_state(k._rng),
        "tick": k.tick, "node_epoch": k.node_epoch, "page_epoch": k.page_epoch,
        "prime_meter": k.prime_meter, "next_alloc": k.store.next_alloc,
        "n_objects": len(objs),
        "runq": [ref(ds) for ds in k.runq],
        "parked": [ref(ds) for ds in k.parked],
        "borrowers": sorted(ref(ds) for ds in k._borrowers),
        "meter_stopped": [[mid, [[ref(ds), _value(act), act is ds.on_resume]
                                 for ds, act in entries]]
                          for mid, entries in k.meter_stopped.items()],
    }
    con = k.console
    console = {
        "root": con.root, "state": ref(con.state), "ring": [n.id for n in con._ring],
        "where": [[list(key), i] for key, i in con._where.items()], "count": con._count,
        "names": [[name, h.index] for name, h in con._names.items()],
        "woken": bool(con._woken), "result": _value(con._result), "step_limit": con.step_limit,
    }
    records = []
    i = 0
    while i < len(states):  # states grows while stall queues reach further
        records.append(_domain_record(k, states[i], ref))
        i += 1
    return {"kernel": kern, "pages": pages, "nodes": nodes,
            "labels": [[oid, text] for oid, text in k.store.labels.items()],
            "domain_states": records, "console": console, "log": _log_record(k.log)}


def _domain_record(k, ds: DomainState, ref) -> dict:
    chain = None
    if ds.chain is not None:
        chain = [[n.id, n.alloc, 0 < n.id < len(k.objs) and k.objs[n.id] is n]
                 for n in ds.chain]
    return {
        "root": ds.root, "registered": k.domains.get(ds.root) is ds, "state": ds.state,
        "next": _value(ds.next), "on_resume": _value(ds.on_resume),
        "stall": [[ref(inv), _value(op)] for inv, op in ds.stall],
        "resume_alloc": ds.resume_alloc, "held": sorted(list(key) for key in set(ds.held)),
        "cpu": ds.cpu, "chain": chain, "chain_epoch": ds.chain_epoch,
        "image": _value(ds.image),
        "stalled_on": None if ds.stalled_on is None else ref(ds.stalled_on),
        "woken_by": None if ds.woken_by is None else ref(ds.woken_by),
        "parked": ds.parked, "program": ds.program, "error": ds.error,
    }


def _log_record(log: EventLog) -> dict:
    spilled = [log.sink.read(n) for n in range(log._spilled)]   # read back from the sink
    full = [_b64(bytes(b)) for b in spilled + log._full]
    return {"chunk_rows": log._rows, "enabled": bool(log.enabled), "full": full,
            "current": _b64(bytes(log._buf[:log._off])), "capacity": log._cap,
            "rows": len(log)}


def _rng_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _value(v, depth: int = 0):
    """A kernel value (action, op, message) as JSON data; see SCHEMAS['value']."""
    if v is None or type(v) is int:
        return v
    if depth > MAX_DEPTH:
        raise CheckpointError("a saved value is nested too deeply")
    if type(v) is Key:
        return ["K", *v]
    if type(v) is Message:
        return ["M", v.order, [list(key) for key in v.keys], _b64(v.data), v.databyte]
    if isinstance(v, (bytes, bytearray, memoryview)):
        return ["B", _b64(bytes(v))]
    if type(v) is str:
        return ["S", v]
    if isinstance(v, (tuple, list)):
        return ["T", [_value(x, depth + 1) for x in v]]
    raise CheckpointError(f"cannot save a value of type {type(v).__name__} in the kernel "
                          f"state: {v!r:.80}")


def bound_programs(kernel) -> tuple[list[str], list[str]]:
    """(registered programs the system is bound to, image names registered nowhere).

    >>> import keykos_lab as kl
    >>> progs, unbound = bound_programs(kl.Kernel())
    >>> "spacebank" in progs, unbound
    (True, [])
    """
    names = set()
    for obj in kernel.objs:
        if type(obj) is Page and obj.data is not None:
            name = parse_image(bytes(obj.data[:64]))
            if name is not None:
                names.add(name)
    for ds in kernel.domains.values():
        if ds.program is not None and ds is not kernel.console.state:
            names.add(ds.program)
    return sorted(n for n in names if n in PROGRAMS), sorted(n for n in names
                                                               if n not in PROGRAMS)


def save(kernel, path: str | os.PathLike) -> dict:
    """Write a checkpoint of ``kernel`` to ``path`` atomically; the header written.

    Raises :class:`CheckpointError` (naming them) when domains are mid-flight.

    >>> import os, tempfile
    >>> from keykos_lab.kernel.core import Kernel
    >>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
    >>> save(Kernel(), path)["version"]
    1
    """
    body = encode(kernel)
    programs, unbound = bound_programs(kernel)
    blob = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    header = {"format": FORMAT, "version": VERSION, "length": len(blob), "programs": programs,
              "unbound_images": unbound,
              "counts": {"pages": len(body["pages"]), "nodes": len(body["nodes"]),
                         "domains": sum(r["registered"] for r in body["domain_states"]),
                         "events": body["log"]["rows"]},
              "schemas": SCHEMAS}
    header["sha256"] = _digest(header, blob)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    _write_atomically(os.fspath(path), [head, blob])
    return header


def _digest(header: dict, blob: bytes) -> str:
    """SHA-256 over the header's fields but ``sha256`` (canonical JSON) and the body."""
    rest = {k: v for k, v in header.items() if k != "sha256"}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical + b"\n" + blob).hexdigest()


def _write_atomically(path: str, parts: list[bytes]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        with _open_temp(fd) as f:
            for part in parts:
                for at in range(0, len(part), _WRITE_BLOCK):
                    f.write(part[at:at + _WRITE_BLOCK])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise
    _sync_folder(folder)


def _open_temp(fd: int):
    """The temporary file, open for writing (a seam for the crash tests)."""
    return os.fdopen(fd, "wb")


def _discard(tmp: str) -> None:
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


# ------------------------------------------------------------------ reading
def read_header(path: str | os.PathLike) -> dict:
    """The checked header of the checkpoint at ``path`` (the body is not read).

    >>> import os, tempfile
    >>> from keykos_lab.kernel.core import Kernel
    >>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt"); _ = save(Kernel(), path)
    >>> read_header(path)["format"]
    'keykos_lab-checkpoint'
    """
    with _open_for_reading(path) as f:
        return _header(f, path)


def _open_for_reading(path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot open the checkpoint: {exc}") from None


def _header(f, path) -> dict:
    line = f.readline(MAX_HEADER + 1)
    if not line:
        raise CheckpointError(f"{path}: empty file: not a checkpoint (truncated?)")
    if not line.endswith(b"\n"):
        raise CheckpointError(f"{path}: no header line: not a keykos_lab checkpoint, or "
                              "truncated inside its header")
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{path}: the header is not JSON: not a keykos_lab "
                              "checkpoint, or corrupt") from None
    if type(header) is not dict or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a keykos_lab checkpoint (format name missing)")
    version = header.get("version")
    if type(version) is not int or version < 1:
        raise CheckpointError(f"{path}: unknown checkpoint format version {version!r}")
    if version > VERSION:
        raise CheckpointError(f"{path}: format version {version} was written by a newer "
                              f"keykos_lab; this one reads versions up to {VERSION}")
    length, digest = header.get("length"), header.get("sha256")
    if type(length) is not int or length < 0 or type(digest) is not str:
        raise CheckpointError(f"{path}: the header has no valid length and sha256")
    for name in ("programs", "unbound_images"):
        val = header.get(name)
        if type(val) is not list or not all(type(p) is str for p in val):
            raise CheckpointError(f"{path}: the header's {name!r} is not a list of names")
    return header


def load(path: str | os.PathLike, cls=None):
    """Restore the kernel saved at ``path`` as an instance of ``cls`` (the kernel
    class; default ``keykos_lab.kernel.core.Kernel``). Boot is not re-run.

    Raises :class:`CheckpointError` for a file that is not a checkpoint, of a newer
    or unknown version, truncated, failing its checksum, naming programs that are
    not registered, or whose records or references are not valid.

    >>> import os, tempfile
    >>> from keykos_lab.kernel.core import Kernel
    >>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt"); _ = save(Kernel(), path)
    >>> load(path).console.names()[:2]
    ['discrim', 'dkc']
    """
    if cls is None:
        cls = Kernel
    with _open_for_reading(path) as f:
        header = _header(f, path)
        length = header["length"]
        try:
            size = os.fstat(f.fileno()).st_size
        except OSError:
            size = None
        if size is not None and f.tell() + length > size:
            raise CheckpointError(f"{path}: truncated: the body should hold {length} bytes, "
                                  f"the file has {size - f.tell()}")
        blob = f.read(length + 1)
    if len(blob) != length:
        what = "truncated" if len(blob) < length else "trailing bytes after the body"
        raise CheckpointError(f"{path}: {what}: the body should hold {length} bytes")
    if _digest(header, blob) != header["sha256"]:
        raise CheckpointError(f"{path}: checksum mismatch: the header or the body is corrupt")
    missing = [p for p in header["programs"] if p not in PROGRAMS]
    if missing:
        raise CheckpointError(f"{path}: the system runs programs that are not registered "
                              f"here: {', '.join(missing)} (import the modules that define "
                              "them, then restore)")
    try:
        body = json.loads(blob)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{path}: the body is not valid JSON") from None
    return decode(body, cls, path=str(path))


def decode(body, cls=None, path: str = "<checkpoint>"):
    """A new kernel of class ``cls`` from a checkpoint body (as :func:`encode` makes).

    >>> from keykos_lab.kernel.core import Kernel
    >>> decode(encode(Kernel())).tick
    0
    >>> decode({"kernel": {}})
    Traceback (most recent call last):
    ...
    keykos_lab.kernel.errors.CheckpointError: <checkpoint>: invalid checkpoint: the body has ...
    """
    if cls is None:
        cls = Kernel
    try:
        return _Decoder(body, path).kernel(cls)
    except CheckpointError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError, binascii.Error) as exc:
        raise CheckpointError(f"{path}: invalid checkpoint: {type(exc).__name__}: "
                              f"{exc}") from None


class _Decoder:
    """Checks a body record by record and builds the kernel from it."""

    def __init__(self, body, path: str) -> None:
        self.body = body
        self.path = path

    def fail(self, why: str):
        raise CheckpointError(f"{self.path}: invalid checkpoint: {why}")

    # -- small checked readers
    def int_(self, v, what: str, lo: int = 0, hi: int | None = None) -> int:
        if type(v) is not int or v < lo or (hi is not None and v >= hi):
            self.fail(f"{what} is {v!r:.60}, not an int in [{lo}, {hi if hi else '∞'})")
        return v

    def str_(self, v, what: str, none: bool = True):
        if v is None and none:
            return None
        if type(v) is not str:
            self.fail(f"{what} is not text")
        return v

    def list_(self, v, what: str, n: int | None = None) -> list:
        if type(v) is not list or (n is not None and len(v) != n):
            self.fail(f"{what} is not a list" + (f" of {n}" if n is not None else ""))
        return v

    def _object(self, rec, kind: str, make, objects: list):
        """A page or node record ``[id, alloc, payload]``: the new object (an id
        not yet taken, an alloc already issued) and its payload, unchecked."""
        oid, alloc, payload = self.list_(rec, f"a {kind} record", 3)
        self.int_(oid, f"a {kind} id", 1, self.n_objects)
        if objects[oid] is not None:
            self.fail(f"object #{oid} is saved twice")
        return make(oid, self.int_(alloc, f"{kind} #{oid}'s alloc", 1, self.next_alloc)), payload

    def dict_(self, v, what: str, keys) -> dict:
        if type(v) is not dict:
            self.fail(f"{what} is not an object")
        if set(v) != set(keys):
            self.fail(f"{what} has fields {sorted(v)}, expected {sorted(keys)}")
        return v

    def bytes_(self, v, what: str, limit: int) -> bytes:
        if type(v) is not str or len(v) > (limit + 2) // 3 * 4 + 4:
            self.fail(f"{what} is not base64 of at most {limit} bytes")
        try:
            out = base64.b64decode(v.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            self.fail(f"{what} is not valid base64")
        if len(out) > limit:
            self.fail(f"{what} holds {len(out)} bytes, more than {limit}")
        return out

    def key(self, v, what: str) -> Key:
        f = self.list_(v, what, 4)
        if not all(type(x) is int for x in f):
            self.fail(f"{what} {v!r:.60} is not four ints")
        t, o, db, a = f
        if t not in TYPE_NAMES:
            self.fail(f"{what} has unknown key type {t}")
        if not 0 <= db <= 255 or a < 0:
            self.fail(f"{what} {v!r:.60} has a bad databyte or alloc")
        if t == DATA:
            if not 0 <= o < DATA_LIMIT or db or a:
                self.fail(f"{what} {v!r:.60} is not a valid data key")
            return DK0 if o == 0 else Key(DATA, o, 0, 0)
        if t == MISC and o not in MISC_NAMES:
            self.fail(f"{what} names unknown misc key {o}")
        if t in OBJECT_TYPES:
            if not 0 < o < self.n_objects:
                self.fail(f"{what} {v!r:.60} dangles: object #{o} was never made")
            if a >= self.next_alloc:
                self.fail(f"{what} {v!r:.60} dangles: alloc id {a} was never issued")
        return Key(t, o, db, a)

    def value(self, v, what: str, depth: int = 0):
        if v is None or type(v) is int:
            return v
        if depth > MAX_DEPTH:
            self.fail(f"{what} is nested too deeply")
        if type(v) is not list or not v or type(v[0]) is not str:
            self.fail(f"{what} is not a saved value")
        tag = v[0]
        if tag == "K" and len(v) == 5:
            return self.key(v[1:], what)
        if tag == "B" and len(v) == 2:
            return self.bytes_(v[1], what, 1 << 21)
        if tag == "S" and len(v) == 2:
            return self.str_(v[1], what, none=False)
        if tag == "T" and len(v) == 2:
            return tuple(self.value(x, what, depth + 1) for x in self.list_(v[1], what))
        if tag == "M" and len(v) == 5:
            keys = tuple(self.key(x, what) for x in self.list_(v[2], what, 4))
            return Message(self.int_(v[1], what, -(1 << 63), 1 << 64), keys,
                           self.bytes_(v[3], what, 1 << 21), self.int_(v[4], what, 0, 256))
        self.fail(f"{what} has unknown tag {tag!r:.20}")

    def action(self, v, what: str):
        act = self.value(v, what)
        if act is not None and (type(act) is not tuple or len(act) != 2
                                or type(act[0]) is not int or not 0 <= act[0] <= 3):
            self.fail(f"{what} is not an action (kind, value)")
        return act

    def state_ref(self, v, what: str) -> int:
        return self.int_(v, what, 0, self.n_states)

    # -- the kernel
    def kernel(self, cls):
        body = self.body
        if type(body) is not dict or set(body) != _BODY_KEYS:
            got = sorted(body) if type(body) is dict else type(body).__name__
            self.fail(f"the body has records {got}, expected {sorted(_BODY_KEYS)}")
        kr = self.dict_(body["kernel"], "kernel", SCHEMAS["kernel"])
        self.n_objects = self.int_(kr["n_objects"], "kernel.n_objects", 1, MAX_OBJECTS + 1)
        self.next_alloc = self.int_(kr["next_alloc"], "kernel.next_alloc", 1)
        seed = kr["seed"]
        if seed is not None and type(seed) is not int:
            self.fail("kernel.seed is not an int or null")

        # Build a fresh bare kernel (no boot), then replace its state wholesale.
        k = cls.__new__(cls)
        Kernel.__init__(k, seed)
        store = ObjectStore()
        objects: list = [None] * self.n_objects
        store.next_alloc = self.next_alloc
        for rec in self.list_(body["pages"], "pages"):
            page, data = self._object(rec, "page", Page, objects)
            oid = page.id
            if data is not None:
                raw = self.bytes_(data, f"page #{oid}'s data", PAGE_SIZE)
                page.data = bytearray(raw) + bytearray(PAGE_SIZE - len(raw))
            objects[oid] = page
            store.n_pages += 1
        node_slots = []
        for rec in self.list_(body["nodes"], "nodes"):
            node, slots = self._object(rec, "node", Node, objects)
            objects[node.id] = node
            store.n_nodes += 1
            node_slots.append((node, self.list_(slots, f"node #{node.id}'s slots")))
        for node, slots in node_slots:  # keys are checked once every object id is known
            for s in slots:
                s = self.list_(s, f"a slot of node #{node.id}", 5)
                n = self.int_(s[0], f"a slot number of node #{node.id}", 0, SLOTS)
                node.slots[n] = self.key(s[1:], f"node #{node.id} slot {n}")
        store.objects = objects
        for rec in self.list_(body["labels"], "labels"):
            oid, text = self.list_(rec, "a label", 2)
            store.labels[self.int_(oid, "a label's object", 1, self.n_objects)] = \
                self.str_(text, "a label", none=False)
        self.objs = objects

        def live_node(oid, what):
            self.int_(oid, what, 1, self.n_objects)
            if type(objects[oid]) is not Node:
                self.fail(f"{what} #{oid} dangles: no such live node")
            return objects[oid]

        prime = live_node(kr["prime_meter"], "the prime meter")

        # Domain states: two passes (records refer to each other by index).
        recs = self.list_(body["domain_states"], "domain_states")
        self.n_states = len(recs)
        states = []
        domains: dict[int, DomainState] = {}
        for i, rec in enumerate(recs):
            rec = self.dict_(rec, f"domain state {i}", SCHEMAS["domain_state"])
            ds = DomainState(self.int_(rec["root"], f"domain state {i}'s root", 1,
                                       self.n_objects))
            states.append(ds)
            if rec["registered"] is True:
                if ds.root in domains:
                    self.fail(f"domain #{ds.root} is registered twice")
                domains[ds.root] = ds
            elif rec["registered"] is not False:
                self.fail(f"domain state {i}'s 'registered' is not a bool")
        for ds, rec in zip(states, recs):
            w = f"domain #{ds.root}"
            ds.state = self.int_(rec["state"], f"{w}'s state", AVAILABLE, WAITING + 1)
            ds.next = self.action(rec["next"], f"{w}'s next action")
            ds.on_resume = self.action(rec["on_resume"], f"{w}'s on_resume action")
            for entry in self.list_(rec["stall"], f"{w}'s stall queue"):
                inv, op = self.list_(entry, f"{w}'s stall entry", 2)
                ds.stall.append((states[self.state_ref(inv, f"{w}'s stalled invoker")],
                                 self.value(op, f"{w}'s stalled op")))
            ds.resume_alloc = self.int_(rec["resume_alloc"], f"{w}'s resume_alloc", 0,
                                        self.next_alloc)
            held = {self.key(x, f"a key held by {w}")
                    for x in self.list_(rec["held"], f"{w}'s held keys")}
            ds.held = held or ()  # as a domain with no handler holds them (domains.hold)
            ds.cpu = self.int_(rec["cpu"], f"{w}'s cpu")
            if rec["chain"] is not None:
                chain = []
                for c in self.list_(rec["chain"], f"{w}'s meter chain"):
                    mid, alloc, live = self.list_(c, f"{w}'s meter chain entry", 3)
                    if live is True:
                        chain.append(live_node(mid, f"{w}'s meter chain node"))
                    elif live is False:  # a node destroyed since: a stand-in, never live
                        chain.append(Node(self.int_(mid, "a meter id", 1, self.n_objects),
                                          self.int_(alloc, "a meter alloc")))
                    else:
                        self.fail(f"{w}'s meter chain entry has no live flag")
                ds.chain = chain
            ds.chain_epoch = self.int_(rec["chain_epoch"], f"{w}'s chain_epoch", -1)
            ds.image = self.value(rec["image"], f"{w}'s image cache")
            if rec["stalled_on"] is not None:
                ds.stalled_on = states[self.state_ref(rec["stalled_on"], f"{w}'s stalled_on")]
            if rec["woken_by"] is not None:
                ds.woken_by = states[self.state_ref(rec["woken_by"], f"{w}'s woken_by")]
            ds.parked = self.str_(rec["parked"], f"{w}'s parked reason")
            ds.program = self.str_(rec["program"], f"{w}'s program")
            ds.error = self.str_(rec["error"], f"{w}'s error")
        for root in domains:
            live_node(root, "a domain root")

        # The kernel's own fields.
        k.store = store
        k.objs = objects
        k.domains = domains
        k.tick = self.int_(kr["tick"], "kernel.tick")
        k.node_epoch = self.int_(kr["node_epoch"], "kernel.node_epoch")
        k.page_epoch = self.int_(kr["page_epoch"], "kernel.page_epoch")
        k.prime_meter = prime.id
        if kr["rng"] is not None:
            if seed is None:
                self.fail("kernel.rng is saved for a kernel without a seed")
            version, internal, gauss = self.list_(kr["rng"], "kernel.rng", 3)
            rng = random.Random()
            rng.setstate((version, tuple(self.list_(internal, "kernel.rng state")), gauss))
            k._rng = rng
        elif seed is not None:
            self.fail("kernel.rng is missing for a seeded kernel")
        else:
            k._rng = None
        k.runq = deque(states[self.state_ref(i, "a run queue entry")]
                       for i in self.list_(kr["runq"], "kernel.runq"))
        k.parked = [states[self.state_ref(i, "a parked entry")]
                    for i in self.list_(kr["parked"], "kernel.parked")]
        k._borrowers = {states[self.state_ref(i, "a borrower")]
                        for i in self.list_(kr["borrowers"], "kernel.borrowers")}
        k.meter_stopped = {}
        for rec in self.list_(kr["meter_stopped"], "kernel.meter_stopped"):
            mid, entries = self.list_(rec, "a meter_stopped record", 2)
            self.int_(mid, "a stopped meter's id", 1, self.n_objects)
            out = k.meter_stopped[mid] = []
            for e in self.list_(entries, "a meter_stopped entry list"):
                si, act, same = self.list_(e, "a meter_stopped entry", 3)
                ds = states[self.state_ref(si, "a meter-stopped domain")]
                if same is True:
                    if ds.on_resume is None:
                        self.fail(f"domain #{ds.root} is meter-stopped with no on_resume")
                    out.append((ds, ds.on_resume))
                else:
                    out.append((ds, self.action(act, "a meter-stopped action")))
        k.log = self.log(body["log"])
        self.console(k, body["console"], states)
        for ds in states:
            if ds.next is not None and ds.next[0] == A_RETRY and ds.next[1] is None:
                self.fail(f"domain #{ds.root} retries no op")
        return k

    def log(self, rec) -> EventLog:
        rec = self.dict_(rec, "log", SCHEMAS["log"])
        rows = self.int_(rec["chunk_rows"], "log.chunk_rows", 1, MAX_CHUNK_ROWS + 1)
        size = ROW.size * rows
        log = EventLog(rows)
        for i, c in enumerate(self.list_(rec["full"], "log.full")):
            raw = self.bytes_(c, f"event-log chunk {i}", size)
            if len(raw) != size:
                self.fail(f"event-log chunk {i} holds {len(raw)} bytes, not {size}")
            log._full.append(bytearray(raw))
        cap = self.int_(rec["capacity"], "log.capacity", ROW.size, size + 1)
        cur = self.bytes_(rec["current"], "log.current", cap - 1)
        if cap % ROW.size or len(cur) % ROW.size:
            self.fail("the event log's current chunk is not whole rows")
        log._buf = bytearray(cur) + bytearray(cap - len(cur))
        log._off = len(cur)
        log._cap = cap
        if rec["enabled"] not in (True, False):
            self.fail("log.enabled is not a bool")
        log.enabled = rec["enabled"]
        if self.int_(rec["rows"], "log.rows") != len(log):
            self.fail(f"the event log holds {len(log)} rows, the record says {rec['rows']}")
        return log

    def console(self, k, rec, states) -> None:
        from keykos_lab.kernel.console import KeyHandle
        rec = self.dict_(rec, "console", SCHEMAS["console"])
        con = k.console
        root = self.int_(rec["root"], "console.root", 1, self.n_objects)
        ds = states[self.state_ref(rec["state"], "console.state")]
        if k.domains.get(root) is not ds:
            self.fail(f"the console's domain #{root} is not a registered domain")
        if type(self.objs[root]) is not Node:
            self.fail(f"the console's root #{root} dangles")
        ring = []
        for oid in self.list_(rec["ring"], "console.ring"):
            self.int_(oid, "a key-ring node", 1, self.n_objects)
            if type(self.objs[oid]) is not Node:
                self.fail(f"key-ring node #{oid} dangles")
            ring.append(self.objs[oid])
        count = self.int_(rec["count"], "console.count", 0, 15 * len(ring) + 1)
        where = {}
        for e in self.list_(rec["where"], "console.where"):
            key, idx = self.list_(e, "a key-ring index entry", 2)
            where[self.key(key, "a key-ring key")] = self.int_(idx, "a ring index", 0,
                                                               max(count, 1))
        con.kernel = k
        con.root = root
        con.state = ds
        k._console_state = ds
        con._ring = ring
        con._where = where
        con._count = count
        con._names = {}
        for e in self.list_(rec["names"], "console.names"):
            name, idx = self.list_(e, "a console name", 2)
            if type(name) is not str or not name:
                self.fail("a console name is not a non-empty string")
            con._names[name] = KeyHandle(con, self.int_(idx, f"name {name!r}'s ring index",
                                                        0, max(count, 1)))
        if rec["woken"] not in (True, False):
            self.fail("console.woken is not a bool")
        con._woken = rec["woken"]
        con._result = self.value(rec["result"], "console.result")
        con.step_limit = self.int_(rec["step_limit"], "console.step_limit")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


__all__ = ["CheckpointError", "FORMAT", "VERSION", "SCHEMAS", "save", "load", "encode",
           "decode", "read_header", "busy_domains", "bound_programs"]
