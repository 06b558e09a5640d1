"""The confinement explorer's logic, without widgets: for a subject and a sink,
the authority region, the flow verdict and its witness path.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
>>> writer = con.target(kl.build_domain(con, "echo", keys={0: page}))
>>> reader = con.target(kl.build_domain(con, "echo", keys={0: ro}))
>>> G = k.capability_graph(); G.remove_node(con.root)
>>> a = ask(G, writer, reader)
>>> a.flows, len(a.witness), con.target(page) in a.region
(True, 3, True)
>>> ask(G, reader, writer).flows
False
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from keykos_lab import analysis


@dataclass(frozen=True)
class Answer:
    """``region``: what ``subject`` can come to hold keys to (itself included);
    ``witness``: a flow path subject → … → sink (vertices), or None."""

    subject: Hashable
    sink: Hashable
    region: frozenset
    witness: list | None

    @property
    def flows(self) -> bool:
        """Whether information can move from the subject to the sink."""
        return self.witness is not None

    def describe(self, name=str) -> str:
        """One sentence, vertices named by ``name`` (e.g. their labels)."""
        head = f"{name(self.subject)} can come to hold keys to {len(self.region) - 1} objects. "
        if not self.flows:
            return head + f"No overt channel carries its information to {name(self.sink)}."
        return head + (
            "Information flows to "
            + name(self.sink)
            + ": "
            + " → ".join(name(v) for v in self.witness)
            + "."
        )


def ask(G, subject: Hashable, sink: Hashable) -> Answer:
    """The authority region of ``subject`` and whether (and how) its information
    can reach ``sink`` in capability graph ``G`` (``analysis.authority`` and
    ``analysis.can_flow``)."""
    for v, what in ((subject, "subject"), (sink, "sink")):
        if v not in G:
            raise ValueError(f"{what} {v!r} is not a vertex of the graph")
    if G.nodes[subject].get("kind") != "domain":
        raise ValueError(f"subject {subject!r} is a {G.nodes[subject].get('kind')}, not a domain")
    held = analysis.authority(G, subject)
    region = frozenset(held.target) | {subject}
    return Answer(subject, sink, region, analysis.can_flow(G, subject, sink, witness=True))


__all__ = ["Answer", "ask"]
