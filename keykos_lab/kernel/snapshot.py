"""A plain-Python picture of the system state, for frames and graphs outside the kernel.

Objects are classified by how keys use them: a node designated by a domain,
start or resume key (or known to the kernel as a domain) is a *domain* vertex,
and its keys node and registers node fold into it; the console's key ring folds
into the console; nodes designated by meter keys are *meters*, by segment keys
*segments*. Kernel singletons (misc keys, range keys) become ``misc:<name>``.

>>> from keykos_lab.kernel.core import Kernel
>>> snap = Snapshot(Kernel())
>>> snap.kind[snap.console]
'domain'
"""

from __future__ import annotations

from keykos_lab.kernel.console import RING_PER_NODE  # the ring's link slot
from keykos_lab.kernel.domains import KEYS_NODE, REGS_NODE, SLOT_KINDS, STATE_NAMES
from keykos_lab.kernel.keys import (
    DATA,
    DOMAIN,
    FRONTEND,
    HOOK,
    METER,
    NODE,
    NODE_RANGE,
    OBJECT_TYPES,
    PAGE_RANGE,
    RESUME,
    SEGMENT,
    START,
    Key,
)


def misc_vertex(key: Key) -> str:
    if key.type == NODE_RANGE:
        return "misc:node_range"
    if key.type == PAGE_RANGE:
        return "misc:page_range"
    return f"misc:{key.type_name}"


class Snapshot:
    """Objects with kinds, owners and labels; ``edges()`` yields every held key."""

    def __init__(self, kernel) -> None:
        k = self.kernel = kernel
        objs = k.objs
        live = k.live
        self.console = k.console.root
        self.kind: dict[int, str] = {}
        self.owner: dict[int, int] = {}  # folded node -> domain vertex
        self.slot_kind: dict[int, str] = {}  # node -> kind of its slots when folded
        roots = {r for r in k.domains if objs[r] is not None}
        meters, segments = {k.prime_meter}, set()
        for obj in objs:
            if obj is None or obj.kind != "node":
                continue
            for key in obj.slots:
                t = key.type
                if t in (START, RESUME, DOMAIN):
                    roots.add(key.obj)
                elif t == METER:
                    meters.add(key.obj)
                elif t in (SEGMENT, FRONTEND):
                    segments.add(key.obj)
        for root in sorted(roots):
            node = objs[root]
            if node is None or node.kind != "node":
                continue
            self.kind[root] = "domain"
            for slot, kind in ((KEYS_NODE, "key_register"), (REGS_NODE, "register")):
                sub = live(node.slots[slot])
                if sub.type == NODE and sub.obj not in roots and sub.obj != root:
                    self.owner.setdefault(sub.obj, root)
                    self.slot_kind.setdefault(sub.obj, kind)
        for ring in k.console.ring_nodes:
            self.owner[ring] = self.console
            self.slot_kind[ring] = "ring"
        for obj in objs:
            if obj is None or obj.id in self.kind or obj.id in self.owner:
                continue
            if obj.kind == "page":
                self.kind[obj.id] = "page"
            elif obj.id in meters:
                self.kind[obj.id] = "meter"
            elif obj.id in segments:
                self.kind[obj.id] = "segment"
            else:
                self.kind[obj.id] = "node"
        self._parts: dict[int, list[int]] | None = None  # domain -> its folded nodes

    def parts(self, root: int) -> list[int]:
        """The nodes folded into domain vertex ``root``, in id order (its keys and
        registers nodes; the console's ring nodes). The map is built in one pass over
        ``owner`` the first time it is asked for, so a graph of many domains is linear.

        >>> from keykos_lab.kernel.core import Kernel
        >>> snap = Snapshot(Kernel())
        >>> parts = snap.parts(snap.console)
        >>> parts == sorted(n for n, d in snap.owner.items() if d == snap.console)
        True
        """
        if self._parts is None:
            by_root: dict[int, list[int]] = {}
            for node, root_of in self.owner.items():
                by_root.setdefault(root_of, []).append(node)
            for nodes in by_root.values():
                nodes.sort()
            self._parts = by_root
        return list(self._parts.get(root, ()))

    def target(self, key: Key):
        """The graph vertex a key designates (folded nodes map to their domain)."""
        if key.type in OBJECT_TYPES:
            return self.owner.get(key.obj, key.obj)
        return misc_vertex(key)

    def label(self, oid: int) -> str:
        """The object's label: the one the store records, else ``<program> #<id>`` for
        a domain running a program, else ``<kind> #<id>``.

        >>> from keykos_lab.kernel.core import Kernel
        >>> k = Kernel(); snap = Snapshot(k)
        >>> snap.label(k.console.root), snap.label(k.prime_meter)
        ('console', 'prime meter')
        """
        k = self.kernel
        label = k.store.labels.get(oid)
        if label:
            return label
        ds = k.domains.get(oid)
        if ds is not None and ds.program:
            return f"{ds.program} #{oid}"
        return f"{self.kind.get(oid, 'object')} #{oid}"

    def domain_info(self, root: int) -> dict:
        """A domain vertex's attributes: its ``nodes`` (root first, then its folded
        nodes in id order), its ``state`` and its ``program`` ("" when none is known).

        >>> from keykos_lab.kernel.core import Kernel
        >>> snap = Snapshot(Kernel())
        >>> info = snap.domain_info(snap.console)
        >>> info["nodes"][0] == snap.console, info["state"]
        (True, 'running')
        """
        k = self.kernel
        ds = k.domains.get(root)
        nodes = [root, *self.parts(root)]
        program = (ds.program if ds else None) or k.program_image(root) or ""
        return {
            "nodes": nodes,
            "state": STATE_NAMES[ds.state] if ds else "available",
            "program": program,
        }

    def edges(self):
        """(holder vertex, target vertex, key, slot, slot kind) for every held key.

        One pass over the nodes' slots and the handlers' transient keys, constant work
        per slot (data and hook keys are skipped before the liveness check, which
        leaves them as they are).

        >>> from keykos_lab.kernel.core import Kernel
        >>> snap = Snapshot(Kernel())
        >>> sorted({sk for _, _, _, _, sk in snap.edges()})
        ['meter', 'ring']
        """
        k = self.kernel
        live = k.live
        owner, kinds_of, slot_kind = self.owner, self.kind, self.slot_kind
        target = self.target
        for obj in k.objs:
            if obj is None or obj.kind != "node":
                continue
            oid = obj.id
            folded = oid in owner
            holder = owner.get(oid, oid)
            if folded:
                skind = slot_kind[oid]
                kinds = None
            elif kinds_of.get(oid) == "domain":
                skind, kinds = None, SLOT_KINDS
            else:
                skind, kinds = "slot", None
            ring = folded and skind == "ring"
            for slot, raw in enumerate(obj.slots):
                t = raw.type
                if t == DATA or t == HOOK:
                    continue  # live() returns these unchanged
                key = live(raw)
                t = key.type
                if t == DATA:
                    continue  # a dead key reads as DK(0)
                sk = kinds.get(slot, "slot") if kinds is not None else skind
                if ring and slot == RING_PER_NODE:
                    continue  # the ring's own link
                if t == NODE and owner.get(key.obj) == holder:
                    continue  # a link inside the folded domain, not a held key
                yield holder, target(key), key, slot, sk
        for root, ds in k.domains.items():
            if not ds.held or ds is k.console.state or k.objs[root] is None:
                continue
            for raw in dict.fromkeys(ds.held):  # each key once (a message may pass one twice)
                key = live(raw)
                if key.type in (DATA, HOOK):
                    continue
                yield root, target(key), key, -1, "transient"
