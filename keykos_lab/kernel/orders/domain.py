"""Domain keys (``Base/jdomainc.c`` ``jdomain``; order codes ``Dom/include/domain.h``).

The holder of a domain key has all the domain's authority: it reads and swaps
the root's special slots and the key registers, makes start and resume keys,
resets the domain's process (MakeAvailable, MakeBusy) and replaces its memory.
Orders 68–75 are machine-dependent in the C release (``md_jdomain``,
``Base/sparc_jdomain.c`` for SPARC); the simulator's are its own, over the 370
root layout (docs/decisions/0001-root-node-layout.md, docs/fidelity.md).

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> dom = kl.build_domain(con, "echo")
>>> start = con.call(dom, kl.oc.Domain.MakeStart, data=b"\\x05").keys[0]
>>> con.describe(start).startswith("start key")
True
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.domains import (
    A_START,
    ADDRESS,
    AVAILABLE,
    GENERAL_A,
    GENERAL_B,
    KEEPER,
    METER,
    PSW,
    RUNNING,
    TRAPCODE,
    WAITING,
    DomainState,
    close_handler,
)
from keykos_lab.kernel.keys import DATA, DK, DK0, FAULT, RESUME, RETURN, START, Key
from keykos_lab.kernel.objects import SLOTS, Node
from keykos_lab.kernel.oc import KT
from keykos_lab.kernel.oc import Domain as DomainOC
from keykos_lab.kernel.orders.reply import (
    BADSTRING,
    DISCARD,
    INVALID,
    NO,
    OK,
    Reply,
    answer,
    one_key,
)
from keykos_lab.kernel.process import EMPTY, Message
from keykos_lab.kernel.state import KernelState

#: Root slots Get + slot reads (jdomainc.c:207-214: 1, 2, 3, 10, 11; domain.h).
GETTABLE = (METER, KEEPER, ADDRESS, GENERAL_A, GENERAL_B)
#: Root slots Swap + slot writes (jdomainc.c:217; Swap+3 is sparc_jdomain.c:57).
SWAPPABLE = (METER, KEEPER, ADDRESS, GENERAL_A, GENERAL_B)
#: Orders that act on the key registers or the process: rc 2 if malformed (prepare_domain
#: and dry_run_prepare_domain, primcomc.c:764-841). MakeStart does not prepare the domain
#: (jdomainc.c:226), Get and Swap of the root's slots neither (jdomainc.c:207-223).
_NEEDS_WELLFORMED = frozenset(
    [
        *range(DomainOC.GetKey, DomainOC.GetKey + SLOTS),
        *range(DomainOC.SwapKey, DomainOC.SwapKey + SLOTS),
        *range(DomainOC.MakeAvailable, DomainOC.PutRegs + 1),
        DomainOC.MakeReturnKey,
        DomainOC.ReplaceMemory,
        DomainOC.PutStuff,
    ]
)
#: Key registers from which a program loaded by ReplaceMemory on itself gets its
#: first message's keys (the scratch registers of ``fcc.ck``).
ENTRY_REGISTERS = range(12, 16)
_U64 = struct.Struct(">Q")
_REGS = struct.Struct(">16Q")
_CONTROL = struct.Struct(">QQ")
_U64_MASK = (1 << 64) - 1
_START_ADDRESS = _U64.size  # ReplaceMemory's string: start address, then …
_ENTRY_ORDER = 4  # … on one's own domain: 4-byte order code, then the string


def domain_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    root: Node,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a domain key."""
    tds = k.domain_state(root.id)
    if order < DomainOC.GetKey:  # Get + slot: jdomainc.c:207
        if order not in GETTABLE:
            return INVALID  # sparc_jdomain.c:572
        return one_key(k.live(root.slots[order]))
    if order == KT:  # jdomainc.c:257
        return answer(DomainOC.AKT)
    if order == DomainOC.MakeStart:  # jdomainc.c:226: malformed or not
        return one_key(Key(START, root.id, data[0] if data else 0, root.alloc))
    if order == DomainOC.Compare:  # jdomainc.c:237
        other = k.live(keys[0])
        same = other.obj == root.id and (
            other.type == START or (other.type == RESUME and other.databyte != FAULT)
        )
        return OK if same else NO
    if DomainOC.Swap <= order < DomainOC.SwapKey:  # Swap + slot: jdomainc.c:217
        n = order - DomainOC.Swap
        if n not in SWAPPABLE:
            return INVALID  # sparc_jdomain.c:572
        if n == ADDRESS and k.wellformed(tds) is None:
            return answer(DomainOC.MALFORMED)  # sparc_jdomain.c:62: dry_run_prepare_domain
        if n == METER:
            k.settle_meters()
        old = k.live(root.slots[n])
        root.slots[n] = k.live(keys[0])
        k.node_epoch += 1
        return one_key(old)
    if order not in _NEEDS_WELLFORMED:
        return INVALID
    wf = k.wellformed(tds)
    if wf is None:
        return answer(DomainOC.MALFORMED)
    _, keys_node, regs_node = wf
    if order < DomainOC.Swap:  # GetKey + n: jdomainc.c:36
        return one_key(k.live(keys_node.slots[order - DomainOC.GetKey]))
    if order < DomainOC.MakeStart:  # SwapKey + n: jdomainc.c:67
        n = order - DomainOC.SwapKey
        old = k.live(keys_node.slots[n])
        keys_node.slots[n] = k.live(keys[0])
        k.node_epoch += 1
        return one_key(old)
    handler = _PROCESS_ORDERS.get(order)
    if handler is None:
        return INVALID
    return handler(k, ds, tds, root, regs_node, keys_node, keys, data)


def _make_available(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    """MakeAvailable: the process is gone, the domain available (jdomainc.c:98)."""
    was_busy = tds.state != AVAILABLE
    reset(k, tds, AVAILABLE)
    if tds is ds:
        return DISCARD
    return answer(DomainOC.WAS_BUSY if was_busy else 0)


def _make_resume(flavour: int):
    def make(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
        if tds.state != AVAILABLE:
            return (DomainOC.WAS_BUSY, (DK0,), b"")
        return one_key(_make_busy(k, tds, flavour))

    return make


def _make_busy_order(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    """MakeBusy: the process is gone, the domain waits; a fault key (jdomainc.c:156)."""
    was_busy = tds.state != AVAILABLE
    rk = _make_busy(k, tds, FAULT)
    if tds is ds:
        return DISCARD
    return one_key(rk, DomainOC.WAS_BUSY if was_busy else 0)


def _get_control(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    return (
        0,
        (),
        _CONTROL.pack(
            _value(root.slots[PSW]) & _U64_MASK, _value(root.slots[TRAPCODE]) & _U64_MASK
        ),
    )


def _put_control(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    if len(data) != _CONTROL.size:
        return BADSTRING
    psw, trap = _CONTROL.unpack(data)
    root.slots[PSW], root.slots[TRAPCODE] = DK(psw), DK(trap)
    k.node_epoch += 1
    return OK


def _get_regs(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    return (0, (), _REGS.pack(*(_value(s) & _U64_MASK for s in regs.slots)))


def _put_regs(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    if len(data) != _REGS.size:
        return BADSTRING
    regs.slots[:] = [DK(v) for v in _REGS.unpack(data)]
    k.node_epoch += 1
    return OK


def _replace_memory(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    """ReplaceMemory: a new address key and start address; the old address key comes
    back (sparc_jdomain.c:81-112: ``cpup1key = rn->dommemroot``).

    No string is refused: as ``pad_move_arg`` reads the start address
    (sparc_jdomain.c:94, primcomc.c:47-55), a shorter string is padded with zeros, so an
    empty one starts the program at 0, and bytes past the address are not read (the
    simulator's address is 8 bytes, the SPARC's 4).

    On one's own domain (``repmem``, ``cfstart.s``) the running handler is
    replaced by the new program, which starts with the entry message.
    """
    old = k.live(root.slots[ADDRESS])
    root.slots[ADDRESS] = k.live(keys[0])
    root.slots[PSW] = DK(_U64.unpack(data[:_START_ADDRESS].ljust(_START_ADDRESS, b"\0"))[0])
    k.node_epoch += 1
    if tds is ds:
        entry = _entry_message(k, keys_node, data[_START_ADDRESS:])
        reset(k, ds, RUNNING)
        k._ready(ds, (A_START, entry))
        return DISCARD
    return one_key(old)


def _put_stuff(k, ds, tds, root, regs, keys_node, keys, data) -> Reply:
    if len(data) != _CONTROL.size + _REGS.size:
        return BADSTRING
    psw, trap = _CONTROL.unpack(data[: _CONTROL.size])
    root.slots[PSW], root.slots[TRAPCODE] = DK(psw), DK(trap)
    regs.slots[:] = [DK(v) for v in _REGS.unpack(data[_CONTROL.size :])]
    k.node_epoch += 1
    return OK


#: The orders on a well-formed domain's process and registers, by order code.
_PROCESS_ORDERS = {
    DomainOC.MakeAvailable: _make_available,
    DomainOC.MakeFaultKey: _make_resume(FAULT),  # jdomainc.c:130
    DomainOC.MakeBusy: _make_busy_order,
    DomainOC.GetControl: _get_control,
    DomainOC.PutControl: _put_control,
    DomainOC.GetRegs: _get_regs,
    DomainOC.PutRegs: _put_regs,
    DomainOC.MakeReturnKey: _make_resume(RETURN),  # jdomainc.c:183
    DomainOC.ReplaceMemory: _replace_memory,
    DomainOC.PutStuff: _put_stuff,
}


def _entry_message(k: KernelState, keys_node: Node, rest: bytes) -> Message:
    """The first message of a program loaded by ReplaceMemory on its own domain.

    ``cfstart.s`` leaves the order code in a register and the keys in key
    registers for the new program; here the order code is the 4 bytes after the
    8-byte start address, the string is what follows, and the keys are *moved*
    out of key registers 12–15 (the scratch registers of ``fcc.ck``).
    """
    if not rest:
        return EMPTY
    keys = tuple(k.live(keys_node.slots[n]) for n in ENTRY_REGISTERS)
    for n in ENTRY_REGISTERS:
        keys_node.slots[n] = DK0
    order = int.from_bytes(rest[:_ENTRY_ORDER].ljust(_ENTRY_ORDER, b"\0"), "big")
    return Message(order, keys, rest[_ENTRY_ORDER:], 0)


def _value(key: Key) -> int:
    return key.obj if key.type == DATA else 0


def _make_busy(k: KernelState, tds: DomainState, flavour: int) -> Key:
    """Void resume keys and any process; the domain waits; return a resume key."""
    reset(k, tds, WAITING)
    tds.resume_alloc = k.store.take_alloc()
    tds.on_resume = (A_START, EMPTY)
    return Key(RESUME, tds.root, flavour, tds.resume_alloc)


def reset(k: KernelState, tds: DomainState, state: int) -> None:
    """Destroy a domain's process and void its resume keys (MakeAvailable, MakeBusy)."""
    if tds.next is not None:
        try:
            k.runq.remove(tds)
        except ValueError:
            pass
        tds.next = None
    woken_by, tds.woken_by = tds.woken_by, None
    if woken_by is not None and woken_by.state == AVAILABLE and woken_by.stall:
        k.wake_stalled(woken_by)  # pass on the wake-up this domain will not use
    if tds.stalled_on is not None:
        queue = tds.stalled_on.stall
        for i, (inv, _op) in enumerate(queue):
            if inv is tds:
                del queue[i]
                break
        tds.stalled_on = None
    if tds.parked is not None:
        tds.parked = None
        if tds in k.parked:
            k.parked.remove(tds)
    if tds.proc is not None:
        proc, tds.proc = tds.proc, None
        close_handler(proc)
    tds.resume_alloc = 0
    tds.on_resume = None
    tds.held = ()
    tds.state = state
    if state == AVAILABLE:
        while tds.stall:
            k.wake_stalled(tds)  # let every stalled invoker try again
