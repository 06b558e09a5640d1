"""The graph's history: every change to what a capability graph shows, beside the event log.

``k.capability_graph(at=seq)`` shows the system as it was just after event ``seq`` was
logged, without running anything again. To give it, the kernel keeps a *history*: each
change to the state a graph or an objects frame reads is written down with the length of
the event log at that moment, and the state just after event ``seq`` is every change made
while the log held at most ``seq`` rows (what the kernel does after event ``seq`` and before
the next one belongs to the next). The changes recorded are:

* a key written into a node's slot (data keys only where address translation could
  read them: a window key, or slot 15, a red node's format key);
* an object created, destroyed or severed; the first 64 bytes of a page, which name the
  program a never-started domain would run (address 0 always lands at a page's start);
* a domain's kernel state made or dropped; its ``state``, ``program``, ``parked``,
  ``resume_alloc`` (which decides whether its resume keys are live) and the keys its
  running handler holds (a new set whole; keys added to it in place as the keys added,
  ``held+``, so a handler that gathers n keys costs O(n), not O(n²));
* a label given to an object; a node added to the console's key ring.

Kernel code calls the history in two places only (keys added in place to a handler's held
set, a node added to the console's key ring); everything else is recorded by giving the
kernel's own containers recording subclasses (a node's slot list, the store, the labels
and domains dicts, pages, domain states) when the history starts. A kernel without a history runs
the plain classes and pays nothing. Every ``spacing()`` changes, a *base* (a copy of the
whole recorded state) is taken, so a question about any moment replays at most that
many changes from the nearest base.

The recorded state is plain data (tuples of ints, strings, bytes and keys), so the past
can be rebuilt (``keykos_lab.kernel.past``) with the same code that reads the present.

>>> from keykos_lab.kernel.core import Kernel
>>> k = Kernel(); h = History.start(k)
>>> n = k.store.new_node(); n.slots[0] = k.key_to(3, k.console.root)
>>> [c[0] for c in h.changes[-2:]]
['new', 'slot']
>>> _ = k.console.call(k.console.dkc, 0)  # the next event: the changes come before it
>>> past = h.state(len(k.log) - 1); past.objs[n.id][2][0].obj == k.console.root
True
"""

from __future__ import annotations

import copy
import operator
from array import array
from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from keykos_lab.kernel.domains import DomainState
from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import ROW
from keykos_lab.kernel.keys import DATA, DK0, Key
from keykos_lab.kernel.objects import SLOTS, Node, ObjectStore, Page
from keykos_lab.kernel.segments import FORMAT_SLOT, WINDOW

if TYPE_CHECKING:
    from keykos_lab.kernel.state import KernelState

#: The bytes of a page that can name a program (``segments.image_program`` reads 64).
IMAGE_BYTES = 64
#: The domain-state fields a graph or objects frame reads, in the order a record keeps.
WATCHED = ("state", "program", "parked", "resume_alloc", "held")
_WATCHED = frozenset(WATCHED)
#: Changes between two bases: at least this many, and at least 4 per object then.
MIN_SPACING = 4096

# A recorded object: (kind, alloc, payload): payload is a node's 16 keys (a list while
# replaying, a tuple in a base) or a page's first IMAGE_BYTES bytes (None: zero).
Obj = list[Any]


class HistoryUnavailable(KernelError):
    """The history does not reach back to (or forward to) the moment asked for."""


class PastState:
    """The recorded state at one moment: what ``keykos_lab.kernel.past`` rebuilds from.

    ``objs[oid]`` is None or ``[kind, alloc, payload]``; ``domains[root]`` a dict of the
    :data:`WATCHED` fields; ``labels`` the store's labels; ``ring`` the console's key
    ring nodes; ``seq`` the event the state follows.
    """

    __slots__ = ("objs", "domains", "labels", "ring", "seq", "loose")

    def __init__(
        self,
        objs: list[Obj | None],
        domains: dict[int, dict[str, Any]],
        labels: dict[int, str],
        ring: list[int],
        seq: int,
    ) -> None:
        self.objs = objs
        self.domains = domains
        self.labels = labels
        self.ring = ring
        self.seq = seq
        #: Domains whose ``held`` a ``held+`` change extended by concatenation (keys in
        #: the order they came, repeats included) and :meth:`settle` has not sorted yet:
        #: a handler gathering n keys then replays in O(n), not O(n² log n).
        self.loose: set[int] = set()

    def settle(self) -> PastState:
        """Every ``held`` in its recorded form (:func:`held_keys`); this state."""
        for root in self.loose:
            fields = self.domains.get(root)
            if fields is not None:
                fields["held"] = held_keys(fields["held"])
        self.loose.clear()
        return self

    def copy(self) -> PastState:
        """A copy (settled) that replaying changes into leaves this one as it is."""
        self.settle()
        return PastState(
            [None if o is None else [o[0], o[1], _copy_payload(o[2])] for o in self.objs],
            {root: dict(f) for root, f in self.domains.items()},
            dict(self.labels),
            list(self.ring),
            self.seq,
        )


def _copy_payload(p: Any) -> Any:
    return list(p) if isinstance(p, (list, tuple)) else p


def _image(page: Page) -> bytes | None:
    data = page.data
    if data is None:
        return None
    head = bytes(data[:IMAGE_BYTES])
    return head if any(head) else None


def held_keys(keys: Any) -> tuple[Key, ...]:
    """The keys a handler holds, as recorded: each once, sorted, so that two kernels in
    the same state record the same thing (one restored from a checkpoint, whose sets were
    filled in another order; a handler that holds its message's keys as the message's
    tuple, where a key passed twice appears twice, and the checkpoint saves it once).

    >>> held_keys({DK0, Key(3, 5, 0, 2)})
    (DK(0), Key(node, obj=5, databyte=0x00, alloc=2))
    >>> held_keys((DK0, Key(3, 5, 0, 2), DK0, DK0))
    (DK(0), Key(node, obj=5, databyte=0x00, alloc=2))
    """
    return tuple(sorted(set(keys)))


def _domain_fields(ds: DomainState, console: int) -> dict[str, Any]:
    return {
        "state": ds.state,
        "program": ds.program,
        "parked": ds.parked,
        "resume_alloc": ds.resume_alloc,
        "held": () if ds.root == console else held_keys(ds.held),
    }


def _matters(i: int, old: Key, new: Key) -> bool:
    """Whether writing ``new`` over ``old`` in slot ``i`` can change a graph: a data
    key over a data key only where translation reads it (a window, a format key)."""
    if old.type != DATA or new.type != DATA:
        return True
    return i == FORMAT_SLOT or bool((old.obj | new.obj) & WINDOW)


# --------------------------------------------------------------- recording classes
class RecordedSlots(list):
    """A node's sixteen slots, writing each change that matters into the history."""

    __slots__ = ("oid", "hist")

    def __init__(self, keys: Any, oid: int, hist: History) -> None:
        super().__init__(keys)
        self.oid = oid
        self.hist = hist

    def __setitem__(self, i: Any, value: Any) -> None:
        if isinstance(i, slice):
            before = list(self)
            list.__setitem__(self, i, value)
            if len(self) != SLOTS:  # a slice of another length: undone, nothing recorded
                list.__setitem__(self, slice(None), before)
                raise KernelError(f"a node has {SLOTS} slots: a slice write may not resize it")
            self.hist.add(("slots", self.oid, tuple(self)))
            return
        old = list.__getitem__(self, i)
        list.__setitem__(self, i, value)
        if _matters(i, old, value):
            self.hist.add(("slot", self.oid, i % len(self), value))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (RecordedSlots, (list(self), self.oid, self.hist))


class RecordedLabels(dict):
    """The store's labels, writing each change into the history."""

    __slots__ = ("hist",)

    def __init__(self, items: Any, hist: History) -> None:
        super().__init__(items)
        self.hist = hist

    def __setitem__(self, oid: int, text: str) -> None:
        dict.__setitem__(self, oid, text)
        self.hist.add(("label", oid, text))

    def __delitem__(self, oid: int) -> None:
        dict.__delitem__(self, oid)
        self.hist.add(("label", oid, None))

    def pop(self, oid: int, *default: Any) -> Any:
        had = oid in self
        value = dict.pop(self, oid, *default)
        if had:
            self.hist.add(("label", oid, None))
        return value

    def setdefault(self, oid: int, text: Any = None) -> Any:
        if oid not in self:
            self[oid] = text
        return dict.__getitem__(self, oid)

    def update(self, *args: Any, **kw: Any) -> None:
        for oid, text in dict(*args, **kw).items():
            self[oid] = text

    def popitem(self) -> Any:
        raise KernelError("labels are removed one by one (pop), not by popitem")

    def clear(self) -> None:
        for oid in list(self):
            del self[oid]

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (RecordedLabels, (dict(self), self.hist))


class RecordedDomains(dict):
    """The kernel's domain states by root: a state put in starts recording its fields."""

    __slots__ = ("hist",)

    def __init__(self, items: Any, hist: History) -> None:
        super().__init__(items)
        self.hist = hist

    def __setitem__(self, root: int, ds: DomainState) -> None:
        old = dict.get(self, root)
        if old is not None and old is not ds:
            _unwatch(old)
        dict.__setitem__(self, root, ds)
        self.hist.watch(ds)

    def __delitem__(self, root: int) -> None:
        ds = dict.pop(self, root)
        _unwatch(ds)
        self.hist.add(("undom", root))

    def pop(self, root: int, *default: Any) -> Any:
        if root not in self:
            return dict.pop(self, root, *default)
        ds = dict.pop(self, root)
        _unwatch(ds)
        self.hist.add(("undom", root))
        return ds

    def setdefault(self, root: int, ds: Any = None) -> Any:
        if root not in self:
            self[root] = ds
        return dict.__getitem__(self, root)

    def update(self, *args: Any, **kw: Any) -> None:
        for root, ds in dict(*args, **kw).items():
            self[root] = ds

    def popitem(self) -> Any:
        raise KernelError("domain states are dropped one by one (pop), not by popitem")

    def clear(self) -> None:
        for root in list(self):
            del self[root]

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (RecordedDomains, (dict(self), self.hist))


_set = object.__setattr__
_UNSET = object()


def _unwatch(ds: DomainState) -> None:
    if type(ds) is RecordedDomainState:
        object.__setattr__(ds, "__class__", DomainState)
        object.__setattr__(ds, "hist", None)


def _copy_plain(obj: Any, plain: type, memo: dict[int, Any]) -> Any:
    """A deep copy of a recording object made as its plain class (so that setting its
    fields records nothing), then given the recording class back."""
    new: Any = object.__new__(plain)
    memo[id(obj)] = new
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name):
                object.__setattr__(new, name, copy.deepcopy(getattr(obj, name), memo))
    object.__setattr__(new, "__class__", type(obj))
    return new


def _held_field() -> property:
    """The ``held`` field of a recording domain state: each assignment recorded."""
    slot = DomainState.__dict__["held"]  # the slot's own descriptor, read and written in C
    put = slot.__set__

    def record(ds: DomainState, value: Any) -> None:
        put(ds, value)
        h = getattr(ds, "hist", None)  # (unset while unpickling sets the fields)
        if h is not None and ds.root != h.console:
            h.add(("ds", ds.root, "held", held_keys(value)))

    return property(slot.__get__, record)


def _watched_field(name: str) -> property:
    """A watched field of a recording domain state: each change of value recorded."""
    slot = DomainState.__dict__[name]
    get, put = slot.__get__, slot.__set__

    def record(ds: DomainState, value: Any) -> None:
        try:
            old = get(ds)
        except AttributeError:  # not set yet (unpickling)
            old = _UNSET
        put(ds, value)
        if old is _UNSET or old != value:
            h = getattr(ds, "hist", None)
            if h is not None:
                h.add(("ds", ds.root, name, value))

    return property(get, record)


class RecordedDomainState(DomainState):
    """A domain state whose watched fields write each change into the history.

    Only the :data:`WATCHED` fields are properties here (reading one costs a C-level
    property call); every other field stays the plain slot, read and written as fast as
    on a :class:`DomainState`.
    """

    __slots__ = ()

    state = _watched_field("state")
    program = _watched_field("program")
    parked = _watched_field("parked")
    resume_alloc = _watched_field("resume_alloc")
    held = _held_field()

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return _copy_plain(self, DomainState, memo)


class RecordedPage(Page):
    """A page whose first bytes, when written, go into the history."""

    __slots__ = ()

    def write(self, offset: int, data: bytes) -> None:
        Page.write(self, offset, data)
        if offset < IMAGE_BYTES and self.hist is not None:
            self.hist.add(("image", self.id, _image(self)))

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name == "data":
            h = getattr(self, "hist", None)  # unset while unpickling
            if h is not None:
                h.add(("image", self.id, _image(self)))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return _copy_plain(self, Page, memo)


class RecordedStore(ObjectStore):
    """The object store, writing creations, destructions and severs into the history."""

    __slots__ = ()

    def new_page(self) -> Page:
        p = ObjectStore.new_page(self)
        h = self.hist
        object.__setattr__(p, "hist", h)
        object.__setattr__(p, "__class__", RecordedPage)
        h.add(("new", p.id, "page", p.alloc))
        return p

    def new_node(self) -> Node:
        n = ObjectStore.new_node(self)
        h = self.hist
        n.slots = RecordedSlots(n.slots, n.id, h)
        h.add(("new", n.id, "node", n.alloc))
        return n

    def destroy(self, oid: int) -> Page | Node:
        obj = ObjectStore.destroy(self, oid)
        self.hist.add(("gone", oid))
        return obj

    def sever(self, oid: int) -> int:
        alloc = ObjectStore.sever(self, oid)
        self.hist.add(("alloc", oid, alloc))
        return alloc


# ----------------------------------------------------------------------- the history
class History:
    """The changes since the history started, each with the log's length then.

    ``first`` is the log's length when it started: moments from event ``first`` on can
    be asked for (``state``). Made by :meth:`start`.
    """

    def __init__(self, kernel: KernelState) -> None:
        self.kernel = kernel
        self.console: int = kernel.console.root if hasattr(kernel, "console") else -1
        self.first = len(kernel.log)
        #: The log's length when each change was made (it shows from event ``at`` on).
        self.at = array("q")
        self.changes: list[tuple[Any, ...]] = []
        #: (changes applied, state) pairs, the first at the start.
        self.bases: list[tuple[int, PastState]] = []
        self.next_base = MIN_SPACING
        self.recording = False

    @classmethod
    def start(cls, kernel: KernelState) -> History:
        """Start recording ``kernel``'s changes (its ``history`` from now on).

        >>> from keykos_lab.kernel.core import Kernel
        >>> k = Kernel(); h = History.start(k)
        >>> k.history is h, type(k.store).__name__
        (True, 'RecordedStore')
        """
        old = getattr(kernel, "history", None)
        if old is not None:
            old.stop()
        h = cls(kernel)
        h._install()
        h.bases.append((0, h.capture()))
        h.next_base = h.spacing()
        kernel.history = h
        h.recording = True
        return h

    @classmethod
    def resume(cls, kernel: KernelState, history: History) -> History:
        """Go on recording into ``history`` (read from a checkpoint: its changes end in
        ``kernel``'s state as it is now), as ``kernel``'s history from now on."""
        old = getattr(kernel, "history", None)
        if old is not None and old is not history:
            old.stop()
        history.kernel = kernel
        history._install()
        history.next_base = len(history.changes) + history.spacing()
        kernel.history = history
        history.recording = True
        return history

    def stop(self) -> None:
        """Stop recording: the kernel's containers become the plain classes again and
        the kernel has no history.

        >>> from keykos_lab.kernel.core import Kernel
        >>> k = Kernel(); History.start(k).stop()
        >>> k.history is None, type(k.store).__name__
        (True, 'ObjectStore')
        """
        k = self.kernel
        self.recording = False
        store = k.store
        if type(store) is RecordedStore:
            object.__setattr__(store, "__class__", ObjectStore)
        store.hist = None
        store.labels = dict(store.labels)
        for obj in k.objs:
            if isinstance(obj, Node):
                obj.slots = list(obj.slots)
            elif obj is not None:
                if type(obj) is RecordedPage:
                    object.__setattr__(obj, "__class__", Page)
                object.__setattr__(obj, "hist", None)
        for ds in k.domains.values():
            _unwatch(ds)
        k.domains = dict(k.domains)
        if getattr(k, "history", None) is self:
            k.history = None

    def _install(self) -> None:
        k = self.kernel
        store = k.store
        store.hist = self
        object.__setattr__(store, "__class__", RecordedStore)
        store.labels = RecordedLabels(store.labels, self)
        for obj in k.objs:
            if isinstance(obj, Node):
                obj.slots = RecordedSlots(obj.slots, obj.id, self)
            elif obj is not None:
                object.__setattr__(obj, "hist", self)
                object.__setattr__(obj, "__class__", RecordedPage)
        domains = RecordedDomains({}, self)
        for root, ds in k.domains.items():
            dict.__setitem__(domains, root, ds)
            object.__setattr__(ds, "hist", self)
            object.__setattr__(ds, "__class__", RecordedDomainState)
        k.domains = domains

    def watch(self, ds: DomainState) -> None:
        """Record a domain state put into the kernel's map (``RecordedDomains``)."""
        object.__setattr__(ds, "hist", self)
        if type(ds) is DomainState:
            object.__setattr__(ds, "__class__", RecordedDomainState)
        self.add(("dom", ds.root, tuple(_domain_fields(ds, self.console).values())))

    def held(self, root: int, keys: Any) -> None:
        """Record keys a domain's handler has come to hold, added in place (``domains.hold``):
        the keys added only (``held+``), which the replay joins to what it held."""
        if root != self.console:
            self.add(("held+", root, held_keys(keys)))

    def ring(self, oid: int) -> None:
        """Record a node added to the console's key ring."""
        if self.recording:
            self.add(("ring", oid))

    def add(self, change: tuple[Any, ...]) -> None:
        """Record one change, made now."""
        if not self.recording:
            return
        log = self.kernel.log  # len(log), without the call (this runs on every change)
        self.at.append((log._spilled + len(log._full)) * log._rows + log._off // ROW.size)
        changes = self.changes
        changes.append(change)
        if len(changes) >= self.next_base:
            self.bases.append((len(changes), self.capture()))
            self.next_base = len(changes) + self.spacing()

    def spacing(self) -> int:
        """Changes between two bases: bounded replay, and bases that cost O(1) each."""
        return max(MIN_SPACING, 4 * len(self.kernel.objs))

    def capture(self) -> PastState:
        """The recorded state as it is now, from the kernel itself."""
        k = self.kernel
        objs: list[Obj | None] = []
        for obj in k.objs:
            if obj is None:
                objs.append(None)
            elif isinstance(obj, Node):
                objs.append(["node", obj.alloc, tuple(obj.slots)])
            else:
                objs.append(["page", obj.alloc, _image(obj)])
        domains = {root: _domain_fields(ds, self.console) for root, ds in k.domains.items()}
        console = getattr(k, "console", None)
        ring = console.ring_nodes if console is not None else []
        return PastState(objs, domains, dict(k.store.labels), ring, len(k.log))

    def state(self, seq: int) -> PastState:
        """The recorded state just after event ``seq``.

        Raises :class:`HistoryUnavailable` for a moment before the history started or
        an event the log does not hold yet.
        """
        n = len(self.kernel.log)
        seq = event_number(seq, "seq")
        if seq < 0:
            raise HistoryUnavailable(
                f"no event #{seq}: events count from 0 (at=None is the present, and "
                f"#{n - 1} the last event)"
            )
        if n <= self.first:
            raise HistoryUnavailable(
                f"no history at event #{seq}: no event has been logged since the history "
                f"started (when the log held {self.first} events, e.g. at a restore); "
                "at=None is the present"
            )
        if not self.first <= seq < n:
            raise HistoryUnavailable(
                f"no history at event #{seq}: it covers events #{self.first} to #{n - 1} "
                f"(it started when the log held {self.first} events)"
            )
        upto = bisect_right(self.at, seq)
        b = bisect_right([i for i, _ in self.bases], upto) - 1
        start, base = self.bases[b]
        past = base.copy()
        for change in self.changes[start:upto]:
            apply(past, change)
        past.settle()
        past.seq = seq
        return past

    def change_points(self) -> list[int]:
        """The events just after which the recorded state differs from just after the
        event before (each once, in order): between two of them every moment looks the
        same.

        >>> from keykos_lab.kernel.core import Kernel
        >>> k = Kernel(); h = History.start(k)
        >>> _ = k.console.call(k.console.dkc, 0)
        >>> h.change_points() == sorted(set(h.change_points()))
        True
        """
        return sorted({a for a in self.at if self.first < a < len(self.kernel.log)})

    def __deepcopy__(self, memo: dict[int, Any]) -> History:
        new = History.__new__(History)
        memo[id(self)] = new
        new.kernel = copy.deepcopy(self.kernel, memo)
        new.console, new.first, new.next_base = self.console, self.first, self.next_base
        new.at = array("q", self.at)
        new.changes = list(self.changes)  # tuples of immutable values
        new.bases = list(self.bases)  # never changed in place (state() copies)
        new.recording = self.recording
        return new


def event_number(value: Any, name: str) -> int:
    """``value`` as an event number: an int or any integer type (``numpy.int64`` from
    ``k.events()``), never a bool.

    >>> import numpy as np
    >>> event_number(np.int64(7), "seq")
    7
    >>> event_number(True, "seq")
    Traceback (most recent call last):
    TypeError: seq is an event number (an int), not bool
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} is an event number (an int), not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} is an event number (an int), not {type(value).__name__}") from None


def apply(past: PastState, change: tuple[Any, ...]) -> None:
    """Replay one recorded change into ``past``."""
    what = change[0]
    if what == "slot":
        _, oid, i, key = change
        obj = past.objs[oid]
        assert obj is not None, f"slot write to a dead object #{oid}"
        obj[2][i] = key
    elif what == "slots":
        obj = past.objs[change[1]]
        assert obj is not None
        obj[2] = list(change[2])
    elif what == "ds":
        fields = past.domains.get(change[1])
        if fields is not None:
            fields[change[2]] = change[3]
    elif what == "new":
        _, oid, kind, alloc = change
        objs = past.objs
        while len(objs) <= oid:
            objs.append(None)
        objs[oid] = [kind, alloc, [DK0] * SLOTS if kind == "node" else None]
    elif what == "gone":
        past.objs[change[1]] = None
    elif what == "alloc":
        obj = past.objs[change[1]]
        assert obj is not None
        obj[1] = change[2]
    elif what == "image":
        obj = past.objs[change[1]]
        if obj is not None:
            obj[2] = change[2]
    elif what == "held+":
        fields = past.domains.get(change[1])
        if fields is not None:
            fields["held"] = (*fields["held"], *change[2])  # sorted once, by settle()
            past.loose.add(change[1])
    elif what == "dom":
        past.domains[change[1]] = dict(zip(WATCHED, change[2], strict=True))
    elif what == "undom":
        past.domains.pop(change[1], None)
    elif what == "label":
        if change[2] is None:
            past.labels.pop(change[1], None)
        else:
            past.labels[change[1]] = change[2]
    elif what == "ring":
        past.ring.append(change[1])
    else:  # pragma: no cover - the recorder writes only the kinds above
        raise AssertionError(f"unknown change {what!r}")
