"""The kernel's fast paths (``Kernel._run``, ``keykos_lab.kernel.fastpath``)
agree with the general path: the same workloads run with the fast paths switched
off (their dispatch tables emptied) leave the same event log, the same objects
and the same domain states.

The workloads cover every fast path — primary CALLs on page, node, fetch, sense,
meter and misc keys, with and without keys and strings; CALL through a start
key; RETURN through a resume key — and the cases they must hand to the general
path: dead keys, a busy server (stall), forged keys that equal held ones,
strings too long, four keys, a dry CPU allowance.
"""

import pytest

import keykos_lab as kl
from keykos_lab.kernel import core
from keykos_lab.kernel.keys import Key

oc = kl.oc
RC = oc.RC


@kl.program("tf-echo")
def echo(dom, msg):
    """``echo`` of keykos_lab.programs.examples, under a name of this file's own."""
    yield dom.return_(msg.resume, rc=msg.order, data=msg.data, keys=msg.keys[:3])


@kl.program("tf-worker")
def worker(dom, msg):
    """Many kinds of jump on the keys in its registers: 0 page, 1 node, 2 echo
    start key, 3 dead page, 4 discrim, 5 dkc, 6 returner, 7 meter."""
    page, node, echo, dead = dom.keys[0], dom.keys[1], dom.keys[2], dom.keys[3]
    discrim, dkc, returner, meter = dom.keys[4], dom.keys[5], dom.keys[6], dom.keys[7]
    for i in range(msg.order):
        yield dom.call(page, oc.Page.TestForZeroes)
        yield dom.call(page, oc.Page.WriteData + i, data=bytes([i & 0xFF, 1]))
        r = yield dom.call(page, oc.Page.ReadData, data=(4).to_bytes(4, "big"))
        yield dom.call(node, oc.Node.Swap + (i % 16), page)
        fetched = (yield dom.call(node, i % 16)).keys[0]
        sense = (yield dom.call(node, oc.Node.MakeSenseKey)).keys[0]
        yield dom.call(sense, i % 16)
        fetch = (yield dom.call(node, oc.Node.MakeFetchKey)).keys[0]
        yield dom.call(fetch, oc.KT)
        yield dom.call(meter, oc.KT)
        yield dom.call(discrim, 0, fetched, node)
        yield dom.call(dkc, 0, data=r.data[:4])
        yield dom.call(returner, i, page, data=b"x")
        yield dom.call(dead, oc.Page.TestForZeroes)  # dead: general path
        yield dom.call(echo, i, page, fetched, data=b"ping" * i)  # start key
        yield dom.call(echo, i, data=bytes(4096))  # 2 ticks
    if msg.databyte == 1:
        yield dom.call(echo, 0, data=bytes(4097))  # too long: trap
    yield dom.return_(msg.resume, rc=msg.order)


@kl.program("tf-forger")
def forger(dom, msg):
    """Invokes keys equal to held ones but not genuine (a float field): a bad key."""
    page = dom.keys[0]
    yield dom.call(page, oc.Page.TestForZeroes)
    yield dom.call(Key(page.type, page.obj, page.databyte, float(page.alloc)), 41)


@kl.program("tf-four")
def four(dom, msg):
    """RETURNs with four keys (the general path) after a CALL with three."""
    r = yield dom.call(dom.keys[0], 1, msg.keys[0], msg.keys[1], msg.keys[2])
    yield dom.return_(msg.resume, r.rc, *r.keys[:3], msg.keys[0])


def _build(k):
    con = k.console
    bank = con["bank"]
    page = con.call(bank, oc.SB.CreatePage).keys[0]
    node = con.call(bank, oc.SB.CreateNode).keys[0]
    dead = con.call(bank, oc.SB.CreatePage).keys[0]
    con.call(bank, oc.SB.DestroyPage, dead)
    echo = kl.start_key(con, kl.build_domain(con, "tf-echo"))
    keys = {
        0: page,
        1: node,
        2: echo,
        3: dead,
        4: con["discrim"],
        5: con["dkc"],
        6: con["returner"],
        7: con["meter"],
    }
    workers = [kl.start_key(con, kl.build_domain(con, "tf-worker", keys=keys)) for _ in range(3)]
    return con, page, echo, workers


def _workload(k):
    con, page, echo, workers = _build(k)
    for w in workers:  # three at once: the echo server is often busy
        con.fork(w, 20)
    con.run()
    con.call(workers[0], 40)
    forger = kl.start_key(con, kl.build_domain(con, "tf-forger", keys={0: page}))
    con.fork(forger, 0)
    con.run()
    four = kl.start_key(con, kl.build_domain(con, "tf-four", keys={0: echo}))
    con.call(four, 0, page, con["dkc"], echo)
    con.fork(kl.start_key(con, kl.build_domain(con, "tf-worker"), databyte=1), 1)
    con.run()


def _tiny_meter_workload(k):
    """A worker under a meter with little CPU: the allowance runs dry mid-quantum."""
    con, _, _, workers = _build(k)
    con.call(
        con["meter_service"],
        oc.Node.Swap + 3,
        con.call(con["dkc"], 0, data=(3000).to_bytes(6, "big")).keys[0],
    )
    con.fork(workers[0], 30)
    con.run()


def _state(k):
    k.settle_meters()
    objects = [
        (o.id, o.alloc, tuple(o.slots) if o.kind == "node" else bytes(o.data) if o.data else None)
        for o in k.store.live()
    ]
    domains = [
        (
            root,
            ds.state,
            ds.program,
            ds.resume_alloc,
            ds.parked,
            ds.error,
            sorted(map(tuple, set(ds.held))),
            len(ds.stall),
        )
        for root, ds in sorted(k.domains.items())
    ]
    return list(k.log.rows()), k.tick, k.store.next_alloc, objects, domains


def _general_only(monkeypatch):
    monkeypatch.setattr(core, "PRIMARY_CALLS", {})
    monkeypatch.setattr(core, "GATES", {})


@pytest.mark.parametrize("workload", [_workload, _tiny_meter_workload])
@pytest.mark.parametrize("seed", [None, 1, 7])
def test_fast_and_general_paths_agree(monkeypatch, workload, seed):
    fast = kl.Kernel(seed=seed)
    workload(fast)
    _general_only(monkeypatch)
    general = kl.Kernel(seed=seed)
    workload(general)
    assert _state(fast) == _state(general)


def test_the_fast_paths_are_taken(monkeypatch):
    """The workload goes through the fast paths (the comparison above is not vacuous)."""
    from keykos_lab.kernel import fastpath

    taken = {"primary": 0, "call_start": 0, "return_resume": 0}
    handlers = {t: _counting(fn, taken, "primary") for t, fn in core.PRIMARY_CALLS.items()}
    gates = {kt: _counting(fn, taken, fn.__name__) for kt, fn in fastpath.GATES.items()}
    monkeypatch.setattr(core, "PRIMARY_CALLS", handlers)
    monkeypatch.setattr(core, "GATES", gates)
    _workload(kl.Kernel())
    assert all(n > 20 for n in taken.values()), taken


def _counting(fn, counts, name):
    def counted(*args):
        counts[name] += 1
        return fn(*args)

    return counted


def test_a_forged_key_equal_to_a_held_one_is_a_bad_key(con):
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    dom = kl.build_domain(con, "tf-forger", keys={0: page})
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    ds = con.kernel.domains[con.target(dom)]
    assert ds.parked is not None and "is not a key" in ds.error  # trapped (BADKEY)
