"""What the referee drives besides invocations (docs/analyses.md#analyses-referee): actors
and their key registers, marker writes and flows, segment faults at chosen addresses,
traps, dry meters, keeper calls to domains it acts as, the resume keys it obtains, branches
that copy a waiting probe, and the exhaustive search with its precision table.
"""

import pytest

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.analysis import explore, referee, soundness
from keykos_lab.analysis.referee import compare, exhaustive, precision
from keykos_lab.kernel.domains import AVAILABLE, WAITING
from keykos_lab.kernel.keys import FAULT, RESUME
from keykos_lab.kernel.process import OP_TRAP

TRAP = oc.Trap.SVC + referee.TRAP_CODE


def rows(df) -> set:
    return set(zip(df.target, df.key_type, df.databyte))


def how(df, target, key_type, databyte) -> str:
    match = df[(df.target == target) & (df.key_type == key_type) & (df.databyte == databyte)]
    assert len(match) == 1, (target, key_type, databyte)
    return match.how.iloc[0]


def sinks(df) -> dict:
    return {f["sink"]: f["how"] for f in df.attrs["flows"]}


def new_page(con):
    return con.call(con["bank"], oc.SB.CreatePage).keys[0]


# ------------------------------------------------------------------ actors
def test_domains_reached_act_with_their_own_keys():
    k = kl.Kernel()
    con = k.console
    page = new_page(con)
    echo = kl.build_domain(con, "echo", keys={3: page})
    s = con.target(kl.build_domain(con, "echo", keys={0: kl.start_key(con, echo)}))
    e, p = con.target(echo), con.target(page)
    df = explore(k, s, 1)
    assert sorted(df.attrs["actors"]) == sorted([s, e])
    assert how(df, p, "page", 0) == f"key register 3 of domain #{e}"
    assert sinks(df)[e] == "acted as, through a start key"
    assert explore(k, s, 1, acts=()).attrs["branches"] == 0


def test_the_marker_goes_where_the_subject_can_write():
    k = kl.Kernel()
    con = k.console
    mapped, rw, ro_page = new_page(con), new_page(con), new_page(con)
    ro = con.call(ro_page, oc.Page.MakeReadOnlyKey).keys[0]
    seg, _ = kl.build_red_segment(con, [kl.image(con, "echo"), mapped])
    s = con.target(kl.build_domain(con, memory=seg, keys={0: rw, 1: ro}))
    found = sinks(explore(k, s, 1))
    assert found[con.target(mapped)] == f"the marker is in page #{con.target(mapped)}"
    assert con.target(rw) in found and con.target(ro_page) not in found
    assert k.objs[con.target(mapped)].data is None  # on the copy only


# ------------------------------------------------------------- keepers
def test_a_segment_fault_calls_the_keeper_the_referee_acts_as():
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    seg, node = kl.build_red_segment(con, [kl.image(con, "echo")], keeper=keeper)
    s = con.target(kl.build_domain(con, memory=seg, keys={0: keeper}))
    df = explore(k, s, 1)
    n, kp = con.target(node), con.target(keeper)
    said = how(df, n, "node", 0)
    assert said.startswith(
        f"a segment-keeper call to domain #{kp} (writes at 0xff0, fault 1 "
        f"for the keeper of red node #{n}, acting as the subject #{s})"
    )
    assert "segment-keeper call" in how(df, s, "resume", 0)  # the restart key it kept
    assert soundness(k, s, 1, console=False)["missing"] == []


def test_a_no_call_segment_never_calls_its_keeper():
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    seg, node = kl.build_red_segment(con, [kl.image(con, "echo")], keeper=keeper, databyte=0x40)
    s = con.target(kl.build_domain(con, memory=seg, keys={0: keeper}))
    df = explore(k, s, 1)
    assert (con.target(node), "node", 0) not in rows(df)
    assert (s, "resume", 0) not in rows(df)


def test_a_trap_calls_the_domain_keeper():
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    s = con.target(kl.build_domain(con, "echo", keeper=keeper, keys={0: keeper}))
    df = explore(k, s, 1)
    kp = con.target(keeper)
    assert how(df, s, "domain", 0).startswith(
        f"a domain-keeper call (trap {TRAP:#x}) to domain #{kp} (traps with system call"
    )
    assert (s, "resume", FAULT) in rows(df)


@pytest.mark.parametrize("ticks", [300, 10**9])
def test_a_dry_meter_calls_its_keeper(ticks):
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    meter = kl.build_meter(con, ticks, keeper=keeper)
    keys = {0: keeper} if ticks < referee.SPIN_LIMIT else {0: keeper, 1: meter.node}
    s = con.target(kl.build_domain(con, "echo", meter=meter.key, keys=keys))
    df = explore(k, s, 1)
    said = (
        how(df, con.target(meter.node), "node", 0)
        if ticks < referee.SPIN_LIMIT
        else df[(df.key_type == "resume") & (df.databyte == 0)].how.iloc[0]
    )
    assert "a meter-keeper call to domain" in said
    assert ("emptied through a node key" in said) == (ticks > referee.SPIN_LIMIT)
    assert (s, "resume", 0) in rows(df)


def test_a_keeper_the_subject_cannot_reach_still_hears_from_it():
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "resumer"))
    s = con.target(kl.build_domain(con, "echo", keeper=keeper))
    found = sinks(explore(k, s, 1))
    assert found[con.target(keeper)].startswith(
        f"a domain-keeper call (trap {TRAP:#x}) from the subject #{s}"
    )
    r = soundness(k, s, 1, console=False)
    assert r["flow_missing"] == [] and r["flows_explored"] == 1


def test_resume_keys_obtained_are_used():
    """A fault key from MakeFaultKey, used with a trap code, sends the domain to a keeper
    the subject has no key to (Get+2 is left out of the vocabulary here)."""
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "resumer"))
    dom = kl.build_domain(con, "echo", keeper=keeper)
    s = con.target(kl.build_domain(con, "echo", keys={0: dom}))
    df = explore(
        k, s, 1, orders={"domain": [oc.Domain.MakeStart, oc.Domain.MakeFaultKey]}, acts={"resume"}
    )
    said = sinks(df)[con.target(keeper)]
    assert said.startswith(
        f"a domain-keeper call (trap {TRAP:#x}) from domain "
        f"#{con.target(dom)} (after the referee used a fault key"
    )
    no_resume = explore(
        k, s, 1, orders={"domain": [oc.Domain.MakeStart, oc.Domain.MakeFaultKey]}, acts=()
    )
    assert con.target(keeper) not in sinks(no_resume)


def test_a_branch_copies_a_waiting_probe():
    k = kl.Kernel()
    con = k.console
    keeper = kl.start_key(con, kl.build_domain(con, "echo"))
    s = con.target(kl.build_domain(con, "echo", keeper=keeper, keys={0: keeper}))
    ex = referee._Explorer(k, s, {}, 1000, None)
    referee._DRIVERS.append(ex)
    try:
        ex._act(1, s, ((OP_TRAP, 1, b""), (OP_TRAP, 2, b"")), "traps twice")
        assert ex.k.domains[s].state == WAITING and ex.k.domains[s].proc is not None
        fault = next(key for key in ex.known if key.type == RESUME and key.obj == s)
        with ex._branch():
            ex.con.fork(ex._handle(fault), 0)  # the copy's probe goes on: trap 2
            ex.con.run(10)
            ex._flush(1)
            assert ex.k.domains[s].state == WAITING
            again = [
                key
                for key in ex.known
                if key.type == RESUME and key.obj == s and ex.k.live(key) == key
            ]
            assert len(again) == 1 and again[0] != fault
            with ex._branch():
                ex.con.fork(ex._handle(again[0]), 0)
                ex.con.run(10)
                assert ex.k.domains[s].state == AVAILABLE  # the script is done
        assert ex.k.domains[s].state == WAITING  # the branch was a copy
    finally:
        referee._DRIVERS.remove(ex)


# --------------------------------------------------------------- compare
def test_compare_reports_flows_the_graph_does_not_allow():
    k = kl.Kernel()
    con = k.console
    echo = kl.build_domain(con, "echo")
    s = con.target(kl.build_domain(con, "echo", keys={0: kl.start_key(con, echo)}))
    found = explore(k, s, 1)
    G = k.capability_graph()
    G.remove_node(con.root)
    assert compare(G, s, found)["flow_missing"] == []
    G.remove_edges_from([(u, v, key) for u, v, key in G.out_edges(s, keys=True)])
    r = compare(G, s, found)
    assert {m["sink"] for m in r["flow_missing"]} == {con.target(echo)}
    assert r["missing"] and r["actors"] == sorted([s, con.target(echo)])


# ------------------------------------------------------------- exhaustive
def test_exhaustive_search_is_sound_and_finds_what_explore_misses():
    k, s = referee.BENCHMARK["segment keeper, reachable"]()
    exact = exhaustive(k, s, 2)
    greedy = explore(k, s, 2)
    assert rows(greedy) <= rows(exact) and len(rows(exact)) > len(rows(greedy))
    G = k.capability_graph()
    G.remove_node(k.console.root)
    r = compare(G, s, exact)
    assert r["missing"] == [] and r["flow_missing"] == []
    assert exact.attrs["states"] > 1


def test_precision_table():
    df = precision(depth=1, exact_depth=1)
    assert list(df.scenario) == list(referee.BENCHMARK)
    assert list(df.columns) == [
        "scenario",
        "static",
        "explored",
        "exact",
        "states",
        "precision",
        "static_flows",
        "exact_flows",
        "flow_precision",
        "missing",
        "flow_missing",
    ]
    assert (df.missing == 0).all() and (df.flow_missing == 0).all()
    assert ((0 <= df.precision) & (df.precision <= 1)).all()
