"""keykos_lab.sweep: grid expansion, seeds, failures, streaming, and Dask against serial."""

import multiprocessing
import os
import random
import sys
import time
import warnings

import pandas as pd
import pytest

import keykos_lab as kl
from keykos_lab.sweep import point_seed, points, sweep, sweep_iter

oc = kl.oc


# ------------------------------------------------------------ point functions
def factory_point(point):
    """A factory with ``n`` random components, each sensory with probability ``p``."""
    rng = random.Random(point["seed"])
    k = kl.Kernel(seed=point["seed"])
    con = k.console
    components, holes = {}, {}
    for i in range(point["n"]):
        if rng.random() < point["p"]:
            node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
            components[i] = rng.choice(
                [con["discrim"], con.hold(kl.DK(i)), con.call(node, oc.Node.MakeSenseKey).keys[0]]
            )
        else:
            holes[i] = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    f = kl.build_factory(con, "echo", components=components, holes=holes)
    if point["n"] == 3 and point["p"] == 0.5:
        raise ValueError("three is unlucky")
    return {
        "holes": len(holes),
        "discreet": kl.is_discreet(con, f.requestor),
        "events": len(k.log),
        "draw": rng.random(),
    }


def event_counts(point):
    """A DataFrame result: the event log of ``n`` page purchases, counted by event."""
    k = kl.Kernel(seed=point["seed"])
    con = k.console
    for _ in range(point["n"]):
        con.call(con["bank"], oc.SB.CreatePage)
    ev = k.events()
    counts = ev[ev.actor != con.root].groupby("event", observed=True).size()
    return counts.rename("count").reset_index()


def slow_pid(point):
    time.sleep(0.02)
    return {"pid": os.getpid()}


GRID = {"n": [0, 1, 3, 5], "p": [0.5, 0.9]}


@pytest.fixture(scope="module")
def cluster():
    """A two-worker LocalCluster on 127.0.0.1 (processes, one thread each), always closed."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as lc,
        distributed.Client(lc, set_as_default=False) as client,
    ):
        yield lc, client


def _sweep(fn, grid, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return sweep(fn, grid, progress=False, **kw)


# ------------------------------------------------------------------ the grid
def test_dict_grid_is_a_cartesian_product_first_key_slowest():
    df = _sweep(lambda p: {"s": f"{p['a']}{p['b']}"}, {"a": [1, 2], "b": "xy", "c": None})
    assert df.s.tolist() == ["1xy", "2xy"]  # a string or None is one value
    assert list(df.columns) == ["a", "b", "c", "repeat", "seed", "s"]
    df = _sweep(lambda p: {"s": f"{p['a']}{p['b']}"}, {"a": [1, 2], "b": ("x", "y")})
    assert df.s.tolist() == ["1x", "1y", "2x", "2y"]


def test_list_grid_points_may_differ_in_parameters():
    df = _sweep(lambda p: {"k": len(p)}, [{"a": 1}, {"a": 2, "b": "z"}, {"b": "w"}])
    assert df.a.tolist()[:2] == [1, 2] and pd.isna(df.a.iloc[2])
    assert df.k.tolist() == [2, 3, 2]  # the point holds its own keys + seed


def test_bad_grids_say_what_is_wrong():
    with pytest.raises(ValueError, match="reserved"):
        points({"seed": [1, 2]})
    with pytest.raises(TypeError, match="list of dicts"):
        points(42)
    with pytest.raises(TypeError, match="give a list"):
        points({"a": {1, 2}})
    with pytest.raises(ValueError, match="positive"):
        points({"a": [1]}, repeat=0)
    with pytest.raises(TypeError, match="cannot derive a seed"):
        points({"a": [object()]})


def test_seeds_depend_on_the_point_not_on_the_grid():
    full = points({"n": [1, 2, 3], "p": [0.1, 0.2]}, repeat=2, seed=5)
    sub = points({"n": [2], "p": [0.2]}, repeat=2, seed=5)
    assert [p for p in full if p["n"] == 2 and p["p"] == 0.2] == sub
    assert len({p["seed"] for p in full}) == len(full)
    assert points({"n": [2]}, seed=6)[0]["seed"] != points({"n": [2]}, seed=5)[0]["seed"]
    assert point_seed({"f": len}) == point_seed({"f": len})


def test_empty_grid():
    df = _sweep(lambda p: {"y": 1}, [])
    assert df.empty and list(df.columns) == ["repeat", "seed"]
    assert len(_sweep(lambda p: {"y": 1}, {})) == 1  # one point, no parameters


# ------------------------------------------------------------------ results
def test_dataframe_results_get_the_parameters_as_columns():
    df = _sweep(event_counts, {"n": [1, 3]})
    assert list(df.columns[:5]) == ["n", "repeat", "seed", "event", "count"]
    assert df.n.is_monotonic_increasing and (df.groupby("n").size() > 1).all()
    creates = df[df.event == "create"].set_index("n")["count"]
    assert creates[3] > creates[1]


def test_results_may_repeat_the_point_but_not_change_it():
    df = _sweep(lambda p: {**p, "y": p["x"] + 1}, {"x": [1, 2]})
    assert df.y.tolist() == [2, 3] and list(df.columns) == ["x", "repeat", "seed", "y"]
    df = _sweep(lambda p: {"x": 0}, {"x": [1]})
    assert df.error.str.startswith("ValueError: fn returned 'x'").all()
    df = _sweep(lambda p: 3, {"x": [1]})
    assert df.error.tolist() == [
        "TypeError: fn returned a int: return a dict (one row) or a DataFrame"
    ]


def test_a_failing_point_is_a_row_and_the_others_survive():
    with pytest.warns(RuntimeWarning, match="2 of 16 sweep points failed.*n=3, p=0.5"):
        df = sweep(factory_point, GRID, repeat=2, progress=False)
    bad = df[df.error.notna()]
    assert bad[["n", "p"]].drop_duplicates().values.tolist() == [[3, 0.5]]
    assert (bad.error == "ValueError: three is unlucky").all() and bad.discreet.isna().all()
    good = df[df.error.isna()]
    assert len(good) == 14 and (good.discreet == (good.holes == 0)).all()
    # the row has what it takes to rerun the point by hand
    again = points(GRID, repeat=2)[bad.index[0]]
    assert (again["n"], again["p"], again["seed"]) == tuple(bad.iloc[0][["n", "p", "seed"]])
    with pytest.raises(ValueError, match="unlucky"):
        factory_point(again)


def test_on_error_raise_names_the_point():
    with pytest.raises(ValueError, match="unlucky") as info:
        sweep(factory_point, GRID, on_error="raise", progress=False)
    assert any("n=3, p=0.5, seed=" in note for note in info.value.__notes__)


def test_sweep_iter_streams_frames_in_grid_order():
    frames = list(sweep_iter(lambda p: {"y": p["x"]}, {"x": [3, 1, 2]}, every=0, progress=False))
    assert [f.x.tolist() for f in frames] == [[3], [3, 1], [3, 1, 2]]
    it = sweep_iter(lambda p: {"y": p["x"]}, {"x": range(100)}, every=0, progress=False)
    assert len(next(it)) == 1
    it.close()  # stopping early is allowed


def test_serial_runs_are_reproducible():
    a = _sweep(factory_point, GRID, repeat=2, seed=3)
    b = _sweep(factory_point, GRID, repeat=2, seed=3)
    pd.testing.assert_frame_equal(a, b)
    c = _sweep(factory_point, GRID, repeat=2, seed=4)
    assert not a.seed.equals(c.seed)


def test_without_dask_local_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'keykos_lab\[dask\]'"):
        sweep(lambda p: {}, {"a": [1]}, client="local", progress=False)


# ---------------------------------------------------------------------- Dask
def test_dask_and_serial_give_identical_frames(cluster):
    lc, client = cluster
    serial = _sweep(factory_point, GRID, repeat=2, seed=11)
    # batch_seconds tiny: the points go out in many small tasks, not all run here
    on_dask = _sweep(factory_point, GRID, repeat=2, seed=11, client=client, batch_seconds=1e-4)
    pd.testing.assert_frame_equal(serial, on_dask)
    assert serial.error.notna().sum() == 2
    by_address = _sweep(
        event_counts, {"n": [0, 2, 4]}, client=lc.scheduler_address, batch_seconds=1e-4
    )
    pd.testing.assert_frame_equal(_sweep(event_counts, {"n": [0, 2, 4]}), by_address)


def test_dask_streams_and_really_runs_on_the_workers(cluster):
    _, client = cluster
    frames = list(
        sweep_iter(
            slow_pid, {"i": range(12)}, client=client, batch_seconds=0.01, every=0, progress=False
        )
    )
    assert len(frames) >= 3 and frames[-1].i.tolist() == list(range(12))
    assert all(f.i.is_monotonic_increasing for f in frames)
    pids = set(frames[-1].pid)
    assert os.getpid() not in pids and len(pids) >= 1  # even the timing points: on workers


def test_dask_on_error_raise(cluster):
    _, client = cluster
    with pytest.raises(ValueError, match="unlucky"):
        sweep(
            factory_point,
            [{"n": 1, "p": 0.9}] * 3 + [{"n": 3, "p": 0.5}],
            client=client,
            batch_seconds=1e-4,
            on_error="raise",
            progress=False,
        )


def test_local_cluster_starts_and_closes():
    pytest.importorskip("distributed")
    before = {p.pid for p in multiprocessing.active_children()}
    df = _sweep(factory_point, {"n": [0, 2], "p": [0.9]}, client="local", batch_seconds=1e-4)
    pd.testing.assert_frame_equal(df, _sweep(factory_point, {"n": [0, 2], "p": [0.9]}))
    # stopped early, the iterator cancels its tasks and closes its cluster all the same
    it = sweep_iter(
        slow_pid, {"i": range(40)}, client="local", batch_seconds=1e-4, every=0, progress=False
    )
    next(it)
    assert len({p.pid for p in multiprocessing.active_children()} - before) == 2
    it.close()
    assert {p.pid for p in multiprocessing.active_children()} <= before
