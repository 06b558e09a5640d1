"""Red team: ``analysis/when.py`` (``first_reach``, ``reach_changes``, ``can_reach_at``)
against a brute-force scan of every event.

The authority analysis costs ~0.1 s a question on a booted system, so the brute force
asks it once per event and the ``when`` functions are given the same answers from a
cache (``can_reach_at`` is a pure function of the moment): what is tested is which
moments they ask about and what they make of the answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: test_history

from test_history import canon  # noqa: E402

import keykos_lab as kl  # noqa: E402
from keykos_lab.analysis import when  # noqa: E402
from keykos_lab.analysis.when import first_reach, moments, reach_changes  # noqa: E402

oc = kl.oc


def _severed_three_times():
    """An echo domain, and a page the bank severs three times: just after each sever
    every key to the page is dead and the new one is not held yet, so the domain's
    reach to the page comes, goes and comes again (reach that shrinks)."""
    k = kl.Kernel()
    con = k.console
    dom = kl.build_domain(con, "echo")
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    target = con.target(page)
    for _ in range(3):
        page = con.call(con["bank"], oc.SB.SeverPage, page).keys[0]
    return k, con.target(dom), target


@pytest.fixture
def cached(monkeypatch):
    """``when.can_reach_at`` answering from a cache (the first answer for a moment is
    the real one); the brute-force truth for every event."""
    real = when.can_reach_at
    memo: dict = {}

    def can_reach_at(kernel, subject, target, seq, **kw):
        key = (id(kernel), subject, target, seq)
        if key not in memo:
            memo[key] = real(kernel, subject, target, seq, **kw)
        return memo[key]

    monkeypatch.setattr(when, "can_reach_at", can_reach_at)

    def truth(kernel, subject, target):
        """Every event's answer; the graph is compared at every event and authority asked
        again only where it differs from the event before (same graph, same answer)."""
        out, prev = [], None
        for seq in range(len(kernel.log)):
            G = canon(kernel.capability_graph(at=seq))
            out.append(can_reach_at(kernel, subject, target, seq) if G != prev else out[-1])
            prev = G
        return out

    return truth


def test_between_change_points_every_moment_looks_the_same():
    """Holds: ``moments``/``change_points`` miss no event after which the graph changed
    (what makes a scan over change points equal to a scan over every event)."""
    k, _, _ = _severed_three_times()
    points = set(moments(k))
    prev = None
    for seq in range(len(k.log)):
        G = canon(k.capability_graph(at=seq))
        if prev is not None and G != prev:
            assert seq in points, f"the graph changed at #{seq}, not a change point"
        prev = G


def test_scan_is_the_first_event_a_brute_force_scan_finds(cached):
    """Holds: for every end of the stretch (and starts that are not change points),
    ``method="scan"`` is the first seq at which ``can_reach_at`` is true over every
    event; ``reach_changes`` lists exactly the events where the answer flips."""
    k, subject, target = _severed_three_times()
    truth = cached(k, subject, target)
    last = len(k.log) - 1
    assert True in truth and False in truth[truth.index(True) :], "reach should shrink"
    flips = [(s, v) for s, v in enumerate(truth) if s == 0 or truth[s - 1] != v]
    assert reach_changes(k, subject, target) == flips
    for start in (0, 1, flips[1][0] + 1, flips[2][0]):
        for end in range(start, last + 1):
            want = next((s for s in range(start, end + 1) if truth[s]), None)
            assert first_reach(k, subject, target, start=start, end=end) == want, (start, end)


def test_bisect_may_miss_the_first_beginning_where_reach_shrinks_as_documented(cached):
    """Expected, not a bug: where reach shrinks, ``method="bisect"`` can give a later
    beginning than the first, or None when reach has ended by ``end`` (the module's and
    docs/analyses.md's text say it is exact only when reach only grows; the "None"
    case is not spelt out: "finds *a* moment at which reach begins")."""
    k, subject, target = _severed_three_times()
    cached(k, subject, target)
    differs = []
    for end in range(len(k.log)):
        scan = first_reach(k, subject, target, end=end)
        bisect = first_reach(k, subject, target, end=end, method="bisect")
        if bisect != scan:
            differs.append((end, scan, bisect))
    assert any(b is not None and b > s for _, s, b in differs), differs
    assert any(b is None for _, s, b in differs), differs
    assert "only grows" in " ".join(when.__doc__.split())
