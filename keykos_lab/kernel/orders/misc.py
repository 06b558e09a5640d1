"""The kernel's misc keys (``Base/jmiscc.c`` ``jmisc``): Returner, Discrim, DKC, KeyBits,
domain tool, system timer and calendar clock.

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> con.call(con.discrim, kl.oc.Discrim.Type, con["bank"]).rc == kl.oc.Discrim.OTHER
True
>>> con.call(con.dkc, kl.oc.DKC.Create6, data=(7).to_bytes(6, "big")).keys[0]
<DK(7)>
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from keykos_lab.kernel.domains import BRAND, KEEPER, DomainState
from keykos_lab.kernel.keys import (
    CALCLOCK,
    DATA,
    DISCRIM,
    DK,
    DKC,
    DOMAIN,
    DOMTOOL,
    FRONTEND,
    HOOK,
    KEYBITS,
    METER,
    NOCALL,
    NODE,
    PAGE,
    RESTART,
    RESUME,
    RETURNER,
    RO,
    SEGMENT,
    SENSE,
    START,
    SYSTIMER,
    Key,
)
from keykos_lab.kernel.objects import Node
from keykos_lab.kernel.oc import DKC as DKC_OC
from keykos_lab.kernel.oc import KT, Calclock, Systimer
from keykos_lab.kernel.oc import Discrim as DiscrimOC
from keykos_lab.kernel.oc import DomTool as DomToolOC
from keykos_lab.kernel.oc import KeyBits as KeyBitsOC
from keykos_lab.kernel.oc import Segment as SegmentOC
from keykos_lab.kernel.orders.reply import INVALID, NO, NOT_MINE, OK, Reply, answer, one_key
from keykos_lab.kernel.orders.segment import SIZE_BITS
from keykos_lab.kernel.segments import FORMAT_SLOT
from keykos_lab.kernel.state import KernelState

_KEYBITS = struct.Struct(">4xBB12s")  # KeyBits: type, databyte, 12 bytes of body
_DATA_BYTES = {DKC_OC.Create6: 6, DKC_OC.Create11: 11}
_PAD, _LONG_FORM = 5, 16  # DKC Create11's C form: 5 bytes, then 11
_KEEPER_SLOT_SHIFT = 8  # identify keeper: rc = slot << 8 | databyte
_ALLOC_MASK = 0xFFFFFFFF
SLOT_MASK = 0x0F
_TIME_BYTES = 8  # the system timer's answer: a uint64 (jmiscc.c:616-621), big-endian as on SPARC
#: The calendar clock reads the logical clock too: the date at tick 0, and ticks per second.
#: 2005 is the year of the C release; sparc_time.c:208 fixes the century at 20.
CALENDAR_EPOCH = datetime(2005, 1, 1, tzinfo=UTC)
_MICROSECONDS = 1_000_000  # in a second
TICKS_PER_SECOND = _MICROSECONDS  # a tick stands for a microsecond on the calendar
_CENTURY = 0x20  # sparc_time.c:208 ``clockcen``: the century byte is always BCD 20
_CENTURY_YEARS = 100
_DECIMAL, _NIBBLE = 10, 4  # BCD: a decimal digit a nibble


def misc_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    _obj: object,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a misc key; which one is the key's object field."""
    sub = key.obj
    if sub == RETURNER:  # jmiscc.c:211: a CALL returns the three keys, the
        return (order, keys[:3], data)  # order as rc and the string (RETURN, FORK: invocation)
    if sub == DISCRIM:
        return _discrim(k, order, keys)
    if sub == DKC:
        return _dkc(order, data)
    if sub == KEYBITS:
        return _keybits(k, order, keys)
    if sub == DOMTOOL:
        return _domtool(k, order, keys)
    if sub == SYSTIMER:
        return _systimer(k, order)
    if sub == CALCLOCK:
        return _calclock(k, order)
    return INVALID  # jmiscc.c:653


def _systimer(k: KernelState, order: int) -> Reply:
    """The system timer (jmiscc.c:613-642): the logical clock, in ticks.

    ``read_system_timer`` (sparc_time.c:118) "always returns a different value"; so does
    the tick count, since every invocation of the timer costs a tick. Time passes only
    while a domain runs, so the idle time is always 0.
    """
    if order == Systimer.ReadSystemTime:  # jmiscc.c:615-624
        return (0, (), k.tick.to_bytes(_TIME_BYTES, "big"))
    if order == Systimer.ReadIdleTime:  # jmiscc.c:626-635
        return (0, (), bytes(_TIME_BYTES))
    return answer(Systimer.AKT) if order == KT else INVALID  # jmiscc.c:637-641


def _bcd(n: int) -> int:
    """A number below 100 as one BCD byte (sparc_time.c:74 ``BYTE_TO_BCD``)."""
    tens, units = divmod(n % _CENTURY_YEARS, _DECIMAL)
    return tens << _NIBBLE | units


def calendar(tick: int) -> bytes:
    """The calendar clock's 8 bytes at ``tick`` (``struct CalClock``, Base/timemdh.h;
    ``read_calendar_clock``, sparc_time.c:210-236): BCD century, year, month, day,
    weekday (1 Monday … 7 Sunday), hour, minute, second.

    >>> calendar(0).hex(), calendar(61 * TICKS_PER_SECOND).hex()
    ('2005010106000000', '2005010106000101')
    """
    t = CALENDAR_EPOCH + timedelta(microseconds=tick * _MICROSECONDS // TICKS_PER_SECOND)
    fields = (t.year, t.month, t.day, t.isoweekday(), t.hour, t.minute, t.second)
    return bytes([_CENTURY, *(_bcd(f) for f in fields)])


def _calclock(k: KernelState, order: int) -> Reply:
    """The calendar clock (jmiscc.c:643 calls ``jcalclock``, sparc_time.c:238-278)."""
    if order == Calclock.Read:  # sparc_time.c:246-253
        return (0, (), calendar(k.tick))
    if order == Calclock.ReadWithSystemTime:  # sparc_time.c:260-269
        return (0, (), calendar(k.tick) + k.tick.to_bytes(_TIME_BYTES, "big"))
    # Calclock.Set (sparc_time.c:255-257) is "not implemented yet": KT+2, as any other.
    return answer(Calclock.AKT) if order == KT else INVALID  # sparc_time.c:271-276


def _dkc(order: int, data: bytes) -> Reply:
    """The data key creator (jmiscc.c:333)."""
    if order == DKC_OC.Create11 and len(data) >= _LONG_FORM:
        # jmiscc.c:344: five bytes, then the 11-byte value; rc 1 when the five were zero
        # (jmiscc.c:349, Memcmp == 0), else 0. The 16-byte form a data key answers order 1
        # with (jdatac.c:17) comes back as the same key.
        pad, value = data[:_PAD], data[_PAD:_LONG_FORM]
        return one_key(DK(int.from_bytes(value, "big")), 0 if any(pad) else DKC_OC.PAD_ZERO)
    width = _DATA_BYTES.get(order)
    if width is not None:  # jmiscc.c:335; a shorter Create11 string: the
        # simulator's 11-byte form (docs/fidelity.md, DKC Create11)
        return one_key(DK(int.from_bytes(data[:width].ljust(width, b"\0"), "big")))
    return answer(DKC_OC.AKT) if order == KT else INVALID  # jmiscc.c:356


def _keybits(k: KernelState, order: int, keys: tuple[Key, ...]) -> Reply:
    """KeyBits: what a key is, as bytes (jmiscc.c:318).

    Four zero bytes, then the simulator's own form: type, databyte, a 12-byte body.
    The C release's is ``key2dsk``'s 12-byte disk key (type, CDA, allocation id,
    databyte last); docs/fidelity.md (KeyBits) says why the simulator's differs.
    """
    if order != KeyBitsOC.Get:
        return INVALID  # jmiscc.c:330: every other order, KT too
    kk = k.live(keys[0])
    body = (
        kk.obj.to_bytes(12, "big")
        if kk.type == DATA
        else kk.obj.to_bytes(8, "big") + (kk.alloc & _ALLOC_MASK).to_bytes(4, "big")
    )
    return (0, (), _KEYBITS.pack(kk.type, kk.databyte, body))


def _discrim(k: KernelState, order: int, keys: tuple[Key, ...]) -> Reply:
    """Discrim (jmiscc.c:361)."""
    a = k.live(keys[0])
    if order == DiscrimOC.Type:  # jmiscc.c:365
        t = a.type
        if t in (DATA, HOOK):
            return answer(DiscrimOC.DATA)
        if t == RESUME:
            return answer(DiscrimOC.RESUME)
        if t in (PAGE, SEGMENT, NODE, SENSE):
            return answer(DiscrimOC.MEMORY)
        if t == METER:
            return answer(DiscrimOC.METER)
        return answer(DiscrimOC.OTHER)
    if order == DiscrimOC.Discreet:  # jmiscc.c:400
        t, db = a.type, a.databyte
        ok = (
            (t == SEGMENT and db & (RO | NOCALL) == RO | NOCALL)
            or (t == PAGE and db & RO)
            or t == SENSE
        )
        return OK if ok else NO
    if order == DiscrimOC.Compare:  # jmiscc.c:416
        return OK if a == k.live(keys[1]) else NO
    return answer(DiscrimOC.AKT) if order == KT else INVALID


_IDENTIFY = {
    DomToolOC.IdentifyStart: START,
    DomToolOC.IdentifyResume: RESUME,
    DomToolOC.IdentifyDomain: DOMAIN,
}
#: order -> (key types identified, keeper key type). Segment orders take a frontend key
#: too (jmiscc.c:280, 289, 296).
_IDENTIFY_KEEPER = {
    DomToolOC.IdentifySegmentStart: ((SEGMENT, FRONTEND), START),
    DomToolOC.IdentifySegmentResume: ((SEGMENT, FRONTEND), RESUME),
    DomToolOC.IdentifySegmentDomain: ((SEGMENT, FRONTEND), DOMAIN),
    DomToolOC.IdentifyMeterStart: ((METER,), START),
    DomToolOC.IdentifyMeterResume: ((METER,), RESUME),
    DomToolOC.IdentifyMeterDomain: ((METER,), DOMAIN),
}


def _domtool(k: KernelState, order: int, keys: tuple[Key, ...]) -> Reply:
    """The domain tool (jmiscc.c:241)."""
    a = k.live(keys[0])
    if order == DomToolOC.MakeDomainKey:  # jmiscc.c:245
        if a.type != NODE:
            return NOT_MINE
        return one_key(Key(DOMAIN, a.obj, 0, a.alloc))
    want = _IDENTIFY.get(order)
    if want is not None:  # jmiscc.c:263-271
        if a.type != want or (want == RESUME and a.databyte == RESTART):
            return NOT_MINE
        return _identify(k, a.obj, a.databyte, keys[1])
    kept = _IDENTIFY_KEEPER.get(order)
    if kept is not None:  # jmiscc.c:275-308
        return _identify_keeper(k, kept, a, keys[1])
    return answer(DomToolOC.AKT) if order == KT else INVALID


def _identify(k: KernelState, root_id: int, databyte: int, brand: Key) -> Reply:
    """rc = databyte and a node key to the root, if the domain carries ``brand``."""
    root = k.objs[root_id]
    if not isinstance(root, Node) or k.live(root.slots[BRAND]) != k.live(brand):
        return NOT_MINE
    return one_key(Key(NODE, root_id, 0, root.alloc), databyte)


def _identify_keeper(
    k: KernelState, kinds: tuple[tuple[int, ...], int], kept: Key, brand: Key
) -> Reply:
    """Domain tool 5-7 / 9-11 (jmiscc.c:34 ``identify_keeper``): is the keeper of this
    segment or meter a domain of ``brand``? Then rc = keeper slot * 256 + the
    keeper key's databyte, and a node key to the segment or meter node."""
    kept_types, kind = kinds
    if kept.type not in kept_types or kept.databyte & (NOCALL | SIZE_BITS):
        return NOT_MINE  # jmiscc.c:46
    node = k.node(kept.obj)
    if kept.type == METER:
        slot = KEEPER  # jmiscc.c:53
    else:
        fmt = k.live(node.slots[FORMAT_SLOT])
        if fmt.type != DATA:  # jmiscc.c:56: only "a data key" is asked of it
            return NOT_MINE
        slot = fmt.obj >> SegmentOC.FORMAT_KEEPER_SHIFT & SLOT_MASK  # jmiscc.c:60
    keeper = k.live(node.slots[slot])
    if keeper.type != kind or (kind == RESUME and keeper.databyte == RESTART):
        return NOT_MINE
    root = k.objs[keeper.obj]
    if not isinstance(root, Node) or k.live(root.slots[BRAND]) != k.live(brand):
        return NOT_MINE
    return one_key(
        Key(NODE, node.id, kept.databyte, node.alloc), slot << _KEEPER_SLOT_SHIFT | keeper.databyte
    )
