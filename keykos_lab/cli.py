"""The ``keykos-lab`` command: analyse real capability systems, export graphs, run scenarios.

Usage (``python -m keykos_lab.cli`` works the same as ``keykos-lab``)::

    keykos-lab analyze FILE --subject X [--sink Y] [--json]
    keykos-lab graph FILE -o OUT.graphml|OUT.json|OUT.png|OUT.svg [--highlight X]
    keykos-lab run SCENARIO [--events OUT.csv|OUT.parquet] [--graph OUT.graphml|.json|.png|.svg]
    keykos-lab lab [FOLDER] [--copy-only] [--print]
    keykos-lab binder-url [--remote NAME | --url URL] [--ref REF]

``FILE`` is read by its suffix: ``.cdl`` / ``.right`` (seL4 capDL), ``.system``
(seL4 Microkit), a folder of ``.cml`` manifests or one ``.cml`` file (Fuchsia
CML), or ``.json`` (node-link JSON as ``graph`` writes it). ``SCENARIO`` is one
of ``empty_child``, ``tso_domain_key``, ``tso_setuid`` (:mod:`keykos_lab.scenarios.tso`).

Exit codes (a crash or bad input never exits 0 or 1):

* 0 — done (for ``analyze --sink``: information *can* flow from subject to sink);
* 1 — ``analyze --sink`` only: the answer is "no", information cannot flow
  (like ``grep`` finding nothing; the verdict is printed either way);
* 2 — usage: the command line does not parse (an unknown command or option, a
  missing argument, a ``SCENARIO`` not among the choices); argparse prints the usage;
* 3 — bad input: the command line parses but names something that cannot be
  used — a missing, unreadable or too large file (over :data:`MAX_INPUT` bytes), one
  that is not a regular file (a FIFO, a device, a socket: refused, never opened for
  reading, so nothing hangs), a symlink loop, a folder with no ``.cml`` in it, a
  suffix no reader knows, a specification its reader rejects (the reader's message,
  with ``file:line``), a node-link JSON file that is not a graph in the project's
  schema, a subject, sink or highlight that is not in the graph (or not a domain),
  an output whose suffix is not supported or needs a package that is missing, an
  output that cannot be written (no such folder, a directory, not a regular file,
  disk full), standard output closed or full;
* 4 — internal error: anything else, which is a bug; a one-line message, and the
  traceback only when the environment variable ``KEYKOS_LAB_DEBUG`` is set (to
  anything but ``""`` or ``0``);
* 130 — interrupted (Ctrl-C).

Errors go to stderr as ``keykos-lab: error: ...``, one short line (names are quoted
with ``repr`` and cut at :data:`NAME_LIMIT` characters, the message at
:data:`MESSAGE_LIMIT`); nothing else is printed but the results; `analyze` shows a
progress bar on standard error when that is a terminal (tqdm leaves it out in pipes
and scripts). Text output shows a name with control characters or lone surrogates
in its ``repr`` form; characters standard output cannot encode are escaped.

Outputs are complete or absent: each is written to a temporary file beside it and
renamed over it, so a failed write leaves no partial file (and an existing one
untouched). GraphML, PNG and SVG are written from a copy of the graph in which
every string XML 1.0 cannot hold (control characters, NUL, lone surrogates,
U+FFFE/U+FFFF) has those characters as ``\\xNN`` / ``\\uNNNN`` escapes, so the file
parses as XML whatever the labels (two vertices whose ids would become the same
are refused, exit 3); JSON is ASCII (``\\u`` escapes) and never holds ``NaN`` or
``Infinity``. docs/reliability.md#reliability-cli-sweeps lists what the hostile
tests try.

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
import math
import numbers
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

PROG = "keykos-lab"
EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
#: Set (to anything but "" or "0") to print the traceback of an internal error.
DEBUG_ENV = "KEYKOS_LAB_DEBUG"
SCENARIOS = ("empty_child", "tso_domain_key", "tso_setuid")
GRAPH_SUFFIXES = (".graphml", ".json")
PICTURE_SUFFIXES = (".png", ".svg")
EVENT_SUFFIXES = (".csv", ".parquet")
#: A two-PD Microkit system (a may call b over channel 0), for examples and tests.
SYSTEM = """<system>
  <protection_domain name="a"><program_image path="a.elf"/></protection_domain>
  <protection_domain name="b" priority="1"><program_image path="b.elf"/></protection_domain>
  <channel><end pd="a" id="0" pp="true"/><end pd="b" id="0"/></channel>
</system>
"""
SHOWN = 8  # how many valid names an "unknown subject" message lists
#: Input files larger than this are refused (exit 3).
MAX_INPUT = 256 * 2**20
#: An error message is cut after this many characters, a name in it after NAME_LIMIT.
MESSAGE_LIMIT, NAME_LIMIT = 1000, 80
#: Node-link JSON: attribute values may nest lists and objects this deep.
MAX_DEPTH = 32
EXIT_TABLE = (
    "exit codes: 0 ok (analyze --sink: flow yes); 1 analyze --sink: no flow; "
    "2 usage (the command line does not parse); 3 bad input (a missing, unreadable "
    "or non-regular file, a spec the reader rejects, an unknown subject/sink/"
    "highlight, an output that cannot be written); 4 internal error, a bug "
    f"(set {DEBUG_ENV}=1 for the traceback); 130 interrupted"
)


class CLIError(Exception):
    """A failure reported as ``keykos-lab: error: <message>`` with an exit code
    (3, bad input, unless said otherwise)."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


class _StdoutFailed(CLIError):
    """Standard output cannot be written (closed pipe, full disk)."""


# ------------------------------------------------------------------------------ text
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold escaped as ``\\xNN`` or
    ``\\uNNNN`` (everything else, ``]]>`` and backslashes included, unchanged).

    >>> xml_text("a\\x00b]]>\\ud800c\\uffff") == "a\\\\x00b]]>\\\\ud800c\\\\uffff"
    True
    """
    if _XML_BAD.search(text) is None:
        return text
    return _XML_BAD.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text
    )


def _show(v: Any) -> str:
    """A name for text output: a printable string as it is, anything else its repr."""
    return v if isinstance(v, str) and v.isprintable() else _repr(v)


def _repr(v: Any) -> str:
    try:
        return repr(v)
    except Exception:
        return f"<{type(v).__name__}>"


def _name(v: Any) -> str:
    """A name for an error message: its repr, cut at NAME_LIMIT characters."""
    text = _repr(v)
    return text if len(text) <= NAME_LIMIT else text[: NAME_LIMIT - 1] + "…"


def _file(path: Any) -> str:
    """A path for an error message: as it is when printable and not too long (as the
    readers' ``file:line`` messages show it), else its repr, cut."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else path
    if isinstance(text, str) and text.isprintable() and len(text) <= 4 * NAME_LIMIT:
        return text
    return _name(text)


def _encodable(text: str, stream: Any) -> str:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")


def _out(text: str) -> None:
    """Print a line of results; a failure to write is bad input (exit 3), not a crash."""
    stream = sys.stdout
    if stream is None:  # started with file descriptor 1 closed
        raise _StdoutFailed("cannot write to standard output: it is closed")
    try:
        stream.write(_encodable(text, stream) + "\n")
    except (OSError, ValueError) as exc:
        raise _StdoutFailed(f"cannot write to standard output: {_os_reason(exc)}") from None


def _flush_stdout() -> None:
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        raise _StdoutFailed(f"cannot write to standard output: {_os_reason(exc)}") from None


def _silence_stdout() -> None:
    """After a failed write: point file descriptor 1 at /dev/null, so that the
    interpreter's last flush does not fail (exit status 120) or print a traceback."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except Exception:  # no real file descriptor (tests, notebooks)
        pass


def _err(text: str) -> None:
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(_encodable(f"{PROG}: error: {text}", stream) + "\n")
        stream.flush()
    except Exception:  # standard error closed too: the exit code says it
        pass


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    try:
        return str(exc) or type(exc).__name__
    except Exception:
        return type(exc).__name__


def _exception_text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "(its message could not be made into text)"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ------------------------------------------------------------------------------ reading
def input_format(path: Path) -> str:
    """The reader for ``path``: ``capdl``, ``microkit``, ``cml`` or ``node-link``.

    >>> input_format(Path("a.cdl")), input_format(Path("b.system")), input_format(Path("c.json"))
    ('capdl', 'microkit', 'node-link')
    """
    if path.is_dir():
        return "cml"
    suffix = path.suffix.lower()
    formats = {
        ".cdl": "capdl",
        ".right": "capdl",
        ".system": "microkit",
        ".cml": "cml",
        ".json": "node-link",
    }
    if suffix not in formats:
        raise CLIError(
            f"{_file(path)}: cannot tell the format from the suffix "
            f"{_name(suffix or '(none)')}; use .cdl/.right (capDL), .system "
            "(Microkit), a folder of .cml (Fuchsia CML) or .json (node-link)"
        )
    return formats[suffix]


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def _stat(path: Path) -> os.stat_result:
    """``os.stat(path)`` (symlinks followed), every failure a CLIError."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise CLIError(f"{_file(path)}: no such file or folder") from None
    except OSError as exc:  # a symlink loop, a name too long, no permission
        raise CLIError(f"{_file(path)}: {_os_reason(exc)}") from None
    except ValueError as exc:  # an embedded NUL
        raise CLIError(f"{_file(path)}: not a usable path ({exc})") from None


def read_input(path: Path) -> bytes:
    """The bytes of the regular file ``path``. A missing, unreadable, too large or
    non-regular file (FIFO, device, socket, directory) is a CLIError, exit 3: a
    non-regular file is never opened for reading (it is opened non-blocking, checked
    with ``fstat`` and refused), so a FIFO cannot make the command wait.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> read_input(d / "absent.cdl")
    Traceback (most recent call last):
    ...
    keykos_lab.cli.CLIError: .../absent.cdl: no such file or folder
    >>> os.mkfifo(d / "pipe.cdl")
    >>> read_input(d / "pipe.cdl")
    Traceback (most recent call last):
    ...
    keykos_lab.cli.CLIError: .../pipe.cdl: a FIFO, not a regular file: give a file ...
    """
    st = _stat(path)
    refuse = (
        f"{_file(path)}: {{}}, not a regular file: give a file (or, for CML, a "
        "folder of .cml files)"
    )
    if not stat.S_ISREG(st.st_mode):
        raise CLIError(refuse.format(_kind(st.st_mode)))
    if st.st_size > MAX_INPUT:
        raise CLIError(
            f"{_file(path)}: {st.st_size} bytes, more than the {MAX_INPUT} a specification may have"
        )
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_NOCTTY", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise CLIError(f"{_file(path)}: cannot open: {_os_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for something else meanwhile
            raise CLIError(refuse.format(_kind(st.st_mode)))
        chunks, size = [], 0
        while size <= MAX_INPUT:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise CLIError(f"{_file(path)}: cannot read: {_os_reason(exc)}") from None
    finally:
        os.close(fd)
    if size > MAX_INPUT:
        raise CLIError(f"{_file(path)}: more than the {MAX_INPUT} bytes a specification may have")
    return b"".join(chunks)


def _text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CLIError(
            f"{_file(path)}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _check_cml_folder(path: Path) -> None:
    """Every ``.cml`` under the folder (what the CML reader reads) must be a regular file."""
    try:
        files = sorted(path.rglob("*.cml"))
    except OSError as exc:
        raise CLIError(f"{_file(path)}: cannot list the folder: {_os_reason(exc)}") from None
    for f in files:
        st = _stat(f)
        if not stat.S_ISREG(st.st_mode):
            raise CLIError(
                f"{_file(f)}: {_kind(st.st_mode)}, not a regular file: a CML "
                "folder may hold only regular .cml files"
            )


def load_graph(path: str | os.PathLike[str]) -> tuple[nx.MultiDiGraph, str]:
    """Read ``path`` into a capability graph; return it with the format's name.

    Raises :class:`CLIError` (exit 3) for a missing, unreadable or non-regular
    file, an unknown suffix, or a file the reader rejects (its ``FormatError``
    message, ``file:line``).
    """
    if os.fspath(path) == "":  # Path("") would be the current folder
        raise CLIError("'': no such file or folder (an empty file name)")
    p = Path(path)
    st = _stat(p)
    fmt = input_format(p) if not stat.S_ISDIR(st.st_mode) else "cml"
    from keykos_lab import readers as spec

    try:
        if stat.S_ISDIR(st.st_mode):
            _check_cml_folder(p)
            return spec.read_cml(p), fmt
        data = read_input(p)
        if fmt == "node-link":
            return _read_node_link(p, data), fmt
        if fmt == "capdl":
            return spec.read_capdl_text(_text(p, data), str(p)), fmt
        if fmt == "cml":
            return spec.read_cml_text(_text(p, data), str(p)), fmt
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # another encoding, declared in the XML: expat's job
            return spec.read_microkit(p), fmt
        # The whole text in one call: expat fed in chunks is quadratic in a huge token.
        return spec.read_microkit_text(text, str(p)), fmt
    except spec.FormatError as exc:
        raise CLIError(str(exc)) from None
    except RecursionError:
        raise CLIError(f"{_file(p)}: nested too deeply to read") from None


# ------------------------------------------------------------------------------ node-link
def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large for a float")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_type(v: Any) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(v), type(v).__name__)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _walk_problem(v: Any, limit: int) -> str | None:
    """What is wrong with parsed JSON ``v`` as a whole: lists and objects nested deeper
    than ``limit``, or a string (a name or a value) holding a lone surrogate
    (``"\\ud800"`` escapes: not Unicode text, which no other reader lets through
    and the analyses' string columns cannot hold)."""
    todo = [(v, 0)]
    while todo:
        x, d = todo.pop()
        if isinstance(x, str):
            if _SURROGATE.search(x):
                return f"the string {_name(x)} holds a lone surrogate: not Unicode text"
        elif isinstance(x, dict | list):
            if d >= limit:
                return f"attribute values nested deeper than {MAX_DEPTH}"
            items = [*x, *x.values()] if isinstance(x, dict) else x
            todo.extend((y, d + 1) for y in items)
    return None


def _integral(v: Any) -> int | None:
    """``v`` as an int if it is a JSON integer (or a float with an integral value)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def node_link_problem(data: Any) -> str | None:
    """What makes ``data`` (parsed JSON) not a capability graph in the schema
    (docs/analyses.md#analyses-graph-schema) as :func:`keykos_lab.analysis.write_node_link`
    writes it, or None. Checked: ``nodes`` and ``edges`` arrays of objects; each vertex
    an ``id`` (a string or an integer, unique, no two the same as text), a ``kind``
    of the schema, a string ``label`` and ``program`` if any; each edge a ``source``
    and ``target`` among the ids, a ``key_type`` of the schema and a ``databyte`` in
    0..255, and, if present, an integer ``slot``, a ``slot_kind`` of the schema,
    ``rights`` (words of the schema, comma-joined or a list), a boolean ``sensory``,
    an integer or string ``key``; attribute values nested at most MAX_DEPTH deep; no
    lone surrogates in any string.

    >>> node_link_problem({"nodes": [{"id": "a", "kind": "domain"}], "edges": []}) is None
    True
    >>> node_link_problem({"nodes": [{"id": "a", "kind": "domain"}],
    ...                    "edges": [{"source": "a", "target": "b", "key_type": "page",
    ...                               "databyte": 0}]})
    "edges[0]: the target 'b' is not a vertex"
    """
    from keykos_lab.views.schema import KEY_TYPES, RIGHTS, SLOT_KINDS, VERTEX_KINDS

    if not isinstance(data, dict):
        return f"the top level is {_json_type(data)}, not an object"
    nodes, edges = data.get("nodes"), data.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        return "not node-link JSON: it needs 'nodes' and 'edges' arrays"
    if not isinstance(data.get("graph", {}), dict):
        return "'graph' is not an object"
    problem = _walk_problem(data, MAX_DEPTH + 3)
    if problem is not None:
        return problem
    ids: dict[Any, int] = {}
    texts: dict[str, Any] = {}
    for i, n in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(n, dict):
            return f"{where} is {_json_type(n)}, not an object"
        v = n.get("id")
        if isinstance(v, bool) or not isinstance(v, int | str):
            return f"{where}: 'id' is a string or an integer, not {_json_type(v)}"
        if v in ids:
            return f"{where}: the id {_name(v)} is also nodes[{ids[v]}]'s"
        if str(v) in texts:
            return f"{where}: the ids {_name(texts[str(v)])} and {_name(v)} are the same text"
        ids[v], texts[str(v)] = i, v
        if n.get("kind") not in VERTEX_KINDS:
            return (
                f"{where}: 'kind' is one of {', '.join(VERTEX_KINDS)}, not {_name(n.get('kind'))}"
            )
        for name in ("label", "program"):
            if name in n and not isinstance(n[name], str):
                return f"{where}: {name!r} is a string, not {_json_type(n[name])}"
    for j, e in enumerate(edges):
        where = f"edges[{j}]"
        if not isinstance(e, dict):
            return f"{where} is {_json_type(e)}, not an object"
        for end in ("source", "target"):
            v = e.get(end)
            if isinstance(v, bool) or not isinstance(v, int | str) or v not in ids:
                return f"{where}: the {end} {_name(v)} is not a vertex"
        if "key" in e and (isinstance(e["key"], bool) or not isinstance(e["key"], int | str)):
            return f"{where}: 'key' is an integer or a string, not {_json_type(e['key'])}"
        if e.get("key_type") not in KEY_TYPES:
            return (
                f"{where}: 'key_type' is a key type of the schema, not {_name(e.get('key_type'))}"
            )
        databyte = _integral(e.get("databyte"))
        if databyte is None or not 0 <= databyte <= 255:
            return f"{where}: 'databyte' is an integer in 0..255, not {_name(e.get('databyte'))}"
        if "slot" in e and (_integral(e["slot"]) is None or abs(e["slot"]) >= 2**31):
            return f"{where}: 'slot' is an integer, not {_name(e['slot'])}"
        if "slot_kind" in e and e["slot_kind"] not in SLOT_KINDS:
            return f"{where}: 'slot_kind' is a slot kind of the schema, not {_name(e['slot_kind'])}"
        if "rights" in e:
            r = e["rights"]
            words = r.split(",") if isinstance(r, str) else r if isinstance(r, list) else None
            if words is None or not all(
                isinstance(w, str) and (w in RIGHTS or (w == "" and isinstance(r, str)))
                for w in words
            ):
                return (
                    f"{where}: 'rights' are words of the schema ({', '.join(RIGHTS)}), "
                    f"not {_name(r)}"
                )
        if "sensory" in e and not isinstance(e["sensory"], bool):
            return f"{where}: 'sensory' is true or false, not {_json_type(e['sensory'])}"
    return None


def _read_node_link(path: Path, data: bytes) -> nx.MultiDiGraph:
    """Node-link JSON as :func:`keykos_lab.analysis.read_node_link` reads it, checked first
    (:func:`node_link_problem`): a file that is not a graph in the schema is bad input."""
    import networkx as nx

    try:
        parsed = json.loads(_text(path, data), parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise CLIError(f"{_file(path)}: JSON nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, numbers
        raise CLIError(f"{_file(path)}: not JSON: {exc}") from None
    problem = node_link_problem(parsed)
    if problem is not None:
        raise CLIError(f"{_file(path)}: {problem}")
    read = nx.node_link_graph(parsed, directed=True, multigraph=True, edges="edges")
    G = read if isinstance(read, nx.MultiDiGraph) else nx.MultiDiGraph(read)
    for *_, d in G.edges(data=True):  # the schema's types, as read_node_link
        if isinstance(d.get("rights"), str | list):
            d["rights"] = frozenset(
                w
                for w in (d["rights"].split(",") if isinstance(d["rights"], str) else d["rights"])
                if w
            )
        for name in ("databyte", "slot"):
            if isinstance(d.get(name), float | str):
                d[name] = int(d[name])
    return G


# ------------------------------------------------------------------------------ names
def _few(names: Sequence[Any]) -> str:
    shown = ", ".join(
        _name(v) if not (isinstance(v, str) and v.isprintable() and len(v) <= NAME_LIMIT) else v
        for v in names[:SHOWN]
    )
    more = len(names) - SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "") if names else "(none)"


def _order(v: Any) -> tuple[int, Any]:
    """Vertices listed in a message: numbers in order, then names."""
    return (0, v) if type(v) is int else (1, str(v))


def _labelled(G: nx.MultiDiGraph, v: Any) -> Any:
    label = G.nodes[v].get("label")
    return f"{v} ({label})" if label and str(label) != str(v) else v


def _check_subject(G: nx.MultiDiGraph, subject: Any) -> None:
    domains = [
        _labelled(G, v)
        for v in sorted((v for v in G if G.nodes[v].get("kind") == "domain"), key=_order)
    ]
    if subject in G and G.nodes[subject].get("kind") == "domain":
        return
    what = (
        f"{_name(subject)} is a {_show(G.nodes[subject].get('kind') or 'vertex')}, not a domain"
        if subject in G
        else f"unknown subject {_name(subject)}"
    )
    raise CLIError(f"{what}; subjects (domains) in this file: {_few(domains)}")


def _check_sink(G: nx.MultiDiGraph, sink: str) -> None:
    if sink not in G:
        names = sorted(G, key=lambda v: (G.nodes[v].get("kind") != "domain", str(v)))
        raise CLIError(f"unknown sink {_name(sink)}; vertices in this file: {_few(names)}")


# ------------------------------------------------------------------------------ analyze
def summarize(G: nx.MultiDiGraph, subject: str, sink: str | None = None) -> dict[str, Any]:
    """The authority summary of ``subject`` (and the flow verdict to ``sink``) as plain data.

    >>> from keykos_lab import readers
    >>> G = readers.read_microkit_text(SYSTEM)
    >>> s = summarize(G, "a", "b")
    >>> s["keys"] == sum(s["by_key_type"].values()), "b" in s["calls"], s["flow"]["witness"]
    (True, True, ['a', 'b'])
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
        summary["flow"] = {
            "source": subject,
            "sink": sink,
            "can_flow": path is not None,
            "witness": path,
        }
    return summary


def _vertex(v: Any) -> str:
    return _show(v)


def format_summary(s: dict[str, Any]) -> str:
    """The text form of :func:`summarize`'s result."""
    lines = [f"subject {_show(s['subject'])}: can come to hold {s['keys']} keys"]
    lines.append("  by key type:")
    lines += [f"    {k:<12} {n:>5}" for k, n in s["by_key_type"].items()]
    for word, key in (("write to", "writes"), ("call", "calls")):
        targets = s[key]
        lines.append(f"  can {word} ({len(targets)}):" + ("" if targets else " nothing"))
        lines += [f"    {_vertex(t)}" for t in targets]
    if "flow" in s:
        f = s["flow"]
        verdict = "yes" if f["can_flow"] else "no"
        lines.append(f"flow {_show(f['source'])} -> {_show(f['sink'])}: {verdict}")
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
        # ids or labels, as --highlight takes them: a JSON graph's ids are integers
        subject = resolve_vertex(G, args.subject)
        sink = resolve_vertex(G, args.sink) if args.sink is not None else None
        _check_subject(G, subject)
        if sink is not None:
            _check_sink(G, sink)
        bar.update()
        bar.set_description("analysing")
        s = summarize(G, subject, sink)
        bar.update()
    if args.json:
        out = {
            "file": str(args.file),
            "format": fmt,
            "vertices": G.number_of_nodes(),
            "edges": G.number_of_edges(),
            **s,
        }
        _out(json.dumps(out, default=str, allow_nan=False))
    else:
        _out(
            f"{_show(str(args.file))} ({fmt}): {G.number_of_nodes()} vertices, "
            f"{G.number_of_edges()} keys"
        )
        _out(format_summary(s))
    if "flow" in s and not s["flow"]["can_flow"]:
        return EXIT_NO
    return EXIT_OK


# ------------------------------------------------------------------------------ outputs
def _check_graph_output(out: str) -> str:
    suffix = Path(out).suffix.lower()
    if suffix in PICTURE_SUFFIXES:
        if importlib.util.find_spec("matplotlib") is None:
            raise CLIError(
                f"{_file(out)}: drawing a {suffix} needs matplotlib, which is not "
                "installed; write .graphml (Gephi, Cytoscape, yEd) or .json instead"
            )
        return suffix
    if suffix not in GRAPH_SUFFIXES:
        raise CLIError(
            f"{_file(out)}: write .graphml or .json (node-link), or draw .png or "
            f".svg, not {_name(suffix or '(none)')}"
        )
    return suffix


def _check_output_path(out: str) -> Path:
    """The file ``out`` names, symlinks followed: its folder must exist and it must be
    absent or a regular file (never a FIFO, a device or a directory)."""
    try:
        real = Path(os.path.realpath(out))
    except (OSError, ValueError) as exc:
        raise CLIError(f"{_file(out)}: not a usable path ({_os_reason(exc)})") from None
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as exc:
        raise CLIError(f"{_file(out)}: cannot write: {_os_reason(exc)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise CLIError(
            f"{_file(out)}: {_kind(st.st_mode)}, not a regular file: cannot write the output there"
        )
    try:
        parent = os.stat(real.parent)
    except (OSError, ValueError):
        parent = None
    if parent is None or not stat.S_ISDIR(parent.st_mode):
        raise CLIError(f"{_file(out)}: no such folder: {_file(real.parent)}")
    return real


def _write_atomically(out: str, write: Callable[[str], None]) -> None:
    """Run ``write(tmp)`` on a temporary file beside ``out`` and rename it over ``out``:
    the output is complete or not there (a failed write leaves an old file as it was)."""
    real = _check_output_path(out)
    try:
        fd, tmp = tempfile.mkstemp(
            dir=real.parent, prefix=f".{real.name[:100]}.", suffix=real.suffix
        )
    except OSError as exc:
        raise CLIError(f"{_file(out)}: cannot write: {_os_reason(exc)}") from None
    os.close(fd)
    try:
        write(tmp)
        try:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as exc:
        raise CLIError(f"{_file(out)}: cannot write: {_os_reason(exc)}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _clean(value: Any, xml: bool, depth: int = 0) -> Any:
    """An attribute value safe to write: strings XML-safe (``xml``), floats finite."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return xml_text(value) if xml else value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else str(f)
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, list | tuple):
        return type(value)(_clean(x, xml, depth + 1) for x in value)
    if isinstance(value, set | frozenset):
        return frozenset(_clean(x, xml, depth + 1) for x in value)
    return _clean(_repr(value) if isinstance(value, dict) else _plain_text(value), xml, depth)


def _plain_text(value: Any) -> str:
    try:
        text = str(value)
        return text if isinstance(text, str) else _repr(value)
    except Exception:
        return _repr(value)


def exportable(G: nx.MultiDiGraph, *, xml: bool) -> tuple[nx.MultiDiGraph, dict[Any, Any]]:
    """A copy of ``G`` every writer can write, and the map old id → new id: with
    ``xml``, every string (ids, attribute names and values) has the characters XML
    1.0 cannot hold escaped (:func:`xml_text`); floats that are not finite become text.
    Two ids that would become the same are a CLIError (exit 3).

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph(); G.add_node("a\\x00", kind="domain", label="]]>\\ud800")
    >>> H, ids = exportable(G, xml=True)
    >>> ids == {"a\\x00": "a\\\\x00"}, H.nodes["a\\\\x00"]["label"] == "]]>\\\\ud800"
    (True, True)
    """
    import networkx as nx

    ids: dict[Any, Any] = {}
    taken: dict[Any, Any] = {}
    for v in G:
        w = xml_text(v) if xml and isinstance(v, str) else v
        if w in taken and taken[w] != v:
            raise CLIError(
                f"the vertices {_name(taken[w])} and {_name(v)} would both be written as {_name(w)}"
            )
        ids[v], taken[w] = w, v

    def attrs(d: dict) -> dict:
        out = {}
        for k, x in d.items():
            name = xml_text(k) if xml and isinstance(k, str) else k
            out[name] = _clean(x, xml)
        return out

    H: nx.MultiDiGraph = nx.MultiDiGraph()
    H.graph.update(attrs(G.graph))
    H.add_nodes_from((ids[v], attrs(d)) for v, d in G.nodes(data=True))
    H.add_edges_from(
        (ids[u], ids[v], _clean(k, xml), attrs(d))  # type: ignore[misc]
        for u, v, k, d in G.edges(keys=True, data=True)
    )  # (nx stubs: 4-tuples)
    return H, ids


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
    digits = name.lstrip("-")
    if digits.isascii() and digits.isdigit() and len(digits) < 100 and int(name) in G:
        return int(name)
    labelled = [v for v, d in G.nodes(data=True) if d.get("label") == name]
    return labelled[0] if len(labelled) == 1 else name


def draw_graph(G: nx.MultiDiGraph, out: str, highlight: Any = None) -> None:
    """Draw ``G`` (:func:`keykos_lab.plot.draw_capability_graph`) into ``out``, a .png
    or .svg, on the Agg backend (no display needed); labels are drawn as plain text
    (no ``$…$`` mathtext) from the XML-safe copy of the graph."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keykos_lab.plot import draw_capability_graph

    H, ids = exportable(G, xml=True)
    suffix = Path(out).suffix.lower()[1:]
    with (
        matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", "Glyph .* missing from", UserWarning)
        ax = draw_capability_graph(H, highlight=ids.get(highlight, highlight))
        try:
            _write_atomically(
                out, lambda tmp: ax.figure.savefig(tmp, format=suffix, dpi=110, bbox_inches="tight")
            )
        finally:
            plt.close(ax.figure)


def write_graph(G: nx.MultiDiGraph, out: str, highlight: Any = None) -> None:
    """Write ``G`` as GraphML or node-link JSON, or draw it as PNG or SVG, by
    ``out``'s suffix (``highlight``: a subject whose authority the drawing shades)."""
    from keykos_lab.analysis import write_graphml, write_node_link

    suffix = _check_graph_output(out)
    _check_output_path(out)
    if suffix in PICTURE_SUFFIXES:
        draw_graph(G, out, highlight)
        return
    H, _ = exportable(G, xml=suffix == ".graphml")
    _write_atomically(
        out, lambda tmp: (write_graphml if suffix == ".graphml" else write_node_link)(H, tmp)
    )


def cmd_graph(args: argparse.Namespace) -> int:
    suffix = _check_graph_output(args.output)
    if args.highlight is not None and suffix not in PICTURE_SUFFIXES:
        raise CLIError("--highlight shades a drawing: write .png or .svg with it")
    _check_output_path(args.output)
    G, _ = load_graph(args.file)
    highlight = None
    if args.highlight is not None:
        highlight = resolve_vertex(G, args.highlight)
        _check_subject(G, highlight)
    write_graph(G, args.output, highlight)
    _out(f"wrote {_show(args.output)}: {G.number_of_nodes()} vertices, {G.number_of_edges()} keys")
    return EXIT_OK


# ------------------------------------------------------------------------------ run
def _check_events_output(out: str) -> str:
    suffix = Path(out).suffix.lower()
    if suffix not in EVENT_SUFFIXES:
        raise CLIError(
            f"{_file(out)}: write the event log as .csv or .parquet, "
            f"not {_name(suffix or '(none)')}"
        )
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise CLIError(
            f"{_file(out)}: writing .parquet needs pyarrow, which is not installed; use .csv"
        )
    return suffix


def _answer(v: object) -> str:
    return repr(v) if isinstance(v, bytes | str) else str(v)


def cmd_run(args: argparse.Namespace) -> int:
    if args.events is not None:
        _check_events_output(args.events)
        _check_output_path(args.events)
    if args.graph is not None:
        _check_graph_output(args.graph)
        _check_output_path(args.graph)
    from keykos_lab import scenarios

    rec = getattr(scenarios, args.scenario)()
    width = max([len("step")] + [len(st.name) for st in rec.steps])
    _out(f"{'step':<{width}}  events  description")
    for st in rec.steps:
        _out(f"{st.name:<{width}}  {st.end_seq - st.first_seq:>6}  {st.description}")
    _out("answers:")
    for name, value in rec.answers.items():
        _out(f"  {name}: {_answer(value)}")
    if args.events is not None:
        ev = rec.kernel.events()
        parquet = args.events.lower().endswith(".parquet")
        _write_atomically(
            args.events,
            lambda tmp: ev.to_parquet(tmp, index=False) if parquet else ev.to_csv(tmp, index=False),
        )
        _out(f"wrote {_show(args.events)}: {len(ev)} events")
    if args.graph is not None:
        G = rec.kernel.capability_graph()
        write_graph(G, args.graph)
        _out(
            f"wrote {_show(args.graph)}: {G.number_of_nodes()} vertices, {G.number_of_edges()} keys"
        )
    return EXIT_OK


# ------------------------------------------------------------------------------ lab
#: Where ``keykos-lab lab`` copies the notebooks when no folder is named.
LAB_FOLDER = "keykos_lab_notebooks"
START_NOTEBOOK = "00_start_here.ipynb"


def bundled_notebooks() -> Path | None:
    """The notebooks shipped with the kit: ``keykos_lab/_data/notebooks`` in an installed
    wheel, else the checkout's ``notebooks/``; None when neither is there."""
    package = Path(__file__).resolve().parent
    for folder in (package / "_data" / "notebooks", package.parent / "notebooks"):
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            return folder
    return None


def lab_command() -> list[str] | None:
    """``python -m jupyter lab 00_start_here.ipynb`` (run in the notebooks' folder) when
    JupyterLab is installed beside this Python, else None."""
    if importlib.util.find_spec("jupyterlab") is None:
        return None
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [sys.executable, "-m", "jupyter", "lab", *root, START_NOTEBOOK]


MAKE_LAB = (
    "JupyterLab is not installed here: `pip install jupyterlab` beside keykos_lab, or, from "
    "a clone of the project, run\n"
    "    make lab\n"
    "(it creates .venv, installs everything and opens notebooks/00_start_here.ipynb)."
)


def _lab_folder(name: str) -> Path:
    if name == "":
        raise CLIError("'': not a folder name (an empty name)")
    folder = Path(name)
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return folder
    except (OSError, ValueError) as exc:
        raise CLIError(f"{_file(folder)}: {_os_reason(exc)}") from None
    if not stat.S_ISDIR(st.st_mode):
        kind = "a file" if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)
        raise CLIError(f"{_file(folder)}: {kind}, not a folder to copy notebooks into")
    return folder


def copy_notebooks(source: Path, folder: Path) -> list[tuple[str, str]]:
    """Copy ``source/*.ipynb`` into ``folder`` (created if need be); ``(name, what)`` for
    each: ``copied``, ``unchanged``, or ``kept`` (a file of that name that differs, or is
    not a regular file, is left as it is: your edits are never overwritten). Each notebook
    is written to a temporary file beside it and renamed, so it is whole or absent."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise CLIError(f"{_file(folder)}: cannot make the folder: {_os_reason(exc)}") from None
    done = []
    for nb in sorted(source.glob("*.ipynb")):
        data = nb.read_bytes()
        target = folder / nb.name
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise CLIError(f"{_file(target)}: {_os_reason(exc)}") from None
        if st is not None:
            same = stat.S_ISREG(st.st_mode) and target.read_bytes() == data
            done.append((nb.name, "unchanged" if same else "kept"))
            continue
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{nb.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CLIError(f"{_file(target)}: cannot write: {_os_reason(exc)}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        done.append((nb.name, "copied"))
    return done


def cmd_lab(args: argparse.Namespace) -> int:
    source = bundled_notebooks()
    if source is None:
        raise CLIError("the kit's notebooks are missing from this install (reinstall keykos_lab)")
    folder = _lab_folder(args.folder)
    cmd = lab_command()
    start = f"cd {shlex.quote(str(folder))} && {shlex.join(cmd)}" if cmd is not None else MAKE_LAB
    if args.print:
        _out(start)
        return EXIT_OK
    done = copy_notebooks(source, folder)
    counts = {w: sum(1 for _, x in done if x == w) for w in ("copied", "unchanged", "kept")}
    _out(
        f"{_show(str(folder))}: {counts['copied']} notebooks copied, "
        f"{counts['unchanged']} already there, {counts['kept']} kept as they were"
    )
    for name, what in done:
        if what == "kept":
            _out(f"  kept your {name} (it differs from the kit's: remove it to get theirs)")
    if args.copy_only or cmd is None:
        _out(start if cmd is None else f"start JupyterLab there with: {start}")
        return EXIT_OK
    _flush_stdout()  # pragma: no cover - replaces us
    try:  # pragma: no cover
        os.chdir(folder)
        os.execv(cmd[0], cmd)
    except OSError as exc:  # pragma: no cover
        raise CLIError(f"cannot start {_file(cmd[0])}: {_os_reason(exc)}") from None
    return EXIT_OK  # pragma: no cover


# ------------------------------------------------------------------------------ binder-url
BINDER = "https://mybinder.org/v2"
_GH = re.compile(
    r"^(?:https?://(?:[^@/]*@)?|ssh://(?:[^@/]*@)?|git@|git://)(github\.com|gitlab\.com)[:/]"
    r"(?P<path>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+?)(?:\.git)?/?$"
)
_REF = re.compile(r"[A-Za-z0-9_./-]{1,200}")


def binder_url(remote: str, ref: str = "HEAD", notebook: str = START_NOTEBOOK) -> str:
    """The mybinder.org link that opens ``notebooks/<notebook>`` of the repository at
    ``remote`` (a GitHub or GitLab URL, https or ssh; credentials in it are dropped).

    >>> binder_url("git@github.com:someone/keykos_lab.git")
    'https://mybinder.org/v2/gh/someone/keykos_lab/HEAD?urlpath=lab/tree/notebooks/00_start_here.ipynb'
    >>> binder_url("https://user:token@gitlab.com/group/sub/kit", "main")
    'https://mybinder.org/v2/gl/group%2Fsub%2Fkit/main?urlpath=lab/tree/notebooks/00_start_here.ipynb'
    >>> binder_url("https://example.org/x/y.git")
    Traceback (most recent call last):
    ...
    keykos_lab.cli.CLIError: the git remote is not a GitHub or GitLab repository URL ...
    """
    m = _GH.match(remote.strip())
    if m is None:
        raise CLIError(
            "the git remote is not a GitHub or GitLab repository URL "
            f"({_name(_redact(remote))}); Binder builds from github.com or gitlab.com"
        )
    if not _REF.fullmatch(ref) or ".." in ref:
        raise CLIError(f"{_name(ref)}: not a branch, tag or commit name")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+\.ipynb", notebook):
        raise CLIError(f"{_name(notebook)}: not a notebook name (NAME.ipynb)")
    path = m["path"].removesuffix(".git")
    if m[1] == "github.com":
        if path.count("/") != 1:
            raise CLIError(f"{_name(path)}: a GitHub repository is OWNER/NAME")
        where = f"gh/{path}"
    else:
        where = "gl/" + path.replace("/", "%2F")
    return f"{BINDER}/{where}/{ref}?urlpath=lab/tree/notebooks/{notebook}"


def _redact(url: str) -> str:
    """``url`` without a user name or password (never print a token)."""
    return re.sub(r"(?<=://)[^@/]*@", "", url)


def git_remote(name: str) -> str:
    """The URL of git remote ``name`` of the repository holding the current folder."""
    git = shutil.which("git")
    if git is None:
        raise CLIError("git is not installed: give the repository's URL with --url")
    import subprocess

    try:
        done = subprocess.run(
            [git, "remote", "get-url", "--", name],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CLIError(f"cannot run git: {_os_reason(exc)}") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no such remote"])[-1]
        raise CLIError(
            f"no git remote {_name(name)} here ({_redact(why)}): push the repository to "
            "GitHub or GitLab and add it (`git remote add origin URL`), or give --url"
        )
    return done.stdout.strip()


def cmd_binder_url(args: argparse.Namespace) -> int:
    remote = args.url if args.url is not None else git_remote(args.remote)
    _out(binder_url(remote, args.ref, args.notebook))
    return EXIT_OK


# ------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subcommand per task."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=fmt,
        description="KeyKOS lab: authority and information flow in real capability systems "
        "(seL4 capDL, seL4 Microkit, Fuchsia CML), graph exports, and the "
        "simulator's scenarios.",
        epilog=EXIT_TABLE,
    )
    from keykos_lab import __version__

    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser(
        "analyze",
        formatter_class=fmt,
        help="authority of a subject, and flow to a sink",
        description="Read FILE and print what SUBJECT (a domain: a TCB, a protection domain, "
        "a component) can come to hold: key counts by type and the targets it "
        "can write to or call. With --sink, whether information can flow from "
        "SUBJECT to SINK over overt channels, with a witness path.",
        epilog="FILE: .cdl/.right (capDL), .system (Microkit), a folder of .cml or one .cml "
        "(CML), .json (node-link); a regular file (FIFOs, devices are refused).\n"
        "exit codes: 0 ok (and flow: yes); 1 flow: no; 2 usage; 3 bad input (missing "
        "or unreadable file, spec rejected, unknown subject/sink); 4 internal error "
        f"(a bug; {DEBUG_ENV}=1 shows the traceback); 130 interrupted",
    )
    a.add_argument("file", metavar="FILE", help="specification file, or a folder of .cml")
    a.add_argument("--subject", required=True, metavar="X", help="the domain to analyse")
    a.add_argument("--sink", metavar="Y", help="a vertex: can information flow from X to Y?")
    a.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a.set_defaults(func=cmd_analyze)

    g = sub.add_parser(
        "graph",
        formatter_class=fmt,
        help="export a capability graph (GraphML, JSON) or draw it (PNG, SVG)",
        description="Read FILE (as for analyze) and write its capability graph: .graphml "
        "for Gephi, Cytoscape or yEd, .json for node-link JSON "
        "(keykos_lab.analysis.read_node_link reads it back), or draw it as "
        ".png or .svg with matplotlib (keykos_lab.plot.draw_capability_graph: "
        "vertices by kind, keys coloured by type, sensory keys dashed; graphs "
        "of more than 200 vertices drawn as a kind-to-kind summary). With "
        "--highlight X the drawing shades what X can come to hold. Characters "
        "XML cannot hold are written as \\xNN escapes in .graphml and .svg.",
        epilog="exit codes: 0 ok; 2 usage; 3 bad input (missing or unreadable file, spec "
        "rejected, unknown subject, unsupported or unwritable output: .png/.svg need "
        f"matplotlib); 4 internal error (a bug; {DEBUG_ENV}=1 shows the traceback)",
    )
    g.add_argument("file", metavar="FILE", help="specification file, or a folder of .cml")
    g.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="OUT.graphml, OUT.json, OUT.png or OUT.svg",
    )
    g.add_argument(
        "--highlight",
        metavar="X",
        help="with .png/.svg: a domain (id or label) whose authority is shaded",
    )
    g.set_defaults(func=cmd_graph)

    r = sub.add_parser(
        "run",
        formatter_class=fmt,
        help="run a scenario: steps, answers, event log, graph",
        description="Run a scenario in a fresh simulated KeyKOS system and print its steps "
        "(with the number of kernel events each produced) and the answers it "
        "found.\n\n"
        "  empty_child     the empty child, built by hand (the KeyKOS fork recipe)\n"
        "  tso_domain_key  Ts'o: what right lets one process touch another?\n"
        "  tso_setuid      Ts'o: what about setuid? (a factory yield)",
        epilog="exit codes: 0 ok; 2 usage (an unknown scenario); 3 an unsupported or "
        "unwritable output (.parquet needs pyarrow); 4 internal error (a bug; "
        f"{DEBUG_ENV}=1 shows the traceback)",
    )
    r.add_argument(
        "scenario", choices=SCENARIOS, metavar="SCENARIO", help="one of: " + ", ".join(SCENARIOS)
    )
    r.add_argument("--events", metavar="OUT", help="write the event log, OUT.csv or OUT.parquet")
    r.add_argument(
        "--graph",
        metavar="OUT",
        help="write the final capability graph, OUT.graphml or OUT.json, or "
        "draw it, OUT.png or OUT.svg",
    )
    r.set_defaults(func=cmd_run)

    lab = sub.add_parser(
        "lab",
        formatter_class=fmt,
        help="copy the notebooks into a folder and start JupyterLab there",
        description="Copy the kit's notebooks (shipped with it) into FOLDER (default "
        f"./{LAB_FOLDER}; notebooks already there are never overwritten) and start "
        f"JupyterLab there on {START_NOTEBOOK}. From a clone of the project, `make lab` "
        "does the same on notebooks/ itself.",
        epilog="exit codes: 0 ok; 2 usage; 3 FOLDER is not a folder or cannot be written",
    )
    lab.add_argument(
        "folder", nargs="?", default=LAB_FOLDER, metavar="FOLDER", help="where to copy them"
    )
    lab.add_argument(
        "--copy-only",
        action="store_true",
        help="copy the notebooks and print the command that starts JupyterLab, without running it",
    )
    lab.add_argument(
        "--print",
        action="store_true",
        help="print the command instead of running it (copies nothing)",
    )
    lab.set_defaults(func=cmd_lab)

    b = sub.add_parser(
        "binder-url",
        formatter_class=fmt,
        help="print the mybinder.org link for this repository's notebooks",
        description="Print the mybinder.org link that opens the notebooks of the repository "
        "this folder belongs to, built from its git remote's URL (GitHub or GitLab; "
        "Binder builds the environment from binder/). There is no public repository "
        "yet: push one, then run this to get its link.",
        epilog="exit codes: 0 ok; 2 usage; 3 no such remote, git missing, or a remote "
        "that is not on GitHub or GitLab",
    )
    b.add_argument("--remote", default="origin", metavar="NAME", help="git remote (origin)")
    b.add_argument("--url", metavar="URL", help="use this repository URL instead of a remote")
    b.add_argument("--ref", default="HEAD", metavar="REF", help="branch, tag or commit (HEAD)")
    b.add_argument(
        "--notebook", default=START_NOTEBOOK, metavar="NAME", help=f"notebook ({START_NOTEBOOK})"
    )
    b.set_defaults(func=cmd_binder_url)
    return p


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code
    (the module's documentation has the table).

    >>> main(["analyze", "no-such-file.cdl", "--subject", "t"])
    3
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        try:
            _flush_stdout()
        except _StdoutFailed as failed:
            _silence_stdout()
            _err(str(failed))
            return failed.code
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code = args.func(args)
        _flush_stdout()
        return code
    except CLIError as exc:
        if isinstance(exc, _StdoutFailed):
            _silence_stdout()
        _err(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except BaseException as exc:  # a bug (SystemExit from a command included)
        if _debug():
            try:
                traceback.print_exception(exc, file=sys.stderr)
            except Exception:
                pass
        _err(
            f"internal error (a bug in keykos-lab, please report it): "
            f"{_exception_text(exc)[: MESSAGE_LIMIT // 2]}"
            + ("" if _debug() else f" (set {DEBUG_ENV}=1 for the traceback)")
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
