"""The CPU goes with the message: a jump through a gate hands the rest of the
quantum to the domain it reaches (``jresume`` → ``startdom(jumpee)`` in the C
release), and the quantum still bounds how long a chain of domains may run
before the others get a turn.
"""

import keykos_lab as kl
from keykos_lab.kernel.core import QUANTUM_OPS

oc = kl.oc


@kl.program("ts-caller")
def caller(dom, msg):
    """CALL the start key in key register 0 once, then end."""
    yield dom.call(dom.keys[0], msg.order)


@kl.program("ts-ping")
def ping(dom, msg):
    """CALL the start key in key register 0 for ever (a ping-pong with an echo)."""
    server = dom.keys[0]
    while True:
        yield dom.call(server, 1)


@kl.program("ts-once")
def once(dom, msg):
    """One primary call, then end: proof that this domain got a turn."""
    yield dom.call(dom.keys[0], oc.KT)


def _events(k):
    ev = k.events()
    return list(zip(ev["event"].astype(str), ev["jump"].astype(str), ev["actor"]))


def test_the_callee_runs_before_other_ready_domains(k, con):
    """Two callers are ready; the first one's CALL runs the echo at once, so the
    second finds it available: no stall. (Queued behind the second caller, the echo
    would still be running when the second CALLs it, and the second would stall.)"""
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    callers = [kl.build_domain(con, "ts-caller", keys={0: echo}) for _ in range(2)]
    before = len(k.log)
    for c in callers:
        con.fork(kl.start_key(con, c), 5)
    con.run()
    rows = _events(k)[before:]
    server, first, second = con.target(echo), con.target(callers[0]), con.target(callers[1])
    assert ("stall", "call", second) not in rows
    jumps = [
        (e, a) for e, j, a in rows if e in ("invoke", "deliver") and j != "fork" and a != con.root
    ]
    assert jumps[:6] == [
        ("invoke", first),
        ("deliver", server),  # first CALLs the echo,
        ("invoke", server),
        ("deliver", first),  # which answers at once;
        ("invoke", second),
        ("deliver", server),
    ]  # then the second CALLs


def test_a_step_is_one_quantum_across_the_switches(k, con):
    """A CALL chain runs inside one scheduler step: building a factory and asking
    it for a yield takes a handful of steps, where every switch used to be one."""
    steps = []
    step = k._step  # the console's own stepping (k.step is the journaled door from outside)

    def counted():
        steps.append(1)
        return step()

    k._step = counted
    factory = kl.build_factory(con, "echo")
    assert con.call(factory.requestor, 7, con["bank"], con["meter"]).rc == 7
    assert 0 < len(steps) < 30, len(steps)


def test_a_ping_pong_pair_does_not_starve_the_others(k, con):
    """Two domains that CALL and RETURN for ever hand the CPU to each other, but the
    quantum ends and the jumpee waits at the back of the queue: a third domain runs."""
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    pinger = kl.start_key(con, kl.build_domain(con, "ts-ping", keys={0: echo}))
    bystander = kl.build_domain(con, "ts-once", keys={0: con["discrim"]})
    con.fork(pinger, 0)
    con.fork(kl.start_key(con, bystander), 0)
    before = len(k.log)
    steps = con.run(max_steps=3)
    assert steps == 3
    rows = _events(k)[before:]
    assert ("invoke", "call", con.target(bystander)) in rows
    # The first step was the pair's quantum. Each round trip spends four of its 64 ops:
    # the CALL, the switch to the echo, the RETURN, the switch back. (Were switches
    # free, a chain of keeper traps could switch for ever inside one step.)
    first_bystander = rows.index(("invoke", "call", con.target(bystander)))
    pair_invocations = sum(1 for e, _, _ in rows[:first_bystander] if e == "invoke")
    assert pair_invocations == 2 * (QUANTUM_OPS // 4)
