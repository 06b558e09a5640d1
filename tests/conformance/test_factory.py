"""The FCC and factory creators: ``Dom/fundamental/fcc.ck``; order codes
``Dom/include/factory.h`` (``programs/factories/fcc.py``'s ``FCC``, ``FC``).

Each FCC and FC order code is tested here; the factory's own keys (builder, requestor,
fetcher, copy: ``dof``, ``dobuilder``, ``dorequest``, ``dofetcher``, ``docopy``) are tested
order by order in ``tests/programs/test_factory.py``. Declared departures (docs/fidelity.md,
System programs): only the unrestricted FC key destroys an FC; a requestor's meter is
checked; the copy's KID rc; the factory destroy paths follow ``fcc.ck``'s intent.
"""

import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab.programs.factories.factory import FB_AKT
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
