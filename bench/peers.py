"""Shared helpers of the benchmarks that time keykos_lab against its peers (issue 22).

* :func:`interleaved`: best-of-N times of several functions, run in turn (A, B, C,
  A, B, C, …) in one process, so drift and noise from other work hit all alike.
* :func:`ratio`, :func:`seconds`: formatting of a ratio (``2.3×``) and of a time
  with a unit that suits it.
* :func:`fit_exponent`: the exponent of a power law ``y = c · x^b`` fitted by least
  squares on ``log x``, ``log y`` (how a cost grows with size).
* :func:`optional`: import a peer library, or ``None`` when it is not installed,
  so a benchmark prints a "not installed" row instead of failing.
* :func:`rss_growth`: the resident memory a builder adds, measured in a forked
  child (for libraries whose memory Python cannot see: rustworkx, igraph).
* :func:`machine`: the line that heads every results file (date, machine, caveat).

Peers are optional: ``pip install -e '.[bench]'`` installs them (pyproject.toml).

>>> round(fit_exponent([10, 100, 1000], [2.0, 20.0, 200.0]), 6)
1.0
>>> ratio(3.0, 1.5), ratio(None, 1.0)
('2.0×', '—')
>>> optional("surely_not_a_module_name") is None
True
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import ModuleType
from typing import Any

NOT_INSTALLED = "not installed"

#: What a run is worth: said beside every figure quoted from these scripts.
CAVEAT = (
    "one run on a shared 2-core machine (other work running; expect about ±20 % "
    "from run to run): ratios, both sides timed in the same process, carry better "
    "than rates"
)


def optional(name: str) -> ModuleType | None:
    """The module ``name``, or ``None`` when it cannot be imported.

    >>> optional("math").sqrt(4)
    2.0
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def version(name: str) -> str:
    """The installed version of the module ``name`` (``"not installed"``).

    >>> version("surely_not_a_module_name")
    'not installed'
    """
    module = optional(name)
    if module is None:
        return NOT_INSTALLED
    return str(getattr(module, "__version__", "?"))


def interleaved(
    fns: Mapping[str, Callable[[], Any]],
    repeat: int = 5,
    *,
    min_seconds: float = 0.0,
    gc_off: bool = False,
) -> dict[str, float]:
    """Best-of-``repeat`` seconds per function, the functions run in turn each round.

    A function too quick to time alone is run in a loop of as many calls as fill
    ``min_seconds`` (counted once, in the first round), and its time is per call.
    The collector runs before each call; during it, it stays on (what a user's call
    costs, its collections included) unless ``gc_off``.

    >>> t = interleaved({"a": lambda: sum(range(100)), "b": lambda: None}, repeat=3)
    >>> sorted(t), all(v >= 0 for v in t.values())
    (['a', 'b'], True)
    """
    loops = dict.fromkeys(fns, 1)
    if min_seconds > 0:
        for name, fn in fns.items():
            n, spent = 1, 0.0
            while True:
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                spent = time.perf_counter() - t0
                if spent >= min_seconds or n >= 1 << 20:
                    break
                n *= 2 if spent <= 0 else max(2, min(10, math.ceil(min_seconds / spent)))
            loops[name] = n
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            n = loops[name]
            gc.collect()
            was_on = gc.isenabled()
            if gc_off:
                gc.disable()
            try:
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                dt = (time.perf_counter() - t0) / n
            finally:
                if was_on:
                    gc.enable()
            best[name] = min(best[name], dt)
    return best


def ratio(a: float | None, b: float | None, digits: int = 1) -> str:
    """``a / b`` as ``"2.3×"``; ``"—"`` when either is missing or ``b`` is zero.

    >>> ratio(1.0, 3.0, 2), ratio(1.0, 50.0)
    ('0.33×', '0.02×')
    """
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return "—"
    value = a / b
    while 0 < value < 10.0**-digits and digits < 4:  # 0.02×, not 0.0×
        digits += 1
    return f"{value:,.{digits}f}×"


def seconds(t: float | None) -> str:
    """A time with a unit that suits it: ``"12 µs"``, ``"3.4 ms"``, ``"1.20 s"``.

    >>> seconds(0.0000123), seconds(0.0034), seconds(1.2), seconds(None)
    ('12.3 µs', '3.40 ms', '1.20 s', '—')
    """
    if t is None or math.isnan(t):
        return "—"
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fit_exponent(xs: Iterable[float], ys: Iterable[float]) -> float:
    """``b`` of ``y = c · x^b``, least squares on the logarithms (NaN: fewer than two
    usable points; points with a missing or non-positive ``y`` are left out).

    >>> round(fit_exponent([1, 2, 4], [3, 12, 48]), 6)
    2.0
    >>> math.isnan(fit_exponent([1], [1]))
    True
    """
    pts = [
        (math.log(x), math.log(y))
        for x, y in zip(xs, ys)
        if x and x > 0 and y is not None and not math.isnan(y) and y > 0
    ]
    if len(pts) < 2:
        return math.nan
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if not sxx:
        return math.nan
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def rss() -> int:
    """This process's resident memory in bytes (Linux ``/proc``; 0 elsewhere).

    >>> rss() >= 0
    True
    """
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _trim() -> None:
    """Hand freed heap back to the system (glibc), so RSS shows what is still held."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_growth(build: Callable[[], Any]) -> int | None:
    """Bytes of resident memory that what ``build()`` returns keeps, measured in a
    forked child (so nothing the build leaves behind stays here); ``None`` where
    there is no ``fork`` or ``/proc``. The child measures after dropping the
    build's temporaries (a collection and ``malloc_trim``), holding the result.

    >>> growth = rss_growth(lambda: bytearray(50_000_000))
    >>> growth is None or 40_000_000 < growth < 60_000_000
    True
    """
    if not hasattr(os, "fork") or not rss():
        return None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: build, measure, report, exit
        status = 1
        try:
            os.close(read)
            _trim()
            before = rss()
            kept = build()
            _trim()
            after = rss()
            del kept
            os.write(write, str(after - before).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return int(text) if text else None


def machine() -> str:
    """Date, Python, machine and core count, for the head of a results file.

    >>> "Python" in machine()
    True
    """
    return (
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · {os.cpu_count()} cores"
    )
