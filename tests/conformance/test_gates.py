"""Gates — start and resume keys — and the three jumps: ``Base/jresumec.c`` (``jresume``),
``Base/primcomc.c`` (``handlejumper``, ``getreturnee``, ``ld4``), ``Base/gatec.c``.

A gate key has no orders of its own: the order code is delivered to the program of the
domain it leads to. What the kernel decides is whether and how the message goes.
"""

import struct

import pytest

import keykos_lab as kl
from keykos_lab.kernel.domains import AVAILABLE, TRAPCODE
from keykos_lab.kernel.keys import RESTART, RESUME, RETURN

KT = kl.oc.KT
D = kl.oc.Domain
N = kl.oc.Node
DATAKEY = kl.oc.RC.DATAKEY


def keys(con, r):
    return [con.key(h) for h in r.keys]


@kl.program("cf-gate-report")
def gate_report(dom, msg):
    """Replies: rc the databyte; keys 1-3 as received; the string: the order (4 bytes),
    key 4's type and databyte, then the string received."""
    k4 = msg.keys[3]
    head = struct.pack(">IBB", msg.order, k4.type, k4.databyte)
    yield dom.return_(msg.resume, rc=msg.databyte, keys=msg.keys[:3], data=head + msg.data)


@kl.program("cf-record")
def record(dom, msg):
    """Register 0 := the order received, register 1 += 1; then RETURN to key 4."""
    dom.regs[0] = msg.order
    dom.regs[1] = dom.regs[1] + 1
    yield dom.return_(msg.resume, rc=msg.order)


@kl.program("cf-call")
def caller(dom, msg):
    """CALL key register 0 with the order; RETURN its rc to key 4."""
    r = yield dom.call(dom.keys[0], msg.order, *msg.keys[:3], data=msg.data)
    yield dom.return_(msg.resume, rc=r.rc, keys=r.keys[:3], data=r.data)


@kl.program("cf-return-to")
def return_to(dom, msg):
    """RETURN through key register 0 with the caller's resume key as key 4."""
    yield dom.return_(dom.keys[0], msg.order, msg.keys[0], kl.DK0, kl.DK0, msg.resume)


@kl.program("cf-fork-then-call")
def fork_then_call(dom, msg):
    """FORK key register 0 (with key 4 = key register 1), then CALL the DKC (register 2)."""
    yield dom.fork(dom.keys[0], msg.order, kl.DK0, kl.DK0, kl.DK0, dom.keys[1])
    yield dom.call(dom.keys[2], 0)


@kl.program("cf-call-four")
def call_four(dom, msg):
    yield dom.call(dom.keys[0], 0, dom.keys[0], dom.keys[0], dom.keys[0], dom.keys[0])


# ================================================================ start keys
@pytest.mark.parametrize("order", [0, 9, KT, KT + 4])
@pytest.mark.parametrize("databyte", [0, 3, 255])
def test_call_through_a_start_key(con, dk, order, databyte):
    """jresumec.c:199-264, 281-311: the message goes with the start key's databyte
    (put_data_byte, 263), the three keys passed and, as key 4, a return-flavour resume key
    to the caller (298-303); the jumpee becomes busy and runs (308-310). KT is an order
    like any other: the program answers it."""
    start = kl.start_key(con, kl.build_domain(con, "cf-gate-report"), databyte)
    r = con.call(start, order, dk(1), dk(2), dk(3), data=b"msg")
    assert r.rc == databyte and keys(con, r)[:3] == [kl.DK(1), kl.DK(2), kl.DK(3)]
    assert r.data == struct.pack(">IBB", order, RESUME, RETURN) + b"msg"


def test_start_key_to_a_busy_domain_stalls_the_jumper(k, con, new_domain):
    """jresumec.c:203-227: the jumpee is busy: the jumper is hooked onto its stall queue
    and retries when it is made available (makeready, primcomc.c:131-145)."""
    dom, _ = new_domain("echo")
    con.call(dom, D.MakeBusy)
    caller_dom = kl.build_domain(con, "cf-call", keys={0: kl.start_key(con, dom)})
    con.fork(kl.start_key(con, caller_dom), 5)
    con.run()
    ev = k.events()
    stalls = ev[ev["event"] == "stall"]
    assert list(stalls["actor"]) == [con.target(caller_dom)]
    con.call(dom, D.MakeAvailable)
    con.run()
    ev = k.events()
    into = ev[(ev["event"] == "deliver") & (ev["target"] == con.target(dom))]
    assert list(into["order"]) == [5]


def test_jump_to_itself_through_a_start_key_traps_0x300(k, con, new_domain, raw):
    """jresumec.c:96-101: the jumpee is the jumper (its root is preplocked): trap 0x300."""
    dom, root = new_domain("cf-call")
    con.call(dom, D.SwapKey + 0, kl.start_key(con, dom))
    con.fork(kl.start_key(con, dom), 1)
    con.run()
    assert con.key(con.call(root, N.Fetch + TRAPCODE).keys[0]) == kl.DK(0x300)


# ======================================================= a malformed jumpee
@pytest.mark.parametrize("order", [0, 1, KT])
def test_call_to_a_malformed_domain_answers_kt1(con, new_domain, order):
    """jresumec.c:123, 135-143: prepdom_malformed, not an implicit jump: ``jdata(key)`` —
    the jumper gets KT+1 and no keys. Departure in the string (docs/fidelity.md, Jumps to
    a malformed domain): the C release's are bytes of the prepared key (kernel
    addresses); the simulator's are those of DK(0)."""
    dom, _ = new_domain(keys_node=False)
    start = kl.start_key(con, dom)  # MakeStart does not prepare it
    r = con.call(start, order, con["dkc"])
    assert (r.rc, r.data) == (DATAKEY, bytes(16 if order == 1 else 6))
    assert keys(con, r) == [kl.DK0] * 4


def test_return_to_a_malformed_domain_answers_key_4(con, new_domain):
    """jresumec.c:142 → jdata → jsimple (primcomc.c:921-936): after a RETURN the answer
    goes to the resume key passed as key 4 (getreturnee)."""
    dom, _ = new_domain(keys_node=False)
    relay = kl.build_domain(con, "cf-return-to", keys={0: kl.start_key(con, dom)})
    r = con.call(kl.start_key(con, relay), 1)
    assert (r.rc, r.data) == (DATAKEY, bytes(16))


def test_resume_key_to_a_domain_made_malformed(con, new_domain):
    """jresumec.c:135-143 for a resume key too: KT+1, and the resume key is not spent
    (no zapresumes)."""
    dom, root = new_domain("echo")
    ret = con.call(dom, D.MakeReturnKey).keys[0]
    keys_node = con.call(root, N.Swap + 14).keys[0]  # DK(0) in slot 14: malformed
    assert con.call(ret, 5).rc == DATAKEY
    assert con.key(ret).type == RESUME
    con.call(root, N.Swap + 14, keys_node)
    assert con.call(ret, 5).rc == 5  # well formed again: delivered


def test_keeper_in_a_malformed_domain_parks_the_jumper(k, con, new_domain):
    """jresumec.c:137-140: an implicit jump (jumptype 0) to a malformed domain: the jumper
    goes on the junk queue (the simulator's parked)."""
    keeper, _ = new_domain(keys_node=False)
    dom, _ = new_domain("crasher")
    con.call(dom, D.SwapKeeper, kl.start_key(con, keeper))
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    ds = k.domains[con.target(dom)]
    assert ds.parked is not None and "malformed" in ds.parked


# ================================================================ resume keys
def test_return_key_delivers_and_kills_every_resume_key(con, new_domain, raw):
    """jresumec.c:161-198: a return key delivers the message (the order as rc); zapresumes
    (196, primcomc.c:97-128) kills every resume key to the domain."""
    dom, root = new_domain("echo")
    ret = con.call(dom, D.MakeReturnKey).keys[0]
    other = raw(con.key(ret)._replace(databyte=RESTART))
    r = con.call(ret, 7, data=b"r")
    assert (r.rc, r.data) == (7, b"r")
    assert con.key(ret) == kl.DK0 and con.key(other) == kl.DK0


def test_restart_key_discards_the_message(k, con, new_domain, raw):
    """jresumec.c:192 strangeResume (61-71): a restart key delivers nothing: the domain
    carries on (here, from the start of its program, with an empty message)."""
    dom, _ = new_domain("cf-record")
    fault = con.call(dom, D.MakeBusy).keys[0]
    restart = raw(con.key(fault)._replace(databyte=RESTART))
    con.fork(restart, 99, data=b"dropped")
    con.run()
    regs = struct.unpack(">16Q", con.call(dom, D.GetRegs).data)
    assert regs[0] == 0 and regs[1] == 1  # it ran, and got order 0
    assert k.domains[con.target(dom)].state == AVAILABLE


def test_fault_key_with_order_0_resumes(con, new_domain):
    """jresumec.c:192 strangeResume: a fault key delivers nothing; with order 0 the domain
    simply goes on (gatec.c:268-275 sets no trap code). (Its trap code is 0 here; a nonzero
    one would trap it again in C: docs/fidelity.md, The trap-code slot.)"""
    dom, root = new_domain("cf-record")
    fault = con.call(dom, D.MakeBusy).keys[0]
    con.fork(fault, 0)
    con.run()
    assert struct.unpack(">16Q", con.call(dom, D.GetRegs).data)[1] == 1
    assert con.key(con.call(root, N.Fetch + TRAPCODE).keys[0]) == kl.DK0


def test_fault_key_with_an_order_traps(con, new_domain):
    """gatec.c:268-275: the entry block wants no rc, the key is not a restart key and the
    order is not 0: trap code 0x100 and the order in the trap-code extension. Departure
    (docs/fidelity.md, Trap codes): the simulator makes the order itself the trap code."""
    dom, root = new_domain("cf-record")
    fault = con.call(dom, D.MakeBusy).keys[0]
    con.fork(fault, 0x1234)
    con.run()
    assert con.key(con.call(root, N.Fetch + TRAPCODE).keys[0]) == kl.DK(0x1234)


# ====================================================================== FORK
def test_fork_runs_the_jumpee_before_the_forker(k, con):
    """jresumec.c:307-310: ``handlejumper()`` puts the forker on the CPU queue
    (primcomc.c:281 ``rundom``) and ``startdom(jedib)`` runs the jumpee: its RETURN comes
    before the forker's next invocation."""
    target = kl.build_domain(con, "cf-record")
    forker = kl.build_domain(
        con, "cf-fork-then-call", keys={0: kl.start_key(con, target), 2: con["dkc"]}
    )
    con.fork(kl.start_key(con, forker), 3)
    before = len(k.log)
    con.run()
    ev = k.events().iloc[before:]
    rows = list(zip(ev["event"].astype(str), ev["jump"].astype(str), ev["actor"]))
    t, f = con.target(target), con.target(forker)
    assert rows.index(("invoke", "return", t)) < rows.index(("invoke", "call", f))


def test_fork_to_a_primary_key_runs_the_returnee_first(k, con):
    """primcomc.c:921-936 (jsimple, not a CALL): handlejumper (the forker onto the CPU
    queue), then getreturnee: ``startdom`` the domain the resume key in key 4 names
    (primcomc.c:256). It runs before the forker goes on."""
    forker = kl.build_domain(con, "cf-fork-then-call", keys={2: con["dkc"]})
    # The caller CALLs the forker; the forker FORKs the Discrim with the caller's resume
    # key as key 4 — cf-fork-then-call takes key 4 from register 1, so relay it there.
    relay = kl.build_domain(con, "cf-relay-resume", keys={0: kl.start_key(con, forker), 3: forker})
    con.call(forker, D.SwapKey + 0, con["discrim"])
    caller_dom = kl.build_domain(con, "cf-call", keys={0: kl.start_key(con, relay)})
    before = len(k.log)
    r = con.call(kl.start_key(con, caller_dom), KT)
    assert r.rc == kl.oc.Discrim.AKT
    con.run()  # the forker goes on: its CALL
    ev = k.events().iloc[before:]
    rows = list(zip(ev["event"].astype(str), ev["jump"].astype(str), ev["actor"]))
    c, f = con.target(caller_dom), con.target(forker)
    fork_at = rows.index(("invoke", "fork", f))
    assert rows.index(("invoke", "return", c), fork_at) < rows.index(("invoke", "call", f))


@kl.program("cf-relay-resume")
def relay_resume(dom, msg):
    """Put the caller's resume key in the forker's register 1 (through its domain key,
    register 3), then start it."""
    yield dom.call(dom.keys[3], D.SwapKey + 1, msg.resume)
    yield dom.fork(dom.keys[0], msg.order)


def test_console_fork_queues_in_order(k, con):
    """Departure (docs/fidelity.md, The console's FORK): the console's program is the
    Python code calling it, so it goes on after a FORK and what it forks waits at the
    back of the run queue, in order; a domain's FORK hands the CPU over (above)."""
    a, b = (kl.build_domain(con, "cf-record") for _ in range(2))
    con.fork(kl.start_key(con, a), 1)
    con.fork(kl.start_key(con, b), 2)
    before = len(k.log)
    con.run()
    ev = k.events().iloc[before:]
    delivered = ev[ev["event"] == "invoke"]["actor"].tolist()
    assert delivered.index(con.target(a)) < delivered.index(con.target(b))


# ====================================================== a CALL passing four keys
def test_call_with_four_keys_traps(k, con):
    """Departure (docs/fidelity.md, A CALL passing four keys): the C release replaces a
    CALL's fourth key with the resume key it makes (jresumec.c:298-303, primcomc.c:379-385);
    the simulator refuses the jump: the program traps."""
    dom = kl.build_domain(con, "cf-call-four", keys={0: con["dkc"]})
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    ds = k.domains[con.target(dom)]
    assert ds.parked is not None and "4 keys passed" in (ds.error or "")
