"""The stepper's widget layer: real ipywidgets Buttons clicked, state rendered."""

import ipywidgets
import pytest

from keykos_lab.widgets import FactoryStepper


def test_the_buttons_are_real_buttons_named_as_documented():
    s = FactoryStepper(draw=False)
    assert set(s.buttons) == {"next", "back", "reset"}
    assert all(
        isinstance(b, ipywidgets.Button) and b.description == name for name, b in s.buttons.items()
    )
    assert "keykos-stepper" in s.widget._dom_classes
    assert "keykos-stepper-status" in s.status._dom_classes


def test_clicking_next_back_and_reset():
    s = FactoryStepper(draw=False)
    assert s.buttons["back"].disabled and not s.buttons["next"].disabled
    s.buttons["next"].click()
    assert s.state.step == "buy pages"
    assert s.status.value.startswith("<b>Step 1/") and "verdict" in s.status.value
    assert "Compare" in s.verdict.value and "not asked yet" in s.verdict.value
    assert "event rows in this step" in s.events.value and "<table" in s.events.value
    assert all(p.disabled for p in s.pickers.values())
    s.buttons["next"].click()
    s.buttons["back"].click()
    assert s.state.step == "buy pages"
    s.buttons["reset"].click()
    assert s.state.index == 0 and not any(p.disabled for p in s.pickers.values())


def test_clicking_through_to_the_end_shows_the_verdict():
    s = FactoryStepper(components={2: "RW page"}, draw=False)
    while not s.buttons["next"].disabled:
        s.buttons["next"].click()
    assert s.state.leaked is True
    assert "LEAKED" in s.verdict.value and "#b00020" in s.verdict.value
    assert "rc 1: has holes" in s.verdict.value and "not confined: 1 hole(s)" in s.verdict.value


def test_a_picker_change_starts_a_new_walk_with_its_steps():
    s = FactoryStepper(draw=False)
    steps = len(s.controller.names())
    s.pickers[5].value = "logger"
    assert len(s.controller.names()) == steps + 1 and s.state.index == 0
    assert "install component 5" in s.controller.names()


def test_an_error_in_a_step_is_shown_in_the_widget(monkeypatch):
    s = FactoryStepper(draw=False)

    def broken():
        raise RuntimeError("bank exhausted")

    monkeypatch.setattr(s.controller, "next", broken)
    with pytest.raises(RuntimeError):
        s.next()
    assert "bank exhausted" in s.errors.outputs[0]["text"]
    monkeypatch.undo()
    s.next()
    assert s.errors.outputs == ()


def test_the_graph_is_drawn_as_a_png():
    s = FactoryStepper()
    s.next()
    assert s.graph.value[:8] == b"\x89PNG\r\n\x1a\n" and len(s.graph.value) > 5_000
