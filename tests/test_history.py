"""Time travel is exact: the graph and objects frame rebuilt for any event equal the ones
captured live at that event (``kernel/history.py``, ``kernel/past.py``).

The live side is watched at *every* event, not only between console inputs: the test
gives the kernel an event log of one-row chunks, so the log calls ``next_chunk`` after
each row, and a hook there captures the live capability graph (and, for the first events
of each step, the objects frame): what ``capability_graph(at=r)`` must give for row ``r``.
The random runs are the kernel invariant machine's (tests/test_invariants.py): buying and
selling objects, node swaps, domains built and run, keepers, meters, resume keys, front
ends.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant
from test_invariants import KernelMachine

import keykos_lab as kl
from keykos_lab.kernel.checkpoint import REPLAY_VERSION
from keykos_lab.kernel.eventlog import EventLog
from keykos_lab.kernel.history import History, HistoryUnavailable
from keykos_lab.views.frames import objects as objects_frame
from keykos_lab.views.graph import capability_graph


def canon(G: nx.MultiDiGraph) -> tuple[list, list]:
    """A graph as sorted vertices and a sorted multiset of edges, attributes included
    (parallel edges' networkx keys depend on insertion order only)."""
    nodes = sorted(
        (repr(n), sorted((a, repr(v)) for a, v in d.items())) for n, d in G.nodes(data=True)
    )
    edges = sorted(
        (repr(u), repr(v), sorted((a, repr(x)) for a, x in d.items()))
        for u, v, d in G.edges(data=True)
    )
    return nodes, edges


def same_but_the_history(a: kl.Kernel, b: kl.Kernel, every: int = 97) -> None:
    """Assert two kernels save the same body but for the ``history`` record, and show the
    same graph at every ``every``-th event. (Two kernels that end in one state may have
    recorded data keys no graph shows, a meter's counter say, at other moments.)"""
    from keykos_lab.kernel import checkpoint as ckpt

    x, y = ckpt.encode(a), ckpt.encode(b)
    assert (x.pop("history") is None) == (y.pop("history") is None)
    assert x == y
    for seq in range(0, len(a.log), every):
        assert canon(a.capability_graph(at=seq)) == canon(b.capability_graph(at=seq)), seq


class WatchedLog(EventLog):
    """An event log of one-row chunks that calls ``hook`` after every row."""

    __slots__ = ("hook",)

    def __init__(self) -> None:
        super().__init__(chunk_rows=1)
        self.hook = None

    def next_chunk(self) -> None:
        super().next_chunk()
        if self.hook is not None:
            self.hook()


#: Every event of a step is watched up to this many; past it (a long keeper loop), one
#: in ``SPARSE``, so that a step costs a bounded number of graphs.
DENSE, SPARSE = 150, 23
#: The objects frame is compared for the first this many events of a step.
FRAMES = 20


def watch_every_event(k: kl.Kernel) -> dict[int, tuple]:
    """Give ``k`` a watched log (the same rows); what it captures live, by seq: the
    graph, and the objects frame or None. Clear the dict between steps: the first
    ``DENSE`` events after that are all watched."""
    log = WatchedLog()
    log.extend_rows(b"".join(bytes(c) for c in k.log.chunks()))
    k.log = log
    seen: dict[int, tuple] = {}
    count = [0]

    def capture() -> None:
        seq = len(log) - 1
        if not seen:
            count[0] = 0
        count[0] += 1
        if count[0] <= DENSE or seq % SPARSE == 0:
            frame = objects_frame(k) if count[0] <= FRAMES else None
            seen[seq] = (canon(capability_graph(k)), frame)

    log.hook = capture
    return seen


class HistoryMachine(KernelMachine):
    """The invariant machine, with the graph watched at every event."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = watch_every_event(self.drv.k)
        # A graph per event makes calls slower, not longer: the step limit still holds.
        self.drv.con.time_limit = None

    @invariant()
    def the_past_is_what_was_seen(self):
        k = self.drv.k
        for seq in sorted(self.seen):
            graph, frame = self.seen[seq]
            assert canon(k.capability_graph(at=seq)) == graph, f"at event #{seq}"
            if frame is not None:
                pd.testing.assert_frame_equal(k.objects(at=seq), frame)
        self.seen.clear()


TestHistoryExact = HistoryMachine.TestCase
TestHistoryExact.settings = settings(
    max_examples=10,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ------------------------------------------------------------------ scripted cases
def test_a_page_bought_then_sold_comes_and_goes():
    k = kl.Kernel()
    con = k.console
    con.call(con["dkc"], 0)  # a first event (boot leaves the log empty)
    before = len(k.log) - 1
    page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    bought = len(k.log) - 1
    oid = con.target(page)
    con.call(con["bank"], kl.oc.SB.DestroyPage, page)
    assert oid not in k.capability_graph(at=before)
    assert oid in k.capability_graph(at=bought)
    assert oid not in k.capability_graph()
    assert oid not in k.capability_graph(at=len(k.log) - 1)


def test_a_label_given_later_is_not_shown_earlier():
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    last = len(k.log) - 1
    con.label(page, "diary")  # after the last event: it shows from the next one on
    con.call(con["dkc"], 0)
    oid = con.target(page)
    assert k.capability_graph(at=last).nodes[oid]["label"] == f"page #{oid}"
    assert k.capability_graph(at=last + 1).nodes[oid]["label"] == "diary"
    assert k.capability_graph().nodes[oid]["label"] == "diary"


def test_moments_outside_the_history_are_refused():
    k = kl.Kernel()
    with pytest.raises(HistoryUnavailable, match="no event has been logged"):
        k.capability_graph(at=0)
    k.console.call(k.console.dkc, 0)
    with pytest.raises(HistoryUnavailable, match="covers events #0 to #"):
        k.capability_graph(at=len(k.log))
    with pytest.raises(HistoryUnavailable):
        k.capability_graph(at=-1)  # not "the last": at=None is the present
    with pytest.raises(TypeError):
        k.capability_graph(at="3")  # type: ignore[arg-type]
    k.history.stop()
    with pytest.raises(HistoryUnavailable, match="keeps no history"):
        k.capability_graph(at=0)


def test_a_stopped_history_leaves_the_plain_classes():
    k = kl.Kernel()
    k.history.stop()
    assert type(k.store).__name__ == "ObjectStore" and type(k.domains) is dict
    assert all(type(o.slots) is list for o in k.objs if o is not None and o.kind == "node")
    con = k.console
    con.call(con["bank"], kl.oc.SB.CreatePage)  # and the kernel still runs


def test_bases_bound_the_replay(monkeypatch):
    monkeypatch.setattr("keykos_lab.kernel.history.MIN_SPACING", 50)
    k = kl.Kernel()
    History.start(k)
    con = k.console
    seen = watch_every_event(k)
    for _ in range(40):
        con.call(con["bank"], kl.oc.SB.CreatePage)
    h = k.history
    assert len(h.bases) > 3
    assert all(b - a <= h.spacing() for (a, _), (b, _) in zip(h.bases, h.bases[1:]))
    assert len(seen) > 100
    for seq, (graph, _) in seen.items():
        assert canon(k.capability_graph(at=seq)) == graph


def test_a_copied_kernel_keeps_its_own_history():
    k = kl.Kernel()
    con = k.console
    con.call(con["bank"], kl.oc.SB.CreatePage)
    c = k.copy()
    assert c.history is not k.history and c.history.kernel is c
    n = len(k.history.changes)
    seen = watch_every_event(c)
    c.console.call(c.console["bank"], kl.oc.SB.CreateNode)
    assert len(k.history.changes) == n  # the copy records into its own
    assert seen
    for seq, (graph, frame) in seen.items():
        assert canon(c.capability_graph(at=seq)) == graph
        if frame is not None:
            pd.testing.assert_frame_equal(c.objects(at=seq), frame)


# ------------------------------------------------------- checkpoints and spilled logs
def _run_some(k: kl.Kernel, n: int = 6) -> None:
    con = k.console
    for _ in range(n):
        page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
        node = con.call(con["bank"], kl.oc.SB.CreateNode).keys[0]
        con.call(node, kl.oc.Node.Swap + 2, page)
    dom = kl.build_domain(con, "echo")
    start = kl.start_key(con, dom)
    con.call(start, 3, data=b"hi")


def test_a_restored_snapshot_keeps_the_whole_history(tmp_path):
    k = kl.Kernel()
    _run_some(k, 2)
    path = tmp_path / "k.ckpt"
    k.checkpoint(path)
    r = kl.Kernel.restore(path)
    assert r.history.first == 0 and len(r.history.changes) == len(k.history.changes)
    for seq in range(len(k.log)):
        assert canon(r.capability_graph(at=seq)) == canon(k.capability_graph(at=seq)), seq
        if seq % 10 == 0:
            pd.testing.assert_frame_equal(r.objects(at=seq), k.objects(at=seq))
    seen = watch_every_event(r)  # and it goes on recording
    _run_some(r, 2)
    assert seen
    for seq, (graph, frame) in seen.items():
        assert canon(r.capability_graph(at=seq)) == graph
        if frame is not None:
            pd.testing.assert_frame_equal(r.objects(at=seq), frame)


def test_a_snapshot_without_a_history_starts_one_at_the_restore(tmp_path):
    k = kl.Kernel(history=False)
    _run_some(k, 1)
    k.checkpoint(tmp_path / "k.ckpt")
    r = kl.Kernel.restore(tmp_path / "k.ckpt")
    assert r.history is not None and r.history.first == len(r.log)
    with pytest.raises(HistoryUnavailable, match=f"when the log held {len(r.log)} events"):
        r.capability_graph(at=len(r.log) - 1)


def _tamper(path, change):
    """Rewrite a checkpoint's body with ``change`` and fix its length and checksum, as a
    stranger who knows the format would."""
    from test_checkpoint_replay import rewrite

    rewrite(path, change)


@pytest.mark.parametrize(
    "name, change, why",
    [
        (
            "a change rewritten",
            lambda b: b["history"]["changes"][-1].__setitem__(0, 10**6),
            "event count",
        ),
        (
            "a change dropped",
            lambda b: b["history"]["changes"].pop(),
            "does not end in the state",
        ),
        (
            "a key to an object never made",
            lambda b: b["history"]["changes"].append(
                [b["history"]["changes"][-1][0], "slot", 2, 0, [3, 10**5, 0, 1]]
            ),
            "never made",
        ),
        ("an unknown kind", lambda b: b["history"]["changes"].append([0, "zap", 1]), "unknown"),
        (
            "a held key to an object never made",
            lambda b: b["history"]["changes"].append(
                [b["history"]["changes"][-1][0], "held+", 2, [[3, 10**5, 0, 1]]]
            ),
            "never made",
        ),
        ("not a record", lambda b: b.__setitem__("history", [1, 2]), "history is not an object"),
        (
            "a label too long",
            lambda b: b["history"]["base"]["labels"].append([1, "x" * 70_000]),
            "longer than",
        ),
    ],
)
def test_a_tampered_history_is_refused(tmp_path, name, change, why):
    k = kl.Kernel()
    _run_some(k, 1)
    path = tmp_path / "k.ckpt"
    k.checkpoint(path)
    _tamper(path, change)
    with pytest.raises(kl.CheckpointError, match=why):
        kl.Kernel.restore(path)


def test_a_checkpoint_by_replay_from_genesis_restores_the_whole_history(tmp_path):
    """Mid-flight, a checkpoint is inputs replayed from the genesis: the replay records
    the history again, so every past moment is there, and the same as the original's."""
    from test_checkpoint_replay import spinning

    k, _ = spinning()  # a spinner stopped mid-handler: the file is a checkpoint by replay
    _run_some(k, 2)
    path = tmp_path / "k.ckpt"
    head = k.checkpoint(path)
    assert head["version"] == REPLAY_VERSION, head
    r = kl.Kernel.restore(path)
    assert r.history.first == 0 and len(r.log) == len(k.log)
    for seq in range(len(k.log)):
        assert canon(r.capability_graph(at=seq)) == canon(k.capability_graph(at=seq)), seq


def test_time_travel_works_on_a_spilled_log(tmp_path):
    """The history never reads log rows: with most of the log on disk, every moment is
    the same as on the same run kept in memory."""
    from keykos_lab.views.spill import spill_events

    kept, spilled = kl.Kernel(), kl.Kernel()
    sink = spill_events(spilled, tmp_path / "spill", keep=0, chunk_rows=8)
    _run_some(kept, 3)
    _run_some(spilled, 3)
    assert sink.chunks >= 4 and len(kept.log) == len(spilled.log)
    for seq in range(len(kept.log)):
        a, b = kept.capability_graph(at=seq), spilled.capability_graph(at=seq)
        assert canon(a) == canon(b), seq


def test_a_slice_write_may_not_resize_a_node():
    """Kernel code writes slots by index or slice; a slice of the wrong length is undone
    and refused, and records nothing (the past would have a node of another size)."""
    k = kl.Kernel()
    node = k.store.new_node()
    before, n = list(node.slots), len(k.history.changes)
    with pytest.raises(kl.KernelError, match="16 slots"):
        node.slots[0:2] = [kl.DK0]
    assert list(node.slots) == before and len(k.history.changes) == n
    node.slots[0:2] = [kl.DK(5), kl.DK0]  # the right length: recorded whole
    assert k.history.changes[-1] == ("slots", node.id, tuple(node.slots))


@kl.program("history-gatherer")
def _gatherer(dom, msg):
    """Buy ``msg.order`` pages in one handler: its held set grows by one key each time."""
    for _ in range(msg.order):
        yield dom.call(dom.keys[0], kl.oc.SB.CreatePage)
    yield dom.return_(msg.resume)


@pytest.mark.parametrize("n", [40, 160])
def test_a_handler_gathering_keys_costs_the_history_linear_room(n, monkeypatch):
    """Keys added to a running handler's held set are recorded as the keys added: the keys
    the history writes grow as n, not n², and every past moment still reads right."""
    k = kl.Kernel()
    con = k.console
    dom = kl.build_domain(con, "history-gatherer", keys={0: con["bank"]})
    root = con.target(dom)
    first, start = len(k.history.changes), len(k.log)
    con.call(kl.start_key(con, dom), n)
    recorded = [  # what the history wrote about the gatherer's held keys
        c
        for c in k.history.changes[first:]
        if c[1] == root and (c[0] == "held+" or (c[0] == "ds" and c[2] == "held"))
    ]
    keys_written = sum(len(c[-1]) for c in recorded)
    assert any(c[0] == "held+" for c in recorded)
    assert keys_written <= 2 * n + 10, keys_written  # the whole set each time: n²/2
    middle = start + (len(k.log) - start) // 2
    then = k.history.state(middle).domains[root]["held"]
    assert n // 3 < len(then) < 2 * n // 3
    # ... and the replay joins them in linear time: the held set is sorted once per
    # question (per domain replayed), not once per key gained.
    import keykos_lab.kernel.history as history_module

    sorts = []
    real = history_module.held_keys
    monkeypatch.setattr(history_module, "held_keys", lambda ks: sorts.append(1) or real(ks))
    last = k.history.state(len(k.log) - 1)
    assert len(last.domains[root]["held"]) > n
    assert last.domains[root]["held"] == real(set(last.domains[root]["held"]))  # settled
    assert len(sorts) <= 10, len(sorts)
