"""The empty-child recipe and Ts'o's questions, run as scenarios."""

from keykos_lab import scenarios


def test_empty_child_steps_each_leave_events():
    rec = scenarios.empty_child()
    names = [s.name for s in rec.steps]
    assert names == [
        "domain creator",
        "empty domain",
        "address segment",
        "install",
        "hold",
        "start",
        "call",
    ]
    for step in rec.steps:
        ev = step.events(rec.kernel)
        assert len(ev) == step.end_seq - step.first_seq > 0, step.name
    hold = rec.steps[4].events(rec.kernel)
    assert list(hold["order"]) == [67]  # Domain MakeBusy
    start = rec.steps[5].events(rec.kernel)
    assert str(start.iloc[0]["jump"]) == "fork" and str(start.iloc[1]["key_type"]) == "resume"
    assert rec.answers == {
        "count after first call": 2,
        "child key registers": 0,
        "counter address": 4096,
    }
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


def test_tso_setuid_the_user_runs_the_privilege_but_cannot_reach_it():
    rec = scenarios.tso_setuid()
    assert rec.answers == {
        "wrong": 1,
        "right": 0,
        "changed": 0,
        "page": b"correct horse",
        "discreet": False,
        "user reaches the page": False,
        "user reaches memory or a domain": False,
        "bank after": 0,
    }
    k, con = rec.kernel, rec.kernel.console
    # Each check ran in a yield paid by the user's bank, which the yield's exit refunded.
    wrong = rec.steps[[s.name for s in rec.steps].index("wrong")].events(k)
    user = con.target(rec.keys["user"])
    bank = con.target(rec.keys["user_bank"])
    assert ((wrong.actor != user) & (wrong.target == bank)).any()


def test_reachable_stops_at_start_keys():
    rec = scenarios.tso_setuid()
    k, con = rec.kernel, rec.kernel.console
    G = k.capability_graph()
    held = scenarios.reachable(G, con.target(rec.keys["user"]))
    kinds = {kind for _, kind in held}
    assert kinds == {"start", "meter", "page"}
    # The console built the factory and kept the page: it reaches it.
    assert any(t == con.target(rec.keys["page"]) for t, _ in scenarios.reachable(G, con.root))
