"""plot_timeline: the stacked bars add up to the events, by kind or by actor."""

import numpy as np
import pytest

from keykos_lab.plot import plot_timeline


def _heights(ax):
    return {c.get_label(): np.array([b.get_height() for b in c]) for c in ax.containers}


def test_bars_sum_to_the_events_by_kind(factory_run):
    k, _, first = factory_run
    ev = k.events()
    window = ev[ev.seq >= first]
    ax = plot_timeline(window)
    h = _heights(ax)
    assert sum(x.sum() for x in h.values()) == len(window)
    counts = window.event.astype(str).value_counts()
    assert {name: int(x.sum()) for name, x in h.items()} == {
        name: int(n) for name, n in counts.items() if n
    }
    assert ax.get_xlabel().startswith("tick") and ax.get_ylabel().startswith("events")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(h)


def test_one_bar_per_tick_when_few(factory_run):
    k, _, first = factory_run
    window = k.events()
    window = window[window.seq >= first]
    ticks = window.tick
    ax = plot_timeline(window, max_bars=10_000)
    h = _heights(ax)
    total = sum(h.values())
    assert len(total) == ticks.max() - ticks.min() + 1
    per_tick = (
        window.groupby("tick").size().reindex(range(ticks.min(), ticks.max() + 1), fill_value=0)
    )
    assert total.tolist() == per_tick.tolist()


def test_binned_when_many_ticks(factory_run):
    k, _, _ = factory_run
    ev = k.events()
    ax = plot_timeline(ev, max_bars=50)
    h = _heights(ax)
    assert len(next(iter(h.values()))) <= 50
    assert sum(x.sum() for x in h.values()) == len(ev)
    assert "one bar per" in ax.get_xlabel()


def test_by_actor_with_labels(factory_run):
    k, _, _ = factory_run
    ev = k.events()
    ax = plot_timeline(ev, by="actor", labels=k)
    h = _heights(ax)
    assert sum(x.sum() for x in h.values()) == len(ev)
    assert ("other" in h) == (ev.actor.nunique() > 12)
    # The busiest actor (the prime bank) is labelled with its name; the console, with
    # few events of its own, may fall among "other".
    bank = k.console.target(k.console["bank"])
    assert ev.actor.value_counts().index[0] == bank
    assert int(h["prime bank"].sum()) == int((ev.actor == bank).sum())


def test_bad_input(factory_run):
    k, _, _ = factory_run
    ev = k.events()
    with pytest.raises(ValueError, match="by is 'event' or 'actor'"):
        plot_timeline(ev, by="target")
    with pytest.raises(ValueError, match="tick"):
        plot_timeline(ev.drop(columns=["tick"]))
    with pytest.raises(TypeError):
        plot_timeline([1, 2])


def test_the_count_axis_has_whole_numbers_only(factory_run):
    """A few events per tick: ticks 0, 1, 2, …, never 0.5 or 2.5 events."""
    k, _, first = factory_run
    window = k.events()
    window = window[window.seq >= first].head(12)
    assert window.groupby("tick").size().max() <= 6  # a small count axis
    for by in ("event", "actor"):
        ax = plot_timeline(window, by=by, max_bars=10_000)
        ticks = ax.get_yticks()
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
