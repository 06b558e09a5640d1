"""Checkpoints at any moment (issue 19): by replay mid-flight, checked event by event;
never a silent divergence; periodic checkpoints that survive a crash at every stage."""

from __future__ import annotations

import json
import os
import signal

import pytest

import keykos_lab as kl
from keykos_lab.kernel import checkpoint as ckpt
from keykos_lab.kernel.checkpoint.format import _digest
from keykos_lab.kernel.checkpoint.load import _read
from keykos_lab.kernel.checkpoint.replay import rows_bytes
from keykos_lab.kernel.journal import REBASE_EVERY

oc = kl.oc


def H(kernel: kl.Kernel, handle: kl.KeyHandle) -> kl.KeyHandle:
    """The same ring slot in another (restored) kernel's console."""
    return kl.KeyHandle(kernel.console, handle.index)


SPINNERS: dict = {}  # kernel -> the spinner build_domain gave


def spinning(seed=None, budget=500):
    """A kernel with a spinner stopped by its small meter inside its handler."""
    k = kl.Kernel(seed=seed)
    con = k.console
    meter = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(meter, oc.Node.Swap + 1, con["meter"])
    ticks = con.call(con["dkc"], 0, data=budget.to_bytes(6, "big")).keys[0]
    con.call(meter, oc.Node.Swap + 3, ticks)
    spinner = kl.build_domain(con, "spinner", meter=con.call(meter, oc.Node.MakeMeterKey).keys[0])
    con.fork(kl.start_key(con, spinner))
    con.run()
    assert ckpt.busy_domains(k), "the spinner should be mid-flight"
    SPINNERS[k] = spinner
    return k, meter


def refill(k, meter, budget=300):
    con = k.console
    ticks = con.call(con["dkc"], 0, data=budget.to_bytes(6, "big")).keys[0]
    con.call(meter, oc.Node.Swap + 3, ticks)
    con.run(max_steps=50)


def rewrite(path, change):
    """Apply ``change`` to a checkpoint's body and fix its length and checksum, as a
    stranger who knows the format would."""
    header, blob = _read(path)
    body = json.loads(blob)
    change(body)
    blob = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    header["length"] = len(blob)
    header["sha256"] = _digest(header, blob)
    path.write_bytes(json.dumps(header, sort_keys=True).encode() + b"\n" + blob)


@pytest.mark.parametrize("seed", [None, 7])
def test_mid_flight_restores_and_continues_event_for_event(tmp_path, seed):
    k, meter = spinning(seed)
    path = tmp_path / "k.ckpt"
    header = k.checkpoint(path)
    assert header["version"] == ckpt.REPLAY_VERSION
    r = kl.Kernel.restore(path)
    assert r.events().equals(k.events())
    assert ckpt.busy_domains(r) == ckpt.busy_domains(k)
    refill(k, meter)
    refill(r, H(r, meter))
    assert r.events().equals(k.events())  # they go on the same way
    # The restored kernel carries the journal: a checkpoint of it mid-flight restores too.
    r2 = kl.Kernel.restore(r.checkpoint(tmp_path / "again.ckpt") and tmp_path / "again.ckpt")
    assert r2.events().equals(k.events())


def test_a_keynix_session_with_cat_waiting_survives(tmp_path):
    knx = kl.KeyNIX()
    k = knx.kernel
    knx.spawn("/bin/sh", ["sh", "-c", "cat | cat"])
    knx.run()
    knx.type("first line\n")
    knx.run()
    assert ckpt.busy_domains(k)
    k.checkpoint(tmp_path / "knx.ckpt")
    r = kl.Kernel.restore(tmp_path / "knx.ckpt")
    assert r.events().equals(k.events())
    # The same typing on both goes through the same pipeline, event for event.
    for kern in (k, r):
        con = kern.console
        admin = H(kern, knx.admin)
        from keykos_lab.programs.keynix import abi
        from keykos_lab.programs.keynix.admin import A_TYPE

        con.call(admin, A_TYPE, data=abi.pack(payload=b"second line\n"))
        con.run()
    assert r.events().equals(k.events())
    assert b"second line" in knx.tty()


def test_a_time_limit_is_replayed_at_the_same_step(tmp_path):
    """A console call the wall clock ended (TimeLimitExceeded) is replayed so that it
    ends after the same number of scheduler steps."""
    k, meter = spinning()
    con = k.console
    con.call(kl.start_key(con, kl.build_domain(con, "echo")), 1)
    spinner2 = kl.build_domain(con, "spinner")
    con.time_limit = 0.05
    with pytest.raises(kl.TimeLimitExceeded):
        con.call(kl.start_key(con, spinner2), 0)
    con.time_limit = 5.0
    assert con.journal.inputs[-1][6][0] == "TimeLimitExceeded"
    path = tmp_path / "t.ckpt"
    k.checkpoint(path)
    r = kl.Kernel.restore(path)
    assert r.events().equals(k.events())


def test_an_interrupt_makes_the_inputs_unreplayable_until_quiescence(tmp_path):
    k, meter = spinning()
    k.console.journal.broken = "an interrupt (Ctrl-C) stopped a domain part way"
    with pytest.raises(kl.CheckpointError, match="interrupt.*cannot be replayed"):
        k.checkpoint(tmp_path / "k.ckpt")
    assert not os.listdir(tmp_path)
    con = k.console
    con.call(SPINNERS.pop(k), oc.Domain.MakeAvailable)
    assert k.checkpoint(tmp_path / "k.ckpt")["version"] == ckpt.SNAPSHOT_VERSION
    assert k.console.journal.broken is None


def test_a_real_interrupt_inside_a_handler_breaks_the_journal():
    @kl.program("t-ctrl-c")
    def ctrl_c(dom, msg):
        raise KeyboardInterrupt
        yield

    k = kl.Kernel()
    con = k.console
    with pytest.raises(KeyboardInterrupt):
        con.call(kl.start_key(con, kl.build_domain(con, "t-ctrl-c")), 0)
    assert k.console.journal.broken is not None


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda b: b["inputs"][-1].__setitem__(2, b["inputs"][-1][2] + 1), "diverged"),
        (lambda b: b["expect"].__setitem__("objects", "0" * 64), "diverged.*objects"),
        (lambda b: b["expect"].__setitem__("tick", b["expect"]["tick"] + 1), "diverged.*tick"),
        (lambda b: b["inputs"].pop(), "diverged"),
        (lambda b: b["inputs"][0].__setitem__(0, "exec"), "invalid checkpoint: input 0"),
        (lambda b: b["inputs"][0].__setitem__(1, -1), "invalid checkpoint"),
        (lambda b: b["inputs"].append(["hold", [1, 10**9, 0, 1], 5]), "invalid checkpoint"),
        (lambda b: b.__setitem__("base_rows", 10**12), "invalid checkpoint: base_rows"),
        (
            lambda b: b.__setitem__("base", {"genesis": {"class": "os.system", "seed": 0}}),
            "os.system",
        ),
        (lambda b: b.__setitem__("base", {"other": 1}), "genesis"),
        (lambda b: b.pop("expect"), "exactly the records"),
    ],
)
def test_a_replay_that_does_not_match_the_recording_is_refused(tmp_path, tamper, message):
    k, _ = spinning()
    con = k.console
    con.call(con["dkc"], 0, data=b"\0\0\0\0\0\x05")
    path = tmp_path / "k.ckpt"
    k.checkpoint(path)
    rewrite(path, tamper)
    with pytest.raises(kl.CheckpointError, match=message):
        kl.Kernel.restore(path)


def test_a_changed_program_is_a_divergence_not_a_silent_restore(tmp_path):
    state = {"step": 1}

    @kl.program("t-ckpt-mood")
    def mood(dom, msg):
        yield dom.call(dom.keys[15], 0)  # waits for ever on DK(0)? no: returns at once
        yield dom.return_(msg.resume, rc=state["step"])

    k, _ = spinning()
    con = k.console
    moody = kl.start_key(con, kl.build_domain(con, "t-ckpt-mood"))
    assert con.call(moody, 0).rc == 1
    k.checkpoint(tmp_path / "k.ckpt")
    state["step"] = 2  # the program behaves otherwise now
    with pytest.raises(kl.CheckpointError, match="diverged"):
        kl.Kernel.restore(tmp_path / "k.ckpt")


def test_the_replay_budget_bounds_a_restore(tmp_path):
    k, meter = spinning()
    for _ in range(30):
        k.console.call(k.console["dkc"], 0)
    k.checkpoint(tmp_path / "k.ckpt")
    with pytest.raises(kl.CheckpointError, match="replay_seconds"):
        kl.Kernel.restore(tmp_path / "k.ckpt", replay_seconds=1e-9)


def test_a_genesis_replay_needs_its_own_class(tmp_path):
    k, _ = spinning()
    k.checkpoint(tmp_path / "k.ckpt")
    with pytest.raises(kl.CheckpointError, match="restore it with that class"):
        ckpt.load(tmp_path / "k.ckpt")  # the bare kernel class, not kl.Kernel


def test_the_journal_moves_its_base_to_a_quiescent_state(tmp_path):
    k = kl.Kernel()
    con = k.console
    for i in range(REBASE_EVERY + 5):
        con.call(con["dkc"], 0, data=i.to_bytes(6, "big"))
    j = con.journal
    assert j.base is not None and len(j.inputs) < REBASE_EVERY
    meter = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(meter, oc.Node.Swap + 1, con["meter"])
    con.call(
        meter, oc.Node.Swap + 3, con.call(con["dkc"], 0, data=(400).to_bytes(6, "big")).keys[0]
    )
    spinner = kl.build_domain(con, "spinner", meter=con.call(meter, oc.Node.MakeMeterKey).keys[0])
    con.fork(kl.start_key(con, spinner))
    con.run()
    header = k.checkpoint(tmp_path / "k.ckpt")
    assert header["replay"]["base"] == "snapshot"
    r = kl.Kernel.restore(tmp_path / "k.ckpt")
    assert r.events().equals(k.events())
    refill(k, meter)
    refill(r, H(r, meter))
    assert r.events().equals(k.events())


def test_names_labels_steps_and_stops_from_outside_are_replayed(tmp_path):
    k, meter = spinning()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.name("diary", page, label=False)
    con.label(page, "my diary")
    echo = kl.build_domain(con, "echo")
    con.fork(kl.start_key(con, echo), 3)
    while k.step():
        pass
    victim = k.domains[con.target(echo)]
    k.stop(victim, "stopped from outside")
    k.checkpoint(tmp_path / "k.ckpt")
    r = kl.Kernel.restore(tmp_path / "k.ckpt")
    assert r.events().equals(k.events())
    assert r.store.labels == k.store.labels and r.console.names() == k.console.names()
    assert r.domains[con.target(echo)].parked == "stopped from outside"


# ------------------------------------------------------------ periodic checkpoints
def _workload(k, meter, rounds):
    con = k.console
    for i in range(rounds):
        con.call(con["dkc"], 0, data=i.to_bytes(6, "big"))
        if i % 3 == 0:
            con.call(
                meter,
                oc.Node.Swap + 3,
                con.call(con["dkc"], 0, data=(60).to_bytes(6, "big")).keys[0],
            )
            con.run(max_steps=5)


def test_periodic_checkpoints_keep_the_newest(tmp_path):
    k, meter = spinning(seed=3)
    every = k.checkpoint_every(20, tmp_path, keep=2)
    _workload(k, meter, 12)
    every.stop()
    files = ckpt.checkpoints(tmp_path)
    assert len(files) == 2 and len(every.written) > 2 and not every.errors
    assert ckpt.latest(tmp_path) == files[-1]
    r = kl.Kernel.restore_latest(tmp_path)
    assert r.tick <= k.tick and 0 < len(r.log) <= len(k.log)
    assert rows_bytes(r.log, 0, len(r.log)) == rows_bytes(k.log, 0, len(r.log))


def test_a_periodic_write_that_fails_warns_and_the_run_goes_on(tmp_path, monkeypatch):
    k, meter = spinning()
    every = k.checkpoint_every(1, tmp_path, keep=2)

    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.os, "fsync", full)
    with pytest.warns(ckpt.CheckpointWarning, match="No space"):
        k.console.call(k.console["dkc"], 0)
    assert every.errors and not ckpt.checkpoints(tmp_path)
    monkeypatch.undo()
    k.console.call(k.console["dkc"], 0)
    assert len(ckpt.checkpoints(tmp_path)) == 1


STAGES = ["_open_temp", "write", "fsync", "replace", "_sync_folder", "unlink"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("nth", [1, 3])
def test_a_writer_killed_at_any_stage_leaves_the_newest_complete_checkpoint(tmp_path, stage, nth):
    """The writer is killed (SIGKILL: no clean-up runs) the ``nth`` time it reaches
    ``stage``; the newest complete checkpoint restores, and its events are the
    reference run's, from the start."""
    pid = os.fork()
    if pid == 0:  # the writer
        try:
            _killed_at(tmp_path, stage, nth)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    ref, meter = spinning(seed=5)
    _workload(ref, meter, 15)
    if not ckpt.checkpoints(tmp_path):
        with pytest.raises(kl.CheckpointError, match="no complete checkpoint"):
            ckpt.latest(tmp_path)
        return
    r = kl.Kernel.restore_latest(tmp_path)
    assert 0 < len(r.log) <= len(ref.log)
    assert rows_bytes(r.log, 0, len(r.log)) == rows_bytes(ref.log, 0, len(r.log))


def _killed_at(folder, stage, nth):
    import builtins
    from pathlib import Path

    seen = [0]

    def kill_on_nth():
        seen[0] += 1
        if seen[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    if stage == "write":
        real_open_temp = ckpt._open_temp

        class Dying:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self.f.__exit__(*exc)

            def write(self, b):
                self.f.write(b[: len(b) // 2])
                self.f.flush()
                kill_on_nth()
                return self.f.write(b[len(b) // 2 :])

            def __getattr__(self, name):
                return getattr(self.f, name)

        ckpt._open_temp = lambda fd: Dying(real_open_temp(fd))
    elif stage == "unlink":
        real = Path.unlink

        def unlink(self, *a, **kw):
            kill_on_nth()
            return real(self, *a, **kw)

        Path.unlink = unlink
    else:
        import sys

        owner = {
            "_open_temp": ckpt,
            "_sync_folder": sys.modules["keykos_lab.kernel.checkpoint.save"],
        }.get(stage, ckpt.os)
        real = getattr(owner, stage)

        def dying(*a, **kw):
            kill_on_nth()
            return real(*a, **kw)

        setattr(owner, stage, dying)
    del builtins
    k, meter = spinning(seed=5)
    k.checkpoint_every(25, folder, keep=2)
    _workload(k, meter, 15)
    os.kill(os.getpid(), signal.SIGKILL)  # it would have been killed later anyway


# ------------------------------------------------------------ the red team's (session 7)
def test_the_limits_set_from_outside_come_back_with_the_restore(tmp_path):
    """A restored kernel ran past the step limit its original had: the limits are saved
    with a checkpoint by replay and set again after the replay."""
    k, meter = spinning()
    con = k.console
    more = con.call(con["dkc"], 0, data=(10**9).to_bytes(6, "big")).keys[0]
    con.call(meter, oc.Node.Swap + 3, more)  # the spinner can go on, for a long time
    con.step_limit, con.time_limit, k.handler_time_limit = 20, 7.5, 1.5
    k.checkpoint(tmp_path / "k.ckpt")
    r = kl.Kernel.restore(tmp_path / "k.ckpt")
    assert (r.console.step_limit, r.console.time_limit, r.handler_time_limit) == (20, 7.5, 1.5)
    assert con.run() == r.console.run() == 20
    assert r.events().equals(k.events())


def test_a_forged_step_count_cannot_keep_a_replay_going(tmp_path):
    """A forged input "ended by the wall clock after 10**15 steps" swapped the replay's
    clock for one that did not expire: the restore ran far past replay_seconds."""
    import time

    k, meter = spinning()
    con = k.console
    more = con.call(con["dkc"], 0, data=(2**46).to_bytes(6, "big")).keys[0]
    con.call(meter, oc.Node.Swap + 3, more)
    con.run(max_steps=2)  # a spinner with a big meter, mid-flight
    path = tmp_path / "k.ckpt"
    k.checkpoint(path)
    n = len(k.log)
    forged = ["run", None, 10**15, 10**15, ["TimeLimitExceeded", ["x", 10**15]], n]
    rewrite(path, lambda body: body["inputs"].append(forged))
    start = time.monotonic()
    with pytest.raises(kl.CheckpointError, match="diverged"):
        kl.Kernel.restore(path, replay_seconds=1)
    assert time.monotonic() - start < 15


def test_periodic_checkpoints_say_what_is_wrong_with_their_folder(tmp_path):
    """A newcomer's review (session 7): a missing folder gave a bare FileNotFoundError from
    restore_latest and "not a folder" from checkpoint_every; a second writer silently
    replaced the first."""
    k = kl.Kernel()
    with pytest.raises(kl.CheckpointError, match="no such folder"):
        k.checkpoint_every(1, tmp_path / "new" / "dir")
    with pytest.raises(kl.CheckpointError, match="cannot list"):
        kl.Kernel.restore_latest(tmp_path / "nowhere")
    first = k.checkpoint_every(1, tmp_path)
    with pytest.raises(kl.CheckpointError, match="stop\\(\\) that writer first"):
        k.checkpoint_every(1, tmp_path)
    first.stop()
    k.checkpoint_every(1, tmp_path).stop()


def test_what_is_given_from_outside_fits_what_a_checkpoint_reads_back(tmp_path):
    """Review (session 7): a label longer than the replay reader's limit was recorded, and
    the checkpoint that held it could not be restored. The doors refuse it instead, and
    the longest text they take restores."""
    from keykos_lab.kernel.journal import MAX_TEXT

    k, _ = spinning()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    for bad in (
        lambda: con.label(page, "x" * (MAX_TEXT + 1)),
        lambda: con.name("y" * (MAX_TEXT + 1), page),
    ):
        with pytest.raises(ValueError, match="at most"):
            bad()
    with pytest.raises(ValueError, match="at most"):
        k.stop(next(iter(k.domains.values())), "z" * (MAX_TEXT + 1))
    con.label(page, "x" * MAX_TEXT)
    con.name("y" * MAX_TEXT, page)
    k.checkpoint(tmp_path / "k.ckpt")
    r = kl.Kernel.restore(tmp_path / "k.ckpt")
    assert r.store.labels == k.store.labels
