"""Red team: time travel across checkpoints (``kernel/history.py``, ``checkpoint/replay.py``,
``checkpoint/load.py``, ``widgets/player.py``).

A restored kernel may keep a history that starts at the restore: what it must not do is
answer for moments it never saw, or refuse in words that do not hold together.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: test_history

from test_history import canon  # noqa: E402

import keykos_lab as kl  # noqa: E402
from keykos_lab.kernel.history import HistoryUnavailable  # noqa: E402

oc = kl.oc


def _mid_flight_after_a_rebase() -> kl.Kernel:
    """A kernel whose journal moved its base to a quiescent snapshot (after a few
    inputs), then a spinner stopped by its small meter inside its handler: its
    checkpoint is a checkpoint by replay from a *snapshot* base, not from genesis."""
    k = kl.Kernel()
    con = k.console
    k.console.journal.next_rebase = 3  # move the base soon (REBASE_EVERY inputs otherwise)
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.label(page, "early")
    for i in range(4):
        con.call(con["dkc"], 0, data=i.to_bytes(6, "big"))
    assert con.journal.base is not None, "the journal should have moved its base"
    meter = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(meter, oc.Node.Swap + 1, con["meter"])
    ticks = con.call(con["dkc"], 0, data=(300).to_bytes(6, "big")).keys[0]
    con.call(meter, oc.Node.Swap + 3, ticks)
    spinner = kl.build_domain(con, "spinner", meter=con.call(meter, oc.Node.MakeMeterKey).keys[0])
    con.fork(kl.start_key(con, spinner))
    con.run()
    return k


def test_a_replay_from_a_snapshot_base_does_not_invent_a_past(tmp_path):
    """Found by the red team: restoring a checkpoint by replay whose base is a snapshot gives a
    history with ``first == 0``: the base snapshot's state (domains built and labels given later)
    is answered for every event before the base, from event #0 on, where ``HistoryUnavailable``
    is due (the moments after the base are exact). ``replay.restore`` decodes the snapshot with
    an empty log (``History.start`` sees 0 rows) and only then puts the base's rows in ``k.log``."""
    k = _mid_flight_after_a_rebase()
    path = tmp_path / "k.ckpt"
    head = k.checkpoint(path)
    assert head["replay"]["base"] == "snapshot", head
    r = kl.Kernel.restore(path)
    assert r.events().equals(k.events())
    base_rows = k.console.journal.base_rows
    assert base_rows > 0
    # Every moment the restored history answers for must be the original's.
    wrong = []
    for seq in range(len(k.log)):
        try:
            got = canon(r.capability_graph(at=seq))
        except HistoryUnavailable:
            continue  # refusing is fine: the file does not carry that past
        if got != canon(k.capability_graph(at=seq)):
            wrong.append(seq)
    assert not wrong, f"restored history answers wrongly for events {wrong[:5]}…"
    assert r.history.first >= base_rows, (r.history.first, base_rows)


def test_after_a_restore_the_refusal_names_a_range_that_exists(tmp_path):
    """Found by the red team (an unclear error): right after a restore (and on a fresh kernel before
    its first event) every ``at=`` is refused with "it covers events #10 to #9": a backwards,
    empty range. It should say that no event has been logged since the history started (at the
    restore) and that ``at=None`` is the present."""
    k = kl.Kernel(history=False)  # its file has no past: the restore's history starts there
    con = k.console
    con.call(con["bank"], oc.SB.CreatePage)
    k.checkpoint(tmp_path / "k.ckpt")
    r = kl.Kernel.restore(tmp_path / "k.ckpt")
    for kernel in (r, kl.Kernel()):
        with pytest.raises(HistoryUnavailable) as err:
            kernel.capability_graph(at=max(len(kernel.log) - 1, 0))
        msg = str(err.value)
        for lo, hi in re.findall(r"#(-?\d+) to #(-?\d+)", msg):
            assert int(lo) <= int(hi), msg


def test_the_run_player_opens_with_no_past_to_play(tmp_path):
    """Found by the red team (minor): ``RunPlayer`` (the time-travel slider) cannot be made for a
    kernel whose history covers no event: one just restored from a snapshot (the history begins
    at the restore), or one whose history was stopped (``k.history.stop()``, as the docs advise
    for benchmarks). ``_read_log`` clamps ``first`` into the history, but with nothing there the
    constructor's first ``capability_graph(at=...)`` raises ``HistoryUnavailable``. For a kernel
    with no past, the player should show the present with a note, as it already does for kernels
    whose ``capability_graph`` takes no ``at`` (``NO_TIME_TRAVEL``)."""
    pytest.importorskip("ipywidgets")
    from keykos_lab.widgets.player import RunPlayer

    k = kl.Kernel()
    con = k.console
    con.call(con["bank"], oc.SB.CreatePage)
    k.checkpoint(tmp_path / "k.ckpt")
    restored = kl.Kernel.restore(tmp_path / "k.ckpt")
    stopped = kl.Kernel()
    stopped.history.stop()
    stopped.console.call(stopped.console["bank"], oc.SB.CreatePage)
    for kernel in (restored, stopped):
        player = RunPlayer(kernel, chart=False)
        assert player.state["vertices"] > 0
