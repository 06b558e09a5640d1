"""The kernel's history in a snapshot checkpoint: the past of a restored system kept.

A snapshot's body has a ``"history"`` record (null when the kernel kept none): the moment
the history began (``first``), the recorded state then (``base``), and every change
since, each with the log's length when it was made (``kernel/history.py``)::

    {"first": int,
     "base": {"n": int, "objs": [[id, "node", alloc, [[slot, *key], ...]] |
                                 [id, "page", alloc, base64 | null], ...],
              "domains": [[root, state, program, parked, resume_alloc, [key, ...]], ...],
              "labels": [[id, text], ...], "ring": [id, ...]},
     "changes": [[at, "slot", id, slot, key] | [at, "slots", id, [key * 16]] |
                 [at, "ds", root, field, value] | [at, "new", id, kind, alloc] |
                 [at, "gone", id] | [at, "alloc", id, alloc] | [at, "image", id, base64 | null] |
                 [at, "dom", root, [state, program, parked, resume_alloc, [key, ...]]] |
                 [at, "held+", root, [key, ...]] (keys a running handler came to hold) |
                 [at, "undom", root] | [at, "label", id, text | null] | [at, "ring", id], ...]}

Reading it trusts nothing: every field is checked as the rest of the body is (keys well
formed, ids and allocation ids ones the file's kernel issued, texts bounded), the
changes are replayed onto the base, and the state they end in must be the state the body
saves; otherwise the file is refused (``CheckpointError``). A history that is consistent
but made up could only show a past that leads to the saved present; it never gives the
restored kernel a key.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, cast

from keykos_lab.kernel.domains import STATE_NAMES
from keykos_lab.kernel.history import (
    IMAGE_BYTES,
    WATCHED,
    History,
    PastState,
    apply,
)
from keykos_lab.kernel.journal import MAX_TEXT
from keykos_lab.kernel.keys import DATA, DK0, Key
from keykos_lab.kernel.objects import SLOTS
from keykos_lab.kernel.segments import FORMAT_SLOT, WINDOW

if TYPE_CHECKING:
    from keykos_lab.kernel.checkpoint.format import Json, _Validator
    from keykos_lab.kernel.state import KernelState


_FIELDS = ("first", "base", "changes")
_BASE = ("n", "objs", "domains", "labels", "ring")


# ------------------------------------------------------------------ writing
def _payload(kind: str, payload: Any) -> Json:
    if kind == "node":
        return [[i, *k] for i, k in enumerate(payload) if k != DK0]
    return None if payload is None else base64.b64encode(payload).decode("ascii")


def _fields(f: dict[str, Any]) -> list[Json]:
    return [f["state"], f["program"], f["parked"], f["resume_alloc"], list(map(list, f["held"]))]


def _change(at: int, c: tuple[Any, ...]) -> list[Json]:
    what = c[0]
    if what == "slot":
        return [at, what, c[1], c[2], list(c[3])]
    if what == "slots":
        return [at, what, c[1], list(map(list, c[2]))]
    if what == "ds":
        value = list(map(list, c[3])) if c[2] == "held" else c[3]
        return [at, what, c[1], c[2], value]
    if what == "held+":
        return [at, what, c[1], list(map(list, c[2]))]
    if what == "image":
        return [at, what, c[1], _payload("page", c[2])]
    if what == "dom":
        return [at, what, c[1], _fields(dict(zip(WATCHED, c[2], strict=True)))]
    return [at, *c]  # new, gone, alloc, undom, label, ring: ints and texts only


def encode_history(history: Any) -> Json:
    """The ``"history"`` record of a body (None: the kernel keeps no history).

    >>> from keykos_lab.kernel.core import Kernel
    >>> rec = encode_history(Kernel().history)
    >>> sorted(rec), rec["first"]
    (['base', 'changes', 'first'], 0)
    """
    if not isinstance(history, History):
        return None
    base = history.bases[0][1]
    return {
        "first": history.first,
        "base": {
            "n": len(base.objs),
            "objs": [
                [oid, o[0], o[1], _payload(o[0], o[2])]
                for oid, o in enumerate(base.objs)
                if o is not None
            ],
            "domains": [[root, *_fields(f)] for root, f in base.domains.items()],
            "labels": [[oid, text] for oid, text in base.labels.items()],
            "ring": list(base.ring),
        },
        "changes": [_change(at, c) for at, c in zip(history.at, history.changes, strict=True)],
    }


# ------------------------------------------------------------------ reading
class _Reader:
    """Checked readers for the history record, on top of the body's validator."""

    def __init__(self, v: _Validator, rows: int) -> None:
        self.v = v
        self.rows = rows

    def key(self, x: Json, what: str) -> Key:
        n = len(self.v.resume_keys)
        key = self.v.key(x, what)
        del self.v.resume_keys[n:]  # a past resume key need not be live now
        return key

    def oid(self, x: Json, what: str) -> int:
        return self.v.int_(x, what, 1, self.v.n_objects)

    def text(self, x: Json, what: str, none: bool = True) -> str | None:
        t = self.v.str_(x, what, none)
        if t is not None and len(t) > MAX_TEXT:
            self.v.fail(f"{what} is longer than {MAX_TEXT} characters")
        return t

    def image(self, x: Json, what: str) -> bytes | None:
        if x is None:
            return None
        return self.v.bytes_(x, what, IMAGE_BYTES)

    def keys(self, x: Json, what: str, n: int | None = None) -> tuple[Key, ...]:
        return tuple(self.key(k, what) for k in self.v.list_(x, what, n))

    def fields(self, x: Json, what: str) -> tuple[Any, ...]:
        state, program, parked, resume_alloc, held = self.v.list_(x, what, 5)
        if state not in STATE_NAMES or type(state) is not int:
            self.v.fail(f"{what}'s state is {state!r:.20}, not one of {sorted(STATE_NAMES)}")
        return (
            state,
            self.text(program, f"{what}'s program"),
            self.text(parked, f"{what}'s parked"),
            self.v.int_(resume_alloc, f"{what}'s resume_alloc", 0, self.v.next_alloc),
            self.keys(held, f"{what}'s held keys"),
        )

    def node_payload(self, x: Json, what: str) -> list[Key]:
        slots = [DK0] * SLOTS
        for rec in self.v.list_(x, what):
            r = self.v.list_(rec, what, 5)
            slots[self.v.int_(r[0], f"{what}'s slot", 0, SLOTS)] = self.key(r[1:], what)
        return slots

    def base(self, x: Json) -> PastState:
        b = self.v.dict_(x, "history.base", _BASE)
        n = self.v.int_(b["n"], "history.base.n", 1, self.v.n_objects + 1)
        objs: list[list[Any] | None] = [None] * n
        for rec in self.v.list_(b["objs"], "history.base.objs"):
            oid, kind, alloc, payload = self.v.list_(rec, "a history object", 4)
            self.v.int_(oid, "a history object's id", 1, n)
            if objs[oid] is not None:
                self.v.fail(f"history object #{oid} is saved twice")
            alloc = self.v.int_(alloc, f"history object #{oid}'s alloc", 1, self.v.next_alloc)
            if kind == "node":
                objs[oid] = ["node", alloc, self.node_payload(payload, f"history node #{oid}")]
            elif kind == "page":
                objs[oid] = ["page", alloc, self.image(payload, f"history page #{oid}")]
            else:
                self.v.fail(f"history object #{oid}'s kind is {kind!r:.20}")
        domains: dict[int, dict[str, Any]] = {}
        for rec in self.v.list_(b["domains"], "history.base.domains"):
            r = self.v.list_(rec, "a history domain", 6)
            root = self.oid(r[0], "a history domain's root")
            domains[root] = dict(zip(WATCHED, self.fields(r[1:], f"history domain #{root}")))
        labels: dict[int, str] = {}
        for rec in self.v.list_(b["labels"], "history.base.labels"):
            oid, text = self.v.list_(rec, "a history label", 2)
            label = self.text(text, "a history label", none=False)
            labels[self.oid(oid, "a history label's object")] = cast(str, label)  # not None
        ring = [self.oid(x, "a history ring node") for x in self.v.list_(b["ring"], "ring")]
        return PastState(objs, domains, labels, ring, -1)

    def change(self, rec: Json, i: int) -> tuple[int, tuple[Any, ...]]:
        what = f"history change {i}"
        r = self.v.list_(rec, what)
        if len(r) < 2 or type(r[1]) is not str:
            self.v.fail(f"{what} is not [at, kind, ...]")
        at = self.v.int_(r[0], f"{what}'s event count", 0, self.rows + 1)
        kind, args = r[1], r[2:]

        def need(n: int) -> list[Json]:
            if len(args) != n:
                self.v.fail(f"{what} ({kind}) has {len(args)} fields, not {n}")
            return args

        if kind == "slot":
            oid, slot, key = need(3)
            c: tuple[Any, ...] = (
                kind,
                self.oid(oid, what),
                self.v.int_(slot, f"{what}'s slot", 0, SLOTS),
                self.key(key, what),
            )
        elif kind == "slots":
            oid, keys = need(2)
            c = (kind, self.oid(oid, what), self.keys(keys, what, SLOTS))
        elif kind == "ds":
            root, field, value = need(3)
            if field not in WATCHED:
                self.v.fail(f"{what} changes an unknown field {field!r:.20}")
            if field == "held":
                value = self.keys(value, what)
            elif field == "state":
                if type(value) is not int or value not in STATE_NAMES:
                    self.v.fail(f"{what}'s state is {value!r:.20}")
            elif field == "resume_alloc":
                value = self.v.int_(value, what, 0, self.v.next_alloc)
            else:
                value = self.text(value, what)
            c = (kind, self.oid(root, what), field, value)
        elif kind == "held+":
            root, keys = need(2)
            c = (kind, self.oid(root, what), self.keys(keys, what))
        elif kind == "new":
            oid, obj_kind, alloc = need(3)
            if obj_kind not in ("node", "page"):
                self.v.fail(f"{what} makes a {obj_kind!r:.20}")
            c = (
                kind,
                self.oid(oid, what),
                obj_kind,
                self.v.int_(alloc, what, 1, self.v.next_alloc),
            )
        elif kind in ("gone", "undom", "ring"):
            (oid,) = need(1)
            c = (kind, self.oid(oid, what))
        elif kind == "alloc":
            oid, alloc = need(2)
            c = (kind, self.oid(oid, what), self.v.int_(alloc, what, 1, self.v.next_alloc))
        elif kind == "image":
            oid, payload = need(2)
            c = (kind, self.oid(oid, what), self.image(payload, what))
        elif kind == "dom":
            root, fields = need(2)
            c = (kind, self.oid(root, what), self.fields(fields, what))
        elif kind == "label":
            oid, text = need(2)
            c = (kind, self.oid(oid, what), self.text(text, what))
        else:
            self.v.fail(f"{what} has an unknown kind {kind!r:.20}")
        return at, c


def _same(a: PastState, b: PastState) -> bool:
    def objs(p: PastState) -> list[Any]:
        out = [None if o is None else (o[0], o[1], _plain(o[2])) for o in p.objs]
        while out and out[-1] is None:
            out.pop()
        return out

    return (
        objs(a) == objs(b)
        and a.domains == b.domains
        and a.labels == b.labels
        and list(a.ring) == list(b.ring)
    )


def _plain(payload: Any) -> Any:
    """A node's keys as the history keeps them (a data key that address translation
    cannot read is not recorded, so its value is left out), or a page's image."""
    if not isinstance(payload, (list, tuple)):
        return payload
    return tuple(
        DK0 if k.type == DATA and i != FORMAT_SLOT and not k.obj & WINDOW else k
        for i, k in enumerate(payload)
    )


def decode_history(v: _Validator, record: Json, kernel: KernelState) -> History:
    """Start ``kernel``'s history from a body's ``"history"`` record (checked, replayed
    and compared with the kernel read from the same body), or afresh when it is null."""
    if record is None:
        return History.start(kernel)
    reader = _Reader(v, len(kernel.log))
    h = v.dict_(record, "history", _FIELDS)
    first = v.int_(h["first"], "history.first", 0, len(kernel.log) + 1)
    past = reader.base(h["base"])
    raw = v.list_(h["changes"], "history.changes")
    ats: list[int] = []
    changes: list[tuple[Any, ...]] = []
    last = first
    for i, rec in enumerate(raw):
        at, c = reader.change(rec, i)
        if at < last:
            v.fail(f"history change {i} is dated event count {at}, before {last}")
        last = at
        ats.append(at)
        changes.append(c)
    history = History(kernel)
    history.first = first
    start = past.copy()
    history.bases.append((0, start))
    spacing = history.spacing()
    for i, c in enumerate(changes):
        try:
            apply(past, c)
        except (AssertionError, IndexError, KeyError, TypeError, ValueError):
            v.fail(f"history change {i} ({c[0]}) does not apply to the state before it")
        if (i + 1) % spacing == 0:
            history.bases.append((i + 1, past.copy()))
    if not _same(past.settle(), history.capture()):
        v.fail("the history does not end in the state the checkpoint saves")
    history.at.extend(ats)
    history.changes = changes
    return History.resume(kernel, history)
