"""Take-grant: textbook cases, the regressions of docs/analyses.md#analyses-tg-crosscheck, and
the linear algorithms against the oracle."""

import itertools
import random

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keykos_lab.analysis.takegrant import (
    Fresh,
    bridge_components,
    can_know,
    can_know_reference,
    can_share,
    can_share_reference,
    can_steal,
    can_steal_reference,
    initial_span,
    islands,
    saturate,
    terminal_span,
    tg_graph,
)

RIGHTS = "tgrw"


def checks(examples):
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


def build(n, subjects, edges):
    G = nx.DiGraph()
    G.add_nodes_from((v, {"subject": s}) for v, s in zip(range(n), subjects))
    for u, v, rights in edges:
        old = G.edges[u, v]["rights"] if G.has_edge(u, v) else frozenset()
        G.add_edge(u, v, rights=old | frozenset(rights))
    return G


@st.composite
def graphs(draw, letters=RIGHTS, all_subjects=False):
    """3-7 vertices, 2-9 edge draws (self-loops allowed; repeated pairs merge rights)."""
    n = draw(st.integers(3, 7))
    subjects = [True] * n if all_subjects else draw(st.lists(st.booleans(), min_size=n, max_size=n))
    vertex = st.integers(0, n - 1)
    edges = draw(
        st.lists(
            st.tuples(vertex, vertex, st.sets(st.sampled_from(letters), min_size=1)),
            min_size=2,
            max_size=9,
        )
    )
    return build(n, subjects, edges)


def random_graphs(seed, count):
    rng = random.Random(seed)
    for _ in range(count):
        n = rng.randint(3, 7)
        edges = [
            (rng.randrange(n), rng.randrange(n), rng.sample(RIGHTS, rng.randint(1, 2)))
            for _ in range(rng.randint(2, 9))
        ]
        yield build(n, [rng.random() < 0.5 for _ in range(n)], edges)


def holds(H, right, x, y):
    return H.has_edge(x, y) and right in H.edges[x, y]["rights"]


def simple_path_initial_span(G, x):
    """The distinct-vertex reading of the published definition: the trap of
    docs/analyses.md#analyses-tg-crosscheck."""
    T = nx.DiGraph((u, v) for u, v, d in G.edges(data=True) if "t" in d["rights"])
    T.add_node(x)
    span = {x}
    for u in T:
        paths = [[x]] if u == x else nx.all_simple_paths(T, x, u)
        for path in paths:
            span |= {v for v in G.succ[u] if "g" in G.edges[u, v]["rights"] and v not in path}
    return span


# --------------------------------------------------------------------------- textbook cases


def test_islands_and_spans():
    G = tg_graph(
        ["a", "b", "c", "d"],
        [
            ("a", "b", "t"),
            ("c", "b", "g"),
            ("d", "o", "t"),
            ("o", "p", "t"),
            ("p", "q", "g"),
            ("q", "z", "t"),
        ],
    )
    assert sorted(sorted(i) for i in islands(G)) == [["a", "b", "c"], ["d"]]
    assert terminal_span(G, "d") == {"d", "o", "p"}
    assert initial_span(G, "d") == {"d", "q"}
    assert terminal_span(G, "a") == {"a", "b"} and initial_span(G, "c") == {"c", "b"}


def test_island_members_share_everything():
    G = tg_graph(["a", "b", "c"], [("a", "b", "t"), ("c", "b", "g"), ("c", "y", "r")])
    assert all(can_share(G, "r", v, "y") for v in "abc")
    assert all(can_share_reference(G, "r", v, "y") for v in "abc")


def test_bridges():
    # a t> o t< c is no bridge: both can take from o, neither from the other
    G = tg_graph(["a", "c"], [("a", "o", "t"), ("c", "o", "t"), ("c", "y", "r")])
    assert sorted(sorted(g) for g in bridge_components(G)) == [["a"], ["c"]]
    assert not can_share(G, "r", "a", "y") and not can_share_reference(G, "r", "a", "y")
    # a t> o g> p t< c is one: a puts rights into p, c takes them
    G = tg_graph(["a", "c"], [("a", "o", "t"), ("o", "p", "g"), ("c", "p", "t"), ("c", "y", "r")])
    assert [sorted(g) for g in bridge_components(G)] == [["a", "c"]]
    assert len(islands(G)) == 2
    assert can_share(G, "r", "a", "y") and can_share_reference(G, "r", "a", "y")


def test_objects_do_not_act():
    G = tg_graph([], [("o", "p", "t"), ("p", "y", "r")])
    assert not can_share(G, "r", "o", "y") and not can_share_reference(G, "r", "o", "y")
    assert can_share(G, "r", "p", "y")  # already held


def test_tg12_spans_are_walks():
    # s t> o t> b g> o: s takes t over b from o, g over o from b, grants r over y to o
    G = tg_graph(["s"], [("s", "o", "t"), ("o", "b", "t"), ("b", "o", "g"), ("s", "y", "r")])
    assert "o" in initial_span(G, "s")
    assert "o" not in simple_path_initial_span(G, "s")  # the distinct-vertex reading misses it
    assert can_share(G, "r", "o", "y") and can_share_reference(G, "r", "o", "y")


def test_tg13_self_rights():
    # o can get r over s only from s, which must first take r over itself from v
    G = tg_graph(["s"], [("s", "o", "g"), ("s", "v", "t"), ("v", "s", "r")])
    assert can_share(G, "r", "o", "s") and can_share_reference(G, "r", "o", "s")
    assert holds(saturate(G), "r", "s", "s")


def test_all_subject_special_case():
    G = tg_graph("abcd", [("a", "b", "t"), ("c", "b", "g"), ("c", "y", "r"), ("d", "c", "r")])
    G.nodes["y"]["subject"] = True
    assert can_share(G, "r", "a", "y") and not can_share(G, "r", "d", "y")


def test_steal():
    G = tg_graph(["s", "h"], [("s", "h", "t"), ("h", "y", "r")])
    assert can_steal(G, "r", "s", "y") and can_steal_reference(G, "r", "s", "y")
    assert not can_steal(G, "r", "h", "y")  # already holds it
    G = tg_graph(["s", "h"], [("h", "s", "g"), ("h", "y", "r")])
    assert can_share(G, "r", "s", "y") and not can_steal(G, "r", "s", "y")
    assert not can_steal_reference(G, "r", "s", "y")


def test_steal_object_whose_only_spanner_is_a_holder():
    # docs/analyses.md#analyses-tg-crosscheck: the published theorem says yes, but only h
    # could pass r over y on to o
    G = tg_graph(["h"], [("h", "o", "g"), ("h", "y", "r")])
    assert initial_span(G, "h") == {"h", "o"}
    assert can_share(G, "r", "o", "y")
    assert not can_steal(G, "r", "o", "y") and not can_steal_reference(G, "r", "o", "y")


def test_steal_object_spanner_appears_later():
    # docs/analyses.md#analyses-tg-crosscheck: o's only initial spanner h is a holder, so
    # "x' not a holder" says no; but
    # w takes r over y from k, gets g over o granted by h, and grants r over y to o
    G = tg_graph(
        ["w", "h", "k"],
        [("h", "o", "g"), ("h", "y", "r"), ("h", "w", "g"), ("w", "k", "t"), ("k", "y", "r")],
    )
    assert [s for s in "whk" if "o" in initial_span(G, s)] == ["h"]
    assert can_steal(G, "r", "o", "y") and can_steal_reference(G, "r", "o", "y")


def test_steal_take_right_held_by_target_itself():
    # y is the only holder of t over y: taking it from y would need t over y already
    G = tg_graph(["a", "y"], [("y", "y", "tg"), ("y", "a", "g")])
    assert can_share(G, "t", "a", "y")
    assert not can_steal(G, "t", "a", "y") and not can_steal_reference(G, "t", "a", "y")


@pytest.mark.parametrize(
    "rule, edges, subjects, x, y",
    [
        ("post", [("x", "z", "r"), ("y", "z", "w")], "xy", "x", "y"),
        ("pass", [("z", "y", "r"), ("z", "x", "w")], "z", "x", "y"),
        ("spy", [("z", "y", "r"), ("x", "z", "r")], "xz", "x", "y"),
        ("find", [("z", "y", "w"), ("y", "x", "w")], "yz", "x", "z"),
    ],
)
def test_de_facto_rules(rule, edges, subjects, x, y):
    G = tg_graph(subjects, edges)
    assert can_know(G, x, y) and can_know_reference(G, x, y), rule
    assert not can_know(G, y, x) and not can_know_reference(G, y, x), rule
    for v in subjects:  # each rule needs every actor to be a subject
        H = G.copy()
        H.nodes[v]["subject"] = False
        assert not can_know(H, x, y) and not can_know_reference(H, x, y), (rule, v)


def test_know_through_de_jure_moves():
    G = tg_graph(["a", "b"], [("a", "b", "g"), ("b", "y", "r")])  # a bridge: a mailbox both ways
    assert can_know(G, "a", "y") and can_know(G, "b", "a") and can_know(G, "a", "b")
    assert not can_know(G, "y", "a") and can_know(G, "y", "y")
    assert all(can_know_reference(G, *q) for q in [("a", "y"), ("b", "a"), ("a", "b")])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda G: can_share(G, "r", "nope", "y"), ValueError, "not in the graph"),
        (lambda G: can_share(G, "tg", "s", "y"), ValueError, "single letter"),
        (lambda G: can_steal(G, 5, "s", "y"), TypeError, "one-letter str"),
        (lambda G: can_know(G, "s", "nope"), ValueError, "not in the graph"),
        (lambda G: initial_span(G, "y"), ValueError, "object"),
        (lambda G: terminal_span(G, "nope"), ValueError, "not in the graph"),
        (lambda G: saturate(G, fresh=-1), ValueError, "fresh"),
        (lambda G: islands(nx.MultiDiGraph(G)), TypeError, "DiGraph"),
        (lambda G: islands(G.to_undirected()), TypeError, "DiGraph"),
    ],
)
def test_bad_calls(call, exc, match):
    G = tg_graph(["s"], [("s", "y", "r")])
    with pytest.raises(exc, match=match):
        call(G)


@pytest.mark.parametrize(
    "spoil, exc, match",
    [
        (lambda G: G.add_node("q"), ValueError, "'subject' attribute"),
        (lambda G: G.add_node("q", subject="yes"), TypeError, "must be a bool"),
        (lambda G: G.add_edge("s", "y", rights="r"), TypeError, "set or frozenset"),
        (lambda G: G.add_edge("s", "y", rights={"read"}), ValueError, "single letter"),
        (lambda G: G.add_edge("s", "q", rights={"r"}), ValueError, "'subject' attribute"),
    ],
)
def test_bad_graphs(spoil, exc, match):
    G = tg_graph(["s"], [("s", "y", "r")])
    spoil(G)
    for call in (
        islands,
        lambda G: can_share(G, "r", "s", "y"),
        saturate,
        lambda G: can_know_reference(G, "s", "y"),
    ):
        with pytest.raises(exc, match=match):
            call(G)


# --------------------------------------------------------------------------- against the oracle


@checks(120)
@given(graphs())
def test_can_share_equals_saturation(G):
    H = saturate(G)
    for right, x, y in itertools.product(RIGHTS, G, G):
        assert can_share(G, right, x, y) == holds(H, right, x, y), (right, x, y)


@checks(200)
@given(graphs(), st.sampled_from(RIGHTS), st.integers(0, 6))
def test_can_steal_equals_restricted_derivations(G, right, y):
    y %= len(G)
    for x in G:  # subjects and objects
        assert can_steal(G, right, x, y) == can_steal_reference(G, right, x, y), x


@checks(200)
@given(graphs(), st.integers(0, 6))
def test_can_know_equals_reference(G, y):
    y %= len(G)
    for x in G:
        assert can_know(G, x, y) == can_know_reference(G, x, y), x


@checks(60)
@given(graphs(all_subjects=True))
def test_all_subjects_is_tg_connectivity(G):
    U = nx.Graph((u, v) for u, v, d in G.edges(data=True) if d["rights"] & {"t", "g"})
    U.add_nodes_from(G)
    for right, x, y in itertools.product(RIGHTS, G, G):
        sources = {v for v in G.pred[y] if right in G.edges[v, y]["rights"]}
        expected = bool(sources & nx.node_connected_component(U, x))
        assert can_share(G, right, x, y) == expected, (right, x, y)


@checks(100)
@given(graphs(letters="rwx"))
def test_know_without_tg_is_hops_by_subjects(G):
    hops = nx.DiGraph()
    hops.add_nodes_from(G)
    for u, v, d in G.edges(data=True):
        if G.nodes[u]["subject"] and "r" in d["rights"]:
            hops.add_edge(v, u)
        if G.nodes[u]["subject"] and "w" in d["rights"]:
            hops.add_edge(u, v)
    for x, y in itertools.product(G, G):
        assert can_know(G, x, y) == (x == y or nx.has_path(hops, y, x)), (x, y)


@checks(100)
@given(graphs())
def test_spans_and_bridges_by_definition(G):
    T = nx.DiGraph((u, v) for u, v, d in G.edges(data=True) if "t" in d["rights"])
    T.add_nodes_from(G)
    subjects = {v for v in G if G.nodes[v]["subject"]}
    for s in subjects:
        takes = nx.descendants(T, s) | {s}
        assert terminal_span(G, s) == takes
        assert initial_span(G, s) == {s} | {
            v for u in takes for v in G.succ[u] if "g" in G.edges[u, v]["rights"]
        }
    groups = bridge_components(G)
    assert set().union(*groups) == subjects
    assert sum(map(len, groups)) == len(subjects)
    assert all(any(i <= g for g in groups) for i in islands(G))


@checks(25)
@given(graphs(letters="tgr"))
def test_one_fresh_object_is_enough(G):
    one, two = saturate(G, fresh=1), saturate(G, fresh=2)
    for u, v in itertools.product(G, G):
        assert holds(one, "r", u, v) == holds(two, "r", u, v)
        assert holds(one, "t", u, v) == holds(two, "t", u, v)
    assert not any(isinstance(v, Fresh) and v.index > 0 for v in one)


def test_oracles_are_not_trivial():
    """The comparisons above would catch a constant answer: each oracle says yes and no."""
    answers = {"share": set(), "steal": set(), "know": set(), "object": set()}
    for G in random_graphs(7, 30):
        for x, y in itertools.product(G, G):
            answers["share"].add(can_share_reference(G, "r", x, y))
            answers["steal"].add(can_steal_reference(G, "r", x, y))
            answers["know"].add(can_know_reference(G, x, y))
            if not G.nodes[x]["subject"]:
                answers["object"].add(can_share_reference(G, "r", x, y))
    assert all(a == {True, False} for a in answers.values()), answers
