"""keykos_lab.sweep against hostile points: each hostile case its own test.

The promise (keykos_lab/sweep.py, docs/reliability.md#reliability-cli-sweeps): a point
that crashes its process, hangs past ``timeout``, returns something that cannot be
serialised or raises an exception that cannot even be printed costs one row with an
``error``, never the other points; serial and Dask frames are identical; bad
arguments are refused before anything runs. One two-worker LocalCluster (configured
as ``client="local"`` configures it) serves the whole module.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from keykos_lab import sweep as sweep_module
from keykos_lab.sweep import PointCrashed, PointError, PointTimeout, points, sweep, sweep_iter

CRASHED = "PointCrashed: the process running the point died before the point returned"
TIMED_OUT = "PointTimeout: the point ran longer than timeout="
UNSERIALISABLE = "TypeError: fn returned a result that cannot be serialised ("


def quiet(fn, grid, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return sweep(fn, grid, progress=False, **kw)


@pytest.fixture(scope="module")
def cluster():
    """The cluster client="local" starts (sweep._local_cluster), once for the module."""
    distributed = pytest.importorskip("distributed")
    lc = sweep_module._local_cluster()
    client = distributed.Client(lc, set_as_default=False)
    yield client
    client.close()
    lc.close()


# --------------------------------------------------------------- hostile points
def crash(how: str) -> None:
    if how == "exit3":
        os._exit(3)
    if how == "exit0":
        os._exit(0)
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how in ("sigsegv", "abort"):
        faulthandler.disable()  # (pytest's handler would dump a traceback)
    if how == "sigsegv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if how == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    if how == "abort":
        os.abort()
    raise AssertionError(how)


def crashes_at_1(point):
    if point["x"] == 1:
        crash(point["how"])
    return {"y": point["x"] * 10, "pid": os.getpid()}


def hang(how: str) -> None:
    if how == "sleep":
        time.sleep(60)
    elif how == "busy-loop":
        while True:
            pass
    elif how == "ignores-signals":
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        time.sleep(60)
    elif how == "reads-a-silent-pipe":
        r, w = os.pipe()
        os.read(r, 1)
    elif how == "waits-for-an-event":
        threading.Event().wait()


def hangs_at_1(point):
    if point["x"] == 1:
        hang(point["how"])
    return {"y": point["x"] * 10}


class ReduceRaises:
    def __reduce__(self):
        raise RuntimeError("I will not travel")


def unserialisable(kind: str):
    if kind == "lambda":
        return lambda: 1
    if kind == "generator":
        return (i for i in range(3))
    if kind == "lock":
        return threading.Lock()
    if kind == "open-file":
        return open(os.devnull)
    if kind == "reduce-raises":
        return ReduceRaises()
    if kind == "local-class":

        class Local:
            pass

        return Local()
    if kind == "frame-with-a-lambda":
        return pd.DataFrame({"f": [lambda: 2]})
    raise AssertionError(kind)


UNSERIALISABLE_KINDS = [
    "lambda",
    "generator",
    "lock",
    "open-file",
    "reduce-raises",
    "local-class",
    "frame-with-a-lambda",
]


def returns_unserialisable(point):
    if point["x"] == 1:
        value = unserialisable(point["kind"])
        return value if isinstance(value, pd.DataFrame) else {"v": value}
    return {"v": point["x"]}


class StrRaises(Exception):
    def __str__(self):
        raise RuntimeError("no text")


class StrNotText(Exception):
    def __str__(self):
        return 42


class ReprRaises(Exception):
    def __repr__(self):
        raise RuntimeError("no repr")


class NotAnException(BaseException):
    pass


class NotesNotAList(Exception):
    def __init__(self, *args):
        super().__init__(*args)
        self.__notes__ = "a string, not a list"


def failure(kind: str) -> BaseException:
    return {
        "str-raises": StrRaises(),
        "str-not-text": StrNotText(),
        "repr-raises": ReprRaises("plain message"),
        "huge-message": ValueError("m" * 10_000_000),
        "lone-surrogates": ValueError("bad \ud800 text \udfff"),
        "memory-address": ValueError(f"object {object()!r} is broken"),
        "base-exception": NotAnException("below Exception"),
        "system-exit": SystemExit(5),
        "notes-not-a-list": NotesNotAList("noted"),
        "control-characters": ValueError("\x00\x1b[2J\r\n"),
    }[kind]


FAILURES = {
    "str-raises": "StrRaises: <the message of this StrRaises could not be made into text>",
    "str-not-text": "StrNotText: <the message of this StrNotText could not be made into text>",
    "repr-raises": "ReprRaises: plain message",
    "huge-message": "ValueError: "
    + "m" * (sweep_module.ERROR_LIMIT - len("ValueError: "))
    + "… (cut; the message had 10000000 characters)",
    "lone-surrogates": "ValueError: bad \\ud800 text \\udfff",
    "memory-address": "ValueError: object <object object> is broken",
    "base-exception": "NotAnException: below Exception",
    "system-exit": "SystemExit: 5",
    "notes-not-a-list": "NotesNotAList: noted",
    "control-characters": "ValueError: \x00\x1b[2J\r\n",
}


def raises_at_1(point):
    if point["x"] == 1:
        raise failure(point["kind"])
    return {"y": point["x"]}


# --------------------------------------------------------------- serial, isolated
CRASHES = {
    "exit3": "(exit status 3)",
    "exit0": "(exit status 0)",
    "sigkill": "(killed by signal 9, SIGKILL)",
    "sigsegv": "(killed by signal 11, SIGSEGV)",
    "sigterm": "(killed by signal 15, SIGTERM)",
    "abort": "(killed by signal 6, SIGABRT)",
}


@pytest.mark.parametrize("how", CRASHES)
def test_a_point_that_kills_its_process_fails_alone(how):
    df = quiet(crashes_at_1, {"x": range(4), "how": how}, isolate=True)
    assert df.error.tolist()[1] == f"{CRASHED} {CRASHES[how]}"
    assert df.error.isna().tolist() == [True, False, True, True]
    assert df.y.tolist()[::2] == [0, 20] and df.y.tolist()[3] == 30
    assert os.getpid() not in set(df.pid.dropna())  # isolated: never in the caller


HANGS = ["sleep", "busy-loop", "ignores-signals", "reads-a-silent-pipe", "waits-for-an-event"]


@pytest.mark.parametrize("how", HANGS)
def test_a_point_that_hangs_is_stopped_at_its_timeout(how):
    t0 = time.perf_counter()
    df = quiet(hangs_at_1, {"x": range(3), "how": how}, timeout=0.3)
    assert time.perf_counter() - t0 < 10
    assert df.error.tolist()[1] == f"{TIMED_OUT}0.3 s and was stopped"
    assert df.error.isna().tolist() == [True, False, True] and df.y.tolist()[2] == 20


@pytest.mark.parametrize("kind", UNSERIALISABLE_KINDS)
def test_an_unserialisable_result_is_an_error_row_serially_too(kind):
    grid = {"x": range(3), "kind": kind}
    here = quiet(returns_unserialisable, grid)  # the default path: no isolation
    assert here.error.isna().tolist() == [True, False, True]
    assert here.error[1].startswith(UNSERIALISABLE) and " at 0x" not in here.error[1]
    isolated = quiet(returns_unserialisable, grid, isolate=True)
    pd.testing.assert_frame_equal(here, isolated)


@pytest.mark.parametrize("kind", FAILURES)
def test_exceptions_that_resist_being_printed(kind):
    grid = {"x": range(3), "kind": kind}
    df = quiet(raises_at_1, grid)
    assert df.error.tolist()[1] == FAILURES[kind]
    assert df.error.isna().tolist() == [True, False, True]
    pd.testing.assert_frame_equal(df, quiet(raises_at_1, grid, isolate=True))
    with pytest.warns(RuntimeWarning, match="1 of 3 sweep points failed"):
        sweep(raises_at_1, grid, progress=False)  # the warning copes too


def test_keyboard_interrupt_stops_a_serial_sweep():
    def interrupted(point):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(interrupted, {"x": [1]}, progress=False)


def huge(point):
    if point["kind"] == "bytes":
        return {"blob": b"\xab" * 20_000_000, "n": 1}
    return pd.DataFrame({"i": np.arange(200_000), "s": "text"})


@pytest.mark.parametrize("kind", ["bytes", "frame"])
def test_huge_results_come_back_whole(kind):
    here = quiet(huge, {"kind": [kind]})
    isolated = quiet(huge, {"kind": [kind]}, isolate=True)
    pd.testing.assert_frame_equal(here, isolated)
    assert len(here.blob[0]) == 20_000_000 if kind == "bytes" else len(here) == 200_000


def echo(point):
    return {"got": repr(point["a"])}


UNHASHABLE = [
    {"a": [[1, 2], [3]]},
    {"a": [{"k": [1]}, {"k": {"z": None}}]},
    [{"a": [1, [2]]}, {"a": {"x": (1, 2)}}],
]


@pytest.mark.parametrize("grid", UNHASHABLE, ids=["lists", "dicts", "list-of-dicts"])
def test_grids_with_unhashable_values(grid):
    df = quiet(echo, grid)
    assert "error" not in df and df.got.tolist() == [repr(a) for a in df.a]
    pd.testing.assert_frame_equal(df, quiet(echo, grid, isolate=True))


@pytest.mark.parametrize(
    "grid, error",
    [
        ({"a": {1, 2}}, TypeError),
        ({"a": (i for i in range(2))}, TypeError),
        ({"a": [np.arange(3)]}, TypeError),
        ({1: [1]}, TypeError),
        ({"seed": [1]}, ValueError),
        ([{"a": 1}, 5], TypeError),
        ("abc", TypeError),
    ],
    ids=[
        "set",
        "generator",
        "array-value",
        "int-name",
        "reserved-name",
        "list-with-a-number",
        "string",
    ],
)
def test_grids_that_are_not_grids(grid, error):
    with pytest.raises(error):
        sweep(echo, grid, progress=False)


def never_called(point):
    raise AssertionError("a point ran although the arguments were bad")


BAD_OPTIONS = {
    "timeout-zero": ({"timeout": 0}, ValueError),
    "timeout-negative": ({"timeout": -1}, ValueError),
    "timeout-nan": ({"timeout": float("nan")}, ValueError),
    "timeout-inf": ({"timeout": float("inf")}, ValueError),
    "timeout-huge-int": ({"timeout": 10**400}, ValueError),
    "timeout-text": ({"timeout": "1"}, TypeError),
    "timeout-bool": ({"timeout": True}, TypeError),
    "timeout-complex": ({"timeout": 1j}, TypeError),
    "timeout-without-isolation": ({"timeout": 1, "isolate": False}, ValueError),
    "isolate-text": ({"isolate": "yes"}, TypeError),
    "isolate-int": ({"isolate": 1}, TypeError),
    "batch-seconds-zero": ({"batch_seconds": 0}, ValueError),
    "batch-seconds-nan": ({"batch_seconds": float("nan")}, ValueError),
    "on-error-unknown": ({"on_error": "ignore"}, ValueError),
    "on-error-list": ({"on_error": ["record"]}, ValueError),
    "repeat-zero": ({"repeat": 0}, ValueError),
    "seed-float": ({"seed": 1.5}, TypeError),
    "client-number": ({"client": 42}, TypeError),
}


@pytest.mark.parametrize("options, error", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_options_are_refused_before_anything_runs(options, error):
    with pytest.raises(error):
        sweep(never_called, {"x": [1]}, progress=False, **options)
    with pytest.raises(error):  # sweep_iter: at the call, not later
        sweep_iter(never_called, {"x": [1]}, progress=False, **options)


@pytest.mark.parametrize("every", [-1, float("nan"), "often"], ids=["negative", "nan", "text"])
def test_bad_every(every):
    with pytest.raises((TypeError, ValueError)):
        sweep_iter(never_called, {"x": [1]}, every=every, progress=False)


def test_fn_that_is_not_callable():
    with pytest.raises(TypeError, match="fn is a function of one point"):
        sweep(42, {"x": [1]}, progress=False)


# --------------------------------------------------------------- raise mode
def test_on_error_raise_with_isolation():
    with pytest.raises(PointCrashed, match=r"exit status 3") as info:
        sweep(
            crashes_at_1,
            {"x": range(3), "how": "exit3"},
            isolate=True,
            on_error="raise",
            progress=False,
        )
    assert any("x=1, how='exit3'" in n for n in info.value.__notes__)
    with pytest.raises(PointTimeout, match="timeout=0.2"):
        sweep(
            hangs_at_1,
            {"x": range(3), "how": "sleep"},
            timeout=0.2,
            on_error="raise",
            progress=False,
        )
    with pytest.raises(ValueError, match="^bad") as info:  # the exception itself
        sweep(
            raises_at_1,
            {"x": range(3), "kind": "lone-surrogates"},
            isolate=True,
            on_error="raise",
            progress=False,
        )
    assert any("traceback in the point's process" in n for n in info.value.__notes__)
    with pytest.raises(PointError, match="HoldsALock: <the message"):  # cannot travel
        sweep(
            raises_at_unpicklable, {"x": range(3)}, isolate=True, on_error="raise", progress=False
        )


class HoldsALock(Exception):
    def __init__(self):
        super().__init__("locked")
        self.lock = threading.Lock()

    def __str__(self):
        raise RuntimeError("and unprintable")


def raises_at_unpicklable(point):
    if point["x"] == 1:
        raise HoldsALock()
    return {"y": 1}


# --------------------------------------------------------------- cleanup and cost
def writes_pid_then_hangs(point):
    with open(point["file"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)


def test_closing_the_stream_while_a_point_runs(tmp_path):
    """Closed between two frames, with a child mid-point: the child is killed and reaped."""
    marker = tmp_path / "pid"
    grid = [{"file": str(tmp_path / "none"), "fast": True}, {"file": str(marker), "fast": False}]
    it = sweep_iter(fast_or_hangs, grid, timeout=30, every=0, progress=False)
    assert len(next(it)) == 1  # the first point's frame; the second runs
    deadline = time.monotonic() + 20
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pid = int(marker.read_text())
    it.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def fast_or_hangs(point):
    if point["fast"]:
        return {"ok": 1}
    writes_pid_then_hangs(point)


def pid_point(point):
    return {"pid": os.getpid()}


def test_isolation_is_paid_only_when_asked_and_costs_one_fork():
    here = quiet(pid_point, {"i": range(300)})
    assert set(here.pid) == {os.getpid()}  # default: in this process
    t0 = time.perf_counter()
    isolated = quiet(pid_point, {"i": range(300)}, isolate=True)
    assert time.perf_counter() - t0 < 5
    assert len(set(isolated.pid)) == 1 and os.getpid() not in set(isolated.pid)  # one child


def test_rerunning_a_failed_point_by_hand():
    grid = {"x": range(3), "how": "exit3"}
    df = quiet(crashes_at_1, grid, isolate=True)
    bad = df[df.error.notna()].index[0]
    assert points(grid)[bad]["x"] == 1


# --------------------------------------------------------------- Dask
def mixed(point):
    """Every kind of hostile point in one grid."""
    x = point["x"]
    if x == 1:
        os._exit(3)
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    if x == 3:
        return {"v": lambda: 1}
    if x == 4:
        raise StrRaises()
    if x == 5:
        raise ValueError(f"at {object()!r}")
    if x == 6:
        return {"v": (i for i in range(2))}
    return {"v": x, "w": [x, {"k": x}]}


def test_dask_crashes_cost_one_row_and_frames_match_serial(cluster):
    grid = {"x": range(10)}
    serial = quiet(mixed, grid, isolate=True)
    on_dask = quiet(mixed, grid, client=cluster, batch_seconds=10)  # one batch: all die
    pd.testing.assert_frame_equal(serial, on_dask)
    assert serial.error.notna().tolist() == [
        False,
        True,
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert serial.error[1] == f"{CRASHED} (exit status 3)"
    small = quiet(mixed, grid, client=cluster, batch_seconds=1e-4)  # many small tasks
    pd.testing.assert_frame_equal(serial, small)


def test_dask_hanging_points_with_timeout_match_serial(cluster):
    grid = {"x": range(4), "how": "busy-loop"}
    serial = quiet(hangs_at_1, grid, timeout=0.5)
    on_dask = quiet(hangs_at_1, grid, timeout=0.5, client=cluster, batch_seconds=1e-4)
    pd.testing.assert_frame_equal(serial, on_dask)
    assert on_dask.error[1] == f"{TIMED_OUT}0.5 s and was stopped"


def test_dask_unserialisable_results_and_odd_grids_match_serial(cluster):
    for fn, grid in [
        (returns_unserialisable, {"x": range(3), "kind": UNSERIALISABLE_KINDS}),
        (raises_at_1, {"x": range(3), "kind": list(FAILURES)}),
        (echo, UNHASHABLE[2]),
    ]:
        serial = quiet(fn, grid)
        pd.testing.assert_frame_equal(serial, quiet(fn, grid, client=cluster, batch_seconds=1e-4))


def test_dask_refuses_a_fn_it_cannot_send(cluster):
    lock = threading.Lock()
    gen = (i for i in range(3))
    for fn, what in [
        (lambda p: {"l": repr(lock)}, "_thread.lock"),
        (lambda p: {"g": repr(gen)}, "generator"),
    ]:
        with pytest.raises(TypeError, match=f"fn cannot be sent to the Dask workers.*{what}"):
            sweep(fn, {"x": [1, 2]}, client=cluster, progress=False)


def test_dask_on_error_raise_finds_the_point_that_killed_its_worker(cluster):
    with pytest.raises(PointCrashed, match="exit status 3") as info:
        sweep(
            crashes_at_1,
            {"x": range(3), "how": "exit3"},
            client=cluster,
            on_error="raise",
            batch_seconds=10,
            progress=False,
        )
    assert any("x=1" in n for n in info.value.__notes__)


def not_in_caller(point):
    assert os.getpid() != point["caller"], "a point ran in the caller's process"
    return {"pid": os.getpid()}


def test_client_local_runs_no_point_in_the_callers_process():
    pytest.importorskip("distributed")
    df = quiet(
        not_in_caller, {"caller": [os.getpid()], "i": range(6)}, client="local", batch_seconds=1e-4
    )
    assert "error" not in df and os.getpid() not in set(df.pid)


class Holder:
    def __init__(self):
        self.lock = threading.Lock()

    def method(self):
        return 1


def calls_param(point):
    return {"r": point["f"]() if callable(point["f"]) else point["f"]}


def test_dask_a_parameter_it_cannot_send_fails_that_point_alone(cluster):
    """A parameter value Dask cannot serialise (a method of an object holding a lock):
    that point fails on Dask (serially it runs: nothing is sent there)."""
    grid = [{"f": 1}, {"f": Holder().method}, {"f": 3}]
    df = quiet(calls_param, grid, client=cluster, batch_seconds=10)
    assert df.r.tolist()[::2] == [1, 3] and df.error.notna().tolist() == [False, True, False]
    assert df.error[1].startswith("TypeError: the point cannot be sent to the Dask workers")
    assert "error" not in quiet(calls_param, grid)
