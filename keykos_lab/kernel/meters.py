"""Meters: a domain's CPU, borrowed from its meter chain (docs/primer.md#primer-meters).

Every invocation costs ticks (D4: one, plus one per KiB of string), charged up
the chain of meters from the domain's meter slot to the prime meter, at most 20
deep. A domain borrows CPU in quanta of ``BORROW_TICKS``; a meter that cannot
lend calls its keeper, or stops its domains until its counter is written
(``meterc.c``).
"""

from __future__ import annotations

from typing import Any

from keykos_lab.kernel.domains import (
    A_RETRY,
    METER,
    RUNNING,
    WAITING,
    DomainState,
)
from keykos_lab.kernel.eventlog import (
    C_METER,
    EV_FAULT,
    J_NONE,
)
from keykos_lab.kernel.keys import (
    DATA,
    DK,
    DK0,
    NODE,
    RESTART,
    RESUME,
    START,
)
from keykos_lab.kernel.keys import (
    METER as METER_KEY,
)
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.objects import Node
from keykos_lab.kernel.oc import Keeper as KeeperOC
from keykos_lab.kernel.state import (
    KernelState,
)

MAX_METER_DEPTH = 20  # meters in a chain, at most
METER_SUPERIOR, METER_KEEPER, METER_COUNTER = 1, 2, 3  # a meter node's slots (meterc.c)
BORROW_TICKS = 256  # CPU ticks a domain borrows from its meters at a time


def _settle_order(ds: DomainState) -> tuple[int, int, tuple[int, ...]]:
    """Root, then what a settle would write: states that tie write the same rows."""
    return (ds.root, ds.cpu, tuple(node.id for node in ds.chain or ()))


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Meters(KernelState):
    """Meters."""

    def meter_chain(self, ds: DomainState) -> list[Node] | None:
        """The meter nodes a domain runs under, nearest first, or None if invalid.

        >>> from keykos_lab.kernel import Kernel
        >>> k = Kernel()
        >>> [n.id for n in k.meter_chain(k.console.state)] == [k.prime_meter]
        True
        """
        if ds.chain_epoch == self.node_epoch:
            return ds.chain
        chain: list[Node] | None = []
        root = self.objs[ds.root]
        key = self.live(root.slots[METER]) if isinstance(root, Node) else DK0
        while chain is not None:
            if key.type != METER_KEY or len(chain) >= MAX_METER_DEPTH:
                chain = None
                break
            node = self.node(key.obj)
            chain.append(node)
            if node.id == self.prime_meter:
                break
            key = self.live(node.slots[METER_SUPERIOR])
        ds.chain, ds.chain_epoch = chain, self.node_epoch
        return chain

    def _borrow(self, ds: DomainState, cost: int, op: object) -> bool:
        """Borrow CPU from every meter on the chain; call a keeper if one is dry."""
        chain = self.meter_chain(ds)
        if chain is None:
            self._park(ds, "no valid meter chain to the prime meter")
            return False
        # A quantum of CPU, or what this op needs when it costs more (a large memory access):
        # the domain's borrowed CPU never goes below zero.
        amount = max(BORROW_TICKS, cost - ds.cpu)
        for node in chain:
            c = node.slots[METER_COUNTER]
            have = c.obj if c.type == DATA else 0
            if have < cost:
                self._meter_dry(ds, node, op)
                return False
            amount = min(amount, have)
        for node in chain:
            counter = node.slots[METER_COUNTER]  # DK to DK: no cache changes
            node.slots[METER_COUNTER] = DK(counter.obj - amount)
        ds.cpu += amount
        self._borrowers.add(ds)
        return True

    def settle_meters(self) -> None:
        """Return every domain's unused borrowed CPU to its meters (exact counters), in an
        order that does not depend on memory addresses (a set of domain states iterates by
        ``id()``), so the history's slot writes are the same from run to run."""
        for ds in sorted(self._borrowers, key=_settle_order):
            chain = ds.chain or ()
            if ds.cpu and all(self.objs[n.id] is n for n in chain):
                for node in chain:
                    node.slots[METER_COUNTER] = DK(node.slots[METER_COUNTER].obj + ds.cpu)
            ds.cpu = 0
        self._borrowers.clear()

    def _meter_dry(self, ds: DomainState, meter: Node, op: object) -> None:
        """Stop the domain; call the meter's keeper, or wait for a refill
        (docs/primer.md#primer-meters)."""
        keeper = self.live(meter.slots[METER_KEEPER])
        ds.error = f"meter #{meter.id} ran dry"
        if keeper.type not in (START, RESUME):
            # No keeper: the domain is stopped, not destroyed; refilling resumes it.
            ds.state = WAITING
            action: Any = (A_RETRY, op)  # one object: meter_refilled compares identities
            ds.on_resume = action
            ds.parked = f"stopped: meter #{meter.id} is dry and has no keeper"
            self.meter_stopped.setdefault(meter.id, []).append((ds, action))
            self.log.emit(
                self.tick,
                EV_FAULT,
                J_NONE,
                ds.root,
                -1,
                meter.id,
                -1,
                0,
                -1,
                0,
                0,
                RUNNING,
                WAITING,
                C_METER,
            )
            return
        self._keeper_call(
            ds,
            keeper,
            KeeperOC.Meter,
            self.key_to(NODE, meter.id),
            self.tick.to_bytes(8, "big"),
            RESTART,
            C_METER,
            (A_RETRY, op),
        )

    def meter_refilled(self, meter_id: int) -> None:
        """A meter's counter was written: domains it stopped try again."""
        for ds, action in self.meter_stopped.pop(meter_id, ()):
            if ds.on_resume is action and ds.parked is not None:  # still stopped there
                ds.parked = None
                ds.on_resume = None
                ds.state = RUNNING
                self._ready(ds, action)

    def _charge(self, ds: DomainState, cost: int, op: object) -> bool:
        if ds.cpu < cost and not self._borrow(ds, cost, op):
            return False
        ds.cpu -= cost
        self.tick += cost
        return True
