"""The ``keykos-lab`` command: analyse real capability systems, export graphs, run scenarios.

Usage (``python -m keykos_lab.cli`` works the same as ``keykos-lab``)::

    keykos-lab analyze FILE --subject X [--sink Y] [--json]
    keykos-lab graph FILE -o OUT.graphml|OUT.json|OUT.png|OUT.svg [--highlight X]
    keykos-lab run SCENARIO [--events OUT.csv|OUT.parquet] [--graph OUT.graphml|.json|.png|.svg]
    keykos-lab lab [--print]

``FILE`` is read by its suffix: ``.cdl`` / ``.right`` (seL4 capDL), ``.system``
(seL4 Microkit), a folder of ``.cml`` manifests or one ``.cml`` file (Fuchsia
CML), or ``.json`` (node-link JSON as ``graph`` writes it). ``SCENARIO`` is one
of ``empty_child``, ``tso_domain_key``, ``tso_setuid`` (:mod:`keykos_lab.scenarios.tso`).

Exit codes:

* 0 — done (for ``analyze --sink``: information *can* flow from subject to sink);
* 1 — ``analyze --sink`` only: the answer is "no", information cannot flow
  (like ``grep`` finding nothing; the verdict is printed either way);
* 2 — usage: a bad option, a missing file, an unknown subject, sink or
  scenario, an output format that cannot be written here (``.png`` / ``.svg``
  need matplotlib, ``.parquet`` needs pyarrow);
* 3 — bad input: the file could not be read (the reader's message, with
  ``file:line``, goes to stderr).

Errors go to stderr as ``keykos-lab: error: ...``; nothing else is printed but
the results; `analyze` shows a progress bar on standard error when that is a
terminal (tqdm leaves it out in pipes and scripts).

>>> main(["run", "empty_child"])
step ...
domain creator ...
answers:
  count after first call: 2
  child key registers: 0
  ...
0
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

PROG = "keykos-lab"
EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_BAD_INPUT = 0, 1, 2, 3
SCENARIOS = ("empty_child", "tso_domain_key", "tso_setuid")
GRAPH_SUFFIXES = (".graphml", ".json")
PICTURE_SUFFIXES = (".png", ".svg")
EVENT_SUFFIXES = (".csv", ".parquet")
#: A two-PD Microkit system (a may call b over channel 0), for examples and tests.
SYSTEM = """<system>
  <protection_domain name="a"><program_image path="a.elf"/></protection_domain>
  <protection_domain name="b"><program_image path="b.elf"/></protection_domain>
  <channel><end pd="a" id="0" pp="true"/><end pd="b" id="0"/></channel>
</system>
"""
SHOWN = 8          # how many valid names an "unknown subject" message lists


class CLIError(Exception):
    """A failure reported as ``keykos-lab: error: <message>`` with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------ reading
def input_format(path: Path) -> str:
    """The reader for ``path``: ``capdl``, ``microkit``, ``cml`` or ``node-link``.

    >>> input_format(Path("a.cdl")), input_format(Path("b.system")), input_format(Path("c.json"))
    ('capdl', 'microkit', 'node-link')
    """
    if path.is_dir():
        return "cml"
    suffix = path.suffix.lower()
    formats = {".cdl": "capdl", ".right": "capdl", ".system": "microkit", ".cml": "cml",
               ".json": "node-link"}
    if suffix not in formats:
        raise CLIError(f"{path}: cannot tell the format from the suffix {suffix or '(none)'!r}; "
                       "use .cdl/.right (capDL), .system (Microkit), a folder of .cml "
                       "(Fuchsia CML) or .json (node-link)")
    return formats[suffix]


def load_graph(path: str | os.PathLike[str]) -> tuple[nx.MultiDiGraph, str]:
    """Read ``path`` into a capability graph; return it with the format's name.

    Raises :class:`CLIError` with code 2 for a missing file or unknown suffix, 3
    for a file the reader rejects (its ``FormatError`` message, ``file:line``).
    """
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{p}: no such file or folder")
    fmt = input_format(p)
    from keykos_lab import readers as spec
    from keykos_lab.analysis import read_node_link
    by_format: dict[str, Callable[[Path], nx.MultiDiGraph]] = {
        "capdl": spec.read_capdl,
        "microkit": spec.read_microkit,
        "cml": lambda q: spec.read_cml(q) if q.is_dir() else spec.read_cml_text(
            q.read_text(encoding="utf-8"), str(q)),
        "node-link": read_node_link,
    }
    try:
        return by_format[fmt](p), fmt
    except spec.FormatError as exc:
        raise CLIError(str(exc), EXIT_BAD_INPUT) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:   # node-link JSON, unreadable
        raise CLIError(f"{p}: {exc}", EXIT_BAD_INPUT) from None


def _few(names: Sequence[Any]) -> str:
    shown = ", ".join(map(str, names[:SHOWN]))
    more = len(names) - SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "") if names else "(none)"


def _check_subject(G: nx.MultiDiGraph, subject: Any) -> None:
    domains = sorted((v for v in G if G.nodes[v].get("kind") == "domain"), key=str)
    if subject in G and G.nodes[subject].get("kind") == "domain":
        return
    what = (f"{subject!r} is a {G.nodes[subject].get('kind') or 'vertex'}, not a domain"
            if subject in G else f"unknown subject {subject!r}")
    raise CLIError(f"{what}; subjects (domains) in this file: {_few(domains)}")


def _check_sink(G: nx.MultiDiGraph, sink: str) -> None:
    if sink not in G:
        names = sorted(G, key=lambda v: (G.nodes[v].get("kind") != "domain", str(v)))
        raise CLIError(f"unknown sink {sink!r}; vertices in this file: {_few(names)}")


# ------------------------------------------------------------------------------ analyze
def summarize(G: nx.MultiDiGraph, subject: str, sink: str | None = None) -> dict[str, Any]:
    """The authority summary of ``subject`` (and the flow verdict to ``sink``) as plain data.

    >>> from keykos_lab import readers
    >>> G = readers.read_microkit_text(SYSTEM)
    >>> s = summarize(G, "a", "b")
    >>> s["keys"], s["by_key_type"], s["writes"], s["calls"], s["flow"]["witness"]
    (3, {'page': 2, 'start': 1}, ['channel:a:0-b:0'], ['b'], ['a', 'b'])
    """
    from keykos_lab import analysis
    a = analysis.authority(G, subject)
    counts = a.key_type.astype(str).value_counts()
    summary: dict[str, Any] = {
        "subject": subject,
        "keys": len(a),
        "by_key_type": {k: int(n) for k, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))},
        "writes": sorted({t for t, r in zip(a.target, a.rights) if "write" in r}, key=str),
        "calls": sorted({t for t, r in zip(a.target, a.rights) if "call" in r}, key=str),
    }
    if sink is not None:
        path = analysis.can_flow(G, subject, sink, witness=True)
        summary["flow"] = {"source": subject, "sink": sink, "can_flow": path is not None,
                           "witness": path}
    return summary


def _vertex(v: Any) -> str:
    return v if isinstance(v, str) else repr(v)


def format_summary(s: dict[str, Any]) -> str:
    """The text form of :func:`summarize`'s result."""
    lines = [f"subject {s['subject']}: can come to hold {s['keys']} keys"]
    lines.append("  by key type:")
    lines += [f"    {k:<12} {n:>5}" for k, n in s["by_key_type"].items()]
    for word, key in (("write to", "writes"), ("call", "calls")):
        targets = s[key]
        lines.append(f"  can {word} ({len(targets)}):" + ("" if targets else " nothing"))
        lines += [f"    {_vertex(t)}" for t in targets]
    if "flow" in s:
        f = s["flow"]
        verdict = "yes" if f["can_flow"] else "no"
        lines.append(f"flow {f['source']} -> {f['sink']}: {verdict}")
        if f["witness"]:
            lines.append("  witness: " + " -> ".join(map(_vertex, f["witness"])))
    return "\n".join(lines)


def _stages(total: int, what: str):
    """A progress bar on standard error for work that can take a while; tqdm leaves it
    out when standard error is not a terminal (pipes, scripts, tests)."""
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=what, unit="step", disable=None, file=sys.stderr, leave=False)


def cmd_analyze(args: argparse.Namespace) -> int:
    with _stages(2, "reading") as bar:
        G, fmt = load_graph(args.file)
        _check_subject(G, args.subject)
        if args.sink is not None:
            _check_sink(G, args.sink)
        bar.update()
        bar.set_description("analysing")
        s = summarize(G, args.subject, args.sink)
        bar.update()
    if args.json:
        out = {"file": str(args.file), "format": fmt, "vertices": G.number_of_nodes(),
               "edges": G.number_of_edges(), **s}
        print(json.dumps(out, default=str))
    else:
        print(f"{args.file} ({fmt}): {G.number_of_nodes()} vertices, "
              f"{G.number_of_edges()} keys")
        print(format_summary(s))
    if "flow" in s and not s["flow"]["can_flow"]:
        return EXIT_NO
    return EXIT_OK


# ------------------------------------------------------------------------------ graph
def _check_graph_output(out: str) -> str:
    suffix = Path(out).suffix.lower()
    if suffix in PICTURE_SUFFIXES:
        if importlib.util.find_spec("matplotlib") is None:
            raise CLIError(f"{out}: drawing a {suffix} needs matplotlib, which is not "
                           "installed; write .graphml (Gephi, Cytoscape, yEd) or .json instead")
        return suffix
    if suffix not in GRAPH_SUFFIXES:
        raise CLIError(f"{out}: write .graphml or .json (node-link), or draw .png or .svg, "
                       f"not {suffix or '(none)'!r}")
    return suffix


def resolve_vertex(G: nx.MultiDiGraph, name: str) -> Any:
    """The vertex of ``G`` a command-line name means: the name itself, its integer
    (kernel graphs number their objects), or the one vertex with that label.

    >>> import keykos_lab as kl
    >>> G = kl.Kernel().capability_graph()
    >>> resolve_vertex(G, "console") == resolve_vertex(G, "2") == 2
    True
    """
    if name in G:
        return name
    if name.lstrip("-").isdigit() and int(name) in G:
        return int(name)
    labelled = [v for v, d in G.nodes(data=True) if d.get("label") == name]
    return labelled[0] if len(labelled) == 1 else name


def draw_graph(G: nx.MultiDiGraph, out: str, highlight: Any = None) -> None:
    """Draw ``G`` (:func:`keykos_lab.plot.draw_capability_graph`) into ``out``, a .png
    or .svg, on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keykos_lab.plot import draw_capability_graph
    ax = draw_capability_graph(G, highlight=highlight)
    try:
        ax.figure.savefig(out, dpi=110, bbox_inches="tight")
    except OSError as exc:
        raise CLIError(f"{out}: cannot write: {exc}") from None
    finally:
        plt.close(ax.figure)


def write_graph(G: nx.MultiDiGraph, out: str, highlight: Any = None) -> None:
    """Write ``G`` as GraphML or node-link JSON, or draw it as PNG or SVG, by
    ``out``'s suffix (``highlight``: a subject whose authority the drawing shades)."""
    from keykos_lab.analysis import write_graphml, write_node_link
    suffix = _check_graph_output(out)
    if suffix in PICTURE_SUFFIXES:
        draw_graph(G, out, highlight)
        return
    try:
        (write_graphml if suffix == ".graphml" else write_node_link)(G, out)
    except OSError as exc:
        raise CLIError(f"{out}: cannot write: {exc}") from None


def cmd_graph(args: argparse.Namespace) -> int:
    suffix = _check_graph_output(args.output)
    if args.highlight is not None and suffix not in PICTURE_SUFFIXES:
        raise CLIError("--highlight shades a drawing: write .png or .svg with it")
    G, _ = load_graph(args.file)
    highlight = None
    if args.highlight is not None:
        highlight = resolve_vertex(G, args.highlight)
        _check_subject(G, highlight)
    write_graph(G, args.output, highlight)
    print(f"wrote {args.output}: {G.number_of_nodes()} vertices, {G.number_of_edges()} keys")
    return EXIT_OK


# ------------------------------------------------------------------------------ run
def _check_events_output(out: str) -> str:
    suffix = Path(out).suffix.lower()
    if suffix not in EVENT_SUFFIXES:
        raise CLIError(f"{out}: write the event log as .csv or .parquet, "
                       f"not {suffix or '(none)'!r}")
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise CLIError(f"{out}: writing .parquet needs pyarrow, which is not installed; "
                       "use .csv")
    return suffix


def _answer(v: object) -> str:
    return repr(v) if isinstance(v, bytes | str) else str(v)


def cmd_run(args: argparse.Namespace) -> int:
    if args.events:
        _check_events_output(args.events)
    if args.graph:
        _check_graph_output(args.graph)
    from keykos_lab import scenarios
    rec = getattr(scenarios, args.scenario)()
    width = max([len("step")] + [len(st.name) for st in rec.steps])
    print(f"{'step':<{width}}  events  description")
    for st in rec.steps:
        print(f"{st.name:<{width}}  {st.end_seq - st.first_seq:>6}  {st.description}")
    print("answers:")
    for name, value in rec.answers.items():
        print(f"  {name}: {_answer(value)}")
    if args.events:
        ev = rec.kernel.events()
        try:
            if args.events.lower().endswith(".parquet"):
                ev.to_parquet(args.events, index=False)
            else:
                ev.to_csv(args.events, index=False)
        except OSError as exc:
            raise CLIError(f"{args.events}: cannot write: {exc}") from None
        print(f"wrote {args.events}: {len(ev)} events")
    if args.graph:
        G = rec.kernel.capability_graph()
        write_graph(G, args.graph)
        print(f"wrote {args.graph}: {G.number_of_nodes()} vertices, {G.number_of_edges()} keys")
    return EXIT_OK


# ------------------------------------------------------------------------------ lab
def lab_command() -> list[str] | None:
    """``jupyter lab <notebooks>`` if ``jupyter`` is found (next to this Python, then on
    PATH), else None."""
    here = Path(sys.executable).parent / "jupyter"
    jupyter = str(here) if here.is_file() and os.access(here, os.X_OK) else shutil.which("jupyter")
    if jupyter is None:
        return None
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    return [jupyter, "lab", str(notebooks) if notebooks.is_dir() else "notebooks/"]


MAKE_LAB = ("JupyterLab is not installed here. From a clone of the project run\n"
            "    make lab\n"
            "(it creates .venv, installs everything and opens notebooks/00_start_here.ipynb).")


def cmd_lab(args: argparse.Namespace) -> int:
    cmd = lab_command()
    if cmd is None:
        print(MAKE_LAB)
        return EXIT_OK
    if args.print:
        print(shlex.join(cmd))
        return EXIT_OK
    os.execv(cmd[0], cmd)   # pragma: no cover - replaces this process
    return EXIT_OK          # pragma: no cover


# ------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subcommand per task."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog=PROG, formatter_class=fmt,
        description="KeyKOS lab: authority and information flow in real capability systems "
                    "(seL4 capDL, seL4 Microkit, Fuchsia CML), graph exports, and the "
                    "simulator's scenarios.",
        epilog="exit codes: 0 ok; 1 analyze --sink: no flow; 2 usage, missing file or "
               "unknown name; 3 bad input file")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser(
        "analyze", formatter_class=fmt, help="authority of a subject, and flow to a sink",
        description="Read FILE and print what SUBJECT (a domain: a TCB, a protection domain, "
                    "a component) can come to hold: key counts by type and the targets it "
                    "can write to or call. With --sink, whether information can flow from "
                    "SUBJECT to SINK over overt channels, with a witness path.",
        epilog="FILE: .cdl/.right (capDL), .system (Microkit), a folder of .cml or one .cml "
               "(CML), .json (node-link).\nexit codes: 0 ok (and flow: yes); 1 flow: no; "
               "2 missing file or unknown subject/sink; 3 file cannot be read")
    a.add_argument("file", metavar="FILE", help="specification file, or a folder of .cml")
    a.add_argument("--subject", required=True, metavar="X", help="the domain to analyse")
    a.add_argument("--sink", metavar="Y", help="a vertex: can information flow from X to Y?")
    a.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a.set_defaults(func=cmd_analyze)

    g = sub.add_parser(
        "graph", formatter_class=fmt,
        help="export a capability graph (GraphML, JSON) or draw it (PNG, SVG)",
        description="Read FILE (as for analyze) and write its capability graph: .graphml "
                    "for Gephi, Cytoscape or yEd, .json for node-link JSON "
                    "(keykos_lab.analysis.read_node_link reads it back), or draw it as "
                    ".png or .svg with matplotlib (keykos_lab.plot.draw_capability_graph: "
                    "vertices by kind, keys coloured by type, sensory keys dashed; graphs "
                    "of more than 200 vertices drawn as a kind-to-kind summary). With "
                    "--highlight X the drawing shades what X can come to hold.",
        epilog="exit codes: 0 ok; 2 missing file, unknown subject or unsupported output "
               "(.png/.svg need matplotlib); 3 file cannot be read")
    g.add_argument("file", metavar="FILE", help="specification file, or a folder of .cml")
    g.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="OUT.graphml, OUT.json, OUT.png or OUT.svg")
    g.add_argument("--highlight", metavar="X",
                   help="with .png/.svg: a domain (id or label) whose authority is shaded")
    g.set_defaults(func=cmd_graph)

    r = sub.add_parser(
        "run", formatter_class=fmt, help="run a scenario: steps, answers, event log, graph",
        description="Run a scenario in a fresh simulated KeyKOS system and print its steps "
                    "(with the number of kernel events each produced) and the answers it "
                    "found.\n\n"
                    "  empty_child     the empty child, built by hand (the KeyKOS fork recipe)\n"
                    "  tso_domain_key  Ts'o: what right lets one process touch another?\n"
                    "  tso_setuid      Ts'o: what about setuid? (a factory yield)",
        epilog="exit codes: 0 ok; 2 unknown scenario or unsupported output "
               "(.parquet needs pyarrow)")
    r.add_argument("scenario", choices=SCENARIOS, metavar="SCENARIO",
                   help="one of: " + ", ".join(SCENARIOS))
    r.add_argument("--events", metavar="OUT", help="write the event log, OUT.csv or OUT.parquet")
    r.add_argument("--graph", metavar="OUT",
                   help="write the final capability graph, OUT.graphml or OUT.json, or "
                        "draw it, OUT.png or OUT.svg")
    r.set_defaults(func=cmd_run)

    lab = sub.add_parser(
        "lab", help="start JupyterLab on the notebooks",
        description="Start JupyterLab on the project's notebooks (runs `jupyter lab "
                    "notebooks/` when jupyter is installed; otherwise says to run `make lab`).")
    lab.add_argument("--print", action="store_true",
                     help="print the command instead of running it")
    lab.set_defaults(func=cmd_lab)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code.

    >>> main(["analyze", "no-such-file.cdl", "--subject", "t"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:           # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
