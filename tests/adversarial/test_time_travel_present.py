"""Red team: the moment ``at=seq`` names, at the end of the log.

``capability_graph(at=s)`` is the state at the moment row ``s`` was written; what the
kernel does after the last row (the console taking its reply's keys into its key ring,
the callee going back to available, a label given from outside) shows from the next
event on (docs/decisions/0016, docs/analyses.md). The point of that choice is that a
moment, once logged, never changes: this checks it over a mix of console inputs,
including the ones that change state after the last row (labels, names, ``run``).
Holds (adds coverage: tests/test_history.py checks one label)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: test_history

from test_history import canon  # noqa: E402

import keykos_lab as kl  # noqa: E402

oc = kl.oc


def test_a_logged_moment_never_changes_afterwards():
    k = kl.Kernel()
    con = k.console
    said: dict[int, tuple] = {}

    def note() -> None:
        last = len(k.log) - 1
        said.setdefault(last, (canon(k.capability_graph(at=last)), k.objects(at=last)))

    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    note()
    con.label(page, "diary")  # after the last row: the next event's
    note()
    con.name("diary", page)
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    note()
    con.call(echo, 1, page)
    note()
    con.fork(echo, 2, page)  # FORK: the echo is left to run
    note()
    con.run()
    note()
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 0, page)
    note()
    con.call(con["bank"], oc.SB.DestroyPage, page)
    con.call(con["dkc"], 0)
    assert len(said) >= 6
    for seq, (graph, frame) in said.items():
        assert canon(k.capability_graph(at=seq)) == graph, seq
        pd.testing.assert_frame_equal(k.objects(at=seq), frame)
