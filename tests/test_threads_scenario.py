"""Two domains over one address segment (a threads model), and the timing channel the
system timer opens: ``keykos_lab.scenarios.threads``."""

import pytest

from keykos_lab import scenarios
from keykos_lab.scenarios.threads import THREAD_IDS, channel_capacity


def test_the_threads_take_turns_through_the_shared_page():
    rec = scenarios.two_threads(rounds=5)
    assert rec.answers["counter"] == 10
    assert rec.answers["turns"] == [0, 1] * 5  # each read what the other wrote
    assert all(s > 0 for s in rec.answers["spins"])  # and waited for it, running


def test_both_address_slots_hold_one_segment_key():
    rec = scenarios.two_threads(rounds=1)
    slots = scenarios.address_slots(rec)
    assert list(slots.thread) == list(THREAD_IDS)
    assert slots.target.nunique() == 1 and slots.target.iloc[0] == rec.answers["segment node"]
    assert set(slots.target_kind) == {"segment"}
    assert all(r == ["read", "write"] for r in slots.rights)
    assert rec.answers["one segment node"]


def test_the_event_log_shows_both_on_the_same_page():
    rec = scenarios.two_threads(rounds=2)
    ev = scenarios.shared_page_events(rec)
    assert set(ev.target) == {rec.answers["shared page id"]}
    pairs = {(t, str(e)) for t, e in zip(ev.thread, ev.event, strict=True)}
    assert pairs == {(0, "read"), (0, "write"), (1, "read"), (1, "write")}
    assert (ev.thread != ev.thread.shift()).sum() > 2  # they interleave


def test_authority_each_thread_reaches_the_same_pages_read_and_write():
    rec = scenarios.two_threads(rounds=1)
    pages = scenarios.thread_pages(rec)
    shared = rec.answers["shared page id"]
    by_thread = {t: set(p.page) for t, p in pages.groupby("thread")}
    assert by_thread[0] == by_thread[1]
    rows = pages[pages.page == shared]
    assert list(rows.thread) == [0, 1]
    assert all(r == ["read", "write"] for r in rows.rights)
    assert all(all(step[3] == "address space" for step in via) for via in rows.via)


def test_the_threads_are_reproducible():
    a, b = scenarios.two_threads(rounds=3), scenarios.two_threads(rounds=3)
    assert a.kernel.events().equals(b.kernel.events())


def test_rounds_are_checked():
    with pytest.raises(ValueError, match="rounds"):
        scenarios.two_threads(rounds=0)


def test_timing_channel_carries_the_secret_from_a_confined_yield():
    out = scenarios.timing_channel(0xA5C3, bits=16)
    assert out["received"] == out["sent"] and out["errors"] == 0
    assert out["confined"].confined and out["discreet"]
    assert any(s.startswith("timing") for s in out["confined"].out_of_scope)
    assert out["capacity_bits_per_use"] == pytest.approx(1.0)
    assert out["bits_per_kilotick"] > 1


def test_random_scheduling_makes_a_noisy_channel_not_a_closed_one():
    out = scenarios.timing_channel(0xA5C3_5A3C, bits=32, seed=0)
    assert out["p_one_given_zero"] == 0  # nothing else ran: always read as 0
    assert 0 < out["p_one_given_one"] < 1
    assert 0 < out["capacity_bits_per_use"] < 1


def test_timing_channel_checks_its_arguments():
    with pytest.raises(ValueError, match="bits"):
        scenarios.timing_channel(1, bits=65)
    with pytest.raises(ValueError, match="secret"):
        scenarios.timing_channel(1 << 8, bits=8)


def test_channel_capacity_of_known_channels():
    assert channel_capacity(1.0, 0.0) == pytest.approx(1.0)
    assert channel_capacity(0.0, 1.0) == pytest.approx(1.0)  # inverted, as good
    assert channel_capacity(0.3, 0.3) == pytest.approx(0.0)
