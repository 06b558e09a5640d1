"""Parameter sweeps: one function over a grid of points, serially or on Dask, into one frame.

``sweep(fn, grid)`` calls ``fn`` once per point of ``grid`` and returns one tidy
:class:`pandas.DataFrame`: the parameters as columns, then ``repeat`` and
``seed``, then what ``fn`` returned, one row per returned row, in grid order.

* **grid**: a dict of parameter lists, expanded to their cartesian product (first
  key slowest), or a list of dicts, one point each. In a dict, a value that is a
  list, tuple, range, numpy array or pandas Series/Index is a list of values;
  anything else (a number, a string, ``None`` …) is one fixed value.
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
* **failures**: with ``on_error="record"`` (the default) a point whose ``fn``
  raises (or returns something else than a dict or a DataFrame) gives one row with
  its parameters and an ``error`` column, ``"ExceptionType: message"`` (NaN in the
  rows that succeeded), and the sweep goes on; a warning at the end says how many
  failed. The column exists only if some point failed. To see the traceback, run
  the point again, ``fn(points(grid, …)[i])``, or sweep with ``on_error="raise"``:
  the first failure is raised, with a note naming the point.
* **engines**: ``client=None`` runs in this process with a progress bar
  (``tqdm.auto``: a widget in a notebook). ``client="local"`` starts a Dask
  ``LocalCluster`` on this machine (two worker processes, one thread each, on
  127.0.0.1, no dashboard) and closes it at the end; a ``distributed.Client`` or a
  scheduler address (``"tcp://host:8786"``) runs there (keykos_lab must be
  installed on those workers). Dask ships ``fn`` with cloudpickle, so functions
  defined in a notebook cell work. Dask is an optional extra:
  ``pip install 'keykos_lab[dask]'``.
* **batching**: on Dask, points are sent in batches so each task does about
  ``batch_seconds`` (0.1 s) of work: the first points run here, serially, until one
  took that long or they took that long together; the median time of a point
  among them (leaving out the first, which pays for warming up, when there are
  several) sets the batch size, ``ceil(batch_seconds / median)``.
* **streaming**: :func:`sweep_iter` yields the frame so far (grid order, the
  points finished) as results come back (``distributed.as_completed``), at most
  every ``every`` seconds, and the complete frame last; for live plots.

Serial and Dask runs of one sweep give identical frames (``tests/test_sweep.py``
checks it on a two-worker ``LocalCluster``).

>>> def square(point):
...     return {"y": point["x"] ** 2 + point["shift"]}
>>> df = sweep(square, {"x": [1, 2, 3], "shift": [0, 10]}, progress=False)
>>> df[["x", "shift", "y"]].T.values.tolist()
[[1, 1, 2, 2, 3, 3], [0, 10, 0, 10, 0, 10], [1, 11, 4, 14, 9, 19]]
>>> list(df.columns)
['x', 'shift', 'repeat', 'seed', 'y']
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import math
import numbers
import statistics
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["point_seed", "points", "sweep", "sweep_iter"]

#: Columns the sweep sets itself: no parameter may use these names.
RESERVED = ("repeat", "seed", "error")
#: The LocalCluster ``client="local"`` starts: no dashboard; the scheduler's HTTP
#: endpoint (health checks) on a free port of 127.0.0.1, not on 8787.
LOCAL_CLUSTER = {"n_workers": 2, "threads_per_worker": 1, "processes": True,
                 "host": "127.0.0.1", "dashboard_address": None,
                 "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}}
_INSTALL = ("needs Dask's distributed scheduler, an optional extra: "
            "pip install 'keykos_lab[dask]'  (or: pip install 'dask[distributed]')")

Grid = Mapping[str, Any] | Sequence[Mapping[str, Any]]
Result = Mapping[str, Any] | pd.Series | pd.DataFrame


class _Point(NamedTuple):
    index: int                 # position in the expanded grid (repeats innermost)
    params: dict[str, Any]
    repeat: int
    seed: int

    def call(self) -> dict[str, Any]:
        """What ``fn`` receives."""
        return {**self.params, "seed": self.seed}


class _Failed(NamedTuple):
    error: str                 # "ExceptionType: message"


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
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
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
    raise TypeError(f"cannot derive a seed from a parameter value of type "
                    f"{type(value).__name__}: use None, bools, numbers, strings, bytes, lists, "
                    "tuples, dicts or functions (or pass other objects to fn by closure)")


def _values(name: str, values: Any) -> list:
    if isinstance(values, str | bytes) or not isinstance(
            values, Sequence | np.ndarray | pd.Series | pd.Index | range):
        if isinstance(values, Mapping | set | frozenset | Iterator):
            raise TypeError(f"grid[{name!r}] is a {type(values).__name__}: give a list of "
                            "values (or one value that is not a collection)")
        return [values]
    return list(values)


def _expand(grid: Grid, repeat: int, seed: int) -> tuple[list[_Point], list[str]]:
    """The points, in grid order with repeats innermost, and the parameter names."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat is a positive int, not {repeat!r}")
    if isinstance(grid, Mapping):
        names = list(grid)
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
        raise TypeError(f"grid is a dict of parameter lists or a list of dicts, "
                        f"not a {type(grid).__name__}")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"parameter names are strings, not {name!r}")
        if name in RESERVED:
            raise ValueError(f"{name!r} is set by the sweep; rename the parameter "
                             f"(reserved: {', '.join(RESERVED)})")
    out = []
    for combo in combos:
        for r in range(repeat):
            out.append(_Point(len(out), combo, r, point_seed(combo, seed, r)))
    return out, names


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
                raise ValueError(f"fn returned a column {name!r} that the sweep sets "
                                 "(a parameter, repeat, seed or error): rename it")
            out = out.drop(columns=name)
        return out
    if isinstance(result, pd.Series):
        result = result.to_dict()
    if not isinstance(result, Mapping):
        raise TypeError(f"fn returned a {type(result).__name__}: return a dict (one row) "
                        "or a DataFrame")
    row = {}
    for name, value in result.items():
        if name in point or name in RESERVED:
            if name not in point or not _same(value, point[name]):
                raise ValueError(f"fn returned {name!r}, which the sweep sets (a parameter, "
                                 "repeat, seed or error), with another value: rename it")
            continue
        row[name] = value
    return row


def _same(a: Any, b: Any) -> bool:
    try:
        return a is b or bool(a == b)
    except (TypeError, ValueError):
        return False


def _run(fn: Callable, point: dict[str, Any], on_error: str):
    try:
        return _result(fn(dict(point)), point)
    except Exception as exc:
        if on_error == "raise":
            exc.add_note(f"in the sweep point {_describe(point)}")
            raise
        return _Failed(f"{type(exc).__name__}: {exc}")


def _run_batch(fn: Callable, batch: list[tuple[int, dict[str, Any]]], on_error: str):
    """One Dask task: run the points of ``batch`` (index, point) in order."""
    return [(index, _run(fn, point, on_error)) for index, point in batch]


def _describe(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


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
    with warnings.catch_warnings():      # all-NaN columns of failed points: no dtype noise
        warnings.simplefilter("ignore", FutureWarning)
        frame = blocks[0] if len(blocks) == 1 else pd.concat(blocks, ignore_index=True)
    rest = [c for c in frame.columns if c not in first and c != "error"]
    return frame[first + rest + (["error"] if failed else [])]


# ------------------------------------------------------------------- engines
def _connect(client: Any, stack: ExitStack):
    """A ``distributed.Client`` for ``client``; what this function starts, ``stack`` closes."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(f"client={client!r} {_INSTALL}") from exc
    if isinstance(client, distributed.Client):
        return client
    if client == "local":
        import logging

        cluster = distributed.LocalCluster(**LOCAL_CLUSTER, silence_logs=logging.ERROR)
        stack.callback(cluster.close)
        c = distributed.Client(cluster, set_as_default=False)
        stack.callback(c.close)
        return c
    if isinstance(client, str):
        c = distributed.Client(client, set_as_default=False)
        stack.callback(c.close)
        return c
    raise TypeError(f"client is None, 'local', a scheduler address or a distributed.Client, "
                    f"not {type(client).__name__}")


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="point", disable=not enabled, leave=True)


def sweep_iter(fn: Callable[[dict[str, Any]], Result], grid: Grid, *, client: Any = None,
               repeat: int = 1, seed: int = 0,
               on_error: Literal["record", "raise"] = "record", batch_seconds: float = 0.1,
               every: float = 1.0, progress: bool = True) -> Iterator[pd.DataFrame]:
    """:func:`sweep`, streaming: yields the frame of the points finished so far (in grid
    order) whenever results have come back and ``every`` seconds have passed since the
    last, then the complete frame — the one :func:`sweep` returns. Closing the iterator
    early cancels what is left and closes a cluster it started.

    >>> frames = list(sweep_iter(lambda p: {"y": -p["x"]}, {"x": range(4)}, every=0,
    ...                          progress=False))
    >>> [len(f) for f in frames], frames[-1].y.tolist()
    ([1, 2, 3, 4], [0, -1, -2, -3])
    """
    return _frames(fn, grid, client, repeat, seed, on_error, batch_seconds, every, progress, 2)


def _frames(fn, grid, client, repeat, seed, on_error, batch_seconds, every, progress,
            stacklevel) -> Iterator[pd.DataFrame]:
    if on_error not in ("record", "raise"):
        raise ValueError(f"on_error is 'record' or 'raise', not {on_error!r}")
    pts, names = _expand(grid, repeat, seed)
    done: dict[int, Any] = {}
    failures: list[int] = []
    last = time.perf_counter()
    with ExitStack() as stack:
        dask = _connect(client, stack) if client is not None else None
        bar = stack.enter_context(_progress(len(pts), progress))

        def record(index: int, outcome: Any) -> None:
            done[index] = outcome
            if isinstance(outcome, _Failed):
                failures.append(index)
                bar.set_postfix(failed=len(failures), refresh=False)

        def due() -> bool:
            nonlocal last
            now = time.perf_counter()
            if now - last >= every and len(done) < len(pts):
                last = now
                return True
            return False

        # Serially, here: every point without Dask; with Dask, the first ones, timed.
        times: list[float] = []
        for p in pts:
            if dask is not None and (times and (max(times) >= batch_seconds
                                                or sum(times) >= batch_seconds)):
                break
            t0 = time.perf_counter()
            record(p.index, _run(fn, p.call(), on_error))
            times.append(time.perf_counter() - t0)
            bar.update(1)
            if due():
                yield _assemble(pts, names, done)
        todo = pts[len(times):]
        if todo:
            yield from _dask(dask, fn, todo, times, on_error, batch_seconds, record, bar,
                             due, lambda: _assemble(pts, names, done))
    if failures:
        first = pts[failures[0]]
        warnings.warn(f"{len(failures)} of {len(pts)} sweep points failed (see the error "
                      f"column); the first: {_describe(first.call())}: "
                      f"{done[first.index].error}", RuntimeWarning, stacklevel=stacklevel)
    yield _assemble(pts, names, done)


def _dask(client, fn, todo: list[_Point], times: list[float], on_error: str,
          batch_seconds: float, record, bar, due, frame) -> Iterator[pd.DataFrame]:
    from distributed import as_completed

    typical = statistics.median(times[1:] if len(times) > 1 else times)
    size = max(1, math.ceil(batch_seconds / typical)) if typical > 0 else len(todo)
    batches = [[(p.index, p.call()) for p in todo[i:i + size]]
               for i in range(0, len(todo), size)]
    futures = {client.submit(_run_batch, fn, batch, on_error, pure=False): batch
               for batch in batches}
    try:
        for future in as_completed(list(futures), loop=client.loop):
            batch = futures[future]
            try:
                results = future.result()
            except Exception as exc:
                if on_error == "raise":
                    raise
                # the task itself failed (a worker died, a result would not travel)
                results = [(index, _Failed(f"{type(exc).__name__}: {exc}"))
                           for index, _ in batch]
            for index, outcome in results:
                record(index, outcome)
            bar.update(len(batch))
            if due():
                yield frame()
    finally:
        client.cancel([f for f in futures if not f.done()])


def sweep(fn: Callable[[dict[str, Any]], Result], grid: Grid, *, client: Any = None,
          repeat: int = 1, seed: int = 0, on_error: Literal["record", "raise"] = "record",
          batch_seconds: float = 0.1, progress: bool = True) -> pd.DataFrame:
    """Run ``fn`` on every point of ``grid`` (``repeat`` times each) and return one tidy
    frame: the parameters, ``repeat``, ``seed``, then ``fn``'s columns, in grid order.

    ``client``: None (here, serially), ``"local"``, a scheduler address or a
    ``distributed.Client``; ``seed``: the sweep's seed, from which each run's is derived;
    ``on_error``: ``"record"`` (an ``error`` column) or ``"raise"``; ``batch_seconds``:
    the work per Dask task; ``progress``: the tqdm bar. The module's documentation says
    more about the grid, seeds, failures, engines and batching.

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
    frames = _frames(fn, grid, client, repeat, seed, on_error, batch_seconds, math.inf,
                     progress, 3)
    return collections.deque(frames, maxlen=1)[0]      # the last: the complete frame
