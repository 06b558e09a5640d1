"""The take-grant protection model: linear-time decisions and a brute-force oracle.

A take-grant graph is a ``networkx.DiGraph`` whose vertices carry ``subject``
(bool) and whose edges carry ``rights``, a set or frozenset of single letters.
``t`` (take) and ``g`` (grant) move authority; ``r`` (read) and ``w`` (write)
move information (used by :func:`can_know`); any other letter is inert.
Sources: docs/analyses.md#analyses-takegrant (Jones-Lipton-Snyder 1976, Lipton-Snyder 1977,
Snyder 1981, Bishop-Snyder 1979).

Conventions fixed here (the brute-force cross-check of docs/analyses.md#analyses-tg-crosscheck
depends on them):

* **Self-rights.** A vertex may hold a right over itself (an edge ``x -> x``,
  in the input or derived), and take and grant apply with no distinctness
  requirement on the new edge's endpoints: if ``v -r-> s`` and subject ``s``
  holds ``t`` over ``v``, then ``s`` takes ``s -r-> s`` and may grant it on.
  Without this the walk-based theorem over-approximates (TG-13 in
  docs/analyses.md#analyses-tg-crosscheck).
* **Walks, not simple paths.** Spans, bridges and connections are
  regular-language reachability over *walks* (vertices may repeat), computed
  as breadth-first search in the product of the graph with a small automaton,
  so every decision is O(V + E) (a fixed number of such searches). With
  simple paths the theorem misses derivations (TG-12 in docs/analyses.md#analyses-tg-crosscheck).
* **Created vertices.** The oracle (:func:`saturate`) gives each subject
  ``fresh`` new objects (default 1), its creator holding ``{t, g, r, w}`` over
  each.
* **Exactness.** :func:`can_share` (subject or object ``x``), :func:`can_steal`
  (subject or object ``x``) and :func:`can_know` equal their ``*_reference``
  oracles in the property tests (tests/analysis/test_takegrant.py); that is
  checked, not proved here. :func:`can_steal` is the published theorem only
  for a subject ``x`` (plus one refinement for ``y -t-> y``); its object case
  is our own reduction (see its docstring).

Information flow (:func:`can_know`). The orientation below is marked [M] in
docs/analyses.md#analyses-takegrant-theorems (from memory, not re-checked against Bishop & Snyder
1979), as is the can-know theorem :func:`can_know` implements. An edge
``u -r-> v`` lets information go ``v => u``, and ``u -w-> v`` lets it go
``u => v``; either hop happens only if its holder ``u`` is a subject. The de
facto rules add an implicit read edge (``=>`` is the resulting flow):

* post: x reads z, y writes z (x, y subjects): y => x;
* pass: z reads y, z writes x (z a subject): y => x;
* spy: x reads z, z reads y (x, z subjects): y => x;
* find: z writes y, y writes x (y, z subjects): z => x.

Implicit edges compose like explicit ones, so the closure of the four rules
is reachability along hops. ``x`` can know ``y`` if ``x == y`` or information
can reach ``x`` from ``y`` after any take/grant/create moves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

import networkx as nx

__all__ = [
    "Fresh",
    "bridge_components",
    "can_know",
    "can_know_reference",
    "can_share",
    "can_share_reference",
    "can_steal",
    "can_steal_reference",
    "initial_span",
    "islands",
    "saturate",
    "terminal_span",
    "tg_graph",
]

FRESH_RIGHTS = frozenset("tgrw")


# --------------------------------------------------------------------------- input checks


def _check_right(right: object, where: str = "right") -> None:
    if not isinstance(right, str):
        raise TypeError(f"{where} must be a one-letter str such as 't' or 'r', got {right!r}")
    if len(right) != 1 or not right.isalpha():
        raise ValueError(f"{where} must be a single letter such as 't' or 'r', got {right!r}")


def _check_graph(G: object) -> None:
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise TypeError(f"expected a networkx.DiGraph, got {type(G).__name__}")
    for v, d in G.nodes(data=True):
        if "subject" not in d:
            raise ValueError(
                f"vertex {v!r} has no 'subject' attribute; "
                "set G.nodes[v]['subject'] = True or False on every vertex"
            )
        if not isinstance(d["subject"], bool):
            raise TypeError(f"vertex {v!r}: 'subject' must be a bool, got {d['subject']!r}")
    for u, v, d in G.edges(data=True):
        rights = d.get("rights")
        if not isinstance(rights, set | frozenset):
            raise TypeError(
                f"edge {u!r} -> {v!r}: 'rights' must be a set or frozenset of "
                f"letters, got {rights!r}"
            )
        for a in rights:
            _check_right(a, f"edge {u!r} -> {v!r}: each right")


def _check(G: nx.DiGraph, *vertices: Hashable, right: object = None) -> None:
    _check_graph(G)
    if right is not None:
        _check_right(right)
    for v in vertices:
        if v not in G:
            raise ValueError(f"vertex {v!r} is not in the graph")


def _subject(G: nx.DiGraph, v: Hashable) -> bool:
    return G.nodes[v]["subject"]


def _rights(G: nx.DiGraph, u: Hashable, v: Hashable) -> frozenset[str]:
    return frozenset(G.succ[u][v]["rights"]) if G.has_edge(u, v) else frozenset()


def _holders(G: nx.DiGraph, right: str, targets: Iterable[Hashable]) -> set[Hashable]:
    """Vertices v with v -right-> y for some y in targets."""
    return {v for y in targets for v, d in G.pred[y].items() if right in d["rights"]}


# --------------------------------------------------------------------------- walks × automata
# A walk step along u -a-> v is labelled "a>" (from u to v) or "a<" (from v to u).
# Automata: {state: {label: next state}}, start state 0.
_DFA: TypeAlias = dict[int, dict[str, int]]

TAKES = {0: {"t>": 0}}  # t>*          terminal span
TAKEN_FROM = {0: {"t<": 0}}  # t<*          (reversed)
GIVES = {0: {"t>": 0, "g>": 1}, 1: {}}  # t>* g>       initial span
GIVEN_FROM = {0: {"g<": 1}, 1: {"t<": 1}}  # g< t<*       (reversed)
BRIDGE = {
    0: {"t>": 1, "t<": 2, "g>": 2, "g<": 2},  # t>* | t<* | t>* g> t<* | t>* g< t<*
    1: {"t>": 1, "g>": 2, "g<": 2},
    2: {"t<": 2},
}
WRITES = {0: {"t>": 0, "w>": 1}, 1: {}}  # t>* w>       rw-initial span
READ_FROM = {0: {"r<": 1}, 1: {"t<": 1}}  # r< t<*       rw-terminal (reversed)
LEARNS_FROM = {
    0: {"r<": 3, "t>": 1, "w>": 2},  # reversed connections:
    1: {"t>": 1, "w>": 2},  # r< t<* | t>* w> | t>* w> r< t<*
    2: {"r<": 3},
    3: {"t<": 3},
}


def _steps(G: nx.DiGraph, v: Hashable) -> Iterator[tuple[Hashable, str]]:
    for u, d in G.succ[v].items():
        for a in d["rights"]:
            yield u, a + ">"
    for u, d in G.pred[v].items():
        for a in d["rights"]:
            yield u, a + "<"


def _reach(G: nx.DiGraph, starts: Iterable[Hashable], dfa: _DFA, accept: set[int]) -> set[Hashable]:
    """Vertices at the end of a walk from a start vertex whose word ``dfa`` accepts."""
    seen = {(s, 0) for s in starts}
    queue = deque(seen)
    while queue:
        v, q = queue.popleft()
        for u, label in _steps(G, v):
            nq = dfa[q].get(label)
            if nq is not None and (u, nq) not in seen:
                seen.add((u, nq))
                queue.append((u, nq))
    return {v for v, q in seen if q in accept}


def _chain(
    G: nx.DiGraph, seeds: Iterable[Hashable], automata: list[tuple[_DFA, set[int]]]
) -> set[Hashable]:
    """Subjects linked to a seed by a chain of walks, each accepted by one of ``automata``.

    Multi-source search in the product graph: a subject reached in an accepting
    state becomes a new source. Each (vertex, automaton, state) is visited once.
    """
    found = set(seeds)
    seen = {(s, i, 0) for s in found for i in range(len(automata))}
    queue = deque(seen)
    while queue:
        v, i, q = queue.popleft()
        dfa, accept = automata[i]
        for u, label in _steps(G, v):
            nq = dfa[q].get(label)
            if nq is None:
                continue
            new = [(u, i, nq)]
            if nq in accept and _subject(G, u) and u not in found:
                found.add(u)
                new += [(u, j, 0) for j in range(len(automata))]
            for item in new:
                if item not in seen:
                    seen.add(item)
                    queue.append(item)
    return found


def _sharers(G: nx.DiGraph, right: str, targets: Iterable[Hashable]) -> set[Hashable]:
    """Vertices meeting conditions 1-4 of the can-share theorem for some y in targets."""
    seeds = {v for v in _reach(G, _holders(G, right, targets), TAKEN_FROM, {0}) if _subject(G, v)}
    group = _chain(G, seeds, [(BRIDGE, {0, 1, 2})])
    return group | _reach(G, group, GIVES, {1})


# --------------------------------------------------------------------------- public: structure


def tg_graph(
    subjects: Iterable[Hashable], edges: Iterable[tuple[Hashable, Hashable, Iterable[str]]]
) -> nx.DiGraph:
    """Build a take-grant graph: ``(u, v, rights)`` triples, every other vertex an object.

    ``rights`` may be a string of letters (``"tg"``) or a collection of letters.

    >>> G = tg_graph(["s"], [("s", "o", "tg"), ("o", "y", "r")])
    >>> G.nodes["o"]["subject"], sorted(G.edges["s", "o"]["rights"])
    (False, ['g', 't'])
    """
    G: nx.DiGraph[Hashable] = nx.DiGraph()
    subjects = set(subjects)
    G.add_nodes_from(subjects, subject=True)
    for u, v, rights in edges:
        for w in (u, v):
            if w not in G:
                G.add_node(w, subject=False)
        old = G.edges[u, v]["rights"] if G.has_edge(u, v) else frozenset()
        G.add_edge(u, v, rights=old | frozenset(rights))
    _check_graph(G)
    return G


def islands(G: nx.DiGraph) -> list[frozenset[Hashable]]:
    """Maximal sets of subjects joined by t or g edges (either direction) between subjects.

    Inside an island every right one member holds can be obtained by every other.

    >>> G = tg_graph(["a", "b", "c"], [("a", "b", "t"), ("c", "o", "g")])
    >>> sorted(sorted(i) for i in islands(G))
    [['a', 'b'], ['c']]
    """
    _check(G)
    H: nx.Graph[Hashable] = nx.Graph()
    H.add_nodes_from(v for v in G if _subject(G, v))
    H.add_edges_from(
        (u, v) for u, v, d in G.edges(data=True) if d["rights"] & {"t", "g"} and u in H and v in H
    )
    return [frozenset(c) for c in nx.connected_components(H)]


def bridge_components(G: nx.DiGraph) -> list[frozenset[Hashable]]:
    """Groups of subjects linked by chains of bridges (so: unions of islands).

    A bridge is a walk between two subjects whose word is in
    ``t>* | t<* | t>* g> t<* | t>* g< t<*``; every t/g edge between two subjects
    is one, so each group is a union of :func:`islands`.

    >>> G = tg_graph(["a", "b", "c"], [("a", "o", "t"), ("o", "b", "g"), ("c", "p", "t")])
    >>> sorted(sorted(c) for c in bridge_components(G)), len(islands(G))
    ([['a', 'b'], ['c']], 3)
    """
    _check(G)
    groups: list[frozenset[Hashable]] = []
    for s in G:
        if _subject(G, s) and not any(s in c for c in groups):
            groups.append(frozenset(_chain(G, {s}, [(BRIDGE, {0, 1, 2})])))
    return groups


def initial_span(G: nx.DiGraph, x: Hashable) -> set[Hashable]:
    """Vertices that subject ``x`` initially spans to (walk word ``t>* g>``, or x itself).

    These are the vertices ``x`` can *give* rights to.

    >>> G = tg_graph(["s"], [("s", "o", "t"), ("o", "b", "t"), ("b", "o", "g")])
    >>> sorted(initial_span(G, "s"))  # s t> o t> b g> o: a walk, o repeats
    ['o', 's']
    """
    _check(G, x)
    if not _subject(G, x):
        raise ValueError(f"spans start at a subject; {x!r} is an object")
    return {x} | _reach(G, {x}, GIVES, {1})


def terminal_span(G: nx.DiGraph, x: Hashable) -> set[Hashable]:
    """Vertices that subject ``x`` terminally spans to (walk word ``t>*``, including x).

    These are the vertices whose rights ``x`` can *take*.

    >>> G = tg_graph(["s"], [("s", "o", "t"), ("o", "b", "t"), ("b", "c", "g")])
    >>> sorted(terminal_span(G, "s"))
    ['b', 'o', 's']
    """
    _check(G, x)
    if not _subject(G, x):
        raise ValueError(f"spans start at a subject; {x!r} is an object")
    return _reach(G, {x}, TAKES, {0})


# --------------------------------------------------------------------------- public: decisions


def can_share(G: nx.DiGraph, right: str, x: Hashable, y: Hashable) -> bool:
    """Can ``x`` come to hold ``right`` over ``y`` if all subjects cooperate? O(V + E).

    Lipton-Snyder: x already holds it, or some y' -right-> y, a subject y''
    terminally spans to y', a subject x' initially spans to x, and x', y'' are
    linked by bridges (spans and bridges over walks; self-rights allowed).

    >>> G = tg_graph(["s"], [("s", "o", "t"), ("o", "b", "t"), ("b", "o", "g"), ("s", "y", "r")])
    >>> can_share(G, "r", "o", "y"), can_share(G, "w", "o", "y")
    (True, False)
    """
    _check(G, x, y, right=right)
    return right in _rights(G, x, y) or x in _sharers(G, right, {y})


def can_steal(G: nx.DiGraph, right: str, x: Hashable, y: Hashable) -> bool:
    """Can ``x`` get ``right`` over ``y`` without any original holder granting it? O(V + E).

    For a subject x, Snyder's theorem (docs/analyses.md#analyses-takegrant-theorems): x does not
    hold it
    yet and some subject x' (x itself, or one initially spanning to x) can share
    ``t`` over an original holder s. Refinement of ours: for ``right == "t"``
    the holder s == y (a self-edge ``y -t-> y``) does not count, since taking
    from y needs t over y already. For an object x the published test is wrong
    (docs/analyses.md#analyses-tg-crosscheck). An object only receives by a grant, so we ask
    instead (our
    reduction, not published) whether some subject w that is no holder and
    passes the subject test can also come to hold ``g`` over x. Refinement and
    reduction agree with :func:`can_steal_reference` in the property tests;
    neither is proved here.

    >>> G = tg_graph(["s", "h"], [("s", "h", "t"), ("h", "y", "r"), ("h", "o", "g")])
    >>> can_steal(G, "r", "s", "y"), can_steal(G, "r", "h", "y")
    (True, False)
    >>> can_steal(G, "r", "o", "y")  # s takes r over y and g over o from h, then grants
    True
    >>> G.remove_edge("s", "h")  # now only h, a holder, could pass r over y on to o
    >>> can_steal(G, "r", "o", "y"), can_share(G, "r", "o", "y")
    (False, True)
    """
    _check(G, x, y, right=right)
    holders = _holders(G, right, {y})
    if x in holders:
        return False
    sources = holders - {y} if right == "t" else holders  # t over y is what y -t-> y needs
    takers = {v for v in _sharers(G, "t", sources) if _subject(G, v)}
    thieves = {v for v in takers | _reach(G, takers, GIVES, {1}) if _subject(G, v)} - holders
    if _subject(G, x):
        return x in thieves
    return bool(thieves & (_sharers(G, "g", {x}) | _holders(G, "g", {x})))


def can_know(G: nx.DiGraph, x: Hashable, y: Hashable) -> bool:
    """Can information held in ``y`` reach ``x`` (de jure and de facto rules)? O(V + E).

    Bishop-Snyder [M]: x == y, or subjects u1 ... un with u1 == x or u1
    rw-initially spanning to x (word ``t>* w>``), un == y or un rw-terminally
    spanning to y (``t>* r>``), and each u(i) linked to u(i+1) by a bridge or a
    connection (``t>* r> | w< t<* | t>* r> w< t<*``, u(i) learning from u(i+1)).
    Orientation of the rules: see the module docstring.

    >>> G = tg_graph(["a", "b"], [("a", "m", "r"), ("b", "m", "w"), ("b", "y", "r")])
    >>> can_know(G, "a", "y"), can_know(G, "y", "a")
    (True, False)
    """
    _check(G, x, y)
    if x == y:
        return True
    seeds = {v for v in _reach(G, {y}, READ_FROM, {1}) | {y} if _subject(G, v)}
    knowers = _chain(G, seeds, [(BRIDGE, {0, 1, 2}), (LEARNS_FROM, {2, 3})])
    return x in knowers or x in _reach(G, knowers, WRITES, {1})


# --------------------------------------------------------------------------- brute force oracle


@dataclass(frozen=True)
class Fresh:
    """A vertex made by :func:`saturate`: the ``index``-th object created by ``creator``.

    >>> Fresh("s", 0)
    Fresh(creator='s', index=0)
    """

    creator: Hashable
    index: int


def _closure(
    G: nx.DiGraph,
    fresh: int,
    grantable: Callable[[Hashable, Hashable, set[str]], set[str]] | None = None,
) -> dict[Hashable, dict[Hashable, set[str]]]:
    """Rights after applying take and grant to a fixpoint: {u: {v: set of rights}}.

    ``grantable(x, y, rights)`` filters what subject x may grant over y.
    """
    if not isinstance(fresh, int) or fresh < 0:
        raise ValueError(f"fresh must be a non-negative int, got {fresh!r}")
    subjects = [v for v in G if _subject(G, v)]
    R: dict[Hashable, dict[Hashable, set[str]]] = {
        v: {u: set(d["rights"]) for u, d in G.succ[v].items()} for v in G
    }
    for s in subjects:
        for i in range(fresh):
            R[Fresh(s, i)] = {}
            R[s][Fresh(s, i)] = set(FRESH_RIGHTS)
    changed = True
    while changed:
        changed = False
        for x in subjects:
            for z, held in list(R[x].items()):
                moves: list[tuple[Hashable, Hashable, set[str]]] = []
                if "t" in held:  # take: x gets what z holds
                    moves += [(x, y, set(a)) for y, a in R[z].items()]
                if "g" in held:  # grant: z gets what x holds
                    moves += [
                        (z, y, grantable(x, y, a) if grantable else set(a)) for y, a in R[x].items()
                    ]
                for u, y, a in moves:
                    have = R[u].setdefault(y, set())
                    if not a <= have:
                        have |= a
                        changed = True
    return R


def saturate(G: nx.DiGraph, fresh: int = 1) -> nx.DiGraph:
    """Apply take and grant until nothing changes, after giving each subject new objects.

    Each subject first creates ``fresh`` objects (:class:`Fresh` vertices) over
    which it holds ``{t, g, r, w}``. Rights only grow, so the result holds every
    edge any derivation can produce (self-rights allowed). O(V^3) per round;
    meant for small graphs, as the oracle for the linear-time functions.

    >>> G = tg_graph(["s"], [("s", "o", "t"), ("o", "b", "t"), ("b", "o", "g"), ("s", "y", "r")])
    >>> H = saturate(G)
    >>> sorted(H.edges["o", "y"]["rights"]), H.nodes[Fresh("s", 0)]["subject"]
    (['r'], False)
    """
    _check(G)
    R = _closure(G, fresh)
    H: nx.DiGraph[Hashable] = nx.DiGraph()
    H.add_nodes_from(G.nodes(data=True))
    H.add_nodes_from((v for v in R if isinstance(v, Fresh)), subject=False)
    H.add_edges_from(
        (u, v, {"rights": frozenset(a)})
        for u in R
        for v, a in R[u].items()
        if a or G.has_edge(u, v)
    )
    return H


def can_share_reference(
    G: nx.DiGraph, right: str, x: Hashable, y: Hashable, fresh: int = 1
) -> bool:
    """Oracle for :func:`can_share`: does ``x -right-> y`` appear in :func:`saturate`?

    >>> G = tg_graph(["s"], [("s", "o", "t"), ("o", "b", "t"), ("b", "o", "g"), ("s", "y", "r")])
    >>> can_share_reference(G, "r", "o", "y")
    True
    """
    _check(G, x, y, right=right)
    return right in _closure(G, fresh)[x].get(y, ())


def can_steal_reference(
    G: nx.DiGraph, right: str, x: Hashable, y: Hashable, fresh: int = 1
) -> bool:
    """Oracle for :func:`can_steal`, by exhausting derivations in which no holder grants.

    A derivation may use every take and grant except an original holder of
    ``right`` over ``y`` granting ``right`` over ``y``. That restriction names
    fixed vertices, so the restricted rules are still monotone and their
    fixpoint (computed as in :func:`saturate`) contains every edge that some
    restricted derivation produces.

    >>> G = tg_graph(["h"], [("h", "o", "g"), ("h", "y", "r")])
    >>> can_share_reference(G, "r", "o", "y"), can_steal_reference(G, "r", "o", "y")
    (True, False)
    """
    _check(G, x, y, right=right)
    holders = _holders(G, right, {y})
    if x in holders:
        return False

    def grantable(v: Hashable, target: Hashable, rights: set[str]) -> set[str]:
        return rights - {right} if v in holders and target == y else set(rights)

    return right in _closure(G, fresh, grantable)[x].get(y, ())


def can_know_reference(G: nx.DiGraph, x: Hashable, y: Hashable, fresh: int = 1) -> bool:
    """Oracle for :func:`can_know`: reachability along read/write hops in :func:`saturate`.

    A hop ``v => u`` for each ``u -r-> v`` and ``u => v`` for each ``u -w-> v``,
    with ``u`` a subject; the de facto rules compose such hops.

    >>> G = tg_graph(["a", "b"], [("a", "m", "r"), ("b", "m", "w"), ("b", "y", "r")])
    >>> can_know_reference(G, "a", "y"), can_know_reference(G, "y", "a")
    (True, False)
    """
    _check(G, x, y)
    if x == y:
        return True
    R = _closure(G, fresh)
    flow: nx.DiGraph[Hashable] = nx.DiGraph()
    flow.add_nodes_from(R)
    for u in G:
        if _subject(G, u):
            flow.add_edges_from((v, u) for v, a in R[u].items() if "r" in a)
            flow.add_edges_from((u, v) for v, a in R[u].items() if "w" in a)
    return nx.has_path(flow, y, x)
