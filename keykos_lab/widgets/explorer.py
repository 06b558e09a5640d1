"""``ConfinementExplorer``: pick a subject and a sink, see the subject's authority
region, the flow verdict and the witness path drawn on the capability graph.

>>> import keykos_lab as kl
>>> k = kl.Kernel()
>>> ex = ConfinementExplorer(k.capability_graph(), draw=False)
>>> ex.subject.value == k.console.root, ex.answer.flows
(True, True)
"""

from __future__ import annotations

import html
from collections.abc import Hashable

import ipywidgets as w

from keykos_lab.widgets.confinement_query import Answer, ask


class ConfinementExplorer:
    """Dropdowns ``subject`` (the graph's domains) and ``sink`` (every vertex);
    ``answer`` is the current :class:`~.confinement_query.Answer`, ``verdict``
    the HTML line that states it, ``picture`` the drawing (a PNG ``Image``). ``draw=False`` leaves
    the drawing out (tests)."""

    def __init__(
        self, G, subject: Hashable | None = None, sink: Hashable | None = None, *, draw: bool = True
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
        for dropdown in (self.subject, self.sink):
            dropdown.observe(lambda _: self._update(), names="value")
        self.widget = w.VBox(
            [w.HBox([self.subject, self.sink]), self.verdict, self.picture]
        ).add_class("keykos-explorer")
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
        if self.draw:
            self.picture.value = self._draw()

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
