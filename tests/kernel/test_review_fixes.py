"""Regressions for defects found by this session's reviews (each test fails without its fix)."""

from __future__ import annotations

import keykos_lab as kl
from keykos_lab import oc


@kl.program("rf-big-writer")
def big_writer(dom, msg):
    """Writes 300 KiB at once: 301 ticks, more than a quantum of borrowed CPU (the charge
    comes before the write, which then faults past the segment's two pages)."""
    yield dom.write(4096, bytes(300 * 1024))


def test_an_op_costing_more_than_a_quantum_never_leaves_borrowed_cpu_negative():
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    seg = kl.build_segment(con, [kl.image(con, "rf-big-writer"), page])
    dom = kl.build_domain(con, memory=seg)
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    ds = k.domains[con.target(dom)]
    assert ds.error and "memory fault" in ds.error  # it ran, was charged, faulted
    assert all(d.cpu >= 0 for d in k.domains.values())
    k.settle_meters()  # a negative remainder would make a negative counter
    assert con.call(con["meter_service"], oc.Node.Fetch + 3).rc == 0


def test_a_stalled_keeper_call_logs_its_keys_not_its_string_bytes():
    """A trap whose keeper is busy stalls: the row counts the keys passed (3 at most)."""
    k = kl.Kernel()
    con = k.console
    keeper = kl.build_domain(con, "echo")
    con.call(keeper, oc.Domain.MakeBusy)  # busy: calls to it stall
    dom = kl.build_domain(con, "crasher", keeper=kl.start_key(con, keeper), keys={15: con["dkc"]})
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    ev = k.events()
    stalls = ev[(ev["event"] == "stall") & (ev["jump"] == "implicit")]
    assert len(stalls) >= 1 and stalls["n_keys"].between(0, 4).all()


class _SetInOrder(set):
    """A set that iterates in the order given (a set of domain states iterates by address,
    which differs from run to run)."""

    def __init__(self, items):
        self.order = list(items)
        super().__init__(self.order)

    def __iter__(self):
        return iter(self.order)


def test_settling_meters_writes_the_same_history_whatever_the_set_order():
    """Borrowed CPU goes back to the meters in root order: each slot write is a history
    row, so an address-ordered settle made saved files differ between runs (found by the
    byte-identical checkpoint test in CI)."""
    rows = []
    for backwards in (False, True):
        k = kl.Kernel(history=True)
        con = k.console
        doms = [kl.build_domain(con, "echo") for _ in range(3)]
        for dom in doms:
            con.call(kl.start_key(con, dom), 0)
        states = sorted(k._borrowers, key=lambda ds: ds.root)
        assert len(states) >= 2 and len({ds.root for ds in states}) == len(states)
        k._borrowers = _SetInOrder(states[::-1] if backwards else states)
        before = len(k.history.changes)
        k.settle_meters()
        rows.append(k.history.changes[before:])
    assert rows[0] and rows[0] == rows[1]
