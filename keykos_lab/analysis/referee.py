"""Bounded exhaustive exploration: the keys a domain really obtains, by running the kernel.

The brute-force side of the cross-check of docs/analyses.md#analyses-rules. On a *copy* of a
quiescent kernel (:meth:`Kernel.copy`: the original is never touched), the copy's
console stands in for ``subject``: it holds the keys in the subject's key
registers (for the console itself, its key ring) and invokes them for real, so
the kernel and every program run as they would. Every key a reply brings is
obtained; round ``n`` tries every key obtained by round ``n - 1`` with a
vocabulary of orders by key type (:data:`ORDERS`, :data:`GATE_ORDERS`):

* node keys: Fetch 0–15 and the six Make…Key orders; fetch and sense keys: Fetch 0–15;
  page keys: MakeReadOnlyKey; segment keys: MakeReadOnly;
* domain keys: GetKey 0–15, Get 1–3 (meter, keeper, memory), MakeStart, and
  MakeReturnKey — after the last round, since it leaves the domain waiting;
* start keys (a call to a program): orders 0, 1 and KT, with no key and with each
  obtained key; a system program gets the orders its model covers instead: a bank
  CreateNode and CreatePage, a DC CreateDomain, Identify… and Weaken, a DCC, FCC, FC or
  KIDC Create with the first bank and meter obtained, a factory's requestor's key
  those with each obtained key, its builder's key MakeRequestor, MakeCopy, GetDC and
  GetMiscellaneous, its fetcher Fetch 0–18 …;
* the domain tool: MakeDomainKey with each node key obtained, IdentifyStart,
  IdentifyResume and IdentifyDomain with each start, resume or domain key and DK(0)
  as the brand; node-range and page-range keys: Create.

Limits, by design. Nothing is destroyed, severed or revoked directly (no KT+4, no
bank Destroy… or DestroyBankAndSpace, no DC DestroyDomain or Sever…, no FC
Disable… or Recall…; :func:`explore` refuses such orders) — but a free program
does what it likes with what it is sent (a ``proxy`` in front of a bank passes
order 1, DestroyNode, on), on the copy. No key is stored: no node or domain
Swap…, no factory Install… (exploration collects keys, it does not rearrange the
system, so what the subject could gain by storing a key where another domain
will use it is not explored; programs that store what they are sent, like
``holder``, still do). Make…Key is sent no string, so new keys have databyte 0
(the caller could choose any); Identify… is tried with DK(0) as the brand only.
Resume keys are obtained but never invoked (one-shot), nor passed; meter keys,
frontend keys, Discrim, DKC, Returner and KeyBits are not invoked (they return
nothing new). Start keys to the subject itself are not invoked (a self-call
traps), keys to the console never are, nor are start keys to a domain that is not
available (the call would stall). Each (key, order, keys passed) is tried once,
so a slot is not read again after a program writes it. Calls are bounded by
``max_calls`` and each by :data:`STEP_LIMIT` scheduler steps; ``Deadlock``,
``StepLimitExceeded`` and ``KernelError`` are counted, the console recovers and
the exploration goes on.

Targets are capability-graph vertices of the original system: folded nodes map
to their domain, keys designating the console map to ``subject`` (the console
stands in for it), and an object made during the exploration is named as the
static analysis names its summaries, ``("new", creator, subject)`` — or
``("yield", factory, subject)`` for a yield — where the creator is the creating
program invoked (bank, DC, DCC, FCC, FC, a factory's copy key, KIDC, a range
key), or, when a free program relayed the call, the DC whose brand the new
domain carries or the bank that sold the node or page.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> node = con.call(con["bank"], kl.oc.SB.CreateNode).keys[0]
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> _ = con.call(node, kl.oc.Node.Swap + 2, page)
>>> sense = con.call(node, kl.oc.Node.MakeSenseKey).keys[0]
>>> reader = kl.build_domain(con, "echo", keys={0: sense})
>>> found = explore(k, con.target(reader), depth=1)
>>> found[["key_type", "databyte", "round", "how"]].to_dict("records")[1]
{'key_type': 'page', 'databyte': 128, 'round': 1, 'how': 'sense Fetch+2 on node #...'}
>>> soundness(k, con.target(reader))["missing"]
[]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

import pandas as pd

from keykos_lab.analysis.authority import authority
from keykos_lab.analysis.model import SYSTEM_PROGRAMS, USABLE, behaviour
from keykos_lab.kernel.console import KeyHandle
from keykos_lab.kernel.domains import AVAILABLE, RUNNING
from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import EV_CREATE
from keykos_lab.kernel.keys import (
    DATA,
    DK0,
    DOMAIN,
    HOOK,
    METER,
    NODE,
    NODE_RANGE,
    OBJECT_TYPES,
    PAGE,
    PAGE_RANGE,
    RESUME,
    RO,
    START,
    Key,
)
from keykos_lab.kernel.objects import Node
from keykos_lab.kernel.oc import KT
from keykos_lab.kernel.snapshot import Snapshot, misc_vertex
from keykos_lab.programs.factories.factory import (
    BUILDER,
    COPY,
    FETCHER,
    REQUESTOR,
    ROLE,
    ROLE_FACTORY,
    ROLE_FC,
)
from keykos_lab.views.graph import capability_graph

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel
    from keykos_lab.views.lab import Kernel as LabKernel

__all__ = ["ORDERS", "GATE_ORDERS", "STEP_LIMIT", "Soundness", "explore", "soundness"]

#: Scheduler steps one exploring CALL may take before it counts as hung.
STEP_LIMIT = 1000
DESTROY = KT + 4
COLUMNS = ["target", "key_type", "databyte", "round", "how"]

#: Orders tried per key type (a start key: see GATE_ORDERS), and those allowed at all.
ORDERS: dict[str, tuple[int, ...]] = {
    "node": (*range(16), *range(32, 38)), "fetch": tuple(range(16)),
    "sense": tuple(range(16)), "page": (0,), "segment": (0,),
    "domain": (*range(16, 32), 1, 2, 3, 64, 73), "domtool": (0, 1, 2, 3),
    "node_range": (0,), "page_range": (0,),
}
_SAFE: dict[str, frozenset[int]] = {
    "node": frozenset({*range(16), *range(32, 39), 40, KT}),
    "fetch": frozenset({*range(16), 40, KT}), "sense": frozenset({*range(16), 40, KT}),
    "page": frozenset({0, 41, KT, *range(8192, 12288)}), "segment": frozenset({0, KT}),
    "domain": frozenset({*range(32), 64, 66, 68, 70, 73, 80, KT}),
    "domtool": frozenset({0, 1, 2, 3, KT}), "node_range": frozenset({0, KT}),
    "page_range": frozenset({0, KT}),
}
_LAST = frozenset({66, 73})          # domain orders that leave the domain waiting

#: Orders tried on a start key, by what the program behind it is (``start:<kind>``
#: in ``orders``): ``free`` is any program the analyses do not model.
GATE_ORDERS: dict[str, tuple[int, ...]] = {
    "free": (0, 1, KT), "bank": (0, 16, KT), "dc": (2, 3, 12, 13, KT), "dcc": (0, 1, KT),
    "oracle": (0, KT), "kidc": (0, KT), "kid": (2, 4, KT), "fcc": (0, KT), "fc": (0, KT),
    "requestor": (0, KT),
    "builder": (66, 67, 69, *range(96, 115), KT), "fetcher": (*range(19), 66, KT),
    "copier": (0, KT),
}
#: Orders that destroy, sever, revoke or install components: never tried, whatever
#: ``orders`` says (nor KT+4 on any start key).
_FORBIDDEN: dict[str, frozenset[int]] = {
    "bank": frozenset({1, 2, 9, 10, 17, 18, 25, 26, 64}), "dc": frozenset({1, 8, 14, 15}),
    "kid": frozenset({3}), "fc": frozenset({4, 5, 6, 7}),
    "builder": frozenset({*range(19), *range(32, 51), *range(128, 147)}),
}
#: Keys passed with a start-key order: ``none``; ``each`` obtained key alone; the first
#: bank and meter obtained (``pair``), and those with each obtained key (``pair+each``);
#: ``copy``: (bank, DK(0), bank). Free programs get ``none`` and ``each``; system
#: programs ``each`` unless listed here, ``none`` for KT.
_SHAPES: dict[tuple[str, int], tuple[str, ...]] = {
    ("dcc", 0): ("pair",), ("fcc", 0): ("pair",), ("fc", 0): ("pair",),
    ("oracle", 0): ("each", "pair"), ("kidc", 0): ("each", "pair"),
    ("requestor", 0): ("pair", "pair+each"),
    ("copier", 0): ("copy",), ("dc", 13): ("none",),
}
_FACETS = {BUILDER: "builder", REQUESTOR: "requestor", FETCHER: "fetcher", COPY: "copier"}
_DOMTOOL_ARGS = {0: NODE, 1: START, 2: RESUME, 3: DOMAIN}
_NO_KEYS = frozenset({"bank", "builder", "fetcher"})
#: Kinds of key whose invocation makes objects: what comes back new is theirs.
_CREATING = frozenset({"bank", "dc", "dcc", "kidc", "fcc", "fc", "copier", "range"})
_ORDER_NAMES = {
    "node": {32: "MakeFetchKey", 33: "MakeSegmentKey", 34: "MakeMeterKey", 35: "MakeNodeKey",
             36: "MakeSenseKey", 37: "MakeFrontendKey"},
    "domain": {64: "MakeStart", 66: "MakeFaultKey", 73: "MakeReturnKey"},
    "page": {0: "MakeReadOnlyKey"}, "segment": {0: "MakeReadOnly"},
    "domtool": {0: "MakeDomainKey", 1: "IdentifyStart", 2: "IdentifyResume",
                3: "IdentifyDomain"},
    "node_range": {0: "Create"}, "page_range": {0: "Create"},
}


#: One invocation to try: (cost class, key, order, keys passed).
_Step: TypeAlias = tuple[int, Key, int, tuple[Key, ...]]
#: A row of the result: (target vertex, key_type, databyte).
_Row: TypeAlias = tuple[Hashable, str, int]


class Soundness(TypedDict):
    """What :func:`soundness` returns."""

    explored: int                       # keys explore() found
    predicted: int                      # keys authority() predicts
    missing: list[dict[Hashable, Any]]  # explored rows not predicted (explore's columns)
    precision: float                    # explored / predicted (1.0 when none predicted)


def explore(k: Kernel, subject: Hashable, depth: int = 2, *,
            orders: Mapping[str, Iterable[int]] | None = None,
            max_calls: int = 5000) -> pd.DataFrame:
    """The keys ``subject`` obtains in ``depth`` rounds of invoking what it holds, on a copy
    of ``k``: one row per (target, key_type, databyte) with the ``round`` it first came in
    (0: held) and ``how``. ``orders`` replaces the orders tried for a key type (a key of
    :data:`ORDERS`, ``"start"`` for free programs, ``"start:<kind>"`` for those of
    :data:`GATE_ORDERS`). ``df.attrs`` holds counts: ``calls`` made; ``deadlock``,
    ``step_limit`` and ``kernel_error`` among them; invocations skipped because the key
    died (``dead``), its domain was not available (``busy``) or ``max_calls`` was reached
    (``truncated``).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    >>> echo = kl.build_domain(con, "echo", keys={0: page})
    >>> asker = kl.build_domain(con, "echo", keys={0: echo})
    >>> df = explore(k, con.target(asker))
    >>> sorted(zip(df.key_type, df.databyte, df["round"]))
    [('domain', 0, 0), ('meter', 0, 1), ('page', 0, 1), ('page', 128, 1), ('page', 128, 2),
     ('resume', 2, 1), ('start', 0, 1)]
    >>> df.attrs["deadlock"], len(k.console.ring_nodes)      # k itself is untouched
    (0, 2)
    """
    if depth < 0 or max_calls < 0:
        raise ValueError("depth and max_calls are non-negative")
    return _Explorer(k, subject, orders or {}, max_calls).run(depth)


def soundness(k: LabKernel, subject: Hashable, depth: int = 2, *,
              orders: Mapping[str, Iterable[int]] | None = None,
              max_calls: int = 5000) -> Soundness:
    """Cross-check :func:`explore` against the static :func:`authority`
    (docs/analyses.md#analyses-rules):
    every key explored must be predicted on the original graph. Created objects compare by
    creator (``("new", creator, …)`` up to the client the summary was made for).
    ``orders`` and ``max_calls`` go to :func:`explore`.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> r = soundness(k, con.target(kl.build_domain(con, "echo", keys={0: con["bank"]})), 1)
    >>> r["missing"], r["explored"] <= r["predicted"]
    ([], True)
    """
    predicted = authority(k.capability_graph(), subject)
    found = explore(k, subject, depth, orders=orders, max_calls=max_calls)
    known = {(_norm(t), kt, db)
             for t, kt, db in zip(predicted.target, predicted.key_type, predicted.databyte)}
    missing = [row for row in found.to_dict("records")
               if (_norm(row["target"]), row["key_type"], row["databyte"]) not in known]
    return {"explored": len(found), "predicted": len(predicted), "missing": missing,
            "precision": len(found) / len(predicted) if len(predicted) else 1.0}


def _shapes(kind: str, order: int) -> tuple[str, ...]:
    if (kind, order) in _SHAPES:
        return _SHAPES[kind, order]
    if kind == "free":
        return ("none", "each")
    return ("none",) if order == KT or kind in _NO_KEYS else ("each",)


def _norm(v: Hashable) -> Hashable:
    """A summary vertex up to its client: ``("new", creator)``, creators normalised too."""
    return (v[0], _norm(v[1])) if isinstance(v, tuple) else v


class _Explorer:
    def __init__(self, k: Kernel, subject: Hashable, orders: Mapping[str, Iterable[int]],
                 max_calls: int) -> None:
        self.orders = {name: tuple(os) for name, os in orders.items()}
        for name, os in self.orders.items():
            self._check_orders(name, os)
        self.k = k.copy()
        self.con = con = self.k.console
        con.step_limit = STEP_LIMIT
        self.G = capability_graph(self.k)
        if self.G.nodes.get(subject, {}).get("kind") != "domain":
            raise ValueError(f"{subject!r} is not a domain vertex of the graph")
        self.subject = subject
        self.snap0 = Snapshot(self.k)
        self.n0 = len(self.k.objs)       # ids from here on are objects made while exploring
        self.scanned = len(self.k.log)   # event-log rows read for creations so far
        self.max_calls = max_calls
        self.known: dict[Key, KeyHandle] = {}  # key -> the copy console's handle, in order
        self.rows: dict[_Row, tuple[int, str]] = {}
        # new vertex -> ("new" | "yield", creator, subject)
        self.summary: dict[int, tuple[str, Hashable, Hashable]] = {}
        self.created: dict[int, int] = {}      # object made -> domain that bought it
        self.owner: dict[int, Hashable] = {}   # object made -> its vertex (folded nodes)
        # (key, order, keys passed) invoked or skipped
        self.tried: set[tuple[Key, int, tuple[Key, ...]]] = set()
        # domain orders deferred to the end: (round, key, order, keys passed)
        self.last: list[tuple[int, Key, int, tuple[Key, ...]]] = []
        self.stats: Counter[str] = Counter()
        seeds = [key for holder, _, key, _, kind in self.snap0.edges()
                 if holder == subject and kind in USABLE]
        for key in seeds:
            self._obtain(key, 0, "held", None)

    # ------------------------------------------------------------ the loop
    def run(self, depth: int) -> pd.DataFrame:
        for rnd in range(1, depth + 1):
            keys = list(self.known)
            args = self._arguments(keys)
            plan = [step for key in keys for step in self._plan(key, args)]
            plan.sort(key=lambda step: step[0])           # primary keys first, gates later
            for _, key, order, passed in plan:
                if key.type == DOMAIN and order in _LAST:
                    self.last.append((rnd, key, order, passed))
                else:
                    self._try(rnd, key, order, passed)
        for rnd, key, order, passed in self.last:
            self._try(rnd, key, order, passed)
        df = pd.DataFrame([(*row, rnd, how) for row, (rnd, how) in self.rows.items()],
                          columns=COLUMNS)
        df.attrs.update({"calls": 0, "deadlock": 0, "step_limit": 0, "kernel_error": 0,
                         "dead": 0, "busy": 0, "truncated": 0, **self.stats})
        return df

    def _arguments(self, keys: list[Key]) -> list[Key]:
        """One key per row to pass to start keys (never a resume key: they are one-shot)."""
        out, seen = [], set()
        for key in keys:
            row = self._row(key)
            if key.type != RESUME and row not in seen:
                seen.add(row)
                out.append(key)
        return out

    def _plan(self, key: Key, args: list[Key]) -> Iterator[_Step]:
        """(cost class, key, order, keys passed) for every invocation to try with ``key``:
        primary keys first (class 0), then gates with no key, one key, three keys."""
        name = key.type_name
        if key.type == START:
            kind = self._gate_kind(key)
            if kind is None:
                return
            bank = next((a for a in args if self._is_bank(a)), None)
            meter = next((a for a in args if a.type == METER), None)
            for order in self._orders("start" if kind == "free" else f"start:{kind}",
                                      GATE_ORDERS[kind]):
                for shape in _shapes(kind, order):
                    if shape == "none":
                        yield 1, key, order, ()
                    elif shape == "each":
                        yield from ((2, key, order, (a,)) for a in args)
                    elif bank is None or meter is None:
                        continue
                    elif shape == "pair":
                        yield 2, key, order, (bank, meter)
                    elif shape == "copy":
                        yield 2, key, order, (bank, DK0, bank)
                    else:
                        yield from ((3, key, order, (bank, meter, a)) for a in args)
            return
        if name not in ORDERS or (key.type == PAGE and key.databyte & RO):
            return
        for order in self._orders(name, ORDERS[name]):
            if name == "domtool" and order in _DOMTOOL_ARGS:
                # MakeDomainKey(node key); Identify…(key, DK(0)): DK(0) is the brand of
                # every domain whose brand slot is empty.
                want = _DOMTOOL_ARGS[order]
                yield from ((0, key, order, (a,) if order == 0 else (a, DK0))
                            for a in self.known if a.type == want)
            else:
                yield 0, key, order, ()

    def _orders(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        return self.orders.get(name, default)

    def _check_orders(self, name: str, orders: tuple[int, ...]) -> None:
        if name.startswith("start"):
            kind = name.partition(":")[2] or "free"
            if kind not in GATE_ORDERS:
                raise ValueError(f"no start-key kind {kind!r}; kinds: {', '.join(GATE_ORDERS)}")
            bad = [o for o in orders if o == DESTROY or o in _FORBIDDEN.get(kind, ())]
        elif name in _SAFE:
            bad = [o for o in orders if o not in _SAFE[name]]
        else:
            raise ValueError(f"no orders for {name!r} keys; names: {', '.join(_SAFE)}, "
                             "start, start:<kind>")
        if bad:
            raise ValueError(f"orders {bad} on {name} keys would destroy, sever, revoke or "
                             "store: exploration only collects keys")

    # ---------------------------------------------------------- one call
    def _try(self, rnd: int, key: Key, order: int, passed: tuple[Key, ...]) -> None:
        sig = (key, order, passed)
        if sig in self.tried:
            return
        self.tried.add(sig)
        k, con = self.k, self.con
        if any(k.live(x) != x for x in (key, *passed)):
            self.stats["dead"] += 1
            return
        if key.type == START and k.domains.get(key.obj) is not None and \
                k.domains[key.obj].state != AVAILABLE:
            self.stats["busy"] += 1               # not available: the call would stall
            return
        if key.type == DOMAIN and key.obj == con.root and order in _LAST:
            return                                # the console's own process: never reset
        if self.stats["calls"] >= self.max_calls:
            self.stats["truncated"] += 1
            return
        self.stats["calls"] += 1
        via = self._vertex(key)
        try:
            reply = con.call(self.known[key], order, *(self.known.get(x) or con.hold(x)
                                                        for x in passed))
        except KernelError as exc:
            self.stats[{"Deadlock": "deadlock", "StepLimitExceeded": "step_limit"}.get(
                type(exc).__name__, "kernel_error")] += 1
            if con.state.state != RUNNING or con.state.next is not None:
                raise RuntimeError(f"the console did not recover from: {exc}") from exc
            return
        how = f"{key.type_name} {self._order_name(key, order)} on {self._describe(via)}"
        if passed:
            how += " passing " + ", ".join(self._describe_key(x) for x in passed)
        for handle in reply.keys:
            self._obtain(con.key(handle), rnd, how, key)

    def _obtain(self, key: Key, rnd: int, how: str, via: Key | None) -> None:
        if key.type in (DATA, HOOK) or key in self.known:
            return
        self.known[key] = self.con.hold(key)
        row = self._row(key, via)
        if row not in self.rows:
            self.rows[row] = (rnd, how)

    # ------------------------------------------------------------ naming
    def _row(self, key: Key, via: Key | None = None) -> _Row:
        return self._vertex(key, via), key.type_name, key.databyte

    def _vertex(self, key: Key, via: Key | None = None) -> Hashable:
        """The vertex of the original graph (or the summary) ``key`` designates."""
        if key.type not in OBJECT_TYPES:
            return misc_vertex(key)
        if key.obj < self.n0:
            v = self.snap0.target(key)
        else:
            v = self.owner.get(key.obj)
            if v is None:
                v = self.owner[key.obj] = Snapshot(self.k).target(key)
            if isinstance(v, int) and v >= self.n0 and v != self.con.root:
                if v not in self.summary:
                    self.summary[v] = self._attribute(v, via)
                return self.summary[v]
        return self.subject if v == self.con.root else v

    def _attribute(self, v: int, via: Key | None) -> tuple[str, Hashable, Hashable]:
        """("new" | "yield", creator, subject) for an object made while exploring: a yield
        of the factory invoked; what the creating program invoked made (a bank, DC, DCC,
        FCC, FC, copy key, KIDC, range key); else a domain of the DC whose brand it carries;
        else what the bank that sold it made."""
        kind = self._kind_of(via) if via is not None else None
        if via is not None and kind == "requestor":
            return "yield", self._vertex(via), self.subject
        creator = self._vertex(via) if via is not None and kind in _CREATING else self._brand(v)
        if creator is None:
            creator = self._buyer(v)
        if creator is None:
            creator = self._vertex(via) if via is not None else "unknown"
        return "new", creator, self.subject

    def _brand(self, v: int) -> Hashable | None:
        """The DC (or DCC) whose brand a new domain carries, if any."""
        root = self.k.objs[v]
        if not isinstance(root, Node):        # None, or a page
            return None
        brand = self.k.live(root.slots[0])
        if brand.type == DOMAIN and self._role(brand.obj) in ("dc", "dcc"):
            return self._vertex(brand)
        return None

    def _buyer(self, v: int) -> Hashable | None:
        """The vertex of the domain whose range key made object ``v`` (a bank), from the
        copy's event log."""
        for row in self.k.log.rows(self.scanned):
            if row[2] == EV_CREATE:
                self.created[row[6]] = row[4]
        self.scanned = len(self.k.log)
        actor = self.created.get(v)
        obj = None if actor is None else self.k.objs[actor]
        if actor is None or obj is None:
            return None
        return self._vertex(Key(START, actor, 0, obj.alloc))

    def _describe_key(self, key: Key) -> str:
        if key.type == DATA:
            return f"DK({key.obj})"
        return f"{key.type_name} to {self._describe(self._vertex(key))}"

    def _describe(self, v: Hashable) -> str:
        if isinstance(v, int):
            return f"{self.snap0.kind.get(v, 'object')} #{v}"
        return str(v)

    @staticmethod
    def _order_name(key: Key, order: int) -> str:
        name = key.type_name
        if order == KT:
            return "KT"
        if name in ("node", "fetch", "sense") and order < 16:
            return f"Fetch+{order}"
        if name == "domain" and 16 <= order < 32:
            return f"GetKey+{order - 16}"
        if name == "domain" and order < 16:
            return f"Get+{order}"
        return _ORDER_NAMES.get(name, {}).get(order, f"order {order}")

    # ------------------------------------------------------------- roles
    def _role(self, root: int) -> str:
        """How the analyses treat the domain rooted at ``root`` (model.behaviour)."""
        if root < self.n0 and root in self.G:
            return behaviour(self.G, root)
        k = self.k
        role = SYSTEM_PROGRAMS.get(k.program_image(root) or "", "free")
        if role == "fcc":
            role = "factory" if self._fcc_role(root) == ROLE_FACTORY else "creator"
        return role

    def _fcc_role(self, root: int) -> int:
        """The ROLE data register of an ``fcc`` domain: FCC, FC or factory."""
        k = self.k
        regs = k.live(k.store.node(root).slots[15])
        r0 = k.store.node(regs.obj).slots[ROLE] if regs.type == NODE else DK0
        return r0.obj if r0.type == DATA else 0

    def _kind_of(self, key: Key) -> str | None:
        if key.type == START:
            return self._gate_kind(key)
        if key.type in (NODE_RANGE, PAGE_RANGE):
            return "range"
        return None

    def _gate_kind(self, key: Key) -> str | None:
        """The GATE_ORDERS kind of a start key, or None if it must not be invoked."""
        v = self._vertex(key)
        if v == self.subject or key.obj == self.con.root:
            return None                 # a self-call, or the console standing in
        role = self._role(key.obj)
        if role == "factory":
            return _FACETS.get(key.databyte, "free")
        if role == "creator":
            return "fc" if self._fcc_role(key.obj) == ROLE_FC else "fcc"
        return role if role in GATE_ORDERS else "free"

    def _is_bank(self, key: Key) -> bool:
        return key.type == START and key.databyte == 0 and self._role(key.obj) == "bank"

