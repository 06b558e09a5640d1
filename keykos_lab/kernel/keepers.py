"""Keepers: traps, and the calls the kernel makes on a domain's behalf
(docs/primer.md#primer-keepers).

A trap sets the domain's trap code and calls its domain keeper with a fault
key; a system call (``dom.trap``) is a trap with an SVC code. The call is an
implicit CALL through the keeper's gate: the keeper gets the domain key (or,
for segment and meter keepers, a node key) as key 3 and a resume key of the
fault or restart flavour as key 4.
"""

from __future__ import annotations

from keykos_lab.kernel.domains import (
    A_SEND,
    BLOCKED,
    KEEPER,
    TRAPCODE,
    WAITING,
    DomainState,
)
from keykos_lab.kernel.eventlog import (
    C_SVC,
    J_IMPLICIT,
)
from keykos_lab.kernel.gates import Gates
from keykos_lab.kernel.keys import (
    DK,
    DK0,
    DOMAIN,
    FAULT,
    RESUME,
    START,
    Key,
)
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.objects import Node
from keykos_lab.kernel.oc import Trap
from keykos_lab.kernel.ops import KeeperCall, Svc
from keykos_lab.kernel.process import MAX_ORDER, MAX_STRING

TRAP_CODE_MASK = (1 << 48) - 1  # a trap code is a 6-byte data key


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Keepers(Gates):
    """Keepers."""

    def _trap(self, ds: DomainState, code: int, cause: int, on_resume) -> None:
        """Set the trap code and call the domain keeper with a fault key
        (docs/primer.md#primer-keepers)."""
        root = self.objs[ds.root]
        if not isinstance(root, Node):
            return
        root.slots[TRAPCODE] = DK(code & TRAP_CODE_MASK)
        self.node_epoch += 1
        keeper = self.live(root.slots[KEEPER])
        dkey = Key(DOMAIN, ds.root, 0, root.alloc)
        data = (ds.error or "").encode("utf-8", "backslashreplace")[:MAX_STRING]
        self._keeper_call(ds, keeper, code & MAX_ORDER, dkey, data, FAULT, cause, on_resume)

    def _keeper_call(
        self, ds, keeper: Key, order: int, k3: Key, data: bytes, flavour: int, cause: int, on_resume
    ) -> None:
        ds.on_resume = on_resume
        if keeper.type not in (START, RESUME):
            self._park(ds, f"trap ({ds.error or 'fault'}) with no keeper to call")
            return
        self._implicit(ds, KeeperCall(keeper, order, (DK0, DK0, k3), data, flavour, cause))

    def _implicit(self, ds: DomainState, op: KeeperCall) -> object:
        """Make (or retry) a call the kernel makes to a keeper for ``ds``."""
        keeper, order, keys, data, flavour, cause = op
        keeper = self.live(keeper)
        before = ds.state
        if keeper.type == START:
            tgt = self.domain_state(keeper.obj)
        elif keeper.type == RESUME:
            tgt = self.domains[keeper.obj]
        else:
            self._park(ds, "its keeper key died before the call could be made")
            return BLOCKED
        ds.state = WAITING
        self._gate(
            ds, op, J_IMPLICIT, keeper, tgt, order, keys + (DK0,), data, before, flavour, cause
        )
        return BLOCKED

    def _svc(self, ds: DomainState, op: Svc) -> object:
        """A system call: trap to the domain keeper with the SVC code (``dom.trap``)."""
        code, data = op
        if not self._charge(ds, 1, op):
            return BLOCKED
        root = self.node(ds.root)
        root.slots[TRAPCODE] = DK(Trap.SVC + code)
        self.node_epoch += 1
        ds.error = None
        keeper = self.live(root.slots[KEEPER])
        self._keeper_call(
            ds,
            keeper,
            Trap.SVC + code,
            Key(DOMAIN, ds.root, 0, root.alloc),
            data,
            FAULT,
            C_SVC,
            (A_SEND, None),
        )
        return BLOCKED
