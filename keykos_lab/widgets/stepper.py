"""``FactoryStepper``: the widget over :class:`~.factory_steps.FactorySteps`.

The controller does the work; this module only wires buttons and pickers to it
and renders its state: a status line, the step's description, the verdict so
far, the capability graph around the factory and the event rows of the step.
In JupyterLab the graph is the interactive :class:`~.graphview.GraphView` (zoom,
hover, click for details; the factory or its yield ringed, its authority in
halos); without a front end it is a PNG ``Image``. Tables and pictures are widget
values, so what the stepper shows can be read back in tests; errors from a
callback go to an ``Output`` widget, never lost.

>>> from keykos_lab.widgets import FactoryStepper
>>> stepper = FactoryStepper(draw=False)
>>> stepper.buttons["next"].click()
>>> stepper.state.step, stepper.status.value.startswith("<b>Step 1/")
('buy pages', True)
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import ipywidgets as w  # type: ignore[import-untyped]

from keykos_lab.views.lab import Kernel
from keykos_lab.widgets.factory_steps import CHOICES, FactorySteps, StepperState
from keykos_lab.widgets.graphview import GraphView, front_end_present

EVENT_COLUMNS = ["seq", "event", "jump", "actor", "key_type", "target", "order", "rc"]


class FactoryStepper:
    """Walk through building a factory and requesting a yield, one step per click.

    ``stepper.buttons["next" | "back" | "reset"]`` are the ``ipywidgets.Button``s,
    ``stepper.pickers[n]`` the component pickers (changing one starts over),
    ``stepper.state`` the controller's :class:`~.factory_steps.StepperState`;
    ``next()``, ``back()`` and ``reset()`` drive it from code. ``view`` is the
    :class:`~.graphview.GraphView` of the graph around the factory, shown where a
    front end is present (``interactive``, default: detected); otherwise ``graph``
    holds the drawing as a PNG, and ``draw=False`` leaves it out (for speed in tests).

    >>> s = FactoryStepper(components={1: "RW page"}, draw=False)
    >>> for _ in range(len(s.controller.names())):
    ...     s.next()
    >>> s.state.leaked, "LEAKED" in s.verdict.value
    (True, True)
    """

    def __init__(
        self,
        kernel: Kernel | None = None,
        components: Mapping[int, str] | None = None,
        *,
        draw: bool = True,
        max_events: int = 12,
        interactive: bool | None = None,
    ) -> None:
        self.controller = FactorySteps(kernel, components)
        self.interactive = front_end_present() if interactive is None else bool(interactive)
        self.view = GraphView(interactive=self.interactive, height=420)
        self._kernel, self.draw, self.max_events = kernel, draw, max_events
        self.buttons = {
            name: w.Button(description=name, tooltip=tip, icon=icon)
            for name, tip, icon in (
                ("back", "undo the last step (deterministic replay)", "step-backward"),
                ("next", "do the next kernel-level step", "step-forward"),
                ("reset", "start over from the booted system", "undo"),
            )
        }
        self.buttons["next"].button_style = "primary"
        self.buttons["next"].on_click(lambda _: self.next())
        self.buttons["back"].on_click(lambda _: self.back())
        self.buttons["reset"].on_click(lambda _: self.reset())
        self.pickers = {
            n: w.Dropdown(
                options=list(CHOICES),
                value=choice,
                description=f"component {n}",
                style={"description_width": "initial"},
                layout=w.Layout(width="230px"),
            )
            for n, choice in self.controller.components.items()
        }
        for picker in self.pickers.values():
            picker.observe(self._picked, names="value")
        self.status = w.HTML().add_class("keykos-stepper-status")
        self.description = w.HTML()
        self.verdict = w.HTML().add_class("keykos-stepper-verdict")
        self.graph = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.events = w.HTML().add_class("keykos-stepper-events")
        self.errors = w.Output()
        self.widget = w.VBox(
            [
                w.HBox([self.buttons["back"], self.buttons["next"], self.buttons["reset"]]),
                w.HBox(list(self.pickers.values()), layout=w.Layout(flex_flow="row wrap")),
                self.status,
                self.description,
                self.verdict,
                self.view.widget if self.interactive else self.graph,
                self.events,
                self.errors,
            ]
        ).add_class("keykos-stepper")
        self._render()

    # ------------------------------------------------------------ actions
    @property
    def state(self) -> StepperState:
        """Where the walk stands (step name, index, verdict so far)."""
        return self.controller.state

    def next(self) -> None:
        """Do the next step and show it."""
        self._act(self.controller.next)

    def back(self) -> None:
        """Undo the last step (by replay) and show the one before."""
        self._act(self.controller.back)

    def reset(self) -> None:
        """Start over."""
        self._act(self.controller.reset)

    def _act(self, action) -> None:
        self.errors.outputs = ()
        try:
            action()
        except Exception as exc:  # shown in the widget, never lost in a callback
            self.errors.append_stderr(f"{type(exc).__name__}: {exc}\n")
            raise
        finally:
            self._render()

    def _picked(self, change) -> None:
        chosen = {n: p.value for n, p in self.pickers.items()}
        self.controller = FactorySteps(self._kernel, chosen)
        self._render()

    # ------------------------------------------------------------ render
    def _render(self) -> None:
        c, state = self.controller, self.controller.state
        self.buttons["back"].disabled = state.index == 0
        self.buttons["next"].disabled = state.index == state.total - 1
        for picker in self.pickers.values():
            picker.disabled = state.index != 0
        self.status.value = f"<b>{html.escape(str(state))}</b>"
        self.description.value = html.escape(c.step.description)
        self.verdict.value = _witnesses(c.facts, state)
        rows = c.events()[EVENT_COLUMNS]
        more = len(rows) - self.max_events
        self.events.value = (
            f"<p>{len(rows)} event rows in this step"
            + (f"; the last {self.max_events}:" if more > 0 else ":")
            + "</p>"
            + "<div style='font-size:85%'>"
            + rows.tail(self.max_events).to_html(index=False, na_rep="")
            + "</div>"
        )
        if self.interactive:
            self._show_view()
        elif self.draw:
            self.graph.value = self._draw()

    def _around(self):
        """The graph around the factory, vertices named by their role, and the vertex to
        highlight (the yield once there is one, else the factory)."""
        c = self.controller
        G = c.graph()
        sub = G.subgraph(c.focus()).copy()
        for v, role in c.roles().items():
            sub.nodes[v]["label"] = role
        factory = c.keys.get("yield") or c.keys.get("builder")
        return sub, c.con.target(factory) if factory else None

    def _show_view(self) -> None:
        from keykos_lab.analysis import authority

        sub, subject = self._around()
        fresh = self.controller.index == 0 or self.view.G is None
        (self.view.show if fresh else self.view.update)(sub)
        if subject is not None and subject in sub:
            region = set(authority(sub, subject).target) | {subject}
            self.view.highlight(region=region & set(sub), subject=subject)
        else:
            self.view.highlight()

    def _draw(self) -> bytes:
        from keykos_lab.plot import draw_capability_graph, new_figure, to_png

        c = self.controller
        sub, subject = self._around()
        fig, ax = new_figure((8, 5))
        draw_capability_graph(sub, highlight=subject, ax=ax)
        ax.set_title(f"around the factory after “{c.step.name}”", fontsize=10)
        return to_png(fig)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _witnesses(facts: dict, state: StepperState) -> str:
    """The three witnesses of confinement as an HTML table, each coloured once known."""
    red, green, grey = "#b00020", "#1b7f3b", "#666"
    compare = analysis = experiment = None
    if "discreet" in facts:
        ok = facts["discreet"]
        compare = (f"rc {facts['compare_rc']}: " + ("discreet" if ok else "has holes"), ok)
        ok = facts["confined"]
        analysis = ("confined" if ok else f"not confined: {facts['holes']} hole(s)", ok)
    if state.leaked is not None:
        experiment = (state.verdict, not state.leaked)
    rows = [
        ("Compare (the factory's own check)", compare, "not asked yet"),
        ("static analysis (analysis.confinement)", analysis, "not run yet"),
        ("experiment (the trojan yield)", experiment, "not let loose yet"),
    ]
    cells = []
    for name, known, pending in rows:
        text, colour = (known[0], green if known[1] else red) if known else (pending, grey)
        cells.append(
            f"<tr><td style='padding-right:1em'>{html.escape(name)}</td>"
            f"<td style='color:{colour}'>{html.escape(text)}</td></tr>"
        )
    return "<table>" + "".join(cells) + "</table>"


__all__ = ["FactoryStepper"]
