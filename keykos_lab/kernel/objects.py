"""Pages and nodes: the only two kinds of stored object (docs/primer.md#primer-objects).

Object ids are small integers, never reused. Allocation ids come from one
counter that only grows: a new object, a severed object and a minted resume key
each take the next one, so a key made under an older id is revoked for good.

>>> store = ObjectStore()
>>> n = store.new_node()
>>> store.node(n.id).slots[0]
DK(0)
>>> old = n.alloc; _ = store.sever(n.id); n.alloc > old
True
"""

from __future__ import annotations

from collections.abc import MutableSequence
from typing import Any

from keykos_lab.kernel.keys import DK0, Key
from keykos_lab.kernel.native import mypyc_attr

PAGE_SIZE = 4096
SLOTS = 16


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Page:
    """4096 bytes of data; ``data`` stays None until first written (a zero page)."""

    __slots__ = ("id", "alloc", "data", "hist")
    kind = "page"

    def __init__(self, oid: int, alloc: int) -> None:
        self.id = oid
        self.alloc = alloc
        self.data: bytearray | None = None
        #: The kernel's history while it records one (``kernel/history.py``), else None.
        self.hist: Any = None

    def read(self, offset: int, length: int) -> bytes:
        if self.data is None:
            return bytes(length)
        return bytes(self.data[offset : offset + length])

    def write(self, offset: int, data: bytes) -> None:
        if self.data is None:
            if not any(data):
                return
            self.data = bytearray(PAGE_SIZE)
        self.data[offset : offset + len(data)] = data

    def is_zero(self) -> bool:
        return self.data is None or not any(self.data)


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Node:
    """Sixteen slots, each holding exactly one key."""

    __slots__ = ("id", "alloc", "slots")
    kind = "node"

    def __init__(self, oid: int, alloc: int) -> None:
        self.id = oid
        self.alloc = alloc
        # Typed as a MutableSequence, not a list: compiled code (mypyc) then writes a slot
        # through __setitem__, which the history's recording slots override.
        self.slots: MutableSequence[Key] = [DK0] * SLOTS


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class ObjectStore:
    """All live pages and nodes, by id; the allocation counter."""

    __slots__ = ("objects", "next_alloc", "labels", "n_pages", "n_nodes", "hist")

    def __init__(self) -> None:
        #: The kernel's history while it records one (``kernel/history.py``), else None.
        self.hist: Any = None
        self.objects: list[Page | Node | None] = [None]  # id 0 is never an object
        self.next_alloc = 1
        self.labels: dict[int, str] = {}
        self.n_pages = 0
        self.n_nodes = 0

    def take_alloc(self) -> int:
        a = self.next_alloc
        self.next_alloc = a + 1
        return a

    def new_page(self) -> Page:
        p = Page(len(self.objects), self.take_alloc())
        self.objects.append(p)
        self.n_pages += 1
        return p

    def new_node(self) -> Node:
        n = Node(len(self.objects), self.take_alloc())
        self.objects.append(n)
        self.n_nodes += 1
        return n

    def get(self, oid: int) -> Page | Node | None:
        objs = self.objects
        return objs[oid] if 0 < oid < len(objs) else None

    def node(self, oid: int) -> Node:
        obj = self.get(oid)
        if not isinstance(obj, Node):
            raise KeyError(f"no live node #{oid}")
        return obj

    def destroy(self, oid: int) -> Page | Node:
        """Remove an object; every key to it now reads as DK(0)."""
        obj = self.objects[oid]
        if obj is None:
            raise KeyError(f"object #{oid} is already destroyed")
        self.objects[oid] = None
        obj.alloc = self.take_alloc()
        if obj.kind == "page":
            self.n_pages -= 1
        else:
            self.n_nodes -= 1
        return obj

    def sever(self, oid: int) -> int:
        """Give the object a new allocation id: old keys die, contents stay."""
        obj = self.objects[oid]
        if obj is None:
            raise KeyError(f"object #{oid} is destroyed")
        obj.alloc = self.take_alloc()
        return obj.alloc

    def live(self):
        """Every live object, in id order."""
        return (o for o in self.objects if o is not None)
