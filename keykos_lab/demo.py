"""The headless demo (``make demo``): an empty child, built and started by hand.

Warkentin's third primitive, the KeyKOS way (KEYKOS.md §8.1–§8.2): buy nodes and
pages from the bank, build the child's address segment, install its keys through
the domain key, start it with a fault key — then show the event log and the
capability graph that every step left behind.
"""

from __future__ import annotations

import struct

import keykos_lab as kl
from keykos_lab import oc


def empty_child(k: kl.Kernel) -> kl.KeyHandle:
    """Build a counter domain step by step; returns a start key to it."""
    con = k.console
    pager_dom = kl.build_domain(con, "pager", keys={0: con["bank"]})
    pager = kl.start_key(con, pager_dom)
    segment = kl.build_segment(con, [kl.image(con, "counter")], keeper=pager)
    child = kl.build_domain(con, memory=segment)          # an empty child: not running
    fault = con.call(child, oc.Domain.MakeBusy).keys[0]   # hold it still …
    start = kl.start_key(con, child)                      # … make a start key …
    con.call(child, oc.Domain.MakeAvailable)              # … and let messages in
    assert con.key(fault) == kl.DK0                       # MakeAvailable voided the fault key
    return start


def main() -> None:
    k = kl.Kernel()
    con = k.console
    counter = empty_child(k)
    for _ in range(3):
        count = struct.unpack(">Q", con.call(counter, 0).data)[0]
        print(f"counter says {count}")
    ev = k.events()
    print(f"\n{len(ev)} kernel events; by kind:")
    print(ev["event"].value_counts().loc[lambda s: s > 0].to_string())
    print("\nthe segment fault and its keeper call:")
    cols = ["seq", "event", "jump", "actor", "key_type", "target", "order", "cause"]
    print(ev[ev["cause"] == "segfault"][cols].to_string(index=False))
    G = k.capability_graph()
    kinds = {}
    for _, data in G.nodes(data=True):
        kinds[data["kind"]] = kinds.get(data["kind"], 0) + 1
    print(f"\ncapability graph: {G.number_of_nodes()} vertices {kinds}, "
          f"{G.number_of_edges()} keys")


if __name__ == "__main__":
    main()
