"""The headless demo (``make demo``): an empty child, built and started by hand.

Warkentin's third primitive, the KeyKOS way (docs/primer.md#primer-tso-answers,
docs/primer.md#primer-fork-routine), run by
``keykos_lab.scenarios.tso.empty_child``: a domain creator, an empty domain, an
address segment of a node and two pages, memory and meter installed through the
domain key, a fault key to start it — then the event log and the capability
graph that every step left behind.
"""

from __future__ import annotations

import struct

from keykos_lab import scenarios


def main() -> None:
    rec = scenarios.empty_child()
    k = rec.kernel
    con = k.console
    print("the empty child, step by step:")
    print(rec.table().to_string(index=False))
    for _ in range(2):
        count = struct.unpack(">Q", con.call(rec.keys["start"], 0).data)[0]
        print(f"counter says {count}")
    ev = k.events()
    print(f"\n{len(ev)} kernel events; by kind:")
    print(ev["event"].value_counts().loc[lambda s: s > 0].to_string())
    cols = ["seq", "event", "jump", "actor", "key_type", "target", "order", "state_after"]
    print("\nthe start: FORK of the fault key, and what the child did")
    print(rec.steps[5].events(k)[cols].to_string(index=False))
    G = k.capability_graph()
    child = con.target(rec.keys["child"])
    print(
        f"\ncapability graph: {G.number_of_nodes()} vertices, {G.number_of_edges()} keys; "
        "the child holds:"
    )
    for _, target, data in G.out_edges(child, data=True):
        print(f"  {data['slot_kind']:>8}: {data['key_type']} key → {G.nodes[target]['label']}")


if __name__ == "__main__":
    main()
