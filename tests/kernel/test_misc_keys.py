"""Kernel misc keys (docs/primer.md#primer-misc-keys, jmiscc.c), data and dead keys, and the
alleged type every key answers (docs/primer.md#primer-order-codes)."""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.keys import DOMAIN, NODE_RANGE, PAGE_RANGE, RESTART, RESUME

KT = kl.oc.KT
N = kl.oc.Node
D = kl.oc.Domain
T = kl.oc.DomTool
RC = kl.oc.RC
MINUS_1 = 0xFFFFFFFF


@kl.program("tk-grab-resume")
def grab_resume(dom, msg):
    """A keeper that keeps the resume key it is given in key register 0 and goes away."""
    dom.keys[0] = msg.keys[3]
    return
    yield


def dk(con, value):
    return con.call(con["dkc"], kl.oc.DKC.Create11, data=value.to_bytes(11, "big")).keys[0]


def discrim(con, order, *keys):
    return con.call(con["discrim"], order, *keys).rc


# ------------------------------------------------------------ a key of each kind
@pytest.fixture
def zoo(con, new_node, new_page, new_domain):
    """name -> (key, Discrim Type rc, KT rc or None when invoking would run a domain)."""
    node, page = new_node(), new_page()
    dead = new_page()
    con.call(con["bank"], kl.oc.SB.DestroyPage, dead)
    dom, _ = new_domain()
    fault = con.call(new_domain()[0], D.MakeFaultKey).keys[0]
    ret = con.call(new_domain()[0], D.MakeReturnKey).keys[0]

    def made(order, db=0):
        return con.call(node, order, data=bytes([db])).keys[0]

    return {
        "data": (dk(con, 5), 1, RC.DATAKEY),
        "dead page": (dead, 1, RC.DATAKEY),
        "fault resume": (fault, 2, None),
        "return resume": (ret, 2, None),
        "page": (page, 3, 0x202),
        "ro page": (con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0], 3, 0x1202),
        "segment": (made(N.MakeSegmentKey, 3), 3, 0x305),
        "ro segment": (made(N.MakeSegmentKey, 0x84), 3, 0x1405),
        "node": (node, 3, 3),
        "sense": (made(N.MakeSenseKey), 3, 1),
        "meter": (con["meter"], 4, 6),
        "fetch": (made(N.MakeFetchKey), 5, 4),
        "frontend": (made(N.MakeFrontendKey), 5, RC.DATAKEY),
        "start (echo)": (kl.start_key(con, dom), 5, KT),  # echo alleges what it is asked
        "domain": (dom, 5, 7),
        "bank": (con["bank"], 5, kl.oc.SB.AKT),
        "discrim": (con["discrim"], 5, 0x409),
        "dkc": (con["dkc"], 5, 0x309),
        "domtool": (con["domtool"], 5, 0x109),
        "returner": (con["returner"], 5, KT),  # returns rc = the order code
        "keybits": (con["keybits"], 5, RC.INVALIDOC),  # jmiscc.c: KeyBits knows order 0 only
    }


ZOO = [
    "data",
    "dead page",
    "fault resume",
    "return resume",
    "page",
    "ro page",
    "segment",
    "ro segment",
    "node",
    "sense",
    "meter",
    "fetch",
    "frontend",
    "start (echo)",
    "domain",
    "bank",
    "discrim",
    "dkc",
    "domtool",
    "returner",
    "keybits",
]


@pytest.mark.parametrize("name", [n for n in ZOO if "resume" not in n])
def test_every_key_answers_kt(con, zoo, name):
    key, _, kt = zoo[name]
    assert con.call(key, KT).rc == kt


@pytest.mark.parametrize("name", ZOO)
def test_discrim_type(con, zoo, name):
    key, want, _ = zoo[name]
    assert discrim(con, kl.oc.Discrim.Type, key) == want


def test_zoo_covers_the_list(zoo):
    assert sorted(zoo) == sorted(ZOO)


# -------------------------------------------------------------------- discrim
def test_discrim_discreet(con, zoo):
    discreet = {"ro page", "sense"}
    for name in ZOO:
        want = 0 if name in discreet else 1
        assert discrim(con, kl.oc.Discrim.Discreet, zoo[name][0]) == want, name


@pytest.mark.parametrize("db, want", [(0xC3, 0), (0xC0, 0), (0x83, 1), (0x43, 1), (0x03, 1)])
def test_discrim_discreet_segments_need_ro_and_nocall(con, new_node, db, want):
    seg = con.call(new_node(), N.MakeSegmentKey, data=bytes([db])).keys[0]
    assert discrim(con, kl.oc.Discrim.Discreet, seg) == want


def test_discrim_compare(con, new_node, new_page, new_domain):
    C = kl.oc.Discrim.Compare
    page, node = new_page(), new_node()
    con.call(node, N.Swap + 0, page)
    copy = con.call(node, N.Fetch + 0).keys[0]
    ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
    dom, _ = new_domain()
    assert discrim(con, C, page, copy) == 0
    assert discrim(con, C, page, ro) == 1  # databyte differs
    assert discrim(con, C, page, new_page()) == 1  # object differs
    assert discrim(con, C, node, con.call(node, N.MakeFetchKey).keys[0]) == 1  # type differs
    assert discrim(con, C, kl.start_key(con, dom, 1), kl.start_key(con, dom, 1)) == 0
    assert discrim(con, C, kl.start_key(con, dom, 1), kl.start_key(con, dom, 2)) == 1
    assert discrim(con, C, dk(con, 5), dk(con, 5)) == 0
    assert discrim(con, C, dk(con, 5), dk(con, 6)) == 1
    assert discrim(con, C) == 0  # DK(0) and DK(0)


def test_discrim_compare_dead_key_equals_dk0(con, new_page):
    page = new_page()
    con.call(con["bank"], kl.oc.SB.DestroyPage, page)
    assert discrim(con, kl.oc.Discrim.Compare, page, dk(con, 0)) == 0


def test_discrim_alleged_type_and_unknown(con):
    assert discrim(con, KT) == kl.oc.Discrim.AKT == 0x409
    for order in (3, 4, 39, KT + 1):
        assert discrim(con, order) == RC.INVALIDOC


# ------------------------------------------------------------------------ DKC
def test_dkc_six_bytes(con):
    r = con.call(con["dkc"], kl.oc.DKC.Create6, data=bytes.fromhex("0102030405ff"))
    assert r.rc == 0 and con.key(r.keys[0]) == kl.DK(0x0102030405FF)


def test_dkc_six_bytes_ignores_the_rest(con):
    r = con.call(con["dkc"], kl.oc.DKC.Create6, data=b"\0\0\0\0\0\x07\x99\x99")
    assert con.key(r.keys[0]) == kl.DK(7)


def test_dkc_short_string_is_padded_with_zeroes_on_the_right(con):
    # jmiscc.c moves the string with pad_move_arg: missing bytes are zero at the end.
    r = con.call(con["dkc"], kl.oc.DKC.Create6, data=b"\x01")
    assert con.key(r.keys[0]) == kl.DK(1 << 40)


def test_dkc_eleven_bytes(con):
    value = 2**88 - 2
    r = con.call(con["dkc"], kl.oc.DKC.Create11, data=value.to_bytes(11, "big"))
    assert r.rc == 0 and con.key(r.keys[0]) == kl.DK(value)


def test_dkc_alleged_type_and_unknown(con):
    assert con.call(con["dkc"], KT).rc == kl.oc.DKC.AKT == 0x309
    for order in (2, 3, 39):
        assert con.call(con["dkc"], order).rc == RC.INVALIDOC


# -------------------------------------------------------------------- KeyBits
def bits(con, key):
    r = con.call(con["keybits"], kl.oc.KeyBits.Get, key)
    assert r.rc == 0
    return r.data


def test_keybits_of_a_data_key(con):
    assert bits(con, dk(con, 5)) == bytes(6) + (5).to_bytes(12, "big")


def test_keybits_tell_keys_apart(con, new_page):
    page = new_page()
    ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
    rw_bits, ro_bits = bits(con, page), bits(con, ro)
    assert rw_bits[:4] == bytes(4) and rw_bits[4] == 1  # page key type
    assert (rw_bits[5], ro_bits[5]) == (0, 0x80)  # the databyte
    assert rw_bits[6:] == ro_bits[6:]  # same page
    assert bits(con, new_page())[6:] != rw_bits[6:]


def test_keybits_knows_only_order_0(con):
    for order in (1, 2, KT):
        assert con.call(con["keybits"], order).rc == RC.INVALIDOC


# ------------------------------------------------------------------- returner
def test_returner_call_returns_the_three_keys(con, new_page, new_node):
    page, node = new_page(), new_node()
    r = con.call(con["returner"], 12345, page, node, dk(con, 8), data=b"str")
    assert r.rc == 12345
    assert [con.key(h) for h in r.keys] == [con.key(page), con.key(node), kl.DK(8), kl.DK0]
    assert r.data == b"str"


# ---------------------------------------------------------------- domain tool
def test_make_domain_key(con, new_node):
    root = new_node()
    con.call(root, N.Swap + 14, new_node())
    con.call(root, N.Swap + 15, new_node())
    r = con.call(con["domtool"], T.MakeDomainKey, root)
    assert r.rc == 0
    nk = con.key(root)
    assert con.key(r.keys[0]) == kl.Key(DOMAIN, nk.obj, 0, nk.alloc)
    assert con.call(r.keys[0], KT).rc == 7
    assert con.call(r.keys[0], D.GetKey).rc == 0


def test_make_domain_key_of_a_narrowed_node_key_has_databyte_0(con, new_node):
    node = con.call(new_node(), N.MakeNodeKey, data=b"\x83").keys[0]
    assert con.key(con.call(con["domtool"], T.MakeDomainKey, node).keys[0]).databyte == 0


def test_make_domain_key_refuses_non_node_keys(con, new_node, new_page):
    node = new_node()
    for order in (N.MakeFetchKey, N.MakeSegmentKey, N.MakeSenseKey, N.MakeMeterKey):
        other = con.call(node, order).keys[0]
        r = con.call(con["domtool"], T.MakeDomainKey, other)
        assert r.rc == MINUS_1 and con.key(r.keys[0]) == kl.DK0, order
    for other in (new_page(), dk(con, con.key(node).obj)):
        assert con.call(con["domtool"], T.MakeDomainKey, other).rc == MINUS_1
    assert con.call(con["domtool"], T.MakeDomainKey).rc == MINUS_1


@pytest.fixture
def branded(con, new_node, new_domain):
    """(brand, domain key, node key to its root) for a domain branded with a node key."""
    brand = new_node()
    dom, root = new_domain(brand=brand)
    return brand, dom, root


def identify(con, order, key, brand):
    return con.call(con["domtool"], order, key, brand)


def test_identify_start(con, branded, new_node):
    brand, dom, root = branded
    r = identify(con, T.IdentifyStart, kl.start_key(con, dom, 9), brand)
    assert r.rc == 9
    assert con.key(r.keys[0]) == con.key(root)
    r = identify(con, T.IdentifyStart, kl.start_key(con, dom, 9), new_node())
    assert r.rc == MINUS_1 and con.key(r.keys[0]) == kl.DK0


@pytest.mark.parametrize("order, flavour", [(D.MakeReturnKey, 2), (D.MakeFaultKey, 4)])
def test_identify_resume(con, branded, new_node, order, flavour):
    brand, dom, root = branded
    resume = con.call(dom, order).keys[0]
    r = identify(con, T.IdentifyResume, resume, brand)
    assert r.rc == flavour and con.key(r.keys[0]) == con.key(root)
    assert identify(con, T.IdentifyResume, resume, new_node()).rc == MINUS_1


def test_identify_domain(con, branded, new_node):
    brand, dom, root = branded
    r = identify(con, T.IdentifyDomain, dom, brand)
    assert r.rc == 0 and con.key(r.keys[0]) == con.key(root)
    assert identify(con, T.IdentifyDomain, dom, new_node()).rc == MINUS_1


def test_identify_wants_the_right_kind_of_key(con, branded):
    brand, dom, root = branded
    start = kl.start_key(con, dom, 1)
    ret = con.call(dom, D.MakeReturnKey).keys[0]
    for order, key in (
        (T.IdentifyStart, dom),
        (T.IdentifyStart, ret),
        (T.IdentifyStart, root),
        (T.IdentifyResume, start),
        (T.IdentifyResume, dom),
        (T.IdentifyDomain, start),
        (T.IdentifyDomain, ret),
    ):
        r = identify(con, order, key, brand)
        assert r.rc == MINUS_1 and con.key(r.keys[0]) == kl.DK0, (order, con.describe(key))


def test_identify_compares_the_whole_brand_key(con, branded):
    brand, dom, _ = branded
    narrowed = con.call(brand, N.MakeNodeKey, data=b"\x01").keys[0]
    assert identify(con, T.IdentifyStart, kl.start_key(con, dom), narrowed).rc == MINUS_1


def test_identify_with_the_dk0_brand_of_an_unbranded_domain(con, new_domain):
    dom, root = new_domain()
    r = identify(con, T.IdentifyStart, kl.start_key(con, dom, 4), dk(con, 0))
    assert r.rc == 4 and con.key(r.keys[0]) == con.key(root)


# Identify segment (5, 6, 7) and meter (9, 10, 11) keepers.
def keeper_of(con, dom, kind):
    if kind == "start":
        return kl.start_key(con, dom, 6), 6
    if kind == "resume":
        return con.call(dom, D.MakeReturnKey).keys[0], 2
    return dom, 0


def kept_object(con, new_node, keeper, what):
    """(key to identify, node key to the object, keeper slot): a red segment or a meter."""
    node = new_node()
    if what == "segment":
        con.call(node, N.Swap + 14, keeper)
        fmt = kl.format_key_value(3, initial=14, keeper=14)
        con.call(node, N.Swap + 15, dk(con, fmt))
        return con.call(node, N.MakeSegmentKey, data=b"\x80").keys[0], node, 14
    con.call(node, N.Swap + 1, con["meter"])
    con.call(node, N.Swap + 2, keeper)
    return con.call(node, N.MakeMeterKey).keys[0], node, 2


KEEPER_CASES = [
    ("segment", "start", 5),
    ("segment", "resume", 6),
    ("segment", "domain", 7),
    ("meter", "start", 9),
    ("meter", "resume", 10),
    ("meter", "domain", 11),
]


@pytest.mark.parametrize("what, kind, order", KEEPER_CASES)
def test_identify_keeper_wants_the_right_keeper_kind(con, branded, new_node, what, kind, order):
    brand, dom, _ = branded
    keeper, _ = keeper_of(con, dom, {"start": "domain", "resume": "start", "domain": "start"}[kind])
    key, _, _ = kept_object(con, new_node, keeper, what)
    assert identify(con, order, key, brand).rc == MINUS_1


@pytest.mark.parametrize("order", [5, 6, 7, 9, 10, 11])
def test_identify_keeper_refuses_other_keys(con, branded, new_node, order):
    brand, dom, _ = branded
    start = kl.start_key(con, dom)
    seg, node, _ = kept_object(con, new_node, start, "segment")
    nocall = con.call(node, N.MakeSegmentKey, data=b"\x40").keys[0]
    black = con.call(node, N.MakeSegmentKey, data=b"\x03").keys[0]
    meter, _, _ = kept_object(con, new_node, start, "meter")
    wrong = [nocall, black, node, dk(con, 1), meter if order < 9 else seg]
    for key in wrong:
        assert identify(con, order, key, brand).rc == MINUS_1, con.describe(key)


@pytest.mark.parametrize("what, kind, order", KEEPER_CASES)
def test_identify_keeper_returns_the_kept_node(con, branded, new_node, what, kind, order):
    brand, dom, _ = branded
    keeper, databyte = keeper_of(con, dom, kind)
    key, node, slot = kept_object(con, new_node, keeper, what)
    r = identify(con, order, key, brand)
    assert r.rc == slot * 256 + databyte
    nk = con.key(node)
    assert con.key(r.keys[0]) == nk._replace(databyte=con.key(key).databyte)
    r = identify(con, order, key, new_node())  # another brand
    assert r.rc == MINUS_1 and con.key(r.keys[0]) == kl.DK0


def test_domtool_alleged_type_and_unknown(con):
    assert con.call(con["domtool"], KT).rc == T.AKT == 0x109
    for order in (4, 8, 12, 16, KT + 1):
        assert con.call(con["domtool"], order).rc == RC.INVALIDOC


# A restart resume key, as a meter keeper receives one.
@pytest.fixture
def restart(con, new_node, new_domain, branded):
    brand, _, _ = branded
    grabber, _ = new_domain("tk-grab-resume")
    meter_node = new_node()
    con.call(meter_node, N.Swap + 1, con["meter"])
    con.call(meter_node, N.Swap + 2, kl.start_key(con, grabber))
    con.call(meter_node, N.Swap + 3, dk(con, 20))
    spinner, root = new_domain("spinner", brand=brand)
    con.call(spinner, D.SwapMeter, con.call(meter_node, N.MakeMeterKey).keys[0])
    con.fork(kl.start_key(con, spinner), 0)
    con.run()
    key = con.call(grabber, D.GetKey + 0).keys[0]
    got = con.key(key)
    assert (got.type, got.obj, got.databyte) == (RESUME, con.key(root).obj, RESTART)
    return brand, spinner, key


def test_restart_key_is_a_resume_key_to_compare(con, restart):
    _, spinner, key = restart
    assert discrim(con, kl.oc.Discrim.Type, key) == 2
    assert con.call(spinner, D.Compare, key).rc == 0


def test_identify_resume_refuses_restart_keys(con, restart):
    brand, _, key = restart
    r = identify(con, T.IdentifyResume, key, brand)
    assert r.rc == MINUS_1 and con.key(r.keys[0]) == kl.DK0


# ------------------------------------------------------------ data and dead keys
@pytest.mark.parametrize("value", [0, 1, 2**88 - 1])
@pytest.mark.parametrize("order", [0, 1, 39, 4096, KT, KT + 4])
def test_data_key_invoked_gives_datakey(con, value, order):
    key = dk(con, value)
    r = con.call(key, order, con["dkc"], data=b"x")
    assert r.rc == RC.DATAKEY == KT + 1
    # Base/jdatac.c:17-25: the value comes back as a string, 6 bytes (its low six), or
    # 16 for order 1 (five zero bytes, then all eleven).
    want = (
        bytes(5) + value.to_bytes(11, "big") if order == 1 else (value % 2**48).to_bytes(6, "big")
    )
    assert [con.key(h) for h in r.keys] == [kl.DK0] * 4 and r.data == want


def test_destroyed_node_kills_every_key_to_it(con, new_node):
    node = new_node()
    keys = [node] + [
        con.call(node, order).keys[0]
        for order in (N.MakeFetchKey, N.MakeSegmentKey, N.MakeSenseKey, N.MakeMeterKey)
    ]
    assert con.call(con["bank"], kl.oc.SB.DestroyNode, node).rc == 0
    for key in keys:
        assert con.describe(key) == "DK(0)"
        assert discrim(con, kl.oc.Discrim.Type, key) == 1
        assert con.call(key, KT).rc == RC.DATAKEY


def test_severed_node_keeps_slots_under_a_new_key(con, new_node):
    node = new_node()
    con.call(node, N.Swap + 4, dk(con, 44))
    r = con.call(con["bank"], kl.oc.SB.SeverNode, node)
    assert r.rc == 0
    assert con.call(node, N.Fetch + 4).rc == RC.DATAKEY
    assert con.key(con.call(r.keys[0], N.Fetch + 4).keys[0]) == kl.DK(44)


# ----------------------------------------------------------------- range keys
@pytest.mark.parametrize(
    "ktype, kt, kind", [(NODE_RANGE, 0x303, "node"), (PAGE_RANGE, 0x302, "page")]
)
def test_range_keys(con, new_node, new_page, ktype, kt, kind):
    rng = con.hold(kl.Key(ktype, 0, 0, 0))  # the closely held keys the prime bank has
    assert con.call(rng, KT).rc == kt
    r = con.call(rng, kl.oc.Range.Create)
    assert r.rc == 0 and con.describe(r.keys[0]).startswith(kind)
    obj = r.keys[0]
    severed = con.call(rng, kl.oc.Range.Sever, obj)
    assert severed.rc == 0 and con.key(obj) == kl.DK0
    assert con.call(rng, kl.oc.Range.Destroy, severed.keys[0]).rc == 0
    assert con.key(severed.keys[0]) == kl.DK0
    wrong = new_page() if kind == "node" else new_node()
    assert con.call(rng, kl.oc.Range.Destroy, wrong).rc == RC.NOT_MINE
    assert con.call(rng, kl.oc.Range.Sever, wrong).rc == RC.NOT_MINE
    assert con.call(rng, 3).rc == RC.INVALIDOC
