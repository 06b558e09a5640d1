"""Reading a checkpoint: the header and body checked, then a whole new kernel built.

:func:`load` checks the format name, the version, the length and the checksum before
it parses the body, and that every program the system runs is registered here;
:func:`decode` then checks every record against its schema and every reference
(object ids, domain states, allocation ids) while it rebuilds the kernel, one part of
its state at a time (:class:`_Decoder`). Anything wrong raises
:class:`~keykos_lab.kernel.errors.CheckpointError` saying what, and the caller never
sees a half-loaded kernel (docs/reliability.md; the design record is
docs/decisions/0005-checkpoint-at-quiescence.md).
"""

from __future__ import annotations

import binascii
import json
import os
import random
from collections import deque
from typing import IO, TypeVar, overload

from keykos_lab.kernel.checkpoint.format import (
    _BODY_KEYS,
    FORMAT,
    MAX_CHUNK_ROWS,
    MAX_HEADER,
    MAX_OBJECTS,
    SCHEMAS,
    VERSION,
    Json,
    _digest,
    _Validator,
)
from keykos_lab.kernel.console import KeyHandle
from keykos_lab.kernel.core import Kernel
from keykos_lab.kernel.domains import A_RETRY, AVAILABLE, WAITING, DomainState
from keykos_lab.kernel.errors import CheckpointError
from keykos_lab.kernel.eventlog import ROW, EventLog
from keykos_lab.kernel.objects import PAGE_SIZE, SLOTS, Node, ObjectStore, Page
from keykos_lab.kernel.process import PROGRAMS

_K = TypeVar("_K", bound=Kernel)


# ------------------------------------------------------------------ the file
def read_header(path: str | os.PathLike) -> dict[str, Json]:
    """The checked header of the checkpoint at ``path`` (the body is not read).

    >>> import os, tempfile
    >>> from keykos_lab.kernel.core import Kernel
    >>> from keykos_lab.kernel.checkpoint import save
    >>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt"); _ = save(Kernel(), path)
    >>> read_header(path)["format"]
    'keykos_lab-checkpoint'
    """
    with _open_for_reading(path) as f:
        return _header(f, path)


def _open_for_reading(path: str | os.PathLike) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot open the checkpoint: {exc}") from None


def _header(f: IO[bytes], path: str | os.PathLike) -> dict[str, Json]:
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


@overload
def load(path: str | os.PathLike, cls: None = None) -> Kernel: ...
@overload
def load(path: str | os.PathLike, cls: type[_K]) -> _K: ...


def load(path: str | os.PathLike, cls: type[Kernel] | None = None) -> Kernel:
    """Restore the kernel saved at ``path`` as an instance of ``cls`` (the kernel
    class; default ``keykos_lab.kernel.core.Kernel``). Boot is not re-run.

    Raises :class:`CheckpointError` for a file that is not a checkpoint, of a newer
    or unknown version, truncated, failing its checksum, naming programs that are
    not registered, or whose records or references are not valid.

    >>> import os, tempfile
    >>> from keykos_lab.kernel.core import Kernel
    >>> from keykos_lab.kernel.checkpoint import save
    >>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt"); _ = save(Kernel(), path)
    >>> load(path).console.names()[:2]
    ['discrim', 'dkc']
    """
    if cls is None:
        cls = Kernel
    header, blob = _read(path)
    _check_blob(path, header, blob)
    try:
        body = json.loads(blob)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{path}: the body is not valid JSON") from None
    return decode(body, cls, path=str(path))


def _read(path: str | os.PathLike) -> tuple[dict[str, Json], bytes]:
    """The checked header and the body's bytes (at most one more than it should hold)."""
    with _open_for_reading(path) as f:
        header = _header(f, path)
        length = header["length"]
        try:
            size: int | None = os.fstat(f.fileno()).st_size
        except OSError:
            size = None
        if size is not None and f.tell() + length > size:
            raise CheckpointError(f"{path}: truncated: the body should hold {length} bytes, "
                                  f"the file has {size - f.tell()}")
        blob = f.read(length + 1)
    return header, blob


def _check_blob(path: str | os.PathLike, header: dict[str, Json], blob: bytes) -> None:
    """The body has the header's length and checksum, and its programs are registered."""
    length = header["length"]
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


# ------------------------------------------------------------------ the body
@overload
def decode(body: Json, cls: None = None, path: str = "<checkpoint>") -> Kernel: ...
@overload
def decode(body: Json, cls: type[_K], path: str = "<checkpoint>") -> _K: ...


def decode(body: Json, cls: type[Kernel] | None = None, path: str = "<checkpoint>") -> Kernel:
    """A new kernel of class ``cls`` from a checkpoint body (as :func:`encode` makes).

    >>> from keykos_lab.kernel.core import Kernel
    >>> from keykos_lab.kernel.checkpoint import encode
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


class _Decoder(_Validator):
    """Checks a body record by record and builds the kernel from it.

    :meth:`kernel` rebuilds the parts in a fixed order, each from its own method:
    the limits (object ids, allocation ids), the object store, the domain states,
    the kernel's own fields and queues, the event log, the console. A part's checks
    may rely on the parts before it (a key is checked against the limits, a domain
    root against the store).
    """

    objs: list[Page | Node | None]   # the rebuilt objects, by id

    def __init__(self, body: Json, path: str) -> None:
        super().__init__(path)
        self.body = body

    # -- the kernel
    def kernel(self, cls: type[_K]) -> _K:
        body = self._body()
        kr = self.dict_(body["kernel"], "kernel", SCHEMAS["kernel"])
        seed = self._limits(kr)
        # Build a fresh bare kernel (no boot), then replace its state wholesale.
        k = cls.__new__(cls)
        Kernel.__init__(k, seed)
        store = self._store(body)
        prime = self._live_node(kr["prime_meter"], "the prime meter")
        states, domains = self._domain_states(body["domain_states"])
        k.store = store
        k.objs = self.objs
        k.domains = domains
        self._clock(k, kr)
        k.prime_meter = prime.id
        k._rng = self._rng(kr["rng"], seed)
        self._queues(k, kr, states)
        k.meter_stopped = self._meter_stopped(kr["meter_stopped"], states)
        k.log = self.log(body["log"])
        self.console(k, body["console"], states)
        self._check_retries(states)
        return k

    def _body(self) -> dict[str, Json]:
        """The body, with exactly the records the format has."""
        body = self.body
        if type(body) is not dict or set(body) != _BODY_KEYS:
            got = sorted(body) if type(body) is dict else type(body).__name__
            self.fail(f"the body has records {got}, expected {sorted(_BODY_KEYS)}")
        return body

    def _limits(self, kr: dict[str, Json]) -> int | None:
        """Learn the object-id and allocation-id limits; the seed."""
        self.n_objects = self.int_(kr["n_objects"], "kernel.n_objects", 1, MAX_OBJECTS + 1)
        self.next_alloc = self.int_(kr["next_alloc"], "kernel.next_alloc", 1)
        seed = kr["seed"]
        if seed is not None and type(seed) is not int:
            self.fail("kernel.seed is not an int or null")
        return seed

    # -- the object store
    def _store(self, body: dict[str, Json]) -> ObjectStore:
        """The object store: pages, nodes (keys checked once every id is known), labels."""
        store = ObjectStore()
        objects: list[Page | Node | None] = [None] * self.n_objects
        store.next_alloc = self.next_alloc
        self._pages(body["pages"], store, objects)
        node_slots = self._nodes(body["nodes"], store, objects)
        for node, slots in node_slots:  # keys are checked once every object id is known
            self._slots(node, slots)
        store.objects = objects
        self._labels(body["labels"], store)
        self.objs = objects
        return store

    def _pages(self, recs: Json, store: ObjectStore, objects: list[Page | Node | None]) -> None:
        for rec in self.list_(recs, "pages"):
            page, data = self._object(rec, "page", Page, objects)
            oid = page.id
            if data is not None:
                raw = self.bytes_(data, f"page #{oid}'s data", PAGE_SIZE)
                page.data = bytearray(raw) + bytearray(PAGE_SIZE - len(raw))
            objects[oid] = page
            store.n_pages += 1

    def _nodes(self, recs: Json, store: ObjectStore,
               objects: list[Page | Node | None]) -> list[tuple[Node, list[Json]]]:
        """The nodes, empty; each with its slot records, unchecked."""
        node_slots = []
        for rec in self.list_(recs, "nodes"):
            node, slots = self._object(rec, "node", Node, objects)
            objects[node.id] = node
            store.n_nodes += 1
            node_slots.append((node, self.list_(slots, f"node #{node.id}'s slots")))
        return node_slots

    def _slots(self, node: Node, slots: list[Json]) -> None:
        for s in slots:
            s = self.list_(s, f"a slot of node #{node.id}", 5)
            n = self.int_(s[0], f"a slot number of node #{node.id}", 0, SLOTS)
            node.slots[n] = self.key(s[1:], f"node #{node.id} slot {n}")

    def _labels(self, recs: Json, store: ObjectStore) -> None:
        for rec in self.list_(recs, "labels"):
            oid, text = self.list_(rec, "a label", 2)
            store.labels[self.int_(oid, "a label's object", 1, self.n_objects)] = \
                self.str_(text, "a label", none=False)

    def _live_node(self, oid: Json, what: str) -> Node:
        self.int_(oid, what, 1, self.n_objects)
        node = self.objs[oid]
        if type(node) is not Node:
            self.fail(f"{what} #{oid} dangles: no such live node")
        return node

    # -- the domain states
    def _domain_states(self, v: Json) -> tuple[list[DomainState], dict[int, DomainState]]:
        """Every domain state, and the registered ones by root. Two passes: records
        refer to each other by index."""
        recs = self.list_(v, "domain_states")
        self.n_states = len(recs)
        states, domains = self._register(recs)
        for ds, rec in zip(states, recs):
            self._domain_state(ds, rec, states)
        for root in domains:
            self._live_node(root, "a domain root")
        return states, domains

    def _register(self, recs: list[Json]) -> tuple[list[DomainState], dict[int, DomainState]]:
        """A bare state for every record (its root checked); the registered ones by root."""
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
        return states, domains

    def _domain_state(self, ds: DomainState, rec: dict[str, Json],
                      states: list[DomainState]) -> None:
        """Fill ``ds`` from its record (already checked to have the schema's fields)."""
        w = f"domain #{ds.root}"
        ds.state = self.int_(rec["state"], f"{w}'s state", AVAILABLE, WAITING + 1)
        ds.next = self.action(rec["next"], f"{w}'s next action")
        ds.on_resume = self.action(rec["on_resume"], f"{w}'s on_resume action")
        for entry in self.list_(rec["stall"], f"{w}'s stall queue"):
            inv, op = self.list_(entry, f"{w}'s stall entry", 2)
            ds.stall.append((states[self.state_ref(inv, f"{w}'s stalled invoker")],
                             self.op(self.value(op, f"{w}'s stalled op"), f"{w}'s stalled op")))
        ds.resume_alloc = self.int_(rec["resume_alloc"], f"{w}'s resume_alloc", 0,
                                    self.next_alloc)
        held = {self.key(x, f"a key held by {w}")
                for x in self.list_(rec["held"], f"{w}'s held keys")}
        ds.held = held or ()  # as a domain with no handler holds them (domains.hold)
        ds.cpu = self.int_(rec["cpu"], f"{w}'s cpu")
        if rec["chain"] is not None:
            ds.chain = self._chain(rec["chain"], w)
        ds.chain_epoch = self.int_(rec["chain_epoch"], f"{w}'s chain_epoch", -1)
        ds.image = self.value(rec["image"], f"{w}'s image cache")
        if rec["stalled_on"] is not None:
            ds.stalled_on = states[self.state_ref(rec["stalled_on"], f"{w}'s stalled_on")]
        if rec["woken_by"] is not None:
            ds.woken_by = states[self.state_ref(rec["woken_by"], f"{w}'s woken_by")]
        ds.parked = self.str_(rec["parked"], f"{w}'s parked reason")
        ds.program = self.str_(rec["program"], f"{w}'s program")
        ds.error = self.str_(rec["error"], f"{w}'s error")

    def _chain(self, v: Json, w: str) -> list[Node]:
        """A cached meter chain: live nodes, and stand-ins for nodes destroyed since."""
        chain = []
        for c in self.list_(v, f"{w}'s meter chain"):
            mid, alloc, live = self.list_(c, f"{w}'s meter chain entry", 3)
            if live is True:
                chain.append(self._live_node(mid, f"{w}'s meter chain node"))
            elif live is False:  # a node destroyed since: a stand-in, never live
                chain.append(Node(self.int_(mid, "a meter id", 1, self.n_objects),
                                  self.int_(alloc, "a meter alloc")))
            else:
                self.fail(f"{w}'s meter chain entry has no live flag")
        return chain

    # -- the kernel's own fields
    def _clock(self, k: Kernel, kr: dict[str, Json]) -> None:
        """The logical clock and the cache epochs."""
        k.tick = self.int_(kr["tick"], "kernel.tick")
        k.node_epoch = self.int_(kr["node_epoch"], "kernel.node_epoch")
        k.page_epoch = self.int_(kr["page_epoch"], "kernel.page_epoch")

    def _rng(self, v: Json, seed: int | None) -> random.Random | None:
        """The scheduler's random state: saved exactly when the kernel has a seed."""
        if v is not None:
            if seed is None:
                self.fail("kernel.rng is saved for a kernel without a seed")
            version, internal, gauss = self.list_(v, "kernel.rng", 3)
            rng = random.Random()
            rng.setstate((version, tuple(self.list_(internal, "kernel.rng state")), gauss))
            return rng
        if seed is not None:
            self.fail("kernel.rng is missing for a seeded kernel")
        return None

    def _queues(self, k: Kernel, kr: dict[str, Json], states: list[DomainState]) -> None:
        """The run queue, the parked domains and the CPU borrowers."""
        k.runq = deque(states[self.state_ref(i, "a run queue entry")]
                       for i in self.list_(kr["runq"], "kernel.runq"))
        k.parked = [states[self.state_ref(i, "a parked entry")]
                    for i in self.list_(kr["parked"], "kernel.parked")]
        k._borrowers = {states[self.state_ref(i, "a borrower")]
                        for i in self.list_(kr["borrowers"], "kernel.borrowers")}

    def _meter_stopped(self, v: Json, states: list[DomainState]) -> dict[int, list[Json]]:
        """Domains stopped by a dry meter with no keeper, by meter id."""
        stopped: dict[int, list[Json]] = {}
        for rec in self.list_(v, "kernel.meter_stopped"):
            mid, entries = self.list_(rec, "a meter_stopped record", 2)
            self.int_(mid, "a stopped meter's id", 1, self.n_objects)
            out = stopped[mid] = []
            for e in self.list_(entries, "a meter_stopped entry list"):
                si, act, same = self.list_(e, "a meter_stopped entry", 3)
                ds = states[self.state_ref(si, "a meter-stopped domain")]
                if same is True:
                    if ds.on_resume is None:
                        self.fail(f"domain #{ds.root} is meter-stopped with no on_resume")
                    out.append((ds, ds.on_resume))
                else:
                    out.append((ds, self.action(act, "a meter-stopped action")))
        return stopped

    def _check_retries(self, states: list[DomainState]) -> None:
        for ds in states:
            if ds.next is not None and ds.next[0] == A_RETRY and ds.next[1] is None:
                self.fail(f"domain #{ds.root} retries no op")

    # -- the event log
    def log(self, rec: Json) -> EventLog:
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

    # -- the console
    def console(self, k: Kernel, rec: Json, states: list[DomainState]) -> None:
        rec = self.dict_(rec, "console", SCHEMAS["console"])
        con = k.console
        root = self.int_(rec["root"], "console.root", 1, self.n_objects)
        ds = states[self.state_ref(rec["state"], "console.state")]
        if k.domains.get(root) is not ds:
            self.fail(f"the console's domain #{root} is not a registered domain")
        if type(self.objs[root]) is not Node:
            self.fail(f"the console's root #{root} dangles")
        ring = self._ring(rec["ring"])
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

    def _ring(self, v: Json) -> list[Node]:
        """The console's key-ring nodes, each live."""
        ring = []
        for oid in self.list_(v, "console.ring"):
            self.int_(oid, "a key-ring node", 1, self.n_objects)
            node = self.objs[oid]
            if type(node) is not Node:
                self.fail(f"key-ring node #{oid} dangles")
            ring.append(node)
        return ring
