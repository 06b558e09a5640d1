"""``RunPlayer``: watch a run unfold, one event at a time.

A **Play** button and a slider over the event log's ``seq`` redraw three things together: the
capability graph as it was just after that event (an interactive :class:`~.graphview.GraphView`),
the message-sequence chart of the events around it (:func:`keykos_lab.plot.plot_sequence`,
the current message shaded) and those event rows as a small table, the current one in bold.

The graph at a seq comes from ``graph_at(seq)``; the default asks the kernel,
``kernel.capability_graph(at=seq)`` (time travel: the graph rebuilt from the kernel's
history). A kernel that keeps no history (``kl.Kernel(history=False)``, ``k.history.stop()``),
or whose ``capability_graph`` takes no ``at``, gets the present graph at every seq, and the
status line says so; where the history begins later than the log, so does the slider.

Without a browser the player is a controller: :meth:`RunPlayer.seek`, :meth:`RunPlayer.step`
and :attr:`RunPlayer.state` (what is shown) work in plain Python, as tests use them.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> player = RunPlayer(k, chart=False)
>>> s = player.seek(0)
>>> s["seq"], s["event"]["order_name"], s["rows"][0]
(0, 'SB.CreatePage', 0)
>>> player.step(3)["seq"]
3
"""

from __future__ import annotations

import html
import inspect
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import ipywidgets as w  # type: ignore[import-untyped]
import pandas as pd

from keykos_lab.widgets.graphview import COLLAPSE_ABOVE, GraphView

#: Event-table columns, in order (those the log has).
COLUMNS = (
    "seq",
    "event",
    "jump",
    "actor_label",
    "key_type",
    "target_label",
    "order_name",
    "order",
    "rc",
)
CACHE = 256  #: graphs kept, most recently shown first
NO_TIME_TRAVEL = (
    "this kernel's capability_graph takes no at=: the graph is the present one at every seq"
)
NO_HISTORY = (
    "this kernel keeps no history of these events (it was stopped, or it begins at a "
    "restore after them): the graph is the present one at every seq"
)


def time_travel(kernel: Any) -> tuple[Callable[[int], Any], str | None]:
    """``(graph_at, note)`` for ``kernel``: ``kernel.capability_graph(at=seq)`` where it
    takes ``at``, else the present graph at every seq and a note saying so.

    >>> import keykos_lab as kl
    >>> class Old:                       # a kernel from before time travel
    ...     def capability_graph(self):
    ...         return kl.Kernel().capability_graph()
    >>> graph_at, note = time_travel(Old())
    >>> graph_at(5).number_of_nodes(), note.startswith("this kernel")
    (29, True)
    """
    present = kernel.capability_graph
    try:
        takes_at = "at" in inspect.signature(present).parameters
    except (TypeError, ValueError):  # a builtin or a callable without a signature
        takes_at = False
    if not takes_at:
        return (lambda seq: present()), NO_TIME_TRAVEL
    if getattr(kernel, "history", True) is None:  # stopped (``k.history.stop()``)
        return (lambda seq: present()), NO_HISTORY
    return (lambda seq: present(at=seq)), None


class RunPlayer:
    """A player over ``kernel``'s event log (``seq`` from ``start`` to ``stop``, default the
    whole log; ``step`` events a tick, for long runs): ``play`` (an ``ipywidgets.Play``)
    and ``slider`` (an ``IntSlider``) move together; ``view`` is the
    :class:`~.graphview.GraphView` of the graph at the seq, ``chart`` the sequence chart (a
    PNG ``Image``; ``chart=False`` leaves it out), ``table`` the event rows within ``window``
    of the seq, ``status`` one line saying what is shown. ``graph_at(seq) ->
    nx.MultiDiGraph`` (default: :func:`time_travel`) gives the graph just after event
    ``seq``; graphs are cached.

    ``collapse`` is decided once for the whole run (by default: fold the primordial system
    if the present graph has more than 30 vertices), so the picture does not jump between
    folded and unfolded while it plays.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> echo = kl.start_key(con, kl.build_domain(con, "echo"))
    >>> player = RunPlayer(k, graph_at=lambda s: k.capability_graph(), chart=False)
    >>> player.seek(10**9)["seq"] == player.last          # clamped to the log
    True
    >>> player.state["vertices"] > 0, "seq" in player.status.value
    (True, True)
    """

    def __init__(
        self,
        kernel: Any,
        graph_at: Callable[[int], Any] | None = None,
        *,
        start: int | None = None,
        stop: int | None = None,
        window: int = 6,
        step: int = 1,
        interval: int = 700,
        chart: bool = True,
        collapse: bool | str | None = None,
        interactive: bool | None = None,
        height: int = 420,
    ) -> None:
        self.kernel = kernel
        self.note: str | None = None
        #: graph_at is the default: what it can show is decided again at each refresh.
        self._default_graphs = graph_at is None
        self.graph_at = graph_at if graph_at is not None else time_travel(kernel)[0]
        self.window, self.draw_chart = max(0, int(window)), chart
        self.stride = max(1, int(step))
        self._start, self._stop = start, stop
        self._graphs: OrderedDict[int, Any] = OrderedDict()
        self._read_log()
        if collapse is None:
            collapse = kernel.capability_graph().number_of_nodes() > COLLAPSE_ABOVE
        self.view = GraphView(collapse=collapse, interactive=interactive, height=height)
        self.play = w.Play(
            value=self.first,
            min=self.first,
            max=self.last,
            step=self.stride,
            interval=interval,
            description="play",
            show_repeat=False,
        )
        self.slider = w.IntSlider(
            value=self.first,
            min=self.first,
            max=self.last,
            step=self.stride,
            description="seq",
            continuous_update=False,
            layout=w.Layout(width="60%"),
        )
        w.jslink((self.play, "value"), (self.slider, "value"))
        self.status = w.HTML().add_class("keykos-player-status")
        self.chart = w.Image(format="png", layout=w.Layout(max_width="560px"))
        self.table = w.HTML().add_class("keykos-player-events")
        self.errors = w.Output()
        below = ([self.chart] if chart else []) + [self.table]
        self.widget = w.VBox(
            [
                w.HBox([self.play, self.slider]),
                self.status,
                self.view.widget,  # the whole width: sigma's panels sit on its sides
                w.HBox(below, layout=w.Layout(align_items="flex-start", flex_flow="row wrap")),
                self.errors,
            ]
        ).add_class("keykos-player")
        self.state: dict = {}
        self.slider.observe(self._moved, names="value")
        self._show(self.first, fresh=True)

    # ------------------------------------------------------------ controller
    def seek(self, seq: int) -> dict:
        """Show the run just after event ``seq`` (clamped to the player's range); the
        :attr:`state` shown."""
        seq = min(max(int(seq), self.first), self.last)
        if seq == self.slider.value:
            self._show(seq)
        else:
            self.slider.value = seq  # the observer shows it, as a drag in the browser does
        return self.state

    def step(self, n: int = 1) -> dict:
        """Move ``n`` slider steps on (back if negative; a step is ``step`` events); the
        :attr:`state` shown."""
        return self.seek(self.slider.value + int(n) * self.stride)

    def refresh(self) -> dict:
        """Read the log again (after more calls) and stretch the range to its end."""
        self._read_log()
        self._graphs.clear()
        for widget in (self.play, self.slider):
            widget.max = self.last
        return self.seek(self.slider.value)

    def _read_log(self) -> None:
        ev = self.kernel.events(labels=True)
        if ev.empty:
            raise ValueError("the kernel's event log is empty: make a call first")
        lo, hi = int(ev["seq"].min()), int(ev["seq"].max())
        if self._default_graphs:
            self.graph_at, self.note = time_travel(self.kernel)
            history = getattr(self.kernel, "history", None)
            if self.note is None and history is not None:  # a restore's begins later
                if history.first > hi:  # no event logged since: no past to play
                    present = self.kernel.capability_graph
                    self.graph_at, self.note = (lambda seq: present()), NO_HISTORY
                else:
                    lo = max(lo, int(history.first))
        self.first = lo if self._start is None else min(max(int(self._start), lo), hi)
        self.last = hi if self._stop is None else min(max(int(self._stop), self.first), hi)
        self.events = ev

    def graph(self, seq: int) -> Any:
        """The graph just after event ``seq`` (cached)."""
        if seq in self._graphs:
            self._graphs.move_to_end(seq)
            return self._graphs[seq]
        G = self.graph_at(seq)
        self._graphs[seq] = G
        while len(self._graphs) > CACHE:
            self._graphs.popitem(last=False)
        return G

    # ------------------------------------------------------------ showing
    def _moved(self, change) -> None:
        self.errors.outputs = ()
        try:
            self._show(int(change["new"]))
        except Exception as exc:  # shown in the widget, never lost in a callback
            self.errors.append_stderr(f"{type(exc).__name__}: {exc}\n")
            raise

    def _show(self, seq: int, fresh: bool = False) -> None:
        G = self.graph(seq)
        (self.view.show if fresh else self.view.update)(G)
        ev = self.events
        lo, hi = seq - self.window, seq + self.window
        rows = ev[(ev["seq"] >= lo) & (ev["seq"] <= hi)]
        here = ev[ev["seq"] == seq]
        row = here.iloc[0] if len(here) else None
        messages = self._draw_chart(seq, lo, hi) if self.draw_chart else None
        view = self.view.state
        self.state = {
            "seq": seq,
            "first": self.first,
            "last": self.last,
            "event": _row_dict(row),
            "vertices": view["vertices"],
            "edges": view["edges"],
            "keys": view["keys"],
            "graph_vertices": G.number_of_nodes(),
            "rows": [int(s) for s in rows["seq"]],
            "messages": messages,
            "note": self.note,
            "picked": self.view.picked,
        }
        self.table.value = _table(rows, seq)
        self.status.value = self._status_line()

    def _status_line(self) -> str:
        s = self.state
        e = s["event"]
        what = " ".join(
            str(e[c])
            for c in ("event", "jump", "actor_label", "key_type", "target_label", "order_name")
            if e.get(c) not in (None, "", "nan")
        )
        line = (
            f"<b>seq {s['seq']}</b> of {s['first']}–{s['last']} · {html.escape(what)} · "
            f"graph: {s['graph_vertices']} vertices, {s['keys']} keys"
        )
        if s["note"]:
            line += f"<br><i style='color:#b00020'>{html.escape(s['note'])}</i>"
        return line

    def _draw_chart(self, seq: int, lo: int, hi: int) -> int:
        from keykos_lab.plot import new_figure, plot_sequence, to_png
        from keykos_lab.plot.sequence import messages
        from keykos_lab.plot.style import HALO

        fig, ax = new_figure((5.5, 4.0))
        plot_sequence(self.events, start=lo, stop=hi + 1, ax=ax)
        window = self.events[(self.events["seq"] >= lo) & (self.events["seq"] <= hi)]
        m = messages(window)
        before = int((m["seq"] <= seq).sum())
        if before:
            band = ax.axhspan(before - 1.45, before - 0.55, color=HALO, alpha=0.45, zorder=0)
            band.set_gid("current")
        ax.set_title(f"messages around seq {seq} ({lo}–{hi})", fontsize=10)
        self.chart.value = to_png(fig)
        return len(m)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _row_dict(row: Any) -> dict:
    if row is None:
        return {}
    out = {}
    for c in COLUMNS:
        if c in row.index:
            v = row[c]
            out[c] = None if pd.isna(v) else (v.item() if hasattr(v, "item") else str(v))
    return out


def _table(rows: pd.DataFrame, seq: int) -> str:
    """The event rows as an HTML table (every value escaped), row ``seq`` in bold."""
    cols = [c for c in COLUMNS if c in rows.columns]
    head = "".join(f"<th style='padding:0 .5em'>{html.escape(c)}</th>" for c in cols)
    body = []
    for _, r in rows.iterrows():
        mine = int(r["seq"]) == seq
        style = " style='font-weight:bold;background:#fff6c2'" if mine else ""
        cells = "".join(
            f"<td style='padding:0 .5em'>{'' if pd.isna(r[c]) else html.escape(str(r[c]))}</td>"
            for c in cols
        )
        body.append(f"<tr class='{'current' if mine else ''}'{style}>{cells}</tr>")
    return f"<div style='font-size:85%'><table><tr>{head}</tr>{''.join(body)}</table></div>"


__all__ = ["RunPlayer", "time_travel"]
