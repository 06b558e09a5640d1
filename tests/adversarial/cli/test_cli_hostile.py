"""The ``keykos-lab`` command against hostile input: every case its own test.

The promise (keykos_lab/cli.py, docs/reliability.md#reliability-cli-sweeps): bad input
exits 3 with one short ``keykos-lab: error: …`` line naming the problem, a command
line that does not parse exits 2, a bug exits 4 without a traceback (unless
``KEYKOS_LAB_DEBUG`` asks), and nothing hostile ever exits 0 or 1 (1 means "no flow").
Exports are valid XML / JSON whatever the labels. Most cases call ``main`` in this
process (fast); the ones that need a real process — a FIFO that must not make the
command wait, standard output closed or full, the internal-error path as a user
sees it — run ``python -m keykos_lab.cli`` with a timeout.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import pytest

from keykos_lab import cli
from keykos_lab.cli import SYSTEM, main

REPO = Path(__file__).resolve().parents[3]
EXIT_USAGE, EXIT_BAD, EXIT_BUG = 2, 3, 4
#: A message is one short line: the prefix, at most MESSAGE_LIMIT characters.
SHORT = len("keykos-lab: error: ") + cli.MESSAGE_LIMIT + 1


# ------------------------------------------------------------------------------ helpers
def spec(d: Path) -> Path:
    p = d / "two.system"
    p.write_text(SYSTEM)
    return p


def write(d: Path, name: str, data: bytes | str) -> Path:
    p = d / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


def node_link(nodes: list, edges: list | None = None, **extra) -> str:
    return json.dumps(
        {
            "directed": True,
            "multigraph": True,
            "graph": {},
            "nodes": nodes,
            "edges": edges if edges is not None else [],
            **extra,
        }
    )


GOOD_NODES = [
    {"id": "a", "kind": "domain", "label": "a"},
    {"id": "p", "kind": "page", "label": "p"},
]
GOOD_EDGE = {
    "source": "a",
    "target": "p",
    "key_type": "page",
    "databyte": 0,
    "slot": 0,
    "slot_kind": "key_register",
    "rights": "read,write",
    "sensory": False,
}


def bad_edge(**change) -> str:
    edge = {**GOOD_EDGE, **change}
    return node_link(GOOD_NODES, [{k: v for k, v in edge.items() if v is not ...}])


def run_main(argv: list, capsys) -> tuple[int, str, str]:
    code = main([str(a) if isinstance(a, Path) else a for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def check_refused(code: int, out: str, err: str, expected: int, words: tuple[str, ...]):
    assert code == expected, (code, err)
    assert code not in (0, 1)
    if expected == EXIT_BAD:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("keykos-lab: error: "), err
        assert len(lines[0]) <= SHORT, len(lines[0])
        assert "Traceback" not in err and out == ""
    for w in words:
        assert w in err, (w, err)


# ------------------------------------------------------------------------------ argv
#: (id, argv built from a folder holding the two-PD spec "S", expected code, words in stderr)
ARGV: list[tuple[str, Callable[[Path], list], int, tuple[str, ...]]] = [
    ("no-arguments", lambda d: [], EXIT_USAGE, ("usage",)),
    ("unknown-command", lambda d: ["frobnicate"], EXIT_USAGE, ("invalid choice",)),
    ("analyze-alone", lambda d: ["analyze"], EXIT_USAGE, ("required",)),
    ("analyze-no-subject", lambda d: ["analyze", spec(d)], EXIT_USAGE, ("--subject",)),
    (
        "subject-without-value",
        lambda d: ["analyze", spec(d), "--subject"],
        EXIT_USAGE,
        ("expected one argument",),
    ),
    (
        "unknown-option",
        lambda d: ["analyze", spec(d), "--subject", "a", "--frob"],
        EXIT_USAGE,
        ("unrecognized",),
    ),
    ("graph-no-output", lambda d: ["graph", spec(d)], EXIT_USAGE, ("--output",)),
    ("run-alone", lambda d: ["run"], EXIT_USAGE, ("required",)),
    ("run-unknown-scenario", lambda d: ["run", "nope"], EXIT_USAGE, ("invalid choice",)),
    ("empty-file-name", lambda d: ["analyze", "", "--subject", "a"], EXIT_BAD, ("no such file",)),
    (
        "empty-subject",
        lambda d: ["analyze", spec(d), "--subject", ""],
        EXIT_BAD,
        ("unknown subject ''",),
    ),
    (
        "empty-sink",
        lambda d: ["analyze", spec(d), "--subject", "a", "--sink", ""],
        EXIT_BAD,
        ("unknown sink ''",),
    ),
    (
        "huge-subject",
        lambda d: ["analyze", spec(d), "--subject", "x" * 100_000],
        EXIT_BAD,
        ("unknown subject 'xxx",),
    ),
    (
        "control-and-surrogate-subject",
        lambda d: ["analyze", spec(d), "--subject", "\udcff\x1b[31m\x00"],
        EXIT_BAD,
        ("unknown subject '\\udcff\\x1b[31m\\x00'",),
    ),
    (
        "subject-not-a-domain",
        lambda d: ["analyze", spec(d), "--subject", "channel:a:0-b:0"],
        EXIT_BAD,
        ("is a page, not a domain",),
    ),
    (
        "unknown-sink",
        lambda d: ["analyze", spec(d), "--subject", "a", "--sink", "nowhere"],
        EXIT_BAD,
        ("unknown sink 'nowhere'",),
    ),
    (
        "nul-in-path",
        lambda d: ["analyze", str(d / "a\x00b.cdl"), "--subject", "a"],
        EXIT_BAD,
        ("not a usable path",),
    ),
    (
        "path-too-long",
        lambda d: ["analyze", str(d / ("x" * 5000 + ".cdl")), "--subject", "a"],
        EXIT_BAD,
        ("File name too long",),
    ),
    (
        "highlight-5000-digits",
        lambda d: ["graph", spec(d), "-o", d / "g.png", "--highlight", "9" * 5000],
        EXIT_BAD,
        ("unknown subject '999",),
    ),
    (
        "highlight-superscript-digit",
        lambda d: ["graph", spec(d), "-o", d / "g.png", "--highlight", "\u00b2"],
        EXIT_BAD,
        ("unknown subject",),
    ),
    (
        "highlight-with-json",
        lambda d: ["graph", spec(d), "-o", d / "g.json", "--highlight", "a"],
        EXIT_BAD,
        ("--highlight",),
    ),
    (
        "graph-unknown-suffix",
        lambda d: ["graph", spec(d), "-o", d / "g.dot"],
        EXIT_BAD,
        (".graphml or .json",),
    ),
    ("graph-empty-output", lambda d: ["graph", spec(d), "-o", ""], EXIT_BAD, ("'(none)'",)),
    (
        "events-empty-output",
        lambda d: ["run", "empty_child", "--events", ""],
        EXIT_BAD,
        (".csv or .parquet",),
    ),
    (
        "events-xlsx",
        lambda d: ["run", "empty_child", "--events", d / "e.xlsx"],
        EXIT_BAD,
        (".csv or .parquet",),
    ),
    (
        "run-graph-dot",
        lambda d: ["run", "empty_child", "--graph", d / "g.dot"],
        EXIT_BAD,
        (".png or .svg",),
    ),
]


@pytest.mark.parametrize("argv, expected, words", [a[1:] for a in ARGV], ids=[a[0] for a in ARGV])
def test_hostile_command_lines(tmp_path, capsys, argv, expected, words):
    code, out, err = run_main(argv(tmp_path), capsys)
    check_refused(code, out, err, expected, words)
    assert not [p for p in tmp_path.iterdir() if p.name != "two.system"]  # nothing written


# ------------------------------------------------------------------------------ files
BINARY = bytes(range(256)) * 8
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b'<system><protection_domain name="&c;"/></system>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<system><protection_domain name="&x;"/></system>'
)

#: (id, file name, content, words in stderr)
FILES: list[tuple[str, str, bytes | str, tuple[str, ...]]] = [
    ("empty-cdl", "e.cdl", b"", ("e.cdl:1:",)),
    ("empty-system", "e.system", b"", ("e.system:1:",)),
    ("empty-cml", "e.cml", b"", ("e.cml:1:",)),
    ("empty-json", "e.json", b"", ("not JSON",)),
    ("binary-cdl", "b.cdl", BINARY, ("not UTF-8",)),
    ("binary-system", "b.system", BINARY, ("b.system",)),
    ("binary-cml", "b.cml", BINARY, ("not UTF-8",)),
    ("binary-json", "b.json", BINARY, ("not UTF-8",)),
    ("nul-bytes-cdl", "n.cdl", b"\x00" * 64, ("n.cdl:1:",)),
    ("utf16-system", "u.system", "<system><bogus/></system>".encode("utf-16"), ("u.system",)),
    ("latin1-cml", "l.cml", "{use: [{protocol: 'caf\xe9'}]}".encode("latin-1"), ("not UTF-8",)),
    (
        "bom-then-capdl",
        "bom.cdl",
        b"\xef\xbb\xbfarch arm11\nobjects {}\ncaps {}\n",
        ("bom.cdl:1:",),
    ),
    ("huge-line-cdl", "h.cdl", b"a" * 5_000_000, ("h.cdl:1:",)),
    ("huge-line-system", "h.system", b"a" * 5_000_000, ("h.system:1:",)),
    ("huge-line-cml", "h.cml", b"a" * 5_000_000, ("h.cml:1:",)),
    ("huge-string-json", "h.json", b'"' + b"a" * 5_000_000 + b'"', ("top level is a string",)),
    ("deep-json", "d.json", b"[" * 100_000 + b"]" * 100_000, ("nested too deeply",)),
    ("deep-cml", "d.cml", b"{use: " + b"[" * 50_000 + b"]" * 50_000 + b"}", ("nested deeper",)),
    ("deep-xml", "d.system", b"<a>" * 100_000 + b"</a>" * 100_000, ("root element",)),
    ("deep-capdl", "d.cdl", b"arch arm11\nobjects {\n" + b"a = tcb (" * 30_000, ("d.cdl:",)),
    (
        "deep-json-attribute",
        "da.json",
        node_link([{"id": "a", "kind": "domain", "x": json.loads("[" * 40 + "]" * 40)}]),
        ("nested deeper than",),
    ),
    ("xml-in-cdl", "x.cdl", SYSTEM, ("x.cdl:",)),
    ("json-in-system", "j.system", node_link(GOOD_NODES), ("j.system:1:",)),
    ("capdl-in-json", "c.json", "arch arm11\nobjects {}\n", ("not JSON",)),
    ("microkit-in-cml", "m.cml", SYSTEM, ("m.cml:1:",)),
    ("unknown-suffix", "x.txt", "hello", ("'.txt'",)),
    ("no-suffix", "README", "hello", ("'(none)'",)),
    ("xml-entity-bomb", "bomb.system", BOMB, ("DTDs and entities are not allowed",)),
    ("xml-external-entity", "ext.system", EXTERNAL, ("DTDs and entities are not allowed",)),
    (
        "capdl-syntax-error",
        "bad.cdl",
        "arch arm11\nobjects {\n  t = foo\n}\n",
        ("bad.cdl:3: unknown object type 'foo'",),
    ),
    ("json-top-level-array", "arr.json", "[]", ("top level is an array",)),
    ("json-no-edges", "ne.json", json.dumps({"nodes": []}), ("'nodes' and 'edges'",)),
    (
        "json-id-is-a-list",
        "il.json",
        node_link([{"id": [1], "kind": "domain"}]),
        ("'id' is a string or an integer",),
    ),
    (
        "json-duplicate-ids",
        "dup.json",
        node_link([{"id": "a", "kind": "domain"}] * 2),
        ("is also nodes[0]",),
    ),
    (
        "json-ids-same-text",
        "st.json",
        node_link([{"id": 1, "kind": "domain"}, {"id": "1", "kind": "page"}]),
        ("same text",),
    ),
    ("json-kind-missing", "km.json", node_link([{"id": "a"}]), ("'kind' is one of",)),
    (
        "json-program-not-text",
        "pr.json",
        node_link([{"id": "a", "kind": "domain", "program": ["bank"]}]),
        ("'program' is a string",),
    ),
    ("json-edge-to-nowhere", "en.json", bad_edge(target="zz"), ("the target 'zz'",)),
    ("json-edge-source-true", "et.json", bad_edge(source=True), ("the source True",)),
    ("json-key-type-bogus", "kt.json", bad_edge(key_type="bogus"), ("'key_type'",)),
    ("json-key-type-missing", "ktm.json", bad_edge(key_type=...), ("'key_type'",)),
    ("json-databyte-256", "db.json", bad_edge(databyte=256), ("'databyte'",)),
    ("json-databyte-text", "dbt.json", bad_edge(databyte="x"), ("'databyte'",)),
    ("json-slot-huge", "sl.json", bad_edge(slot=2**70), ("'slot'",)),
    ("json-slot-kind-bogus", "sk.json", bad_edge(slot_kind="attic"), ("'slot_kind'",)),
    ("json-rights-bogus", "rb.json", bad_edge(rights="read,fly"), ("'rights'",)),
    ("json-sensory-text", "se.json", bad_edge(sensory="no"), ("'sensory'",)),
    ("json-edge-key-list", "ek.json", bad_edge(key=[1]), ("'key'",)),
    (
        "json-nan",
        "nan.json",
        node_link(GOOD_NODES).replace('"graph": {}', '"graph": {"x": NaN}'),
        ("NaN is not JSON",),
    ),
    (
        "json-1e400",
        "inf.json",
        bad_edge().replace('"databyte": 0', '"databyte": 1e400'),
        ("too large for a float",),
    ),
    (
        "json-5000-digit-integer",
        "big.json",
        bad_edge().replace('"databyte": 0', '"databyte": ' + "9" * 5000),
        ("not JSON",),
    ),
    (
        "json-lone-surrogate",
        "sur.json",
        node_link([{"id": "\ud800", "kind": "domain"}]),
        ("lone surrogate",),
    ),
    (
        "json-graph-attrs-not-object",
        "ga.json",
        node_link(GOOD_NODES).replace('"graph": {}', '"graph": [1]'),
        ("'graph' is not an object",),
    ),
]


@pytest.mark.parametrize("name, content, words", [f[1:] for f in FILES], ids=[f[0] for f in FILES])
@pytest.mark.parametrize("command", ["analyze", "graph"])
def test_hostile_files(tmp_path, capsys, name, content, words, command):
    path = write(tmp_path, name, content)
    out_file = tmp_path / "out.graphml"
    argv = (
        ["analyze", path, "--subject", "a", "--sink", "p"]
        if command == "analyze"
        else ["graph", path, "-o", out_file]
    )
    code, out, err = run_main(argv, capsys)
    check_refused(code, out, err, EXIT_BAD, words)
    assert not out_file.exists()


# ------------------------------------------------------------------------------ not files
def _dir_without_cml(d: Path) -> Path:
    (d / "x.cdl").mkdir()
    (d / "x.cdl" / "notes.txt").write_text("hi")
    return d / "x.cdl"


def _empty_dir(d: Path) -> Path:
    (d / "empty").mkdir()
    return d / "empty"


def _dir_with_fifo(d: Path) -> Path:
    (d / "realm").mkdir()
    (d / "realm" / "a.cml").write_text("{}")
    os.mkfifo(d / "realm" / "b.cml")
    return d / "realm"


def _dir_with_dangling(d: Path) -> Path:
    (d / "realm").mkdir()
    (d / "realm" / "a.cml").symlink_to(d / "nowhere.cml")
    return d / "realm"


def _symlink_loop(d: Path) -> Path:
    (d / "loop.cdl").symlink_to(d / "loop2.cdl")
    (d / "loop2.cdl").symlink_to(d / "loop.cdl")
    return d / "loop.cdl"


def _dangling(d: Path) -> Path:
    (d / "gone.cdl").symlink_to(d / "absent.cdl")
    return d / "gone.cdl"


def _through_a_file(d: Path) -> Path:
    (d / "file.cdl").write_text("arch arm11\n")
    return d / "file.cdl" / "child.cdl"


def _char_device(d: Path) -> Path:
    (d / "zero.cdl").symlink_to("/dev/zero")
    return d / "zero.cdl"


def _socket(d: Path) -> Path:
    path = d / "s.system"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


#: (id, maker, words in stderr)
NOT_FILES = [
    ("folder-without-cml", _dir_without_cml, ("no .cml manifests",)),
    ("empty-folder", _empty_dir, ("no .cml manifests",)),
    ("folder-with-a-fifo-cml", _dir_with_fifo, ("b.cml: a FIFO",)),
    ("folder-with-a-dangling-cml", _dir_with_dangling, ("no such file",)),
    ("symlink-loop", _symlink_loop, ("Too many levels of symbolic links",)),
    ("dangling-symlink", _dangling, ("no such file",)),
    ("path-through-a-file", _through_a_file, ("Not a directory",)),
    ("character-device", _char_device, ("a character device, not a regular file",)),
    ("unix-socket", _socket, ("a socket, not a regular file",)),
]


@pytest.mark.parametrize("make, words", [n[1:] for n in NOT_FILES], ids=[n[0] for n in NOT_FILES])
def test_things_that_are_not_specification_files(tmp_path, capsys, make, words):
    code, out, err = run_main(["analyze", make(tmp_path), "--subject", "a"], capsys)
    check_refused(code, out, err, EXIT_BAD, words)


def test_unreadable_file_by_permissions(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip(
            "running as root: file permissions do not stop root from reading "
            "(test_unreadable_file_simulated covers the same path)"
        )
    path = spec(tmp_path)
    path.chmod(0)
    code, out, err = run_main(["analyze", path, "--subject", "a"], capsys)
    check_refused(code, out, err, EXIT_BAD, ("Permission denied",))


@pytest.mark.parametrize(
    "failure, words",
    [
        ("open", ("cannot open: Permission denied",)),
        ("read", ("cannot read: Input/output error",)),
    ],
    ids=["open-permission-denied", "read-io-error"],
)
def test_unreadable_file_simulated(tmp_path, capsys, monkeypatch, failure, words):
    """Root reads anything, so an unreadable file is simulated where the CLI opens it."""
    path = spec(tmp_path)
    real_open = os.open

    def deny_open(p, *a, **k):
        if os.fspath(p) == str(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(p))
        return real_open(p, *a, **k)

    def fail_read(fd, n):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    if failure == "open":
        monkeypatch.setattr(cli.os, "open", deny_open)
    else:
        monkeypatch.setattr(cli.os, "read", fail_read)
    code, out, err = run_main(["analyze", path, "--subject", "a"], capsys)
    monkeypatch.undo()
    check_refused(code, out, err, EXIT_BAD, words)


def test_file_over_the_size_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "MAX_INPUT", 100)
    code, out, err = run_main(["analyze", spec(tmp_path), "--subject", "a"], capsys)
    check_refused(code, out, err, EXIT_BAD, ("more than the 100",))


# ------------------------------------------------------------------------------ outputs
def _out_missing_folder(d: Path) -> Path:
    return d / "no" / "such" / "g.graphml"


def _out_directory(d: Path) -> Path:
    (d / "g.graphml").mkdir()
    return d / "g.graphml"


def _out_dev_null(d: Path) -> Path:
    (d / "g.json").symlink_to(os.devnull)
    return d / "g.json"


def _out_through_a_file(d: Path) -> Path:
    (d / "plain").write_text("x")
    return d / "plain" / "g.json"


OUTPUTS = [
    ("missing-folder", _out_missing_folder, ("no such folder",)),
    ("a-directory", _out_directory, ("a directory, not a regular file",)),
    ("symlink-to-dev-null", _out_dev_null, ("a character device",)),
    ("through-a-file", _out_through_a_file, ("Not a directory",)),
]


@pytest.mark.parametrize("make, words", [o[1:] for o in OUTPUTS], ids=[o[0] for o in OUTPUTS])
def test_outputs_that_cannot_be_written(tmp_path, capsys, make, words):
    code, out, err = run_main(["graph", spec(tmp_path), "-o", make(tmp_path)], capsys)
    check_refused(code, out, err, EXIT_BAD, words)


def test_events_to_a_missing_folder_before_the_scenario_runs(tmp_path, capsys):
    code, out, err = run_main(["run", "empty_child", "--events", tmp_path / "no" / "e.csv"], capsys)
    check_refused(code, out, err, EXIT_BAD, ("no such folder",))


def test_a_failed_write_leaves_no_partial_file_and_the_old_one_intact(
    tmp_path, capsys, monkeypatch
):
    path, out_file = spec(tmp_path), tmp_path / "g.graphml"
    out_file.write_text("old")

    def disk_full(G, p):
        Path(p).write_text("half a graph")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("keykos_lab.analysis.write_graphml", disk_full)
    code, out, err = run_main(["graph", path, "-o", out_file], capsys)
    check_refused(code, out, err, EXIT_BAD, ("No space left on device",))
    assert out_file.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.graphml", "two.system"]


def test_bad_input_leaves_an_existing_output_alone(tmp_path, capsys):
    out_file = tmp_path / "g.json"
    out_file.write_text("old")
    code, out, err = run_main(["graph", write(tmp_path, "bad.cdl", "arch"), "-o", out_file], capsys)
    check_refused(code, out, err, EXIT_BAD, ("bad.cdl",))
    assert out_file.read_text() == "old"


def test_output_keeps_the_mode_of_the_file_it_replaces(tmp_path, capsys):
    out_file = tmp_path / "g.json"
    out_file.write_text("old")
    out_file.chmod(0o640)
    code, _, err = run_main(["graph", spec(tmp_path), "-o", out_file], capsys)
    assert code == 0, err
    assert out_file.stat().st_mode & 0o777 == 0o640 and json.loads(out_file.read_text())


# ------------------------------------------------------------------------------ labels
#: Labels (and ids) that break naive XML or JSON writers.
LABELS = {
    "nul": "a\x00b",
    "c0-controls": "".join(map(chr, range(1, 32))),
    "terminal-escape": "\x1b[2J\x1b[31mred",
    "vertical-tab-form-feed": "\x0b\x0c",
    "cdata-end": "]]>",
    "cdata-start": "<![CDATA[x",
    "markup": '<a href="x">&amp;</a>\'',
    "nonchars": "\ufffe\uffff",
    "del-and-c1": "\x7f\x80\x9f",
    "bidi-override": "\u202eevil",
    "astral": "\U0001f600\U0010ffff",
    "line-separators": "\u2028\u2029\r\n",
    "mathtext": "$\\frac{x}{$",
    "backslash-escape-lookalike": "\\x00",
    "very-long": "L" * 1_000_000,
}


def labelled(d: Path, label: str) -> Path:
    """Node-link JSON whose ids, labels, attribute names and values all carry ``label``."""
    nodes = [
        {"id": label, "kind": "domain", "label": label, label[:50] or "k": [label, 1]},
        {"id": "p", "kind": "page", "label": label + "2"},
    ]
    edges = [
        {
            "source": label,
            "target": "p",
            "key_type": "page",
            "databyte": 0,
            "slot": 0,
            "slot_kind": "key_register",
            "note": label,
        }
    ]
    return write(d, "labels.json", node_link(nodes, edges, graph={"title": label}))


@pytest.mark.parametrize("label", LABELS.values(), ids=LABELS.keys())
def test_graphml_is_xml_whatever_the_labels(tmp_path, capsys, label):
    out_file = tmp_path / "g.graphml"
    code, _, err = run_main(["graph", labelled(tmp_path, label), "-o", out_file], capsys)
    assert code == 0, err
    root = ET.parse(out_file).getroot()  # valid XML
    assert root.tag.endswith("graphml")
    G = nx.read_graphml(out_file)
    assert G.number_of_nodes() == 2 and G.number_of_edges() == 1
    assert cli.xml_text(label) in G  # the id, escaped where XML must


@pytest.mark.parametrize("label", LABELS.values(), ids=LABELS.keys())
def test_json_export_and_analyze_json_whatever_the_labels(tmp_path, capsys, label):
    out_file = tmp_path / "g.json"
    code, _, err = run_main(["graph", labelled(tmp_path, label), "-o", out_file], capsys)
    assert code == 0, err
    text = out_file.read_bytes().decode("ascii")  # ASCII: \u escapes
    data = json.loads(text)
    assert label in {n["id"] for n in data["nodes"]}  # JSON keeps the exact text
    code, out, err = run_main(
        ["analyze", out_file, "--subject", label, "--sink", "p", "--json"], capsys
    )
    assert code == 0, err
    assert json.loads(out)["flow"]["witness"] == [label, "p"]
    code, out, err = run_main(["analyze", out_file, "--subject", label], capsys)
    assert code == 0 and all(line.isprintable() for line in out.splitlines())  # no raw controls


def test_svg_and_png_whatever_the_labels(tmp_path, capsys):
    nodes = [
        {"id": f"v{i}", "kind": "domain", "label": lab[:200]}
        for i, lab in enumerate(LABELS.values())
    ]
    path = write(tmp_path, "all.json", node_link(nodes))
    for out_file in (tmp_path / "g.svg", tmp_path / "g.png"):
        code, _, err = run_main(["graph", path, "-o", out_file, "--highlight", "v3"], capsys)
        assert code == 0 and err == "", err
    ET.parse(tmp_path / "g.svg")  # SVG is XML
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graphml_with_lone_surrogates_from_a_graph_in_memory(tmp_path):
    """No reader lets a lone surrogate in, but a graph built in Python can hold one."""
    G = nx.MultiDiGraph()
    G.add_node("\ud800x", kind="domain", label="\udfff\x00]]>", note={"k": "\ud83d"})
    G.add_node(7, kind="page", label=float("nan"))
    G.add_edge("\ud800x", 7, key_type="page", databyte=0, weird=float("inf"))
    cli.write_graph(G, str(tmp_path / "g.graphml"))
    cli.write_graph(G, str(tmp_path / "g.json"))
    H = nx.read_graphml(tmp_path / "g.graphml")
    assert "\\ud800x" in H and H.nodes["\\ud800x"]["label"] == "\\udfff\\x00]]>"
    data = json.loads((tmp_path / "g.json").read_text(encoding="ascii"))
    assert {n["id"] for n in data["nodes"]} == {"\ud800x", 7}
    assert data["links" if "links" in data else "edges"][0]["weird"] == "inf"


def test_ids_that_would_collide_once_escaped(tmp_path, capsys):
    nodes = [{"id": "a\x00", "kind": "domain"}, {"id": "a\\x00", "kind": "domain"}]
    code, out, err = run_main(
        ["graph", write(tmp_path, "c.json", node_link(nodes)), "-o", tmp_path / "g.graphml"], capsys
    )
    check_refused(code, out, err, EXIT_BAD, ("would both be written as",))


# ------------------------------------------------------------------------------ bugs
def _boom(*args, **kwargs):
    raise RuntimeError("boom at 0x1234")


class _Unprintable(Exception):
    def __str__(self):
        raise ValueError("no text for you")


def _unprintable(*args, **kwargs):
    raise _Unprintable()


def _exits_1(*args, **kwargs):
    sys.exit(1)


def _interrupted(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "replacement, expected, words",
    [
        (_boom, EXIT_BUG, ("internal error", "RuntimeError: boom", "KEYKOS_LAB_DEBUG=1")),
        (_unprintable, EXIT_BUG, ("internal error", "_Unprintable", "could not be made into text")),
        (_exits_1, EXIT_BUG, ("internal error", "SystemExit: 1")),
        (_interrupted, 130, ("interrupted",)),
    ],
    ids=["exception", "unprintable-exception", "sys-exit-1-inside", "keyboard-interrupt"],
)
def test_a_bug_is_exit_4_with_a_short_message(
    tmp_path, capsys, monkeypatch, replacement, expected, words
):
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    monkeypatch.setattr(cli, "summarize", replacement)
    code, out, err = run_main(["analyze", spec(tmp_path), "--subject", "a", "--sink", "b"], capsys)
    assert code == expected and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


def test_debug_env_shows_the_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    monkeypatch.setattr(cli, "summarize", _boom)
    code, _, err = run_main(["analyze", spec(tmp_path), "--subject", "a"], capsys)
    assert code == EXIT_BUG
    assert "Traceback (most recent call last)" in err and "RuntimeError: boom" in err
    assert err.rstrip().splitlines()[-1].startswith("keykos-lab: error: internal error")


# ------------------------------------------------------------------------------ processes
def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop(cli.DEBUG_ENV, None)
    return {**env, **extra}


def _start(args: list, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "keykos_lab.cli", *map(str, args)],
        cwd=REPO,
        env=_env(),
        stderr=subprocess.PIPE,
        **{"stdout": subprocess.PIPE, **kwargs},
    )


def test_fifos_are_refused_without_waiting(tmp_path):
    """A FIFO as input or as output: refused at once (exit 3), the command never waits
    for a writer or a reader (each process has 60 s; nobody ever opens the FIFOs)."""
    fifo_in, fifo_out, fifo_csv = tmp_path / "in.cdl", tmp_path / "out.graphml", tmp_path / "ev.csv"
    for f in (fifo_in, fifo_out, fifo_csv):
        os.mkfifo(f)
    json_fifo = tmp_path / "in.json"
    os.mkfifo(json_fifo)
    procs = [
        _start(["analyze", fifo_in, "--subject", "a"]),
        _start(["graph", json_fifo, "-o", tmp_path / "g.json"]),
        _start(["graph", spec(tmp_path), "-o", fifo_out]),
        _start(["run", "empty_child", "--events", fifo_csv]),
    ]
    for p, what in zip(
        procs, ("in.cdl: a FIFO", "in.json: a FIFO", "out.graphml: a FIFO", "ev.csv: a FIFO")
    ):
        _, err = p.communicate(timeout=60)
        assert p.returncode == EXIT_BAD and what in err.decode(), err


def test_standard_output_full_closed_or_a_broken_pipe(tmp_path):
    path = spec(tmp_path)
    with open("/dev/full", "wb") as full:
        p_full = _start(["analyze", path, "--subject", "a"], stdout=full)
    p_closed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys; os.close(1); from keykos_lab.cli import main; "
            f"sys.exit(main(['analyze', {str(path)!r}, '--subject', 'a']))",
        ],
        cwd=REPO,
        env=_env(),
        stderr=subprocess.PIPE,
    )
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: EPIPE
    p_pipe = _start(["run", "empty_child"], stdout=write_end)
    os.close(write_end)
    for p, what in (
        (p_full, "No space left on device"),
        (p_closed, "standard output"),
        (p_pipe, "Broken pipe"),
    ):
        _, err = p.communicate(timeout=60)
        text = err.decode()
        assert p.returncode == EXIT_BAD, text
        assert what in text and "Traceback" not in text and "Exception ignored" not in text


def test_internal_error_in_a_real_process_is_exit_4_without_traceback(tmp_path):
    script = (
        "import sys; from keykos_lab import cli\n"
        "def boom(*a, **k): raise ZeroDivisionError('deep inside')\n"
        "cli.summarize = boom\n"
        f"sys.exit(cli.main(['analyze', {str(spec(tmp_path))!r}, '--subject', 'a']))\n"
    )
    quiet = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    loud = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=_env(KEYKOS_LAB_DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert quiet.returncode == loud.returncode == EXIT_BUG
    assert quiet.stderr.count("\n") == 1 and "Traceback" not in quiet.stderr
    assert "ZeroDivisionError: deep inside" in quiet.stderr
    assert "Traceback" in loud.stderr and "ZeroDivisionError" in loud.stderr


def test_undecodable_bytes_in_arguments(tmp_path):
    """argv bytes that are not UTF-8 arrive as lone surrogates: named, escaped, exit 3."""
    bad = os.fsencode(str(tmp_path)) + b"/\xff\xfe.cdl"
    p = subprocess.run(
        [
            os.fsencode(sys.executable),
            b"-m",
            b"keykos_lab.cli",
            b"analyze",
            bad,
            b"--subject",
            b"\xff",
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        timeout=60,
    )
    err = p.stderr.decode("utf-8", "strict")  # what reached stderr is UTF-8
    assert p.returncode == EXIT_BAD and "no such file" in err and "\\udcff" in err
