"""``ConfinementExplorer``: pick a subject and a sink, see the subject's authority
region, the flow verdict and the witness path drawn on the capability graph.

In JupyterLab the graph is the interactive :class:`~.graphview.GraphView`: the region in
yellow halos, the witness in vermillion, and a click on a vertex picks the subject or the
sink (the toggle says which). Without a front end the drawing is a PNG, as in a paper.

>>> import keykos_lab as kl
>>> k = kl.Kernel()
>>> ex = ConfinementExplorer(k.capability_graph(), draw=False)
>>> ex.subject.value == k.console.root, ex.answer.flows
(True, True)
"""

from __future__ import annotations

import html
from collections.abc import Hashable

import ipywidgets as w  # type: ignore[import-untyped]

from keykos_lab.widgets.confinement_query import Answer, ask
from keykos_lab.widgets.graphview import GraphView, front_end_present


class ConfinementExplorer:
    """Dropdowns ``subject`` (the graph's domains) and ``sink`` (every vertex);
    ``answer`` is the current :class:`~.confinement_query.Answer`, ``verdict``
    the HTML line that states it. ``view`` is the :class:`~.graphview.GraphView` of the
    graph with the answer highlighted; where a front end is present (``interactive``,
    default: detected) it is what the explorer shows, and ``clicks`` (toggle buttons)
    says whether a click on a vertex picks the subject or the sink. Otherwise
    ``picture`` is the drawing (a PNG ``Image``); ``draw=False`` leaves it out (tests).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> echo = con.target(kl.build_domain(con, "echo"))
    >>> ex = ConfinementExplorer(k.capability_graph(), draw=False)
    >>> ex.clicks.value = "sink"; ex.view.pick(echo)       # what a click on echo does
    >>> ex.sink.value == echo, ex.view.state["subject"] == str(con.root)
    (True, True)
    """

    def __init__(
        self,
        G,
        subject: Hashable | None = None,
        sink: Hashable | None = None,
        *,
        draw: bool = True,
        interactive: bool | None = None,
    ) -> None:
        domains = [v for v, d in G.nodes(data=True) if d.get("kind") == "domain"]
        if not domains:
            raise ValueError("the graph has no domain to be a subject")
        self.G, self.draw = G, draw
        labels = [d.get("label", str(v)) for v, d in G.nodes(data=True)]
        self._repeated = {x for x in labels if labels.count(x) > 1}
        name = self.name
        self.subject = w.Dropdown(
            options=[(name(v), v) for v in domains],
            value=domains[0] if subject is None else subject,
            description="subject",
        )
        everything = sorted(G, key=lambda v: (G.nodes[v].get("kind", ""), name(v)))
        self.sink = w.Dropdown(
            options=[(f"{name(v)} ({G.nodes[v].get('kind')})", v) for v in everything],
            value=(domains[-1] if sink is None else sink),
            description="sink",
        )
        self.verdict = w.HTML().add_class("keykos-explorer-verdict")
        self.picture = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.interactive = front_end_present() if interactive is None else bool(interactive)
        self.view = GraphView(G, interactive=self.interactive)
        self.clicks = w.ToggleButtons(
            options=["subject", "sink"],
            value="subject",
            description="a click picks",
            style={"description_width": "initial"},
        )
        self.view.observe(self._clicked, names="picked")
        for dropdown in (self.subject, self.sink):
            dropdown.observe(lambda _: self._update(), names="value")
        shown = [self.clicks, self.view.widget] if self.interactive else [self.picture]
        self.widget = w.VBox([w.HBox([self.subject, self.sink]), self.verdict, *shown]).add_class(
            "keykos-explorer"
        )
        self._update()

    def name(self, v: Hashable) -> str:
        """A vertex's label, with its id when labels repeat."""
        label = self.G.nodes[v].get("label", str(v))
        return f"{label} ({v})" if label in self._repeated else label

    def _update(self) -> None:
        self.answer: Answer = ask(self.G, self.subject.value, self.sink.value)
        a = self.answer
        colour = "#b00020" if a.flows else "#1b7f3b"
        self.verdict.value = (
            f"<span style='color:{colour}'>{html.escape(a.describe(self.name))}</span>"
        )
        self.view.highlight(region=a.region, witness=a.witness or (), subject=a.subject)
        if self.draw and not self.interactive:
            self.picture.value = self._draw()

    def _clicked(self, change) -> None:
        """A vertex picked in the view becomes the subject or the sink."""
        v = change["new"]
        if v is None:
            return
        dropdown = self.subject if self.clicks.value == "subject" else self.sink
        if v in {value for _, value in dropdown.options}:
            dropdown.value = v
        else:
            why = "a domain" if dropdown is self.subject else "a single object, not a part"
            self.verdict.value += (
                f"<br><i>{html.escape(self.view.name(v))} cannot be the "
                f"{self.clicks.value}: pick {why}.</i>"
            )

    def _draw(self) -> bytes:
        from keykos_lab.plot import draw_capability_graph, draw_path, new_figure, to_png

        fig, ax = new_figure((8, 6))
        draw_capability_graph(self.G, highlight=self.answer.subject, ax=ax)
        if self.answer.witness:
            draw_path(ax, self.answer.witness)
        return to_png(fig)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


__all__ = ["ConfinementExplorer"]
