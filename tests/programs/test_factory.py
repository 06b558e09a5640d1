"""The FCC, FCs and factories, as domain code (docs/primer.md#primer-factories, fcc.ck)."""

import struct

import programs_for_tests  # noqa: F401  (registers the t-* programs)
import pytest
from bank_helpers import sub_bank, usage

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.kernel.keys import DOMAIN, FETCH, NOCALL, RO, START
from keykos_lab.programs.factories.factory import (
    COMPLETE,
    DOTPROGRAM,
    HOLE_REFUSED,
    NO_SPACE,
    NOT_A_METER,
    NOT_ACCEPTABLE,
    NOT_INCLUDED,
    SHAREDDC,
    UNION_FAILED,
    FactoryB,
    FactoryC,
    FactoryF,
    FactoryR,
)
from keykos_lab.programs.factories.fcc import DC_NOT_VALID, FC, FCC
from keykos_lab.programs.primordial.dc import DC, DCC
from keykos_lab.programs.primordial.kid import MAX_ENTRIES

MISC = struct.Struct(">II3sBI")
NOT_MINE = oc.RC.NOT_MINE


@pytest.fixture
def fc(con):
    r = con.call(con["fcc"], FCC.Create, con["bank"], con["meter"])
    assert r.rc == 0
    return r.keys[0]


def new_builder(con, fc, program="echo"):
    r = con.call(fc, FC.Create, con["bank"])
    assert r.rc == 0
    builder = r.keys[0]
    if program is not None:
        assert (
            con.call(
                builder, FactoryB.InstallSensory + 17, kl.image(con, program), data=bytes(4)
            ).rc
            == 0
        )
    return builder


def complete(con, builder):
    r = con.call(builder, FactoryB.MakeRequestor)
    assert r.rc == 0
    return r.keys[0], r.keys[1]


def buy(con, order=oc.SB.CreatePage):
    return con.call(con["bank"], order).keys[0]


def request(con, requestor, order=0, bank=None, meter=None, extra=None, data=b""):
    keys = [bank or con["bank"], meter or con["meter"]] + ([extra] if extra else [])
    return con.call(requestor, order, *keys, data=data)


def registers(k, con, handle):
    """The live keys in the key registers of the domain a start key designates."""
    root = k.store.objects[con.target(handle)]
    keys_node = k.store.objects[root.slots[14].obj]
    return [k.live(key) for key in keys_node.slots], root


# ---------------------------------------------------------------- FCC, FC
def test_alleged_types(con, fc):
    builder = new_builder(con, fc)
    requestor, fetcher = complete(con, builder)
    copy = con.call(builder, FactoryB.MakeCopy).keys[0]
    assert [
        con.call(key, oc.KT).rc for key in (con["fcc"], fc, builder, requestor, fetcher, copy)
    ] == [0x31E, 0x1E, 0x11E, 0xFF1E, 0xFF1E, 0x21E]


def test_fcc_and_fc_refuse_what_is_not_an_official_bank(k, con, fc):
    impostor = kl.start_key(con, kl.build_domain(con, "echo"))
    nodes = k.store.n_nodes
    for fake in (impostor, con["discrim"], con.hold(kl.DK0)):
        assert con.call(con["fcc"], FCC.Create, fake, con["meter"]).rc == 1
        assert con.call(fc, FC.Create, fake).rc == 1
    assert k.store.n_nodes == nodes
    assert con.call(fc, 99).rc == oc.RC.INVALIDOC
    assert con.call(con["fcc"], 5).rc == oc.RC.INVALIDOC


def test_fc_is_paid_by_the_bank_it_was_created_with(con):
    bank = sub_bank(con)
    r = con.call(con["fcc"], FCC.Create, bank, con["meter"])
    assert r.rc == 0
    assert usage(con, bank) == (4, 0)  # its root, keys and registers nodes, PTOOLS
    assert con.call(r.keys[0], oc.DESTROY).rc == 0
    assert usage(con, bank) == (0, 0)
    assert con.call(r.keys[0], oc.KT).rc == oc.RC.DATAKEY


def test_out_of_space_leaves_nothing(con):
    for nodes in range(0, 4):
        bank = sub_bank(con, nodes=nodes)
        assert con.call(con["fcc"], FCC.Create, bank, con["meter"]).rc == 2
        assert usage(con, bank) == (0, 0)


def test_disable_only_weakens(con, fc):
    no_recall_builder = con.call(fc, FC.DisableBuilder).keys[0]
    no_recall = con.call(fc, FC.DisableFetcher).keys[0]
    assert con.key(no_recall_builder).databyte == 1 and con.key(no_recall).databyte == 2
    assert con.key(con.call(no_recall, FC.DisableBuilder).keys[0]).databyte == 2
    # Weakened FCs still create factories.
    assert con.call(no_recall, FC.Create, con["bank"]).rc == 0


def test_recall_through_the_fc_that_made_the_factory(con, fc):
    builder = new_builder(con, fc)
    requestor, fetcher = complete(con, builder)
    assert con.key(con.call(fc, FC.RecallBuilder, requestor).keys[0]) == con.key(builder)
    assert con.key(con.call(fc, FC.RecallFetcher, requestor).keys[0]) == con.key(fetcher)
    weak = con.call(fc, FC.DisableBuilder).keys[0]
    weakest = con.call(fc, FC.DisableFetcher).keys[0]
    assert con.call(weak, FC.RecallBuilder, requestor).rc == oc.RC.INVALIDOC
    assert con.call(weak, FC.RecallFetcher, requestor).rc == 0
    assert con.call(weakest, FC.RecallFetcher, requestor).rc == oc.RC.INVALIDOC
    other_fc = con.call(con["fcc"], FCC.Create, con["bank"], con["meter"]).keys[0]
    assert con.call(other_fc, FC.RecallBuilder, requestor).rc == 1  # not its brand
    assert con.call(fc, FC.RecallBuilder, con["bank"]).rc == NOT_MINE  # not a factory


def test_only_the_full_fc_key_destroys_it(con, fc):
    weak = con.call(fc, FC.DisableBuilder).keys[0]
    assert con.call(weak, oc.DESTROY).rc == oc.RC.INVALIDOC
    assert con.call(fc, oc.DESTROY).rc == 0
    assert con.call(weak, oc.KT).rc == oc.RC.DATAKEY


def mhf(con, fc, capacity, hole_bank=None):
    return con.call(
        fc,
        FC.CreateMHF,
        con["bank"],
        con.hold(kl.DK0),
        hole_bank or con["bank"],
        data=capacity.to_bytes(4, "big"),
    )


def test_hole_capacity_is_no_limit_but_a_kid_holds_80(con, fc):
    """fcc.ck:284-285, kidc.ck:165-172: the capacity only says whether the third key
    must be a bank (above 300); no ceiling. A KID holds 80 keys (kidc.ck:66, 412): the
    81st hole answers 6 (fcc.ck:628), and a union past 80 answers 1 + 3 (603)."""
    for capacity in (0, 2, 300, 500_001):
        assert mhf(con, fc, capacity).rc == 0
    assert mhf(con, fc, 300, con["dkc"]).rc == 0  # 300 or less: the third key unused
    assert mhf(con, fc, 301, con["dkc"]).rc == NO_SPACE  # the KIDC refused: fcc.ck:436
    builder = mhf(con, fc, 2).keys[0]
    for n in range(MAX_ENTRIES):
        assert con.call(builder, FactoryB.InstallHole + n % 19, buy(con)).rc == 0
    assert con.call(builder, FactoryB.InstallHole + 0, buy(con)).rc == HOLE_REFUSED
    full, _ = complete(con, builder)
    one = new_builder(con, fc)
    assert con.call(one, FactoryB.InstallHole + 0, buy(con)).rc == 0
    assert con.call(one, FactoryB.InstallFactory + 1, full).rc == 1 + UNION_FAILED


def test_create_dc_shares_the_domain_creator(con, fc):
    first = new_builder(con, fc)
    requestor, fetcher = complete(con, first)
    second = con.call(fc, FC.CreateDC, con["bank"], first)
    assert second.rc == 0
    dc_first = con.call(first, FactoryB.GetDC).keys[0]
    dc_second = con.call(second.keys[0], FactoryB.GetDC).keys[0]
    assert con.key(dc_first) == con.key(dc_second)
    assert con.key(dc_first).databyte == 1  # weakened
    flags = MISC.unpack(con.call(second.keys[0], FactoryB.GetMiscellaneous).data)[3]
    assert flags & SHAREDDC
    assert con.call(fc, FC.CreateDC, con["bank"], fetcher).rc == 0
    for not_valid in (requestor, con["bank"]):
        assert con.call(fc, FC.CreateDC, con["bank"], not_valid).rc == DC_NOT_VALID


# ------------------------------------------------------------------ builder
def sensory_candidates(con, new_node):
    page = buy(con)
    node = new_node()
    seg = kl.build_segment(con, [kl.image(con, "echo")], read_only=True)
    ro_nc_seg = con.call(node, oc.Node.MakeSegmentKey, data=bytes([RO | NOCALL])).keys[0]
    dk = con.call(con["dkc"], oc.DKC.Create6, data=(5).to_bytes(6, "big")).keys[0]
    return {
        "ro page": (con.call(page, oc.Page.MakeReadOnlyKey).keys[0], 0),
        "sense key": (con.call(node, oc.Node.MakeSenseKey).keys[0], 0),
        "data key": (dk, 0),
        "dkc": (con["dkc"], 0),
        "returner": (con["returner"], 0),
        "discrim": (con["discrim"], 0),
        "rw page": (page, NOT_ACCEPTABLE),
        "node key": (node, NOT_ACCEPTABLE),
        "fetch key": (con.call(node, oc.Node.MakeFetchKey).keys[0], NOT_ACCEPTABLE),
        "ro segment": (seg, NOT_ACCEPTABLE),
        "ro no-call segment": (ro_nc_seg, 0),
        "bank": (con["bank"], NOT_ACCEPTABLE),
        "meter": (con["meter"], NOT_ACCEPTABLE),
        "domtool": (con["domtool"], NOT_ACCEPTABLE),
        "keybits": (con["keybits"], NOT_ACCEPTABLE),
        "start key": (kl.start_key(con, kl.build_domain(con, "echo")), NOT_ACCEPTABLE),
    }


def test_install_sensory_accepts_exactly_the_discreet_keys(con, fc, new_node):
    builder = new_builder(con, fc)
    for name, (key, rc) in sensory_candidates(con, new_node).items():
        assert con.call(builder, FactoryB.InstallSensory + 5, key).rc == rc, name
        if rc == 0:
            assert con.key(con.call(builder, FactoryB.GetMiscellaneous + 5).keys[0]) == con.key(
                key
            ), name


def test_install_factory_accepts_factories_and_hole_free_tools(con, fc):
    builder = new_builder(con, fc)
    other = new_builder(con, fc)
    requestor, fetcher = complete(con, other)
    weak_fc = con.call(fc, FC.DisableBuilder).keys[0]
    dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
    weak_dc = con.call(dc, DC.Weaken).keys[0]
    other_fcc_factory = new_builder(con, fc, program=None)
    cases = {
        "requestor": (requestor, 0),
        "fetcher": (fetcher, 0),
        "weak fc": (weak_fc, 0),
        "fcc": (con["fcc"], 0),
        "weak dc": (weak_dc, 0),
        "full fc": (fc, NOT_ACCEPTABLE),
        "full dc": (dc, NOT_ACCEPTABLE),
        "builder": (other_fcc_factory, NOT_ACCEPTABLE),
        "bank": (con["bank"], NOT_ACCEPTABLE),
        "echo domain": (kl.start_key(con, kl.build_domain(con, "echo")), NOT_ACCEPTABLE),
    }
    for name, (key, rc) in cases.items():
        assert con.call(builder, FactoryB.InstallFactory + 4, key).rc == rc, name
    kinds = MISC.unpack(con.call(builder, FactoryB.GetMiscellaneous + 4).data)[2]
    assert kinds == (0x80000000 >> 4).to_bytes(4, "big")[:3]  # component 4 is a factory


def test_holes_are_frozen_at_completion(con, fc):
    builder = new_builder(con, fc)
    page, other = buy(con), buy(con)
    assert con.call(builder, FactoryB.InstallHole + 0, page).rc == 0
    requestor, _ = complete(con, builder)
    assert con.call(builder, FactoryB.InstallHole + 1, page).rc == 0  # already a hole
    assert con.call(builder, FactoryB.InstallHole + 1, other).rc == NOT_ACCEPTABLE
    assert con.call(builder, FactoryB.InstallSensory + 2, con["discrim"]).rc == 0
    # A factory with a hole of its own goes in only if that hole is already ours.
    holed = new_builder(con, fc)
    con.call(holed, FactoryB.InstallHole + 0, other)
    holed_requestor, _ = complete(con, holed)
    assert con.call(builder, FactoryB.InstallFactory + 3, holed_requestor).rc == NOT_INCLUDED
    same_hole = new_builder(con, fc)
    con.call(same_hole, FactoryB.InstallHole + 0, page)
    assert con.call(builder, FactoryB.InstallFactory + 3, complete(con, same_hole)[0]).rc == 0
    assert kl.system.factories.compare(con, holed_requestor, requestor) == 1


def test_the_kid_is_paid_by_the_first_bank(con, fc):
    """fcc.ck:389-391, kidc.ck:272, 373: the KID and its entries are bought from the
    bank passed first; when it has no node left for an entry, InstallHole answers 6
    (fcc.ck:628)."""
    probe = sub_bank(con)
    assert mhf(con, fc, 10).rc == 0
    assert con.call(fc, FC.CreateMHF, probe, con.hold(kl.DK0), con["bank"]).rc == 0
    nodes = usage(con, probe)[0]
    tiny = sub_bank(con, nodes=nodes)
    hole_bank = sub_bank(con)
    r = con.call(fc, FC.CreateMHF, tiny, con.hold(kl.DK0), hole_bank)
    assert r.rc == 0 and usage(con, hole_bank) == (0, 0)
    assert con.call(r.keys[0], FactoryB.InstallHole + 0, buy(con)).rc == HOLE_REFUSED


def test_assign_kt_ordinal_and_miscellaneous(con, fc):
    builder = new_builder(con, fc, "t-ordinal")
    con.call(builder, FactoryB.AssignKT, data=(0x1234).to_bytes(4, "big"))
    con.call(builder, FactoryB.AssignOrdinal, data=(77).to_bytes(4, "big"))
    requestor, fetcher = complete(con, builder)
    assert con.call(requestor, oc.KT).rc == 0x1234
    assert con.call(fetcher, oc.KT).rc == 0x1234
    assert request(con, requestor).rc == 77
    r = con.call(fetcher, FactoryF.GetMiscellaneous + 17)
    address, akt, kinds, flags, ordinal = MISC.unpack(r.data)
    assert (address, akt, kinds, ordinal) == (0, 0x1234, bytes(3), 77)
    assert flags == COMPLETE | DOTPROGRAM
    assert con.describe(r.keys[0]).startswith("page key (ro)")
    component3 = con.call(fetcher, FactoryF.Fetch + 3).keys[0]
    assert con.call(component3, oc.KT).rc == 0x21E  # the factory's copy key


def test_without_a_program_the_requestor_key_is_a_fetcher(con, fc):
    builder = new_builder(con, fc, program=None)
    requestor, fetcher = complete(con, builder)
    assert con.key(requestor) == con.key(fetcher)
    assert con.call(fetcher, FactoryF.MakeRequestor).rc == 0


def test_unknown_orders(con, fc):
    builder = new_builder(con, fc)
    requestor, fetcher = complete(con, builder)
    copy = con.call(builder, FactoryB.MakeCopy).keys[0]
    for key, order in (
        (builder, 70),
        (fetcher, 40),
        (copy, 5),
        (requestor, 0xC0000001),
        (fetcher, oc.DESTROY),
    ):
        assert con.call(key, order).rc == oc.RC.INVALIDOC
    assert con.call(requestor, oc.KT).rc == 0xFF1E  # not destroyed
    # Any other order below 0xC0000000, KT+4 included, asks for a yield.
    assert con.call(requestor, oc.DESTROY, con["bank"], con["meter"]).rc == oc.DESTROY


def test_copy_carries_components_holes_and_dc(con, fc):
    builder = new_builder(con, fc, "t-ordinal")
    hole = buy(con)
    con.call(builder, FactoryB.InstallHole + 0, hole)
    con.call(builder, FactoryB.AssignOrdinal, data=(5).to_bytes(4, "big"))
    requestor, _ = complete(con, builder)
    copy = con.call(builder, FactoryB.MakeCopy).keys[0]
    r = con.call(copy, FactoryC.Copy, con["bank"], con.hold(kl.DK0), con["bank"])
    assert r.rc == 0
    clone = r.keys[0]
    assert con.key(con.call(clone, FactoryB.GetMiscellaneous + 0).keys[0]) == con.key(hole)
    assert con.key(con.call(clone, FactoryB.GetDC).keys[0]) == con.key(
        con.call(builder, FactoryB.GetDC).keys[0]
    )
    flags = MISC.unpack(con.call(clone, FactoryB.GetMiscellaneous).data)[3]
    assert flags == SHAREDDC | DOTPROGRAM  # nascent again
    # The clone's own copy key is its component 3, and its holes are the original's.
    assert con.call(con.call(clone, FactoryB.GetMiscellaneous + 3).keys[0], oc.KT).rc == 0x21E
    assert con.call(clone, FactoryB.InstallHole + 0, hole).rc == 0
    clone_requestor, _ = complete(con, clone)
    assert kl.system.factories.compare(con, clone_requestor, requestor) == 0
    assert kl.system.factories.compare(con, requestor, clone_requestor) == 0
    assert request(con, clone_requestor).rc == 5
    no_program = con.call(copy, 1, con["bank"], con.hold(kl.DK0), con["bank"]).keys[0]
    assert not MISC.unpack(con.call(no_program, FactoryB.GetMiscellaneous).data)[3] & DOTPROGRAM
    assert con.call(copy, FactoryC.Copy, con["discrim"]).rc == 1


def test_destroy_returns_everything_and_kills_the_keys(con):
    bank = sub_bank(con)
    fc = con.call(con["fcc"], FCC.Create, bank, con["meter"]).keys[0]
    before = usage(con, bank)
    builder = con.call(fc, FC.Create, bank).keys[0]
    con.call(builder, FactoryB.InstallSensory + 17, kl.image(con, "t-yield-self"), data=bytes(4))
    con.call(builder, FactoryB.InstallHole + 0, buy(con))
    requestor, fetcher = complete(con, builder)
    made = request(con, requestor)  # the yield is paid by the prime bank
    assert made.rc == 0
    assert con.call(builder, oc.DESTROY).rc == 0
    # The factory's DC FORKs its reply before selling its nodes; the forker waits on the
    # CPU queue meanwhile (Base/primcomc.c:281, 256): let it finish.
    con.run()
    assert usage(con, bank) == before
    for key in (builder, requestor, fetcher):
        assert con.call(key, oc.KT).rc == oc.RC.DATAKEY
    assert con.call(made.keys[0], 9, data=b"x").rc == 9  # the yield lives on


# ---------------------------------------------------------------- requestor
def test_the_yield_answers_the_requestor(k, con, fc):
    requestor, _ = complete(con, new_builder(con, fc))
    w = buy(con)
    r = request(con, requestor, 1234, extra=w, data=b"hello")
    assert (r.rc, r.data) == (1234, b"hello")  # echo: rc = the order code
    assert [con.key(h) for h in r.keys[:3]] == [
        con.key(con["bank"]),
        con.key(con["meter"]),
        con.key(w),
    ]


def test_yield_is_paid_by_the_requestor(con, fc):
    requestor, _ = complete(con, new_builder(con, fc))
    bank = sub_bank(con)
    meter_before = con.call(con["meter_service"], oc.Node.Fetch + 3).keys[0]
    assert request(con, requestor, 3, bank=bank).rc == 3
    assert usage(con, bank) == (3, 0)  # root, keys node, registers node
    meter_after = con.call(con["meter_service"], oc.Node.Fetch + 3).keys[0]
    assert con.key(meter_after).obj < con.key(meter_before).obj


def test_yield_starts_with_exactly_the_keys_of_section_6_6(k, con, fc):
    builder = new_builder(con, fc, "t-yield-self")
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    assert con.call(builder, FactoryB.InstallHole + 16, keeper).rc == 0
    symbols = con.call(con["dkc"], oc.DKC.Create6, data=(9).to_bytes(6, "big")).keys[0]
    assert con.call(builder, FactoryB.InstallSensory + 18, symbols).rc == 0
    con.call(builder, FactoryB.AssignOrdinal, data=(42).to_bytes(4, "big"))
    requestor, fetcher = complete(con, builder)
    bank, w = sub_bank(con), buy(con)
    made = request(con, requestor, bank=bank, extra=w)
    assert made.rc == 0
    regs, root = registers(k, con, made.keys[0])
    comp = regs[0]
    assert comp.type == FETCH
    assert k.store.objects[comp.obj].slots[3] == con.key(
        con.call(fetcher, FactoryF.Fetch + 3).keys[0]
    )  # the components
    assert regs[1] == con.key(w)
    assert regs[3].type == DOMAIN and regs[3].obj == root.id  # its own domain
    assert (regs[4], regs[5]) == (con.key(bank), con.key(con["meter"]))
    assert regs[6] == con.key(con.call(builder, FactoryB.GetDC).keys[0])  # weakened DC
    assert all(key == kl.DK0 for n, key in enumerate(regs) if n not in (0, 1, 3, 4, 5, 6))
    assert k.live(root.slots[1]) == con.key(con["meter"])
    assert k.live(root.slots[2]) == con.key(keeper)
    assert k.live(root.slots[10]) == con.key(symbols)
    assert k.live(root.slots[3]) == con.key(con.call(fetcher, FactoryF.Fetch + 17).keys[0])
    assert k.store.objects[root.slots[15].obj].slots[0] == kl.DK(42)  # the ordinal


def test_no_one_but_the_yield_holds_its_domain_key(k, con, fc):
    requestor, _ = complete(con, new_builder(con, fc, "t-yield-self"))
    made = request(con, requestor)
    target = con.target(made.keys[0])
    G = k.capability_graph()
    holders = {u for u, v, d in G.in_edges(target, data=True) if d["key_type"] == "domain"}
    assert holders == {target}


def test_keeper_and_program_from_factories(k, con, fc):
    keeper_factory, _ = complete(con, new_builder(con, fc, "t-yield-self"))
    program_builder = new_builder(con, fc, "image_maker")
    con.call(program_builder, FactoryB.InstallSensory + 0, kl.image(con, "echo"))
    program_factory, _ = complete(con, program_builder)
    builder = new_builder(con, fc, program=None)
    assert con.call(builder, FactoryB.InstallFactory + 16, keeper_factory).rc == 0
    assert con.call(builder, FactoryB.InstallFactory + 17, program_factory, data=bytes(4)).rc == 0
    requestor, _ = complete(con, builder)
    assert kl.is_discreet(con, requestor)
    r = request(con, requestor, 31, data=b"via a program factory")
    assert (r.rc, r.data) == (31, b"via a program factory")
    yield_root = [d for d in k.domains if k.domains[d].program == "echo"][-1]
    keeper = k.live(k.store.objects[yield_root].slots[2])
    assert keeper.type == START and keeper.databyte == 1  # t-yield-self's key


def test_bad_requests_get_return_codes_and_leave_nothing(k, con, fc):
    requestor, _ = complete(con, new_builder(con, fc))
    impostor = kl.start_key(con, kl.build_domain(con, "echo"))
    nodes = k.store.n_nodes
    assert request(con, requestor, bank=impostor).rc == 1
    assert request(con, requestor, bank=con["discrim"]).rc == 1
    # A non-prompt bank: a domain that really sells nodes, by forwarding to a bank.
    slow_bank = kl.start_key(con, kl.build_domain(con, "proxy", keys={0: con["bank"]}))
    assert con.call(slow_bank, oc.SB.CreateNode).rc == 0
    nodes = k.store.n_nodes
    assert request(con, requestor, bank=slow_bank).rc == 1
    assert request(con, requestor, meter=con["bank"]).rc == NOT_A_METER
    assert request(con, requestor, data=bytes(4085)).rc == oc.RC.BADSTRING
    assert k.store.n_nodes == nodes
    for limit in range(3):
        bank = sub_bank(con, nodes=limit)
        assert request(con, requestor, bank=bank).rc == 2
        assert usage(con, bank) == (0, 0)


def test_a_failing_keeper_factory_kills_the_child(con, fc):
    refusing_builder = new_builder(con, fc, "t-ordinal")
    con.call(refusing_builder, FactoryB.AssignOrdinal, data=(9).to_bytes(4, "big"))
    refusing, _ = complete(con, refusing_builder)  # its yield answers rc 9
    builder = new_builder(con, fc)
    con.call(builder, FactoryB.InstallFactory + 16, refusing)
    requestor, _ = complete(con, builder)
    bank = sub_bank(con)
    assert request(con, requestor, bank=bank).rc == 9
    assert usage(con, bank) == (3, 0)  # only the keeper factory's yield is left


# ----------------------------------------------------------- Compare matrix
def factory_with(con, fc, *installs):
    """A completed echo factory after the (order, key) installs: (requestor, fetcher)."""
    builder = new_builder(con, fc)
    for order, key in installs:
        assert con.call(builder, order, key).rc == 0
    return complete(con, builder)


def test_compare_matrix(con, fc, new_node):
    page, node = buy(con), new_node()
    trusted, _ = complete(con, new_builder(con, fc))
    ro_page = con.call(page, oc.Page.MakeReadOnlyKey).keys[0]
    discreet, discreet_fetcher = factory_with(
        con,
        fc,
        (FactoryB.InstallSensory, ro_page),
        (FactoryB.InstallSensory + 1, con.call(node, oc.Node.MakeSenseKey).keys[0]),
    )
    holed, _ = factory_with(con, fc, (FactoryB.InstallHole, page))
    nested_d, _ = factory_with(con, fc, (FactoryB.InstallFactory, discreet))
    nested_h, _ = factory_with(con, fc, (FactoryB.InstallFactory, holed))
    same, _ = factory_with(con, fc, (FactoryB.InstallHole, page))
    liar = kl.build_domain(con, "t-ordinal")
    con.call(liar, oc.Domain.PutRegs, data=(0xFF1E).to_bytes(8, "big") + bytes(120))
    liar_key = kl.start_key(con, liar, 1)
    assert con.call(liar_key, oc.KT).rc == 0xFF1E  # it claims to be a factory
    other_fcc_like = con.call(con["fcc"], FCC.Create, con["bank"], con["meter"]).keys[0]
    other_fc_factory, _ = complete(con, new_builder(con, other_fcc_like))
    expected = {
        discreet: 0,
        discreet_fetcher: 0,
        holed: 1,
        nested_d: 0,
        nested_h: 1,
        same: 1,
        liar_key: 2,
        con["bank"]: 2,
        other_fc_factory: 0,
        con.call(fc, FC.DisableBuilder).keys[0]: 0,
        fc: 2,
        con["fcc"]: 0,
    }
    for suspect, rc in expected.items():
        assert con.call(trusted, FactoryR.Compare, suspect).rc == rc, con.describe(suspect)
    # Relative to a factory that has the hole, the holed ones compare as 0.
    assert con.call(holed, FactoryR.Compare, nested_h).rc == 0
    assert con.call(holed, FactoryR.Compare, same).rc == 0
    assert con.call(discreet_fetcher, FactoryF.Compare, holed).rc == 1


# -------------------------------------------------------------- confinement
def test_an_adversarial_yield_reaches_only_what_the_requestor_gave(k, con, fc, new_node):
    """docs/primer.md#primer-why-confined, by experiment: a yield of a discreet factory that tries
    every
    key it can reach writes no page and calls no domain the requestor did not give it."""
    secret_page = buy(con)
    con.call(secret_page, oc.Page.WriteData, data=b"secret")
    logger_domain = kl.build_domain(
        con, "counter", memory=kl.build_segment(con, [kl.image(con, "counter"), buy(con)])
    )
    logger = kl.start_key(con, logger_domain)
    hidden = new_node()  # behind a sense key: diminished
    con.call(hidden, oc.Node.Swap + 0, secret_page)
    con.call(hidden, oc.Node.Swap + 1, logger)
    con.call(hidden, oc.Node.Swap + 2, kl.build_domain(con, "echo"))
    helper, _ = complete(con, new_builder(con, fc))  # a discreet factory component
    builder = new_builder(con, fc, "adversary")
    for n, key in (
        (0, con["discrim"]),
        (1, con.call(hidden, oc.Node.MakeSenseKey).keys[0]),
        (2, con.call(secret_page, oc.Page.MakeReadOnlyKey).keys[0]),
        (4, con["returner"]),
    ):
        assert con.call(builder, FactoryB.InstallSensory + n, key).rc == 0
    assert con.call(builder, FactoryB.InstallFactory + 5, helper).rc == 0
    requestor, _ = complete(con, builder)
    assert kl.is_discreet(con, requestor)
    bank = sub_bank(con)
    first = len(k.log)
    r = request(con, requestor, bank=bank)
    assert r.rc == 0
    reached, written, sent = struct.unpack(">III", r.data)
    assert reached > 10 and sent >= 3 and written == 0
    # Nothing it could reach outside what the requestor gave it was written or called.
    assert con.call(secret_page, oc.Page.ReadData, data=(6).to_bytes(4, "big")).data == b"secret"
    assert con.call(logger, 0).data == (1).to_bytes(8, "big")  # our call is its first
    ev = k.events().iloc[first:]
    (adversary,) = [root for root, d in k.domains.items() if d.program == "adversary"]
    dc = con.call(builder, FactoryB.GetDC).keys[0]
    # Allowed: what the requestor gave (its bank, the resume key to the console),
    # discreet components (the helper factory), the yield's own weakened DC, and
    # its own factory, through the copy key every factory puts in component 3.
    allowed = {con.target(h) for h in (bank, helper, dc, requestor)} | {k.console.root, adversary}
    reached_domains = set(
        ev[(ev.actor == adversary) & ev.key_type.isin(["start", "resume"])].target
    )
    assert reached_domains <= allowed, [k.domains[t].program for t in reached_domains - allowed]
    assert con.target(helper) in reached_domains and con.target(bank) in reached_domains


def test_create_dc_mhf_and_the_copy_keys_miscellaneous(con, fc):
    first = new_builder(con, fc)
    r = con.call(fc, FC.CreateDCMHF, con["bank"], first, con["bank"], data=(1).to_bytes(4, "big"))
    assert r.rc == 0
    builder = r.keys[0]
    assert con.call(builder, FactoryB.InstallHole + 0, buy(con)).rc == 0
    assert con.call(builder, FactoryB.InstallHole + 1, buy(con)).rc == 0  # no limit
    assert con.key(con.call(builder, FactoryB.GetDC).keys[0]) == con.key(
        con.call(first, FactoryB.GetDC).keys[0]
    )
    copy = con.call(builder, FactoryB.MakeCopy).keys[0]
    r = con.call(copy, FactoryC.GetMiscellaneous + 17)
    assert r.rc == 0 and MISC.unpack(r.data)[3] == SHAREDDC
    assert con.call(fc, FC.CreateDCMHF, con["bank"], con["bank"], con["bank"]).rc == DC_NOT_VALID
