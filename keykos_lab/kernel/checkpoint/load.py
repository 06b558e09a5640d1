"""Reading a checkpoint: the header and body checked, then a whole new kernel built.

:func:`load` opens only a regular file (a FIFO, a device or a folder is refused
without blocking), checks the format name, the version, the length and the checksum
before it parses the body, and that every program the system runs is registered here;
:func:`decode` then checks every record against its schema and every reference
(object ids and the kind of object each key names, domain states, allocation ids,
every integer's range) while it rebuilds the kernel, one part of its state at a time
(:class:`_Decoder`), and last checks that the state is one a quiescent kernel can be
in (the caches agree with what they cache, nothing waits on a handler). Anything
wrong raises :class:`~keykos_lab.kernel.errors.CheckpointError` saying what, and the
caller never sees a half-loaded kernel (docs/reliability.md; the design record is
docs/decisions/0005-checkpoint-at-quiescence.md). A failure that is the loader's own
bug, not the file's fault, raises :class:`CheckpointLoaderBug` instead.
"""

from __future__ import annotations

import json
import math
import os
import random
import stat
from collections import deque
from collections.abc import Callable
from typing import IO, TypeVar, overload

from keykos_lab.kernel.checkpoint.format import (
    _BODY_KEYS,
    FORMAT,
    INT64,
    MAX_CHUNK_ROWS,
    MAX_HEADER,
    MAX_OBJECTS,
    OBJECTS_FREE,
    REPLAY_VERSION,
    SCHEMAS,
    SEED_BITS,
    VERSION,
    Json,
    _digest,
    _Validator,
    needs_handler,
)
from keykos_lab.kernel.checkpoint.history import decode_history
from keykos_lab.kernel.collector import gc_paused
from keykos_lab.kernel.console import RING_PER_NODE, RING_SLOT, KeyHandle
from keykos_lab.kernel.core import Kernel
from keykos_lab.kernel.domains import A_RETRY, AVAILABLE, RUNNING, WAITING, DomainState
from keykos_lab.kernel.errors import CheckpointError, KernelError
from keykos_lab.kernel.eventlog import (
    CAUSES,
    EVENTS,
    FIRST_ROWS,
    JUMPS,
    KEY_TYPES,
    ROW,
    STATES,
    EventLog,
)
from keykos_lab.kernel.keys import DATA, DATA_LIMIT, NODE, Key
from keykos_lab.kernel.meters import BORROW_TICKS, MAX_METER_DEPTH, METER_COUNTER
from keykos_lab.kernel.objects import PAGE_SIZE, SLOTS, Node, ObjectStore, Page
from keykos_lab.kernel.ops import MAX_ACCESS
from keykos_lab.kernel.process import KEYS_PER_MESSAGE, MAX_STRING, PROGRAMS, Message

_K = TypeVar("_K", bound=Kernel)
_RNG_VERSION, _RNG_WORDS = 3, 625  # random.Random.getstate(): version 3, 624 words + index


class CheckpointLoaderBug(KernelError):
    """The checkpoint loader itself failed: a bug in keykos_lab, not (only) a bad file.

    Raised by :func:`decode` for an exception its checks did not foresee, so that a
    bug is never reported as an invalid checkpoint; the original exception is chained.
    """


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
    """``path`` open for reading, if it is a regular file. Opened without blocking (a
    FIFO opened for reading waits for a writer) and checked after opening, so that
    nothing swapped in between a check and the open gets through.

    >>> _open_for_reading("/dev/null")
    Traceback (most recent call last):
    ...
    keykos_lab.kernel.errors.CheckpointError: /dev/null: not a checkpoint: a character device, ...
    """
    try:
        fd = os.open(
            path,
            os.O_RDONLY
            | getattr(os, "O_NONBLOCK", 0)
            | getattr(os, "O_NOCTTY", 0)
            | getattr(os, "O_BINARY", 0),
        )
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: cannot open the checkpoint: {exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise CheckpointError(f"{path}: not a checkpoint: {_kind(mode)}, not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _strict_json(raw: bytes | str, path: str | os.PathLike, what: str) -> Json:
    """JSON as the writer makes it: no repeated field in an object (the last would
    silently win), no NaN or Infinity."""

    def pairs(items: list[tuple[str, Json]]) -> dict[str, Json]:
        out = dict(items)
        if len(out) != len(items):
            seen: set[str] = set()
            twice = next(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise CheckpointError(
                f"{path}: invalid checkpoint: {what} repeats the field {twice!r:.40}"
            )
        return out

    def constant(name: str) -> Json:
        raise CheckpointError(
            f"{path}: invalid checkpoint: {what} holds {name}, which a checkpoint never does"
        )

    try:
        return json.loads(raw, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError):
        raise CheckpointError(
            f"{path}: {what} is not valid JSON: not a keykos_lab checkpoint, or corrupt"
        ) from None


def _header(f: IO[bytes], path: str | os.PathLike) -> dict[str, Json]:
    line = f.readline(MAX_HEADER + 1)
    if not line:
        raise CheckpointError(f"{path}: empty file: not a checkpoint (truncated?)")
    if not line.endswith(b"\n"):
        raise CheckpointError(
            f"{path}: no header line: not a keykos_lab checkpoint, or truncated inside its header"
        )
    header = _strict_json(line, path, "the header")
    if type(header) is not dict or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a keykos_lab checkpoint (format name missing)")
    version = header.get("version")
    if type(version) is not int or version < 1:
        raise CheckpointError(f"{path}: unknown checkpoint format version {version!r:.40}")
    if version > VERSION:
        raise CheckpointError(
            f"{path}: format version {version} was written by a newer "
            f"keykos_lab; this one reads versions up to {VERSION}"
        )
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
    """Restore the snapshot saved at ``path`` as an instance of ``cls`` (the kernel
    class; default ``keykos_lab.kernel.core.Kernel``). Boot is not re-run. (The
    package's ``load``, :func:`.replay.load`, restores checkpoints by replay too.)

    Raises :class:`CheckpointError` for a file that is not a regular file or not a
    checkpoint, of a newer or unknown version, truncated, failing its checksum, naming
    programs that are not registered, or whose records or references are not valid.

    >>> import os, tempfile
    >>> from keykos_lab.kernel.core import Kernel
    >>> from keykos_lab.kernel.checkpoint import save
    >>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt"); _ = save(Kernel(), path)
    >>> load(path).console.names()[:2]
    ['calclock', 'discrim']
    """
    if cls is None:
        cls = Kernel
    header, blob = _read(path)
    return snapshot(path, cls, header, blob)


def snapshot(
    path: str | os.PathLike,
    cls: type[_K],
    header: dict[str, Json],
    blob: bytes,
) -> _K:
    """The snapshot in a file's checked header and body bytes (as :func:`_read` gives
    them), restored as :func:`load` says; the journal's base is the body as read, its log
    null and without its history (a base's log is empty: a replay from it starts the
    history there). The file is read once."""
    with gc_paused():
        _check_blob(path, header, blob)
        body = _strict_json(blob, path, "the body")
        if header["version"] == REPLAY_VERSION:
            raise CheckpointError(
                f"{path}: a checkpoint by replay (version {REPLAY_VERSION}): restore it with "
                "keykos_lab.kernel.checkpoint.load or kl.Kernel.restore"
            )
        kernel = decode(
            body,
            cls,
            path=str(path),
            size=len(blob),
            check=lambda k: _check_programs(path, header, k),
        )
        body["log"] = None  # the restored state is the journal's base
        body.pop("history", None)
        base = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        kernel.console.journal.rebase(base, len(kernel.log), len(kernel.objs))
    return kernel


def _read(path: str | os.PathLike) -> tuple[dict[str, Json], bytes]:
    """The checked header and the body's bytes (at most one more than it should hold)."""
    with _open_for_reading(path) as f:
        header = _header(f, path)
        length = header["length"]
        size = os.fstat(f.fileno()).st_size
        if f.tell() + length > size:
            raise CheckpointError(
                f"{path}: truncated: the body should hold {length} bytes, "
                f"the file has {size - f.tell()}"
            )
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
        raise CheckpointError(
            f"{path}: the system runs programs that are not registered "
            f"here: {', '.join(missing)} (import the modules that define "
            "them, then restore)"
        )


def _check_programs(path: str | os.PathLike, header: dict[str, Json], k: Kernel) -> None:
    """Every program the body binds (an image in a page, a domain's last program) is
    named in the header, so the header's "programs must be registered" check covers it."""
    from keykos_lab.kernel.checkpoint.save import bound_programs  # (save imports the kernel)

    named = set(header["programs"]) | set(header["unbound_images"])
    progs, unbound = bound_programs(k)
    hidden = sorted(set(progs + unbound) - named)
    if hidden:
        raise CheckpointError(
            f"{path}: invalid checkpoint: the body binds programs its "
            f"header does not name: {', '.join(hidden)[:200]}"
        )


# ------------------------------------------------------------------ the body
@overload
def decode(
    body: Json,
    cls: None = None,
    path: str = "<checkpoint>",
    size: int | None = None,
    check: Callable[[Kernel], None] | None = None,
) -> Kernel: ...
@overload
def decode(
    body: Json,
    cls: type[_K],
    path: str = "<checkpoint>",
    size: int | None = None,
    check: Callable[[Kernel], None] | None = None,
) -> _K: ...


def decode(
    body: Json,
    cls: type[Kernel] | None = None,
    path: str = "<checkpoint>",
    size: int | None = None,
    check: Callable[[Kernel], None] | None = None,
) -> Kernel:
    """A new kernel of class ``cls`` from a checkpoint body (as :func:`encode` makes).

    Its history (``capability_graph(at=seq)``) is the body's ``history`` record, checked
    against the state read (``checkpoint/history.py``), or starts afresh when the body
    has none; ``check(kernel)`` runs on the state first (the loader's own checks).

    ``size`` is the body's length in bytes when it was read from a file: the object
    ids it may claim are then bounded by it (the loader's memory stays proportional to
    the file). Whatever the body holds raises :class:`CheckpointError`; an exception
    the checks did not foresee is a bug of the loader's, :class:`CheckpointLoaderBug`.

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
        decoder = _Decoder(body, path, size)
        kernel = decoder.kernel(cls)
        if check is not None:
            check(kernel)
        decode_history(decoder, body.get("history"), kernel)  # (body: checked a dict)
        return kernel
    except (CheckpointError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # not the file's fault: every value from it is checked
        raise loader_bug(path, exc) from exc


def loader_bug(path: str, exc: Exception, doing: str = "") -> CheckpointLoaderBug:
    """The error for an exception the loader's checks did not foresee (its own bug)."""
    return CheckpointLoaderBug(
        f"{path}: the checkpoint loader failed{doing} (a bug in keykos_lab, please report "
        f"it): {type(exc).__name__}: {exc}"
    )


class _Decoder(_Validator):
    """Checks a body record by record and builds the kernel from it.

    :meth:`kernel` rebuilds the parts in a fixed order, each from its own method:
    the limits (object ids, allocation ids, the clock), the object store, the domain
    states, the kernel's own fields and queues, the event log, the console; then
    :meth:`_consistent` checks what only the whole state shows. A part's checks may
    rely on the parts before it (a key is checked against the limits and the kind of
    the object it names, a domain root against the store).
    """

    objs: list[Page | Node | None] | None  # the rebuilt objects, by id

    def __init__(self, body: Json, path: str, size: int | None) -> None:
        super().__init__(path)
        self.body = body
        self.size = size

    # -- the kernel
    def kernel(self, cls: type[_K]) -> _K:
        body = self._body()
        kr = self.dict_(body["kernel"], "kernel", SCHEMAS["kernel"])
        seed = self._limits(kr)
        store, objs = self._store(body)
        prime = self._live_node(kr["prime_meter"], "the prime meter")
        states, domains = self._domain_states(body["domain_states"])
        # Build a fresh bare kernel (no boot), then replace its state wholesale.
        k = cls.__new__(cls)
        Kernel.__init__(k, seed)
        k.store = store
        k.objs = objs
        k.domains = domains
        k.tick, k.node_epoch, k.page_epoch = self.tick, self.node_epoch, self.page_epoch
        k.prime_meter = prime.id
        k._rng = self._rng(kr["rng"], seed)
        self._queues(k, kr, states)
        k.meter_stopped = self._meter_stopped(kr["meter_stopped"], states)
        k.log = self.log(body["log"])
        self.console(k, body["console"], states)
        self._consistent(k, states)
        k.history = None  # the one Kernel.__init__ started saw the state replaced
        return k

    def _body(self) -> dict[str, Json]:
        """The body, with exactly the records the format has."""
        body = self.body
        if type(body) is not dict or set(body) - {"history"} != _BODY_KEYS:
            got = sorted(body)[:20] if type(body) is dict else type(body).__name__
            self.fail(f"the body has records {got!r:.300}, expected {sorted(_BODY_KEYS)}")
        return body

    def _limits(self, kr: dict[str, Json]) -> int | None:
        """Learn the object-id and allocation-id limits, the clock and epochs; the seed."""
        most = MAX_OBJECTS if self.size is None else min(MAX_OBJECTS, OBJECTS_FREE + self.size)
        self.n_objects = self.int_(kr["n_objects"], "kernel.n_objects", 1, most + 1)
        self.next_alloc = self.int_(kr["next_alloc"], "kernel.next_alloc", 1, INT64)
        self.tick = self.int_(kr["tick"], "kernel.tick")
        self.node_epoch = self.int_(kr["node_epoch"], "kernel.node_epoch")
        self.page_epoch = self.int_(kr["page_epoch"], "kernel.page_epoch")
        seed = kr["seed"]
        if seed is not None and (type(seed) is not int or seed.bit_length() > SEED_BITS):
            self.fail(f"kernel.seed is not null or an int of at most {SEED_BITS} bits")
        return seed

    # -- the object store
    def _store(self, body: dict[str, Json]) -> tuple[ObjectStore, list[Page | Node | None]]:
        """The object store: pages, nodes (keys checked once every object is known),
        labels. The list of objects is made only once the records are read."""
        store = ObjectStore()
        store.next_alloc = self.next_alloc
        found: dict[int, Page | Node] = {}
        self._pages(body["pages"], store, found)
        node_slots = self._nodes(body["nodes"], store, found)
        objects: list[Page | Node | None] = [None] * self.n_objects
        for oid, obj in found.items():
            objects[oid] = obj
        self.objs = store.objects = objects
        for node, slots in node_slots:  # keys are checked once every object is known
            self._slots(node, slots)
        self._labels(body["labels"], store)
        return store, objects

    def _pages(self, recs: Json, store: ObjectStore, found: dict[int, Page | Node]) -> None:
        for rec in self.list_(recs, "pages"):
            page, data = self._object(rec, "page", Page, found)
            oid = page.id
            if data is not None:
                raw = self.bytes_(data, f"page #{oid}'s data", PAGE_SIZE)
                page.data = bytearray(raw) + bytearray(PAGE_SIZE - len(raw))
            found[oid] = page
            store.n_pages += 1

    def _nodes(
        self, recs: Json, store: ObjectStore, found: dict[int, Page | Node]
    ) -> list[tuple[Node, list[Json]]]:
        """The nodes, empty; each with its slot records, unchecked."""
        node_slots = []
        for rec in self.list_(recs, "nodes"):
            node, slots = self._object(rec, "node", Node, found)
            found[node.id] = node
            store.n_nodes += 1
            node_slots.append((node, self.list_(slots, f"node #{node.id}'s slots")))
        return node_slots

    def _slots(self, node: Node, slots: list[Json]) -> None:
        seen = set()
        for s in slots:
            s = self.list_(s, f"a slot of node #{node.id}", 5)
            n = self.int_(s[0], f"a slot number of node #{node.id}", 0, SLOTS)
            if n in seen:
                self.fail(f"node #{node.id} slot {n} is saved twice")
            seen.add(n)
            node.slots[n] = self.key(s[1:], f"node #{node.id} slot {n}")

    def _labels(self, recs: Json, store: ObjectStore) -> None:
        for rec in self.list_(recs, "labels"):
            oid, text = self.list_(rec, "a label", 2)
            self.int_(oid, "a label's object", 1, self.n_objects)
            if oid in store.labels:
                self.fail(f"object #{oid}'s label is saved twice")
            store.labels[oid] = self.str_(text, "a label", none=False)

    def _live_node(self, oid: Json, what: str) -> Node:
        self.int_(oid, what, 1, self.n_objects)
        node = self.objs[oid] if self.objs is not None else None
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
            ds = DomainState(self.int_(rec["root"], f"domain state {i}'s root", 1, self.n_objects))
            states.append(ds)
            if self.bool_(rec["registered"], f"domain state {i}'s 'registered'"):
                if ds.root in domains:
                    self.fail(f"domain #{ds.root} is registered twice")
                domains[ds.root] = ds
        return states, domains

    def _domain_state(
        self, ds: DomainState, rec: dict[str, Json], states: list[DomainState]
    ) -> None:
        """Fill ``ds`` from its record (already checked to have the schema's fields)."""
        w = f"domain #{ds.root}"
        ds.state = self.int_(rec["state"], f"{w}'s state", AVAILABLE, WAITING + 1)
        ds.next = self.action(rec["next"], f"{w}'s next action")
        ds.on_resume = self.action(rec["on_resume"], f"{w}'s on_resume action")
        for entry in self.list_(rec["stall"], f"{w}'s stall queue"):
            inv, op = self.list_(entry, f"{w}'s stall entry", 2)
            ds.stall.append(
                (
                    states[self.state_ref(inv, f"{w}'s stalled invoker")],
                    self.op(self.value(op, f"{w}'s stalled op"), f"{w}'s stalled op"),
                )
            )
        ds.resume_alloc = self.int_(rec["resume_alloc"], f"{w}'s resume_alloc", 0, self.next_alloc)
        held = set()
        for x in self.list_(rec["held"], f"{w}'s held keys"):
            key = self.key(x, f"a key held by {w}")
            if key in held:
                self.fail(f"{w} holds {key!r} twice")
            held.add(key)
        ds.held = held or ()  # as a domain with no handler holds them (domains.hold)
        ds.cpu = self.int_(rec["cpu"], f"{w}'s cpu (ticks borrowed)", -INT64, BORROW_TICKS)
        ds.chain_epoch = self.int_(
            rec["chain_epoch"], f"{w}'s chain_epoch", -1, self.node_epoch + 1
        )
        if rec["chain"] is not None:
            ds.chain = self._chain(rec["chain"], w)
        ds.image = self._image(rec["image"], w)
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
        entries = self.list_(v, f"{w}'s meter chain")
        if len(entries) > MAX_METER_DEPTH:
            self.fail(
                f"{w}'s meter chain has {len(entries)} meters; a chain holds at most "
                f"{MAX_METER_DEPTH}"
            )
        for c in entries:
            mid, alloc, live = self.list_(c, f"{w}'s meter chain entry", 3)
            if self.bool_(live, f"{w}'s meter chain entry's live flag"):
                node = self._live_node(mid, f"{w}'s meter chain node")
                if alloc != node.alloc:
                    self.fail(
                        f"{w}'s meter chain node #{mid} is live with alloc "
                        f"{node.alloc}, not {alloc!r:.30}"
                    )
                chain.append(node)
            else:  # a node destroyed since: a stand-in, never live
                self.int_(mid, "a meter id", 1, self.n_objects)
                if self.objs is not None and self.objs[mid] is not None:
                    self.fail(f"{w}'s meter chain calls object #{mid} destroyed, but it is live")
                chain.append(Node(mid, self.int_(alloc, "a meter alloc", 1, self.next_alloc)))
        return chain

    def _image(self, v: Json, w: str) -> tuple[int, int, str | None] | None:
        """The program-image cache ``(page epoch, node epoch, program)``: epochs no later
        than the kernel's (a cache from the future would come true later); whether a
        current one names the program the domain's memory holds is checked at the end."""
        image = self.value(v, f"{w}'s image cache")
        if image is None:
            return None
        if (
            type(image) is not tuple
            or len(image) != 3
            or type(image[0]) is not int
            or type(image[1]) is not int
            or not (image[2] is None or type(image[2]) is str)
        ):
            self.fail(f"{w}'s image cache is not (page epoch, node epoch, program)")
        pe, ne, name = image
        self.int_(pe, f"{w}'s image cache's page epoch", 0, self.page_epoch + 1)
        self.int_(ne, f"{w}'s image cache's node epoch", 0, self.node_epoch + 1)
        return (pe, ne, name)

    # -- the kernel's own fields
    def _rng(self, v: Json, seed: int | None) -> random.Random | None:
        """The scheduler's random state: saved exactly when the kernel has a seed; a
        Mersenne Twister state as ``random.Random.getstate`` gives it."""
        if v is None:
            if seed is not None:
                self.fail("kernel.rng is missing for a seeded kernel")
            return None
        if seed is None:
            self.fail("kernel.rng is saved for a kernel without a seed")
        version, internal, gauss = self.list_(v, "kernel.rng", 3)
        if version != _RNG_VERSION or type(version) is not int:
            self.fail(f"kernel.rng's version is {version!r:.20}, not {_RNG_VERSION}")
        words = self.list_(internal, "kernel.rng's state", _RNG_WORDS)
        if not all(type(x) is int and 0 <= x < 1 << 32 for x in words[:-1]):
            self.fail("kernel.rng's state is not 624 unsigned 32-bit ints and an index")
        self.int_(words[-1], "kernel.rng's index", 0, _RNG_WORDS)
        if not any(words[:-1]):
            self.fail("kernel.rng's state is all zero (a Mersenne Twister never is)")
        if gauss is not None and (type(gauss) is not float or not math.isfinite(gauss)):
            self.fail("kernel.rng's gauss_next is not a finite float or null")
        rng = random.Random()
        rng.setstate((version, tuple(words), gauss))
        return rng

    def _refs(self, v: Json, field: str, what: str, states: list[DomainState]) -> list[DomainState]:
        """Domain states by index, each at most once."""
        out = []
        seen: set[int] = set()
        for i in self.list_(v, f"kernel.{field}"):
            self.state_ref(i, what)
            if i in seen:
                self.fail(f"kernel.{field} names domain state {i} twice")
            seen.add(i)
            out.append(states[i])
        return out

    def _queues(self, k: Kernel, kr: dict[str, Json], states: list[DomainState]) -> None:
        """The run queue, the parked domains and the CPU borrowers."""
        k.runq = deque(self._refs(kr["runq"], "runq", "a run queue entry", states))
        k.parked = self._refs(kr["parked"], "parked", "a parked entry", states)
        k._borrowers = set(self._refs(kr["borrowers"], "borrowers", "a borrower", states))

    def _meter_stopped(self, v: Json, states: list[DomainState]) -> dict[int, list[Json]]:
        """Domains stopped by a dry meter with no keeper, by meter id (a live node's,
        each once)."""
        stopped: dict[int, list[Json]] = {}
        for rec in self.list_(v, "kernel.meter_stopped"):
            mid, entries = self.list_(rec, "a meter_stopped record", 2)
            self._live_node(mid, "a stopped meter")
            if mid in stopped:
                self.fail(f"meter #{mid} is in kernel.meter_stopped twice")
            out = stopped[mid] = []
            for e in self.list_(entries, "a meter_stopped entry list"):
                si, act, same = self.list_(e, "a meter_stopped entry", 3)
                ds = states[self.state_ref(si, "a meter-stopped domain")]
                action = self.action(act, "a meter-stopped action")
                if action is None:
                    self.fail(f"domain #{ds.root} is meter-stopped with no action")
                if self.bool_(same, "a meter_stopped entry's 'same' flag"):
                    if ds.on_resume is None or ds.on_resume != action:
                        self.fail(
                            f"domain #{ds.root} is meter-stopped with its on_resume, "
                            "but the action saved is not its on_resume"
                        )
                    out.append((ds, ds.on_resume))
                else:
                    out.append((ds, action))
        return stopped

    # -- the event log
    def log(self, rec: Json) -> EventLog:
        """The event log: whole chunks of whole rows, each row's codes ones the schema
        names, a buffer no larger than the kernel could have made it."""
        rec = self.dict_(rec, "log", SCHEMAS["log"])
        rows = self.int_(rec["chunk_rows"], "log.chunk_rows", 1, MAX_CHUNK_ROWS + 1)
        size = ROW.size * rows
        log = EventLog(rows)
        last = 0
        for i, c in enumerate(self.list_(rec["full"], "log.full")):
            raw = self.bytes_(c, f"event-log chunk {i}", size)
            if len(raw) != size:
                self.fail(f"event-log chunk {i} holds {len(raw)} bytes, not {size}")
            last = self._rows(raw, f"event-log chunk {i}", last)
            log._full.append(bytearray(raw))
        first = min(rows, FIRST_ROWS) * ROW.size
        cap = self.int_(rec["capacity"], "log.capacity", first, size + 1)
        cur = self.bytes_(rec["current"], "log.current", cap - 1)
        if cap % ROW.size:
            self.fail(f"log.capacity is {cap} bytes, not whole rows of {ROW.size}")
        if len(cur) % ROW.size:
            self.fail("the event log's current chunk is not whole rows")
        if not log._full and cap > max(first, 2 * len(cur)):
            self.fail(
                f"log.capacity is {cap} bytes for {len(cur)} bytes of rows; the kernel "
                "grows a first chunk only as it fills"
            )
        self._rows(cur, "the event log's current chunk", last)
        log._buf = bytearray(cur) + bytearray(cap - len(cur))
        log._off = len(cur)
        log._cap = cap
        log.enabled = self.bool_(rec["enabled"], "log.enabled")
        if self.int_(rec["rows"], "log.rows") != len(log):
            self.fail(f"the event log holds {len(log)} rows, the record says {rec['rows']}")
        return log

    def _rows(self, raw: bytes, what: str, last_tick: int) -> int:
        """Check packed rows (eventlog.ROW) against the schema; the last row's tick."""
        if not raw:
            return last_tick
        q = memoryview(raw).cast("q")
        ticks, kinds, actors, keyfs = q[0::8].tolist(), q[1::8], q[2::8], q[3::8]
        # In order when sorting changes nothing (a sort of sorted ticks is one pass in C);
        # then the last is the largest.
        if ticks[0] < last_tick or ticks != sorted(ticks) or ticks[-1] > self.tick:
            self.fail(f"{what}: ticks go backwards or past kernel.tick {self.tick}")
        for v in set(kinds):
            if (
                v < 0
                or v & 15 >= len(EVENTS)
                or v >> 4 & 15 >= len(JUMPS)
                or v >> 8 & 15 >= len(STATES)
                or v >> 12 & 15 >= len(STATES)
                or v >> 16 >= len(CAUSES)
            ):
                self.fail(
                    f"{what}: a row's event, jump, state or cause code ({v}) is not "
                    "one the schema names"
                )
        for v in set(keyfs):  # (gates.py's stall rows count a keeper call's bytes as keys)
            if (
                v < 0
                or v & 255 > len(KEY_TYPES)
                or v >> 8 & 511 > 256
                or v >> 17 > KEYS_PER_MESSAGE + MAX_STRING
            ):
                self.fail(f"{what}: a row's key type, databyte or key count ({v}) is out of range")
        if min(actors) < -1 or max(actors) >= self.n_objects:
            self.fail(f"{what}: a row's actor is no object id of this checkpoint")
        lens = q[7::8]
        if min(lens) < 0 or max(lens) > MAX_ACCESS:
            self.fail(f"{what}: a row's string length is not in [0, {MAX_ACCESS}]")
        return int(ticks[-1])

    # -- the console
    def console(self, k: Kernel, rec: Json, states: list[DomainState]) -> None:
        rec = self.dict_(rec, "console", SCHEMAS["console"])
        con = k.console
        root = self.int_(rec["root"], "console.root", 1, self.n_objects)
        ds = states[self.state_ref(rec["state"], "console.state")]
        if k.domains.get(root) is not ds:
            self.fail(f"the console's domain #{root} is not a registered domain")
        if ds.state != RUNNING or ds.next is not None or ds.stalled_on is not None:
            self.fail(
                "the console is not running and idle (a checkpoint is taken between console calls)"
            )
        root_node = self._live_node(root, "the console's root")
        count = self.int_(rec["count"], "console.count", 0, INT64)
        ring = self._ring(rec["ring"], root_node, count)
        where: dict[Key, int] = {}
        for e in self.list_(rec["where"], "console.where"):
            key, idx = self.list_(e, "a key-ring index entry", 2)
            key = self.key(key, "a key-ring key")
            if key in where:
                self.fail(f"console.where lists {key!r} twice")
            where[key] = self.int_(idx, "a ring index", 0, count)
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
            if name in con._names:
                self.fail(f"the console name {name!r:.40} is saved twice")
            con._names[name] = KeyHandle(
                con, self.int_(idx, f"name {name!r:.40}'s ring index", 0, count)
            )
        con._woken = self.bool_(rec["woken"], "console.woken")
        result = self.value(rec["result"], "console.result")
        if result is not None and type(result) not in (Message, bytes):
            self.fail(f"console.result is {type(result).__name__}, not a reply")
        con._result = result
        con.step_limit = self.int_(rec["step_limit"], "console.step_limit")

    def _ring(self, v: Json, root: Node, count: int) -> list[Node]:
        """The console's key-ring nodes: live, linked from the root's ring slot one to
        the next, as many as ``count`` keys fill."""
        ring = []
        ids = self.list_(v, "console.ring")
        nodes = [self._live_node(oid, "a key-ring node") for oid in ids]
        if len(ids) != -(-count // RING_PER_NODE):
            self.fail(
                f"console.ring has {len(ids)} nodes for {count} keys ({RING_PER_NODE} a node)"
            )
        link, where = root.slots[RING_SLOT], "the console's root"
        for oid, node in zip(ids, nodes):
            if link.type != NODE or link.obj != oid or link.alloc != node.alloc:
                self.fail(f"key-ring node #{oid} is not the node {where} links to")
            ring.append(node)
            link, where = node.slots[RING_PER_NODE], f"key-ring node #{oid}"
        return ring

    # -- the whole state
    def _consistent(self, k: Kernel, states: list[DomainState]) -> None:
        """What only the whole state shows: nothing pending needs a running handler (at
        quiescence there is none), caches agree with what they cache, resume keys and
        borrowed CPU are as the kernel leaves them."""
        in_runq = {id(ds) for ds in k.runq}
        for ds in states:
            w = f"domain #{ds.root}"
            if id(ds) in in_runq:
                if ds.next is None:
                    self.fail(f"{w} is in the run queue with nothing to do")
                if needs_handler(ds.next):
                    self.fail(
                        f"{w}'s next action resumes a handler, but a checkpoint "
                        "holds none (it is taken at quiescence)"
                    )
            if needs_handler(ds.on_resume):
                self.fail(f"{w}'s on_resume action resumes a handler, but a checkpoint holds none")
            for inv, op in ds.stall:
                if needs_handler((A_RETRY, op)):
                    self.fail(
                        f"{w}'s stall queue retries a program's op for domain "
                        f"#{inv.root}, whose handler a checkpoint cannot hold"
                    )
        # (a meter_stopped entry runs only while it is its domain's on_resume: checked above)
        for ds in k.domains.values():
            w = f"domain #{ds.root}"
            if ds.resume_alloc and ds.state != WAITING:
                self.fail(
                    f"{w} has resume keys (resume_alloc {ds.resume_alloc}) but is not waiting"
                )
            if ds.cpu and ds not in k._borrowers:
                self.fail(f"{w} holds {ds.cpu} borrowed ticks but is no borrower")
        for key, what in self.resume_keys:
            tgt = k.domains.get(key.obj)
            if tgt is not None and tgt.resume_alloc == key.alloc and tgt.state != WAITING:
                self.fail(
                    f"{what} {key!r} is a live resume key to domain #{key.obj}, "
                    "which is not waiting"
                )
        for ds in states:
            self._caches(k, ds)
        for ds in sorted(k._borrowers, key=lambda ds: ds.root):  # the first failure, each run
            for node in ds.chain or ():
                if k.objs[node.id] is node:
                    c = node.slots[METER_COUNTER]
                    if c.type != DATA or not 0 <= c.obj + ds.cpu < DATA_LIMIT:
                        self.fail(
                            f"domain #{ds.root} borrowed from node #{node.id}, whose "
                            "slot 3 is no meter counter that can take it back"
                        )

    def _caches(self, k: Kernel, ds: DomainState) -> None:
        """A current meter-chain or image cache holds what the kernel would find now."""
        w = f"domain #{ds.root}"
        if ds.chain_epoch == k.node_epoch:
            fresh = DomainState(ds.root)
            expect = k.meter_chain(fresh)
            if (
                (expect is None) != (ds.chain is None)
                or expect is not None
                and (
                    len(expect) != len(ds.chain or ())
                    or any(a is not b for a, b in zip(expect, ds.chain or ()))
                )
            ):
                self.fail(
                    f"{w}'s cached meter chain is current (epoch {ds.chain_epoch}) but "
                    "is not the chain its meter slot leads to"
                )
        image = ds.image
        if image is not None and image[0] == k.page_epoch and image[1] == k.node_epoch:
            if k.wellformed(ds) is None:
                self.fail(f"{w}'s image cache is current, but the domain is malformed")
            name = k.program_image(ds.root)
            if name != image[2]:
                self.fail(
                    f"{w}'s image cache names program {image[2]!r:.40}, but its memory "
                    f"holds {name!r:.40}"
                )
