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
* keeper channels (docs/analyses.md#analyses-keepers): a fault in a domain's memory
  tree hands the keeper of a red node it reaches a node key to that node and a restart
  key to the domain; a dry meter on its chain (slot 1 upwards) hands the meter's keeper
  (slot 2) a node key to the meter and a restart key; a call on a red segment key goes
  to the node's keeper, which gets a node key with the segment key's databyte. A
  restart key the kernel minted carries no keys (``Closure.delivers``);
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
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias, TypeGuard

import networkx as nx
import pandas as pd

from keykos_lab.analysis.behaviour import Behaviour, declared, without
from keykos_lab.analysis.convert import CapabilityCSR, rights_of
from keykos_lab.analysis.model import (
    ANY_SLOT,
    BUILDER,
    CONTROLLED,
    COPY,
    FETCHER,
    LOCAL_SLOT,
    LSS_BITS,
    METER_KEEPER,
    METER_SUPERIOR,
    NOCALL,
    NOT_KEEPERS,
    REQUESTOR,
    RESTART,
    SEGMODE,
    USABLE,
    KeyTriple,
    behaviour,
    factory_parts,
    walk_step,
)
from keykos_lab.analysis.summaries import summary
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
RETURN, FAULT = 2, 4  # resume-key flavours (databyte)
GATES = ("start", "resume")
#: A key that could be in some slot of an object, why, and which slot (``ANY_SLOT``).
Inside: TypeAlias = tuple[KeyTriple, Ref, int]
#: What :meth:`_Walk.own` finds: (key, slot) pairs, classes storing, classes leaving keys.
_Own: TypeAlias = tuple[list[tuple[KeyTriple, int]], list[Hashable], list[Hashable]]


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

    #: Skip work that can make no new fact (issue 22). Every fact, witness and order is
    #: the same either way; False runs the plain rules, kept for the tests that say so.
    lean: bool = True

    def __init__(
        self, G: nx.MultiDiGraph, behaviour: Mapping[Hashable, object] | None = None
    ) -> None:
        self.G = G
        #: Declared behaviours (:mod:`.behaviour`), parsed once.
        self.described: dict[Hashable, Behaviour] = declared(G, behaviour)
        # ("received", d): what a described domain received in messages it served;
        # a class of its own that never acts (docs/analyses.md#analyses-declared-behaviour).
        self._passive: set[Hashable] = set()
        # class -> {described domain that acts with its own keys when asked: the gate}
        self._asks: dict[Hashable, dict[Hashable, Ref]] = {}
        # class -> {described domain its members can CALL: the gate} (resume keys, R9)
        self._callees: dict[Hashable, dict[Hashable, Ref]] = {}
        # class (or former class) -> {key: why}
        self.holds: dict[Hashable, dict[KeyTriple, Why]] = {}
        # object -> {key: why}, a domain's root slots included
        self.contents: dict[Hashable, dict[KeyTriple, Why]] = {}
        # object -> {(subject, sensed): the key it reads with}
        self.readers: dict[Hashable, dict[tuple[Hashable, bool], Ref]] = {}
        # class -> readers of any of its members (domain keys): (reads with, stored with)
        self.class_readers: dict[
            Hashable, dict[tuple[Hashable, bool], tuple[Ref, Ref | None, str | None]]
        ] = {}
        # class -> (class, sensed) of its readers, as they were when they registered
        self._marks: dict[Hashable, set[tuple[Hashable, bool]]] = {}
        # class -> its keys in the order it came to hold them, and how many of those its
        # readers have been told (_run tells them in that order)
        self._order: dict[Hashable, list[KeyTriple]] = {}
        self._told: dict[Hashable, int] = {}
        self._dim: dict[KeyTriple, KeyTriple | None] = {}  # key -> _diminished(key)
        # class -> class readers set aside by _notify_class (they would repeat facts)
        self._silent: dict[Hashable, set[tuple[Hashable, bool]]] = {}
        # object -> {(class, sensed): the key it stores with}
        self.written: dict[Hashable, dict[tuple[Hashable, bool], Ref]] = {}
        # class -> {DC vertex whose brand it can check}
        self.dcs: dict[Hashable, set[Hashable]] = {}
        self.parent: dict[Hashable, Hashable] = {}  # union-find over freely acting subjects
        self.members: dict[Hashable, list[Hashable]] = {}  # class -> [subjects]
        self.summary: dict[Hashable, str] = {}  # summary vertex -> behaviour
        self._role: dict[Hashable, str] = {}  # vertex -> behaviour, memoised
        self._brand: dict[Hashable, Hashable] = {
            u: v for u, v, d in G.edges(data=True) if d.get("slot_kind") == "brand"
        }
        self._brands = set(self._brand.values())
        # Keeper channels (docs/analyses.md#analyses-keepers): each vertex's keys by slot,
        # domains whose root slots someone can store into, red segment keys held (callers).
        self._slots: dict[Hashable, list[tuple[int, str, KeyTriple]]] = {}
        self._restart = {
            v
            for _, v, d in G.edges(data=True)
            if d["key_type"] == "resume" and d["databyte"] == RESTART
        }
        self._wrote: dict[Hashable, Ref] = {}
        self._local: dict[Hashable, dict[Hashable, Ref]] = {}  # object -> class -> key
        self._callers: dict[Hashable, dict[tuple[Hashable, KeyTriple], Ref]] = {}
        self._called: set[tuple[Hashable, KeyTriple, KeyTriple]] = set()
        self._parts: dict[Hashable, Any] = {}  # factory -> factory_parts
        self._merges = 0  # grows when two classes merge
        self._changes = 0  # grows when who reads, stores or leaves keys where does
        self._todo: deque[tuple[str, Hashable, KeyTriple]] = deque()
        self._seed()
        self._run()
        while self._keepers():
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
            if r in self._passive:
                continue
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
            self._order.setdefault(r, []).append(key)

    def given(self, s: Hashable, key: KeyTriple | None, why: Why) -> None:
        """The kernel delivers ``key`` to ``s`` in a message (a keeper call): ``s`` holds
        it, and a described ``s`` received it in the message it serves."""
        self.hold(s, key, why)
        if s in self.described:
            self.hold(self._received(s), key, why)

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
            self._slots.setdefault(u, []).append((d.get("slot", ANY_SLOT), kind or "", key))
            if G.nodes[u].get("kind") == "domain":
                if self.behaviour(u) == "free" and kind in USABLE:
                    self.hold(u, key, why)
                elif kind in CONTROLLED:
                    self.content(u, key, why)
                if (
                    kind == "keeper"
                    and d["key_type"] in ("start", "resume")
                    and self.behaviour(v) == "free"
                ):
                    trap = ("trap", (u, v, d["key_type"], "keeper"))
                    self.given(v, (u, "domain", 0), trap)
                    self.given(v, (u, "resume", FAULT), trap)
            else:
                self.content(u, key, why)

    # ------------------------------------------------------------ the rules
    def _run(self) -> None:
        todo = self._todo
        while todo:
            what, v, key = todo.popleft()
            if what == "H":
                r = self.find(v)
                if r == v:  # the next of r's own keys in order (hold and _link append)
                    self._told[r] = self._told.get(r, 0) + 1
                self._notify(self.class_readers.get(r, {}), ("H", v, key), key, r)
                if r == v and r not in self._passive:  # else merged since: the class has it
                    self._use(r, key)
            else:
                self._notify(self.readers.get(v, {}), ("C", v, key), key, None)

    def _notify(
        self,
        readers: dict[tuple[Hashable, bool], Any],
        ref: Ref,
        key: KeyTriple,
        cls: Hashable | None,
    ) -> None:
        """Readers get a key that just appeared where they read. ``readers`` are an
        object's (values: the key each reads with) or, with ``cls``, a class's (values:
        (reads with, stored with) pairs)."""
        if cls is not None and self.lean:
            self._notify_class(readers, ref, key, cls)
            return
        for (s, sensed), access in tuple(readers.items()):
            if sensed or self.find(s) != cls:
                how = "sense" if sensed else "fetch"
                if cls is None:
                    parents: tuple[Any, ...] = (access,)
                else:  # class readers: (reads with, stored with, how)
                    *pair, named = access
                    parents, how = tuple(pair), named or how
                self.hold(s, _diminished(key) if sensed else key, (how, ref, *parents))

    def _notify_class(
        self, readers: dict[tuple[Hashable, bool], Any], ref: Ref, key: KeyTriple, cls: Hashable
    ) -> None:
        """:meth:`_notify` for a class's readers, doing only what can make a fact: a
        reader whose class an earlier reader (same ``sensed``) already served, or one
        inside ``cls`` reading plainly, would only repeat a fact, so it is set aside for
        good (classes only merge), remembered in ``_silent`` so that it is not
        registered again (issue 22: a class the console joins had a reader per member)."""
        served: set[tuple[Hashable, bool]] = set()
        holds, find = self.holds, self.find
        quiet: list[tuple[Hashable, bool]] = []
        for (s, sensed), access in tuple(readers.items()):
            r = find(s)
            if (r, sensed) in served or not sensed and r == cls:
                quiet.append((s, sensed))
                continue
            served.add((r, sensed))
            got = _diminished(key) if sensed else key
            if got is None or got in holds.get(r, ()):
                continue  # what hold would do: nothing
            ref_with, stored_with, named = access
            how = named or ("sense" if sensed else "fetch")
            self.hold(s, got, (how, ref, ref_with, stored_with))
        if quiet:
            silent = self._silent.setdefault(cls, set())
            for entry in quiet:
                del readers[entry]
                silent.add(entry)

    def _use(self, r: Hashable, key: KeyTriple) -> None:
        target, ktype, db = key
        ref = ("H", r, key)
        if ktype in ("node", "fetch", "sense", "domain"):
            self._read(r, target, ktype == "sense", ref)
        if ktype in ("node", "domain"):
            self._write(r, target, False, ref)
        for derived in _derived(key):
            self.hold(r, derived, ("derive", ref))
        if ktype in GATES:
            if self.delivers(key):
                self._gate(r, target, db, ref, ktype)
            if ktype == "start" or db != RESTART:  # identify refuses restart keys
                self._amplify(r, key)  # (kernel/orders/misc.py _domtool)
        elif ktype in ("node_range", "page_range"):
            made = self._made(target, r, "container")
            self.hold(r, (made, ktype.split("_")[0], 0), ("create", ref))
        elif ktype == "domtool" or (ktype == "domain" and target in self._brands):
            for held in tuple(self.held(r)):  # a new brand or the domain tool
                self._amplify(r, held)
        elif ktype == "node":
            self._amplify(r, key)
        if ktype in ("segment", "frontend") and not db & (NOCALL | LSS_BITS):
            # A red segment key can call the red node's keeper (kernel/invocation.py).
            self._callers.setdefault(target, {})[(r, key)] = ref

    def _read(self, s: Hashable, obj: Hashable, sensed: bool, ref: Ref) -> None:
        """``s`` reads ``obj`` (fetch or sense): what it holds, and what anyone
        who writes into it holds."""
        readers = self.readers.setdefault(obj, {})
        if (s, sensed) in readers:
            return
        readers[(s, sensed)] = ref
        self._changes += 1
        for key in tuple(self.contents.get(obj, ())):
            self.hold(
                s,
                _diminished(key) if sensed else key,
                ("sense" if sensed else "fetch", ("C", obj, key), ref),
            )
        if self.behaviour(obj) == "free":
            self._reads_class(s, obj, sensed, ref)
        for (w, w_sensed), stored_with in tuple(self.written.get(obj, {}).items()):
            self._reads_class(s, w, sensed or w_sensed, ref, stored_with)
        for w, stored_with in tuple(self._local.get(obj, {}).items()):
            self._reads_class(s, w, sensed, ref, stored_with)

    def _write(self, s: Hashable, obj: Hashable, sensed: bool, ref: Ref) -> None:
        """``s`` stores into ``obj`` (a node or domain key; ``sensed``: sensory
        versions only). A freely acting domain gets the keys in its registers; an
        object's readers read the writer's keys from then on, never copied. A described
        writer stores only what its behaviour lets it pass on (:meth:`_passes`)."""
        src = self._passes(s)
        if src is None:
            return
        s = src
        if self.behaviour(obj) == "free":
            if obj not in self._wrote:
                self._wrote[obj] = ref  # its root slots can change
                self._changes += 1
            self._reads_class(obj, s, sensed, ref)
            return
        written = self.written.setdefault(obj, {})
        if (s, sensed) in written:
            return
        written[(s, sensed)] = ref
        self._changes += 1
        for (reader, r_sensed), access in tuple(self.readers.get(obj, {}).items()):
            self._reads_class(reader, s, sensed or r_sensed, access, ref)

    def _leave(self, s: Hashable, obj: Hashable, ref: Ref) -> None:
        """``s`` can leave any key it holds in one slot of ``obj``, never its keeper
        slot: the *local slot* a red segment's format names for the caller's third key
        (jsegmntc.c:372, ``kernel/orders/segment.py`` ``front_end``)."""
        if self.behaviour(obj) == "free":
            self._write(s, obj, False, ref)
            return
        src = self._passes(s)
        if src is None:
            return
        s = src
        local = self._local.setdefault(obj, {})
        r = self.find(s)
        if r in local:
            return
        local[r] = ref
        self._changes += 1
        for (reader, r_sensed), access in tuple(self.readers.get(obj, {}).items()):
            self._reads_class(reader, r, r_sensed, access, ref)

    def _reads_class(
        self,
        s: Hashable,
        w: Hashable,
        sensed: bool,
        ref: Ref,
        stored_with: Ref | None = None,
        how: str | None = None,
    ) -> None:
        """``s`` comes to hold (the sensory versions of) every key ``w``'s class
        holds; ``ref`` is the key ``s`` reads with, ``stored_with`` the one ``w``
        stores with, when it is an object in between; ``how`` names the step in
        witnesses (``fetch`` or ``sense`` by default)."""
        r = self.find(w)
        readers = self.class_readers.setdefault(r, {})
        if (s, sensed) in readers or (not sensed and self.find(s) == r):
            return
        if self.lean and (s, sensed) in self._silent.get(r, ()):
            return  # set aside by _notify_class: it would repeat facts
        readers[(s, sensed)] = (ref, stored_with, how)
        step = how or ("sense" if sensed else "fetch")
        if self.lean:  # only the keys s's class lacks: hold does nothing for the others
            mark = (self.find(s), sensed)
            marks = self._marks.setdefault(r, set())
            keys: Iterable[KeyTriple] = tuple(self.held(r))
            if mark in marks:  # its class reads r already: it holds every key r has told
                keys = self._order.get(r, [])[self._told.get(r, 0) :]
            marks.add(mark)
            mine = self.holds.get(mark[0], {})
            if not sensed:
                for key in keys:
                    if key not in mine:
                        self.hold(s, key, (step, ("H", r, key), ref, stored_with))
                return
            dim = self._dim
            for key in keys:
                got = dim.get(key, key)
                if got is key:
                    got = dim[key] = _diminished(key)
                if got is not None and got not in mine:
                    self.hold(s, got, (step, ("H", r, key), ref, stored_with))
            return
        for key in tuple(self.held(r)):
            self.hold(
                s,
                _diminished(key) if sensed else key,
                (step, ("H", r, key), ref, stored_with),
            )

    def _link(self, s: Hashable, d: Hashable, ref: Ref) -> None:
        """A channel both ways: the two classes become one, holding both's keys."""
        a, b = self.find(s), self.find(d)
        if a == b:
            return
        for v in (a, b):
            self.members.setdefault(v, [v])
            self.holds.setdefault(v, {})
        if len(self.holds[a]) < len(self.holds[b]):
            a, b = b, a  # merge the smaller class, b
        # A CALL through the gate hands the callee a resume key to its caller (R9), and
        # the callee can CALL back through that key: once joined, every member can come
        # to hold a return key to every other. A lone class gains its own key here; a
        # joined one holds its members' already (O(members) over all links).
        lone = [v for v in (a, b) if len(self.members[v]) == 1]
        old_a = list(self.members[a])
        had = self.holds[b]  # kept: witnesses point into it
        self._changes += 1
        self._merges += 1
        moved = self.members.pop(b)
        self.parent[b] = a
        self.members[a] += moved
        big = self.holds[a]
        for key in had:
            if key not in big:
                big[key] = ("sent", ("H", b, key), ref)
                self._todo.append(("H", a, key))
                self._order.setdefault(a, []).append(key)
        readers_b = self.class_readers.pop(b, {})  # readers of b's members learn a's
        for key in tuple(big):
            if key not in had:
                self._notify(readers_b, ("H", a, key), key, a)
        readers = self.class_readers.setdefault(a, {})
        readers.update(readers_b)
        if b in self._silent:
            self._silent.setdefault(a, set()).update(self._silent.pop(b))
        # b's readers were not told a's keys in a's order (only now, and b's own keys may
        # still wait in _todo), so what a has told says nothing about them: forgotten.
        self._marks.pop(b, None)
        # Readers now inside the class learn nothing more from it (_notify skips them, and
        # classes only merge): dropped, so that a class the console joins is not walked
        # reader by reader for every key it gains (issue 22: quadratic before).
        for entry in [e for e in readers if not e[1] and self.find(e[0]) == a]:
            del readers[entry]
        for d, why in self._asks.pop(b, {}).items():
            self._asks.setdefault(a, {}).setdefault(d, why)
        for dc in self.dcs.pop(b, set()):
            self._dc(a, dc)
        for v in lone:
            self.hold(a, (v, "resume", RETURN), ("call", ref))
        # Described callees of either side can now be called by the other's members too.
        callees_b = self._callees.pop(b, {})
        callees_a = self._callees.setdefault(a, {})
        for d, why in callees_a.items():
            for m in moved:
                self.given(d, (m, "resume", RETURN), ("call", why))
        for d, why in callees_b.items():
            for m in old_a:
                self.given(d, (m, "resume", RETURN), ("call", why))
            callees_a.setdefault(d, why)

    # ------------------------------------------------- declared behaviours
    def _channel(self, s: Hashable, d: Hashable, kind: str, ref: Ref) -> None:
        """Class ``s`` sends a message through a ``kind`` key to free domain ``d`` and
        ``d`` answers, when either has a declared behaviour
        (docs/analyses.md#analyses-declared-behaviour): each gets what the other's
        behaviour lets it pass, and a described ``d`` that may act for its callers
        with its own keys is one ``s`` can ask to."""
        self._send(s, d, kind == "resume", ref, to_sender=False)
        self._send(d, s, True, ref, to_sender=True)
        # A CALL gives the callee a resume key to the caller (the kernel makes it, whatever
        # the caller's behaviour): the callee may pass it on, or store it. Any member of
        # the caller's class can make the call, including those joined later (_link).
        r = self.find(s)
        callees = self._callees.setdefault(r, {})
        if d not in callees:
            callees[d] = ref
            for m in self.members.get(r, [r]):
                self.given(d, (m, "resume", RETURN), ("call", ref))
        bd = self.described.get(d)
        if bd is not None and bd.acts_for_callers:
            asks = self._asks.setdefault(self.find(s), {})
            if d not in asks:
                asks[d] = ref
                self._changes += 1

    def _send(self, x: Hashable, y: Hashable, answer: bool, ref: Ref, to_sender: bool) -> None:
        """``y`` gets the keys a message from ``x`` can carry: all of ``x``'s class's,
        those ``x`` received in messages it served, or none. ``to_sender``: the answer
        to the message ``y`` sent, where the keys ``x`` received are ``y``'s own."""
        bx = self.described.get(x)
        src: Hashable
        if bx is None:
            src = self.find(x)
        elif answer and not bx.answers_with_keys:
            return
        elif bx.passes_any:
            src = x
        elif bx.passes_received and not to_sender:
            src = self._received(x)
        else:
            return
        self._reads_class(y, src, False, ref, how="sent")
        if y in self.described:
            self._reads_class(self._received(y), src, False, ref, how="sent")

    def _passes(self, s: Hashable) -> Hashable | None:
        """The class whose keys class ``s`` can store or leave anywhere: itself, what a
        ``passes_received`` domain received, or None for one that ``keeps_keys``."""
        b = self.described.get(s)
        if b is None or b.passes_any:
            return s
        return self._received(s) if b.passes_received else None

    def _received(self, d: Hashable) -> Hashable:
        """The passive class holding what described domain ``d`` received."""
        rx = ("received", d)
        if rx not in self._passive:
            self._passive.add(rx)
            self.members[rx] = [rx]
            self.holds.setdefault(rx, {})
        return rx

    def received(self, d: Hashable) -> dict[KeyTriple, Why]:
        """The keys described domain ``d`` can receive in messages it serves."""
        return self.holds.get(("received", d), {})

    def deputies(self, s: Hashable) -> dict[Hashable, Ref]:
        """The described domains ``s`` can have act with their own keys, directly or
        through one another: {deputy: the gate it is asked through}."""
        out: dict[Hashable, Ref] = {}
        todo = [self.find(s)]
        while todo:
            for d, why in self._asks.get(todo.pop(), {}).items():
                if d not in out:
                    out[d] = why
                    todo.append(self.find(d))
        return out

    def _summary(self, v: Hashable, kind: str) -> Hashable:
        self.summary.setdefault(v, kind)
        return v

    def _made(self, creator: Hashable, client: Hashable, kind: str) -> Hashable:
        """The summary of what ``creator`` makes for ``client``: ``("new", creator,
        origin)``, nested at most three deep (deeper, a summary makes itself)."""
        made = summary(creator, client)
        return creator if made is creator else self._summary(made, kind)

    def _gate(self, s: Hashable, d: Hashable, db: int, ref: Ref, kind: str = "start") -> None:
        role = self.behaviour(d)
        if role == "free":
            if d in self.described or s in self.described:
                self._channel(s, d, kind, ref)
            else:
                self._link(s, d, ref)
        elif role == "bank":
            made = self._made(d, s, "container")
            self.hold(s, (made, "node", 0), ("buy", ref))
            self.hold(s, (made, "page", 0), ("buy", ref))
        elif role in ("dc", "dcc", "kidc", "creator"):
            made = self._made(
                d, s, {"dc": "free", "dcc": "dc", "kidc": "kid", "creator": "creator"}[role]
            )
            if role == "dc":
                self.hold(s, (made, "domain", 0), ("create", ref))
                self.hold(s, (d, "start", 1), ("weaken", ref))
                self._dc(s, d)
            elif role == "creator":  # an FC or factory from an FCC or FC:
                for facet in range(4):  # builder, requestor, fetcher, copy
                    self.hold(s, (made, "start", facet), ("create", ref))
                if db == BUILDER and isinstance(d, tuple):
                    # A factory made while the system runs: its builder's GetDC hands out
                    # its DC, a domain of the DCC (programs/factories/factory.py).
                    dcc = self._the_dcc()
                    if dcc is not None:
                        dc = self._made(dcc, s, "dc")
                        self.hold(s, (dc, "start", 1), ("GetDC", ref))
            else:
                self.hold(s, (made, "start", 0), ("create", ref))
        elif role == "factory":
            self._factory(s, d, db, ref)

    def _the_dcc(self) -> Hashable | None:
        """The DCC of the system (the domain running ``dcc``), if there is one."""
        if not hasattr(self, "_dcc"):
            self._dcc = next((v for v in self.G if self.behaviour(v) == "dcc"), None)
        return self._dcc

    def _factory(self, s: Hashable, f: Hashable, db: int, ref: Ref) -> None:
        parts = self._parts.get(f)
        if parts is None:
            parts = self._parts[f] = factory_parts(self.G, f)
        comp, extra, dc = parts
        if comp is None:
            return
        if db == REQUESTOR:
            y = self._summary(summary(f, s, "yield"), "free")
            why = ("yield", ref)
            self.hold(y, (comp[0], "fetch", 0), why)
            self.hold(y, (y, "domain", 0), why)
            self.hold(y, dc, why)
            keeper = extra[0]
            if keeper and keeper[1] in ("start", "resume") and self.behaviour(keeper[0]) == "free":
                self.given(keeper[0], (y, "domain", 0), ("trap", ref))
                self.given(keeper[0], (y, "resume", FAULT), ("trap", ref))
            if s in self.described:
                self._channel(s, y, "start", ref)
            else:
                self._link(s, y, ref)
            return
        self._read(s, comp[0], False, ref)  # fetcher, copy and builder
        for key in extra:
            self.hold(s, key, ("fetch", ref))
        # MakeRequestor (builder, fetcher), MakeCopy and GetDC (builder); a copy
        # key's Copy makes a new factory, summarised as an FC's would be.
        facets = {BUILDER: (REQUESTOR, FETCHER, COPY), FETCHER: (REQUESTOR, FETCHER)}
        for facet in facets.get(db, ()):
            self.hold(s, (f, "start", facet), ("facet", ref))
        if db == BUILDER:
            self.hold(s, dc, ("GetDC", ref))
            self._write(s, comp[0], True, ref)  # complete: sensory installs only
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
        if ktype not in ("start", "resume") or ktype == "resume" and key[2] == RESTART:
            return
        b = self._brand.get(target)
        if b is None:
            if tool and self.G.nodes.get(target, {}).get("kind") == "domain":
                self.hold(r, (target, "node", 0), ("identify", ("H", r, key)))
            return
        if b in self.dcs.get(r, ()) or (tool and (b, "domain", 0) in held):
            self.hold(r, (target, "domain", 0), ("identify", ("H", r, key)))

    # ------------------------------------------------------ keeper channels
    def delivers(self, key: KeyTriple) -> bool:
        """Whether a message through ``key`` reaches its domain with its keys: not
        through a restart key the kernel minted for a keeper (``kernel/gates.py``
        ``_deliver_resume`` delivers keys through return keys only). A resume key with
        databyte 0 that is in the original graph still counts, as before: the readers
        write reply capabilities so.

        >>> import networkx as nx
        >>> Closure(nx.MultiDiGraph()).delivers((1, "resume", 0))
        False
        """
        return (
            key[1] == "start"
            or key[1] == "resume"
            and (key[2] != RESTART or key[0] in self._restart)
        )

    def inside(self, v: Hashable) -> list[Inside]:
        """Every key that can come to be in a slot of ``v`` (``(key, why, slot)``;
        ``slot`` is ``ANY_SLOT`` when it could be any): the keys in it now, a freely
        acting domain's keys (its registers hang below its root), and whatever those who
        can store into it hold."""
        return list(self._inside(v))

    def _inside(self, v: Hashable) -> Iterator[Inside]:
        """:meth:`inside`, one at a time (the state must not change meanwhile)."""
        stored = self.contents.get(v, {})
        r = self.find(v) if self.behaviour(v) == "free" else None
        held = self.holds.get(r, {}) if r is not None else {}
        for slot, _, key in self._slots.get(v, ()):
            if key in stored:
                yield (key, ("C", v, key), slot)
            elif key in held:
                yield (key, ("H", r, key), slot)
        for key in held:
            yield (key, ("H", r, key), ANY_SLOT)
        for w, sensed in self.written.get(v, ()):
            rw = self.find(w)
            for key in self.holds.get(rw, ()):
                seen = _diminished(key) if sensed else key
                if seen is not None:
                    yield (seen, ("H", rw, key), ANY_SLOT)
        for w in self._local.get(v, ()):
            rw = self.find(w)
            for key in self.holds.get(rw, ()):
                yield (key, ("H", rw, key), LOCAL_SLOT)

    def _root_slot(self, d: Hashable, kind: str) -> list[tuple[KeyTriple, Ref]]:
        """What can come to be in domain ``d``'s ``kind`` slot (``address``, ``meter``):
        the key there now and, once someone can store into ``d``'s root, any key it has."""
        out: list[tuple[KeyTriple, Ref]] = [
            (key, ("C", d, key))
            for _, k, key in self._slots.get(d, ())
            if k == kind and key in self.contents.get(d, {})
        ]
        if d in self._wrote:
            r = self.find(d)
            out += [(key, ("H", r, key)) for key in tuple(self.holds.get(r, ()))]
        elif self.behaviour(d) != "free":
            out += [(key, ref) for key, ref, slot in self.inside(d) if ref[0] == "H"]
        return out

    def keepers(self, x: Hashable, slot: int = ANY_SLOT) -> list[tuple[KeyTriple, Ref]]:
        """The keys to keepers that can come to be in ``x``: start keys and resume keys
        that deliver. ``slot=ANY_SLOT``: a red segment's keeper slot, which can be any
        but its local slot; ``METER_KEEPER``: a meter's (slot 2, or a key of unknown slot)."""
        return [
            (key, ref)
            for key, ref, s in self.inside(x)
            if key[1] in GATES
            and self.delivers(key)
            and (s in (slot, ANY_SLOT) if slot != ANY_SLOT else s != LOCAL_SLOT)
        ]

    def callable(self, x: Hashable) -> list[tuple[KeyTriple, Ref]]:
        """The keys a call on a red segment key to ``x`` can invoke, keepers aside:
        what can be in its keeper slot but those the kernel turns into DK(0)."""
        return list(self._callable(x))

    def _callable(self, x: Hashable) -> Iterator[tuple[KeyTriple, Ref]]:
        for key, ref, s in self._inside(x):
            if key[1] not in NOT_KEEPERS and key[1] not in GATES and s != LOCAL_SLOT:
                yield (key, ref)

    def _usable(self, x: Hashable) -> list[tuple[KeyTriple, Ref]]:
        """What :meth:`_call_segment` looks for in :meth:`callable`: its first key, and
        its first frontend key, looked for no further (issue 22)."""
        if not self.lean:
            return self.callable(x)
        out: list[tuple[KeyTriple, Ref]] = []
        for k, why in self._callable(x):
            if not out or k[1] == "frontend":
                out.append((k, why))
                if k[1] == "frontend":
                    break
        return out

    def _keepers(self) -> bool:
        """Give keepers what the kernel hands them (docs/analyses.md#analyses-keepers);
        True when that made new facts, or changed who reads or stores where. Segment
        faults and dry meters: a node key to the red node or meter and a restart key to
        the domain; calls on a red segment key: the caller talks to the keeper, which gets
        a node key with the segment key's databyte."""
        changes = self._changes
        walk = _Walk(self)
        domains = [v for v in self.G if self.G.nodes[v].get("kind") == "domain"]
        domains += [v for v, role in self.summary.items() if role == "free"]
        for d in domains:
            for x, walked in walk.sites(d).items():
                self._grant(x, d, "segment fault", walk.keeper_classes(x), walked)
            for m, walked in walk.meters(d).items():
                self._grant(m, d, "meter dry", walk.keeper_classes(m, METER_KEEPER), walked)
        for x, callers in tuple(self._callers.items()):
            local = walk.any_start(x)
            gates = walk.one_per_class(x)
            others: list[tuple[KeyTriple, Ref]] | None = None
            readers = {self.find(v) for v, sensed in self.readers.get(x, ()) if not sensed}
            free = [(g, why) for g, why in gates if self.behaviour(g[0]) == "free"]
            for (r, key), ref in tuple(callers.items()):
                if others is None:
                    others = self._usable(x)
                # A reader of x holds its keepers' keys already: it calls them anyway.
                self._call_segment(
                    r, x, key, ref, free if self.find(r) in readers else gates, others, local
                )
        return bool(self._todo) or self._changes != changes

    def _call_segment(
        self,
        r: Hashable,
        x: Hashable,
        key: KeyTriple,
        ref: Ref,
        gates: list[tuple[KeyTriple, Ref]],
        others: list[tuple[KeyTriple, Ref]],
        local: bool,
    ) -> None:
        """Class ``r`` calls red segment (or frontend) ``key`` to ``x``
        (``kernel/orders/segment.py`` ``front_end``): the message goes to what the keeper
        slot holds, with a node key to ``x`` (the key's databyte) as its third key; a
        frontend key reaches start keys only, through chains of frontend keys; the
        caller's third key can be left in the format's local slot, when the message goes
        to a start key (gatec.c:185 stores it at delivery). ``gates``: keys to keepers
        that can be in ``x``; ``others``: other keys there it could invoke; ``local``:
        whether a start key can be its keeper."""
        if local:
            self._leave(r, x, ref)
        node = (x, "node", key[2])
        rc = self.find(r)
        held = self.holds.get(rc, {})
        for gate, gate_ref in gates:
            if key[1] == "frontend" and gate[1] != "start":
                continue
            free = self.behaviour(gate[0]) == "free"
            if gate in held and not free:
                continue  # it calls that keeper anyway
            done = (rc, gate, key)
            if done not in self._called:
                self._called.add(done)
                if gate not in held:
                    self._gate(rc, gate[0], gate[2], ref, gate[1])
                if free:
                    self.given(gate[0], node, ("segment call", ref, gate_ref))
        usable = next(
            ((k, why) for k, why in others if key[1] == "segment" or k[1] == "frontend"), None
        )
        if usable is not None:
            # The caller can invoke a key the keeper slot may hold (a frontend key only
            # follows frontend keys), passing the node key, which a domain key stores
            # and gives back: as if it read the node and held that node key.
            self._read(rc, x, False, ref)
            if key[1] == "segment":
                self.hold(rc, node, ("segment call", ref, usable[1]))

    def _grant(
        self,
        x: Hashable,
        d: Hashable,
        how: str,
        keepers: list[tuple[Hashable, Ref]],
        walked: object,
    ) -> None:
        """The kernel calls a keeper of ``x`` for ``d``: a node key to ``x`` and a
        restart key to ``d`` (``kernel/memory.py`` ``_memory_fault``,
        ``kernel/meters.py`` ``_meter_dry``, ``kernel/keepers.py`` ``_keeper_call``)."""
        for k, ref in keepers:
            why = (how, ref, walked)
            self.given(k, (x, "node", 0), why)
            self.given(k, (d, "resume", RESTART), why)

    def memory(self, d: Hashable) -> dict[Hashable, tuple[bool, list[Step]]]:
        """The pages domain ``d``'s program can read (and write, ``True``) through its
        address slot, as its memory tree can come to be, each with the path to it:
        read-only accumulates down the path (a read-only segment, fetch or sense key
        makes everything below read-only), as ``kernel/segments.py`` translates."""
        pages: dict[Hashable, tuple[bool, list[Step]]] = {}
        parent: dict[tuple[Hashable, bool], tuple[tuple[Hashable, bool] | None, Step]] = {}
        todo: deque[tuple[Hashable, bool]] = deque()

        def path(state: tuple[Hashable, bool] | None, last: Step) -> list[Step]:
            steps = [last]
            while state is not None:
                state, step = parent[state]
                steps.append(step)
            return steps[::-1]

        def enter(
            key: KeyTriple, ro: bool, at: tuple[Hashable, bool] | None, holder: Hashable
        ) -> None:
            step = walk_step(key[1], key[2])
            if step is None:
                return
            ro = ro or step[0]
            how: Step = (holder, key[0], key[1], "address space")
            if key[1] == "page":
                if key[0] not in pages or not ro and not pages[key[0]][0]:
                    pages[key[0]] = (not ro, path(at, how))
            elif (key[0], ro) not in parent and (key[0], False) not in parent:
                parent[(key[0], ro)] = (at, how)
                todo.append((key[0], ro))

        for key, _ in self._root_slot(d, "address"):
            enter(key, False, None, d)
        while todo:
            state = todo.popleft()
            for key, _, _ in self.inside(state[0]):
                enter(key, state[1], state, state[0])
        return pages

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


class _Walk:
    """One pass over the keeper channels: what address translation and meter chains can
    reach, from every domain, with each class's keys looked at once (a *hub*)."""

    def __init__(self, c: Closure) -> None:
        self.c = c
        self._own: dict[Hashable, _Own] = {}
        self._hub: dict[Hashable, list[KeyTriple]] = {}
        self._gates: dict[tuple[Hashable, int], list[tuple[KeyTriple, Ref]]] = {}
        self._classes: dict[tuple[Hashable, int], list[tuple[Hashable, Ref]]] = {}
        self._hub_gates: dict[Hashable, list[tuple[KeyTriple, Ref]]] = {}
        # Worked out while no classes merge (keyed on Closure._merges):
        self._hub_classes: dict[tuple[Hashable, int], list[tuple[Hashable, Ref]]] = {}
        self._hub_once: dict[tuple[Hashable, int], list[tuple[KeyTriple, Ref, Any]]] = {}
        self._own_gates: dict[tuple[Hashable, int], list[tuple[KeyTriple, Ref]]] = {}

    def gates(self, x: Hashable, slot: int = ANY_SLOT) -> list[tuple[KeyTriple, Ref]]:
        """:meth:`Closure.keepers`, each class's keys looked at once."""
        found = self._gates.get((x, slot))
        if found is None:
            found = list(self.own_gates(x, slot))
            for h in self.gate_hubs(x, slot):
                found += self.hub_gates(h)
            self._gates[(x, slot)] = found
        return found

    def own_gates(self, x: Hashable, slot: int) -> list[tuple[KeyTriple, Ref]]:
        """The gates among the keys in ``x``'s slots (the first part of :meth:`gates`)."""
        found = self._own_gates.get((x, slot))
        if found is None:
            c = self.c
            own, _, _ = self.own(x)
            r = c.find(x) if c.behaviour(x) == "free" else None
            found = self._own_gates[(x, slot)] = [
                (key, ("C", x, key) if key in c.contents.get(x, {}) else ("H", r, key))
                for key, s in own
                if key[1] in GATES
                and c.delivers(key)
                and (slot == ANY_SLOT or s in (slot, ANY_SLOT))
            ]
        return found

    def any_start(self, x: Hashable) -> bool:
        """Whether a start key is among :meth:`gates` ``(x)``."""
        if not self.c.lean:
            return any(gate[1] == "start" for gate, _ in self.gates(x))
        parts = [self.own_gates(x, ANY_SLOT)]
        parts += [self.hub_gates(h) for h in self.gate_hubs(x, ANY_SLOT)]
        return any(gate[1] == "start" for part in parts for gate, _ in part)

    def gate_hubs(self, x: Hashable, slot: int) -> list[Hashable]:
        """The classes whose gates can come to be in ``x`` (the rest of :meth:`gates`)."""
        _, hubs, local = self.own(x)
        return hubs + (local if slot != ANY_SLOT else [])

    def hub_gates(self, r: Hashable) -> list[tuple[KeyTriple, Ref]]:
        found = self._hub_gates.get(r)
        if found is None:
            c = self.c
            found = self._hub_gates[r] = [
                (key, ("H", r, key)) for key in self.hub(r) if key[1] in GATES and c.delivers(key)
            ]
        return found

    def keeper_classes(self, x: Hashable, slot: int = ANY_SLOT) -> list[tuple[Hashable, Ref]]:
        """The freely acting keepers of ``x``, one per class (they hold the same keys)."""
        found = self._classes.get((x, slot))
        if found is None:
            c = self.c
            mine: dict[Hashable, Ref] = {}
            if c.lean:  # the same, in the same order: each hub's classes worked out once
                for gate, ref in self.own_gates(x, slot):
                    if c.behaviour(gate[0]) == "free":
                        mine.setdefault(c.find(gate[0]), ref)
                for h in self.gate_hubs(x, slot):
                    for cls, ref in self.hub_classes(h):
                        mine.setdefault(cls, ref)
            else:
                for gate, ref in self.gates(x, slot):
                    if c.behaviour(gate[0]) == "free":
                        mine.setdefault(c.find(gate[0]), ref)
            found = self._classes[(x, slot)] = list(mine.items())
        return found

    def hub_classes(self, r: Hashable) -> list[tuple[Hashable, Ref]]:
        """The classes of the free domains class ``r`` holds gates to, each with the
        first such gate (:meth:`keeper_classes` for a hub)."""
        found = self._hub_classes.get((r, self.c._merges))
        if found is None:
            c = self.c
            mine: dict[Hashable, Ref] = {}
            for gate, ref in self.hub_gates(r):
                if c.behaviour(gate[0]) == "free":
                    mine.setdefault(c.find(gate[0]), ref)
            found = self._hub_classes[(r, self.c._merges)] = list(mine.items())
        return found

    def one_per_class(self, x: Hashable) -> list[tuple[KeyTriple, Ref]]:
        """``_one_per_class(c, self.gates(x))``, each hub's part worked out once."""
        c = self.c
        if not c.lean:
            return _one_per_class(c, self.gates(x))
        out: list[tuple[KeyTriple, Ref]] = []
        seen: set[tuple[Hashable, str, int]] = set()
        parts = [_one_per_class(c, self.own_gates(x, ANY_SLOT), True)]
        parts += [self.hub_once(h) for h in self.gate_hubs(x, ANY_SLOT)]
        for part in parts:
            for gate, ref, mark in part:
                if mark is not None:
                    if mark in seen:
                        continue
                    seen.add(mark)
                out.append((gate, ref))
        return out

    def hub_once(self, r: Hashable) -> list[tuple[KeyTriple, Ref, Any]]:
        """:func:`_one_per_class` of a hub's gates, marked, while no classes merge."""
        found = self._hub_once.get((r, self.c._merges))
        if found is None:
            found = _one_per_class(self.c, self.hub_gates(r), True)
            self._hub_once[(r, self.c._merges)] = found
        return found

    def own(self, v: Hashable) -> _Own:
        """The keys in ``v``'s slots now (with slots), the classes whose keys can be
        stored there (sensory-only writers left out: they store no-call keys, no gate),
        and those whose keys can be left in its local slot."""
        found = self._own.get(v)
        if found is None:
            c = self.c
            stored, free = c.contents.get(v, {}), c.behaviour(v) == "free"
            held = c.holds.get(c.find(v), {}) if free else {}
            keys = [
                (key, slot) for slot, _, key in c._slots.get(v, ()) if key in stored or key in held
            ]
            hubs = [c.find(v)] if free else []
            hubs += [c.find(w) for w, sensed in c.written.get(v, ()) if not sensed]
            local = [c.find(w) for w in c._local.get(v, ())]
            found = self._own[v] = (keys, hubs, local)
        return found

    def hub(self, r: Hashable) -> list[KeyTriple]:
        found = self._hub.get(r)
        if found is None:
            found = self._hub[r] = list(self.c.holds.get(r, ()))
        return found

    def start(self, d: Hashable, kind: str) -> tuple[list[KeyTriple], list[Hashable]]:
        """What can come to be in ``d``'s ``kind`` root slot: keys, and classes."""
        c = self.c
        keys = [
            key for _, k, key in c._slots.get(d, ()) if k == kind and key in c.contents.get(d, {})
        ]
        hubs = [c.find(d)] if d in c._wrote else []
        if c.behaviour(d) != "free":
            _, stores, leaves = self.own(d)
            hubs += stores + leaves
        return keys, hubs

    def sites(self, d: Hashable) -> dict[Hashable, object]:
        """The red nodes a fault in ``d``'s address space can offer to their keeper:
        reached from its address slot by address translation (``kernel/segments.py``
        ``translate``) through no no-call key, by a key whose size bits are 0."""
        sites: dict[Hashable, object] = {}
        seen: set[Hashable] = set()
        hubs_seen: set[Hashable] = set()
        todo: list[Hashable] = []
        hubs: list[Hashable] = []

        def enter(key: KeyTriple, holder: Hashable) -> None:
            if key[1] not in SEGMODE or key[2] & NOCALL:
                return  # a page ends the walk; no keeper below no-call
            if not key[2] & LSS_BITS:
                sites.setdefault(key[0], (holder, key))
            if key[0] not in seen:
                seen.add(key[0])
                todo.append(key[0])

        keys, hubs = self.start(d, "address")
        for key in keys:
            enter(key, d)
        while todo or hubs:
            while hubs:
                r = hubs.pop()
                if r not in hubs_seen:
                    hubs_seen.add(r)
                    for key in self.hub(r):
                        enter(key, r)
            if todo:
                v = todo.pop()
                own, classes, local = self.own(v)
                for key, _ in own:
                    enter(key, v)
                hubs += classes + local
        return sites

    def meters(self, d: Hashable) -> dict[Hashable, object]:
        """The meters ``d`` runs under: its meter slot, then each meter's superior
        (``kernel/meters.py`` ``meter_chain``), as they can come to be."""
        found: dict[Hashable, object] = {}
        hubs_seen: set[Hashable] = set()
        keys, hubs = self.start(d, "meter")
        todo = [(key, d) for key in keys]
        while todo or hubs:
            while hubs:
                r = hubs.pop()
                if r not in hubs_seen:
                    hubs_seen.add(r)
                    todo += [(key, r) for key in self.hub(r)]
            if todo:
                key, holder = todo.pop()
                if key[1] != "meter" or key[0] in found:
                    continue
                found[key[0]] = (holder, key)
                own, classes, local = self.own(key[0])
                todo += [(k, key[0]) for k, slot in own if slot in (METER_SUPERIOR, ANY_SLOT)]
                hubs += classes + local
        return found


def _one_per_class(c: Closure, gates: list[tuple[KeyTriple, Ref]], marked: bool = False) -> Any:
    """Keys to keepers with one per class of freely acting keepers and databyte
    (what a call through each does is the same); others kept. ``marked``: each with its
    mark, ``(class, key_type, databyte)`` or None for one kept anyway."""
    out: list[Any] = []
    seen: set[tuple[Hashable, str, int]] = set()
    for gate, ref in gates:
        mark = None
        if c.behaviour(gate[0]) == "free":
            mark = (c.find(gate[0]), gate[1], gate[2])
            if mark in seen:
                continue
            seen.add(mark)
        out.append((gate, ref, mark) if marked else (gate, ref))
    return out


def _is_ref(x: object) -> TypeGuard[Ref]:
    return isinstance(x, tuple) and len(x) == 3 and x[0] in ("H", "C")


_SENSORY: dict[tuple[str, int], tuple[str, int] | None] = {}


def _diminished(key: KeyTriple) -> KeyTriple | None:
    kind = (key[1], key[2])
    version = _SENSORY.get(kind, kind)
    if version is kind:
        version = _SENSORY[kind] = sensory(*kind)
    return None if version is None else (key[0], *version)


def _derived(key: KeyTriple) -> list[KeyTriple]:
    """Weaker keys the holder can make from ``key``. Node Make…Key takes the new
    key's databyte from its string: the key's own and 0 stand for all of them."""
    target, ktype, db = key
    if ktype == "node":
        return [(target, kind, b) for b in {db, 0} for kind in ("fetch", "segment", "frontend")] + [
            (target, "sense", db | 0xC0),
            (target, "sense", 0xC0),
            (target, "meter", 0),
            (target, "node", 0),
        ]  # MakeNodeKey (jnodec.c)
    if ktype == "fetch":
        return [(target, "sense", db | 0xC0)]
    if ktype in ("page", "segment") and not db & RO:
        return [(target, ktype, db | RO)]
    if ktype == "domain":
        return [(target, "start", 0), (target, "resume", FAULT), (target, "resume", RETURN)]
    return []


def authority(
    G: nx.MultiDiGraph | CapabilityCSR,
    subject: Hashable,
    *,
    engine: str = "auto",
    memory: bool = True,
    behaviour: Mapping[Hashable, object] | None = None,
) -> pd.DataFrame:
    """Everything ``subject`` can come to hold: one row per (target, key_type,
    databyte), with ``rights``, ``sensory`` and ``via`` (the witness steps); and the
    pages its program can read and write through its own address space, as page rows
    (databyte 0, or 0x80 when only readable) whose ``via`` is the path through the
    memory tree, every step ``"address space"`` (unless it holds that page key anyway);
    ``memory=False`` leaves those out (the keys alone). ``label`` is the target's label
    (``con.name``), when it has one.

    ``behaviour={domain: terms}`` declares what trusted domains do (:mod:`.behaviour`,
    docs/analyses.md#analyses-declared-behaviour): a described domain is not joined to
    its callers; and what a caller can have it do with its own keys is authority too,
    in rows whose ``through`` names it (None: the subject holds the key itself). The
    subject's own declaration, if given, is not used: the question is what it can do as
    it likes.

    ``engine="reference"`` runs the fixpoint above on a networkx graph;
    ``engine="csr"`` the fast engine (:mod:`.fast`) on arrays, without witnesses (``via``
    is None): on a booted system it models the system programs as the reference does
    (:mod:`.fast_booted`), elsewhere it takes no declared behaviour;
    ``"auto"`` picks the fast engine for a :class:`~.convert.CapabilityCSR` and the
    reference for a graph.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> a = authority(k.capability_graph(), con.root)
    >>> sorted(set(a.key_type))[:3]
    ['calclock', 'discrim', 'dkc']
    """
    if pick_engine(G, engine) == "csr":
        if behaviour:
            raise ValueError("declared behaviour needs the reference engine (a networkx graph)")
        from keykos_lab.analysis.fast_frames import authority_frame

        return authority_frame(G, subject, memory=memory)
    # What the subject can do as it likes: its own declaration, if any, is not used.
    closure = closure_for(G, subject, without(behaviour, subject))
    rows = _rows(closure, subject, memory, None, [])
    seen = {(r["target"], r["key_type"], r["databyte"]) for r in rows}
    for deputy, gate in closure.deputies(subject).items():
        asked = (subject, deputy, gate[2][1], "asks")
        for row in _rows(closure, deputy, memory, deputy, [asked]):
            triple = (row["target"], row["key_type"], row["databyte"])
            if triple not in seen:
                seen.add(triple)
                rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["through"] = pd.Series([r["through"] for r in rows], index=df.index, dtype=object)
    return df


def _rows(
    closure: Closure, s: Hashable, memory: bool, through: Hashable, last: list[Step]
) -> list[dict[str, Any]]:
    """The authority rows of ``s``'s own keys and memory (``through``: the deputy column;
    ``last``: a step appended to every witness)."""
    held = closure.held(s)
    nodes = closure.G.nodes

    def row(key: KeyTriple, via: list[Step]) -> dict[str, Any]:
        return {
            "target": key[0],
            "key_type": key[1],
            "databyte": key[2],
            "rights": rights_of(key[1], key[2]),
            "sensory": is_sensory(key[1], key[2]),
            "via": via + last,
            "through": through,
            "label": nodes[key[0]].get("label") if key[0] in nodes else None,
        }

    rows = [row(key, closure.witness(s, key)) for key in held]
    for page, (writable, path) in (closure.memory(s) if memory else {}).items():
        db = 0 if writable else RO
        if (page, "page", db) not in held:  # its address space: a page it can use
            rows.append(row((page, "page", db), path))
    return rows


COLUMNS = ["target", "key_type", "databyte", "rights", "sensory", "via", "through", "label"]


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


def closure_for(
    G: nx.MultiDiGraph | CapabilityCSR,
    subject: Hashable,
    behaviour: Mapping[Hashable, object] | None = None,
) -> Closure:
    """The closure of ``G``, after checking that ``subject`` is a domain in it."""
    if isinstance(G, CapabilityCSR) or not hasattr(G, "nodes"):
        raise ValueError(
            "the reference engine works on networkx graphs; use engine='csr' for a CapabilityCSR"
        )
    if subject not in G:
        raise ValueError(f"{subject!r} is not a vertex of the graph")
    kind = G.nodes[subject].get("kind")
    if kind != "domain":
        raise ValueError(
            f"{subject!r} is a {kind or 'vertex without a kind'}, not a domain: "
            "authority is what a domain's program can come to hold"
        )
    return Closure(G, behaviour)
