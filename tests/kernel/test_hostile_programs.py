"""Runaway and hostile programs: a loop is stopped by its meter, a fork bomb by its bank's
limits, an exception traps to the domain keeper like a fault; none of them hangs the
console or touches another domain."""

from __future__ import annotations

import struct

import programs_for_tests  # noqa: F401  (registers the t-* programs)
import pytest

import keykos_lab as kl
from keykos_lab.kernel.domains import AVAILABLE, WAITING
from keykos_lab.kernel.oc import Trap
from keykos_lab.programs.primordial.dc import DC, DCC
from keykos_lab.programs.primordial.spacebank import SB, UNLIMITED

oc = kl.oc


def small_meter(con, ticks: int, keeper=None):
    """A meter key to a fresh meter under the user meter with ``ticks``."""
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 1, con["meter"])
    dk = con.call(con["dkc"], oc.DKC.Create11, data=ticks.to_bytes(11, "big")).keys[0]
    con.call(node, oc.Node.Swap + 3, dk)
    if keeper is not None:
        con.call(node, oc.Node.Swap + 2, keeper)
    return con.call(node, oc.Node.MakeMeterKey).keys[0], node


def bystander(con):
    """An echo domain and a page with known contents: nothing hostile may touch them."""
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.call(page, oc.Page.WriteData, data=b"untouched")
    return echo, page


def bystander_intact(con, echo, page):
    assert con.call(echo, 77, data=b"still here").rc == 77
    assert con.call(page, oc.Page.ReadData, data=(9).to_bytes(4, "big")).data == b"untouched"
    assert con.call(con["bank"], oc.SB.CreatePage).rc == 0  # the prime bank still serves


def test_endless_loop_is_stopped_by_its_meter(k, con):
    echo, page = bystander(con)
    meter, node = small_meter(con, 2_000)
    spinner = kl.build_domain(con, "spinner", meter=meter)
    with pytest.raises(kl.Deadlock, match=r"meter #\d+ is dry"):
        con.call(kl.start_key(con, spinner), 0)
    ds = k.domains[con.target(spinner)]
    assert ds.state == WAITING and ds.parked.startswith("stopped")
    ticks = con.call(node, oc.Node.Fetch + 3).keys[0].key.obj
    assert ticks < 1 + 0x100  # spent, bar what it had not borrowed
    bystander_intact(con, echo, page)
    con.call(spinner, oc.Domain.MakeAvailable)  # its owner stops it for good
    assert ds.state == AVAILABLE and ds.proc is None


def test_endless_loop_with_a_refilling_keeper_hits_the_console_step_limit(k, con):
    echo, page = bystander(con)
    refiller = kl.build_domain(con, "refiller", keys={0: con["dkc"]})
    meter, _ = small_meter(con, 500, keeper=kl.start_key(con, refiller))
    spinner = kl.build_domain(con, "spinner", meter=meter)
    con.step_limit = 2_000
    with pytest.raises(kl.StepLimitExceeded, match="no reply after 2000"):
        con.call(kl.start_key(con, spinner), 0)
    assert k.domains[con.target(refiller)].program == "refiller"
    con.call(spinner, oc.Domain.MakeAvailable)
    bystander_intact(con, echo, page)


def test_fork_bomb_is_stopped_by_its_banks_limits(k, con):
    echo, page = bystander(con)
    limit = 31
    sub = con.call(con["bank"], SB.CreateBank).keys[0]
    delta = (limit - UNLIMITED).to_bytes(8, "big", signed=True)
    assert con.call(sub, SB.ChangeNodeLimit, data=delta).rc == 0
    dc = con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]).keys[0]
    meter, _ = small_meter(con, 10**7)
    image = kl.image(con, "t-forkbomb")
    domains_before = len(k.domains)
    bomb = kl.build_domain(con, "t-forkbomb", meter=meter, keys={0: dc, 1: sub, 2: meter, 3: image})
    made = con.call(kl.start_key(con, bomb), 0).rc
    con.run()  # every child runs until told no
    assert 1 <= made <= limit // 3
    creates, destroys = struct.unpack(">II", con.call(sub, SB.QueryNodeStatistics).data)
    used = creates - destroys  # sbc.ck:575-577
    assert used <= limit
    bombs = [ds for ds in k.domains.values() if ds.program == "t-forkbomb"]
    assert len(bombs) == 1 + used // 3 and len(bombs) <= 1 + limit // 3
    assert all(ds.state == AVAILABLE for ds in bombs)  # each got "no space" and finished
    assert len(k.domains) <= domains_before + 2 + limit // 3
    assert con.call(dc, DC.CreateDomain, sub).rc == 2  # the bank still says no
    bystander_intact(con, echo, page)


@pytest.mark.parametrize(
    "name",
    ["ValueError", "KeyError", "RecursionError", "MemoryError", "StopIteration", "AttributeError"],
)
def test_python_exception_traps_to_the_domain_keeper(k, con, name):
    echo, page = bystander(con)
    logger = kl.build_domain(con, "t-trap-logger")
    dom = kl.build_domain(con, "t-raiser", keeper=kl.start_key(con, logger), keys={15: con["dkc"]})
    con.fork(kl.start_key(con, dom), 0, data=name.encode())
    con.run()
    regs = con.call(logger, oc.Domain.GetRegs).data
    count, code = int.from_bytes(regs[:8], "big"), int.from_bytes(regs[8:16], "big")
    assert count == 1 and code == Trap.EXCEPTION
    ds = k.domains[con.target(dom)]
    want = "RuntimeError" if name == "StopIteration" else name  # PEP 479
    assert ds.error.startswith(want) and ds.proc is None and ds.state == WAITING
    bystander_intact(con, echo, page)


@pytest.mark.parametrize(
    "program, code",
    [
        ("t-raise-at-start", Trap.ILLEGAL),
        ("t-not-a-generator", Trap.ILLEGAL),
        ("t-deep-recursion", Trap.EXCEPTION),
        ("t-garbage", Trap.BADJUMP),
        ("t-forger", Trap.BADKEY),
    ],
)
def test_broken_programs_trap_like_faults(k, con, program, code):
    echo, page = bystander(con)
    logger = kl.build_domain(con, "t-trap-logger")
    dom = kl.build_domain(con, program, keeper=kl.start_key(con, logger), keys={15: con["dkc"]})
    con.fork(kl.start_key(con, dom), 0)
    con.run()
    regs = con.call(logger, oc.Domain.GetRegs).data
    assert int.from_bytes(regs[8:16], "big") == code
    bystander_intact(con, echo, page)


@pytest.mark.parametrize("fn", [lambda dom, msg: 42, print, len])
def test_registering_a_function_that_is_not_a_generator_is_refused(fn):
    with pytest.raises(TypeError, match="must be a generator function"):
        kl.program("t-refused")(fn)
    assert "t-refused" not in kl.kernel.PROGRAMS


def test_exception_without_keeper_parks_and_the_console_goes_on(k, con):
    echo, page = bystander(con)
    dom = kl.build_domain(con, "crasher", keys={15: con["dkc"]})
    with pytest.raises(kl.Deadlock, match=r"ZeroDivisionError"):
        con.call(kl.start_key(con, dom), 0)
    bystander_intact(con, echo, page)
    con.call(dom, oc.Domain.MakeAvailable)
    assert k.domains[con.target(dom)].state == AVAILABLE


def test_hog_is_bounded_by_meter_and_kernel_limits(k, con):
    echo, page = bystander(con)
    meter, _ = small_meter(con, 5_000)
    hog = kl.build_domain(con, "t-hog", meter=meter, keys={15: con["dkc"]})
    con.fork(kl.start_key(con, hog), 0)
    steps = con.run(max_steps=10_000)
    assert steps < 10_000  # it stopped (a trap or its meter)
    assert k.domains[con.target(hog)].state == WAITING
    bystander_intact(con, echo, page)


def test_hostile_domains_do_not_block_a_checkpoint_once_stopped(k, con, tmp_path):
    meter, _ = small_meter(con, 1_000)
    spinner = kl.build_domain(con, "spinner", meter=meter)
    con.fork(kl.start_key(con, spinner), 0)
    con.run()
    # Mid-flight: a checkpoint by replay, which re-runs the spinner to the same point.
    assert k.checkpoint(tmp_path / "mid.ckpt")["version"] == 3
    assert kl.Kernel.restore(tmp_path / "mid.ckpt").events().equals(k.events())
    con.call(spinner, oc.Domain.MakeAvailable)
    assert k.checkpoint(tmp_path / "k.ckpt")["version"] == 2
    assert kl.Kernel.restore(tmp_path / "k.ckpt").events().equals(k.events())
