"""Message-sequence charts from the event log: lifelines, and one arrow per message.

A *message* is an ``invoke`` or ``keeper`` row of the log whose key is a start
or resume key (the kernel passing a message from one domain to another: CALL,
RETURN, FORK, or an implicit call to a keeper). Its ``deliver`` row, the stall
rows of a busy target and every other event are not drawn as arrows. Styles
(:data:`~.style.MESSAGE_STYLES`): call solid blue, return dashed green, fork
dotted orange, keeper invocation thick red; an arrow sent through a resume key
has a hollow circle at its tail and a label starting ``resume``.

Primary-key invocations (pages, nodes, domain keys, misc keys: served by the
kernel, no other domain involved) between two messages are drawn as one grey
square on the invoker's lifeline, with their count.

Time runs down; row ``i`` is the ``i``-th message, its ``seq`` on the left.
What the Axes holds (``gid``): ``lifeline:<id>`` lines (one per domain that
sends, receives or invokes in the window), ``message:<seq>`` arrows,
``primary:<id>`` squares.

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> echo = kl.start_key(con, kl.build_domain(con, "echo"))
>>> start = len(k.events())
>>> _ = con.call(echo, 5, data=b"hi")
>>> ax = plot_sequence(k.events(), labels=k, start=start)
>>> [a.get_gid() for a in ax.patches if a.get_gid().startswith("message:")]
['message:...', 'message:...']
>>> sorted(t.get_text() for t in ax.texts if t.get_gid() == "lifeline-label")
['console', 'echo #...']
>>> plt.close("all")
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from keykos_lab.plot._common import event_names, new_axes, require_frame, shorten
from keykos_lab.plot.style import LABEL, LEGEND, MESSAGE_STYLES, SMALL, TITLE

COLUMNS = ("seq", "event", "jump", "actor", "key_type", "target", "order")
GATES = ("start", "resume")


def messages(events: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``events`` that are messages between domains, with a ``kind``
    column (``call``, ``return``, ``fork`` or ``keeper``) and ``resume`` (bool:
    sent through a resume key).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> echo = kl.start_key(con, kl.build_domain(con, "echo"))
    >>> n = len(k.events()); _ = con.call(echo, 5)
    >>> m = messages(k.events().iloc[n:])
    >>> list(m["kind"]), m["resume"].tolist()
    (['call', 'return'], [False, True])
    """
    ev = require_frame(events, COLUMNS, "messages")
    event = ev["event"].astype(str)
    keep = (
        event.isin(["invoke", "keeper"])
        & ev["key_type"].astype(str).isin(GATES)
        & (ev["target"] >= 0)
    )
    m = ev[keep].copy()
    jump = m["jump"].astype(str)
    m["kind"] = np.where(m["event"].astype(str) == "keeper", "keeper", jump)
    m["resume"] = m["key_type"].astype(str) == "resume"
    return m[m["kind"].isin(list(MESSAGE_STYLES))]


def plot_sequence(
    events: pd.DataFrame,
    *,
    labels: Any = None,
    start: int | None = None,
    stop: int | None = None,
    ax: Axes | None = None,
    max_arrows: int = 200,
) -> Axes:
    """Draw a message-sequence chart of the event log ``events`` (``k.events()``).

    ``labels`` names the domains: None (the log's own ``actor_label`` and
    ``target_label`` when it has them, as ``k.events(labels=True)`` does, else
    ``#id``), a dict id → name, a capability graph, or a kernel (its capability
    graph's labels, and its order names: :func:`keykos_lab.views.names.label_events`).
    A CALL's or FORK's order code is written by name where the log has ``order_name``
    (``SB.CreatePage``) or ``labels`` is a kernel, as a number otherwise. ``start`` and
    ``stop`` keep the events with ``start <= seq < stop``. Above ``max_arrows``
    messages the first ``max_arrows`` are drawn and the title says so.
    """
    ev = require_frame(events, COLUMNS, "plot_sequence")
    if max_arrows < 1:
        raise ValueError(f"max_arrows is a positive int, not {max_arrows!r}")
    name = event_names(ev, labels)
    if start is not None:
        ev = ev[ev["seq"] >= start]
    if stop is not None:
        ev = ev[ev["seq"] < stop]
    if hasattr(labels, "capability_graph") and "order_name" not in ev.columns:
        from keykos_lab.views.names import label_events

        ev = label_events(ev, labels)  # the kernel names the orders too
    msgs = messages(ev)
    total = len(msgs)
    if total > max_arrows:
        last_seq = msgs["seq"].iloc[max_arrows - 1]
        msgs = msgs.iloc[:max_arrows]
        ev = ev[ev["seq"] <= last_seq]
    prim = ev[
        (ev["event"].astype(str) == "invoke")
        & ~ev.index.isin(msgs.index)
        & ~ev["key_type"].astype(str).isin(GATES)
        & (ev["actor"] >= 0)
    ]
    # where each primary invocation falls: after how many messages
    slot = np.searchsorted(msgs["seq"].to_numpy(), prim["seq"].to_numpy())
    marks = pd.DataFrame({"after": slot, "actor": prim["actor"].to_numpy()})
    marks = marks.groupby(["after", "actor"], sort=True).size()

    lanes: dict = {}
    for _, row in msgs.iterrows():
        for v in (row["actor"], row["target"]):
            lanes.setdefault(int(v), len(lanes))
    for _, actor in marks.index:
        lanes.setdefault(int(actor), len(lanes))
    n = len(msgs)
    ax = new_axes(ax, (max(6.0, 1.7 * len(lanes) + 2.0), min(40.0, max(4.0, 0.3 * n + 2.0))))
    top, bottom = -1.2, n + 0.2
    for v, x in lanes.items():
        line = Line2D([x, x], [top + 0.4, bottom], color="#9a9a9a", linewidth=1, zorder=1)
        line.set_gid(f"lifeline:{v}")
        ax.add_line(line)
        t = ax.text(
            x,
            top,
            shorten(name(v), 20),
            ha="center",
            va="center",
            fontsize=LABEL,
            zorder=5,
            bbox={"boxstyle": "round,pad=0.3", "fc": "#e8eef7", "ec": "#0072b2"},
        )
        t.set_gid("lifeline-label")
    for i, (_, row) in enumerate(msgs.iterrows()):
        _message(ax, i, row, lanes)
    for (after, actor), count in marks.items():
        x, y = lanes[int(actor)], after - 0.5
        sq = ax.scatter([x], [y], marker="s", s=30, c="#7f7f7f", zorder=4)
        sq.set_gid(f"primary:{actor}")
        ax.text(
            x + 0.06,
            y,
            f"{count} kernel" if count > 1 else "kernel",
            fontsize=SMALL,
            color="#555555",
            va="center",
            zorder=4,
        )
    ax.set_xlim(-0.7, max(len(lanes) - 0.3, 0.7))
    ax.set_ylim(bottom + 0.3, top - 0.6)
    step = max(1, n // 60)
    ax.set_yticks(range(0, n, step), [str(s) for s in msgs["seq"].iloc[::step]], fontsize=SMALL)
    ax.set_ylabel("seq (time runs down)")
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    _legend(ax)
    what = (
        f"{n} messages"
        if total <= max_arrows
        else f"first {max_arrows} of {total} messages (max_arrows={max_arrows})"
    )
    span = f", seq {ev['seq'].min()}–{ev['seq'].max()}" if len(ev) else ""
    ax.set_title(f"message sequence: {what} between {len(lanes)} domains{span}", fontsize=TITLE)
    return ax


def _code(n: int) -> str:
    """An order or return code as KeyKOS sources write it: small ones in decimal,
    large ones (KT = 0x80000000, program-defined words) in hex."""
    return str(n) if -256 < n < 4096 else f"{n:#x}"


def _message(ax, i, row, lanes) -> None:
    kind = row["kind"]
    st = MESSAGE_STYLES[kind]
    x0, x1 = lanes[int(row["actor"])], lanes[int(row["target"])]
    order = _code(int(row["order"]))
    named = row.get("order_name")
    oc = named if isinstance(named, str) else f"oc {order}"  # a name where the log has one
    word = {
        "call": oc,
        "return": f"rc {order}",
        "fork": f"fork {oc}",
        "keeper": f"keeper {order}",
    }[kind]
    if row["resume"]:
        word = "resume " + word
    if x0 == x1:  # to itself (e.g. its own keeper)
        arrow = FancyArrowPatch(
            (x0, i - 0.15),
            (x0, i + 0.15),
            connectionstyle="arc3,rad=-2",
            arrowstyle="-|>",
            mutation_scale=8,
            zorder=3,
            **st,
        )
        tx, ha = x0 + 0.15, "left"
    else:
        arrow = FancyArrowPatch(
            (x0, i),
            (x1, i),
            arrowstyle="-|>",
            mutation_scale=10,
            shrinkA=0,
            shrinkB=0,
            zorder=3,
            **st,
        )
        tx, ha = (x0 + x1) / 2, "center"
    arrow.set_gid(f"message:{int(row['seq'])}")
    ax.add_patch(arrow)
    if row["resume"]:
        ax.scatter(
            [x0], [i], s=22, facecolors="white", edgecolors=st["color"], zorder=4, linewidths=1.2
        )
    ax.text(tx, i - 0.08, word, fontsize=SMALL, ha=ha, va="bottom", color=st["color"], zorder=4)


def _legend(ax) -> None:
    handles = [Line2D([], [], **st, label=kind) for kind, st in MESSAGE_STYLES.items()]
    handles.append(
        Line2D(
            [],
            [],
            color="#555555",
            marker="o",
            markerfacecolor="white",
            label="through a resume key",
        )
    )
    handles.append(
        Line2D(
            [], [], linestyle="none", marker="s", color="#7f7f7f", label="primary-key invocations"
        )
    )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=LEGEND, frameon=False
    )
