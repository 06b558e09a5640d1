"""plot_reachability: the heat map's array is what the analyses say."""

import numpy as np
import pytest

from keykos_lab import readers
from keykos_lab.analysis import authority, can_flow, flows
from keykos_lab.cli import SYSTEM
from keykos_lab.plot import plot_reachability
from keykos_lab.plot._common import shorten
from keykos_lab.plot.matrix import strength


def _labels(ticks):
    return [t.get_text() for t in ticks]


def _free_domains(G):
    m = flows(G)  # rows: the freely acting domains
    return list(m.index)


def test_authority_matrix_matches_the_analysis(factory_run):
    k, _, _ = factory_run
    G = k.capability_graph()
    yields = [
        v for v, d in G.nodes(data=True) if d["kind"] == "domain" and d["label"].startswith("echo")
    ]
    subjects = [k.console.root, *yields]
    ax = plot_reachability(G, subjects)
    M = np.asarray(ax.images[0].get_array())
    per = [authority(G, s) for s in subjects]
    targets = sorted(
        {t for a in per for t in a.target if not isinstance(t, tuple) and t in G}, key=str
    )
    assert M.shape == (len(subjects), len(targets))
    assert _labels(ax.get_yticklabels()) == [G.nodes[s]["label"] for s in subjects]
    names = _labels(ax.get_xticklabels())
    assert sorted(names) == sorted(shorten(G.nodes[t]["label"], 24) for t in targets)
    assert M.min() >= 1  # every default column is reached by someone


def test_authority_cells_cross_checked():
    G = readers.read_microkit_text(SYSTEM)
    targets = ["a", "b", "channel:a:0-b:0"]
    ax = plot_reachability(G, ["a"], targets)
    M = np.asarray(ax.images[0].get_array())
    a = authority(G, "a")
    for j, t in enumerate(targets):
        rights = [r for tt, r in zip(a.target, a.rights) if tt == t]
        assert M[0, j] == max((strength(r) for r in rights), default=0)
    assert M[0, 1] == 2  # a start key to b: invoke
    assert M[0, 2] == 3  # the channel page, writable: modify
    assert _labels(ax.get_xticklabels()) == targets
    bar = ax.figure.axes[-1]
    words = [t.get_text() for t in bar.get_yticklabels()]
    assert words[0] == "none" and words[1].startswith("observe") and words[3].startswith("modify")


def test_sensory_key_is_observe_strength():
    import networkx as nx

    G = nx.MultiDiGraph()
    G.add_node("d", kind="domain", label="d", program="")
    G.add_node("p", kind="page", label="p")
    G.add_node("q", kind="page", label="q")
    G.add_edge("d", "p", key_type="page", databyte=0x80, slot=0, slot_kind="key_register")
    G.add_edge("d", "q", key_type="page", databyte=0, slot=1, slot_kind="key_register")
    ax = plot_reachability(G, "d", ["p", "q"])
    assert np.asarray(ax.images[0].get_array()).tolist() == [[1, 3]]


def test_flow_matrix_matches_can_flow(factory_run):
    k, _, _ = factory_run
    G = k.capability_graph()
    subjects = _free_domains(G)[:5]
    ax = plot_reachability(G, subjects, kind="flow")
    M = np.asarray(ax.images[0].get_array())
    assert M.shape == (len(subjects), len(subjects))
    for i, s in enumerate(subjects):
        for j, t in enumerate(subjects):
            assert M[i, j] == int(can_flow(G, s, t))


def test_flow_with_explicit_targets_and_a_no():
    spec = SYSTEM.replace('pp="true"', 'pp="false"')
    G = readers.read_microkit_text(spec)
    ax = plot_reachability(G, ["a", "b"], ["a", "b", "channel:a:0-b:0"], kind="flow")
    M = np.asarray(ax.images[0].get_array())
    expected = [[int(can_flow(G, s, t)) for t in ["a", "b", "channel:a:0-b:0"]] for s in ["a", "b"]]
    assert M.tolist() == expected
    assert "flow" in ax.get_title()


def test_bad_input():
    G = readers.read_microkit_text(SYSTEM)
    with pytest.raises(ValueError, match="kind is 'authority' or 'flow'"):
        plot_reachability(G, ["a"], kind="reach")
    with pytest.raises(ValueError, match="unknown subject 'zz'"):
        plot_reachability(G, ["a", "zz"])
    with pytest.raises(ValueError, match="unknown target 'zz'"):
        plot_reachability(G, ["a"], ["zz"])
    with pytest.raises(ValueError, match="not a domain"):
        plot_reachability(G, ["channel:a:0-b:0"])
    with pytest.raises(ValueError, match="at least one subject"):
        plot_reachability(G, [])
