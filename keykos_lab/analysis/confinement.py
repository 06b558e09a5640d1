"""Confinement verdicts: can a domain, or a factory's yield, tell anyone but whom it may?

Lampson's question, answered over overt channels (docs/primer.md#primer-confinement,
docs/analyses.md#analyses-rules): a subject is confined when no flow path leads from it
to a freely acting domain outside ``allowed`` — the subject itself, what it creates, and
whom it may talk to. For a factory, :func:`confinement` builds the yield the factory
would make for a fresh requestor (holding only its own bank and meter) and reads the
factory's components the way the factory's own checks do, so its ``holes`` are the ones
``Compare`` counts; ``confined`` is true exactly when there are no holes and no leaks.
The console's domain tool is left out: with it the experimenter could read and change
anything, and KeyKOS keeps it closely held.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> v = confinement(k, kl.build_factory(con, "echo").requestor)
>>> v.confined, v.holes, v.leaks
(True, [], [])
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast, overload

import networkx as nx

from keykos_lab.analysis.authority import Closure, pick_engine
from keykos_lab.analysis.convert import CapabilityCSR, to_csr
from keykos_lab.analysis.explain import name
from keykos_lab.analysis.flow import flow_graph, path_to, searched
from keykos_lab.analysis.model import (
    COPY,
    FETCHER,
    REQUESTOR,
    KeyTriple,
    behaviour,
    brand,
    factory_holes,
    factory_parts,
    slot_key,
)
from keykos_lab.analysis.summaries import origin
from keykos_lab.views.schema import is_sensory

if TYPE_CHECKING:
    from keykos_lab.kernel.console import KeyHandle
    from keykos_lab.views.lab import Kernel

OUT_OF_SCOPE = (
    "timing: when and how fast the subject runs can be observed by others",
    "meters: the CPU it uses shows on the requestor's meter",
    "bank limits: the space it buys shows in the requestor's bank counters",
)
REQUESTOR_VERTEX, REQUESTOR_BANK = "requestor", "requestor's bank"


@dataclass
class Verdict:
    """The answer: ``confined``, the ``holes`` (keys that open a channel), the
    ``leaks`` (flow paths, lists of vertices, to someone not allowed),
    ``out_of_scope`` (the covert channels not analysed) and ``explanation``."""

    subject: Hashable
    confined: bool
    holes: list[KeyTriple] = field(default_factory=list)
    leaks: list[list[Hashable]] = field(default_factory=list)
    out_of_scope: tuple[str, ...] = OUT_OF_SCOPE
    explanation: list[str] = field(default_factory=list)
    #: The graph's ``label`` of each labelled vertex, for the HTML view's names.
    labels: dict[Hashable, str] = field(default_factory=dict, repr=False, compare=False)

    def __str__(self) -> str:
        head = "confined" if self.confined else "NOT confined"
        return "\n".join(
            [
                f"{self.subject!r}: {head}",
                *("  " + line for line in self.explanation),
                "  out of scope: " + "; ".join(self.out_of_scope),
            ]
        )

    def _repr_html_(self) -> str:
        """The verdict in a notebook: confined or not, the holes, the leaks, the
        explanation and what is out of scope, as plain HTML (every text escaped).

        >>> import networkx as nx
        >>> G = nx.MultiDiGraph()
        >>> for v in ("<b>a</b>", "b"): G.add_node(v, kind="domain")
        >>> _ = G.add_edge("<b>a</b>", "b", key_type="start", databyte=0, slot=0,
        ...                slot_kind="key_register")
        >>> html = confinement(G, "<b>a</b>")._repr_html_()
        >>> "NOT confined" in html, "<b>a</b>" in html, "&lt;b&gt;a&lt;/b&gt;" in html
        (True, False, True)
        """
        import html

        def esc(text: object) -> str:
            return html.escape(str(text), quote=True)

        def items(values: Iterable[object]) -> str:
            return "".join(f"<li>{esc(v)}</li>" for v in values)

        def who(v: Hashable) -> str:
            """A vertex by its label with its id beside it: ``echo factory #51``."""
            if isinstance(v, tuple) and len(v) == 3 and v[0] in ("yield", "new"):
                if v[0] == "yield":
                    return f"the yield of {who(v[1])} for {who(v[2])}"
                return f"what {who(v[2])} made with {who(v[1])}"
            label = self.labels.get(v)
            if isinstance(v, int) and not isinstance(v, bool):
                return f"{label} #{v}" if label else f"#{v}"
            return f"{label} ({v})" if label and label != str(v) else str(v)

        def hole(h: object) -> str:
            if isinstance(h, tuple) and len(h) == 3:
                target, ktype, db = h
                return f"{ktype} key (databyte {db}) to {who(target)}"
            return str(h)

        head = "confined" if self.confined else "NOT confined"
        colour = "#009e73" if self.confined else "#d55e00"  # Okabe–Ito green, vermillion
        parts = [
            f'<div class="keykos-verdict"><b>{esc(who(self.subject))}</b>: '
            f'<b style="color:{colour}">{head}</b>'
        ]
        if self.holes:
            holes = (hole(h) for h in self.holes)
            parts.append(f"<br>holes ({len(self.holes)}):<ul>{items(holes)}</ul>")
        if self.leaks:
            paths = (" → ".join(who(v) for v in leak) for leak in self.leaks)
            parts.append(f"<br>leaks ({len(self.leaks)}):<ul>{items(paths)}</ul>")
        if self.explanation:
            parts.append(f"<ul>{items(self.explanation)}</ul>")
        parts.append(f"out of scope (covert channels):<ul>{items(self.out_of_scope)}</ul></div>")
        return "".join(parts)


@overload
def confinement(
    system: Kernel,
    subject: KeyHandle,
    *,
    allowed: Iterable[Hashable] = (),
    behaviour: Mapping[Hashable, object] | None = None,
    engine: str = "auto",
) -> Verdict: ...
@overload
def confinement(
    system: nx.MultiDiGraph | CapabilityCSR,
    subject: Hashable,
    *,
    allowed: Iterable[Hashable] = (),
    behaviour: Mapping[Hashable, object] | None = None,
    engine: str = "auto",
) -> Verdict: ...
def confinement(
    system: Kernel | nx.MultiDiGraph | CapabilityCSR,
    subject: Hashable,
    *,
    allowed: Iterable[Hashable] = (),
    behaviour: Mapping[Hashable, object] | None = None,
    engine: str = "auto",
) -> Verdict:
    """Confinement of ``subject``: a factory given by a requestor's key (with
    ``system`` a kernel), or any domain of a graph (with ``system`` a graph or a
    :class:`~.convert.CapabilityCSR`). ``behaviour`` declares what trusted domains do,
    and ``engine`` picks the engine, as for :func:`~.authority.authority`: ``"csr"``
    (the default for a ``CapabilityCSR``) searches the fast engine's flow graph, for
    the same verdict on large systems (booted ones included); a kernel's factory
    verdict is the reference's.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> for v in ("a", "b", "c"): G.add_node(v, kind="domain")
    >>> _ = G.add_edge("a", "b", key_type="start", databyte=0, slot=0, slot_kind="key_register")
    >>> confinement(G, "a", allowed={"b"}).confined, confinement(G, "a").confined
    (True, False)
    >>> from keykos_lab.analysis.convert import to_csr
    >>> confinement(to_csr(G), "a", allowed={"b"}).confined
    True
    """
    if hasattr(system, "capability_graph"):
        # A kernel, so (the overloads say) a key handle.
        return _factory_verdict(
            cast("Kernel", system), cast("KeyHandle", subject), behaviour, engine
        )
    if pick_engine(system, engine) == "csr":
        return _fast_verdict(system, subject, set(allowed), behaviour)
    if isinstance(system, CapabilityCSR):
        raise ValueError(
            "the reference engine works on networkx graphs; use engine='csr' for a CapabilityCSR"
        )
    G = system
    if subject not in G or G.nodes[subject].get("kind") != "domain":
        raise ValueError(f"{subject!r} is not a domain of the graph")
    closure = Closure(G, behaviour)
    return _verdict(G, closure, subject, set(allowed), holes=[], explanation=[])


def _verdict(
    G: nx.MultiDiGraph,
    closure: Closure,
    subject: Hashable,
    allowed: Iterable[Hashable],
    holes: list[KeyTriple],
    explanation: list[str],
) -> Verdict:
    """One breadth-first search of the flow graph from ``subject``: every freely
    acting domain it reaches first outside ``allowed`` is a leak (not searched past)."""
    F = flow_graph(G, closure)
    allowed = set(allowed) | {subject}

    def outside(u: Hashable) -> bool:
        return (
            closure.behaviour(u) == "free"
            and u not in allowed
            and not _made_by(u, subject, allowed)
        )

    leaks: list[list[Hashable]] = []
    told: set[Hashable] = set()
    for u, parent in searched(F, subject, stop=lambda u: u in allowed or outside(u)):
        if u != subject and outside(u) and origin(u) not in told:
            told.add(origin(u))  # one leak per party (its summaries are its own)
            path = path_to(parent, u)
            leaks.append(path)
            explanation.append("leak: " + " → ".join(_name(G, x) for x in path))
    if not leaks and not holes:
        explanation.append("no flow path leads out to anyone it was not allowed to tell")
    labels = {v: str(d["label"]) for v, d in G.nodes(data=True) if d.get("label")}
    return Verdict(
        subject, not leaks and not holes, holes, leaks, OUT_OF_SCOPE, explanation, labels
    )


def _fast_verdict(
    system: nx.MultiDiGraph | CapabilityCSR,
    subject: Hashable,
    allowed: set[Hashable],
    behaviour: Mapping[Hashable, object] | None,
    holes: list[KeyTriple] | None = None,
    explanation: list[str] | None = None,
) -> Verdict:
    """:func:`_verdict` by the fast engine (:func:`.fast_frames.leak_paths`); the
    subject may be a summary the engine makes (a factory's yield)."""
    if behaviour:
        raise ValueError("declared behaviour needs the reference engine (a networkx graph)")
    from keykos_lab.analysis.fast_frames import leak_paths

    holes = holes or []
    explanation = explanation if explanation is not None else []
    csr = system if isinstance(system, CapabilityCSR) else to_csr(system)
    leaks, on = leak_paths(csr, subject, allowed)
    explanation += ["leak: " + " → ".join(_name(on, x) for x in path) for path in leaks]
    if not leaks and not holes:
        explanation.append("no flow path leads out to anyone it was not allowed to tell")
    labels = {v: str(d["label"]) for v, d in on.nodes(data=True) if d.get("label")}
    return Verdict(
        subject, not leaks and not holes, holes, leaks, OUT_OF_SCOPE, explanation, labels
    )


def _made_by(v: Hashable, subject: Hashable, allowed: Container[Hashable]) -> bool:
    """Whether summary vertex ``v`` stands for what ``subject`` or an allowed
    party made (fresh objects, yields it asked for)."""
    return isinstance(v, tuple) and (origin(v) == origin(subject) or origin(v) in allowed)


def _factory_verdict(
    k: Kernel,
    requestor_key: KeyHandle,
    declared: Mapping[Hashable, object] | None = None,
    engine: str = "auto",
) -> Verdict:
    con = k.console
    G = k.capability_graph()
    factory = con.target(requestor_key)
    key = con.key(requestor_key)
    if (
        factory not in G
        or behaviour(G, factory) != "factory"
        or key.databyte not in (REQUESTOR, FETCHER)
    ):
        return Verdict(
            factory,
            False,
            explanation=[
                f"{con.describe(requestor_key)} is not a requestor's key to a factory: "
                "Compare through a trusted factory would answer 2"
            ],
        )
    # The console holds the domain tool, which KeyKOS keeps closely held: with it the
    # experimenter can read and change anything, so every yield would "leak" to it.
    # Judge the system as its programs see it: without the console's domain tool.
    G.remove_edges_from(
        [
            (u, v, key)
            for u, v, key, d in G.out_edges(con.root, keys=True, data=True)
            if d["key_type"] == "domtool"
        ]
    )
    G.add_node(REQUESTOR_VERTEX, kind="domain", label="a fresh requestor", program="")
    G.add_node(REQUESTOR_BANK, kind="domain", label="its bank", program="spacebank")
    G.add_edge(
        REQUESTOR_VERTEX,
        factory,
        key_type="start",
        databyte=REQUESTOR,
        slot=0,
        slot_kind="key_register",
    )
    G.add_edge(
        REQUESTOR_VERTEX,
        REQUESTOR_BANK,
        key_type="start",
        databyte=0,
        slot=1,
        slot_kind="key_register",
    )
    the_yield = ("yield", factory, REQUESTOR_VERTEX)
    holes = factory_holes(G, factory)
    explanation: list[str] = []
    _components(G, factory, set(holes), explanation, seen=set())
    allowed: set[Hashable] = {REQUESTOR_VERTEX, the_yield}
    if engine == "csr":  # a kernel is no CapabilityCSR: "auto" is the reference
        verdict = _fast_verdict(G, the_yield, allowed, declared, holes, explanation)
    else:
        pick_engine(G, engine)  # checks the name
        verdict = _verdict(G, Closure(G, declared), the_yield, allowed, holes, explanation)
    verdict.subject = factory
    return verdict


def _components(
    G: nx.MultiDiGraph,
    factory: Hashable,
    holes: Container[KeyTriple],
    explanation: list[str],
    seen: set[Hashable],
    depth: int = 0,
) -> None:
    """Explain a factory's components the way ``fcc.ck`` judged them."""
    if factory in seen:
        return
    seen.add(factory)
    comp, extra, _ = factory_parts(G, factory)
    pad = "  " * depth
    keys = [(n, slot_key(G, comp[0], n)) for n in range(16)] if comp else []
    keys += [(16 + i, key) for i, key in enumerate(extra)]
    for n, key in keys:
        if key is None:
            continue
        target, ktype, db = key
        name = f"{pad}component {n}: {ktype} key to {_name(G, target)}"
        why = _hole_free(G, factory, target, ktype, db)
        if key in holes:
            harm = (
                "sensory, so harmless in itself, but Compare counts it"
                if why and why.startswith("sensory")
                else "every yield holds it and could use it"
            )
            explanation.append(f"{name} — a HOLE ({harm})")
        elif why == "factory":
            explanation.append(f"{name} — a factory of the same FCC; its holes are ours:")
            _components(G, target, set(factory_holes(G, target)), explanation, seen, depth + 1)
        else:
            explanation.append(f"{name} — {why or 'not sensory, yet not a hole?'}")


def _hole_free(
    G: nx.MultiDiGraph, factory: Hashable, target: Hashable, ktype: str, db: int
) -> str | None:
    """Why a component is not a hole, or None when it is one."""
    if is_sensory(ktype, db):
        return "sensory: no write or send authority, however far followed"
    if ktype != "start":
        return None
    role = behaviour(G, target)
    if target == factory and db == COPY:
        return "the factory's own copy key"
    if role == "factory" and db in (REQUESTOR, FETCHER) and brand(G, target) == brand(G, factory):
        return "factory"
    if role == "creator" and (
        brand(G, target) is None and db == 0 or brand(G, target) is not None and db in (1, 2)
    ):
        return "the FCC, or an FC without recall rights: hole-free"
    if role == "dc" and db == 1:
        return "a weakened DC: hole-free"
    return None


def _name(G: nx.MultiDiGraph, v: Hashable) -> str:
    return name(G, v)
