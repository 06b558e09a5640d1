"""Kernel throughput as ratios to a bare generator loop, all from one process run.

    python bench/kernel.py [--quick] [--profile]

Measures, with the event log on (the default):

1. the baseline: a generator that yields values, a loop that sends into it and
   appends one small tuple per event — the floor cost of "a domain yields an op,
   the kernel records an event";
2. primary-key invocations per second: one domain (program ``bench-primary``)
   CALLs a page key in its key register 0 N times (Page TestForZeroes), started
   by a single console call so the console's overhead is amortised;
3. CALL/RETURN round trips per second: a client domain (``bench-client``) CALLs
   the start key of an ``echo`` server N times;
4. each rate as a ratio to the baseline, against the targets of issue 2
   (primary >= 0.2, round trip >= 0.06) and issue 9 (0.3 / 0.1);
5. the event log: events per second, bytes per event, and the time
   ``k.events()`` takes against ``pandas.DataFrame`` built from a list of tuples
   of the same rows.

Each figure is the best of a few repeats (``time.perf_counter``); every repeat
uses a fresh kernel. ``--profile`` adds a cProfile of both loops (top 25 by
tottime). The table is printed and written to ``bench/results-kernel.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import platform
import pstats
import sys
import time
from datetime import datetime
from pathlib import Path

try:
    import keykos_lab as kl
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import keykos_lab as kl

import pandas as pd

from keykos_lab.kernel.eventlog import COLUMNS, ROW, EventLog

oc = kl.oc
RESULTS = Path(__file__).resolve().parent / "results-kernel.md"
STEP_LIMIT = 10**12       # scheduler steps the console waits for a reply
TARGETS = (               # (what, ratio key, target, issue)
    ("primary-key invocations", "primary", 0.2, "issue 2"),
    ("CALL/RETURN round trips", "roundtrip", 0.06, "issue 2"),
    ("primary-key invocations", "primary", 0.3, "issue 9"),
    ("CALL/RETURN round trips", "roundtrip", 0.1, "issue 9"),
)
SIZES = {  # mode -> (baseline events, primary invocations, round trips, repeats)
    "full": (1_000_000, 100_000, 50_000, 7),
    "quick": (200_000, 20_000, 10_000, 3),
}
PROFILE_SIZES = {"full": (50_000, 20_000), "quick": (10_000, 5_000)}


# ---------------------------------------------------------------- programs
@kl.program("bench-primary")
def bench_primary(dom, msg):
    """CALL the key in key register 0 ``msg.order`` times (TestForZeroes), then reply."""
    page = dom.keys[0]
    for _ in range(msg.order):
        yield dom.call(page, oc.Page.TestForZeroes)
    yield dom.return_(msg.resume, rc=msg.order)


@kl.program("bench-client")
def bench_client(dom, msg):
    """CALL the start key in key register 0 ``msg.order`` times, then reply."""
    server = dom.keys[0]
    for i in range(msg.order):
        yield dom.call(server, i & 0xFFFF)
    yield dom.return_(msg.resume, rc=msg.order)


# ----------------------------------------------------------------- helpers
def _first_key(reply, what):
    if reply.rc != 0:
        raise RuntimeError(f"{what} failed with rc {reply.rc:#x}")
    return reply.keys[0]


def _kernel():
    k = kl.Kernel()
    k.console.step_limit = STEP_LIMIT
    return k


def setup_primary():
    """A fresh kernel and the start key of a ``bench-primary`` domain holding a page key."""
    k = _kernel()
    con = k.console
    page = _first_key(con.call(con["bank"], oc.SB.CreatePage), "CreatePage")
    dom = kl.build_domain(con, "bench-primary", keys={0: page})
    return k, kl.start_key(con, dom)


def setup_roundtrip():
    """A fresh kernel and the start key of a ``bench-client`` of an ``echo`` server."""
    k = _kernel()
    con = k.console
    server = kl.start_key(con, kl.build_domain(con, "echo"))
    client = kl.build_domain(con, "bench-client", keys={0: server})
    return k, kl.start_key(con, client)


def run(setup, n: int, events_per_op: int, *, logging: bool = True):
    """One console CALL that makes a fresh domain loop ``n`` times: (seconds, kernel).

    Checks the log grew by exactly the events the loop makes (none with logging off).
    """
    k, start = setup()
    k.log.enabled = logging
    before = len(k.log)
    gc.collect()
    t0 = time.perf_counter()
    reply = k.console.call(start, n)
    dt = time.perf_counter() - t0
    k.log.enabled = True
    if reply.rc != n:
        raise RuntimeError(f"the bench domain answered rc {reply.rc}, expected {n}")
    # The console's CALL and the domain's final RETURN add 2 events each.
    expected = events_per_op * n + 4 if logging else 0
    if len(k.log) - before != expected:
        raise RuntimeError(f"logged {len(k.log) - before} events, expected {expected}")
    return dt, k


def baseline(n: int) -> float:
    """Seconds for ``n`` generator sends with one small tuple appended each."""

    def values():
        value = None
        while True:
            value = yield value

    gen = values()
    send = gen.send
    send(None)
    events = []
    append = events.append
    gc.collect()
    t0 = time.perf_counter()
    for i in range(n):
        append((i, send(i)))
    return time.perf_counter() - t0


def emit_alone(n: int) -> float:
    """Seconds for ``n`` bare ``EventLog.emit`` calls (the logging floor)."""
    log = EventLog()
    emit = log.emit
    gc.collect()
    t0 = time.perf_counter()
    for i in range(n):
        emit(i, 0, 1, 7, 1, 9, 0, 41, 0, 0, 0, 2, 2, 0)
    return time.perf_counter() - t0


def tuple_bytes(rows, sample: int = 10_000) -> float:
    """Approximate bytes per row held as a Python tuple in a list (ints not shared)."""
    rows = rows[:sample]
    if not rows:
        return 0.0
    total = 0
    for row in rows:
        total += 8 + sys.getsizeof(row)  # the list's pointer and the tuple
        total += sum(sys.getsizeof(v) for v in row if not -5 <= v <= 256)
    return total / len(rows)


def frame_times(k, repeats: int):
    """Best seconds of ``k.events()`` and of ``pd.DataFrame(list of tuples)``, same rows."""
    rows = list(k.log.rows())
    columns = ["seq", *COLUMNS]
    t_events, t_tuples = [], []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        ev = k.events()
        t_events.append(time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        df = pd.DataFrame(rows, columns=columns)
        t_tuples.append(time.perf_counter() - t0)
    if len(ev) != len(df) or (ev["tick"].to_numpy() != df["tick"].to_numpy()).any():
        raise RuntimeError("k.events() and the tuple DataFrame disagree")
    return min(t_events), min(t_tuples), rows


def log_bytes(log) -> float:
    """Bytes the log holds per event, counting the unused room in its chunks."""
    n = len(log)
    full, buf = getattr(log, "_full", None), getattr(log, "_buf", None)
    if not n or full is None or buf is None:  # another layout: count the rows only
        return float(ROW.size)
    return (sum(len(b) for b in full) + len(buf)) / n


def _rate(n, dt):
    return n / dt if dt > 0 else float("inf")


def _fmt_rate(r):
    return f"{r:,.0f}"


def _table(head, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in rows)
    return out


# ------------------------------------------------------------------ profile
def profile(mode: str) -> str:
    n_primary, n_rt = PROFILE_SIZES[mode]
    out = []
    for title, setup, n in (("primary-key loop", setup_primary, n_primary),
                            ("CALL/RETURN round-trip loop", setup_roundtrip, n_rt)):
        k, start = setup()
        prof = cProfile.Profile()
        prof.enable()
        reply = k.console.call(start, n)
        prof.disable()
        assert reply.rc == n
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("tottime").print_stats(25)
        out.append(f"## Profile: {title}, n = {n:,} (top 25 by tottime)\n")
        out.append(buf.getvalue())
    return "\n".join(out)


# --------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (under ~10 s)")
    ap.add_argument("--profile", action="store_true",
                    help="also cProfile the primary-key and round-trip loops")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    n_base, n_primary, n_rt, repeats = SIZES[mode]
    wall = time.perf_counter()

    # One round of every measurement per repeat, so drift in the machine's speed
    # touches the baseline and the kernel alike; each figure is the best round.
    rounds = (
        ("base", lambda: baseline(n_base)),
        ("primary", lambda: run(setup_primary, n_primary, 1)[0]),
        ("primary_off", lambda: run(setup_primary, n_primary, 1, logging=False)[0]),
        ("rt_off", lambda: run(setup_roundtrip, n_rt, 4, logging=False)[0]),
        ("emit", lambda: emit_alone(n_base)),
    )
    times: dict[str, list[float]] = {name: [] for name, _ in rounds}
    times["rt"] = []
    k_rt = None
    for _ in range(repeats):
        for name, measure in rounds:
            times[name].append(measure())
        dt, k_rt = run(setup_roundtrip, n_rt, 4)  # keep its kernel for the log figures
        times["rt"].append(dt)
    t = {name: min(v) for name, v in times.items()}
    base = _rate(n_base, t["base"])
    primary, rt = _rate(n_primary, t["primary"]), _rate(n_rt, t["rt"])
    primary_off, rt_off = _rate(n_primary, t["primary_off"]), _rate(n_rt, t["rt_off"])
    emit_rate = _rate(n_base, t["emit"])
    ev_primary, ev_rt = n_primary + 4, 4 * n_rt + 4
    t_ev, t_df, rows = frame_times(k_rt, repeats)
    ratios = {"primary": primary / base, "roundtrip": rt / base}

    lines = [
        "# keykos_lab kernel benchmark",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"pandas {pd.__version__} · {platform.machine()} · mode {mode} · "
        f"best of {repeats} · fresh kernel per repeat · event log on unless noted",
        "",
        "## Throughput",
        "",
    ]
    lines += _table(
        ["measure", "n", "per second", "µs each", "ratio to baseline"],
        [
            ["baseline: generator send + tuple append", f"{n_base:,}", _fmt_rate(base),
             f"{1e6 / base:.3f}", "1"],
            ["primary-key CALL (Page TestForZeroes)", f"{n_primary:,}", _fmt_rate(primary),
             f"{1e6 / primary:.2f}", f"{ratios['primary']:.4f}"],
            ["CALL/RETURN round trip (client → echo)", f"{n_rt:,}", _fmt_rate(rt),
             f"{1e6 / rt:.2f}", f"{ratios['roundtrip']:.4f}"],
            ["  primary-key CALL, log off (reference)", f"{n_primary:,}",
             _fmt_rate(primary_off), f"{1e6 / primary_off:.2f}", f"{primary_off / base:.4f}"],
            ["  round trip, log off (reference)", f"{n_rt:,}", _fmt_rate(rt_off),
             f"{1e6 / rt_off:.2f}", f"{rt_off / base:.4f}"],
        ],
    )
    lines += ["", "## Targets", ""]
    lines += _table(
        ["target", "issue", "ratio", "needed", "result", "speed-up still needed"],
        [[what, issue, f"{ratios[key]:.4f}", f">= {target}",
          "PASS" if ratios[key] >= target else "MISS",
          "-" if ratios[key] >= target else f"{target / ratios[key]:.1f}x"]
         for what, key, target, issue in TARGETS],
    )
    n_rows = len(k_rt.log)
    lines += ["", "## Event log", ""]
    lines += _table(
        ["measure", "value"],
        [
            ["events/s, primary-key loop (1 event per CALL)",
             _fmt_rate(_rate(ev_primary, t['primary']))],
            ["events/s, round-trip loop (4 events per round trip)",
             _fmt_rate(_rate(ev_rt, t['rt']))],
            ["events/s, EventLog.emit alone", _fmt_rate(emit_rate)],
            ["EventLog.emit alone, ratio to baseline", f"{emit_rate / base:.3f}"],
            ["bytes/event, packed row", f"{ROW.size}"],
            ["bytes/event, allocated (incl. unused room in the chunks)",
             f"{log_bytes(k_rt.log):.1f}"],
            ["bytes/event, same rows as a list of tuples (approx.)",
             f"{tuple_bytes(rows):.0f}"],
            [f"k.events() on {n_rows:,} rows (round-trip run)", f"{t_ev * 1e3:.2f} ms"],
            ["pd.DataFrame(list of tuples), same rows", f"{t_df * 1e3:.2f} ms"],
            ["k.events() time / tuple DataFrame time", f"{t_ev / t_df:.3f}"],
        ],
    )
    del rows
    lines += ["", f"wall time of the measurements: {time.perf_counter() - wall:.1f} s"]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"(written to {RESULTS})")
    if args.profile:
        print()
        print(profile(mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
