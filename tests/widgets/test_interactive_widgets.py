"""The explorer and the stepper with the interactive graph view (as in JupyterLab, where a
front end is present), driven from Python: clicks pick, steps redraw, highlights follow."""

from __future__ import annotations

from keykos_lab.widgets import ConfinementExplorer, FactoryStepper


def test_the_explorer_shows_the_view_and_a_click_picks(writer_reader):
    G, writer, reader, page = writer_reader
    ex = ConfinementExplorer(G, subject=reader, sink=writer, interactive=True)
    assert ex.view.widget in ex.widget.children and ex.picture not in ex.widget.children
    assert ex.picture.value == b""  # no PNG drawn where the view shows the graph
    assert not ex.answer.flows and ex.view.state["witness"] == []
    # a click on the writer in the browser sets picked; the subject follows
    ex.view.sigma.picked = str(writer)
    assert ex.subject.value == writer
    ex.clicks.value = "sink"
    ex.view.sigma.picked = str(reader)
    assert ex.sink.value == reader and ex.answer.flows
    assert ex.view.state["witness"] == [str(v) for v in ex.answer.witness]
    assert ex.view.state["subject"] == str(writer)
    assert ex.view.state["region"] == len(ex.answer.region)


def test_a_click_on_what_cannot_be_a_subject_says_so(writer_reader):
    G, writer, reader, page = writer_reader
    ex = ConfinementExplorer(G, subject=writer, sink=reader, interactive=True)
    ex.view.pick(page)  # a page is no subject
    assert ex.subject.value == writer and "cannot be the subject" in ex.verdict.value


def test_headless_the_explorer_keeps_its_png(writer_reader):
    G, writer, reader, page = writer_reader
    ex = ConfinementExplorer(G, subject=writer, sink=reader)
    assert not ex.interactive and ex.picture in ex.widget.children
    assert ex.view.state["witness"] == [str(v) for v in ex.answer.witness]  # kept all the same


def test_the_stepper_redraws_the_view_at_each_step():
    s = FactoryStepper(interactive=True)
    assert s.view.widget in s.widget.children and s.graph not in s.widget.children
    first, sent = s.view.sigma, s.view.sigma.data
    s.next()  # buy pages
    s.next()  # build the program segment
    s.next()  # create the factory: now there is a factory to ring
    assert s.state.step == "create the factory"
    assert s.view.sigma is first and first.data != sent and s.graph.value == b""
    factory = s.controller.con.target(s.controller.keys["builder"])
    assert s.view.state["subject"] == str(factory) and s.view.state["region"] >= 1
    labels = {n["attributes"]["label"] for n in s.view.data["nodes"]}
    assert {"factory", "secret page", "image page"} <= labels
    s.reset()
    assert s.view.state["subject"] is None
