"""Red team: ways of changing state that the invariant machine of tests/test_history.py
does not take, each checked event by event against what was seen live.

Window keys and red format keys (data keys that address translation reads, so a
never-started domain's ``program`` changes with them, including Node WriteData
writing a data key over a data key), segment, SVC and meter keepers, a meter running
dry with no keeper and its refill, the console's step limit parking a runaway, FORK and
``run``, a program's exception, a VCS copy on write, factories, and KeyNIX fork/exec.
All held when written (nothing to fix): they add coverage."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: test_history

from test_history import WatchedLog, canon  # noqa: E402

import keykos_lab as kl  # noqa: E402
from keykos_lab.views.frames import objects as objects_frame  # noqa: E402
from keykos_lab.views.graph import capability_graph  # noqa: E402

oc = kl.oc


def watch(k: kl.Kernel, every: int = 1, frames: bool = True) -> dict[int, tuple]:
    """Capture the live graph (and objects frame) when row ``seq`` is written, for
    every ``every``-th seq: what ``capability_graph(at=seq)`` must give (the seq
    convention of test_history.watch_every_event)."""
    log = WatchedLog()
    log.extend_rows(b"".join(bytes(c) for c in k.log.chunks()))
    k.log = log
    seen: dict[int, tuple] = {}

    def capture() -> None:
        seq = len(log) - 1
        if seq % every == 0:
            frame = objects_frame(k) if frames else None
            seen[seq] = (canon(capability_graph(k)), frame)

    log.hook = capture
    return seen


def assert_exact(k: kl.Kernel, seen: dict[int, tuple]) -> None:
    assert seen
    for seq, (graph, frame) in sorted(seen.items()):
        assert canon(k.capability_graph(at=seq)) == graph, f"graph at event #{seq}"
        if frame is not None:
            pd.testing.assert_frame_equal(k.objects(at=seq), frame, obj=f"frame at #{seq}")


def test_windows_and_format_keys_name_a_never_started_domains_program():
    k = kl.Kernel()
    con = k.console
    seen = watch(k)

    def dk(value: int) -> kl.KeyHandle:
        return con.call(con["dkc"], oc.DKC.Create11, data=value.to_bytes(11, "big")).keys[0]

    def write_data(node, slot: int, value: int) -> None:  # a data key over a data key
        data = struct.pack(">II", slot, slot) + bytes(5) + value.to_bytes(11, "big")
        assert con.call(node, oc.Node.WriteData, data=data).rc == 0

    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 1, kl.image(con, "echo"))
    con.call(node, oc.Node.Swap + 2, kl.image(con, "counter"))
    con.call(node, oc.Node.Swap + 15, dk(kl.format_key_value(3, initial=14, background=2)))
    con.call(node, oc.Node.Swap + 0, dk(kl.window_key_value(slot=1)))
    seg = con.call(node, oc.Node.MakeSegmentKey, data=b"\0").keys[0]
    dom = kl.build_domain(con, None, memory=seg)  # never started: program from memory
    root = con.target(dom)
    programs = [k.capability_graph().nodes[root]["program"]]
    con.call(node, oc.Node.Swap + 0, dk(kl.window_key_value(slot=2)))  # local window
    programs.append(k.capability_graph().nodes[root]["program"])
    write_data(node, 0, kl.window_key_value(background=True))  # background window: 2
    write_data(node, 15, kl.format_key_value(3, initial=14, background=1))  # format: 1
    programs.append(k.capability_graph().nodes[root]["program"])
    write_data(node, 0, 5)  # a plain data key: a fault, no program
    programs.append(k.capability_graph().nodes[root]["program"])
    con.call(con["dkc"], 0)
    assert programs == ["echo", "counter", "echo", ""]
    assert_exact(k, seen)


def test_keepers_meters_limits_forks_and_crashes():
    k = kl.Kernel()
    con = k.console
    con.time_limit = None  # a graph per event is slow, not a runaway
    bank = con["bank"]
    seen = watch(k, every=5)
    keeper = kl.start_key(con, kl.build_domain(con, "svc_keeper"))
    user = kl.start_key(con, kl.build_domain(con, "svc_user", keeper=keeper))
    assert con.call(user, 0, data=b"abc").rc == 1003
    pager = kl.start_key(con, kl.build_domain(con, "pager", keys={0: bank}))
    seg = kl.build_red_segment(con, [kl.image(con, "counter")], keeper=pager)
    counter = kl.start_key(con, kl.build_domain(con, "counter", memory=seg.key))
    con.call(counter, 0)  # page 1 faults to the pager, which buys it
    dry = kl.build_meter(con, 40)
    spinner = kl.build_domain(con, "spinner", meter=dry.key)
    con.fork(kl.start_key(con, spinner))
    con.run()
    assert (k.objects()["parked"].str.contains("dry")).any()
    ticks = con.call(con["dkc"], 0, data=(60).to_bytes(6, "big")).keys[0]
    con.call(dry.node, oc.Node.Swap + 3, ticks)  # refilled: it runs again, then dries
    con.run(max_steps=20)
    con.step_limit = 25
    with pytest.raises(kl.StepLimitExceeded):
        con.call(kl.start_key(con, kl.build_domain(con, "spinner")))
    con.step_limit = 10**6
    con.fork(kl.start_key(con, kl.build_domain(con, "crasher")))
    con.run(max_steps=20)
    con.call(con["dkc"], 0)
    assert_exact(k, seen)


def test_a_vcs_copy_on_write():
    from keykos_lab.scenarios.cow import _original

    k = kl.Kernel()
    con = k.console
    con.time_limit = None
    original, _ = _original(con, 2)  # page_toucher's image, then two data pages
    seen = watch(k, every=2, frames=False)
    vcsf = kl.build_vcsf(con, original)
    memory = kl.build_vcs(con, vcsf=vcsf).segment
    dom = kl.build_domain(con, memory=memory)
    assert con.call(kl.start_key(con, dom), 2).rc == 0  # writes both: two copies
    assert_exact(k, seen)


def test_a_factory_yield_that_destroys_itself():
    from keykos_lab.scenarios import tso_setuid

    k = kl.Kernel()
    k.console.time_limit = None
    seen = watch(k, every=7, frames=False)
    tso_setuid(k)
    assert_exact(k, seen)


@pytest.mark.parametrize("mode", ["copy", "cow"])
def test_keynix_fork_and_exec(mode):
    from keykos_lab.scenarios.keynix import PRIMITIVES, SECRET

    k = kl.Kernel()
    k.console.time_limit = None
    seen = watch(k, every=61, frames=False)
    knx = kl.KeyNIX(k, fork=mode)
    knx.write_file("/home/secret", SECRET)
    knx.spawn("/bin/probe", ["probe", PRIMITIVES["fork"], "/home/secret"])
    knx.run()
    for _ in range(2):
        knx.type("go\n")
        knx.run()
    assert len(seen) > 50
    assert_exact(k, seen)
