"""The event log to pandas: ``k.events()`` against a DataFrame built from tuples, one run.

    python bench/eventlog.py [--quick | --smoke]

1. A kernel logs 1,000,000 events (``--quick``: 200,000) of real work: a client
   domain (program ``bench-log-mix``) CALLs an ``echo`` server and a page key in
   turn (each round: the CALL, the delivery, the RETURN and its delivery to the
   client, and a primary-key CALL: five events of several kinds, key types and
   states).
2. The baseline, in the same run, on the same rows: what a log that kept one
   Python tuple per event would do — the rows as a list of tuples (``k.log.rows()``),
   then ``pandas.DataFrame(rows, columns=…)``. Also timed: the same with the schema's
   types applied (categoricals, small ints), so both frames are the same.
3. ``k.events()``: the packed chunks viewed as one int64 matrix and unpacked into
   typed columns. Its speed-up over the baseline is checked against the target
   of issue 9 (at least 50×); both frames are checked equal.
4. The yardstick of issue 22: the same frame built by pandas from columns already
   unpacked — numpy arrays of the frame's own dtypes, categorical codes included
   (``pd.DataFrame`` of ``pd.Categorical.from_codes`` and plain arrays: what any
   frame costs however its columns were made). Aim: ``k.events()`` within 1.5× of it.
5. Memory per event: the packed log (allocated, with the unused room of its last
   chunk), the frame ``k.events()`` returns, the plain tuple frame, and the list of
   tuples itself (``sys.getsizeof`` of each tuple and of each int outside CPython's
   small-int cache, on a sample of rows).

Each time is the best of a few interleaved repeats (``time.perf_counter``, after
``gc.collect()``). The table is printed and written to ``bench/results-eventlog.md``
(``--smoke``: 5,000 events, nothing written).
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

try:
    import keykos_lab as kl
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import keykos_lab as kl

import numpy as np
import pandas as pd

from keykos_lab.kernel.eventlog import CATEGORIES, COLUMNS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import CAVEAT  # noqa: E402  (bench/peers.py, beside this file)

oc = kl.oc
RESULTS = Path(__file__).resolve().parent / "results-eventlog.md"
SIZES = {"full": (1_000_000, 3), "quick": (200_000, 3), "smoke": (5_000, 1)}  # events, repeats
EVENTS_PER_ROUND = 5
TARGET = 50.0  # k.events() at least this many times faster (issue 9)
AIM_READY = 1.5  # k.events() within this many times the frame from ready columns (issue 22)
SAMPLE = 100_000  # rows sampled for the bytes of a list of tuples


@kl.program("bench-log-mix")
def bench_log_mix(dom, msg):
    """``msg.order`` rounds of: CALL the server in key register 0, CALL the page in 1."""
    server, page = dom.keys[0], dom.keys[1]
    for i in range(msg.order):
        yield dom.call(server, i & 0xFFFF)
        yield dom.call(page, oc.Page.TestForZeroes)
    yield dom.return_(msg.resume, rc=msg.order)


def logged_kernel(n_events: int):
    """A kernel whose log holds at least ``n_events`` events, and the seconds it took."""
    k = kl.Kernel()
    con = k.console
    con.step_limit = 10**12
    con.time_limit = None  # one long call: the whole log in one reply
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    server = kl.start_key(con, kl.build_domain(con, "echo"))
    client = kl.start_key(con, kl.build_domain(con, "bench-log-mix", keys={0: server, 1: page}))
    rounds = -(-(n_events - len(k.log)) // EVENTS_PER_ROUND)
    t0 = time.perf_counter()
    reply = con.call(client, rounds)
    seconds = time.perf_counter() - t0
    if reply.rc != rounds or len(k.log) < n_events:
        raise RuntimeError(f"the client answered {reply.rc}; the log has {len(k.log)} events")
    return k, seconds


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """The tuple frame with the schema's types (what ``k.events()`` returns)."""
    out = {"seq": df["seq"].to_numpy(dtype=np.int64)}
    for name in COLUMNS:
        col = df[name].to_numpy()
        cats = CATEGORIES.get(name)
        if cats is not None:
            out[name] = pd.Categorical.from_codes(col.astype(np.int8), categories=list(cats))
        else:
            out[name] = col.astype({"databyte": np.int16, "n_keys": np.int8}.get(name, np.int64))
    return pd.DataFrame(out)


def ready_columns(ev: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of ``ev`` as numpy arrays of its dtypes (categoricals as their codes),
    copied: the input of :func:`from_ready`."""
    return {
        name: (
            ev[name].cat.codes.to_numpy().copy()
            if isinstance(ev[name].dtype, pd.CategoricalDtype)
            else ev[name].to_numpy().copy()
        )
        for name in ev.columns
    }


def from_ready(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The frame ``k.events()`` returns, built by pandas from ready columns."""
    return pd.DataFrame(
        {
            name: (
                pd.Categorical.from_codes(col, categories=list(CATEGORIES[name]))
                if name in CATEGORIES
                else col
            )
            for name, col in columns.items()
        }
    )


def events_vs_ready(k, repeats: int = 5) -> dict[str, float]:
    """Seconds for ``k.events()`` and for :func:`from_ready` on its columns, best of
    ``repeats`` interleaved (``bench/peers.py``); raises if the frames differ."""
    from peers import interleaved

    ev = k.events()
    columns = ready_columns(ev)
    if not from_ready(columns).equals(ev):
        raise RuntimeError("the frame from ready columns is not the frame of k.events()")
    del ev
    return interleaved({"events": k.events, "ready": lambda: from_ready(columns)}, repeats)


def best(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        value = None
        gc.collect()
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def log_bytes(log) -> float:
    """Bytes the packed log holds per event, counting the unused room in its chunks."""
    chunks = getattr(log, "_full", None), getattr(log, "_buf", None)
    if chunks[0] is None or chunks[1] is None or not len(log):
        return float("nan")
    return (sum(len(b) for b in chunks[0]) + len(chunks[1])) / len(log)


def tuple_bytes(rows: list[tuple], sample: int = SAMPLE) -> float:
    """Bytes per row of a list of tuples: the list's pointer, the tuple, its ints that are
    not CPython's cached small ints (each row's ints are its own objects)."""
    step = max(1, len(rows) // sample)
    picked = rows[::step]
    total = 0
    for row in picked:
        total += 8 + sys.getsizeof(row)
        total += sum(sys.getsizeof(v) for v in row if not -5 <= v <= 256)
    return total / len(picked)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="200,000 events instead of 1,000,000")
    size.add_argument("--smoke", action="store_true", help="5,000 events, nothing written")
    args = ap.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    n_events, repeats = SIZES[mode]
    wall = time.perf_counter()

    k, t_run = logged_kernel(n_events)
    n = len(k.log)
    gc.collect()
    t_rows = time.perf_counter()
    rows = list(k.log.rows())  # the baseline's input, made once
    t_rows = time.perf_counter() - t_rows
    columns = ["seq", *COLUMNS]

    columns = ready_columns(k.events())
    times: dict[str, list[float]] = {"events": [], "tuples": [], "typed": [], "ready": []}
    ev = plain = None
    for _ in range(repeats):  # interleaved, so drift hits all alike
        dt, ev = best(k.events, 1)
        times["events"].append(dt)
        dt, ready = best(lambda: from_ready(columns), 1)
        times["ready"].append(dt)
        dt, plain = best(lambda: pd.DataFrame(rows, columns=columns), 1)
        times["tuples"].append(dt)
        dt, _ = best(lambda: typed(pd.DataFrame(rows, columns=columns)), 1)
        times["typed"].append(dt)
    t = {name: min(v) for name, v in times.items()}
    if not (ev.dtypes.equals(typed(plain).dtypes) and ev.equals(typed(plain))):
        raise RuntimeError("k.events() and the typed tuple frame disagree")
    if not ready.equals(ev):
        raise RuntimeError("k.events() and the frame from ready columns disagree")
    ready = columns = None
    over_ready = t["events"] / t["ready"]
    ratio, ratio_typed = t["tuples"] / t["events"], t["typed"] / t["events"]

    b_log = log_bytes(k.log)
    b_frame = ev.memory_usage(index=True, deep=True).sum() / n
    b_plain = plain.memory_usage(index=True, deep=True).sum() / n
    b_tuples = tuple_bytes(rows)
    rows = plain = None  # free the baseline before the summary

    mix = ev["event"].value_counts()
    lines = [
        "# keykos_lab event log benchmark",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"pandas {pd.__version__} · numpy {np.__version__} · {platform.machine()} · "
        f"mode {mode} · best of {repeats}, interleaved",
        "",
        f"Figures from {CAVEAT}.",
        "",
        f"{n:,} events logged by a client ⇄ echo + page loop in {t_run:.1f} s "
        f"({n / t_run:,.0f} events/s); kinds: "
        + ", ".join(f"{name} {count:,}" for name, count in mix.items() if count)
        + ".",
        "",
        "## To a DataFrame",
        "",
        "| measure | seconds | events/s | ratio |",
        "| --- | --- | --- | --- |",
        f"| baseline: `pd.DataFrame(list of tuples)` | {t['tuples']:.3f} | "
        f"{n / t['tuples']:,.0f} | 1 |",
        f"| baseline with the schema's types (categoricals, int8/16) | {t['typed']:.3f} | "
        f"{n / t['typed']:,.0f} | {t['tuples'] / t['typed']:.2f} |",
        f"| `k.events()` | {t['events']:.4f} | {n / t['events']:,.0f} | **{ratio:.0f}×** |",
        f"| (`k.events()`, its first call in this process: fresh memory) | "
        f"{times['events'][0]:.4f} | {n / times['events'][0]:,.0f} | "
        f"{t['tuples'] / times['events'][0]:.0f}× |",
        f"| (making the list of tuples from the log, not timed above) | {t_rows:.3f} | "
        f"{n / t_rows:,.0f} | |",
        f"| yardstick: the same frame from ready numpy columns (`pd.DataFrame`, "
        f"`Categorical.from_codes`) | {t['ready']:.4f} | {n / t['ready']:,.0f} | "
        f"{t['tuples'] / t['ready']:.0f}× |",
        "",
        f"Aim (issue 22): `k.events()` within {AIM_READY}× of the frame from ready columns: "
        f"**{'PASS' if over_ready <= AIM_READY else 'MISS'}** ({over_ready:.2f}×).",
        "",
        f"Target (issue 9): `k.events()` at least {TARGET:.0f}× faster than the tuple "
        f"DataFrame: **{'PASS' if ratio >= TARGET else 'MISS'}** ({ratio:.0f}×; "
        f"{ratio_typed:.0f}× against the typed one). Both give the same frame "
        "(same dtypes, `DataFrame.equals`).",
        "",
        "## Memory per event",
        "",
        "| form | bytes/event |",
        "| --- | --- |",
        f"| the packed log (8 int64 fields; allocated, incl. unused room) | {b_log:.1f} |",
        f"| the frame `k.events()` returns (15 typed columns) | {b_frame:.1f} |",
        f"| the plain tuple frame (15 int64 columns) | {b_plain:.1f} |",
        f"| a list of tuples (pointer, tuple, ints; sampled) | {b_tuples:.0f} |",
        "",
        f"wall time of the run: {time.perf_counter() - wall:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.smoke:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"(written to {RESULTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
