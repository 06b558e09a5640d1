"""A past moment of a kernel, rebuilt from its history for the views that read state.

``past(kernel, seq)`` gives an object with what ``Snapshot`` and the objects frame read
from a kernel — ``objs``, ``domains``, ``store.labels``, ``console`` (its root, key ring
and state), ``prime_meter``, ``live`` and ``program_image`` — as they were just after
event ``seq``, made from the recorded state (``kernel/history.py``) with the kernel's
own node and page classes and its own ``live`` rule. Nothing runs again and the kernel
is not touched: the same graph code reads the present and the past.

>>> from keykos_lab.kernel.core import Kernel
>>> from keykos_lab.kernel.history import History
>>> k = Kernel(); _ = History.start(k)
>>> _ = k.console.call(k.console.dkc, 0); before = len(k.log) - 1
>>> node = k.store.new_node(); k.store.labels[node.id] = "later"
>>> _ = k.console.call(k.console.dkc, 0)
>>> then = past(k, before)
>>> then.objs[node.id] if node.id < len(then.objs) else None, then.store.labels.get(node.id)
(None, None)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keykos_lab.kernel.history import HistoryUnavailable, PastState
from keykos_lab.kernel.keys import Key
from keykos_lab.kernel.objects import Node, Page
from keykos_lab.kernel.segments import image_program
from keykos_lab.kernel.state import live_key

if TYPE_CHECKING:
    from keykos_lab.kernel.core import Kernel as _Kernel

__all__ = ["PastKernel", "past", "HistoryUnavailable"]


class PastDomain:
    """A domain's recorded kernel state: the fields the views read."""

    __slots__ = ("root", "state", "program", "parked", "resume_alloc", "held")

    def __init__(self, root: int, fields: dict[str, Any]) -> None:
        self.root = root
        self.state: int = fields["state"]
        self.program: str | None = fields["program"]
        self.parked: str | None = fields["parked"]
        self.resume_alloc: int = fields["resume_alloc"]
        self.held: tuple[Key, ...] = fields["held"]


class _Labels:
    __slots__ = ("labels",)

    def __init__(self, labels: dict[int, str]) -> None:
        self.labels = labels


class _Console:
    __slots__ = ("root", "ring_nodes", "state")

    def __init__(self, root: int, ring: list[int], state: PastDomain | None) -> None:
        self.root = root
        self.ring_nodes = ring
        self.state = state


class PastKernel:
    """A kernel as it was just after event ``seq``, for reading (see the module)."""

    def live(self, key: Key) -> Key:
        """``key`` if it designated, at this moment, what it did (the kernel's rule)."""
        return live_key(self.objs, self.domains, key)

    def __init__(self, kernel: _Kernel, state: PastState) -> None:
        self.seq = state.seq
        self.kernel = kernel
        objs: list[Page | Node | None] = []
        for oid, rec in enumerate(state.objs):
            if rec is None:
                objs.append(None)
                continue
            kind, alloc, payload = rec
            if kind == "node":
                node = Node(oid, alloc)
                node.slots = list(payload)
                objs.append(node)
            else:
                page = Page(oid, alloc)
                if payload is not None:
                    page.data = bytearray(payload)
                objs.append(page)
        self.objs = objs
        self.domains = {root: PastDomain(root, f) for root, f in state.domains.items()}
        self.store = _Labels(state.labels)
        console = kernel.console.root
        self.console = _Console(console, state.ring, self.domains.get(console))
        self.prime_meter = kernel.prime_meter

    def program_image(self, root: int) -> str | None:
        """The program the image at address 0 of the domain's memory named then."""
        return image_program(self.objs, root)


def past(kernel: _Kernel, seq: int) -> PastKernel:
    """The kernel as it was just after event ``seq`` (see the module).

    Raises :class:`HistoryUnavailable` when the kernel keeps no history or it does not
    cover ``seq``.
    """
    history = kernel.history
    if history is None:
        raise HistoryUnavailable(
            "this kernel keeps no history (History.start was never called, or it was "
            "stopped), so past moments cannot be rebuilt"
        )
    return PastKernel(kernel, history.state(seq))
