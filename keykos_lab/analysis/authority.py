"""Authority: everything a domain can come to hold, as a fixpoint of the kernel's rules.

The reference engine (docs/analyses.md#analyses-rules): facts ``holds(s, key)`` for
subjects and ``contents(v, key)`` for what is stored in an object, grown to a
fixpoint by the rules below, every fact remembering the step that made it (the
*witness*). A key is ``(target, key_type, databyte)``.

* fetch through a node, fetch or domain key: the holder gets what the object
  holds; through a sense key, the sensory version of it (``sensory``);
* store through a node or domain key: the object gets what the holder holds
  (a domain's key registers are what it can use);
* a start or resume key between two freely acting domains is a channel both
  ways (the caller sends keys, the callee replies with keys);
* a domain with a keeper hands it its domain key and a fault key by trapping;
* a node key makes the weaker keys to its node, a domain key start and resume
  keys, a read-write page key a read-only one;
* system programs act as ``model`` says: banks, DCs, FCs sell *summary*
  objects, one per creator and client (``("new", creator, client)``); a
  factory's requestor's key gives a yield per requestor, holding a fetch key
  to the components and talking to the requestor; a DC turns a start key to
  one of its own domains into a domain key; the domain tool does the same for
  the holder of the brand.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> a = authority(k.capability_graph(), con.root)
>>> bool(((a.target == con.target(page)) & (a.key_type == "page")).any())
True
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator, Mapping
from typing import Any, TypeAlias, TypeGuard

import networkx as nx
import pandas as pd

from keykos_lab.analysis.convert import CapabilityCSR, rights_of
from keykos_lab.analysis.model import (
    BUILDER,
    CONTROLLED,
    COPY,
    FETCHER,
    REQUESTOR,
    USABLE,
    KeyTriple,
    behaviour,
    factory_parts,
)
from keykos_lab.views.schema import is_sensory, sensory

#: A fact: ``("H", class, key)`` (a subject class holds it) or ``("C", object, key)``
#: (it is stored in the object).
Ref: TypeAlias = tuple[str, Hashable, KeyTriple]
#: Why a fact holds: ``(how, *parents)``; the parents are facts (:data:`Ref`), the edge
#: ``(holder, target, key_type, slot_kind)`` for ``how == "edge"``, or None.
Why: TypeAlias = tuple[str, *tuple[object, ...]]
#: A witness step: ``(holder, target, key_type, how)``.
Step: TypeAlias = tuple[Hashable, Hashable, str, str]

RO = 0x80
RETURN, FAULT = 2, 4          # resume-key flavours (databyte)

class Closure:
    """The fixpoint over a whole graph. ``held(s)`` maps each key subject ``s`` can
    come to hold to the step that gave it (see :meth:`witness`).

    Freely acting domains joined by a channel hold the same keys, so they are
    merged into one class (union-find) and each key is derived once per class:
    the condensation that keeps the fixpoint near-linear in practice.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_node("a", kind="domain"); G.add_node("b", kind="domain"); G.add_node(9, kind="page")
    >>> _ = G.add_edge("a", "b", key_type="start", databyte=0, slot=0, slot_kind="key_register")
    >>> _ = G.add_edge("b", 9, key_type="page", databyte=0, slot=0, slot_kind="key_register")
    >>> (9, "page", 0) in Closure(G).held("a")       # b replies with its page key
    True
    """

    def __init__(self, G: nx.MultiDiGraph) -> None:
        self.G = G
        # class (or former class) -> {key: why}
        self.holds: dict[Hashable, dict[KeyTriple, Why]] = {}
        # object -> {key: why}, a domain's root slots included
        self.contents: dict[Hashable, dict[KeyTriple, Why]] = {}
        # object -> {(subject, sensed): the key it reads with}
        self.readers: dict[Hashable, dict[tuple[Hashable, bool], Ref]] = {}
        # class -> readers of any of its members (domain keys): (reads with, stored with)
        self.class_readers: dict[Hashable,
                                 dict[tuple[Hashable, bool], tuple[Ref, Ref | None]]] = {}
        # object -> {(class, sensed): the key it stores with}
        self.written: dict[Hashable, dict[tuple[Hashable, bool], Ref]] = {}
        # class -> {DC vertex whose brand it can check}
        self.dcs: dict[Hashable, set[Hashable]] = {}
        self.parent: dict[Hashable, Hashable] = {}    # union-find over freely acting subjects
        self.members: dict[Hashable, list[Hashable]] = {}   # class -> [subjects]
        self.summary: dict[Hashable, str] = {}        # summary vertex -> behaviour
        self._role: dict[Hashable, str] = {}          # vertex -> behaviour, memoised
        self._brand: dict[Hashable, Hashable] = {
            u: v for u, v, d in G.edges(data=True) if d.get("slot_kind") == "brand"}
        self._brands = set(self._brand.values())
        self._todo: deque[tuple[str, Hashable, KeyTriple]] = deque()
        self._seed()
        self._run()

    # ---------------------------------------------------------------- facts
    def behaviour(self, v: Hashable) -> str:
        """How the analyses treat ``v`` (:func:`.model.behaviour`; summaries as made)."""
        role = self._role.get(v)
        if role is None:
            role = self.summary[v] if v in self.summary else behaviour(self.G, v)
            self._role[v] = role
        return role

    def find(self, s: Hashable) -> Hashable:
        """The class of subject ``s`` (itself until it is joined to another)."""
        parent = self.parent
        root = s
        while parent.get(root, root) != root:
            root = parent[root]
        while s != root:
            s, parent[s] = parent[s], root
        return root

    def held(self, s: Hashable) -> dict[KeyTriple, Why]:
        """The keys subject ``s`` can come to hold: {key: why}."""
        return self.holds.get(self.find(s), {})

    def subjects(self) -> Iterator[tuple[Hashable, dict[KeyTriple, Why]]]:
        """Every subject with the keys it holds: (subject, {key: why})."""
        for r, members in self.members.items():
            for s in members:
                yield s, self.holds.get(r, {})

    def hold(self, s: Hashable, key: KeyTriple | None, why: Why) -> None:
        """``s`` can use ``key`` (a freely acting subject)."""
        if key is None:
            return
        r = self.find(s)
        if r not in self.members:
            self.members[r] = [r]
        held = self.holds.setdefault(r, {})
        if key not in held:
            held[key] = why
            self._todo.append(("H", r, key))

    def content(self, v: Hashable, key: KeyTriple | None, why: Why) -> None:
        """``key`` is stored in ``v`` (a node's slot, a domain's root slots)."""
        if key is None:
            return
        stored = self.contents.setdefault(v, {})
        if key not in stored:
            stored[key] = why
            self._todo.append(("C", v, key))

    def _stored(self, v: Hashable) -> list[KeyTriple]:
        """What a reader of ``v`` finds: its contents, and a free domain's keys."""
        found = list(self.contents.get(v, ()))
        if self.behaviour(v) == "free" and self.find(v) in self.holds:
            found += list(self.holds[self.find(v)])
        return found

    # ------------------------------------------------------------- the seed
    def _seed(self) -> None:
        G = self.G
        for u, v, d in G.edges(data=True):
            key = (v, d["key_type"], d["databyte"])
            why = ("edge", (u, v, d["key_type"], d.get("slot_kind")))
            kind = d.get("slot_kind")
            if G.nodes[u].get("kind") == "domain":
                if self.behaviour(u) == "free" and kind in USABLE:
                    self.hold(u, key, why)
                elif kind in CONTROLLED:
                    self.content(u, key, why)
                if kind == "keeper" and d["key_type"] in ("start", "resume") and \
                        self.behaviour(v) == "free":
                    trap = ("trap", (u, v, d["key_type"], "keeper"))
                    self.hold(v, (u, "domain", 0), trap)
                    self.hold(v, (u, "resume", FAULT), trap)
            else:
                self.content(u, key, why)

    # ------------------------------------------------------------ the rules
    def _run(self) -> None:
        todo = self._todo
        while todo:
            what, v, key = todo.popleft()
            if what == "H":
                r = self.find(v)
                self._notify(self.class_readers.get(r, {}), ("H", v, key), key, r)
                if r == v:                  # else merged since: the class has the key
                    self._use(r, key)
            else:
                self._notify(self.readers.get(v, {}), ("C", v, key), key, None)

    def _notify(self, readers: Mapping[tuple[Hashable, bool], Any], ref: Ref,
                key: KeyTriple, cls: Hashable | None) -> None:
        """Readers get a key that just appeared where they read. ``readers`` are an
        object's (values: the key each reads with) or, with ``cls``, a class's (values:
        (reads with, stored with) pairs)."""
        for (s, sensed), access in tuple(readers.items()):
            if sensed or self.find(s) != cls:
                parents = access if cls is not None else (access,)   # class readers: pairs
                self.hold(s, _diminished(key) if sensed else key,
                          ("sense" if sensed else "fetch", ref, *parents))

    def _use(self, r: Hashable, key: KeyTriple) -> None:
        target, ktype, db = key
        ref = ("H", r, key)
        if ktype in ("node", "fetch", "sense", "domain"):
            self._read(r, target, ktype == "sense", ref)
        if ktype in ("node", "domain"):
            self._write(r, target, False, ref)
        for derived in _derived(key):
            self.hold(r, derived, ("derive", ref))
        if ktype in ("start", "resume"):
            self._gate(r, target, db, ref)
            self._amplify(r, key)
        elif ktype in ("node_range", "page_range"):
            made = self._made(target, r, "container")
            self.hold(r, (made, ktype.split("_")[0], 0), ("create", ref))
        elif ktype == "domtool" or (ktype == "domain" and target in self._brands):
            for held in tuple(self.held(r)):          # a new brand or the domain tool
                self._amplify(r, held)
        elif ktype == "node":
            self._amplify(r, key)

    def _read(self, s: Hashable, obj: Hashable, sensed: bool, ref: Ref) -> None:
        """``s`` reads ``obj`` (fetch or sense): what it holds, and what anyone
        who writes into it holds."""
        readers = self.readers.setdefault(obj, {})
        if (s, sensed) in readers:
            return
        readers[(s, sensed)] = ref
        for key in tuple(self.contents.get(obj, ())):
            self.hold(s, _diminished(key) if sensed else key,
                      ("sense" if sensed else "fetch", ("C", obj, key), ref))
        if self.behaviour(obj) == "free":
            self._reads_class(s, obj, sensed, ref)
        for (w, w_sensed), stored_with in tuple(self.written.get(obj, {}).items()):
            self._reads_class(s, w, sensed or w_sensed, ref, stored_with)

    def _write(self, s: Hashable, obj: Hashable, sensed: bool, ref: Ref) -> None:
        """``s`` stores into ``obj`` (a node or domain key; ``sensed``: sensory
        versions only). A freely acting domain gets the keys in its registers; an
        object's readers read the writer's keys from then on, never copied."""
        if self.behaviour(obj) == "free":
            self._reads_class(obj, s, sensed, ref)
            return
        written = self.written.setdefault(obj, {})
        if (s, sensed) in written:
            return
        written[(s, sensed)] = ref
        for (reader, r_sensed), access in tuple(self.readers.get(obj, {}).items()):
            self._reads_class(reader, s, sensed or r_sensed, access, ref)

    def _reads_class(self, s: Hashable, w: Hashable, sensed: bool, ref: Ref,
                     stored_with: Ref | None = None) -> None:
        """``s`` comes to hold (the sensory versions of) every key ``w``'s class
        holds; ``ref`` is the key ``s`` reads with, ``stored_with`` the one ``w``
        stores with, when it is an object in between."""
        r = self.find(w)
        readers = self.class_readers.setdefault(r, {})
        if (s, sensed) in readers or (not sensed and self.find(s) == r):
            return
        readers[(s, sensed)] = (ref, stored_with)
        for key in tuple(self.held(r)):
            self.hold(s, _diminished(key) if sensed else key,
                      ("sense" if sensed else "fetch", ("H", r, key), ref, stored_with))

    def _link(self, s: Hashable, d: Hashable, ref: Ref) -> None:
        """A channel both ways: the two classes become one, holding both's keys."""
        a, b = self.find(s), self.find(d)
        if a == b:
            return
        for v in (a, b):
            self.members.setdefault(v, [v])
            self.holds.setdefault(v, {})
        if len(self.holds[a]) < len(self.holds[b]):
            a, b = b, a                                   # merge the smaller class, b
        had = self.holds[b]                               # kept: witnesses point into it
        moved = self.members.pop(b)
        self.parent[b] = a
        self.members[a] += moved
        big = self.holds[a]
        for key in had:
            if key not in big:
                big[key] = ("sent", ("H", b, key), ref)
                self._todo.append(("H", a, key))
        readers_b = self.class_readers.pop(b, {})         # readers of b's members learn a's
        for key in tuple(big):
            if key not in had:
                self._notify(readers_b, ("H", a, key), key, a)
        self.class_readers.setdefault(a, {}).update(readers_b)
        for dc in self.dcs.pop(b, set()):
            self._dc(a, dc)

    def _summary(self, v: Hashable, kind: str) -> Hashable:
        self.summary.setdefault(v, kind)
        return v

    def _made(self, creator: Hashable, client: Hashable, kind: str) -> Hashable:
        """The summary of what ``creator`` makes for ``client``: ``("new", creator,
        origin)``, nested at most three deep (deeper, a summary makes itself)."""
        if _depth(creator) >= 3:
            return creator
        return self._summary(("new", creator, origin(client)), kind)

    def _gate(self, s: Hashable, d: Hashable, db: int, ref: Ref) -> None:
        role = self.behaviour(d)
        if role == "free":
            self._link(s, d, ref)
        elif role == "bank":
            made = self._made(d, s, "container")
            self.hold(s, (made, "node", 0), ("buy", ref))
            self.hold(s, (made, "page", 0), ("buy", ref))
        elif role in ("dc", "dcc", "kidc", "creator"):
            made = self._made(d, s, {"dc": "free", "dcc": "dc", "kidc": "kid",
                                     "creator": "creator"}[role])
            if role == "dc":
                self.hold(s, (made, "domain", 0), ("create", ref))
                self.hold(s, (d, "start", 1), ("weaken", ref))
                self._dc(s, d)
            elif role == "creator":                  # an FC or factory from an FCC or FC:
                for facet in range(4):               # builder, requestor, fetcher, copy
                    self.hold(s, (made, "start", facet), ("create", ref))
            else:
                self.hold(s, (made, "start", 0), ("create", ref))
        elif role == "factory":
            self._factory(s, d, db, ref)

    def _factory(self, s: Hashable, f: Hashable, db: int, ref: Ref) -> None:
        comp, extra, dc = factory_parts(self.G, f)
        if comp is None:
            return
        if db == REQUESTOR:
            y = self._summary(("yield", f, origin(s)), "free")
            why = ("yield", ref)
            self.hold(y, (comp[0], "fetch", 0), why)
            self.hold(y, (y, "domain", 0), why)
            self.hold(y, dc, why)
            keeper = extra[0]
            if keeper and keeper[1] in ("start", "resume") and self.behaviour(keeper[0]) == "free":
                self.hold(keeper[0], (y, "domain", 0), ("trap", ref))
                self.hold(keeper[0], (y, "resume", FAULT), ("trap", ref))
            self._link(s, y, ref)
            return
        self._read(s, comp[0], False, ref)                   # fetcher, copy and builder
        for key in extra:
            self.hold(s, key, ("fetch", ref))
        # MakeRequestor (builder, fetcher), MakeCopy and GetDC (builder); a copy
        # key's Copy makes a new factory, summarised as an FC's would be.
        facets = {BUILDER: (REQUESTOR, FETCHER, COPY), FETCHER: (REQUESTOR, FETCHER)}
        for facet in facets.get(db, ()):
            self.hold(s, (f, "start", facet), ("facet", ref))
        if db == BUILDER:
            self.hold(s, dc, ("GetDC", ref))
            self._write(s, comp[0], True, ref)               # complete: sensory installs only
        if db == COPY:
            made = self._made(f, s, "creator")
            for facet in range(4):
                self.hold(s, (made, "start", facet), ("copy", ref))

    def _dc(self, s: Hashable, dc: Hashable) -> None:
        r = self.find(s)
        mine = self.dcs.setdefault(r, set())
        if dc in mine:
            return
        mine.add(dc)
        for key in tuple(self.held(r)):
            self._amplify(r, key)

    def _amplify(self, s: Hashable, key: KeyTriple) -> None:
        """A DC (or the domain tool with the brand) turns a start or resume key to
        one of its domains into a domain key; the domain tool makes a domain key
        from any node key, and identifies an unbranded domain for anyone (its
        brand slot matches DK(0))."""
        target, ktype, _ = key
        r = self.find(s)
        held = self.held(r)
        tool = ("misc:domtool", "domtool", 0) in held
        if ktype == "node" and tool:
            self.hold(r, (target, "domain", 0), ("domtool", ("H", r, key)))
        if ktype not in ("start", "resume"):
            return
        b = self._brand.get(target)
        if b is None:
            if tool and self.G.nodes.get(target, {}).get("kind") == "domain":
                self.hold(r, (target, "node", 0), ("identify", ("H", r, key)))
            return
        if b in self.dcs.get(r, ()) or (tool and (b, "domain", 0) in held):
            self.hold(r, (target, "domain", 0), ("identify", ("H", r, key)))

    # -------------------------------------------------------------- witness
    def witness(self, s: Hashable, key: KeyTriple) -> list[Step]:
        """The steps that gave ``s`` the key, each ``(holder, target, key_type, how)``,
        in an order a reader can follow: every step after the steps it rests on
        (the key a fetch was made with, what was fetched), starting from keys
        held in the original graph (``how == "edge"``). A holder is named by its
        class when channels join it to others; the last step says so (``channel``)."""
        steps: list[Step] = []
        done: set[Ref] = set()
        stack: list[tuple[Ref, bool]] = [(("H", self.find(s), key), False)]
        while stack:
            ref, expanded = stack.pop()
            if ref in done:
                continue
            table = self.holds if ref[0] == "H" else self.contents
            why = table[ref[1]][ref[2]]
            if expanded:
                done.add(ref)
                steps.append((ref[1], ref[2][0], ref[2][1], why[0]))
                continue
            stack.append((ref, True))
            for parent in why[1:][::-1]:
                if _is_ref(parent) and parent not in done:
                    stack.append((parent, False))
        if steps and steps[-1][0] != s:
            # s is joined by channels to the domain that holds it: it can ask for it.
            steps.append((s, key[0], key[1], "channel"))
        return steps


def _is_ref(x: object) -> TypeGuard[Ref]:
    return isinstance(x, tuple) and len(x) == 3 and x[0] in ("H", "C")


def _depth(v: Hashable) -> int:
    depth = 0
    while isinstance(v, tuple):
        depth, v = depth + 1, v[1]
    return depth


def origin(v: Hashable) -> Hashable:
    """The vertex of the graph a summary vertex was made for, at any depth: what a
    summary makes is summarised with it, so the fixpoint stays finite.

    >>> origin(("new", 9, ("yield", 40, 2))), origin(7)
    (2, 7)
    """
    while isinstance(v, tuple):
        v = v[-1]
    return v


def _diminished(key: KeyTriple) -> KeyTriple | None:
    version = sensory(key[1], key[2])
    return None if version is None else (key[0], *version)


def _derived(key: KeyTriple) -> list[KeyTriple]:
    """Weaker keys the holder can make from ``key``. Node Make…Key takes the new
    key's databyte from its string: the key's own and 0 stand for all of them."""
    target, ktype, db = key
    if ktype == "node":
        return [(target, kind, b) for b in {db, 0}
                for kind in ("fetch", "segment", "frontend")] + \
            [(target, "sense", db | 0xC0), (target, "sense", 0xC0), (target, "meter", 0)]
    if ktype == "fetch":
        return [(target, "sense", db | 0xC0)]
    if ktype in ("page", "segment") and not db & RO:
        return [(target, ktype, db | RO)]
    if ktype == "domain":
        return [(target, "start", 0), (target, "resume", FAULT), (target, "resume", RETURN)]
    return []


def authority(G: nx.MultiDiGraph | CapabilityCSR, subject: Hashable, *,
              engine: str = "auto") -> pd.DataFrame:
    """Everything ``subject`` can come to hold: one row per (target, key_type,
    databyte), with ``rights``, ``sensory`` and ``via`` (the witness steps).

    ``engine="reference"`` runs the fixpoint above on a networkx graph;
    ``engine="csr"`` the fast engine (:mod:`.fast`) on arrays, for systems with
    no system programs, without witnesses (``via`` is None); ``"auto"`` picks
    the fast engine for a :class:`~.convert.CapabilityCSR` and the reference for
    a graph.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> a = authority(k.capability_graph(), con.root)
    >>> sorted(set(a.key_type))[:3]
    ['discrim', 'dkc', 'domain']
    """
    if pick_engine(G, engine) == "csr":
        from keykos_lab.analysis.fast import authority_frame
        return authority_frame(G, subject)
    closure = closure_for(G, subject)
    rows = [{"target": key[0], "key_type": key[1], "databyte": key[2],
             "rights": rights_of(key[1], key[2]), "sensory": is_sensory(key[1], key[2]),
             "via": closure.witness(subject, key)}
            for key in closure.held(subject)]
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = ["target", "key_type", "databyte", "rights", "sensory", "via"]


def pick_engine(G: object, engine: str) -> str:
    """``"reference"`` or ``"csr"``: ``"auto"`` picks by what ``G`` is.

    >>> pick_engine(None, "auto"), pick_engine(None, "reference")
    ('csr', 'reference')
    """
    if engine == "auto":
        return "reference" if hasattr(G, "nodes") else "csr"
    if engine not in ("reference", "csr"):
        raise ValueError(f"engine is 'auto', 'reference' or 'csr', not {engine!r}")
    return engine


def closure_for(G: nx.MultiDiGraph | CapabilityCSR, subject: Hashable) -> Closure:
    """The closure of ``G``, after checking that ``subject`` is a domain in it."""
    if isinstance(G, CapabilityCSR) or not hasattr(G, "nodes"):
        raise ValueError("the reference engine works on networkx graphs; "
                         "use engine='csr' for a CapabilityCSR")
    if subject not in G:
        raise ValueError(f"{subject!r} is not a vertex of the graph")
    kind = G.nodes[subject].get("kind")
    if kind != "domain":
        raise ValueError(f"{subject!r} is a {kind or 'vertex without a kind'}, not a domain: "
                         "authority is what a domain's program can come to hold")
    return Closure(G)
