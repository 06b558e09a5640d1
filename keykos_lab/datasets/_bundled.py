"""The bundled datasets: recorded runs, derived graphs and example specifications.

They live in the repository's top-level ``datasets/`` folder (the source of truth, made by
``make datasets``) and are shipped in the wheel as package data under
``keykos_lab/_data/datasets/`` (pyproject.toml maps one onto the other), so an installed
kit has all of them offline. :func:`data_root` says which copy is in use: the installed one
first, else the checkout's.

``datasets/index.json`` lists the datasets; each dataset's folder holds ``card.md`` (for
people) and ``dataset.json`` (for :func:`load`): its licence, how it was made (kit
version, seed), where it comes from, and its items, each with its file, kind and SHA-256.
A file is used only when its SHA-256 is the recorded one; nothing is unpickled or
evaluated: Parquet is read by pyarrow, graphs are node-link JSON, specifications are read
by :mod:`keykos_lab.readers`.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import re
import warnings
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from keykos_lab.datasets._errors import DatasetError, UnknownDataset

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

INDEX = "index.json"
RECORD = "dataset.json"
CARD = "card.md"
INDEX_FORMAT = "keykos_lab-datasets"
RECORD_FORMAT = "keykos_lab-dataset"
FORMAT_VERSION = 1
KINDS = ("events", "graph", "spec")
SPEC_READERS = {"capdl": "read_capdl", "microkit": "read_microkit", "cml": "read_cml"}
#: Bytes of index or record a reader accepts (the real ones are a few kilobytes).
MAX_RECORD = 4 << 20
#: How many known names an "unknown dataset" message shows.
SHOWN = 6
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")

#: The derived-graph datasets of each upstream dataset: reader options → bundled dataset.
DERIVED = {
    ("sel4-capdl", True): "sel4-capdl",
    ("sel4-microkit-sdf", True): "sel4-microkit-sdf",
    ("sel4-microkit-sdf", False): "sel4-microkit-sdf-trusted-monitor",
    ("fuchsia-cml", True): "fuchsia-cml",
}
#: The one item of the CML dataset: the whole folder read as one realm tree.
CML_ITEM = "realms"


def _roots() -> builtins.list[Path]:
    package = Path(__file__).resolve().parents[1]
    return [package / "_data" / "datasets", package.parent / "datasets"]


def data_root() -> Path:
    """The folder the bundled datasets are read from: ``keykos_lab/_data/datasets`` in an
    installed wheel, else the checkout's ``datasets/``.

    >>> (data_root() / "index.json").is_file()
    True
    """
    for root in _roots():
        if (root / INDEX).is_file():
            return root
    raise DatasetError(
        "the bundled datasets are missing: neither "
        + " nor ".join(str(r / INDEX) for r in _roots())
        + " exists (a broken install? reinstall keykos_lab)"
    )


def _safe_relpath(text: Any, what: str) -> tuple[str, ...]:
    """A relative path's parts, each a plain name (no ``..``, no absolute path)."""
    if not isinstance(text, str) or not text:
        raise DatasetError(f"{what}: not a relative path: {text!r}")
    parts = tuple(text.split("/"))
    if not all(_PART.fullmatch(p) for p in parts):
        raise DatasetError(f"{what}: not a safe relative path: {text!r}")
    return parts


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_RECORD + 1)
    except OSError as e:
        raise DatasetError(f"{what}: cannot read {path}: {e.strerror or e}") from None
    if len(data) > MAX_RECORD:
        raise DatasetError(f"{what}: {path} is larger than {MAX_RECORD} bytes")
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"{what}: {path} is not JSON ({e})") from None
    if not isinstance(value, dict):
        raise DatasetError(f"{what}: {path} is not a JSON object")
    return value


@cache
def _load_index(root: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every item: ``"dataset/item" → (dataset record, item record)``."""
    index = _read_json(root / INDEX, "the dataset index")
    if index.get("format") != INDEX_FORMAT or index.get("version") != FORMAT_VERSION:
        raise DatasetError(f"{root / INDEX}: not a version-{FORMAT_VERSION} dataset index")
    names = index.get("datasets")
    if not isinstance(names, builtins.list):
        raise DatasetError(f"{root / INDEX}: 'datasets' is not a list")
    items: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for name in names:
        folder = root.joinpath(*_safe_relpath(name, "the dataset index"))
        record = _read_json(folder / RECORD, f"dataset {name!r}")
        if record.get("format") != RECORD_FORMAT or record.get("name") != name:
            raise DatasetError(f"{folder / RECORD}: not the record of dataset {name!r}")
        members = record.get("items")
        if not isinstance(members, dict) or not members:
            raise DatasetError(f"{folder / RECORD}: no items")
        record = {**record, "_folder": folder}
        for key, member in members.items():
            _safe_relpath(key, f"dataset {name!r}")
            if not isinstance(member, dict) or member.get("kind") not in KINDS:
                raise DatasetError(f"{folder / RECORD}: item {key!r} has no known kind")
            items[f"{name}/{key}"] = (record, member)
    return items


def _items() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return _load_index(data_root())


def _datasets() -> dict[str, dict[str, Any]]:
    return {record["name"]: record for record, _ in _items().values()}


def _unknown(name: Any, known: builtins.list[str], what: str = "dataset item") -> UnknownDataset:
    shown = ", ".join(known[:SHOWN]) + (", …" if len(known) > SHOWN else "")
    text = repr(name) if len(repr(name)) <= 120 else repr(name)[:119] + "…"
    return UnknownDataset(
        f"unknown {what} {text}; known: {shown} ({len(known)} in all: keykos_lab.datasets.list())"
    )


def _item(name: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    items = _items()
    if not isinstance(name, str) or name not in items:
        raise _unknown(name, sorted(items))
    return items[name]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                h.update(block)
    except OSError as e:
        raise DatasetError(f"cannot read {path}: {e.strerror or e}") from None
    return h.hexdigest()


def _checked(folder: Path, relpath: Any, sha: Any, what: str) -> Path:
    target = folder.joinpath(*_safe_relpath(relpath, what))
    if not target.is_file():
        raise DatasetError(f"{what}: {target} is missing (a broken install? reinstall keykos_lab)")
    got = _sha256(target)
    if got != sha:
        raise DatasetError(
            f"{what}: {target} has SHA-256 {got}, not the recorded {sha}: it was changed "
            "or damaged (in a checkout, `make datasets` makes it again)"
        )
    return target


# ------------------------------------------------------------------------------ public
def list(dataset: str | None = None) -> builtins.list[str]:  # noqa: A001 (seaborn's spelling)
    """The names :func:`load` accepts, sorted; with ``dataset``, only that dataset's.

    >>> [n for n in list() if n.startswith("runs/")][:2]
    ['runs/empty_child/events', 'runs/empty_child/graph']
    >>> list("fuchsia-cml")
    ['fuchsia-cml/realms']
    """
    names = sorted(_items())
    if dataset is None:
        return names
    if dataset not in _datasets():
        raise _unknown(dataset, sorted(_datasets()), "dataset")
    return [n for n in names if n.startswith(dataset + "/")]


def info(name: str) -> dict[str, Any]:
    """What is recorded about an item: its dataset's title, licence, how it was made
    (``made_by``: kit version, seed, command) and source, and the item's own record
    (file, kind, SHA-256, sizes, upstream ``sources`` for a derived graph).

    >>> i = info("runs/tso_setuid/events")
    >>> i["kind"], i["made_by"]["seed"], i["licence"]
    ('events', 0, 'MIT')
    >>> info("sel4-capdl/capDL-tool/hello-dump.cdl")["sources"][0]["repository"]
    'https://github.com/seL4/capdl'
    """
    record, member = _item(name)
    out = {k: v for k, v in record.items() if k not in ("items", "_folder", "format")}
    out.update(member)
    out["name"], out["dataset"] = name, record["name"]
    return json.loads(json.dumps(out))  # a deep copy: callers cannot change the index


def card(name: str) -> str:
    """The card (Markdown) of a dataset, or of the dataset an item belongs to.

    >>> card("runs/empty_child").splitlines()[0]
    '# runs/empty_child: the empty child, built by hand'
    """
    datasets = _datasets()
    record = datasets.get(name) if isinstance(name, str) else None
    if record is None:
        record = _item(name)[0] if isinstance(name, str) and name in _items() else None
    if record is None:
        raise _unknown(name, sorted(datasets), "dataset")
    path = record["_folder"] / CARD
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"dataset {record['name']!r}: cannot read {path}: {e}") from None


def path(name: str) -> Path:
    """The file (or, for a folder of CML manifests, the folder) behind an item, checked
    against its recorded SHA-256 (every file of a folder).

    >>> path("examples/microkit/client_server.system").name
    'client_server.system'
    """
    record, member = _item(name)
    folder, what = record["_folder"], f"dataset item {name!r}"
    files = member.get("files")
    if isinstance(files, dict):  # a folder
        for rel, sha in files.items():
            _checked(folder, f"{member['file']}/{rel}", sha, what)
        return folder.joinpath(*_safe_relpath(member["file"], what))
    return _checked(folder, member.get("file"), member.get("sha256"), what)


def load(name: str) -> pd.DataFrame | nx.MultiDiGraph:
    """A bundled item: an event log as a pandas frame (the columns and dtypes of
    ``k.events()``), a capability graph as a ``networkx.MultiDiGraph`` in the project's
    schema (read back from node-link JSON), a specification as the graph its reader
    makes of it. :func:`list` names them; :func:`card` describes them.

    >>> ev = load("runs/tso_setuid/events")
    >>> len(ev), str(ev.event.dtype)
    (1199, 'category')
    >>> load("examples/cml/offer_chain").number_of_nodes()
    5
    >>> load("no/such/thing")
    Traceback (most recent call last):
    ...
    keykos_lab.datasets._errors.UnknownDataset: unknown dataset item 'no/such/thing'; known: ...
    """
    record, member = _item(name)
    file = path(name)
    kind = member["kind"]
    if kind == "events":
        return _read_events(file, name)
    if kind == "graph":
        return _read_graph(file, name)
    return _read_spec(file, member.get("format"), name)


def catalog() -> pd.DataFrame:
    """One row per item: name, dataset, kind, licence, rows (event logs), vertices and
    edges (graphs), bytes, and where it comes from.

    >>> c = catalog()
    >>> c.columns.tolist()
    ['name', 'dataset', 'kind', 'licence', 'rows', 'vertices', 'edges', 'bytes', 'source']
    >>> int((c.kind == "events").sum()) == len([n for n in list() if n.endswith("/events")])
    True
    """
    import pandas as pd

    rows = []
    for name, (record, member) in sorted(_items().items()):
        sources = member.get("sources") or []
        where = (
            ", ".join(sorted({f"{s['repository']}@{s['commit'][:12]}" for s in sources}))
            if sources
            else f"keykos_lab {record['made_by']['kit_version']}"
        )
        rows.append(
            (
                name,
                record["name"],
                member["kind"],
                record["licence"],
                member.get("rows", -1),
                member.get("vertices", -1),
                member.get("edges", -1),
                member.get("bytes", -1),
                where,
            )
        )
    cols = ["name", "dataset", "kind", "licence", "rows", "vertices", "edges", "bytes", "source"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------ readers
def _read_events(file: Path, name: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from keykos_lab.views.spill import SCHEMA

    try:
        table = pq.read_table(file)
    except (OSError, pa.ArrowException) as e:
        raise DatasetError(f"dataset item {name!r}: {file} is not Parquet ({e})") from None
    if not table.schema.remove_metadata().equals(SCHEMA):
        raise DatasetError(f"dataset item {name!r}: {file} is not in the public event schema")
    return table.replace_schema_metadata(None).to_pandas()


def _read_graph(file: Path, name: str) -> nx.MultiDiGraph:
    from keykos_lab.analysis import read_node_link

    try:
        return read_node_link(file)
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise DatasetError(f"dataset item {name!r}: {file} is not node-link JSON ({e})") from None


def _read_spec(file: Path, fmt: Any, name: str) -> nx.MultiDiGraph:
    from keykos_lab import readers

    if fmt not in SPEC_READERS:
        raise DatasetError(f"dataset item {name!r}: unknown specification format {fmt!r}")
    read = getattr(readers, SPEC_READERS[fmt])
    try:
        graph: nx.MultiDiGraph = read(file)
    except readers.FormatError as e:
        raise DatasetError(f"dataset item {name!r}: {e}") from None
    return graph


# ------------------------------------------------------------------------------ upstream
def upstream_graph(
    source: str, relpath: str | None = None, *, monitor: bool = True
) -> nx.MultiDiGraph:
    """The capability graph a reader makes of an upstream specification: read from the
    raw file when it is on disk or can be fetched (:func:`external`, which downloads
    unless ``$KEYKOS_LAB_OFFLINE`` is set), else — offline, with a warning saying so —
    the bundled graph the same reader derived from the same file at the same commit.

    ``source`` is ``"sel4-capdl"``, ``"sel4-microkit-sdf"`` (``monitor`` as for
    :func:`keykos_lab.readers.read_microkit`) or ``"fuchsia-cml"`` (no ``relpath``: the
    whole folder); ``relpath`` a path of its manifest.

    >>> G = upstream_graph("sel4-microkit-sdf", "microkit/example/hello/hello.system")
    >>> sorted(G.nodes)
    ['hello', 'monitor:fault_ep', 'notification:hello']
    """
    from keykos_lab import datasets as ds
    from keykos_lab import readers

    files = {p for p, _, _ in ds.manifest(source)}  # UnknownDataset for a bad source
    if source == "fuchsia-cml":
        if relpath is not None:
            raise ValueError("fuchsia-cml is read as one folder: give no relpath")
        item = f"{DERIVED[(source, True)]}/{CML_ITEM}"
    else:
        if relpath not in files:
            raise _unknown(relpath, sorted(files), f"{source} file")
        if source == "sel4-capdl" and not monitor:
            raise ValueError("monitor= applies to sel4-microkit-sdf only")
        item = f"{DERIVED[(source, bool(monitor))]}/{relpath}"
    try:
        folder = ds.external(source)
    except DatasetError as e:
        if item not in _items():
            raise DatasetError(
                f"{source}: {relpath} is not on disk, cannot be fetched ({e}), and no "
                "graph derived from it is bundled (its reader rejects it)"
            ) from e
        warnings.warn(
            f"{source}: the upstream file is not on disk and cannot be fetched here "
            f"({e}); using the bundled graph derived from it, datasets.load({item!r})",
            stacklevel=2,
        )
        return cast("nx.MultiDiGraph", load(item))
    assert folder is not None
    if source == "fuchsia-cml":
        return readers.read_cml(folder)
    target = folder.joinpath(*_safe_relpath(relpath, source))
    if source == "sel4-capdl":
        return readers.read_capdl(target)
    return readers.read_microkit(target, monitor=monitor)
