"""Scale record (issue 22): a 10-million-key system on one machine, 10,000 systems on Dask.

    python bench/record.py [--keys 10000000] [--systems 10000] [--sizes 100 1000 10000]
                           [--smoke] [--skip-large | --skip-sweep]

Not part of ``make test`` nor ``make bench``: ``make bench-record`` runs it (tens of
minutes, several GiB).

1. **One large system.** ``analysis.random_csr`` generates a KeyKOS-like system of
   ``--keys`` keys (10,000,000) on a fifth as many objects, a twentieth of them
   domains; the fast engine (``analysis.fast.FastAuthority``) builds its groups and
   answers one subject's ``authority`` and the flow matrix of 100 subjects. Timed
   once each (they are long), with the peak resident memory of the process.
2. **A sweep of many systems.** ``keykos_lab.sweep.sweep`` on a local Dask cluster
   (``client="local"``: two worker processes, one thread each) runs ``--systems``
   (10,000) random systems, spread evenly over ``--sizes`` objects (five keys an
   object), each seeded by the sweep: generate it, build the fast engine, answer one
   subject's question. The table gives, per size, the median seconds a system took
   inside its worker, and for the whole sweep the wall time per system (what the
   cluster, batching and serialisation add included).

The tables are printed and written to ``bench/results-record.md`` (with
``--skip-sweep``: ``results-record-large.md``; ``--skip-large``:
``results-record-sweep.md``; ``--smoke``: a 20,000-key system and at most 30
systems run serially, nothing written).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import keykos_lab  # noqa: F401
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
from peers import CAVEAT, machine, optional, rss  # noqa: E402

from keykos_lab.analysis import random_csr  # noqa: E402
from keykos_lab.analysis.fast import FastAuthority  # noqa: E402

RESULTS = HERE / "results-record.md"
KEYS_PER_OBJECT = 5


def memory_gib() -> str:
    """The machine's memory in GiB (Linux ``/proc/meminfo``; ``"?"`` elsewhere)."""
    try:
        return f"{int(Path('/proc/meminfo').read_text().split()[1]) / 2**20:.1f}"
    except (OSError, ValueError, IndexError):
        return "?"


def peak_rss() -> int:
    """The process's peak resident memory so far, in bytes (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def large(n_keys: int, n_subjects: int = 100) -> list[tuple[str, str]]:
    """Rows of (measure, figure) for one generated system of ``n_keys`` keys."""
    n_objects = n_keys // KEYS_PER_OBJECT
    before = rss()
    t0 = time.perf_counter()
    csr = random_csr(n_objects, n_keys, seed=0)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine = FastAuthority(csr)
    t_build = time.perf_counter() - t0
    held = rss() - before
    domains = np.flatnonzero(csr.kind == 0)
    t0 = time.perf_counter()
    keys = engine.authority(int(domains[0]))
    t_auth = time.perf_counter() - t0
    t0 = time.perf_counter()
    matrix = engine.flows(domains[:n_subjects])
    t_flows = time.perf_counter() - t0
    groups = int((engine.group == np.arange(len(engine.group))).sum())
    return [
        (
            "system",
            f"{csr.n_vertices:,} objects ({len(domains):,} domains), {csr.n_edges:,} keys, "
            f"generated in {t_gen:.1f} s",
        ),
        ("CSR form", f"{csr.bytes_per_key:.1f} bytes per key ({csr.nbytes / 2**30:.2f} GiB)"),
        ("fast engine: build (groups, keeper rounds)", f"{t_build:.1f} s ({groups:,} groups)"),
        ("fast engine: `authority` of one subject", f"{t_auth:.2f} s ({len(keys):,} keys)"),
        (
            f"fast engine: flow matrix of {n_subjects} subjects",
            f"{t_flows:.2f} s ({matrix.mean():.0%} of pairs flow)",
        ),
        (
            "memory: system and engine held, after the build",
            f"{held / 2**30:.2f} GiB ({held / csr.n_edges:.0f} bytes per key)",
        ),
        ("memory: peak resident, whole process", f"{peak_rss() / 2**30:.2f} GiB"),
    ]


def one_system(point: dict) -> dict:
    """A sweep point: generate a system of ``point["objects"]`` objects, build the fast
    engine, ask one subject's question; the seconds of each step and the keys held."""
    import time

    import numpy as np

    from keykos_lab.analysis import random_csr
    from keykos_lab.analysis.fast import FastAuthority

    n = int(point["objects"])
    t0 = time.perf_counter()
    csr = random_csr(n, KEYS_PER_OBJECT * n, seed=point["seed"])
    t1 = time.perf_counter()
    engine = FastAuthority(csr)
    t2 = time.perf_counter()
    keys = engine.authority(int(np.flatnonzero(csr.kind == 0)[0]))
    t3 = time.perf_counter()
    return {
        "generate_s": t1 - t0,
        "build_s": t2 - t1,
        "query_s": t3 - t2,
        "total_s": t3 - t0,
        "keys_held": len(keys),
    }


def many(n_systems: int, sizes: list[int], client) -> tuple[list[str], dict]:
    """The sweep (2.) and its table."""
    from keykos_lab.sweep import sweep

    repeat = -(-n_systems // len(sizes))
    t0 = time.perf_counter()
    df = sweep(one_system, {"objects": sizes}, client=client, repeat=repeat, progress=False)
    wall = time.perf_counter() - t0
    failed = int(df["error"].notna().sum()) if "error" in df else 0
    ok = df if not failed else df[df["error"].isna()]
    per = ok.groupby("objects")[["generate_s", "build_s", "query_s", "total_s", "keys_held"]]
    med = per.median()
    engine = "a local Dask cluster (2 worker processes)" if client else "this process, serially"
    lines = [
        f"## {len(df):,} random systems on {engine}",
        "",
        f"`keykos_lab.sweep.sweep`, {repeat:,} systems of each size (five keys an object), "
        f"each seeded by the sweep; {failed} failed. Medians per system, inside the worker:",
        "",
        "| objects | generate | build | question | total | keys held |",
        "| --- | --- | --- | --- | --- | --- |",
        *[
            f"| {n:,} | {r.generate_s * 1e3:.1f} ms | {r.build_s * 1e3:.1f} ms "
            f"| {r.query_s * 1e3:.2f} ms | {r.total_s * 1e3:.1f} ms | {r.keys_held:,.0f} |"
            for n, r in med.iterrows()
        ],
        "",
        f"Whole sweep: {wall:.0f} s of wall time, {wall / len(df) * 1e3:.1f} ms per system; "
        f"the workers' own time summed: {ok['total_s'].sum():.0f} s "
        f"({ok['total_s'].sum() / wall:.2f} busy workers on average).",
    ]
    return lines, {"wall": wall, "systems": len(df), "failed": failed, "median": med}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000_000)
    parser.add_argument("--systems", type=int, default=10_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 10_000])
    parser.add_argument("--smoke", action="store_true", help="small, serial, nothing written")
    skip = parser.add_mutually_exclusive_group()
    skip.add_argument("--skip-large", action="store_true", help="only the sweep (2.)")
    skip.add_argument("--skip-sweep", action="store_true", help="only the large system (1.)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.keys, args.sizes = 20_000, [100, 300]
        args.systems = min(args.systems, 30)
    client = None if args.smoke else "local"
    started = time.perf_counter()
    lines = [
        "# keykos_lab scale record",
        "",
        f"{machine()} · {memory_gib()} GiB of memory",
        "",
        f"Figures from {CAVEAT}.",
        "",
    ]
    out: dict = {}
    if not args.skip_large:
        rows = large(args.keys, n_subjects=10 if args.smoke else 100)
        out["large"] = rows
        lines += [
            f"## One generated system of {args.keys:,} keys, the fast engine",
            "",
            "| measure | figure |",
            "| --- | --- |",
            *[f"| {a} | {b} |" for a, b in rows],
            "",
        ]
        print("\n".join(lines), flush=True)
    if not args.skip_sweep:
        if client and optional("distributed") is None:
            lines += ["## The sweep", "", "not run: dask.distributed is not installed", ""]
        else:
            table, out["sweep"] = many(args.systems, args.sizes, client)
            lines += [*table, ""]
    lines.append(f"wall time of the run: {time.perf_counter() - started:.0f} s")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.smoke:
        path = RESULTS
        if args.skip_large or args.skip_sweep:
            part = "sweep" if args.skip_large else "large"
            path = RESULTS.with_name(f"results-record-{part}.md")
        path.write_text(text, encoding="utf-8")
        print(f"(written to {path})")
    return out


if __name__ == "__main__":
    main()
