"""Checkpoint and restore of a 100,000-object system: time and size, one run.

    python bench/checkpoint.py [--objects 100000]

Builds a system of about ``--objects`` pages and nodes: echo domains (three
nodes each, made with the kernel's primitives by ``bench/soak.py``'s ``build``)
under a tree of directory nodes, plus one written page per ten domains, and a
short run so the event log and the domains' states are not empty. Then times
``k.checkpoint(path)`` and ``kl.Kernel.restore(path)`` (best of three each),
checks the restored system continues exactly as the original (the same events
for the same next CALL), and prints the file's size per object. Issue 9's
target: written and restored "in seconds". The table goes to
``bench/results-checkpoint.md``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import keykos_lab as kl
except ImportError:  # a checkout that is not installed: use the source tree
    sys.path.insert(0, str(HERE.parent))
    import keykos_lab as kl

from soak import build  # noqa: E402  (the soak's builder of many echo domains)

RESULTS = HERE / "results-checkpoint.md"
TARGET_SECONDS = 10.0


def system(objects: int) -> tuple[kl.Kernel, kl.KeyHandle]:
    """About ``objects`` live objects; the console holds a node key to the tree."""
    k = kl.Kernel()
    domains = objects * 10 // 31  # 3 nodes each, a page per ten, the tree
    tree, _ = build(k, domains)
    con = k.console
    for n in range(domains // 10):
        page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
        con.call(page, kl.oc.Page.WriteData, data=n.to_bytes(8, "big"))
    return k, con.hold(tree)


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def first_server(con, tree):
    key = tree
    while True:
        key = con.call(key, kl.oc.Node.Fetch + 0).keys[0]
        if con.describe(key).startswith("start key"):
            return key


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    args = parser.parse_args(argv)
    k, tree = system(args.objects)
    con = k.console
    server = first_server(con, tree)
    con.call(server, 1, data=b"warm")
    live = sum(o is not None for o in k.objs)
    folder = tempfile.mkdtemp(prefix="kl-ckpt-")
    path = os.path.join(folder, "system.ckpt")
    write_s, _ = best(lambda: k.checkpoint(path))
    size = os.path.getsize(path)
    read_s, restored = best(lambda: kl.Kernel.restore(path))
    # The restored system goes on exactly as the original would.
    before = len(k.log)
    con.call(server, 7, data=b"after")
    rcon = restored.console
    rcon.call(rcon.hold(con.key(server)), 7, data=b"after")  # the same key, no events
    same = (
        k.events()
        .iloc[before:]
        .reset_index(drop=True)
        .equals(restored.events().iloc[before:].reset_index(drop=True))
    )
    os.remove(path)
    os.rmdir(folder)
    log_bytes = before * 64 * 4 // 3  # the packed rows, base64
    result = {
        "objects": live,
        "events": before,
        "write_s": write_s,
        "restore_s": read_s,
        "bytes": size,
        "bytes_per_object": size / live,
        "log_bytes": log_bytes,
        "state_bytes_per_object": (size - log_bytes) / live,
        "continues_the_same": same,
    }
    report(result)
    return result


def report(r: dict) -> None:
    ok = r["write_s"] < TARGET_SECONDS and r["restore_s"] < TARGET_SECONDS
    lines = [
        "# keykos_lab checkpoint benchmark",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · best of 3",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| live objects (pages and nodes) | {r['objects']:,} |",
        f"| events in the log | {r['events']:,} |",
        f"| `k.checkpoint(path)` | {r['write_s']:.2f} s |",
        f"| `kl.Kernel.restore(path)` | {r['restore_s']:.2f} s |",
        f"| file size | {r['bytes'] / 2**20:.1f} MiB ({r['bytes_per_object']:.0f} bytes per "
        "object) |",
        f"| of which the event log (base64 of 64-byte rows) | {r['log_bytes'] / 2**20:.1f} MiB |",
        f"| the rest: objects, domains, console | {r['state_bytes_per_object']:.0f} bytes per "
        "object |",
        f"| restored system continues with the same events | {r['continues_the_same']} |",
        "",
        f"Target (issue 9): written and restored in seconds (< {TARGET_SECONDS:.0f} s each): "
        f"**{'PASS' if ok else 'MISS'}**.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.write_text(text + "\n")
    print(f"(written to {RESULTS})")


if __name__ == "__main__":
    main()
