"""The stepper's controller: the walk, replay, verdicts, and bad input."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab.widgets import CHOICES, FactorySteps
from keykos_lab.widgets.factory_steps import HOLE_CHOICES, PICKABLE


def walk_to_end(walk):
    while walk.next():
        pass
    return walk.state


def test_the_default_walk_builds_a_discreet_factory_whose_yield_cannot_leak():
    walk = FactorySteps()
    assert str(walk.state).startswith("Step 0/")
    names = walk.names()
    assert names[:4] == ["start", "buy pages", "build the program segment", "create the factory"]
    assert names[-4:] == [
        "complete",
        "check discretion",
        "request a yield",
        "let the yield try to leak",
    ]
    state = walk_to_end(walk)
    assert (state.discreet, state.confined, state.leaked) == (True, True, False)
    assert walk.facts["compare_rc"] == 0 and walk.facts["written"] == 0
    assert walk.facts["reached"] > 5 and walk.facts["sent"] >= 1  # it did try
    assert state.verdict.startswith("confined")
    assert walk.next() is False and walk.state.index == state.index


@pytest.mark.parametrize("choice", HOLE_CHOICES)
def test_a_hole_is_seen_by_compare_and_the_analysis_and_used_by_the_yield(choice):
    walk = FactorySteps(components={5: choice})
    state = walk_to_end(walk)
    assert (state.discreet, state.confined, state.leaked) == (False, False, True)
    assert walk.facts["compare_rc"] == 1 and walk.facts["holes"] == 1
    assert "LEAKED" in state.verdict
    if choice == "RW page":
        assert walk.facts["page_written"] and walk.facts["logger_calls"] == 0
    else:
        assert walk.facts["logger_calls"] >= 1 and not walk.facts["page_written"]


def test_the_secret_is_still_there_after_a_confined_yield_tried():
    walk = FactorySteps(components={1: "sensory key"})
    walk_to_end(walk)
    con = walk.con
    page = walk.keys["secret page"]
    assert con.call(page, kl.oc.Page.ReadData, data=(6).to_bytes(4, "big")).data == b"secret"


@settings(max_examples=12, deadline=None)
@given(st.dictionaries(st.sampled_from(PICKABLE), st.sampled_from(list(CHOICES)), max_size=4))
def test_discreet_iff_confined_iff_the_yield_cannot_leak(components):
    """Compare (the factory's own check), the static analysis and the experiment
    agree on every mix of components."""
    state = walk_to_end(FactorySteps(components=components))
    holed = any(c in HOLE_CHOICES for c in components.values())
    assert state.discreet is (not holed)
    assert state.confined is (not holed)
    assert state.leaked is holed


def test_back_replays_deterministically_and_next_redoes_the_same_rows():
    walk = FactorySteps(components={1: "sensory key", 5: "logger"})
    for _ in range(7):
        walk.next()
    rows_before, state_before = walk.kernel.events(), walk.state
    assert walk.back() and walk.state.index == 6
    assert len(walk.kernel.events()) < len(rows_before)
    walk.next()
    assert walk.state == state_before
    assert walk.kernel.events().equals(rows_before)


def test_back_at_the_start_and_goto():
    walk = FactorySteps()
    assert walk.back() is False
    walk.goto(4)
    assert walk.state.step == "install component 0"
    walk.goto(2)
    assert walk.state.step == "build the program segment"
    with pytest.raises(ValueError, match="between 0 and"):
        walk.goto(99)


def test_each_step_shows_only_its_own_event_rows():
    """The steps' rows tile the log from the booted state to the end, in order."""
    walk = FactorySteps()
    seen = len(walk.kernel.log)
    assert walk.events().empty  # "start": nothing done yet
    while walk.next():
        ev = walk.events()
        assert len(ev) > 0 and list(ev.seq) == list(range(seen, seen + len(ev)))
        seen += len(ev)
    assert seen == len(walk.kernel.log)


def test_a_given_kernel_is_copied_never_changed(k):
    before = len(k.log)
    walk = FactorySteps(k)
    walk_to_end(walk)
    assert len(k.log) == before and walk.kernel is not k


def test_focus_names_the_factory_and_the_yield():
    walk = FactorySteps()
    walk_to_end(walk)
    focus, con = walk.focus(), walk.con
    assert {con.root, con.target(walk.keys["builder"]), con.target(walk.keys["yield"])} <= focus
    assert len(focus) < walk.graph().number_of_nodes()


@pytest.mark.parametrize(
    "components, message",
    [
        ({0: "data key"}, "0 holds Discrim"),
        ({3: "data key"}, "copy key"),
        ({16: "data key"}, "cannot be picked"),
        ({1: "a page"}, "is not one of"),
    ],
)
def test_bad_components_are_refused_with_a_reason(components, message):
    with pytest.raises(ValueError, match=message):
        FactorySteps(components=components)


def test_a_kernel_of_the_wrong_kind_is_refused():
    with pytest.raises(TypeError, match="keykos_lab.Kernel"):
        FactorySteps("not a kernel")
