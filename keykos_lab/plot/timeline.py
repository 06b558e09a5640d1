"""Timelines: how many events the kernel logged per tick, by event kind or by actor.

Stacked bars, one stack per tick (or per ``bin`` ticks when the log spans more
than ``max_bars`` ticks: the x label says so); the bars are
``ax.containers``, one per category in legend order, so their heights add up
to the number of events drawn.

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> _ = kl.build_factory(con, "echo")
>>> ev = k.events()
>>> ax = plot_timeline(ev)
>>> int(sum(b.get_height() for c in ax.containers for b in c)) == len(ev)
True
>>> plt.close("all")
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from keykos_lab.plot._common import event_names, new_axes, require_frame, shorten
from keykos_lab.plot.style import LEGEND, OKABE_ITO, TITLE

BY = ("event", "actor")
TOP_ACTORS = 12  # by="actor": the busiest actors get their own colour, the rest "other"


def plot_timeline(
    events: pd.DataFrame,
    *,
    by: str = "event",
    labels: Any = None,
    ax: Axes | None = None,
    max_bars: int = 200,
) -> Axes:
    """Stacked bars of events per tick, split by event kind (``by="event"``) or by
    the acting domain (``by="actor"``, named through ``labels`` as for
    :func:`~.sequence.plot_sequence`, the log's own ``actor_label`` by default; the
    12 busiest, then ``other``). Up to 8 categories take the Okabe–Ito colours,
    more ``tab20``."""
    if by not in BY:
        raise ValueError(f"by is 'event' or 'actor', not {by!r}")
    ev = require_frame(events, ("tick", by), "plot_timeline")
    if max_bars < 1:
        raise ValueError(f"max_bars is a positive int, not {max_bars!r}")
    ticks = ev["tick"].to_numpy(dtype=np.int64)
    first = int(ticks.min()) if len(ev) else 0
    span = int(ticks.max()) - first + 1 if len(ev) else 1
    width = max(1, math.ceil(span / max_bars))
    binned = first + (ticks - first) // width * width
    if by == "event":
        col = ev["event"].astype(str).to_numpy()
        present = set(col)
        cats = list(ev["event"].cat.categories) if hasattr(ev["event"], "cat") else sorted(present)
        cats = [c for c in cats if c in present]
        names = {c: c for c in cats}
    else:
        name = event_names(ev, labels)
        actors = ev["actor"].to_numpy(dtype=np.int64)
        busiest = pd.Series(actors).value_counts()
        top = list(busiest.index[:TOP_ACTORS])
        col = np.where(np.isin(actors, top), actors.astype(object), "other")
        cats = top + (["other"] if len(busiest) > TOP_ACTORS else [])
        names = {
            c: (c if c == "other" else "kernel" if c < 0 else shorten(name(c), 22)) for c in cats
        }
    table = pd.crosstab(binned, col) if len(ev) else pd.DataFrame()
    x = np.arange(first, first + span, width)
    table = table.reindex(index=x, columns=cats, fill_value=0)
    n_bars = len(x)
    ax = new_axes(ax, (min(16.0, max(6.0, 3 + 0.06 * n_bars)), 4.0))
    colours = _colours(len(cats))
    bottom = np.zeros(n_bars)
    for c, colour in zip(cats, colours):
        h = table[c].to_numpy(dtype=float)
        ax.bar(
            x,
            h,
            width=0.9 * width,
            bottom=bottom,
            align="edge",
            color=colour,
            label=names[c],
            linewidth=0,
        )
        bottom += h
    ax.set_xlabel(
        "tick (logical time)" if width == 1 else f"tick (logical time; one bar per {width} ticks)"
    )
    ax.set_ylabel("events" if width == 1 else f"events per {width} ticks")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 events
    ax.legend(
        title="event" if by == "event" else "actor",
        fontsize=LEGEND,
        title_fontsize=LEGEND,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
    )
    ax.set_title(f"{len(ev)} events over {span} ticks, by {by}", fontsize=TITLE)
    ax.margins(x=0.01)
    return ax


def _colours(n: int) -> list:
    import matplotlib

    if n <= len(OKABE_ITO) - 1:  # colour-blind-safe; black is left for the last
        return list(OKABE_ITO[1:][:n])
    if n <= len(OKABE_ITO):
        return list(OKABE_ITO[1:]) + [OKABE_ITO[0]]
    cmap = matplotlib.colormaps["tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
