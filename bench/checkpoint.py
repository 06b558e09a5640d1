"""Checkpoint and restore of a 100,000-object system: time and size, one run.

    python bench/checkpoint.py [--objects 100000] [--history] [--smoke]

Builds a system of about ``--objects`` pages and nodes: echo domains (three
nodes each, made with the kernel's primitives by ``bench/soak.py``'s ``build``)
under a tree of directory nodes, plus one written page per ten domains, and a
short run so the event log and the domains' states are not empty. Then times
``k.checkpoint(path)`` and ``kl.Kernel.restore(path)`` (best of three each),
checks the restored system continues exactly as the original (the same events
for the same next CALL), and prints the file's size per object. Issue 9's
target: written and restored "in seconds". The kernel keeps no history
(``kl.Kernel(history=False)``, as before the history existed, so the figures
compare with earlier runs); ``--history`` builds a default kernel, whose
checkpoint carries its history (docs/performance.md says what that costs).

The yardstick of issue 22, timed interleaved with the checkpoint (best of three):
the standard library's pickle of the same kernel object, written to a file in the
same folder (``pickle.dump``, highest protocol), and read back from the bytes it
just made in this process (``pickle.loads``: no file is ever unpickled; reading the
file is left out of pickle's side, so the ratio is, if anything, unfavourable to
``restore``). Aim: write and restore each within 1.5× of pickle's. The table goes
to ``bench/results-checkpoint.md`` (``--smoke``: 300 objects, nothing written).
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
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

from peers import CAVEAT, interleaved  # noqa: E402  (bench/peers.py)
from soak import build  # noqa: E402  (the soak's builder of many echo domains)

RESULTS = HERE / "results-checkpoint.md"
TARGET_SECONDS = 10.0
AIM_PICKLE = 1.5  # checkpoint and restore within this many times pickle's (issue 22)


def versus_pickle(k: kl.Kernel, folder: str, repeat: int = 3) -> dict[str, float]:
    """Seconds, best of ``repeat`` interleaved: ``k.checkpoint`` and
    ``kl.Kernel.restore`` of a file in ``folder``, and pickle's dump of ``k`` to a file
    there and load of the bytes it made here (the yardstick; never a file)."""
    ours, theirs = os.path.join(folder, "bench.ckpt"), os.path.join(folder, "bench.pickle")
    made: list[bytes] = []

    def dump() -> None:
        data = pickle.dumps(k, protocol=pickle.HIGHEST_PROTOCOL)
        with open(theirs, "wb") as f:
            f.write(data)
        made[:] = [data]

    dump()
    k.checkpoint(ours)
    times = interleaved(
        {
            "checkpoint": lambda: k.checkpoint(ours),
            "pickle_dump": dump,
            "restore": lambda: kl.Kernel.restore(ours),
            # The bytes this process made a moment ago: pickle as a yardstick only.
            "pickle_load": lambda: pickle.loads(made[0]),
        },
        repeat,
    )
    times["bytes"] = os.path.getsize(ours)
    times["pickle_bytes"] = os.path.getsize(theirs)
    os.remove(ours)
    os.remove(theirs)
    return times


def system(objects: int, history: bool = False) -> tuple[kl.Kernel, kl.KeyHandle]:
    """About ``objects`` live objects; the console holds a node key to the tree."""
    k = kl.Kernel(history=history)
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
    parser.add_argument("--history", action="store_true", help="a kernel that keeps its history")
    parser.add_argument("--smoke", action="store_true", help="300 objects, nothing written")
    args = parser.parse_args(argv)
    if args.smoke:
        args.objects = 300
    k, tree = system(args.objects, args.history)
    con = k.console
    server = first_server(con, tree)
    con.call(server, 1, data=b"warm")
    live = sum(o is not None for o in k.objs)
    folder = tempfile.mkdtemp(prefix="kl-ckpt-")
    path = os.path.join(folder, "system.ckpt")
    yardstick = versus_pickle(k, folder)
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
        "pickle": yardstick,
        "history": args.history,
    }
    report(result, smoke=args.smoke)
    return result


def report(r: dict, smoke: bool = False) -> None:
    ok = r["write_s"] < TARGET_SECONDS and r["restore_s"] < TARGET_SECONDS
    p = r["pickle"]
    w, rd = p["checkpoint"] / p["pickle_dump"], p["restore"] / p["pickle_load"]
    near = w <= AIM_PICKLE and rd <= AIM_PICKLE
    lines = [
        "# keykos_lab checkpoint benchmark",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · best of 3",
        "",
        f"Figures from {CAVEAT}.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| live objects (pages and nodes) | {r['objects']:,} |",
        f"| the kernel keeps its history | {r['history']} |",
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
        "## Against pickle (the yardstick of issue 22)",
        "",
        "Best of 3, interleaved: pickle's dump of the same kernel object to a file in the "
        "same folder, and its load of the bytes this process just made (never a file).",
        "",
        "| measure | checkpoint | pickle | ratio |",
        "| --- | --- | --- | --- |",
        f"| write | {p['checkpoint']:.3f} s | {p['pickle_dump']:.3f} s | {w:.2f}× |",
        f"| restore | {p['restore']:.3f} s | {p['pickle_load']:.3f} s | {rd:.2f}× |",
        f"| size | {p['bytes'] / 2**20:.1f} MiB | {p['pickle_bytes'] / 2**20:.1f} MiB | "
        f"{p['bytes'] / p['pickle_bytes']:.2f}× |",
        "",
        f"Aim (issue 22): write and restore each within {AIM_PICKLE}× of pickle's: "
        f"**{'PASS' if near else 'MISS'}**.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not smoke:
        RESULTS.write_text(text + "\n")
        print(f"(written to {RESULTS})")


if __name__ == "__main__":
    main()
