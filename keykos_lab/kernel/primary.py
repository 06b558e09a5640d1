"""Primary keys: the kernel answers at once (KEYKOS.md §2).

Each handler takes ``(kernel, invoker, key, obj, order, keys, data)`` and
returns ``(rc, keys, data)`` for the reply; ``keys`` are the four passed keys.
Order codes are the C release's (page.h, node.h, domain.h, discrim.h, domtool.h).

>>> from keykos_lab.kernel.core import Kernel
>>> from keykos_lab.kernel.keys import Key, MISC, DKC
>>> k = Kernel(); con = k.console
>>> con.call(con.discrim, KT, ).rc == 0x409
True
"""

from __future__ import annotations

import struct

from keykos_lab.kernel.domains import (
    A_START,
    ADDRESS,
    AVAILABLE,
    BRAND,
    KEEPER,
    PSW,
    RUNNING,
    TRAPCODE,
    WAITING,
)
from keykos_lab.kernel.domains import (
    METER as METER_SLOT,
)
from keykos_lab.kernel.eventlog import C_NONE, EV_CREATE, EV_DESTROY, EV_SEVER, J_NONE, key_code
from keykos_lab.kernel.keys import (
    DATA,
    DISCRIM,
    DK,
    DK0,
    DKC,
    DOMAIN,
    DOMTOOL,
    FAULT,
    FETCH,
    FRONTEND,
    HOOK,
    KEYBITS,
    METER,
    MISC,
    NOCALL,
    NODE,
    NODE_RANGE,
    PAGE,
    PAGE_RANGE,
    RESTART,
    RESUME,
    RETURN,
    RETURNER,
    RO,
    SEGMENT,
    SENSE,
    START,
    Key,
    sensory_version,
)
from keykos_lab.kernel.objects import PAGE_SIZE
from keykos_lab.kernel.oc import KT, RC
from keykos_lab.kernel.process import EMPTY, Message
from keykos_lab.kernel.segments import decode_format

INVALID = (RC.INVALIDOC, (), b"")
NOT_MINE = (RC.NOT_MINE, (), b"")
DISCARD = (-1, (), b"")  # the invoker's own process was replaced: nobody gets a reply
_U64 = struct.Struct(">Q")
_REGS = struct.Struct(">16Q")
_CONTROL = struct.Struct(">QQ")
_KEYBITS = struct.Struct(">4xBB12s")
NODE_LIKE = (NODE, FETCH, SEGMENT, METER, SENSE, FRONTEND)


def invoke(k, ds, t, key, obj, order, keys, data):
    """Dispatch a primary-key invocation by key type."""
    fn = _BY_TYPE.get(t)
    if fn is None:
        return (RC.DATAKEY, (), b"")
    return fn(k, ds, key, obj, order, keys, data)


def _databyte(data: bytes) -> int:
    return data[0] if data else 0


# ------------------------------------------------------------------- pages
def page_key(k, ds, key, page, order, keys, data):
    if order == 41:  # TestForZeroes, first: the commonest page order
        body = page.data  # (Page.is_zero, inline)
        return _ZERO if body is None or not any(body) else _NONZERO
    ro = key.databyte & RO
    if order >= Page_Write and order < Page_Write + PAGE_SIZE:
        if ro:
            return INVALID
        off = order - Page_Write
        if off + len(data) > PAGE_SIZE:
            return (RC.BADSTRING, (), b"")
        page.write(off, data)
        k.page_epoch += 1
        return (0, (), b"")
    if order >= Page_Read and order < Page_Read + PAGE_SIZE:
        off = order - Page_Read
        n = PAGE_SIZE - off
        if data:
            if len(data) != 4:
                return (RC.BADSTRING, (), b"")
            n = min(n, int.from_bytes(data, "big"))
        return (0, (), page.read(off, n))
    if order == 0:
        return (0, (key._replace(databyte=key.databyte | RO),), b"")
    if order == 39:
        if ro:
            return INVALID
        page.data = None
        k.page_epoch += 1
        return (0, (), b"")
    if order == 41:
        return (0 if page.is_zero() else 1, (), b"")
    if order == KT:
        return (0x1202 if ro else 0x202, (), b"")
    return INVALID


Page_Write, Page_Read = 4096, 8192
_ZERO, _NONZERO = (0, (), b""), (1, (), b"")


# ------------------------------------------------------------------- nodes
def _fetch(k, node, n):
    if n == 3 and k._borrowers:
        k.settle_meters()
    return k.live(node.slots[n])


def node_key(k, ds, key, node, order, keys, data):
    if order < 16:
        return (0, (_fetch(k, node, order),), b"")
    if order < 32:
        n = order - 16
        if n in (1, 3) and k._borrowers:
            k.settle_meters()
        old = k.live(node.slots[n])
        node.slots[n] = k.live(keys[0])
        k.node_epoch += 1
        if n == 3 and node.id in k.meter_stopped:
            k.meter_refilled(node.id)
        return (0, (old,), b"")
    if 32 <= order <= 37:
        db = _databyte(data)
        made = {32: (FETCH, db), 33: (SEGMENT, db), 34: (METER, 0), 35: (NODE, db),
                36: (SENSE, key.databyte | RO | NOCALL), 37: (FRONTEND, db)}[order]
        return (0, (Key(made[0], node.id, made[1], node.alloc),), b"")
    if order == 38:
        other = k.live(keys[0])
        same = other.type in NODE_LIKE and other.obj == node.id
        return (0 if same else 1, (), b"")
    if order == 39:
        k.settle_meters()
        node.slots[:] = [DK0] * 16
        k.node_epoch += 1
        return (0, (), b"")
    if order == 40:
        return (key.databyte, (), b"")
    if order == 45:
        return _node_write_data(k, node, data)
    if order == KT:
        return (3, (), b"")
    return INVALID


def _node_write_data(k, node, data):
    """Node WriteData (45): first and last slot, then 16 bytes per slot (jnodec.c).

    Slots run from ``first`` to ``last``, wrapping from 15 to 0; a short string
    is padded with zeroes; rc 2 if a slot's 5 leading bytes are not zero.
    """
    data = data.ljust(8, b"\0")
    first, last = struct.unpack(">II", data[:8])
    if first > 15 or last > 15:
        return (1, (), b"")
    body = data[8:]
    rc = 0
    k.settle_meters()
    slot, i = first, 0
    while True:
        chunk = body[16 * i:16 * i + 16].ljust(16, b"\0")
        if any(chunk[:5]):
            rc = 2
        node.slots[slot] = DK(int.from_bytes(chunk[5:], "big"))
        if slot == last:
            break
        slot, i = (slot + 1) % 16, i + 1
    k.node_epoch += 1
    if node.id in k.meter_stopped:
        k.meter_refilled(node.id)
    return (rc, (), b"")


def fetch_key(k, ds, key, node, order, keys, data):
    if order < 16:
        return (0, (_fetch(k, node, order),), b"")
    if order == 40:
        return (key.databyte, (), b"")
    if order == KT:
        return (4, (), b"")
    return INVALID


def sense_key(k, ds, key, node, order, keys, data):
    if order < 16:
        return (0, (sensory_version(_fetch(k, node, order)),), b"")
    if order == 40:
        return (key.databyte, (), b"")
    if order == KT:
        return (1, (), b"")
    return INVALID


def segment_key(k, ds, key, node, order, keys, data):
    """A black (or no-call) segment key; red ones with keepers never get here."""
    if key.type == FRONTEND:
        return (RC.DATAKEY, (), b"")
    if order == 0:
        return (0, (key._replace(databyte=key.databyte | RO),), b"")
    if order == KT:
        return (5 | (key.databyte & 15) << 8 | (0x1000 if key.databyte & RO else 0), (), b"")
    return INVALID


def meter_key(k, ds, key, node, order, keys, data):
    return (6, (), b"") if order == KT else INVALID


# ----------------------------------------------------------------- domains
GETTABLE = (1, 2, 3, 10, 11, 13)
#: Domain-key orders that act on the key registers or process: rc 2 if malformed.
_NEEDS_WELLFORMED = frozenset([*range(16, 32), *range(48, 72), 73, 74, 75])
SWAPPABLE = (1, 2, 3, 10, 11)


def domain_key(k, ds, key, root, order, keys, data):
    tds = k.domain_state(root.id)
    if order < 16:
        if order not in GETTABLE:
            return INVALID
        return (0, (k.live(root.slots[order]),), b"")
    if order == KT:
        return (7, (), b"")
    if order == 80:
        other = k.live(keys[0])
        same = other.obj == root.id and (other.type == START or
                                         (other.type == RESUME and other.databyte != FAULT))
        return (0 if same else 1, (), b"")
    if 32 <= order < 48:
        n = order - 32
        if n not in SWAPPABLE:
            return INVALID
        if n in (METER_SLOT,):
            k.settle_meters()
        old = k.live(root.slots[n])
        root.slots[n] = k.live(keys[0])
        k.node_epoch += 1
        return (0, (old,), b"")
    if order not in _NEEDS_WELLFORMED:
        return INVALID
    wf = k.wellformed(tds)
    if wf is None:
        return (2, (), b"")
    _, keys_node, regs_node = wf
    if order < 32:
        return (0, (k.live(keys_node.slots[order - 16]),), b"")
    if order < 64:
        n = order - 48
        old = k.live(keys_node.slots[n])
        keys_node.slots[n] = k.live(keys[0])
        k.node_epoch += 1
        return (0, (old,), b"")
    if order == 64:
        return (0, (Key(START, root.id, _databyte(data), root.alloc),), b"")
    if order == 65:
        was_busy = tds.state != AVAILABLE
        reset(k, tds, AVAILABLE)
        if tds is ds:
            return DISCARD
        return (1 if was_busy else 0, (), b"")
    if order in (66, 73):
        if tds.state != AVAILABLE:
            return (1, (DK0,), b"")
        return (0, (_make_busy(k, tds, FAULT if order == 66 else RETURN),), b"")
    if order == 67:
        was_busy = tds.state != AVAILABLE
        rk = _make_busy(k, tds, FAULT)
        if tds is ds:
            return DISCARD
        return (1 if was_busy else 0, (rk,), b"")
    if order == 68:
        return (0, (), _CONTROL.pack(_value(root.slots[PSW]) & (2**64 - 1),
                                     _value(root.slots[TRAPCODE]) & (2**64 - 1)))
    if order == 69:
        if len(data) != _CONTROL.size:
            return (RC.BADSTRING, (), b"")
        psw, trap = _CONTROL.unpack(data)
        root.slots[PSW], root.slots[TRAPCODE] = DK(psw), DK(trap)
        k.node_epoch += 1
        return (0, (), b"")
    if order == 70:
        return (0, (), _REGS.pack(*(_value(s) & (2**64 - 1) for s in regs_node.slots)))
    if order == 71:
        if len(data) != _REGS.size:
            return (RC.BADSTRING, (), b"")
        regs_node.slots[:] = [DK(v) for v in _REGS.unpack(data)]
        k.node_epoch += 1
        return (0, (), b"")
    if order == 74:
        if len(data) not in (0, 8) and (tds is not ds or len(data) < 12):
            return (RC.BADSTRING, (), b"")
        mem = k.live(keys[0])
        root.slots[ADDRESS] = mem
        if data:
            root.slots[PSW] = DK(_U64.unpack(data[:8])[0])
        k.node_epoch += 1
        if tds is ds:
            # repmem (cfstart.s): the running handler is replaced by the new
            # program, which starts with the entry message.
            entry = _entry_message(k, ds, keys_node, data[8:])
            reset(k, ds, RUNNING)
            k._ready(ds, (A_START, entry))
            return DISCARD
        return (0, (), b"")
    if order == 75:
        if len(data) != _CONTROL.size + _REGS.size:
            return (RC.BADSTRING, (), b"")
        psw, trap = _CONTROL.unpack(data[:16])
        root.slots[PSW], root.slots[TRAPCODE] = DK(psw), DK(trap)
        regs_node.slots[:] = [DK(v) for v in _REGS.unpack(data[16:])]
        k.node_epoch += 1
        return (0, (), b"")
    return INVALID


ENTRY_REGISTERS = range(12, 16)


def _entry_message(k, ds, keys_node, rest: bytes) -> Message:
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
    return Message(int.from_bytes(rest[:4], "big"), keys, rest[4:], 0)


def _value(key: Key) -> int:
    return key.obj if key.type == DATA else 0


def _make_busy(k, tds, flavour):
    """Void resume keys and any process; the domain waits; return a resume key."""
    reset(k, tds, WAITING)
    tds.resume_alloc = k.store.take_alloc()
    tds.on_resume = (A_START, EMPTY)
    return Key(RESUME, tds.root, flavour, tds.resume_alloc)


def reset(k, tds, state) -> None:
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
        proc.close()
    tds.resume_alloc = 0
    tds.on_resume = None
    tds.held = ()
    tds.state = state
    if state == AVAILABLE:
        while tds.stall:
            k.wake_stalled(tds)  # let every stalled invoker try again


# -------------------------------------------------------------- misc keys
def misc_key(k, ds, key, _obj, order, keys, data):
    sub = key.obj
    if sub == RETURNER:
        return (order, keys[:3], data)
    if sub == DISCRIM:
        return _discrim(k, order, keys)
    if sub == DKC:
        if order == 0:
            return (0, (DK(int.from_bytes(data[:6].ljust(6, b"\0"), "big")),), b"")
        if order == 1:
            return (0, (DK(int.from_bytes(data[:11].ljust(11, b"\0"), "big")),), b"")
        return (0x309, (), b"") if order == KT else INVALID
    if sub == KEYBITS:
        if order != 0:
            return INVALID
        kk = k.live(keys[0])
        body = (kk.obj.to_bytes(12, "big") if kk.type == DATA else
                kk.obj.to_bytes(8, "big") + (kk.alloc & 0xFFFFFFFF).to_bytes(4, "big"))
        return (0, (), _KEYBITS.pack(kk.type, kk.databyte, body))
    if sub == DOMTOOL:
        return _domtool(k, order, keys)
    return INVALID


def _discrim(k, order, keys):
    a = k.live(keys[0])
    if order == 0:
        t = a.type
        if t in (DATA, HOOK):
            rc = 1
        elif t == RESUME:
            rc = 2
        elif t in (PAGE, SEGMENT, NODE, SENSE):
            rc = 3
        elif t == METER:
            rc = 4
        else:
            rc = 5
        return (rc, (), b"")
    if order == 1:
        t, db = a.type, a.databyte
        ok = (t == SEGMENT and db & (RO | NOCALL) == RO | NOCALL) or \
             (t == PAGE and db & RO) or t == SENSE
        return (0 if ok else 1, (), b"")
    if order == 2:
        return (0 if a == k.live(keys[1]) else 1, (), b"")
    return (0x409, (), b"") if order == KT else INVALID


def _domtool(k, order, keys):
    a = k.live(keys[0])
    if order == 0:
        if a.type != NODE:
            return NOT_MINE
        return (0, (Key(DOMAIN, a.obj, 0, a.alloc),), b"")
    if order in (1, 2, 3):
        want = {1: START, 2: RESUME, 3: DOMAIN}[order]
        if a.type != want or (want == RESUME and a.databyte == RESTART):
            return NOT_MINE
        return _identify(k, a.obj, a.databyte, keys[1])
    if order in (5, 6, 7, 9, 10, 11):
        return _identify_keeper(k, order, a, keys[1])
    return (0x109, (), b"") if order == KT else INVALID


def _identify(k, root_id, databyte, brand):
    """rc = databyte and a node key to the root, if the domain carries ``brand``."""
    root = k.objs[root_id]
    if root is None or k.live(root.slots[BRAND]) != k.live(brand):
        return NOT_MINE
    return (databyte, (Key(NODE, root_id, 0, root.alloc),), b"")


def _identify_keeper(k, order, kept, brand):
    """Domain tool 5-7 / 9-11 (jmiscc.c identify_keeper): is the keeper of this
    segment or meter a domain of ``brand``? Then rc = keeper slot * 256 + the
    keeper key's databyte, and a node key to the segment or meter node."""
    want_seg = order < 9
    if kept.type != (SEGMENT if want_seg else METER) or kept.databyte & (NOCALL | 0x0F):
        return NOT_MINE
    node = k.objs[kept.obj]
    if want_seg:
        fmt = decode_format(node.slots[15])
        if isinstance(fmt, int):
            return NOT_MINE
        slot = fmt[2]
    else:
        slot = KEEPER
    keeper = k.live(node.slots[slot])
    kind = {5: START, 6: RESUME, 7: DOMAIN, 9: START, 10: RESUME, 11: DOMAIN}[order]
    if keeper.type != kind or (kind == RESUME and keeper.databyte == RESTART):
        return NOT_MINE
    root = k.objs[keeper.obj]
    if root is None or k.live(root.slots[BRAND]) != k.live(brand):
        return NOT_MINE
    return (slot * 256 + keeper.databyte, (Key(NODE, node.id, kept.databyte, node.alloc),), b"")


# ------------------------------------------------------------------ ranges
def range_key(k, ds, key, _obj, order, keys, data):
    """The node-range and page-range keys a space bank holds (simulator form)."""
    want_node = key.type == NODE_RANGE
    if order == 0:
        obj = k.store.new_node() if want_node else k.store.new_page()
        k.log.emit(k.tick, EV_CREATE, J_NONE, ds.root, key_code(NODE if want_node else PAGE, 0),
                   obj.id, 0, 0, 0, 0, 0, 0, 0, C_NONE)
        return (0, (Key(NODE if want_node else PAGE, obj.id, 0, obj.alloc),), b"")
    if order in (1, 2):
        # Only the full key sells or severs: a node key, a read-write page key.
        a = k.live(keys[0])
        if a.type != (NODE if want_node else PAGE) or (not want_node and a.databyte & RO):
            return NOT_MINE  # jnrangec.c / jprangec.c answer -1
        obj = k.objs[a.obj]
        if order == 1:
            destroy_object(k, obj)
            k.log.emit(k.tick, EV_DESTROY, J_NONE, ds.root, key_code(a.type, 0), obj.id, 0, 0,
                       0, 0, 0, 0, 0, C_NONE)
            return (0, (), b"")
        sever_object(k, obj)
        k.log.emit(k.tick, EV_SEVER, J_NONE, ds.root, key_code(a.type, 0), obj.id, 0, 0, 0, 0,
                   0, 0, 0, C_NONE)
        return (0, (Key(NODE if want_node else PAGE, obj.id, 0, obj.alloc),), b"")
    if order == KT:
        return (0x303 if want_node else 0x302, (), b"")
    return INVALID


def destroy_object(k, obj) -> None:
    """Destroy a page or node; a domain rooted there loses its process."""
    _forget_domain(k, obj.id)
    k.settle_meters()
    k.store.destroy(obj.id)
    k.node_epoch += 1
    k.page_epoch += 1


def sever_object(k, obj) -> None:
    _forget_domain(k, obj.id)
    k.settle_meters()
    k.store.sever(obj.id)
    k.node_epoch += 1


def _forget_domain(k, oid: int) -> None:
    tds = k.domains.pop(oid, None)
    if tds is not None:
        reset(k, tds, AVAILABLE)
        k._borrowers.discard(tds)


#: Key types whose handlers never change the invoker's own state (the fast path).
FAST = {PAGE: page_key, NODE: node_key, FETCH: fetch_key, SENSE: sense_key, METER: meter_key}

_BY_TYPE = {PAGE: page_key, NODE: node_key, FETCH: fetch_key, SENSE: sense_key,
            SEGMENT: segment_key, FRONTEND: segment_key, METER: meter_key,
            DOMAIN: domain_key, MISC: misc_key, NODE_RANGE: range_key,
            PAGE_RANGE: range_key}
