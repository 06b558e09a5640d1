"""Red team: what ``capability_graph(at=)``, ``objects(at=)`` and the ``when`` questions
say about arguments they cannot take (``kernel/history.py``, ``analysis/when.py``)."""

from __future__ import annotations

import re

import pytest

import keykos_lab as kl
from keykos_lab.analysis.when import first_reach, moments, reach_changes
from keykos_lab.kernel.history import HistoryUnavailable

oc = kl.oc


def _ranges_hold_together(msg: str) -> None:
    for lo, hi in re.findall(r"#(-?\d+) to #(-?\d+)", msg):
        assert int(lo) <= int(hi), f"a backwards range in: {msg}"


def test_a_seq_read_from_the_events_frame_is_an_event_number():
    """Found by the red team (usability): ``at`` refuses the seq a researcher reads from
    ``k.events()`` (a ``numpy.int64``): "seq is an event number (an int), not int64". The check
    is ``type(seq) is not int`` (``History.state``; ``when.moments`` does the same for
    ``start``/``end``); ``operator.index(seq)`` takes numpy integers and still refuses bools,
    floats and strings."""
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    ev = k.events()
    seq = ev.loc[ev.event == "create", "seq"].iloc[0]  # numpy.int64
    G = k.capability_graph(at=seq)
    assert con.target(page) in G
    assert len(k.objects(at=seq)) > 0
    assert moments(k, start=seq)[0] == seq


def test_a_backwards_stretch_is_called_backwards():
    """Found by the red team (an unclear error): ``start`` after ``end`` is refused as "events #5 to
    #3 are not within the history's #0 to #9": both are within it; what is wrong is the order.
    And on a kernel with no event yet: "events #0 to #-1 are not within the history's #0 to #-1"."""
    k = kl.Kernel()
    con = k.console
    bank = con.target(con["bank"])
    with pytest.raises(HistoryUnavailable) as err:
        first_reach(k, con.root, bank)  # no event yet
    _ranges_hold_together(str(err.value))
    for _ in range(3):
        con.call(con["dkc"], 0)
    with pytest.raises((ValueError, HistoryUnavailable)) as err:
        reach_changes(k, con.root, bank, start=5, end=3)
    msg = str(err.value)
    assert "not within" not in msg or "#5" not in msg, msg


def test_bad_moments_are_refused_with_the_range_that_exists():
    """Holds: types other than int (bools too) are TypeErrors; negative events and
    events not logged yet are HistoryUnavailable naming the range; objects(at=) says the
    same as capability_graph(at=)."""
    k = kl.Kernel()
    con = k.console
    con.call(con["bank"], oc.SB.CreatePage)
    last = len(k.log) - 1
    for bad in (True, 2.0, "3", [1]):
        with pytest.raises(TypeError):
            k.capability_graph(at=bad)
        with pytest.raises(TypeError):
            k.objects(at=bad)
    for bad in (-1, last + 1, 10**9):
        for view in (k.capability_graph, k.objects):
            with pytest.raises(HistoryUnavailable) as err:
                view(at=bad)
            assert f"#{last}" in str(err.value)
    with pytest.raises(ValueError, match="method"):
        first_reach(k, con.root, con.root, method="binary")
