"""Parameter sweeps: one function over a grid of points, serially or on Dask, into one frame.

``sweep(fn, grid)`` calls ``fn`` once per point of ``grid`` and returns one tidy
:class:`pandas.DataFrame`: the parameters as columns, then ``repeat`` and
``seed``, then what ``fn`` returned, one row per returned row, in grid order.

* **grid**: a dict of parameter lists, expanded to their cartesian product (first
  key slowest), or a list of dicts, one point each. In a dict, a value that is a
  list, tuple, range, numpy array or pandas Series/Index is a list of values;
  anything else (a number, a string, ``None`` …) is one fixed value. Values may be
  unhashable (lists, dicts): they are never used as keys.
* **fn** takes one point — a dict of the parameters plus ``"seed"`` — and returns
  a dict (one row; a Series counts as one) or a DataFrame (its rows; a named or
  non-default index becomes columns). It may repeat parameters or the seed in what
  it returns (``{**point, "y": …}``) as long as the values are the point's.
* **seeds**: every run of a point gets its own seed, a 63-bit integer: the first 63
  bits of the BLAKE2b-64 digest (``hashlib.blake2b``) of the sweep's ``seed``, the
  repeat number and the point's parameters, encoded canonically (names sorted;
  ``1`` and ``numpy.int64(1)`` encode alike, ``1`` and ``1.0`` do not). So a point's
  seed depends on nothing else: not on the engine, the number of workers, the
  order of the grid or the other points in it — a sub-grid run alone gives the
  same rows. Use it for every random choice (``random.Random(point["seed"])``,
  ``numpy.random.default_rng(point["seed"])``, ``kl.Kernel(seed=point["seed"])``).
  Identical points get identical seeds: ``repeat=n`` runs each point ``n`` times
  with repeat numbers ``0 … n-1`` and different seeds.
* **failures**: with ``on_error="record"`` (the default) a point that fails gives
  one row with its parameters and an ``error`` column, ``"ExceptionType: message"``
  (NaN in the rows that succeeded), and the sweep goes on; a warning at the end says
  how many failed. The column exists only if some point failed. A point fails when
  ``fn`` raises (any exception, ``SystemExit`` included; ``KeyboardInterrupt`` stops
  the sweep), returns something else than a dict or a DataFrame, returns something
  that cannot be serialised (below), runs past ``timeout`` (``PointTimeout: …``) or
  kills the process it runs in (``PointCrashed: …``, with the exit status or the
  signal). The message is made safe to compare and to store: memory addresses
  (``" at 0x…"``) are left out, lone surrogates escaped, and it is cut at
  :data:`ERROR_LIMIT` characters; an exception whose ``str()`` itself fails is
  named with a placeholder message. To see the traceback, run the point again,
  ``fn(points(grid, …)[i])``, or sweep with ``on_error="raise"``: the first failure
  is raised, with a note naming the point (from an isolated point: the exception
  itself when it can be carried back, else :class:`PointError`; a timeout or a
  crash as :class:`PointTimeout` or :class:`PointCrashed`).
* **serialisable results**: what ``fn`` returns must go through the standard
  library's pickler (``multiprocessing``'s), which is how results come back from a
  Dask worker or an isolated point. A result holding a lambda, a generator, a lock,
  an open file or an object whose ``__reduce__`` raises is a failed point —
  ``TypeError: fn returned a result that cannot be serialised (…)`` — in every
  engine, serial runs included, so serial and Dask frames stay identical (Dask
  alone would carry some of these with cloudpickle; the rule all engines share is
  the stricter one). Checking costs one serialisation of each result.
* **isolation and timeouts**: ``timeout=s`` (seconds, a positive finite number)
  stops a point that runs longer than that and records it as failed; the sweep
  goes on. ``isolate=True`` runs the points in a child process, so that a point
  that kills its process (``os._exit``, a signal, a crash in C code) or exhausts
  its memory costs one row, not the caller. ``isolate=None`` (the default) means
  "isolate when a timeout is given": the default serial path calls ``fn`` here, in
  this process, and pays nothing for isolation. Isolated points run in a child
  made with ``os.fork`` (POSIX only): it inherits ``fn`` and the points, so
  functions defined in a notebook or as lambdas work, nothing has to be sent to
  it; one child runs the points one after the other and is replaced only after a
  timeout or a crash, so isolation costs one fork per sweep (per Dask task), plus
  one more per point stopped, and a trip through a pipe for each result. A point's
  time counts from its start in the child until its result is serialised. The
  child's results are read back with ``multiprocessing``'s pickler, from a pipe to
  a process this module forked (as Dask and ``multiprocessing`` do); nothing read
  from a file is ever unpickled. A child whose parent dies exits within a second.
  Forking a process that runs other threads is what Python 3.12 warns about: a
  lock held by another thread at the fork stays held in the child; a point that
  waits for such a lock hangs — a ``timeout`` turns that into a failed point.
* **engines**: ``client=None`` runs in this process with a progress bar
  (``tqdm.auto``: a widget in a notebook). ``client="local"`` starts a Dask
  ``LocalCluster`` on this machine (two worker processes, one thread each, on
  127.0.0.1, no dashboard; a task that killed its worker is not retried by the
  scheduler, ``distributed.scheduler.allowed-failures`` = 0, as this module
  re-runs it itself) and closes it at the end; a ``distributed.Client`` or a
  scheduler address (``"tcp://host:8786"``) runs there (keykos_lab must be
  installed on those workers). On Dask no point runs in this process. Dask ships
  ``fn`` with cloudpickle, so functions defined in a notebook cell work; a ``fn``
  it cannot serialise (one that captures a lock, an open file, a generator …) is
  refused at once with a :class:`TypeError` saying why. A task whose worker dies
  (a point called ``os._exit``, was killed, crashed) is run again isolated, so
  only the point that killed it gets a ``PointCrashed`` row; other tasks on that
  worker are re-run too and succeed. Dask is an optional extra:
  ``pip install 'keykos_lab[dask]'``.
* **batching**: on Dask, points are sent in batches so each task does about
  ``batch_seconds`` (0.1 s) of work: the first task runs points one after the other
  until one took that long or they took that long together (at most
  :data:`TIMING_POINTS` of them); the median time of a point among them (leaving
  out the first, which pays for warming up, when there are several) sets the
  batch size, ``ceil(batch_seconds / median)``.
* **streaming**: :func:`sweep_iter` yields the frame so far (grid order, the
  points finished) as results come back (``distributed.as_completed``), at most
  every ``every`` seconds, and the complete frame last; for live plots.

Bad arguments (a grid that is not one, ``repeat`` < 1, a ``timeout``,
``batch_seconds`` or ``every`` that is not a sensible number of seconds, an
``isolate`` that is not None or a bool, ``timeout`` with ``isolate=False``) raise
``TypeError`` or ``ValueError`` before anything runs or any cluster starts.

Serial and Dask runs of one sweep give identical frames, failures included
(``tests/test_sweep.py`` and ``tests/adversarial/sweeps/`` check it on a two-worker
``LocalCluster``); docs/reliability.md#reliability-cli-sweeps says what the hostile
tests try.

>>> def square(point):
...     return {"y": point["x"] ** 2 + point["shift"]}
>>> df = sweep(square, {"x": [1, 2, 3], "shift": [0, 10]}, progress=False)
>>> df[["x", "shift", "y"]].T.values.tolist()
[[1, 1, 2, 2, 3, 3], [0, 10, 0, 10, 0, 10], [1, 11, 4, 14, 9, 19]]
>>> list(df.columns)
['x', 'shift', 'repeat', 'seed', 'y']

A point that hangs or kills its process costs one row (``timeout`` isolates the
points):

>>> import os, time, warnings
>>> def fragile(point):
...     if point["x"] == 1:
...         time.sleep(60)
...     if point["x"] == 2:
...         os._exit(3)
...     return {"y": point["x"]}
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", RuntimeWarning)
...     df = sweep(fragile, {"x": [0, 1, 2, 3]}, timeout=0.5, progress=False)
>>> for x, error in zip(df.x, df.error):
...     print(x, error)
0 nan
1 PointTimeout: the point ran longer than timeout=0.5 s and was stopped
2 PointCrashed: the process running the point died before the point returned (exit status 3)
3 nan
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import logging
import math
import numbers
import os
import re
import signal
import statistics
import struct
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing
from multiprocessing import Pipe
from multiprocessing.reduction import ForkingPickler
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "PointCrashed",
    "PointError",
    "PointTimeout",
    "point_seed",
    "points",
    "sweep",
    "sweep_iter",
]

#: Columns the sweep sets itself: no parameter may use these names.
RESERVED = ("repeat", "seed", "error")
#: The LocalCluster ``client="local"`` starts: no dashboard; the scheduler's HTTP
#: endpoint (health checks) on a free port of 127.0.0.1, not on 8787.
LOCAL_CLUSTER = {
    "n_workers": 2,
    "threads_per_worker": 1,
    "processes": True,
    "host": "127.0.0.1",
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}
#: Dask configuration while ``client="local"`` starts its cluster: a task whose worker
#: died is not retried by the scheduler (this module re-runs it, isolated).
LOCAL_CONFIG = {"distributed.scheduler.allowed-failures": 0}
#: An error message is cut after this many characters.
ERROR_LIMIT = 2000
#: At most this many points in the first Dask task, which times them.
TIMING_POINTS = 256
_INSTALL = (
    "needs Dask's distributed scheduler, an optional extra: "
    "pip install 'keykos_lab[dask]'  (or: pip install 'dask[distributed]')"
)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_POLL = 0.1  # seconds between checks that an isolated child still lives
_ORPHAN_POLL = 0.5  # seconds between a child's checks that its parent still lives

Grid = Mapping[str, Any] | Sequence[Mapping[str, Any]]
Result = Mapping[str, Any] | pd.Series | pd.DataFrame


class PointTimeout(TimeoutError):
    """A point ran past the sweep's ``timeout``; its process was killed."""


class PointCrashed(RuntimeError):
    """The process running a point died before the point returned."""


class PointError(RuntimeError):
    """``on_error="raise"``: an isolated point failed with an exception that could not
    be carried back to this process as itself; the message says what it was."""


class _Point(NamedTuple):
    index: int  # position in the expanded grid (repeats innermost)
    params: dict[str, Any]
    repeat: int
    seed: int

    def call(self) -> dict[str, Any]:
        """What ``fn`` receives."""
        return {**self.params, "seed": self.seed}


class _Failed(NamedTuple):
    error: str  # "ExceptionType: message"


class _Raised(NamedTuple):
    exc: BaseException  # on_error="raise", from an isolated point: raise it here


# ------------------------------------------------------------------- the grid
def point_seed(params: Mapping[str, Any], seed: int = 0, repeat: int = 0) -> int:
    """The seed a point's run gets: 63 bits of BLAKE2b over (``seed``, ``repeat``, the
    parameters encoded canonically). Parameter values may be None, bools, numbers,
    strings, bytes, and lists, tuples and dicts of them, or functions and classes (by
    qualified name).

    >>> point_seed({"n": 3, "p": 0.5}) == point_seed({"p": 0.5, "n": np.int64(3)})
    True
    >>> point_seed({"n": 3}) != point_seed({"n": 3}, repeat=1) != point_seed({"n": 3.0})
    True
    >>> 0 <= point_seed({"n": 3}, seed=7) < 2**63
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed is an int, not {type(seed).__name__}")
    text = f"{int(seed)}|{int(repeat)}|{_canon(dict(params))}"
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _canon(value: Any) -> str:
    """A canonical text for a parameter value (the seed's input)."""
    if value is None:
        return "N"
    if isinstance(value, bool | np.bool_):
        return f"b{bool(value):d}"
    if isinstance(value, numbers.Integral):
        return f"i{int(value)}"
    if isinstance(value, numbers.Real):
        return f"f{float(value)!r}"
    if isinstance(value, str):
        return f"s{len(value)}:{value}"
    if isinstance(value, bytes):
        return f"y{value.hex()}"
    if isinstance(value, list | tuple):
        return "(" + ",".join(_canon(v) for v in value) + ")"
    if isinstance(value, Mapping):
        items = sorted((_canon(k), _canon(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}={v}" for k, v in items) + "}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"c{value.__module__}.{value.__qualname__}"
    raise TypeError(
        f"cannot derive a seed from a parameter value of type "
        f"{type(value).__name__}: use None, bools, numbers, strings, bytes, lists, "
        "tuples, dicts or functions (or pass other objects to fn by closure)"
    )


def _values(name: str, values: Any) -> list:
    if isinstance(values, str | bytes) or not isinstance(
        values, Sequence | np.ndarray | pd.Series | pd.Index | range
    ):
        if isinstance(values, Mapping | set | frozenset | Iterator):
            raise TypeError(
                f"grid[{name!r}] is a {type(values).__name__}: give a list of "
                "values (or one value that is not a collection)"
            )
        return [values]
    return list(values)


def _expand(grid: Grid, repeat: int, seed: int) -> tuple[list[_Point], list[str]]:
    """The points, in grid order with repeats innermost, and the parameter names."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat is a positive int, not {repeat!r}")
    if isinstance(grid, Mapping):
        names = list(grid)
        for name in names:
            _check_name(name)
        axes = [_values(name, grid[name]) for name in names]
        combos = [dict(zip(names, values)) for values in itertools.product(*axes)]
    elif isinstance(grid, Sequence) and not isinstance(grid, str | bytes):
        combos = []
        for i, combo in enumerate(grid):
            if not isinstance(combo, Mapping):
                raise TypeError(f"grid[{i}] is a {type(combo).__name__}, not a dict")
            combos.append(dict(combo))
        names = list(dict.fromkeys(name for combo in combos for name in combo))
    else:
        raise TypeError(
            f"grid is a dict of parameter lists or a list of dicts, not a {type(grid).__name__}"
        )
    for name in names:
        _check_name(name)
    out: list[_Point] = []
    for combo in combos:
        for r in range(repeat):
            out.append(_Point(len(out), combo, r, point_seed(combo, seed, r)))
    return out, names


def _check_name(name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"parameter names are strings, not {name!r}")
    if name in RESERVED:
        raise ValueError(
            f"{name!r} is set by the sweep; rename the parameter (reserved: {', '.join(RESERVED)})"
        )


def points(grid: Grid, *, repeat: int = 1, seed: int = 0) -> list[dict[str, Any]]:
    """The points ``fn`` receives, in grid order (each point's repeats together):
    to rerun one by hand, ``fn(points(grid, …)[i])``.

    >>> points({"n": [1, 2], "p": 0.5}, seed=1)[1] == {"n": 2, "p": 0.5,
    ...                                                 "seed": point_seed({"n": 2, "p": 0.5}, 1)}
    True
    >>> [p["n"] for p in points([{"n": 1}, {"n": 5, "k": 2}], repeat=2)]
    [1, 1, 5, 5]
    """
    return [p.call() for p in _expand(grid, repeat, seed)[0]]


# ------------------------------------------------------------------ options
def _seconds(name: str, value: Any, *, zero: bool = False, infinite: bool = False) -> float:
    """``value`` as a number of seconds, or a TypeError / ValueError saying what it is."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} is a number of seconds, not a {type(value).__name__}")
    try:
        out = float(value)
    except (OverflowError, ValueError, TypeError):
        out = math.nan
    if math.isnan(out) or out < 0 or (out == 0 and not zero) or (math.isinf(out) and not infinite):
        what = "a positive" + ("" if infinite else " finite")
        raise ValueError(
            f"{name} is {what} number of seconds{' (or 0)' if zero else ''}, not {value!r}"
        )
    return out


def _options(
    fn: Any, on_error: Any, timeout: Any, isolate: Any, batch_seconds: Any, every: Any
) -> tuple[float | None, bool]:
    """Check the sweep's options before anything runs: (timeout, isolate)."""
    if not callable(fn):
        raise TypeError(f"fn is a function of one point, not a {type(fn).__name__}")
    if not isinstance(on_error, str) or on_error not in ("record", "raise"):
        raise ValueError(f"on_error is 'record' or 'raise', not {on_error!r}")
    seconds = None if timeout is None else _seconds("timeout", timeout)
    if isolate is not None and not isinstance(isolate, bool | np.bool_):
        raise TypeError(f"isolate is None, True or False, not {isolate!r}")
    if seconds is not None and isolate is not None and not isolate:
        raise ValueError(
            "timeout needs isolate: a point past it is stopped by killing the "
            "process it runs in; leave isolate=None (or True)"
        )
    _seconds("batch_seconds", batch_seconds)
    _seconds("every", every, zero=True, infinite=True)
    isolated = bool(isolate) if isolate is not None else seconds is not None
    if isolated and not hasattr(os, "fork"):
        raise NotImplementedError(
            "timeout and isolate=True run points in a forked child "
            "process, and this platform has no os.fork"
        )
    return seconds, isolated


# ------------------------------------------------------------------ one point
def _result(result: Any, point: dict[str, Any]) -> dict[str, Any] | pd.DataFrame:
    """``fn``'s result as a row dict or a frame; raises if it is neither or sets a
    parameter, the seed or a reserved column to another value."""
    if isinstance(result, pd.DataFrame):
        if isinstance(result.index, pd.RangeIndex) and result.index.name is None:
            out = result.reset_index(drop=True)
        else:
            out = result.reset_index()
        for name in [c for c in out.columns if c in point or c in RESERVED]:
            if name not in point or not all(_same(v, point[name]) for v in out[name]):
                raise ValueError(
                    f"fn returned a column {name!r} that the sweep sets "
                    "(a parameter, repeat, seed or error): rename it"
                )
            out = out.drop(columns=name)
        return out
    if isinstance(result, pd.Series):
        result = result.to_dict()
    if not isinstance(result, Mapping):
        raise TypeError(
            f"fn returned a {type(result).__name__}: return a dict (one row) or a DataFrame"
        )
    row = {}
    for name, value in result.items():
        if name in point or name in RESERVED:
            if name not in point or not _same(value, point[name]):
                raise ValueError(
                    f"fn returned {name!r}, which the sweep sets (a parameter, "
                    "repeat, seed or error), with another value: rename it"
                )
            continue
        row[name] = value
    return row


def _same(a: Any, b: Any) -> bool:
    try:
        return a is b or bool(a == b)
    except (TypeError, ValueError):
        return False


def _error_text(exc: BaseException) -> str:
    """``"ExceptionType: message"``, safe to store and compare whatever ``exc`` is."""
    try:
        name = type(exc).__name__
        name = name if isinstance(name, str) else "Exception"
    except Exception:
        name = "Exception"
    try:
        message = str(exc)
    except KeyboardInterrupt:
        raise
    except BaseException:
        message = f"<the message of this {name} could not be made into text>"
    text = f"{name}: {message[: 4 * ERROR_LIMIT]}"
    text = _ADDRESS.sub("", text).encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > ERROR_LIMIT or len(message) > 4 * ERROR_LIMIT:
        text = f"{text[:ERROR_LIMIT]}… (cut; the message had {len(message)} characters)"
    return text


def _note(exc: BaseException, text: str) -> None:
    try:
        exc.add_note(text)
    except Exception:  # a __notes__ that is not a list, a frozen exception
        pass


def _outcome(fn: Callable, point: dict[str, Any], on_error: str) -> tuple[Any, Any]:
    """Run ``fn`` on ``point`` in this process: ``(outcome, outcome serialised)``, the
    outcome a row dict, a frame or :class:`_Failed`. With ``on_error="raise"`` a
    failure is raised instead, with a note naming the point."""
    try:
        out = _result(fn(dict(point)), point)
        try:
            data = ForkingPickler.dumps(out)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise TypeError(
                f"fn returned a result that cannot be serialised "
                f"({_error_text(exc)}): return plain data — numbers, strings, "
                "lists, dicts, arrays, frames"
            ) from None
        return out, data
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        if on_error == "raise":
            _note(exc, f"in the sweep point {_describe(point)}")
            raise
        failed = _Failed(_error_text(exc))
        return failed, ForkingPickler.dumps(failed)


def _run(fn: Callable, point: dict[str, Any], on_error: str):
    return _outcome(fn, point, on_error)[0]


def _describe(point: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={_short_repr(v)}" for k, v in point.items())
    return text if len(text) <= ERROR_LIMIT else text[:ERROR_LIMIT] + "…"


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 200 else text[:200] + "…"


def _here(fn: Callable, batch: list[tuple[int, dict[str, Any]]], on_error: str):
    """Run the points of ``batch`` in this process: ``(index, outcome, seconds)`` each."""
    for index, point in batch:
        t0 = time.perf_counter()
        outcome = _run(fn, point, on_error)
        yield index, outcome, time.perf_counter() - t0


# ------------------------------------------------------------ isolated points
def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _orphan_guard(parent: int) -> None:
    """In a child: exit when the process that forked it is gone (no point runs on for
    nobody)."""
    while True:
        time.sleep(_ORPHAN_POLL)
        if os.getppid() != parent:
            os._exit(71)


def _child(
    fn: Callable, batch: list[tuple[int, dict[str, Any]]], on_error: str, writer: Any, parent: int
) -> None:
    """The forked child's work: each point's time, then its outcome, through ``writer``."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    threading.Thread(target=_orphan_guard, args=(parent,), daemon=True).start()
    for _, point in batch:
        t0 = time.perf_counter()
        try:
            _, data = _outcome(fn, point, on_error)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # on_error="raise"
            data = ForkingPickler.dumps(_Raised(_portable(exc)))
        writer.send_bytes(struct.pack("!d", time.perf_counter() - t0))
        writer.send_bytes(data)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` with its traceback as a note, or a PointError naming it if it cannot
    be serialised."""
    try:
        lines = traceback.format_exception(exc)
        _note(exc, "traceback in the point's process:\n" + "".join(lines)[-ERROR_LIMIT:])
    except Exception:
        pass
    try:
        ForkingPickler.dumps(exc)
        return exc
    except Exception:
        return PointError(f"the point raised {_error_text(exc)}")


class _Isolated:
    """A forked child running a list of points; its results, one at a time."""

    def __init__(
        self, fn: Callable, batch: list[tuple[int, dict[str, Any]]], on_error: str
    ) -> None:
        reader, writer = Pipe(duplex=False)
        _flush_std()
        parent = os.getpid()
        with warnings.catch_warnings():  # 3.12+: "multi-threaded, use of fork()": the
            warnings.filterwarnings(  # module documentation says what this risks
                "ignore", r"This process .* is multi-threaded", DeprecationWarning
            )
            pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 0
            try:
                reader.close()
                _child(fn, batch, on_error, writer, parent)
            except BaseException:
                code = 70
            finally:
                try:
                    _flush_std()
                finally:
                    os._exit(code)
        writer.close()
        self.pid, self.reader = pid, reader
        self.status: int | None = None  # the wait status, once reaped
        self.reaped = False

    def _poll_exit(self) -> bool:
        """Whether the child has ended (reaping it)."""
        if not self.reaped:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else
                self.reaped = True
                return True
            if pid == 0:
                return False
            self.status, self.reaped = status, True
        return True

    def receive(self, timeout: float | None) -> tuple[float, Any] | str:
        """The next point's ``(seconds, outcome)``, or the failure text when the child
        died or the point ran past ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _POLL if deadline is None else max(0.0, deadline - time.monotonic())
            if self.reader.poll(min(_POLL, left)):
                try:
                    (seconds,) = struct.unpack("!d", self.reader.recv_bytes())
                except (EOFError, OSError, struct.error):
                    return self._crashed()
                try:
                    return seconds, self.reader.recv()
                except (EOFError, OSError):
                    return self._crashed()
                except Exception as exc:  # the outcome would not load here
                    return seconds, _Failed(
                        f"PointError: the point's result could not be "
                        f"read back ({_error_text(exc)})"
                    )
            if deadline is not None and time.monotonic() >= deadline:
                return (
                    f"PointTimeout: the point ran longer than timeout={timeout:g} s and was stopped"
                )
            if self._poll_exit() and not self.reader.poll(0):
                return self._crashed()

    def _crashed(self) -> str:
        self.stop()
        return (
            f"PointCrashed: the process running the point died before the point "
            f"returned ({_wait_status(self.status)})"
        )

    def stop(self) -> None:
        """Kill the child if it still runs, and reap it."""
        if self.reaped:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            _, self.status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.reaped = True

    def close(self) -> None:
        self.reader.close()
        self.stop()


def _wait_status(status: int | None) -> str:
    if status is None:
        return "its exit status is unknown"
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"killed by signal {-code}, {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _isolated(
    fn: Callable, batch: list[tuple[int, dict[str, Any]]], on_error: str, timeout: float | None
):
    """Run the points of ``batch`` in forked children, in order: ``(index, outcome,
    seconds)`` each. One child runs them all unless one times out or kills it; then
    that point fails and a new child goes on with the next."""
    i = 0
    while i < len(batch):
        child = _Isolated(fn, batch[i:], on_error)
        try:
            while i < len(batch):
                index, point = batch[i]
                t0 = time.perf_counter()
                got = child.receive(timeout)
                i += 1
                if isinstance(got, str):  # a timeout or a crash
                    if on_error == "raise":
                        kind = PointTimeout if got.startswith("PointTimeout") else PointCrashed
                        exc = kind(got.partition(": ")[2])
                        _note(exc, f"in the sweep point {_describe(point)}")
                        raise exc
                    yield index, _Failed(got), time.perf_counter() - t0
                    break  # this child is gone: a new one
                seconds, outcome = got
                if isinstance(outcome, _Raised):
                    raise outcome.exc
                if isinstance(outcome, _Failed) and on_error == "raise":
                    raise PointError(outcome.error)
                yield index, outcome, seconds
        finally:
            child.close()


def _run_batch(
    fn: Callable,
    batch: list[tuple[int, dict[str, Any]]],
    on_error: str,
    isolate: bool = False,
    timeout: float | None = None,
    stop_after: float | None = None,
) -> list[tuple[int, Any, float]]:
    """One Dask task: run the points of ``batch`` (index, point) in order, here or
    isolated; ``[(index, outcome, seconds)]``. With ``stop_after``, stop once a point
    or all of them together took that long (the first task, which times points)."""
    out = []
    total = 0.0
    runs = _isolated(fn, batch, on_error, timeout) if isolate else _here(fn, batch, on_error)
    with closing(runs):
        for index, outcome, seconds in runs:
            out.append((index, outcome, seconds))
            total += seconds
            if stop_after is not None and (seconds >= stop_after or total >= stop_after):
                break
    return out


# ----------------------------------------------------------------- the frame
def _assemble(pts: list[_Point], names: list[str], done: Mapping[int, Any]) -> pd.DataFrame:
    """The tidy frame of the finished points, in grid order."""
    blocks: list[pd.DataFrame] = []
    records: list[dict[str, Any]] = []
    failed = False
    for p in pts:
        outcome = done.get(p.index)
        if outcome is None:
            continue
        head = {**p.params, "repeat": p.repeat, "seed": p.seed}
        if isinstance(outcome, _Failed):
            failed = True
            records.append({**head, "error": outcome.error})
        elif isinstance(outcome, dict):
            records.append({**head, **outcome})
        else:
            if records:
                blocks.append(pd.DataFrame.from_records(records))
                records = []
            n = len(outcome)
            left = pd.DataFrame({name: [value] * n for name, value in head.items()})
            blocks.append(pd.concat([left, outcome], axis=1))
    if records:
        blocks.append(pd.DataFrame.from_records(records))
    first = [*names, "repeat", "seed"]
    if not blocks:
        return pd.DataFrame(columns=first)
    with warnings.catch_warnings():  # all-NaN columns of failed points: no dtype noise
        warnings.simplefilter("ignore", FutureWarning)
        frame = blocks[0] if len(blocks) == 1 else pd.concat(blocks, ignore_index=True)
    rest = [c for c in frame.columns if c not in first and c != "error"]
    return frame[first + rest + (["error"] if failed else [])]


# ------------------------------------------------------------------- engines
def _local_cluster():
    """The ``LocalCluster`` ``client="local"`` starts (:data:`LOCAL_CLUSTER`,
    :data:`LOCAL_CONFIG`); the caller closes it."""
    import dask
    import distributed

    with dask.config.set(LOCAL_CONFIG):
        return distributed.LocalCluster(**LOCAL_CLUSTER, silence_logs=logging.ERROR)


def _connect(client: Any, stack: ExitStack):
    """A ``distributed.Client`` for ``client``; what this function starts, ``stack`` closes."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(f"client={client!r} {_INSTALL}") from exc
    if isinstance(client, distributed.Client):
        return client
    if isinstance(client, str) and client == "local":
        cluster = _local_cluster()
        stack.callback(cluster.close)
        c = distributed.Client(cluster, set_as_default=False)
        stack.callback(c.close)
        return c
    if isinstance(client, str):
        c = distributed.Client(client, set_as_default=False)
        stack.callback(c.close)
        return c
    raise TypeError(
        f"client is None, 'local', a scheduler address or a distributed.Client, "
        f"not {type(client).__name__}"
    )


def _check_client(client: Any) -> None:
    """Refuse a ``client`` of the wrong type before anything starts."""
    if client is None:
        return
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(f"client={client!r} {_INSTALL}") from exc
    if not isinstance(client, str | distributed.Client):
        raise TypeError(
            f"client is None, 'local', a scheduler address or a "
            f"distributed.Client, not {type(client).__name__}"
        )


@contextlib.contextmanager
def _quiet_serialiser() -> Iterator[None]:
    """Dask logs every object it fails to serialise, with a traceback: here that is a
    failure this module reports itself."""
    log = logging.getLogger("distributed.protocol.pickle")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _check_sendable(fn: Callable) -> None:
    """Refuse, with the reason, a ``fn`` Dask cannot send to its workers."""
    from distributed.protocol import serialize

    try:
        with _quiet_serialiser():
            serialize(fn, on_error="raise")
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        raise TypeError(
            f"fn cannot be sent to the Dask workers: {_error_text(cause)}. Dask "
            "serialises fn (with cloudpickle): define it at the top level of a "
            "module or a notebook cell, and let it make what it needs (kernels, "
            "locks, open files, connections) instead of capturing them; or run "
            "the sweep serially (client=None)"
        ) from exc


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="point", disable=not enabled, leave=True)


def sweep_iter(
    fn: Callable[[dict[str, Any]], Result],
    grid: Grid,
    *,
    client: Any = None,
    repeat: int = 1,
    seed: int = 0,
    on_error: Literal["record", "raise"] = "record",
    batch_seconds: float = 0.1,
    every: float = 1.0,
    progress: bool = True,
    timeout: float | None = None,
    isolate: bool | None = None,
) -> Iterator[pd.DataFrame]:
    """:func:`sweep`, streaming: yields the frame of the points finished so far (in grid
    order) whenever results have come back and ``every`` seconds have passed since the
    last, then the complete frame — the one :func:`sweep` returns. Closing the iterator
    early cancels what is left, stops an isolated point's process and closes a cluster
    it started. Bad arguments raise here, before the first frame is asked for.

    >>> frames = list(sweep_iter(lambda p: {"y": -p["x"]}, {"x": range(4)}, every=0,
    ...                          progress=False))
    >>> [len(f) for f in frames], frames[-1].y.tolist()
    ([1, 2, 3, 4], [0, -1, -2, -3])
    """
    seconds, isolated = _options(fn, on_error, timeout, isolate, batch_seconds, every)
    _check_client(client)
    pts, names = _expand(grid, repeat, seed)
    return _frames(
        fn,
        pts,
        names,
        client,
        on_error,
        float(batch_seconds),
        float(every),
        progress,
        seconds,
        isolated,
        2,
    )


def _frames(
    fn,
    pts: list[_Point],
    names: list[str],
    client,
    on_error: str,
    batch_seconds: float,
    every: float,
    progress,
    timeout: float | None,
    isolate: bool,
    stacklevel: int,
) -> Iterator[pd.DataFrame]:
    done: dict[int, Any] = {}
    failures: list[int] = []
    last = time.perf_counter()
    with ExitStack() as stack:
        bar = stack.enter_context(_progress(len(pts), progress))

        def record(index: int, outcome: Any) -> None:
            done[index] = outcome
            if isinstance(outcome, _Failed):
                failures.append(index)
                bar.set_postfix(failed=len(failures), refresh=False)
            bar.update(1)

        def due() -> bool:
            nonlocal last
            now = time.perf_counter()
            if now - last >= every and len(done) < len(pts):
                last = now
                return True
            return False

        def frame() -> pd.DataFrame:
            return _assemble(pts, names, done)

        if client is None:
            batch = [(p.index, p.call()) for p in pts]
            runs = stack.enter_context(
                closing(
                    _isolated(fn, batch, on_error, timeout)
                    if isolate
                    else _here(fn, batch, on_error)
                )
            )
            for index, outcome, _ in runs:
                record(index, outcome)
                if due():
                    yield frame()
        elif pts:
            dask = _connect(client, stack)
            yield from _dask(
                dask, fn, pts, on_error, batch_seconds, isolate, timeout, record, due, frame
            )
    if failures:
        first = pts[min(failures)]
        warnings.warn(
            f"{len(failures)} of {len(pts)} sweep points failed (see the error "
            f"column); the first: {_describe(first.call())}: "
            f"{done[first.index].error}",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
    yield frame()


def _dask(
    client,
    fn,
    todo: list[_Point],
    on_error: str,
    batch_seconds: float,
    isolate: bool,
    timeout: float | None,
    record,
    due,
    frame,
) -> Iterator[pd.DataFrame]:
    from distributed import KilledWorker, as_completed

    _check_sendable(fn)
    # The first task times points (on a worker: no point runs here); the rest go out in
    # batches of about batch_seconds of work once it is back.
    first = [(p.index, p.call()) for p in todo[:TIMING_POINTS]]
    futures: dict[Any, tuple[list, bool, bool]] = {}  # future -> (batch, isolated, timing)
    queue = as_completed([], loop=client.loop)

    def send(batch: list, isolated: bool, timing: bool) -> BaseException | None:
        """Submit a task; the error if Dask cannot serialise it (a parameter value)."""
        try:
            with _quiet_serialiser():
                future = client.submit(
                    _run_batch,
                    fn,
                    batch,
                    on_error,
                    isolated,
                    timeout,
                    batch_seconds if timing else None,
                    pure=False,
                )
        except Exception as exc:
            if on_error == "raise":
                raise
            return exc
        futures[future] = (batch, isolated, timing)
        queue.add(future)
        return None

    def send_each(batch: list, isolated: bool) -> None:
        """One task a point, so that a point Dask cannot send fails alone."""
        for one in batch:
            exc = send([one], isolated, False)
            if exc is not None:
                cause = exc.__cause__ if exc.__cause__ is not None else exc
                record(
                    one[0],
                    _Failed(
                        f"TypeError: the point cannot be sent to the Dask "
                        f"workers ({_error_text(cause)})"
                    ),
                )

    try:
        if send(first, isolate, True) is not None:
            send_each([(p.index, p.call()) for p in todo], isolate)
        for future in queue:
            batch, isolated, timing = futures.pop(future)
            try:
                results = future.result()
            except Exception as exc:
                if not isolated and (on_error == "record" or isinstance(exc, KilledWorker)):
                    send(batch, True, timing)  # its worker died: again, isolated
                    continue
                if on_error == "raise":
                    raise
                results = [(index, _Failed(_error_text(exc)), 0.0) for index, _ in batch]
            for index, outcome, _ in results:
                record(index, outcome)
            if timing:
                rest = todo[len(results) :]
                times = [seconds for _, _, seconds in results]
                typical = statistics.median(times[1:] if len(times) > 1 else times)
                size = max(1, math.ceil(batch_seconds / typical) if typical > 0 else len(rest))
                for i in range(0, len(rest), size):
                    batch = [(p.index, p.call()) for p in rest[i : i + size]]
                    if send(batch, isolate, False) is not None:
                        send_each(batch, isolate)
            if due():
                yield frame()
    finally:
        client.cancel([f for f in futures if not f.done()])


def sweep(
    fn: Callable[[dict[str, Any]], Result],
    grid: Grid,
    *,
    client: Any = None,
    repeat: int = 1,
    seed: int = 0,
    on_error: Literal["record", "raise"] = "record",
    batch_seconds: float = 0.1,
    progress: bool = True,
    timeout: float | None = None,
    isolate: bool | None = None,
) -> pd.DataFrame:
    """Run ``fn`` on every point of ``grid`` (``repeat`` times each) and return one tidy
    frame: the parameters, ``repeat``, ``seed``, then ``fn``'s columns, in grid order.

    ``client``: None (here, serially), ``"local"``, a scheduler address or a
    ``distributed.Client``; ``seed``: the sweep's seed, from which each run's is derived;
    ``on_error``: ``"record"`` (an ``error`` column) or ``"raise"``; ``batch_seconds``:
    the work per Dask task; ``progress``: the tqdm bar; ``timeout``: seconds a point may
    run before it is stopped and recorded as failed; ``isolate``: run points in a child
    process, so that one that kills its process fails alone (None: only with a
    ``timeout``). The module's documentation says more about the grid, seeds,
    failures, isolation, engines and batching.

    >>> import random, warnings
    >>> def coin(point):
    ...     rng = random.Random(point["seed"])
    ...     if point["p"] > 1:
    ...         raise ValueError("p is a probability")
    ...     return {"heads": sum(rng.random() < point["p"] for _ in range(100))}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     df = sweep(coin, {"p": [0.0, 1.0, 2.0]}, repeat=2, progress=False)
    ...     again = sweep(coin, {"p": [0.0, 1.0, 2.0]}, repeat=2, progress=False)
    >>> print(caught[0].message)
    2 of 6 sweep points failed (see the error column); the first: p=2.0, seed=...: ValueError: ...
    >>> df[["p", "repeat", "heads", "error"]]
         p  repeat  heads                         error
    0  0.0       0    0.0                           NaN
    1  0.0       1    0.0                           NaN
    2  1.0       0  100.0                           NaN
    3  1.0       1  100.0                           NaN
    4  2.0       0    NaN  ValueError: p is a probability
    5  2.0       1    NaN  ValueError: p is a probability
    >>> df.equals(again), caught[0].filename.startswith("<doctest")
    (True, True)
    """
    seconds, isolated = _options(fn, on_error, timeout, isolate, batch_seconds, math.inf)
    _check_client(client)
    pts, names = _expand(grid, repeat, seed)
    frames = _frames(
        fn,
        pts,
        names,
        client,
        on_error,
        float(batch_seconds),
        math.inf,
        progress,
        seconds,
        isolated,
        3,
    )
    return collections.deque(frames, maxlen=1)[0]  # the last: the complete frame
