"""The empty-child recipe and Ts'o's questions, run as scenarios."""

from keykos_lab import scenarios


def test_empty_child_steps_each_leave_events():
    rec = scenarios.empty_child()
    names = [s.name for s in rec.steps]
    assert names == ["domain creator", "empty domain", "address segment", "install", "hold",
                     "start", "call"]
    for step in rec.steps:
        ev = step.events(rec.kernel)
        assert len(ev) == step.end_seq - step.first_seq > 0, step.name
    hold = rec.steps[4].events(rec.kernel)
    assert list(hold["order"]) == [67]                       # Domain MakeBusy
    start = rec.steps[5].events(rec.kernel)
    assert str(start.iloc[0]["jump"]) == "fork" and str(start.iloc[1]["key_type"]) == "resume"
    assert rec.answers == {"count after first call": 2, "child key registers": 0,
                           "counter address": 4096}
    assert list(rec.table().columns) == ["step", "description", "events"]


def test_the_child_holds_only_what_was_installed():
    rec = scenarios.empty_child()
    k, con = rec.kernel, rec.kernel.console
    G = k.capability_graph()
    child = con.target(rec.keys["child"])
    kinds = sorted(d["slot_kind"] for _, _, d in G.out_edges(child, data=True))
    assert kinds == ["address", "brand", "meter"]


def test_tso_domain_key_after_start_and_by_a_non_parent():
    rec = scenarios.tso_domain_key()
    assert rec.answers["after start"] is True
    assert rec.answers["non-parent"] is True


def test_demo_runs(capsys):
    from keykos_lab import demo

    demo.main()
    out = capsys.readouterr().out
    assert "counter says 4" in out and "the child holds" in out
