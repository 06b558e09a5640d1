"""The kernel's misc keys: ``Base/jmiscc.c`` ``jmisc`` — Returner, domain tool, KeyBits,
DKC (``datamisckey``), Discrim, the system timer and the calendar clock (``jcalclock``,
``Base/sparc_time.c``); order codes ``Dom/include/discrim.h``, ``Dom/include/domtool.h``,
``Dom/include/primekeys.h``."""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.domains import AVAILABLE
from keykos_lab.kernel.keys import (
    DOMAIN,
    HOOK,
    MISC,
    NODE,
    NODE_RANGE,
    PAGE_RANGE,
    RESTART,
    Key,
)

KT = kl.oc.KT
N = kl.oc.Node
D = kl.oc.Domain
T = kl.oc.DomTool
DI = kl.oc.Discrim
INVALID = kl.oc.RC.INVALIDOC
MINUS_1 = 0xFFFFFFFF


def keys(con, r):
    return [con.key(h) for h in r.keys]


@kl.program("cf-reply-by-returner")
def reply_by_returner(dom, msg):
    """RETURN (order 1) or FORK (order 2) to the Returner with the caller's resume key as
    key 4; rc order + 40, the first two keys and the string go on."""
    send = dom.return_ if msg.order == 1 else dom.fork
    yield send(
        dom.keys[0], msg.order + 40, msg.keys[0], msg.keys[1], kl.DK0, msg.resume, data=msg.data
    )
    if msg.order == 2:
        yield dom.call(dom.keys[0], 0)  # still running after its FORK


@kl.program("cf-returner-no-resume")
def returner_no_resume(dom, msg):
    """FORK to the Returner with no resume key (nothing happens, it goes on), then RETURN
    to it with none (the domain becomes available)."""
    yield dom.fork(dom.keys[0], 5)
    yield dom.return_(dom.keys[0], 6)


# ================================================================ Returner
@pytest.mark.parametrize("order", [0, 5, KT, KT + 4, 0xFFFFFFFF])
def test_returner_call_returns_three_keys_the_order_and_string(con, new_page, dk, order):
    """jmiscc.c:211-216: a CALL gets back the three keys passed (jsimple(0xe)), the order
    code as rc (cpuordercode is not changed) and the string (cpuarglength neither). KT
    included: the Returner has no alleged type."""
    page = new_page()
    r = con.call(con["returner"], order, page, dk(2), con["dkc"], data=b"str")
    assert (r.rc, r.data) == (order, b"str")
    assert keys(con, r) == [con.key(page), kl.DK(2), con.key(con["dkc"]), kl.DK0]


@pytest.mark.parametrize("how", [1, 2])
def test_returner_return_or_fork_goes_through_key_4(con, dk, how):
    """jmiscc.c:218-233: RETURN or FORK with a resume key as key 4: jresume(rk), the keys
    and string passed on (the fourth DK(0): the resume key is spent)."""
    start = kl.start_key(
        con, kl.build_domain(con, "cf-reply-by-returner", keys={0: con["returner"]})
    )
    r = con.call(start, how, dk(1), dk(2), data=b"x")
    assert (r.rc, r.data) == (how + 40, b"x")
    assert keys(con, r) == [kl.DK(1), kl.DK(2), kl.DK0, kl.DK0]


def test_returner_with_no_resume_key(k, con):
    """jmiscc.c:236-238: not a resume key: ``handlejumper()`` — after a FORK the domain
    goes on (primcomc.c:281), after a RETURN it is available (279)."""
    dom = kl.build_domain(con, "cf-returner-no-resume", keys={0: con["returner"]})
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    ev = k.events()
    mine = ev[(ev["actor"] == con.target(dom)) & (ev["event"] == "invoke")]
    assert list(mine["order"]) == [5, 6] and list(mine["jump"].astype(str)) == ["fork", "return"]
    assert k.domains[con.target(dom)].state == AVAILABLE


# ============================================================ domain tool
def test_domtool_make_domain_key(con, new_node):
    """jmiscc.c:245-261: a node key (any databyte) gives a domain key to its node,
    databyte 0; rc 0."""
    node = new_node()
    nk = con.key(node)
    src = con.call(node, N.MakeNodeKey, data=b"\x09").keys[0]
    r = con.call(con["domtool"], T.MakeDomainKey, src)
    assert r.rc == 0 and keys(con, r)[0] == Key(DOMAIN, nk.obj, 0, nk.alloc)


def test_domtool_make_domain_key_needs_a_node_key(con, new_node, new_page, dk):
    """jmiscc.c:250-253: anything but a node key: rc -1."""
    node = new_node()
    for other in (
        new_page(),
        dk(3),
        con.call(node, N.MakeFetchKey).keys[0],
        con.call(node, N.MakeSegmentKey).keys[0],
    ):
        r = con.call(con["domtool"], T.MakeDomainKey, other)
        assert r.rc == MINUS_1 and keys(con, r)[0] == kl.DK0


@pytest.fixture
def branded(con, new_domain, new_node):
    """A domain whose slot 0 holds a brand: (domain key, root, brand)."""
    brand = new_node()
    dom, root = new_domain(brand=brand)
    return dom, root, brand


def _identify_cases(con, dom):
    return {T.IdentifyStart: (kl.start_key(con, dom, 77), 77), T.IdentifyDomain: (dom, 0)}


@pytest.mark.parametrize("order", [T.IdentifyStart, T.IdentifyDomain, T.IdentifyResume])
def test_domtool_identify(con, branded, order):
    """jmiscc.c:116-160 identify_key: the key of the right type (126) to a domain whose
    slot 0 is the brand passed second (148): rc the key's databyte (157) and a node key to
    the root, databyte 0 (152-155)."""
    dom, root, brand = branded
    if order == T.IdentifyResume:
        key, db = con.call(dom, D.MakeReturnKey).keys[0], 2
    else:
        key, db = _identify_cases(con, dom)[order]
    r = con.call(con["domtool"], order, key, brand)
    rk = con.key(root)
    assert r.rc == db and keys(con, r)[0] == Key(NODE, rk.obj, 0, rk.alloc)


@pytest.mark.parametrize("order", [T.IdentifyStart, T.IdentifyResume, T.IdentifyDomain])
def test_domtool_identify_refuses(con, branded, new_node, raw, order):
    """jmiscc.c:126-129 (wrong type), 131-134 (a restart key), 148-151 (another brand):
    rc -1."""
    dom, _, brand = branded
    start, ret = kl.start_key(con, dom), con.call(dom, D.MakeReturnKey).keys[0]
    right = {T.IdentifyStart: start, T.IdentifyResume: ret, T.IdentifyDomain: dom}[order]
    wrong = start if order != T.IdentifyStart else dom
    assert con.call(con["domtool"], order, right, new_node()).rc == MINUS_1
    assert con.call(con["domtool"], order, wrong, brand).rc == MINUS_1
    restart = raw(con.key(ret)._replace(databyte=RESTART))
    assert con.call(con["domtool"], T.IdentifyResume, restart, brand).rc == MINUS_1


def _meter(con, new_node, keeper):
    node = new_node()
    con.call(node, N.Swap + 1, con["meter"])
    con.call(node, N.Swap + 2, keeper)
    return node, con.call(node, N.MakeMeterKey).keys[0]


@pytest.mark.parametrize("kind", ["start", "resume", "domain"])
@pytest.mark.parametrize("via", ["segment", "frontend", "meter"])
def test_domtool_identify_keeper(con, branded, red_node, new_node, kind, via):
    """jmiscc.c:34-113 identify_keeper (orders 5-7 for segments — frontend keys too,
    280, 289, 296 — and 9-11 for meters): the keeper in the node's keeper slot (the format
    key's, 60; slot 2 of a meter, 53) of the right type (74), of the brand (101): rc
    slot * 256 + the keeper key's databyte (110), a node key to the node with the
    identified key's databyte (105-108)."""
    dom, _, brand = branded
    keeper, db = {
        "start": (kl.start_key(con, dom, 9), 9),
        "resume": (con.call(dom, D.MakeReturnKey).keys[0], 2),
        "domain": (dom, 0),
    }[kind]
    if via == "meter":
        node, key = _meter(con, new_node, keeper)
        slot, order = (
            2,
            {
                "start": T.IdentifyMeterStart,
                "resume": T.IdentifyMeterResume,
                "domain": T.IdentifyMeterDomain,
            }[kind],
        )
        kdb = 0
    else:
        node, seg, fe = red_node(keeper=keeper, keeper_slot=13, databyte=0x20)
        key, slot, kdb = (seg if via == "segment" else fe), 13, 0x20
        order = {
            "start": T.IdentifySegmentStart,
            "resume": T.IdentifySegmentResume,
            "domain": T.IdentifySegmentDomain,
        }[kind]
    r = con.call(con["domtool"], order, key, brand)
    nk = con.key(node)
    assert r.rc == slot * 256 + db and keys(con, r)[0] == Key(NODE, nk.obj, kdb, nk.alloc)
    assert con.call(con["domtool"], order, key, new_node()).rc == MINUS_1  # 101-103


def test_domtool_identify_keeper_refuses(con, branded, red_node, new_node, dk):
    """jmiscc.c:46-50: a key of another type, or with no-call or a size: -1; 56-58: a
    segment whose slot 15 is not a data key: -1; 74-78: a keeper of another type: -1."""
    dom, _, brand = branded
    node, seg, _ = red_node(keeper=kl.start_key(con, dom))
    nocall = con.call(node, N.MakeSegmentKey, data=b"\x40").keys[0]
    sized = con.call(node, N.MakeSegmentKey, data=b"\x03").keys[0]
    for key in (nocall, sized, node, dk(1)):
        assert con.call(con["domtool"], T.IdentifySegmentStart, key, brand).rc == MINUS_1
    assert con.call(con["domtool"], T.IdentifySegmentDomain, seg, brand).rc == MINUS_1
    con.call(node, N.Swap + 15, new_node())
    assert con.call(con["domtool"], T.IdentifySegmentStart, seg, brand).rc == MINUS_1


def test_domtool_identify_keeper_reads_only_the_keeper_slot_of_the_format(
    con, branded, new_node, dk
):
    """jmiscc.c:55-60: only "a data key" is asked of slot 15, and its keeper-slot bits
    (12-15) read: DK(0) there names slot 0."""
    dom, _, brand = branded
    node = new_node()
    con.call(node, N.Swap + 0, kl.start_key(con, dom, 3))
    seg = con.call(node, N.MakeSegmentKey).keys[0]
    assert con.call(con["domtool"], T.IdentifySegmentStart, seg, brand).rc == 0 * 256 + 3


def test_domtool_kt(con):
    """jmiscc.c:313: ``simplest(0x109)``."""
    assert con.call(con["domtool"], KT).rc == T.AKT == 0x109


@pytest.mark.parametrize("order", [4, 8, 12, 13, KT + 1])
def test_domtool_other_orders_are_kt2(con, order):
    """jmiscc.c:314: ``else simplest(KT+2)``."""
    assert con.call(con["domtool"], order).rc == INVALID


# ================================================================= KeyBits
def test_keybits_is_the_simulators_form(con, new_page, dk):
    """Departure (docs/fidelity.md, KeyBits): four zero bytes (jmiscc.c:322), then type,
    databyte and a 12-byte body; the C release's is key2dsk's 12-byte disk key
    (key2dskc.c: type, CDA, allocation id, databyte), 16 bytes in all."""
    page = con.key(new_page())
    r = con.call(con["keybits"], kl.oc.KeyBits.Get, con.hold(page))
    assert r.rc == 0 and keys(con, r) == [kl.DK0] * 4
    assert r.data == bytes(4) + bytes([1, 0]) + page.obj.to_bytes(8, "big") + page.alloc.to_bytes(
        4, "big"
    )
    assert con.call(con["keybits"], 0, dk(5)).data == bytes(4) + bytes(2) + (5).to_bytes(12, "big")


@pytest.mark.parametrize("order", [1, 2, KT, KT + 1])
def test_keybits_other_orders_are_kt2(con, order):
    """jmiscc.c:330: every order but 0 — KT too — answers KT+2."""
    assert con.call(con["keybits"], order).rc == INVALID


# ===================================================================== DKC
@pytest.mark.parametrize(
    "data, value",
    [
        (b"", 0),
        (b"\x01", 1 << 40),
        (bytes.fromhex("0102030405ff"), 0x0102030405FF),
        (bytes.fromhex("00000000000799"), 7),
    ],
)
def test_dkc_create6(con, data, value):
    """jmiscc.c:335-342: five zero bytes, then six from the string (pad_move_arg: zeros
    after a short one, the rest ignored); rc 0."""
    r = con.call(con["dkc"], kl.oc.DKC.Create6, data=data)
    assert r.rc == 0 and keys(con, r)[0] == kl.DK(value)


@pytest.mark.parametrize("pad, rc", [(bytes(5), 1), (b"\0\0\0\0\1", 0), (b"\xff" * 5, 0)])
def test_dkc_create11_reads_the_16_byte_form(con, pad, rc):
    """jmiscc.c:344-353: five bytes, then the 11-byte value; rc 1 when the five were zero
    (``Memcmp(...) == 0``), else 0 — as the C release writes it. The 16 bytes a data key
    answers order 1 with (jdatac.c:17) make the same key again."""
    value = 2**88 - 3
    r = con.call(con["dkc"], kl.oc.DKC.Create11, data=pad + value.to_bytes(11, "big") + b"x")
    assert r.rc == rc and keys(con, r)[0] == kl.DK(value)
    round_trip = con.call(r.keys[0], 1).data
    assert keys(con, con.call(con["dkc"], 1, data=round_trip))[0] == kl.DK(value)


@pytest.mark.parametrize(
    "data, value",
    [
        (b"", 0),
        ((7).to_bytes(11, "big"), 7),
        (b"\x01", 1 << 80),
        (b"\x02" * 15, int("02" * 11, 16)),
    ],
)
def test_dkc_create11_short_string_is_the_simulators_form(con, data, value):
    """Departure (docs/fidelity.md, DKC Create11): a string shorter than 16 bytes is the
    value itself, 11 bytes (zeros after a shorter one); rc 0. jmiscc.c:345 would read its
    first five bytes as the pad."""
    r = con.call(con["dkc"], kl.oc.DKC.Create11, data=data)
    assert r.rc == 0 and keys(con, r)[0] == kl.DK(value)


def test_dkc_kt(con):
    """jmiscc.c:356: ``simplest(0x309)``."""
    assert con.call(con["dkc"], KT).rc == kl.oc.DKC.AKT == 0x309


@pytest.mark.parametrize("order", [2, 3, 39, KT + 1])
def test_dkc_other_orders_are_kt2(con, order):
    """jmiscc.c:357: ``else simplest(KT+2)``."""
    assert con.call(con["dkc"], order).rc == INVALID


# ================================================================= Discrim
@pytest.fixture
def zoo(con, new_node, new_page, new_domain, dk, raw):
    """name -> (key, Discrim Type, Discreet): jmiscc.c:365-414."""
    node, page = new_node(), new_page()
    dead = new_page()
    con.call(con["bank"], kl.oc.SB.DestroyPage, dead)
    dom, _ = new_domain()
    other, _ = new_domain()

    def make(order, db=0):
        return con.call(node, order, data=bytes([db])).keys[0]

    return {
        "data": (dk(5), DI.DATA, 1),
        "hook": (raw(Key(HOOK, 0, 1, 0)), DI.DATA, 1),
        "dead page": (dead, DI.DATA, 1),
        "resume": (con.call(other, D.MakeFaultKey).keys[0], DI.RESUME, 1),
        "page": (page, DI.MEMORY, 1),
        "ro page": (con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0], DI.MEMORY, 0),
        "segment": (make(N.MakeSegmentKey, 3), DI.MEMORY, 1),
        "ro segment": (make(N.MakeSegmentKey, 0x83), DI.MEMORY, 1),
        "ro nocall segment": (make(N.MakeSegmentKey, 0xC3), DI.MEMORY, 0),
        "node": (node, DI.MEMORY, 1),
        "sense": (make(N.MakeSenseKey), DI.MEMORY, 0),
        "meter": (con["meter"], DI.METER, 1),
        "fetch": (make(N.MakeFetchKey), DI.OTHER, 1),
        "start": (kl.start_key(con, dom), DI.OTHER, 1),
        "domain": (dom, DI.OTHER, 1),
        "frontend": (make(N.MakeFrontendKey), DI.OTHER, 1),
        "returner": (con["returner"], DI.OTHER, 1),
        "discrim": (con["discrim"], DI.OTHER, 1),
        "systimer": (con["systimer"], DI.OTHER, 1),
        "calclock": (con["calclock"], DI.OTHER, 1),
        "node range": (raw(Key(NODE_RANGE, 0, 0, 0)), DI.OTHER, 1),
        "page range": (raw(Key(PAGE_RANGE, 0, 0, 0)), DI.OTHER, 1),
    }


NAMES = [
    "data",
    "hook",
    "dead page",
    "resume",
    "page",
    "ro page",
    "segment",
    "ro segment",
    "ro nocall segment",
    "node",
    "sense",
    "meter",
    "fetch",
    "start",
    "domain",
    "frontend",
    "returner",
    "discrim",
    "systimer",
    "calclock",
    "node range",
    "page range",
]


@pytest.mark.parametrize("name", NAMES)
def test_discrim_type(con, zoo, name):
    """jmiscc.c:365-398: 1 hook and data keys (and dead keys: prepdiscrim, 171); 2 resume;
    3 page, segment, node, sense; 4 meter; 5 fetch, start, domain, frontend and the rest."""
    key, kind, _ = zoo[name]
    assert con.call(con["discrim"], DI.Type, key).rc == kind


@pytest.mark.parametrize("name", NAMES)
def test_discrim_discreet(con, zoo, name):
    """jmiscc.c:400-414: 0 for a segment key with read-only and no-call, a read-only page
    key, a sense key; else 1."""
    key, _, discreet = zoo[name]
    assert con.call(con["discrim"], DI.Discreet, key).rc == discreet


def test_discrim_compare(con, new_page, new_node, dk):
    """jmiscc.c:416-430: compare_keys (primcomc.c:501-513, the disk forms): 0 when equal
    in type, object and databyte, else 1."""
    page, node = new_page(), new_node()
    ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
    same = con.call(node, N.Fetch + 0).keys[0]  # DK(0)
    for a, b, rc in (
        (page, page, 0),
        (page, ro, 1),
        (dk(3), dk(3), 0),
        (dk(3), dk(4), 1),
        (same, None, 0),
        (node, con.call(node, N.MakeNodeKey).keys[0], 0),
        (node, con.call(node, N.MakeFetchKey).keys[0], 1),
    ):
        passed = (a, b) if b is not None else (a,)
        assert con.call(con["discrim"], DI.Compare, *passed).rc == rc


def test_discrim_kt(con):
    """jmiscc.c:433: ``simplest(0x409)``."""
    assert con.call(con["discrim"], KT).rc == DI.AKT == 0x409


@pytest.mark.parametrize("order", [3, 4, 39, KT + 1])
def test_discrim_other_orders_are_kt2(con, order):
    """jmiscc.c:434: ``else simplest(KT+2)``."""
    assert con.call(con["discrim"], order).rc == INVALID


def test_an_unknown_misc_key_is_kt2(con, raw):
    """jmiscc.c:650-653: a misc key the kernel does not implement answers KT+2 (the
    simulator has five: docs/fidelity.md, Other misc keys)."""
    assert con.call(raw(Key(MISC, 99, 0, 0)), KT).rc == INVALID


# ============================================================ system timer
ST = kl.oc.Systimer
CC = kl.oc.Calclock


def test_systimer_read_system_time(k, con):
    """jmiscc.c:615-624: rc 0, no keys, the timer as an 8-byte string (a uint64, big-endian
    on SPARC). The simulator's timer is the logical clock: the tick count, this
    invocation's tick included (docs/fidelity.md, Other misc keys)."""
    r = con.call(con["systimer"], ST.ReadSystemTime)
    assert (r.rc, len(r.data)) == (0, 8)
    assert keys(con, r) == [kl.DK0] * 4
    assert int.from_bytes(r.data, "big") == k.tick


def test_systimer_always_answers_a_different_value(con):
    """sparc_time.c:118-133: ``read_system_timer`` "always returns a different value";
    every read costs a tick, so the logical clock does too."""
    reads = [con.call(con["systimer"], ST.ReadSystemTime).data for _ in range(5)]
    times = [int.from_bytes(t, "big") for t in reads]
    assert times == sorted(set(times))


def test_systimer_read_idle_time(k, con):
    """jmiscc.c:626-635: rc 0, the idle time in 8 bytes. Logical time passes only while a
    domain runs, so the simulator's CPU has never been idle: 0."""
    for _ in range(3):
        con.call(con["dkc"], kl.oc.DKC.Create6)
    r = con.call(con["systimer"], ST.ReadIdleTime)
    assert (r.rc, r.data) == (0, bytes(8))


def test_systimer_kt(con):
    """jmiscc.c:637-639: ``simplest(0x509)`` (``Systimer_AKT``, primekeys.h)."""
    assert con.call(con["systimer"], KT).rc == ST.AKT == 0x509


@pytest.mark.parametrize("order", [0, 6, 9, KT + 4, 0xFFFFFFFF])
def test_systimer_other_orders_are_kt2(con, order):
    """jmiscc.c:640: ``default: simplest(KT+2)``."""
    r = con.call(con["systimer"], order)
    assert (r.rc, r.data) == (INVALID, b"")


# ========================================================== calendar clock
def bcd(b: int) -> int:
    return (b >> 4) * 10 + (b & 0xF)


def test_calclock_read(k, con):
    """jmiscc.c:643-644 calls ``jcalclock``; sparc_time.c:246-253: rc 0, the 8 bytes of
    ``struct CalClock`` (timemdh.h: "BCD YYYYMMDDWWHHMMSS"). The century byte is
    ``clockcen``, always 0x20 (sparc_time.c:208, 220). The simulator's calendar starts at
    2005-01-01 00:00:00 and a tick is a microsecond on it."""
    from keykos_lab.kernel.orders.misc import calendar

    r = con.call(con["calclock"], CC.Read)
    assert (r.rc, len(r.data)) == (0, 8)
    assert keys(con, r) == [kl.DK0] * 4
    assert r.data == calendar(k.tick)
    century, year, month, day, weekday, hour, minute, second = (bcd(b) for b in r.data)
    assert (century, year, month, day, weekday) == (20, 5, 1, 1, 6)  # a Saturday
    assert (hour, minute) == (0, 0) and second < 60


def test_calclock_advances_with_the_logical_clock():
    """sparc_time.c:221-227: the fields count seconds, minutes … days; here from ticks."""
    from keykos_lab.kernel.orders.misc import TICKS_PER_SECOND, calendar

    day = 86_400 * TICKS_PER_SECOND
    assert [bcd(b) for b in calendar(day + 3_723 * TICKS_PER_SECOND)] == [
        20,
        5,
        1,
        2,
        7,
        1,
        2,
        3,
    ]  # Sunday 2 January 2005, 01:02:03
    assert calendar(366 * day)[1:4] == bytes([0x06, 0x01, 0x02])  # 2005 has 365 days


def test_calclock_set_is_not_implemented(con):
    """sparc_time.c:255-257: order 9 reads its 8 bytes and answers KT+2 ("not implemented
    yet")."""
    r = con.call(con["calclock"], CC.Set, data=bytes(8))
    assert (r.rc, r.data) == (INVALID, b"")


def test_calclock_read_with_system_time(k, con):
    """sparc_time.c:260-269: rc 0, 16 bytes: ``struct CalSysTime`` (timemdh.h), the
    calendar clock, then the system timer (``read_system_timer``)."""
    from keykos_lab.kernel.orders.misc import calendar

    r = con.call(con["calclock"], CC.ReadWithSystemTime)
    assert (r.rc, len(r.data)) == (0, 16)
    assert r.data[:8] == calendar(k.tick)
    assert int.from_bytes(r.data[8:], "big") == k.tick


def test_calclock_kt(con):
    """sparc_time.c:271-272: ``simplest(0x609)`` (``Calclock_AKT``, primekeys.h)."""
    assert con.call(con["calclock"], KT).rc == CC.AKT == 0x609


@pytest.mark.parametrize("order", [0, 5, 7, 11, KT + 4])
def test_calclock_other_orders_are_kt2(con, order):
    """sparc_time.c:274-275: ``default: simplest(KT+2)``."""
    assert con.call(con["calclock"], order).rc == INVALID


@pytest.mark.parametrize("name", ["systimer", "calclock"])
def test_time_keys_are_not_sensory(con, new_node, name):
    """jsensec.c:34-41: of the misc keys only the Returner, DKC and Discrim pass through a
    sense key; a timer or clock key comes out as DK(0). (So a factory takes either only as
    a hole, as Dom/fundamental/init.cmd:113 installs them in the clock factory: ``h0``,
    ``h1``.)"""
    node = new_node()
    con.call(node, N.Swap + 0, con[name])
    sense = con.call(node, N.MakeSenseKey).keys[0]
    assert con.key(con.call(sense, N.Fetch + 0).keys[0]) == kl.DK0
