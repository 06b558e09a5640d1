"""Soak: a system of many domains and many invocations, with flat memory once warm.

    python bench/soak.py [--domains 100000] [--invocations 1000000] [--chunk-rows 16384]

Builds ``--domains`` echo servers (root, keys and registers nodes each, made with the
kernel's primitives as boot makes the primordial domains; their start keys in a
16-ary tree of directory nodes), then lets a ``soak-client`` domain walk the tree
again and again — a node-key Fetch for every slot, a CALL to every server, the
server's RETURN — until ``--invocations`` invocations were logged. The event log
spills to Parquet (``keykos_lab.views.spill``) in a temporary folder. Between walks of a
subtree it samples the resident set size (``/proc/self/statm``) and prints: time,
invocations per second, peak RSS, the RSS slope once warm (MiB per million
invocations, least squares over the samples after the first full pass), chunks
spilled and their size on disk.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

try:
    import keykos_lab as kl
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import keykos_lab as kl

from keykos_lab.kernel.domains import KEYS_NODE, METER, REGS_NODE
from keykos_lab.kernel.eventlog import EV_INVOKE
from keykos_lab.kernel.keys import NODE, PAGE, RO, START, Key
from keykos_lab.kernel.process import image_bytes
from keykos_lab.views.spill import spill_events

oc = kl.oc
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@kl.program("soak-client")
def soak_client(dom, msg):
    """Walk the directory tree under the node key in msg.keys[0] (depth in the order
    code): CALL every start key at the leaves. Replies with the number of calls."""
    calls = yield from _walk(dom, msg.keys[0], msg.order)
    yield dom.return_(msg.resume, rc=calls & 0xFFFFFFFF)


def _walk(dom, node, depth):
    calls = 0
    for slot in range(16):
        key = (yield dom.call(node, oc.Node.Fetch + slot)).keys[0]
        if key == kl.DK0:
            break
        if depth:
            calls += yield from _walk(dom, key, depth - 1)
        else:
            yield dom.call(key, slot)
            calls += 1
    return calls


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_BYTES / 2**20


def build(k, n: int) -> tuple[Key, int]:
    """``n`` echo domains; a node key to the root of the directory tree, and its depth."""
    store = k.store
    con = k.console
    meter = con.key(con["meter"])
    image = store.new_page()
    image.write(0, image_bytes("echo"))
    image_key = Key(PAGE, image.id, RO, image.alloc)
    level = []
    for _ in range(n):
        root, keys_node, regs_node = store.new_node(), store.new_node(), store.new_node()
        root.slots[METER] = meter
        root.slots[3] = image_key
        root.slots[KEYS_NODE] = Key(NODE, keys_node.id, 0, keys_node.alloc)
        root.slots[REGS_NODE] = Key(NODE, regs_node.id, 0, regs_node.alloc)
        level.append(Key(START, root.id, 0, root.alloc))
    depth = -1
    while len(level) > 1 or depth < 0:
        parents = []
        for at in range(0, len(level), 16):
            node = store.new_node()
            node.slots[: len(level[at : at + 16])] = level[at : at + 16]
            parents.append(Key(NODE, node.id, 0, node.alloc))
        level = parents
        depth += 1
    k.node_epoch += 1
    return level[0], depth


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--domains", type=int, default=100_000)
    ap.add_argument("--invocations", type=int, default=1_000_000)
    ap.add_argument("--chunk-rows", type=int, default=1 << 14)
    ap.add_argument("--keep", type=int, default=2, help="full log chunks kept in memory")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    k = kl.Kernel()
    con = k.console
    con.step_limit = 10**12
    folder = tempfile.mkdtemp(prefix="kl-soak-")
    sink = spill_events(k, folder, keep=args.keep, chunk_rows=args.chunk_rows)
    top, depth = build(k, args.domains)
    top_handle = con.hold(top)
    client = kl.start_key(con, kl.build_domain(con, "soak-client"))
    built = time.perf_counter() - t0
    print(
        f"built {args.domains:,} domains ({len(k.objs):,} objects) in {built:.1f} s, "
        f"RSS {rss_mib():.0f} MiB",
        flush=True,
    )

    # Subtrees one level down: one console call each (an RSS sample between them).
    subtrees = []
    for slot in range(16):
        r = con.call(top_handle, oc.Node.Fetch + slot)
        if con.key(r.keys[0]) == kl.DK0:
            break
        subtrees.append(r.keys[0])
    if depth == 0:
        subtrees, depth = [top_handle], 1
    gc.collect()
    seen_rows = 0
    invokes = 0
    samples: list[tuple[int, float]] = []
    passes = 0
    calls = 0
    warm_at = 0
    t1 = time.perf_counter()
    while invokes < args.invocations:
        for sub in subtrees:
            calls += con.call(client, depth - 1, sub).rc
            n = len(k.log)
            invokes += _count_invokes(k, seen_rows, n)
            seen_rows = n
            samples.append((invokes, rss_mib()))
            if invokes >= args.invocations:
                break
        passes += 1
        if passes == 1:
            warm_at = len(samples)
    elapsed = time.perf_counter() - t1
    warm = samples[warm_at:] if len(samples) - warm_at >= 3 else samples[len(samples) // 2 :]
    slope = _slope(warm)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    disk = sum(p.stat().st_size for p in Path(folder).glob("*.parquet"))
    out = {
        "domains": args.domains,
        "invocations": invokes,
        "events": len(k.log),
        "server calls": calls,
        "passes": passes,
        "build s": built,
        "run s": elapsed,
        "invocations/s": invokes / elapsed,
        "peak RSS MiB": peak,
        "RSS at warm MiB": warm[0][1] if warm else float("nan"),
        "RSS at end MiB": samples[-1][1],
        "RSS slope once warm MiB per 1M invocations": slope * 1e6,
        "spilled chunks": sink.chunks,
        "spilled MiB on disk": disk / 2**20,
        "log chunks in memory": len(k.log._full) + 1,
    }
    width = max(map(len, out))
    for key, v in out.items():
        print(f"{key:<{width}}  {v:,.2f}" if isinstance(v, float) else f"{key:<{width}}  {v:,}")
    return out


def _count_invokes(k, start: int, end: int) -> int:
    """EV_INVOKE rows among ``start``..``end`` (reads whole chunks, spilled or not)."""
    import numpy as np

    rows_per = k.log._rows
    n = 0
    views = None
    first, last = start // rows_per, (end - 1) // rows_per
    for c in range(first, last + 1):
        if c < k.log._spilled:
            buf = k.log.sink.read(c)
        else:
            views = views or ([bytes(b) for b in k.log._full] + [bytes(k.log._buf[: k.log._off])])
            buf = views[c - k.log._spilled]
        rows = np.frombuffer(buf, dtype="<i8").reshape(-1, 8)
        lo = max(start - c * rows_per, 0)
        hi = min(end - c * rows_per, len(rows))
        n += int(((rows[lo:hi, 1] & 15) == EV_INVOKE).sum())
    return n


def _slope(samples) -> float:
    """Least-squares MiB per invocation."""
    if len(samples) < 2:
        return float("nan")
    xs = [float(x) for x, _ in samples]
    ys = [y for _, y in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


if __name__ == "__main__":
    main()
