"""The reference authority engine's lean path (issue 22) against its plain rules.

``Closure.lean`` skips work that can make no new fact: a class reader whose class an
earlier reader already serves, the keys a newly registered reader's class holds already,
and, in the keeper rounds, each hub's gates and keeper classes worked out once instead
of once per red node. The answers must not move at all: every fact, its witness and the
order facts were made in are compared with the plain rules (``lean = False``) on random
graphs, with and without declared behaviour, and on small booted systems built through
the console. The scaling guard counts work, not time: calls to ``Closure.hold`` per fact
made, which the plain rules let grow with the system (one call per reader per key).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.analysis import random_system
from keykos_lab.analysis.authority import Closure, authority
from keykos_lab.kernel.domains import KEYS_NODE, REGS_NODE


class Plain(Closure):
    """The plain rules, every reader told every key."""

    lean = False


class Counted(Closure):
    """Counts calls to :meth:`Closure.hold` (``plain``: with the plain rules)."""

    calls = 0

    def hold(self, s: Hashable, key: Any, why: Any) -> None:
        type(self).calls += 1
        super().hold(s, key, why)


class CountedPlain(Counted):
    lean = False


def state(c: Closure) -> tuple[Any, ...]:
    """Everything the fixpoint made, in the order it made it, with every witness."""
    return (
        [(r, list(h.items())) for r, h in c.holds.items()],
        [(v, list(h.items())) for v, h in c.contents.items()],
        [(r, list(m)) for r, m in c.members.items()],
        list(c.summary.items()),
    )


def same_answers(G: nx.MultiDiGraph, subjects: list[Hashable], behaviour=None) -> None:
    lean, plain = Closure(G, behaviour), Plain(G, behaviour)
    assert state(lean) == state(plain)
    for s in subjects:
        assert lean.memory(s) == plain.memory(s)
        assert lean.deputies(s) == plain.deputies(s)


def booted(n: int, draw_bits: list[int]) -> tuple[kl.Kernel, list[Hashable]]:
    """A booted kernel with ``n`` extra domains built with console calls, as
    bench/graph.py builds them, each bit of ``draw_bits`` choosing one variation:
    a meter, a memory, a keeper (a start key to the previous domain), a new bank."""
    k = kl.Kernel()
    con = k.console
    memory, meter, domtool = kl.image(con, "echo"), con["meter"], con["domtool"]
    bank, previous = con["bank"], None
    roots = []
    for i in range(n):
        bits = draw_bits[i % len(draw_bits)]
        if bits & 8:
            bank = con.call(con["bank"], oc.SB.CreateBank).keys[0]
        root, keys_node, regs_node = con.call(bank, oc.SB.CreateThreeNodes).keys[:3]
        con.call(root, oc.Node.Swap + KEYS_NODE, keys_node)
        con.call(root, oc.Node.Swap + REGS_NODE, regs_node)
        dom = con.call(domtool, oc.DomTool.MakeDomainKey, root).keys[0]
        if bits & 1:
            con.call(dom, oc.Domain.SwapMeter, meter)
        if bits & 2:
            con.call(dom, oc.Domain.SwapMemory, memory)
        if bits & 4 and previous is not None:
            con.call(dom, oc.Domain.SwapKeeper, kl.start_key(con, previous))
        previous = dom
        roots.append(con.target(root))
    return k, roots


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_objects=st.integers(10, 60),
    keys_per_object=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    described=st.sampled_from([None, "keeps_keys", "passes_received", "caller_keys"]),
)
def test_lean_equals_plain_on_random_graphs(n_objects, keys_per_object, seed, described):
    G = random_system(n_objects, n_objects * keys_per_object, seed=seed)
    domains = [v for v in G if G.nodes[v].get("kind") == "domain"]
    behaviour = {domains[-1]: described} if described and domains else None
    same_answers(G, domains[:3], behaviour)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3), bits=st.lists(st.integers(0, 15), min_size=1, max_size=3))
def test_lean_equals_plain_on_booted_systems(n, bits):
    k, roots = booted(n, bits)
    G = k.capability_graph()
    same_answers(G, [k.console.root, *roots])
    for s in (k.console.root, roots[-1]):
        a = authority(G, s)
        Closure.lean = False
        try:
            b = authority(G, s)
        finally:
            Closure.lean = True
        assert a.equals(b)


def hold_calls(n: int) -> tuple[int, int, int]:
    """(lean calls, plain calls, facts) for a booted system with ``n`` extra domains."""
    k, _ = booted(n, [11, 3])  # as bench/graph.py: one bank, a meter and a memory each
    G = k.capability_graph()
    Counted.calls = 0
    c = Counted(G)
    lean = Counted.calls
    CountedPlain.calls = 0
    CountedPlain(G)
    facts = sum(map(len, c.holds.values())) + sum(map(len, c.contents.values()))
    return lean, CountedPlain.calls, facts


def test_work_follows_the_facts_made():
    """The lean path calls hold a few times per fact, at any size; the plain rules call
    it once per reader and key, a ratio that grows with the system. Facts themselves
    still grow faster than the domains (issue 22: a class's keys are copied into each
    class before it merges; docs/analyses.md#analyses-reference-scale)."""
    small, large = hold_calls(2), hold_calls(4)
    for lean, _, facts in (small, large):
        assert lean <= 3.5 * facts
    # Not a vacuous bound: the plain rules are far above it, and their ratio grows.
    assert small[1] > 10 * small[2]
    assert large[1] / large[2] > small[1] / small[2]
    # Work tracks facts: growing the system does not raise the lean calls per fact.
    assert large[0] / large[2] <= 1.1 * small[0] / small[2]
