"""Memory: a program's reads and writes through its address segment
(docs/primer.md#primer-segments).

An address is translated through the segment tree in the domain's address slot
(``segments.translate``); a fault calls the segment keeper named by the
nearest red node (order 0xFFFFFFFF, a 6-byte string: fault code and address,
with a node key to the red node and a restart key), or traps to the domain
keeper when there is none.
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.domains import (
    A_RETRY,
    ADDRESS,
    BLOCKED,
    RUNNING,
    DomainState,
)
from keykos_lab.kernel.eventlog import (
    C_NONE,
    C_SEGFAULT,
    EV_READ,
    EV_WRITE,
    J_NONE,
)
from keykos_lab.kernel.keepers import Keepers
from keykos_lab.kernel.keys import (
    NODE,
    RESTART,
)
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.objects import PAGE_SIZE
from keykos_lab.kernel.oc import Keeper as KeeperOC
from keykos_lab.kernel.oc import Trap
from keykos_lab.kernel.ops import MemoryOp
from keykos_lab.kernel.segments import Fault, translate

_SEGMENT_FAULT_STRING = struct.Struct(">HI")  # fault code, address
_ADDRESS_MASK = 0xFFFFFFFF  # the string carries a 32-bit address


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Memory(Keepers):
    """Memory."""

    def _memory(self, ds: DomainState, op: MemoryOp) -> object:
        """Read or write ``op.length`` bytes at ``op.address`` through the address slot."""
        write, address, length, arg = op
        if not self._charge(ds, 1 + (length >> 10), op):
            return BLOCKED
        mem = self.node(ds.root).slots[ADDRESS]
        out = []
        pos, end = address, address + length
        target = -1
        while pos < end:
            found = translate(self.objs, mem, pos, write)
            if isinstance(found, Fault):
                return self._memory_fault(ds, op, found)
            page, off = found
            n = min(PAGE_SIZE - off, end - pos)
            if write:
                page.write(off, arg[pos - address : pos - address + n])
            else:
                out.append(page.read(off, n))
            target = page.id
            pos += n
        if write:
            self.page_epoch += 1
        self.log.emit(
            self.tick,
            EV_WRITE if write else EV_READ,
            J_NONE,
            ds.root,
            -1,
            target,
            -1,
            address & 0x7FFFFFFFFFFFFFFF,
            0,
            0,
            length,
            RUNNING,
            RUNNING,
            C_NONE,
        )
        return None if write else b"".join(out)

    def _memory_fault(self, ds: DomainState, op, fault: Fault):
        ds.error = f"memory fault {fault.code} at {fault.address:#x}"
        # A segment keeper is told the address in the string's 4 bytes; one it cannot carry
        # (4 GiB and above) goes to the domain keeper, which sees the whole address in
        # ds.error: a segment keeper told the low 32 bits would mend the wrong page, and the
        # access would fault again for ever (docs/fidelity.md, Segment keepers).
        if fault.keeper is not None and fault.address <= _ADDRESS_MASK:
            node, slot = fault.keeper
            keeper = self.live(node.slots[slot])
            data = _SEGMENT_FAULT_STRING.pack(fault.code, fault.address & _ADDRESS_MASK)
            self._keeper_call(
                ds,
                keeper,
                KeeperOC.Segment,
                self.key_to(NODE, node.id),
                data,
                RESTART,
                C_SEGFAULT,
                (A_RETRY, op),
            )
        else:
            self._trap(ds, Trap.MEMORY + fault.code, C_SEGFAULT, (A_RETRY, op))
        return BLOCKED
