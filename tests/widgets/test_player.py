"""The run player, without a browser: seek and step move the graph, the chart and the event
rows together; the graph at a seq comes from ``graph_at``."""

from __future__ import annotations

import inspect

import pytest

import keykos_lab as kl
from keykos_lab.widgets.player import NO_TIME_TRAVEL, RunPlayer, time_travel


@pytest.fixture
def run():
    """A short run, with the live graph captured after each console call: ``(kernel,
    captures)``, captures a list of (last seq of the call, graph just after it)."""
    k = kl.Kernel()
    con = k.console
    captures = []

    def capture():
        captures.append((len(k.log) - 1, k.capability_graph()))

    page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    capture()
    con.call(page, kl.oc.Page.WriteData, data=b"<b>hi</b>")
    capture()
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    capture()
    con.call(echo, 5, page, data=b"ping")
    capture()
    return k, captures


def captured(captures):
    """graph_at from the captures: the graph after the call a seq belongs to."""

    def graph_at(seq):
        return next(G for last, G in captures if seq <= last)

    return graph_at


def test_seek_shows_the_graph_of_that_moment(run):
    k, captures = run
    asked = []
    graph_at = captured(captures)
    player = RunPlayer(k, graph_at=lambda s: asked.append(s) or graph_at(s), chart=False)
    assert (player.first, player.last) == (0, len(k.log) - 1)
    for last, G in captures:
        s = player.seek(last)
        assert s["seq"] == last and s["graph_vertices"] == G.number_of_nodes()
        assert s["keys"] == G.number_of_edges()
        assert f"<b>seq {last}</b>" in player.status.value
    assert asked[0] == 0 and set(asked) >= {last for last, _ in captures}
    sizes = [player.seek(last)["graph_vertices"] for last, _ in captures]
    assert sizes[0] < sizes[-1]  # the echo domain came in
    assert player.state["note"] is None


def test_step_and_the_window_of_event_rows(run):
    k, captures = run
    player = RunPlayer(k, graph_at=captured(captures), window=2, chart=False)
    assert player.state["seq"] == 0 and player.state["rows"] == [0, 1, 2]
    s = player.step(5)
    assert s["seq"] == 5 and s["rows"] == [3, 4, 5, 6, 7]
    ev = k.events(labels=True)
    row = ev[ev.seq == 5].iloc[0]
    assert s["event"]["event"] == str(row.event) and s["event"]["seq"] == 5
    assert "<tr class='current'" in player.table.value
    current = player.table.value.split("<tr class='current'")[1].split("</tr>")[0]
    assert ">5<" in current
    assert player.step(-100)["seq"] == player.first
    assert player.seek(10**6)["seq"] == player.last


def test_the_slider_drives_what_is_shown(run):
    """A drag in the browser changes the slider's value; the player follows."""
    k, captures = run
    player = RunPlayer(k, graph_at=captured(captures), chart=False)
    player.slider.value = 7
    assert player.state["seq"] == 7 and "<b>seq 7</b>" in player.status.value
    assert player.play.max == player.slider.max == player.last


def test_the_chart_marks_the_message_of_the_moment(run):
    k, captures = run
    player = RunPlayer(k, graph_at=captured(captures))
    call = int(k.events().query("key_type == 'start' and event == 'invoke'").seq.max())
    s = player.seek(call)
    assert s["messages"] >= 1 and player.chart.value[:4] == b"\x89PNG"
    before = player.chart.value
    player.seek(0)
    assert player.chart.value != before


def test_labels_are_escaped_in_the_table(run):
    k, captures = run
    con = k.console
    con.label(con["bank"], "<script>bank</script>")
    player = RunPlayer(k, graph_at=captured(captures), chart=False)
    assert "<script>" not in player.table.value and "&lt;script&gt;" in player.table.value


def test_refresh_reads_calls_made_later(run):
    k, captures = run
    con = k.console
    player = RunPlayer(k, graph_at=lambda s: k.capability_graph(), chart=False)
    last = player.last
    con.call(con["bank"], kl.oc.SB.CreatePage)
    player.refresh()
    assert player.last > last and player.slider.max == player.last
    assert player.seek(player.last)["seq"] == len(k.log) - 1


def test_a_step_of_many_events_for_long_runs(run):
    k, captures = run
    player = RunPlayer(k, graph_at=captured(captures), step=5, chart=False)
    assert player.slider.step == player.play.step == 5
    assert player.step()["seq"] == 5 and player.step(2)["seq"] == 15
    assert player.step(-1)["seq"] == 10


def test_start_and_stop_narrow_the_range(run):
    k, captures = run
    player = RunPlayer(k, graph_at=captured(captures), start=4, stop=9, chart=False)
    assert (player.first, player.last, player.slider.min, player.slider.max) == (4, 9, 4, 9)
    assert player.state["seq"] == 4


def test_an_empty_log_is_refused():
    with pytest.raises(ValueError, match="empty"):
        RunPlayer(kl.Kernel())


def test_without_time_travel_the_present_graph_is_shown_and_said(run):
    k, captures = run

    class Before:
        """A kernel whose capability_graph takes no at= (before time travel)."""

        def events(self, labels=False):
            return k.events(labels=labels)

        def capability_graph(self):
            return k.capability_graph()

    player = RunPlayer(Before(), chart=False)
    assert player.state["note"] == NO_TIME_TRAVEL and "takes no at=" in player.status.value
    present = k.capability_graph().number_of_nodes()
    assert player.seek(0)["graph_vertices"] == present


@pytest.mark.skipif(
    "at" not in inspect.signature(kl.Kernel.capability_graph).parameters,
    reason="Kernel.capability_graph(at=) (time travel) is not there yet",
)
def test_the_default_asks_the_kernel_to_travel_in_time(run):
    k, captures = run
    graph_at, note = time_travel(k)
    assert note is None
    player = RunPlayer(k, chart=False)
    # (The graph just after a call's last event lacks what the console did after it,
    # such as putting the reply's keys in its ring: the time-travel tests check that.)
    for last, _ in captures:
        G = k.capability_graph(at=last)
        s = player.seek(last)
        assert s["graph_vertices"] == G.number_of_nodes() and s["keys"] == G.number_of_edges()
    assert player.seek(captures[0][0])["keys"] < player.seek(captures[-1][0])["keys"]


def test_a_restored_snapshot_plays_from_where_its_history_begins(tmp_path):
    k = kl.Kernel(history=False)  # a file with no past: the restore's history starts there
    con = k.console
    con.call(con["bank"], kl.oc.SB.CreatePage)
    k.checkpoint(tmp_path / "k.ckpt")
    r = kl.Kernel.restore(tmp_path / "k.ckpt")
    r.console.call(r.console["bank"], kl.oc.SB.CreateNode)
    player = RunPlayer(r, chart=False, interactive=False)
    assert player.first == r.history.first > 0
    assert player.seek(0)["seq"] == player.first  # clamped, not an error
    want = r.capability_graph(at=player.first)
    assert player.state["graph_vertices"] == want.number_of_nodes()
