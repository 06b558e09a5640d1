"""The checkpoint file format: constants, record schemas, the checksum, and the
encode/decode of every record.

Everything here is a pure function between kernel values and JSON data. Encoding
(``_value``, ``_page_record``, ``_node_record``, ``_domain_record``, ``_log_record``)
turns what the kernel holds into lists, dicts, ints, strings and base64. Decoding is
:class:`_Validator`: its checked readers take JSON that came from a file — and so may
be hostile — and give back values the kernel can own (a :class:`~keykos_lab.kernel.keys.Key`
with a live type and an issued allocation id, bytes of a bounded size, an int in a
range), or raise :class:`~keykos_lab.kernel.errors.CheckpointError` saying what is
wrong. The package docstring (``keykos_lab.kernel.checkpoint``) describes the file;
docs/decisions/0005-checkpoint-at-quiescence.md is the design record and
docs/reliability.md lists the guarantees.

>>> _value((A_SEND, b"hi"))
['T', [1, ['B', 'aGk=']]]
>>> _Validator("<doc>").action(['T', [1, ['B', 'aGk=']]], "an action")
(1, b'hi')
>>> _Validator("<doc>").action(['T', [0, ['K', 0, 5, 0, 0]]], "an action")
Traceback (most recent call last):
keykos_lab.kernel.errors.CheckpointError: <doc>: invalid checkpoint: an action starts a ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
from collections.abc import Callable, Iterable
from typing import Any, Literal, NoReturn, TypeVar, overload

from keykos_lab.kernel.domains import A_RETRY, A_SEND, A_START, A_TRAP, Action, DomainState
from keykos_lab.kernel.errors import CheckpointError
from keykos_lab.kernel.eventlog import CAUSES, EventLog
from keykos_lab.kernel.keys import (
    DATA,
    DATA_LIMIT,
    DK0,
    DOMAIN,
    FAULT,
    FETCH,
    FRONTEND,
    METER,
    MISC,
    MISC_NAMES,
    NODE,
    OBJECT_TYPES,
    PAGE,
    RESTART,
    RESUME,
    SEGMENT,
    SENSE,
    START,
    TYPE_NAMES,
    Key,
)
from keykos_lab.kernel.objects import Node, Page
from keykos_lab.kernel.ops import (
    MAX_ACCESS,
    BadOp,
    Jump,
    KeeperCall,
    MemoryOp,
    Svc,
    parse,
    program_form,
)
from keykos_lab.kernel.process import CALL_KEYS, MAX_ORDER, MAX_STRING, Message
from keykos_lab.kernel.state import KernelState

#: JSON data: what ``json.loads`` makes of a file (and so, read back, possibly hostile).
Json = Any

FORMAT = "keykos_lab-checkpoint"
#: The newest format version this keykos_lab reads: 2 for a snapshot taken at
#: quiescence (what ``save`` writes when nothing is mid-flight), 3 for a checkpoint by
#: replay (:mod:`.replay`: a quiescent base, the inputs since, the events they made).
VERSION = 3
SNAPSHOT_VERSION = 2
REPLAY_VERSION = 3
MAX_HEADER = 1 << 20  # bytes: a longer first line is not a header
MAX_OBJECTS = 1 << 25  # object ids a checkpoint may claim (memory bound)
#: Object ids a body may claim beyond one per byte of it: the loader's list of objects
#: (8 bytes an id) stays proportional to the file (``save`` pads a body that would not).
OBJECTS_FREE = 1 << 16
MAX_CHUNK_ROWS = 1 << 22  # rows per event-log chunk a checkpoint may claim
MAX_DEPTH = 16  # nesting of a saved value (ops, messages)
#: Ticks, epochs, allocation ids, counters and limits: what fits the event log's and the
#: object table's int64 columns.
INT64 = 1 << 63
#: A seed is any int of at most this many bits (``random.Random`` takes any int).
SEED_BITS = 1024
_VALUE_INT = 1 << 64  # the widest int inside a saved value (an address, an order)
_LEGACY_IMPLICIT, _LEGACY_CALL_FIELDS = 100, 7  # a version-1 file's keeper call: (100, …6 fields)

#: Every record of the body, field by field (also written into each header).
SCHEMAS: dict[str, dict[str, str]] = {
    "key": {"": "[type, object, databyte, alloc]: four ints, as keys.Key"},
    "value": {
        "": "a saved Python value: int | null | ['K', t, o, d, a] (a key) | "
        "['B', base64] (bytes) | ['M', order, [4 keys], base64, databyte] (a "
        "Message) | ['S', text] | ['T', [values]] (a tuple) | ['C', keeper key, order, "
        "[up to 3 keys], base64, flavour, cause] (a call the kernel was making "
        "to a keeper; version 1 wrote ['T', [100, …]])"
    },
    "kernel": {
        "seed": "int | null",
        "rng": "the scheduler's random.Random state as [version, [625 ints], gauss_next] | null",
        "tick": "int",
        "node_epoch": "int",
        "page_epoch": "int",
        "prime_meter": "object id",
        "next_alloc": "int",
        "n_objects": "int: object ids ever made + 1",
        "runq": "[domain-state index]",
        "parked": "[domain-state index]",
        "borrowers": "[domain-state index]",
        "meter_stopped": "[[meter id, [[domain-state index, action value, same]]]] "
        "(a live node's id, each once; same: true when the action "
        "is that domain's on_resume, else false)",
    },
    "page": {
        "": "[id, alloc, base64 of the bytes up to the last nonzero one | null (never written)]"
    },
    "node": {
        "": "[id, alloc, [[slot, type, object, databyte, alloc], ...]] (slots "
        "holding DK(0) are left out)"
    },
    "label": {"": "[object id, text]"},
    "domain_state": {
        "root": "object id",
        "registered": "bool: in kernel.domains",
        "state": "1 available | 2 running | 3 waiting",
        "next": "action value | null",
        "on_resume": "action value | null",
        "stall": "[[domain-state index, op value]]",
        "resume_alloc": "int",
        "held": "[key] (sorted)",
        "cpu": "int: ticks borrowed",
        "chain": "[[meter node id, alloc, live]] | null",
        "chain_epoch": "int",
        "image": "value | null",
        "stalled_on": "domain-state index | null",
        "woken_by": "domain-state index | null",
        "parked": "text | null",
        "program": "text | null",
        "error": "text | null",
    },
    "console": {
        "root": "object id",
        "state": "domain-state index",
        "ring": "[node id]",
        "where": "[[key, ring index]]",
        "count": "int",
        "names": "[[name, ring index]]",
        "woken": "bool",
        "result": "value",
        "step_limit": "int",
    },
    "log": {
        "chunk_rows": "int",
        "enabled": "bool",
        "full": "[base64 of a full chunk]",
        "current": "base64 of the rows in the chunk being filled",
        "capacity": "bytes allocated to the chunk being filled",
        "rows": "int",
    },
}
_BODY_KEYS = frozenset({"kernel", "pages", "nodes", "labels", "domain_states", "console", "log"})


# ------------------------------------------------------------------ the checksum
def _digest(header: dict[str, Json], blob: bytes | list[bytes]) -> str:
    """SHA-256 over the header's fields but ``sha256`` (canonical JSON) and the body
    (bytes, or the list of pieces it is made of)."""
    rest = {k: v for k, v in header.items() if k != "sha256"}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()
    h = hashlib.sha256(canonical)  # fed in parts: no copy of a large body
    h.update(b"\n")
    for part in [blob] if isinstance(blob, bytes) else blob:
        h.update(part)
    return h.hexdigest()


def _b64(data: bytes | bytearray) -> str:
    return base64.b64encode(data).decode("ascii")


# ------------------------------------------------------------------ encoding
def _page_record(page: Page) -> list[Json]:
    """A page as ``[id, alloc, base64 | null]`` (SCHEMAS['page'])."""
    data = page.data
    return [page.id, page.alloc, None if data is None else _b64(bytes(data).rstrip(b"\0"))]


def _node_record(node: Node) -> list[Json]:
    """A node as ``[id, alloc, [[slot, *key], ...]]``, DK(0) slots left out (SCHEMAS['node'])."""
    return [node.id, node.alloc, [[i, *key] for i, key in enumerate(node.slots) if key != DK0]]


def _domain_record(
    k: KernelState, ds: DomainState, ref: Callable[[DomainState], int]
) -> dict[str, Json]:
    """A domain's kernel state (SCHEMAS['domain_state']); ``ref`` indexes the states it
    names."""
    chain = None
    if ds.chain is not None:
        chain = [[n.id, n.alloc, 0 < n.id < len(k.objs) and k.objs[n.id] is n] for n in ds.chain]
    return {
        "root": ds.root,
        "registered": k.domains.get(ds.root) is ds,
        "state": ds.state,
        "next": _value(ds.next),
        "on_resume": _value(ds.on_resume),
        "stall": [[ref(inv), _value(op)] for inv, op in ds.stall],
        "resume_alloc": ds.resume_alloc,
        "held": sorted(list(key) for key in set(ds.held)),
        "cpu": ds.cpu,
        "chain": chain,
        "chain_epoch": ds.chain_epoch,
        "image": _value(ds.image),
        "stalled_on": None if ds.stalled_on is None else ref(ds.stalled_on),
        "woken_by": None if ds.woken_by is None else ref(ds.woken_by),
        "parked": ds.parked,
        "program": ds.program,
        "error": ds.error,
    }


def _log_chunks(log: EventLog) -> list[bytes | bytearray]:
    """The full chunks of the event log (not copied), spilled ones read back from the sink."""
    sink: Any = log.sink  # set when chunks were spilled
    spilled: list[bytes | bytearray] = []
    for n in range(log._spilled):  # read back from the sink, which may fail
        try:
            spilled.append(bytes(sink.read(n)))
        except Exception as exc:
            raise CheckpointError(
                f"cannot save the event log: spilled chunk {n} does not read back: {exc}"
            ) from exc
    return spilled + log._full


def _log_record(log: EventLog) -> dict[str, Json]:
    """The event log as its packed chunks (SCHEMAS['log']); spilled chunks are read
    back from the sink."""
    return {
        "chunk_rows": log._rows,
        "enabled": bool(log.enabled),
        "full": [_b64(c) for c in _log_chunks(log)],
        "current": _b64(bytes(log._buf[: log._off])),
        "capacity": log._cap,
        "rows": len(log),
    }


def _log_json(log: EventLog) -> bytes:
    """The canonical JSON of :func:`_log_record` (the same bytes), made without a text
    copy of the rows: base64 is plain ASCII that JSON never escapes.

    >>> log = EventLog(chunk_rows=2)
    >>> for t in range(3):
    ...     log.emit(t, 0, 0, 1, -1, -1, -1, 0, -1, 0, 0, 1, 1, 0)
    >>> plain = json.dumps(_log_record(log), sort_keys=True, separators=(",", ":"))
    >>> _log_json(log) == plain.encode()
    True
    """
    return b"".join(log_json_parts(log))


def log_json_parts(log: EventLog) -> list[bytes]:
    """:func:`_log_json` as the pieces it joins (a checkpoint writes them as they are).

    >>> b"".join(log_json_parts(EventLog())) == _log_json(EventLog())
    True
    """
    parts = [
        b'{"capacity":%d,"chunk_rows":%d,"current":"' % (log._cap, log._rows),
        base64.b64encode(bytes(log._buf[: log._off])),
        b'","enabled":%s,"full":[' % (b"true" if log.enabled else b"false"),
    ]
    for i, chunk in enumerate(_log_chunks(log)):
        parts += (b',"' if i else b'"', base64.b64encode(chunk), b'"')
    parts.append(b'],"rows":%d}' % len(log))
    return parts


def _rng_state(rng: random.Random) -> list[Json]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _value(v: object, depth: int = 0) -> Json:
    """A kernel value (action, op, message) as JSON data; see SCHEMAS['value']."""
    if v is None or type(v) is int:
        return v
    if depth > MAX_DEPTH:
        raise CheckpointError("a saved value is nested too deeply")
    if type(v) is Key:
        return ["K", *v]
    if type(v) is Message:
        return ["M", v.order, [list(key) for key in v.keys], _b64(v.data), v.databyte]
    if type(v) is KeeperCall:
        return [
            "C",
            list(v.keeper),
            v.order,
            [list(key) for key in v.keys],
            _b64(v.data),
            v.flavour,
            v.cause,
        ]
    if type(v) is Jump or type(v) is MemoryOp or type(v) is Svc:
        v = program_form(v)  # saved as the tuple a program yields: parsed again on restore
    if isinstance(v, (bytes, bytearray, memoryview)):
        return ["B", _b64(bytes(v))]
    if type(v) is str:
        return ["S", v]
    if isinstance(v, (tuple, list)):
        return ["T", [_value(x, depth + 1) for x in v]]
    raise CheckpointError(
        f"cannot save a value of type {type(v).__name__} in the kernel state: {v!r:.80}"
    )


# ------------------------------------------------------------------ decoding
_Obj = TypeVar("_Obj", Page, Node)

#: Key types that designate a node (a domain's root for START, RESUME and DOMAIN keys),
#: and those that designate a page: a key of any other object type names a live object of
#: the right kind or a destroyed one (ids are never reused, so a kind never changes).
NODE_KEYS = frozenset({NODE, METER, FETCH, START, RESUME, DOMAIN, SEGMENT, SENSE, FRONTEND})
PAGE_KEYS = frozenset({PAGE})
#: Key types that are neither data, misc nor object keys: the kernel makes them only as
#: ``[type, 0, 0, 0]`` (boot's range keys), so that is the only form a file may hold.
_PLAIN_KEYS = frozenset(TYPE_NAMES) - OBJECT_TYPES - {DATA, MISC}
assert NODE_KEYS | PAGE_KEYS == OBJECT_TYPES


class _Validator:
    """Checked readers: JSON from a checkpoint in, kernel-owned values out.

    Each reader checks one value against its schema and returns it (or the kernel
    value it stands for); anything else raises :class:`CheckpointError` naming the
    file and ``what`` was wrong. Key and object-id checks need the limits of the
    checkpoint being read, which the decoder sets as it learns them; once the objects
    are known (``objs``), a key's type is checked against the kind of object it names.
    """

    n_objects: int  # object ids ever made + 1 (kernel.n_objects)
    next_alloc: int  # the next allocation id (kernel.next_alloc)
    n_states: int  # domain states in the body

    def __init__(self, path: str) -> None:
        self.path = path
        self.n_objects = MAX_OBJECTS + 1
        self.next_alloc = INT64
        self.n_states = 0
        #: The objects by id, once read (None: keys are checked against the limits only).
        self.objs: list[Page | Node | None] | None = None
        #: Every resume key read, with where it was (checked once domains are known).
        self.resume_keys: list[tuple[Key, str]] = []
        #: Object keys already checked against the whole store (``objs`` set): the same
        #: four ints recur (a domain's keys, the history's), and the limits are set before
        #: any key is read and an object's kind never changes, so the check holds again.
        self._checked: dict[tuple[int, int, int, int], Key] = {}

    def fail(self, why: str) -> NoReturn:
        raise CheckpointError(f"{self.path}: invalid checkpoint: {why}")

    # -- small checked readers
    def int_(self, v: Json, what: str, lo: int = 0, hi: int | None = INT64) -> int:
        """An exact int in ``[lo, hi)`` (``hi`` None: no upper bound)."""
        if type(v) is not int or v < lo or (hi is not None and v >= hi):
            if hi is not None and hi <= lo:
                self.fail(
                    f"{what} is {v!r:.60}, but no value is allowed here (the range "
                    f"[{lo}, {hi}) is empty)"
                )
            top = "no upper bound" if hi is None else f"{hi}"
            self.fail(f"{what} is {v!r:.60}, not an int in [{lo}, {top})")
        return v

    def bool_(self, v: Json, what: str) -> bool:
        if v is not True and v is not False:
            self.fail(f"{what} is {v!r:.20}, not true or false")
        return v

    @overload
    def str_(self, v: Json, what: str, none: Literal[False]) -> str: ...
    @overload
    def str_(self, v: Json, what: str, none: bool = True) -> str | None: ...

    def str_(self, v: Json, what: str, none: bool = True) -> str | None:
        if v is None and none:
            return None
        if type(v) is not str:
            self.fail(f"{what} is not text")
        return v

    def list_(self, v: Json, what: str, n: int | None = None) -> list[Json]:
        if type(v) is not list or (n is not None and len(v) != n):
            self.fail(f"{what} is not a list" + (f" of {n}" if n is not None else ""))
        return v

    def _object(
        self, rec: Json, kind: str, make: type[_Obj], objects: dict[int, Page | Node]
    ) -> tuple[_Obj, Json]:
        """A page or node record ``[id, alloc, payload]``: the new object (an id
        not yet taken, an alloc already issued) and its payload, unchecked."""
        oid, alloc, payload = self.list_(rec, f"a {kind} record", 3)
        self.int_(oid, f"a {kind} id", 1, self.n_objects)
        if oid in objects:
            self.fail(f"object #{oid} is saved twice")
        return make(oid, self.int_(alloc, f"{kind} #{oid}'s alloc", 1, self.next_alloc)), payload

    def dict_(self, v: Json, what: str, keys: Iterable[str]) -> dict[str, Json]:
        if type(v) is not dict:
            self.fail(f"{what} is not an object")
        if set(v) != set(keys):
            self.fail(f"{what} has fields {sorted(v)}, expected {sorted(keys)}")
        return v

    def bytes_(self, v: Json, what: str, limit: int) -> bytes:
        """The bytes a base64 text holds: its length checked before it is decoded."""
        if type(v) is not str or len(v) > (limit + 2) // 3 * 4:
            self.fail(f"{what} is not base64 of at most {limit} bytes")
        try:
            out = base64.b64decode(v.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            self.fail(f"{what} is not valid base64")
        if len(out) > limit:
            self.fail(f"{what} holds {len(out)} bytes, more than {limit}")
        return out

    def key(self, v: Json, what: str) -> Key:
        """A key: a known type, each field in its range, and for an object key an object
        that was made, an allocation id that was issued, and an object of the kind the
        type designates (a page key names a page, a node or domain key a node)."""
        t, o, db, a = self.list_(v, what, 4)
        if type(t) is not int or type(o) is not int or type(db) is not int or type(a) is not int:
            self.fail(f"{what} {v!r:.60} is not four ints")
        objs = self.objs
        if objs is not None:
            known = self._checked.get((t, o, db, a))
            if known is not None:
                if t == RESUME:
                    self.resume_keys.append((known, what))
                return known
        if t not in TYPE_NAMES:
            self.fail(f"{what} has unknown key type {t!r:.30}")
        if not 0 <= db <= 255:
            self.fail(f"{what} {v!r:.60} has databyte {db!r:.30}, not 0..255")
        if t == DATA:
            if not 0 <= o < DATA_LIMIT or db or a:
                self.fail(f"{what} {v!r:.60} is not a valid data key")
            return DK0 if o == 0 else Key(DATA, o, 0, 0)
        if t == MISC:
            if o not in MISC_NAMES:
                self.fail(f"{what} names unknown misc key {o!r:.30}")
            if db or a:
                self.fail(f"{what} {v!r:.60}: a misc key has databyte 0 and alloc 0")
            return Key(MISC, o, 0, 0)
        if t in _PLAIN_KEYS:
            if o or db or a:
                self.fail(f"{what} {v!r:.60}: a {TYPE_NAMES[t]} key is [{t}, 0, 0, 0]")
            return Key(t, 0, 0, 0)
        if not 0 < o < self.n_objects:
            self.fail(f"{what} {v!r:.60} dangles: object #{o} was never made")
        if not 0 < a < self.next_alloc:
            self.fail(f"{what} {v!r:.60} dangles: alloc id {a} was never issued")
        if objs is not None:
            obj = objs[o]
            if obj is not None and type(obj) is not (Page if t in PAGE_KEYS else Node):
                self.fail(
                    f"{what} {v!r:.60}: a {TYPE_NAMES[t]} key names {obj.kind} #{o}, "
                    f"not a {'page' if t in PAGE_KEYS else 'node'}"
                )
        key = Key(t, o, db, a)
        if objs is not None:
            self._checked[key] = key
        if t == RESUME:
            self.resume_keys.append((key, what))
        return key

    def value(self, v: Json, what: str, depth: int = 0) -> Any:
        if v is None or type(v) is int:
            if v is not None and not -_VALUE_INT <= v <= _VALUE_INT:
                self.fail(f"{what} holds {v!r:.30}, more than 64 bits")
            return v
        if depth > MAX_DEPTH:
            self.fail(f"{what} is nested too deeply")
        if type(v) is not list or not v or type(v[0]) is not str:
            self.fail(f"{what} is not a saved value")
        tag = v[0]
        if tag == "K" and len(v) == 5:
            return self.key(v[1:], what)
        if tag == "B" and len(v) == 2:  # a memory access's bytes (a read's result, a write's)
            return self.bytes_(v[1], what, MAX_ACCESS)
        if tag == "S" and len(v) == 2:
            return self.str_(v[1], what, none=False)
        if tag == "T" and len(v) == 2:
            t = tuple(self.value(x, what, depth + 1) for x in self.list_(v[1], what))
            if len(t) == _LEGACY_CALL_FIELDS and t[0] == _LEGACY_IMPLICIT:  # a version-1 file
                return self.keeper_call(
                    [
                        list(t[1]) if type(t[1]) is Key else t[1],
                        t[2],
                        [list(k) for k in t[3]] if type(t[3]) is tuple else t[3],
                        _b64(t[4]) if type(t[4]) is bytes else t[4],
                        t[5],
                        t[6],
                    ],
                    what,
                )
            return t
        if tag == "C" and len(v) == _LEGACY_CALL_FIELDS:
            return self.keeper_call(v[1:], what)
        if tag == "M" and len(v) == 5:
            k0, k1, k2, k3 = (self.key(x, what) for x in self.list_(v[2], what, 4))
            return Message(
                self.int_(v[1], f"{what}'s order", -INT64, INT64),
                (k0, k1, k2, k3),
                self.bytes_(v[3], f"{what}'s string", MAX_STRING),
                self.int_(v[4], f"{what}'s databyte", 0, 256),
            )
        self.fail(f"{what} has unknown tag {tag!r:.20}")

    def keeper_call(self, v: Json, what: str) -> KeeperCall:
        """A call the kernel was making to a keeper: each field checked."""
        keeper, order, keys, data, flavour, cause = self.list_(v, what, 6)
        return KeeperCall(
            self.key(keeper, what),
            self.int_(order, what, 0, MAX_ORDER + 1),
            tuple(self.key(k, what) for k in self.list_(keys, what, CALL_KEYS)),
            self.bytes_(data, what, MAX_STRING),
            self.choice(flavour, what, (FAULT, RESTART)),
            self.choice(cause, what, range(len(CAUSES))),
        )

    def choice(self, v: Json, what: str, allowed: Iterable[int]) -> int:
        if type(v) is not int or v not in allowed:
            self.fail(f"{what}: {v!r:.20} is not one of {sorted(allowed)}")
        return v

    def op(self, v: Any, what: str) -> Any:
        """An op the kernel kept to retry: a keeper call, or a program's op that parses."""
        if type(v) is KeeperCall:
            return v
        if type(v) is not tuple or isinstance(parse(v), BadOp):
            self.fail(f"{what} is not an op the kernel could have kept")
        return v

    def action(self, v: Json, what: str) -> Action | None:
        """What a domain does next: each kind's value checked (docs/reliability.md)."""
        act = self.value(v, what)
        return None if act is None else self.checked_action(act, what)

    def checked_action(self, act: Any, what: str, depth: int = 0) -> Action:
        if type(act) is not tuple or len(act) != 2 or type(act[0]) is not int or depth > MAX_DEPTH:
            self.fail(f"{what} is not an action (kind, value)")
        kind, value = act
        if kind == A_START:
            if type(value) is not Message:
                self.fail(f"{what} starts a handler with {type(value).__name__}, not a message")
        elif kind == A_SEND:
            if not (value is None or type(value) is Message or type(value) is bytes):
                self.fail(f"{what} resumes a handler with {type(value).__name__}")
        elif kind == A_RETRY:
            self.op(value, what)
        elif kind == A_TRAP:
            if (
                type(value) is not tuple
                or len(value) != 2
                or type(value[0]) is not int
                or not 0 <= value[0] <= MAX_ORDER
            ):
                self.fail(f"{what} traps with no (code, on_resume)")
            if value[1] is not None:
                self.checked_action(value[1], what, depth + 1)
        else:
            self.fail(f"{what} has unknown kind {kind}")
        return act

    def state_ref(self, v: Json, what: str) -> int:
        if self.n_states == 0:
            self.fail(f"{what} is {v!r:.30}, but the checkpoint holds no domain states")
        return self.int_(v, f"{what} (a domain-state index)", 0, self.n_states)


def needs_handler(act: Action | None) -> bool:
    """True when carrying out ``act`` resumes a running handler (a value sent into it,
    or a program's own op retried): no such action can be pending at quiescence, when
    no domain has a handler, so a checkpoint never holds one where it could run.

    >>> needs_handler((A_SEND, None)), needs_handler((A_START, None)), needs_handler(None)
    (True, False, False)
    """
    while act is not None:
        kind, value = act
        if kind == A_SEND or (kind == A_RETRY and type(value) is not KeeperCall):
            return True
        if kind != A_TRAP:
            return False
        act = value[1]
    return False
