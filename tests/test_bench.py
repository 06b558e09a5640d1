"""The benchmarks against the peers (bench/, issue 22) run, so they cannot rot.

Each script runs in its ``--smoke`` mode (tiny sizes, nothing written) in a child
process; the shared helpers (``bench/peers.py``) are checked directly, their
doctests included. A peer library that is not installed gives a "not installed"
row, never a failure: checked by hiding one.
"""

from __future__ import annotations

import doctest
import importlib
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def bench_path():
    sys.path.insert(0, str(BENCH))
    yield
    sys.path.remove(str(BENCH))


def smoke(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--smoke", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "written to" not in done.stdout  # smoke runs leave the results files alone
    return done.stdout


def test_peers_helpers(bench_path):
    peers = importlib.import_module("peers")
    failed, _ = doctest.testmod(peers, optionflags=doctest.ELLIPSIS)
    assert failed == 0
    # A power law's exponent comes back, whatever its constant; noise-free points.
    for b in (0.5, 1.0, 1.7):
        xs = [100, 1_000, 10_000]
        assert peers.fit_exponent(xs, [3.0 * x**b for x in xs]) == pytest.approx(b)
    assert math.isnan(peers.fit_exponent([100, 1_000], [None, 2.0]))
    # Interleaved: every function runs in every round, the best time is kept.
    calls: list[str] = []
    t = peers.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3)
    assert calls == ["a", "b"] * 3 and set(t) == {"a", "b"}


def test_missing_peer_gives_a_row_not_a_failure(bench_path, monkeypatch):
    graph = importlib.import_module("graph")
    real = graph.optional
    monkeypatch.setattr(graph, "optional", lambda name: None if name == "igraph" else real(name))
    m = graph.peer_measures(20, repeat=1, memory=False)
    # igraph hidden here; other peers may be missing too where the bench extra is not
    # installed (CI installs only the dev extra)
    assert "igraph `subcomponent`" in m["missing"]
    table = "\n".join(graph.peer_table(m))
    assert "| igraph `subcomponent` | not installed |" in table
    assert "scipy `breadth_first_order`" in m["query"]


def test_graph_peers_smoke():
    out = smoke("graph.py", "--peers-only")
    assert "fast engine (`authority`)" in out
    assert "Aim (issue 22)" in out


def test_eventlog_smoke():
    out = smoke("eventlog.py")
    assert "frame from ready numpy columns" in out
    assert "Aim (issue 22)" in out


def test_checkpoint_smoke():
    out = smoke("checkpoint.py")
    assert "Against pickle" in out
    assert "| restored system continues with the same events | True |" in out


def test_scale_smoke():
    out = smoke("scale.py", "--domains", "10", "20", "--repeat", "1")
    assert "exponent" in out and "`k.events()` ÷ frame from ready columns" in out


def test_record_smoke():
    pytest.importorskip("scipy")
    out = smoke("record.py", "--systems", "6")
    assert "random systems on this process" in out


def test_compiler_trials_still_apply(bench_path):
    """bench/compiled.py --trials changes copies of the package by text replacement: every
    text it replaces is still in the source, and each trial the decision record quotes is
    there (a build takes minutes, so the builds themselves run only in the benchmark)."""
    compiled = importlib.import_module("compiled")
    package = BENCH.parent / "keykos_lab"
    assert set(compiled.TRIALS) == {"mypyc-native", "cython", "cython-cdef"}
    for name, trial in compiled.TRIALS.items():
        sources: dict[str, str] = {}
        for file, text, _new in trial["replace"]:
            source = sources.setdefault(file, (package / file).read_text(encoding="utf-8"))
            assert text in source, f"trial {name}: {file} lost {text.strip()!r}"
            sources[file] = source.replace(text, _new, 1)
    # the cdef trial's .pxd names every field of the domain state, no more
    domains = importlib.import_module("keykos_lab.kernel.domains")
    pxd = compiled.TRIALS["cython-cdef"]["pxd"]["kernel/domains.pxd"]
    fields = {w.strip(",") for line in pxd.splitlines()[1:] for w in line.split()[3:]}
    assert fields == set(domains.DomainState.__slots__)
