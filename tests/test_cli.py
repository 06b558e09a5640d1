"""The ``keykos-lab`` command, driven as a user would: ``python -m keykos_lab.cli`` in a
subprocess. The real inputs come from the external folder (``KEYKOS_LAB_EXTERNAL``, else
``shared/external`` next to the repository); tests needing them skip when it is absent."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import pytest
from external_data import REASON, root

from keykos_lab.analysis import read_node_link
from keykos_lab.cli import SYSTEM, load_graph, summarize
from keykos_lab.readers import read_capdl, read_microkit

REPO = Path(__file__).resolve().parents[1]
ADDER = root("sel4-capdl") / "capDL-tool" / "camkes-adder-arm.cdl"
MICROKIT = root("sel4-microkit-sdf") / "microkit" / "example"
PASSIVE = MICROKIT / "passive_server" / "passive_server.system"
DOMAINS = MICROKIT / "domains" / "domains.system"
CLIENT, SERVER = "client_client_0_control_tcb", "adder_adder_a_0000_tcb"

needs_capdl = pytest.mark.skipif(not ADDER.is_file(), reason=REASON)
needs_microkit = pytest.mark.skipif(not PASSIVE.is_file() or not DOMAINS.is_file(), reason=REASON)


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def cli_all(*commands: Sequence[str | Path]) -> list[subprocess.CompletedProcess[str]]:
    """Run several command lines at once (each is a fresh interpreter: ~1 s of imports)."""
    procs = [
        (
            c,
            subprocess.Popen(
                [sys.executable, "-m", "keykos_lab.cli", *map(str, c)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
                env=_env(),
            ),
        )
        for c in commands
    ]
    done = []
    for c, p in procs:
        out, err = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(list(map(str, c)), p.returncode, out, err))
    return done


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return cli_all(args)[0]


# ------------------------------------------------------------------------------ analyze
# What the command prints is compared with what the library computes on the same file
# (readers and analyses are tested against golden counts in their own tests, and their
# semantics move with them): here the point is that the CLI reports it faithfully.
def expected(G: nx.MultiDiGraph, subject: str, sink: str | None = None) -> dict:
    return json.loads(json.dumps(summarize(G, subject, sink), default=str))


def check_text(out: str, s: dict) -> None:
    assert f"subject {s['subject']}: can come to hold {s['keys']} keys" in out
    for key_type, n in s["by_key_type"].items():
        assert f"    {key_type:<12} {n:>5}\n" in out
    assert f"  can call ({len(s['calls'])}):" in out
    assert f"  can write to ({len(s['writes'])}):" in out
    for target in s["calls"] + s["writes"]:
        assert f"    {target}\n" in out
    if "flow" in s:
        f = s["flow"]
        assert f"flow {f['source']} -> {f['sink']}: {'yes' if f['can_flow'] else 'no'}" in out
        if f["witness"]:
            assert f"  witness: {' -> '.join(f['witness'])}\n" in out
        else:
            assert "witness" not in out


@needs_capdl
def test_analyze_capdl_text_and_json_with_flow_witness():
    G = read_capdl(ADDER)
    s = expected(G, CLIENT, SERVER)
    assert s["keys"] > 0 and s["flow"]["can_flow"]
    r, j = cli_all(
        ("analyze", ADDER, "--subject", CLIENT, "--sink", SERVER),
        ("analyze", ADDER, "--subject", CLIENT, "--sink", SERVER, "--json"),
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert f"(capdl): {G.number_of_nodes()} vertices, {G.number_of_edges()} keys" in r.stdout
    check_text(r.stdout, s)
    witness = next(line for line in r.stdout.splitlines() if line.startswith("  witness: "))
    path = witness.removeprefix("  witness: ").split(" -> ")
    assert path[0] == CLIENT and path[-1] == SERVER

    assert j.returncode == 0, j.stderr
    data = json.loads(j.stdout)
    assert data["format"] == "capdl" and data["subject"] == CLIENT
    assert (data["vertices"], data["edges"]) == (G.number_of_nodes(), G.number_of_edges())
    assert data["keys"] == sum(data["by_key_type"].values()) == s["keys"]
    assert {k: data[k] for k in s} == s
    assert data["flow"]["witness"] == path


@needs_microkit
def test_analyze_microkit_text_and_json():
    G = read_microkit(PASSIVE)
    s, with_sink = expected(G, "client"), expected(G, "client", "server")
    r, j = cli_all(
        ("analyze", PASSIVE, "--subject", "client"),
        ("analyze", PASSIVE, "--subject", "client", "--sink", "server", "--json"),
    )
    assert r.returncode == 0, r.stderr
    assert f"(microkit): {G.number_of_nodes()} vertices, {G.number_of_edges()} keys" in r.stdout
    check_text(r.stdout, s)
    assert "server" in s["calls"]  # the passive server is called
    assert "flow" not in r.stdout
    assert j.returncode == (0 if with_sink["flow"]["can_flow"] else 1), j.stderr
    data = json.loads(j.stdout)
    assert {k: data[k] for k in with_sink} == with_sink


def test_analyze_no_flow_exits_1(tmp_path):
    """Two domains, no key between them: no flow, exit 1 (text and JSON), never an error."""
    two = tmp_path / "apart.json"
    two.write_text(
        json.dumps(
            {"nodes": [{"id": "a", "kind": "domain"}, {"id": "b", "kind": "domain"}], "edges": []}
        )
    )
    r, j = cli_all(
        ("analyze", two, "--subject", "a", "--sink", "b"),
        ("analyze", two, "--subject", "a", "--sink", "b", "--json"),
    )
    assert r.returncode == 1 and j.returncode == 1, r.stderr
    assert r.stderr == j.stderr == ""
    assert "flow a -> b: no" in r.stdout and "witness" not in r.stdout
    data = json.loads(j.stdout)
    assert data["flow"]["can_flow"] is False and data["flow"]["witness"] is None


@needs_microkit
def test_analyze_exit_code_follows_the_verdict():
    G = read_microkit(DOMAINS)
    s = expected(G, "collector", "emitter")
    r = cli("analyze", DOMAINS, "--subject", "collector", "--sink", "emitter")
    assert r.returncode == (0 if s["flow"]["can_flow"] else 1), r.stderr
    check_text(r.stdout, s)


@needs_capdl
def test_unknown_subject_and_sink_exit_3():
    nobody, cnode, nowhere = cli_all(
        ("analyze", ADDER, "--subject", "nobody"),
        ("analyze", ADDER, "--subject", "adder_cnode"),
        ("analyze", ADDER, "--subject", CLIENT, "--sink", "nowhere"),
    )
    assert nobody.returncode == 3 and nobody.stdout == ""
    assert "unknown subject 'nobody'" in nobody.stderr and CLIENT in nobody.stderr
    assert cnode.returncode == 3  # a vertex, but not a domain
    assert "'adder_cnode' is a node, not a domain" in cnode.stderr
    assert nowhere.returncode == 3 and "unknown sink 'nowhere'" in nowhere.stderr


def test_missing_file_and_unknown_suffix_exit_3_missing_option_exit_2(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    absent, txt, no_subject = cli_all(
        ("analyze", tmp_path / "absent.cdl", "--subject", "t"),
        ("analyze", tmp_path / "x.txt", "--subject", "t"),
        ("analyze", tmp_path / "x.txt"),
    )
    assert absent.returncode == 3 and "absent.cdl: no such file" in absent.stderr
    assert txt.returncode == 3 and "'.txt'" in txt.stderr
    assert no_subject.returncode == 2 and "--subject" in no_subject.stderr


def test_malformed_file_exit_3(tmp_path):
    bad = tmp_path / "bad.cdl"
    bad.write_text("arch arm11\nobjects {\n  t = foo\n}\n")
    xml = tmp_path / "bad.system"
    xml.write_text("<system>\n<protection_domain name='a'>\n</system>\n")
    r, g = cli_all(("analyze", bad, "--subject", "t"), ("graph", xml, "-o", tmp_path / "g.json"))
    assert r.returncode == 3 and r.stdout == ""
    assert f"{bad}:3: unknown object type 'foo'" in r.stderr
    assert g.returncode == 3 and f"{xml}:" in g.stderr
    assert not (tmp_path / "g.json").exists()


def test_analyze_inline_microkit(tmp_path):
    spec = tmp_path / "two.system"
    spec.write_text(SYSTEM)
    r = cli("analyze", spec, "--subject", "a", "--sink", "b", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    s = expected(read_microkit(spec), "a", "b")
    assert {k: data[k] for k in s} == s
    assert "b" in data["calls"] and data["flow"]["witness"] == ["a", "b"]  # a calls b


# ------------------------------------------------------------------------------ graph
@needs_capdl
def test_graph_exports_read_back(tmp_path):
    gml, js = tmp_path / "adder.graphml", tmp_path / "adder.json"
    A = read_capdl(ADDER)
    n, m = A.number_of_nodes(), A.number_of_edges()
    r, rj = cli_all(("graph", ADDER, "-o", gml), ("graph", ADDER, "--output", js))
    assert r.returncode == 0, r.stderr
    assert f"{n} vertices, {m} keys" in r.stdout
    G = nx.read_graphml(gml)
    assert G.number_of_nodes() == n and G.number_of_edges() == m
    assert G.nodes[CLIENT]["kind"] == "domain"
    assert rj.returncode == 0, rj.stderr
    H = read_node_link(js)
    assert H.number_of_nodes() == n and H.number_of_edges() == m
    assert list(H.edges(keys=True, data=True)) == list(A.edges(keys=True, data=True))
    # the JSON export is an input too, read as read_node_link reads it
    assert list(load_graph(js)[0].edges(keys=True, data=True)) == list(
        H.edges(keys=True, data=True)
    )
    r = cli("analyze", js, "--subject", CLIENT, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["keys"] == expected(A, CLIENT)["keys"]


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, data[:8]
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_graph_png_svg_and_highlight(tmp_path):
    spec = tmp_path / "s.system"
    spec.write_text(SYSTEM)
    png, svg, hl = tmp_path / "g.png", tmp_path / "g.svg", tmp_path / "hl.png"
    rp, rs, rh = cli_all(
        ("graph", spec, "-o", png),
        ("graph", spec, "-o", svg),
        ("graph", spec, "-o", hl, "--highlight", "a"),
    )
    G = read_microkit(spec)
    counts = f"{G.number_of_nodes()} vertices, {G.number_of_edges()} keys"
    for r in (rp, rs, rh):
        assert r.returncode == 0, r.stderr
        assert counts in r.stdout and r.stderr == ""
    w, h = _png_size(png)
    assert w > 200 and h > 200 and png.stat().st_size > 5000
    assert _png_size(hl)[0] > 200 and hl.read_bytes() != png.read_bytes()  # shaded
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert f"capability graph: {counts}" in text  # the title


def test_graph_highlight_errors_and_unknown_format_exit_3(tmp_path):
    spec = tmp_path / "s.system"
    spec.write_text(SYSTEM)
    nobody, chan, js, dot = cli_all(
        ("graph", spec, "-o", tmp_path / "g.png", "--highlight", "nobody"),
        ("graph", spec, "-o", tmp_path / "g.png", "--highlight", "channel:a:0-b:0"),
        ("graph", spec, "-o", tmp_path / "g.json", "--highlight", "a"),
        ("graph", spec, "-o", tmp_path / "g.dot"),
    )
    assert nobody.returncode == 3 and "unknown subject 'nobody'" in nobody.stderr
    assert chan.returncode == 3 and "is a page, not a domain" in chan.stderr
    assert js.returncode == 3 and "--highlight" in js.stderr and ".png" in js.stderr
    assert dot.returncode == 3 and ".graphml or .json" in dot.stderr
    assert list(tmp_path.iterdir()) == [spec]


@needs_microkit
def test_graph_png_of_a_microkit_example(tmp_path):
    ethernet = MICROKIT / "ethernet" / "ethernet.system"
    out = tmp_path / "ethernet.png"
    r = cli("graph", ethernet, "-o", out, "--highlight", "eth_outer")
    assert r.returncode == 0, r.stderr
    w, h = _png_size(out)
    assert w > 400 and h > 300 and out.stat().st_size > 20000


# ------------------------------------------------------------------------------ run
def test_run_empty_child_writes_events_and_graph(tmp_path):
    events, graph = tmp_path / "ev.csv", tmp_path / "g.graphml"
    r = cli("run", "empty_child", "--events", events, "--graph", graph)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["step", "events", "description"]
    assert lines[1].startswith("domain creator ")
    assert "  count after first call: 2" in lines and "  child key registers: 0" in lines
    header = events.read_text().splitlines()[0].split(",")
    assert header[:4] == ["seq", "tick", "event", "jump"]
    assert len(events.read_text().splitlines()) > 100
    G = nx.read_graphml(graph)
    assert G.nodes["misc:dkc"]["kind"] == "misc"
    assert f"wrote {events}:" in r.stdout and f"wrote {graph}:" in r.stdout


def test_run_bad_outputs_and_unknown_scenario(tmp_path):
    commands = [
        ("run", "nope"),
        ("run", "empty_child", "--events", tmp_path / "ev.xlsx"),
        ("run", "empty_child", "--graph", tmp_path / "g.dot"),
    ]
    if importlib.util.find_spec("pyarrow") is None:
        commands.append(("run", "empty_child", "--events", tmp_path / "ev.parquet"))
    nope, xlsx, dot, *parquet = cli_all(*commands)
    assert nope.returncode == 2 and "invalid choice" in nope.stderr  # usage
    assert xlsx.returncode == 3 and ".csv or .parquet" in xlsx.stderr and xlsx.stdout == ""
    assert dot.returncode == 3 and ".png or .svg" in dot.stderr and dot.stdout == ""
    for r in parquet:
        assert r.returncode == 3 and "needs pyarrow" in r.stderr and r.stdout == ""


# ------------------------------------------------------------------------------ lab, help
def test_lab_print():
    r = cli("lab", "--print")
    assert r.returncode == 0, r.stderr
    assert "jupyter lab" in r.stdout or 'jupyter" lab' in r.stdout or "make lab" in r.stdout
    assert "notebooks" in r.stdout


HELP = [
    ([], ["analyze", "graph", "run", "lab", "exit codes"]),
    (["analyze"], ["--subject", "--sink", "--json", "capDL", "Microkit", "exit codes"]),
    (["graph"], ["--output", ".graphml", ".png", ".svg", "--highlight", "matplotlib"]),
    (["run"], ["empty_child", "tso_domain_key", "tso_setuid", "--events", "--graph"]),
    (["lab"], ["--print", "make lab"]),
]


def test_help():
    for (command, words), r in zip(HELP, cli_all(*[[*c, "--help"] for c, _ in HELP])):
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("usage: keykos-lab " + " ".join(command)), r.stdout
        for w in words:
            assert w in r.stdout, (command, w)


def test_analyze_shows_progress_on_a_terminal_only(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    from keykos_lab.cli import SYSTEM

    spec = tmp_path / "two.system"
    spec.write_text(SYSTEM)
    command = [sys.executable, "-m", "keykos_lab.cli", "analyze", str(spec), "--subject", "a"]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 80 columns
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=60,
        )
    finally:
        os.close(slave)
    shown = os.read(master, 1 << 16).decode(errors="replace")
    os.close(master)
    assert done.returncode == 0 and "subject a" in done.stdout
    assert "analysing" in shown or "reading" in shown  # tqdm drew on the terminal
    piped = cli("analyze", spec, "--subject", "a")
    assert piped.stderr == ""  # and nothing in a pipe


def test_run_draws_the_final_graph_as_png(tmp_path):
    out = tmp_path / "g.png"
    r = cli("run", "empty_child", "--graph", out)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}:" in r.stdout
    w, h = _png_size(out)
    assert w > 400 and h > 300 and out.stat().st_size > 20000


def test_run_writes_the_event_log_as_parquet(tmp_path):
    import pandas as pd

    out = tmp_path / "ev.parquet"
    r = cli("run", "empty_child", "--events", out)
    assert r.returncode == 0, r.stderr
    ev = pd.read_parquet(out)
    assert list(ev.columns[:4]) == ["seq", "tick", "event", "jump"] and len(ev) > 100
    assert str(ev.event.dtype) == "category"  # types survive, unlike in CSV


def test_analyze_reads_the_graphs_run_writes_by_id_or_label(tmp_path):
    """``run --graph`` writes node-link JSON whose ids are integers; ``analyze`` takes a
    subject and a sink by id (as text on the command line) or by label, as ``graph
    --highlight`` does. (A newcomer found every id refused.)"""
    out = tmp_path / "setuid.json"
    assert cli("run", "tso_setuid", "--graph", out).returncode == 0
    G = load_graph(out)[0]
    console = next(v for v, d in G.nodes(data=True) if d.get("label") == "console")
    by_id, by_label = cli_all(
        ("analyze", out, "--subject", str(console), "--sink", str(console)),
        ("analyze", out, "--subject", "console", "--json"),
    )
    assert by_id.returncode == 0, by_id.stderr
    assert by_label.returncode == 0, by_label.stderr
    assert json.loads(by_label.stdout)["subject"] == console
    bad = cli("analyze", out, "--subject", "nobody")
    assert bad.returncode == 3 and f"{console} (console)" in bad.stderr
