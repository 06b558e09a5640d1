"""Reproducers for semantic bugs found in an adversarial review of the kernel.

Each test asserts the behaviour the spec (docs/primer.md) or the KeyKOS C release
calls for; each was a failing reproducer before its fix (range keys amplifying
authority, fault-key bounces, unlogged self-invocations, lost stall wake-ups,
keys with non-int fields).
"""

import struct

import programs_for_tests  # noqa: F401  (registers the t-* programs)
import pytest

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.kernel.keys import NODE, PAGE, RO


def domain(con, program, **kw):
    dom = kl.build_domain(con, program, **kw)
    return dom, kl.start_key(con, dom)


def regs(con, dom):
    return struct.unpack(">16Q", con.call(dom, oc.Domain.GetRegs).data)


# ------------------------------------------------- range keys: amplification
def weaker_node_key(con, kind):
    """A start key to a domain's root, or a sense key to a node: never a node key."""
    if kind == "start":
        return kl.start_key(con, kl.build_domain(con, "echo"))
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    return con.call(node, oc.Node.MakeSenseKey).keys[0]


@pytest.mark.parametrize("kind", ["start", "sense"])
def test_sever_node_through_a_weaker_key_does_not_amplify(con, kind):
    r = con.call(con["bank"], oc.SB.SeverNode, weaker_node_key(con, kind))
    assert con.key(r.keys[0]).type != NODE
    assert r.rc != 0


def test_sever_page_through_a_read_only_key_does_not_amplify(con):
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    ro = con.call(page, oc.Page.MakeReadOnlyKey).keys[0]
    r = con.call(con["bank"], oc.SB.SeverPage, ro)
    got = con.key(r.keys[0])
    assert not (got.type == PAGE and not got.databyte & RO)
    assert r.rc != 0


def test_destroy_page_needs_a_read_write_key(con):
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    ro = con.call(page, oc.Page.MakeReadOnlyKey).keys[0]
    con.call(con["bank"], oc.SB.DestroyPage, ro)
    assert con.key(page).type == PAGE


# -------------------------------------------------------------- fault keys
def test_fault_key_bounce_keeps_the_faulted_instruction(k, con):
    keeper_dom, keeper = domain(con, "t-trap-logger")
    img = kl.image(con, "counter")
    dom = kl.build_domain(con, None, memory=img, keeper=keeper)  # no page at 4096
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    assert regs(con, keeper_dom)[1] == oc.Trap.MEMORY + oc.Fault.OUTSIDE
    fault = con.call(keeper_dom, oc.Domain.GetKey + 1).keys[0]
    con.fork(fault, 5)  # back to the keeper with trap code 5
    con.run()
    assert regs(con, keeper_dom)[:2] == (2, 5)
    fault = con.call(keeper_dom, oc.Domain.GetKey + 1).keys[0]
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.call(dom, oc.Domain.SwapMemory, kl.build_segment(con, [img, page]))
    con.fork(fault, 0)  # fixed: retry the read at 4096
    con.run()
    assert con.call(page, oc.Page.ReadData, data=(8).to_bytes(4, "big")).data == (1).to_bytes(
        8, "big"
    )
    assert regs(con, keeper_dom)[0] == 2  # no further trap


# ------------------------------------------------- domain key on the invoker
@kl.program("r-self-domain-key")
def self_domain_key(dom, msg):
    """Invokes its own domain key (key register 0) with the message's order."""
    yield dom.call(dom.keys[0], msg.order)
    yield dom.return_(msg.resume)


@pytest.mark.parametrize("order", [oc.Domain.MakeAvailable, oc.Domain.MakeBusy])
def test_domain_key_on_itself_is_logged(k, con, order):
    dom = kl.build_domain(con, "r-self-domain-key")
    con.call(dom, oc.Domain.SwapKey + 0, dom)
    me = con.target(dom)
    n = len(k.log)
    con.fork(kl.start_key(con, dom), order)
    con.run()
    ev = k.events().iloc[n:]
    rows = ev[(ev["actor"] == me) & (ev["event"] == "invoke") & (ev["key_type"] == "domain")]
    assert len(rows) == 1 and rows.iloc[0]["order"] == order


# ----------------------------------------------------------- stall queues
def make_meter(con, ticks):
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 1, con["meter"])
    dk = con.call(con["dkc"], oc.DKC.Create11, data=ticks.to_bytes(11, "big")).keys[0]
    con.call(node, oc.Node.Swap + 3, dk)
    return node, con.call(node, oc.Node.MakeMeterKey).keys[0]


def test_stalled_invokers_are_not_lost_when_the_first_one_cannot_retry(k, con):
    server = kl.start_key(con, kl.build_domain(con, "t-worker"))
    _, dry = make_meter(con, 1)  # enough for one CALL, not for its retry
    client = kl.start_key(con, kl.build_domain(con, "proxy", meter=dry, keys={0: server}))
    con.fork(server, 1000)  # the server is busy for many quanta
    con.fork(client, 0)
    con.run(2)  # the server's first quantum; client stalls
    assert k.domains[con.target(server)].stall
    assert con.call(server, 1).rc == 1  # the console stalls behind the client


# ------------------------------------------------ malformed keys from programs
@kl.program("r-float-key")
def float_key(dom, msg):
    """Names key register 0 with its object id as a float (equal to the real key)."""
    k0 = dom.keys[0]
    yield dom.call(kl.Key(k0.type, float(k0.obj), k0.databyte, k0.alloc), 0)
    yield dom.return_(msg.resume)


def test_program_naming_a_malformed_key_traps_and_the_console_survives(con):
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    start = kl.start_key(con, kl.build_domain(con, "r-float-key", keys={0: page}))
    with pytest.raises(kl.KernelError):
        con.call(start, 0)  # the domain traps, has no keeper: Deadlock
    assert con.call(con["dkc"], 0, data=b"\0\0\0\0\0\x07").rc == 0
