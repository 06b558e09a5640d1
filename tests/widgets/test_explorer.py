"""The confinement explorer: subject and sink picked, verdict and witness drawn."""

import networkx as nx
import pytest

import keykos_lab as kl
from keykos_lab.widgets import ConfinementExplorer, ask


def test_ask_matches_the_analyses(writer_reader):
    G, writer, reader, page = writer_reader
    a = ask(G, writer, reader)
    assert a.flows and a.witness[0] == writer and a.witness[-1] == reader
    assert a.witness == kl.analysis.can_flow(G, writer, reader, witness=True)
    assert a.region == frozenset(kl.analysis.authority(G, writer).target) | {writer}
    assert page in a.region
    back = ask(G, reader, writer)
    assert not back.flows and back.witness is None
    assert "No overt channel" in back.describe()


def test_ask_refuses_what_is_not_there(writer_reader):
    G, writer, reader, page = writer_reader
    with pytest.raises(ValueError, match="not a vertex"):
        ask(G, "nobody", reader)
    with pytest.raises(ValueError, match="not a domain"):
        ask(G, page, reader)


def test_the_dropdowns_drive_the_answer(writer_reader):
    G, writer, reader, _ = writer_reader
    ex = ConfinementExplorer(G, subject=writer, sink=reader, draw=False)
    assert ex.answer.flows and "Information flows" in ex.verdict.value
    ex.subject.value, ex.sink.value = reader, writer
    assert not ex.answer.flows and "No overt channel" in ex.verdict.value


def test_the_witness_is_drawn_on_the_graph(writer_reader):
    G, writer, reader, _ = writer_reader
    ex = ConfinementExplorer(G, subject=writer, sink=reader)
    assert ex.picture.value[:4] == b"\x89PNG"


def test_a_graph_without_domains_is_refused():
    G = nx.MultiDiGraph()
    G.add_node("p", kind="page")
    with pytest.raises(ValueError, match="no domain"):
        ConfinementExplorer(G)
