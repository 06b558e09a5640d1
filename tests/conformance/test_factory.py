"""The FCC and factory creators: ``Dom/fundamental/fcc.ck``; order codes
``Dom/include/factory.h`` (``programs/factories/fcc.py``'s ``FCC``, ``FC``).

Each FCC and FC order code is tested here; the factory's own keys (builder, requestor,
fetcher, copy: ``dof``, ``dobuilder``, ``dorequest``, ``dofetcher``, ``docopy``) are tested
order by order in ``tests/programs/test_factory.py``. Declared departures (docs/fidelity.md,
System programs): only the unrestricted FC key destroys an FC; a requestor's meter is
checked; the copy's KID rc; the factory destroy paths follow ``fcc.ck``'s intent.
"""

import struct

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab.programs.factories.factory import (
    COMPLETE,
    DOTPROGRAM,
    FB_AKT,
    FCOPY_AKT,
    FR_AKT,
    NOT_A_METER,
    SHAREDDC,
    FactoryB,
    FactoryC,
    FactoryF,
    FactoryR,
)
from keykos_lab.programs.factories.fcc import FC, FC_AKT, FCC, FCC_AKT

KT = kl.oc.KT
INVALID = kl.oc.RC.INVALIDOC


@pytest.fixture
def fc(con):
    r = con.call(con["fcc"], FCC.Create, con["bank"], con["meter"])
    assert r.rc == 0
    return r.keys[0]


# ==================================================================== FCC
def test_fcc_create(con):
    """fcc.ck:191-256: SBT says official → fork, rc 0 and an FC key; else
    NONPROMPTSB_RC (257), 1."""
    r = con.call(con["fcc"], FCC.Create, con["bank"], con["meter"])
    assert r.rc == 0 and con.call(r.keys[0], KT).rc == FC_AKT
    assert con.call(con["fcc"], FCC.Create, con["dkc"], con["meter"]).rc == 1


@pytest.mark.parametrize("order, rc", [(KT, FCC_AKT), (1, INVALID), (KT + 4, INVALID)])
def test_fcc_other_orders(con, order, rc):
    """fcc.ck:189-190: KT → FCC_AKT (factory.h:64), any other order but 0 → KT+2."""
    assert con.call(con["fcc"], order).rc == rc


# ===================================================================== FC
@pytest.mark.parametrize("order", [FC.Create, FC.CreateMHF])
def test_fc_create(con, fc, order):
    """fcc.ck:332-453: rc 0 and a builder's key to a new factory; a bank the SBT does
    not call official → NONPROMPTSB_RC 1 (339)."""
    r = con.call(fc, order, con["bank"], con["dkc"], con["bank"])
    assert r.rc == 0 and con.call(r.keys[0], KT).rc == FB_AKT
    assert con.call(fc, order, con["dkc"]).rc == 1


def test_fc_create_pays_for_the_holes_from_the_bank_passed(con):
    """fcc.ck:332-335: for FC_Create, ``KC (DOMKEY,Domain_GetKey+PSB) KEYSTO(SB)``
    copies the bank just passed (the LDENBL of fcc.ck:285 put it in PSB), and
    KIDC_Create is paid from it (390-391), not from the FC's own bank."""
    own, given = sub_bank(con), sub_bank(con)
    fc = con.call(con["fcc"], FCC.Create, own, con["meter"]).keys[0]
    before = usage(con, own)
    assert con.call(fc, FC.Create, given).rc == 0
    assert usage(con, own) == before
    assert usage(con, given)[0] > 0


@pytest.mark.parametrize("order", [FC.CreateDC, FC.CreateDCMHF])
def test_fc_create_dc(con, fc, order):
    """fcc.ck:347-354: the DC of the factory whose key is key 1; FactoryDCNotValid (5)
    when DC_IdentifyStart does not know it or it is a requestor's key."""
    builder = con.call(fc, FC.Create, con["bank"]).keys[0]
    r = con.call(fc, order, con["bank"], builder, con["bank"])
    assert r.rc == 0
    assert con.call(fc, order, con["bank"], con["dkc"], con["bank"]).rc == 5


@pytest.mark.parametrize("order, databyte", [(FC.DisableFetcher, 2), (FC.DisableBuilder, 1)])
def test_fc_disable(con, fc, order, databyte):
    """fcc.ck:297-310: rc 0 and an FC key with databyte 2 / 1, never weaker than the
    key used."""
    r = con.call(fc, order)
    assert r.rc == 0 and con.key(r.keys[0]).databyte == databyte
    weakest = con.call(fc, FC.DisableFetcher).keys[0]
    assert con.key(con.call(weakest, order).keys[0]).databyte == 2


@pytest.mark.parametrize("order", [FC.RecallFetcher, FC.RecallBuilder])
def test_fc_recall(con, fc, order):
    """fcc.ck:311-331: a requestor's key to a factory of this FC → rc 0 and its
    fetcher or builder key; -1 if the factory DC does not know it (318); KT+2 through
    a key without the right (312-315)."""
    builder = con.call(fc, FC.Create, con["bank"]).keys[0]
    requestor = con.call(builder, 66).keys[0]  # FactoryB_MakeRequestor
    r = con.call(fc, order, requestor)
    assert r.rc == 0
    assert con.call(fc, order, con["bank"]).rc == kl.oc.RC.NOT_MINE
    weakest = con.call(fc, FC.DisableFetcher).keys[0]
    assert con.call(weakest, order, requestor).rc == INVALID


@pytest.mark.parametrize("order, rc", [(KT, FC_AKT), (8, INVALID), (99, INVALID)])
def test_fc_other_orders(con, fc, order, rc):
    """fcc.ck:296 (FC_AKT, factory.h:65), 454: KT+2."""
    assert con.call(fc, order).rc == rc


def test_fc_destroy(con, fc):
    """fcc.ck:289-295: KT+4, the FC dies. Departure (docs/fidelity.md, Destroying an FC):
    only through the unrestricted key."""
    weak = con.call(fc, FC.DisableBuilder).keys[0]
    assert con.call(weak, KT + 4).rc == INVALID
    assert con.call(fc, KT + 4).rc == 0
    assert con.call(fc, KT).rc == kl.oc.RC.DATAKEY


def test_fcc_create_whose_fc_cannot_buy_its_node(con):
    """Departure (docs/fidelity.md, Destroying an FC; an FC that cannot start): a bank
    that pays for the FC's domain but not its private node gets rc 2 and nothing stays
    bought. In C the FC returns the bank's rc and dies through the factories' DC, which
    refuses it, so the FCC's caller is never answered (fcc.ck:191-258, 220-242)."""
    bank = sub_bank(con, nodes=3)
    assert con.call(con["fcc"], FCC.Create, bank, con["meter"]).rc == 2
    assert usage(con, bank) == (0, 0)


@pytest.mark.parametrize("nodes", [0, 2])
def test_fc_create_when_the_dcc_cannot_make_the_dc(con, fc, nodes):
    """Departure (docs/fidelity.md, Destroying an FC; an FC that cannot start): FC_Create
    with a bank that cannot pay for the new factory's DC answers the DCC's rc, KT+1;
    fcc.ck:343-344 does not look at it, and its own fork then fails (rc 2, fcc.ck:446)."""
    assert con.call(fc, FC.Create, sub_bank(con, nodes=nodes)).rc == kl.oc.RC.DATAKEY


# ============================================================ the factory's keys
# dof, fcc.ck:461-545, dispatches on the databyte: 0 builder (dobuilder, 551-687), 1
# requestor (dorequest, 808-916), 2 fetcher (dofetcher, 920-945), 3 copy (docopy, 949-1051).
MISC = struct.Struct(">II3sBI")  # factory.h:118-127 Factory_GetMiscellaneousValues


def new_builder(con, fc, program="echo"):
    r = con.call(fc, FC.Create, con["bank"])
    assert r.rc == 0
    builder = r.keys[0]
    if program:
        image = kl.image(con, program)
        assert con.call(builder, FactoryB.InstallSensory + 17, image, data=bytes(4)).rc == 0
    return builder


def buy(con):
    return con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]


def misc(con, key, order):
    r = con.call(key, order)
    assert r.rc == 0
    return r, MISC.unpack(r.data)


def test_builder_alleged_type(con, fc):
    """fcc.ck:565-568: KT → FB_AKT 0x11E (factory.h:70)."""
    assert con.call(new_builder(con, fc), KT).rc == FB_AKT


def test_builder_destroy(con, fc):
    """fcc.ck:569-572: KT+4 → dof returns (499) and the factory dies, rc 0; its keys are
    dead. Departure (docs/fidelity.md, Factory destroy paths): the way out follows
    ``fcc.ck``'s intent (408-437)."""
    builder = new_builder(con, fc)
    requestor = con.call(builder, FactoryB.MakeRequestor).keys[0]
    assert con.call(builder, KT + 4).rc == 0
    con.run()
    assert con.call(builder, KT).rc == con.call(requestor, KT).rc == kl.oc.RC.DATAKEY


def test_builder_install_sensory(con, fc, new_node):
    """fcc.ck:573-587, 733-750: issensory (Discrim Discreet, the DKC, Returner or Discrim,
    or a data key) → rc 0 and the component in place (ff[n] = 0); else rc 2 and no change.
    Component 17 takes the string as the start address (705-708)."""
    builder = new_builder(con, fc, None)
    node = new_node()
    sense = con.call(node, kl.oc.Node.MakeSenseKey).keys[0]
    assert con.call(builder, FactoryB.InstallSensory + 4, sense).rc == 0
    assert con.call(builder, FactoryB.InstallSensory + 5, con["returner"]).rc == 0
    assert con.call(builder, FactoryB.InstallSensory + 4, node).rc == 2
    got, values = misc(con, builder, FactoryB.GetMiscellaneous + 4)
    assert con.key(got.keys[0]) == con.key(sense) and values[2] == bytes(3)
    dk = con.call(con["dkc"], kl.oc.DKC.Create6, data=(5).to_bytes(6, "big")).keys[0]
    assert con.call(builder, FactoryB.InstallSensory + 17, dk, data=b"\0\0\1\0").rc == 0
    _, values = misc(con, builder, FactoryB.GetMiscellaneous + 17)
    assert values[0] == 0x100 and values[3] & DOTPROGRAM


def test_builder_install_factory(con, fc):
    """fcc.ck:588-617, 753-792: isfactory (the factory DC's IdentifyStart rc 1 or 2: a
    requestor's or fetcher key) → while nascent the other's holes join ours (KID
    MakeUnion, rc + 3 if that fails, 601-605), once complete they must be ours already
    (TestInclusion, rc 3, 594-597); isfactoryc (a weakened FC, the FCC, a weakened DC) →
    rc 0 with no holes; else rc 2. Accepted, ff[n] = 1: the component's bit in
    GetMiscellaneous (645-648)."""
    other = new_builder(con, fc)
    hole = buy(con)
    assert con.call(other, FactoryB.InstallHole + 0, hole).rc == 0
    requestor = con.call(other, FactoryB.MakeRequestor).keys[0]
    builder = new_builder(con, fc)
    assert con.call(builder, FactoryB.InstallFactory + 2, requestor).rc == 0
    assert con.call(builder, FactoryB.InstallFactory + 1, con["fcc"]).rc == 0
    assert con.call(builder, FactoryB.InstallFactory + 1, buy(con)).rc == 2
    assert con.call(builder, FactoryB.InstallFactory + 1, fc).rc == 2  # a full FC
    _, values = misc(con, builder, FactoryB.GetMiscellaneous)
    assert values[2] == bytes([0x60, 0, 0])  # components 1 and 2 are factories
    con.call(builder, FactoryB.MakeRequestor)
    assert con.call(builder, FactoryB.InstallHole + 3, hole).rc == 0  # joined: a hole here
    third = new_builder(con, fc)
    con.call(third, FactoryB.InstallHole + 0, buy(con))
    stranger = con.call(third, FactoryB.MakeRequestor).keys[0]
    assert con.call(builder, FactoryB.InstallFactory + 4, stranger).rc == 3
    assert con.call(builder, FactoryB.InstallFactory + 4, requestor).rc == 0


def test_builder_install_hole(con, fc):
    """fcc.ck:618-635: nascent, any key: KID AddEntry, rc 6 if it fails (628); complete:
    rc 2 unless the key is a hole already (KID Identify, 623-624); then rc 0 and the
    component in place."""
    builder = new_builder(con, fc)
    hole = buy(con)
    assert con.call(builder, FactoryB.InstallHole + 16, hole).rc == 0
    con.call(builder, FactoryB.MakeRequestor)
    assert con.call(builder, FactoryB.InstallHole + 0, buy(con)).rc == 2
    assert con.call(builder, FactoryB.InstallHole + 0, hole).rc == 0
    got, _ = misc(con, builder, FactoryB.GetMiscellaneous + 0)
    assert con.key(got.keys[0]) == con.key(hole)


def test_builder_get_miscellaneous(con, fc):
    """fcc.ck:636-652: rc 0, component n (getcomp, 716-727) and 16 bytes: the start
    address, the AKT, 3 bytes of factory bits, the flags, the ordinal (factory.h:118-127).
    A new factory's component 3 is its copy key (395-398)."""
    builder = new_builder(con, fc)
    r, values = misc(con, builder, FactoryB.GetMiscellaneous + 3)
    assert con.call(r.keys[0], KT).rc == FCOPY_AKT
    assert values == (0, FR_AKT, bytes(3), DOTPROGRAM, 0)


def test_builder_assign_kt_and_ordinal(con, fc):
    """fcc.ck:653-664: rc 0; parm is the string read into a 4-byte word that was 0
    (481-483), so a short string fills its high bytes. The requestor's KT answers the
    AKT (825-828)."""
    builder = new_builder(con, fc)
    assert con.call(builder, FactoryB.AssignKT, data=b"\x12\x34").rc == 0
    assert con.call(builder, FactoryB.AssignOrdinal, data=(77).to_bytes(4, "big")).rc == 0
    _, values = misc(con, builder, FactoryB.GetMiscellaneous)
    assert (values[1], values[4]) == (0x12340000, 77)


@pytest.mark.parametrize("program", ["echo", None])
def test_builder_make_requestor(con, fc, program):
    """fcc.ck:665-674: COMPLETE; rc 0, key 1 a requestor's key (databyte 1) if there is
    a program (DOTPROGRAM), else a fetcher key, key 2 a fetcher key (databyte 2)."""
    builder = new_builder(con, fc, program)
    r = con.call(builder, FactoryB.MakeRequestor)
    assert r.rc == 0
    first = con.key(r.keys[0]).databyte
    assert (first, con.key(r.keys[1]).databyte) == ((1 if program else 2), 2)
    _, values = misc(con, builder, FactoryB.GetMiscellaneous)
    assert values[3] & COMPLETE


def test_builder_make_copy(con, fc):
    """fcc.ck:675-680: rc 0 and a copy key (databyte 3); MakeStart answers one key, so
    K1 is DK(0) (gatec.c:117-150) and fcc.ck:491-492 sends the copy key and DK(0)."""
    r = con.call(new_builder(con, fc), FactoryB.MakeCopy)
    assert r.rc == 0 and con.key(r.keys[0]).databyte == 3
    assert [con.key(h) for h in r.keys[1:]] == [kl.DK0] * 3
    assert con.call(r.keys[0], KT).rc == FCOPY_AKT


def test_builder_get_dc(con, fc):
    """fcc.ck:682-686: rc 0 and the factory's DC, weakened (394); GetKey answers one key,
    so K1 is DK(0) (gatec.c:117-150), and the DC and DK(0) go back (491-492)."""
    r = con.call(new_builder(con, fc), FactoryB.GetDC)
    assert r.rc == 0 and [con.key(h) for h in r.keys[1:]] == [kl.DK0] * 3
    assert con.key(r.keys[0]).databyte == 1
    assert con.call(r.keys[0], KT).rc == 0x0D  # DC_AKT


@kl.program("cf-refusing-factory")
def _refusing_factory(dom, msg):
    """A factory's yield that refuses whatever it is asked: rc 7."""
    yield dom.return_(msg.resume, rc=7)


def test_requestor_whose_keeper_factory_refuses(con, fc):
    """Departure (docs/fidelity.md, A keeper or program factory that refuses): a keeper
    (component 16) that is a factory and answers 7 gives the requestor rc 7, and the
    half-built yield is taken apart (the refusing factory's own yield, bought from the same
    bank, lives on). In C (fcc.ck:832-918, 864-873, 502, 510) the answer goes through the
    DK(0) already in RETURNER: KT+1, and the half-built yield's nodes stay bought too."""
    refuser = new_builder(con, fc, program="cf-refusing-factory")
    refusing = con.call(refuser, FactoryB.MakeRequestor).keys[0]
    builder = new_builder(con, fc)
    assert con.call(builder, FactoryB.InstallFactory + 16, refusing).rc == 0
    requestor = con.call(builder, FactoryB.MakeRequestor).keys[0]
    alone = sub_bank(con)  # what the refusing factory's own yield keeps bought
    assert con.call(refusing, 2, alone, con["meter"]).rc == 7
    bank = sub_bank(con)
    assert con.call(requestor, 5, bank, con["meter"]).rc == 7
    con.run()
    assert usage(con, bank) == usage(con, alone) != (0, 0)


# ------------------------------------------------------------------ requestor
def complete(con, fc, holes=0, program="echo"):
    builder = new_builder(con, fc, program)
    for n in range(holes):
        assert con.call(builder, FactoryB.InstallHole + n, buy(con)).rc == 0
    r = con.call(builder, FactoryB.MakeRequestor)
    return builder, r.keys[0], r.keys[1]


def test_requestor_compare(con, fc):
    """fcc.ck:815-823: isfactoryc (771-788) → 0; not a factory (isfactory, 756-765) → 2;
    the other's holes all ours (KID TestInclusion, 819) → 0, else 1."""
    builder, requestor, _ = complete(con, fc, holes=1)
    _, discreet, _ = complete(con, fc)
    _, holed, _ = complete(con, fc, holes=1)
    weak_fc = con.call(fc, FC.DisableBuilder).keys[0]
    compare = FactoryR.Compare
    assert con.call(requestor, compare, discreet).rc == 0
    assert con.call(requestor, compare, weak_fc).rc == 0
    assert con.call(requestor, compare, buy(con)).rc == 2
    assert con.call(requestor, compare, holed).rc == 1
    assert con.call(discreet, compare, requestor).rc == 1


def test_requestor_alleged_type(con, fc):
    """fcc.ck:825-828: KT → the AKT, FR_AKT 0xFF1E (factory.h:72) unless assigned."""
    _, requestor, _ = complete(con, fc)
    assert con.call(requestor, KT).rc == FR_AKT


@pytest.mark.parametrize("order, rc", [(0xC0000001, INVALID), (0xFFFFFFFE, INVALID)])
def test_requestor_orders_above_c0000000(con, fc, order, rc):
    """fcc.ck:830: ``oc > 0xC0000000u`` → KT+2 (0xC0000000 itself builds a yield)."""
    _, requestor, _ = complete(con, fc)
    assert con.call(requestor, order, con["bank"], con["meter"]).rc == rc
    assert con.call(requestor, 0xC0000000, con["bank"], con["meter"]).rc == 0xC0000000


def test_requestor_builds_a_yield(con, fc):
    """fcc.ck:832-918: the bank must be official (836-837, rc 1); a fork of the factory
    becomes the yield, runs the builder's program (repmem, 897) and answers the requestor
    itself: here ``echo``, the order back. KT+4 is an order like any other (below
    0xC0000000)."""
    _, requestor, _ = complete(con, fc)
    assert con.call(requestor, 1234, con["bank"], con["meter"]).rc == 1234
    assert con.call(requestor, KT + 4, con["bank"], con["meter"]).rc == KT + 4
    assert con.call(requestor, 0, con["dkc"], con["meter"]).rc == 1


def test_requestor_checks_the_meter(con, fc):
    """fcc.ck:836-877 takes any key as the meter. Departure (docs/fidelity.md, The
    requestor's meter): rc 3 when Discrim does not call it a meter."""
    _, requestor, _ = complete(con, fc)
    assert con.call(requestor, 0, con["bank"], con["bank"]).rc == NOT_A_METER


# -------------------------------------------------------------------- fetcher
def test_fetcher_alleged_type(con, fc):
    """fcc.ck:928: KT → the AKT, as the requestor's key."""
    builder, _, fetcher = complete(con, fc)
    con.call(builder, FactoryB.AssignKT, data=(0x777).to_bytes(4, "big"))
    assert con.call(fetcher, KT).rc == 0x777


def test_fetcher_compare(con, fc):
    """fcc.ck:930-931: as the requestor's Compare (dorequest)."""
    _, _, fetcher = complete(con, fc)
    _, other, _ = complete(con, fc, holes=1)
    assert con.call(fetcher, FactoryF.Compare, buy(con)).rc == 2
    assert con.call(fetcher, FactoryF.Compare, other).rc == 1


@pytest.mark.parametrize("program", ["echo", None])
def test_fetcher_make_requestor(con, fc, program):
    """fcc.ck:932-933: dobuilder's MakeRequestor (665-674) on a copy of the flags: rc 0
    and a requestor's key (a fetcher key without a program); fcc.ck:517-518: the fetcher's
    case 1 sends K0 alone, so key 2 is DK(0) (factory.h:41 documents a fetcher key there,
    which the code does not send)."""
    _, _, fetcher = complete(con, fc, program=program)
    r = con.call(fetcher, FactoryF.MakeRequestor)
    assert r.rc == 0
    assert con.key(r.keys[0]).databyte == (1 if program else 2)
    assert [con.key(h) for h in r.keys[1:]] == [kl.DK0] * 3
    # a fetcher key reads order 7 as Fetch + 7 (934-939): rc 0
    assert con.call(r.keys[0], 7, con["bank"], con["meter"]).rc == (7 if program else 0)


def test_fetcher_fetch(con, fc):
    """fcc.ck:934-939: rc 0 and component n (getcomp); 943: any other order KT+2."""
    builder = new_builder(con, fc)
    hole = buy(con)
    con.call(builder, FactoryB.InstallHole + 5, hole)
    _, _, fetcher = complete_existing(con, builder)
    r = con.call(fetcher, FactoryF.Fetch + 5)
    assert r.rc == 0 and con.key(r.keys[0]) == con.key(hole)
    assert con.call(fetcher, 40).rc == INVALID


def complete_existing(con, builder):
    r = con.call(builder, FactoryB.MakeRequestor)
    return builder, r.keys[0], r.keys[1]


def test_fetcher_get_miscellaneous(con, fc):
    """fcc.ck:940-942: dobuilder's GetMiscellaneous: rc 0, the component, 16 bytes."""
    builder = new_builder(con, fc)
    con.call(builder, FactoryB.AssignOrdinal, data=(9).to_bytes(4, "big"))
    _, _, fetcher = complete_existing(con, builder)
    r, values = misc(con, fetcher, FactoryF.GetMiscellaneous + 3)
    assert con.call(r.keys[0], KT).rc == FCOPY_AKT and values[4] == 9


# ----------------------------------------------------------------------- copy
def test_copy_alleged_type(con, fc):
    """fcc.ck:966: KT → FCopy_AKT 0x21E (factory.h:71); 1049: other orders KT+2."""
    copy = con.call(new_builder(con, fc), FactoryB.MakeCopy).keys[0]
    assert con.call(copy, KT).rc == FCOPY_AKT
    assert con.call(copy, 5).rc == INVALID


def test_copy_get_miscellaneous(con, fc):
    """fcc.ck:968-971: dobuilder's GetMiscellaneous."""
    builder = new_builder(con, fc)
    copy = con.call(builder, FactoryB.MakeCopy).keys[0]
    _, values = misc(con, copy, FactoryC.GetMiscellaneous + 17)
    assert values[3] == DOTPROGRAM


@pytest.mark.parametrize("order", [FactoryC.Copy, 1])
def test_copy(con, fc, order):
    """fcc.ck:972-1030: an official bank (973, else rc 1, 1046) → a fork that is a new
    nascent factory: rc 0 and its builder's key (dof's first reply, 478-479); the same
    components but 3, its own copy key (993-999); keeper, program, symbols; the same DC
    (SHAREDDC, 1018-1021) and a KID holding our holes (1010-1015); order 1 drops
    DOTPROGRAM (1019)."""
    builder = new_builder(con, fc)
    hole = buy(con)
    con.call(builder, FactoryB.InstallHole + 0, hole)
    complete_existing(con, builder)
    copy = con.call(builder, FactoryB.MakeCopy).keys[0]
    r = con.call(copy, order, con["bank"], con["meter"], con["bank"])
    assert r.rc == 0 and con.call(r.keys[0], KT).rc == FB_AKT
    clone = r.keys[0]
    got, values = misc(con, clone, FactoryB.GetMiscellaneous + 0)
    assert con.key(got.keys[0]) == con.key(hole)
    assert values[3] == SHAREDDC | (DOTPROGRAM if order == 0 else 0)
    mine = con.call(clone, FactoryB.GetMiscellaneous + 3).keys[0]
    assert con.key(mine) != con.key(copy) and con.call(mine, KT).rc == FCOPY_AKT
    dc = con.call(builder, FactoryB.GetDC).keys[0]
    assert con.key(con.call(clone, FactoryB.GetDC).keys[0]) == con.key(dc)
    con.call(clone, FactoryB.MakeRequestor)
    assert con.call(clone, FactoryB.InstallHole + 1, hole).rc == 0  # a hole here too
    assert con.call(copy, order, con["dkc"]).rc == 1
