"""Make the generated part of ``datasets/``: ``make datasets`` runs this.

    python datasets/_build.py [OUT]     (default: this folder)

It writes, deterministically (same kit, same libraries: the same bytes):

* ``runs/<scenario>/``: each scenario of :data:`RUNS` run on ``kl.Kernel(seed=SEED)``:
  ``events.parquet`` (the event log in the public event schema, zstd, no pandas
  metadata), ``graph.json`` (node-link) and ``graph.graphml`` (the final capability
  graph), ``card.md``, ``dataset.json``;
* ``sel4-capdl/``, ``sel4-microkit-sdf/``, ``sel4-microkit-sdf-trusted-monitor/``,
  ``fuchsia-cml/``: the graphs the readers derive from the upstream files
  (``keykos_lab.datasets.external``: the shared folder, the cache, or a download at the
  pinned commit), one node-link JSON per file under ``graphs/``, ``card.md`` and
  ``dataset.json`` with each file's repository, commit and SHA-256;
* ``examples/dataset.json`` (the hand-written example specifications' checksums) and
  ``index.json``.

The hand-written files (``README.md``, ``examples/`` but its ``dataset.json``, every
``LICENSE``, this script) are inputs, never written. Into another folder ``OUT`` it writes
only the generated files, so that a test can compare them with the committed ones.
"""

# The cards are Markdown templates with long lines.
# ruff: noqa: E501

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 0
#: Scenario → (title, what it shows). Each takes ``kernel=`` (keykos_lab.scenarios).
RUNS = {
    "empty_child": (
        "the empty child, built by hand",
        "Warkentin's third primitive the KeyKOS way: the parent (the console) gets a domain "
        "creator, has it make an empty domain from the bank, builds the child's address "
        "segment, installs memory and meter through the domain key and starts it.",
    ),
    "tso_domain_key": (
        "the domain key after the child runs, and in another domain's hands",
        'Ts\'o\'s "only before the child runs?" and "only for children?": after the empty '
        "child has run the parent still changes it through the domain key, then an unrelated "
        "domain (a proxy) given that key does the same.",
    ),
    "tso_setuid": (
        "setuid as a factory yield",
        "Ts'o's \"what about setuid?\": an administrator's password checker is a factory "
        "whose yields hold the password page as a hole; a user asks for a yield per check and "
        "never holds a key to the page or to the yield's memory.",
    ),
    "two_threads": (
        "two threads over one address segment",
        "Two domains share one address segment and take turns incrementing a counter in a "
        "shared page (a threads model on KeyKOS); with a seeded kernel the scheduler's "
        "random quanta decide how often each spins.",
    ),
}
UPSTREAM = {
    "sel4-capdl": ("seL4 capDL specifications", "BSD-2-Clause"),
    "sel4-microkit-sdf": ("seL4 Microkit system descriptions (SDF)", "BSD-2-Clause"),
    "fuchsia-cml": ("Fuchsia component manifests (CML), 2020-era top realms", "BSD-3-Clause"),
}
EXAMPLE_FORMATS = {".cdl": "capdl", ".system": "microkit"}
EVENT_COLUMNS = {
    "seq": "row number, from 0",
    "tick": "logical time",
    "event": "invoke, deliver, reply, stall, keeper, fault, state, create, destroy, sever, "
    "read, write",
    "jump": "call, return, fork, implicit or none",
    "actor": "the domain (root node id) that acted; -1 for none",
    "key_type": "type of the key invoked",
    "target": "object id the key designates; -1 for none",
    "databyte": "the key's databyte; -1 for none",
    "order": "order code of a CALL, return code of a RETURN",
    "rc": "return code where the kernel itself answers; -1 elsewhere",
    "n_keys": "keys passed",
    "string_len": "bytes of string passed",
    "state_before": "domain state before (available, running, waiting …)",
    "state_after": "domain state after",
    "cause": "why a keeper was called or a domain stopped (trap, segfault, meter …)",
}
VERTEX_ATTRS = "`kind` (domain, node, page, misc), `label`, `program`; the readers add what the source says (`device`, `source_type`, …)"
EDGE_ATTRS = "`key_type`, `databyte`, `slot`, `slot_kind`, `rights` (comma-joined in the files, a frozenset once loaded), `sensory`"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def write_json(path: Path, value: Any) -> None:
    write_text(path, json.dumps(value, indent=1, sort_keys=True, ensure_ascii=True) + "\n")


def record(name: str, title: str, licence: str, made_by: dict, items: dict, **more: Any) -> dict:
    return {
        "format": "keykos_lab-dataset",
        "version": 1,
        "name": name,
        "title": title,
        "licence": licence,
        "made_by": made_by,
        "items": items,
        **more,
    }


def made_by(seed: int | None) -> dict:
    import keykos_lab as kl

    return {"kit_version": kl.__version__, "seed": seed, "command": "make datasets"}


def graph_item(path: Path, G: Any) -> dict:
    return {
        "kind": "graph",
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        "vertices": G.number_of_nodes(),
        "edges": G.number_of_edges(),
    }


# ------------------------------------------------------------------------------ runs
def build_runs(out: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import keykos_lab as kl
    from keykos_lab import scenarios
    from keykos_lab.analysis import write_graphml, write_node_link
    from keykos_lab.views.spill import SCHEMA

    names = []
    for scenario, (title, what) in RUNS.items():
        name = f"runs/{scenario}"
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        rec = getattr(scenarios, scenario)(kernel=kl.Kernel(seed=SEED))
        ev = rec.kernel.events()
        G = rec.kernel.capability_graph()
        table = pa.Table.from_pandas(ev, schema=SCHEMA, preserve_index=False)
        pq.write_table(
            table.replace_schema_metadata(None), folder / "events.parquet", compression="zstd"
        )
        write_node_link(G, folder / "graph.json")
        write_graphml(G, folder / "graph.graphml")
        items = {
            "events": {
                "kind": "events",
                "file": "events.parquet",
                "sha256": sha256(folder / "events.parquet"),
                "bytes": (folder / "events.parquet").stat().st_size,
                "rows": len(ev),
            },
            "graph": {
                **graph_item(folder / "graph.json", G),
                "file": "graph.json",
                "graphml": {"file": "graph.graphml", "sha256": sha256(folder / "graph.graphml")},
            },
        }
        steps = "\n".join(
            f"| `{st.name}` | {st.first_seq}–{st.end_seq - 1} | {st.description} |"
            for st in rec.steps
        )
        answers = "\n".join(f"| {k} | `{v!r}` |" for k, v in rec.answers.items())
        dtypes = {c: str(t) for c, t in ev.dtypes.items()}
        columns = "\n".join(
            f"| `{c}` | {dtypes[c]} | {EVENT_COLUMNS.get(c, '')} |" for c in ev.columns
        )
        write_text(
            folder / "card.md",
            f"""# {name}: {title}

**What.** A recorded run of the kit's scenario `keykos_lab.scenarios.{scenario}`: {what}
Two items: `{name}/events`, the kernel's event log ({len(ev)} rows), and `{name}/graph`,
the capability graph at the end of the run ({G.number_of_nodes()} vertices,
{G.number_of_edges()} keys).

**Where from.** Made by this project: `keykos_lab.scenarios.{scenario}(kernel=kl.Kernel(seed={SEED}))`,
keykos_lab {made_by(SEED)["kit_version"]}.

**Licence.** MIT, as the kit (`LICENSE` at the top of the repository and in the wheel).

**How made.** `make datasets` (`datasets/_build.py`). `events.parquet` is
`k.events()` written by pyarrow in the public event schema (`keykos_lab.views.spill.SCHEMA`:
categoricals as dictionary columns, zstd, no pandas metadata); `graph.json` is
`keykos_lab.analysis.write_node_link(k.capability_graph())`, `graph.graphml` the same graph
by `write_graphml` (for Gephi, Cytoscape, yEd). A test makes them again and compares.

```python
from keykos_lab import datasets
ev = datasets.load("{name}/events")        # pandas, as k.events()
G = datasets.load("{name}/graph")          # networkx.MultiDiGraph
```

**Steps** (rows of the event log, by `seq`):

| step | rows | what happens |
| --- | --- | --- |
{steps}

**Answers** the scenario found:

| answer | value |
| --- | --- |
{answers}

**Columns** of `events` (docs/analyses.md, "The event log"; `-1` means none):

| column | dtype | meaning |
| --- | --- | --- |
{columns}

**Graph attributes** (docs/analyses.md, "The graph schema"): vertices {VERTEX_ATTRS};
edges {EDGE_ATTRS}.
""",
        )
        write_json(
            folder / "dataset.json",
            record(name, title, "MIT", made_by(SEED), items, scenario=scenario),
        )
        names.append(name)
    return names


# ------------------------------------------------------------------------------ derived
def _relative_paths(G, root, source: str) -> None:
    """Where the readers record the file they read (``G.graph["source"]`` and the like),
    name it from the dataset's own root (``sel4-capdl/capDL-tool/…``), not from wherever
    the upstream files happen to be on this machine: the build is then the same bytes on
    every checkout (a fresh clone's CI found absolute paths)."""
    prefix = str(root)

    def fix(attrs: dict) -> None:
        for k, v in attrs.items():
            if isinstance(v, str) and v.startswith(prefix):
                attrs[k] = source + v[len(prefix) :]

    fix(G.graph)
    for _, attrs in G.nodes(data=True):
        fix(attrs)
    for *_, attrs in G.edges(data=True):
        fix(attrs)


def _sources(name: str, paths: list[str]) -> list[dict]:
    from keykos_lab import datasets

    out = []
    for path, sha, url in datasets.manifest(name):
        if path in paths:
            m = re.match(r"https://raw\.githubusercontent\.com/([^/]+/[^/]+)/([0-9a-f]{40})/", url)
            assert m, url
            out.append(
                {
                    "path": path,
                    "repository": f"https://github.com/{m[1]}",
                    "commit": m[2],
                    "sha256": sha,
                    "url": url,
                }
            )
    return out


def build_derived(out: Path) -> list[str]:
    from keykos_lab import datasets, readers
    from keykos_lab.analysis import write_node_link

    names = []
    plans: list[tuple[str, str, bool]] = [
        ("sel4-capdl", "sel4-capdl", True),
        ("sel4-microkit-sdf", "sel4-microkit-sdf", True),
        ("sel4-microkit-sdf-trusted-monitor", "sel4-microkit-sdf", False),
        ("fuchsia-cml", "fuchsia-cml", True),
    ]
    for name, source, monitor in plans:
        root = datasets.external(source)
        assert root is not None
        folder = out / name
        items: dict[str, dict] = {}
        rejected: list[tuple[str, str]] = []
        if source == "fuchsia-cml":
            jobs = [
                (
                    "realms",
                    [p for p, _, _ in datasets.manifest(source)],
                    lambda root=root: readers.read_cml(root),
                )
            ]
        else:
            read = (
                readers.read_capdl
                if source == "sel4-capdl"
                else (lambda p, monitor=monitor: readers.read_microkit(p, monitor=monitor))
            )
            jobs = [
                (p, [p], (lambda p=p, read=read, root=root: read(root / p)))
                for p, _, _ in datasets.manifest(source)
            ]
        for key, paths, make in jobs:
            try:
                G = make()
            except readers.FormatError as e:
                rejected.append((key, str(e).replace(str(root) + "/", "")))
                continue
            _relative_paths(G, root, source)
            file = f"graphs/{key}.json"
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            write_node_link(G, folder / file)
            items[key] = {
                **graph_item(folder / file, G),
                "file": file,
                "reader": "read_cml"
                if source == "fuchsia-cml"
                else ("read_capdl" if source == "sel4-capdl" else "read_microkit"),
                "options": {} if monitor else {"monitor": False},
                "sources": _sources(source, paths),
            }
        title, licence = UPSTREAM[source]
        if not monitor:
            title += ", the monitor trusted"
        write_json(
            folder / "dataset.json",
            record(
                name, title, licence, made_by(None), items, upstream=source, licence_file="LICENSE"
            ),
        )
        write_text(
            folder / "card.md", derived_card(name, source, title, licence, monitor, items, rejected)
        )
        names.append(name)
    return names


def derived_card(
    name: str,
    source: str,
    title: str,
    licence: str,
    monitor: bool,
    items: dict,
    rejected: list[tuple[str, str]],
) -> str:
    from keykos_lab import datasets

    repos = sorted({(s["repository"], s["commit"]) for i in items.values() for s in i["sources"]})
    repo_lines = "\n".join(f"- {r} at commit `{c}`" for r, c in repos)
    rows = "\n".join(
        f"| `{k}` | {i['vertices']} | {i['edges']} | `{i['sources'][0]['commit'][:12]}` |"
        if len(i["sources"]) == 1
        else f"| `{k}` ({len(i['sources'])} files) | {i['vertices']} | {i['edges']} | several |"
        for k, i in items.items()
    )
    reader = {
        "sel4-capdl": "read_capdl",
        "sel4-microkit-sdf": "read_microkit",
        "fuchsia-cml": "read_cml",
    }[source]
    call = f"readers.{reader}(file{'' if monitor else ', monitor=False'})"
    if source == "fuchsia-cml":
        call = "readers.read_cml(folder)"
    first = next(iter(items))
    skipped = "".join(f"\n- `{k}`: {why}" for k, why in rejected)
    note = ""
    if not monitor:
        note = (
            "\nThis is the *trusted-monitor* view (`read_microkit(..., monitor=False)`): the "
            "Microkit monitor is assumed to pass nothing on, which is sound only if you have "
            "checked it; `sel4-microkit-sdf` has the reader's default view.\n"
        )
    return f"""# {name}: {title}

**What.** The capability graphs `keykos_lab.readers.{reader}` derives from the upstream
specification files of `{source}` (one graph per file{" — here the whole folder as one realm tree" if source == "fuchsia-cml" else ""}),
in the project's graph schema, so that every analysis runs on them offline.
The upstream files themselves are not bundled: `keykos_lab.datasets.external("{source}")`
fetches them at the pinned commits (checked by SHA-256), and
`keykos_lab.datasets.upstream_graph` reads them when they are there and falls back to these
graphs when they are not.
{note}
**Where from.** {len(datasets.manifest(source))} upstream files:

{repo_lines}

Each item's record in `dataset.json` names its file's repository, commit, path and
SHA-256 (`keykos_lab.datasets.info(name)["sources"]`); the shared folder's
`PROVENANCE.md` says how the files were chosen.

**Licence.** {licence}, as the upstream files (`LICENSE` beside this card). The graphs are
derived from those files by this project.

**How made.** `make datasets` (`datasets/_build.py`): `{call}` at keykos_lab
{made_by(None)["kit_version"]}, written by `keykos_lab.analysis.write_node_link` to
`graphs/<upstream path>.json`. A test derives them again and compares the bytes.

```python
from keykos_lab import datasets
G = datasets.load("{name}/{first}")
```

**Attributes** (docs/analyses.md, "The graph schema"): vertices {VERTEX_ATTRS};
edges {EDGE_ATTRS}. The reader's docstring gives its mapping.

**Items** ({len(items)}):

| item | vertices | edges | commit |
| --- | --- | --- | --- |
{rows}
{"" if not rejected else chr(10) + "**Not derived** (the reader rejects them; they stay upstream as negative tests):" + skipped + chr(10)}"""


# ------------------------------------------------------------------------------ examples
def build_examples(src: Path, out: Path) -> str:
    items: dict[str, dict] = {}
    base = src / "examples"
    for fmt_dir, fmt in (("capdl", "capdl"), ("microkit", "microkit")):
        for f in sorted((base / fmt_dir).iterdir()):
            if f.suffix in EXAMPLE_FORMATS:
                key = f"{fmt_dir}/{f.name}"
                items[key] = {"kind": "spec", "format": fmt, "file": key, "sha256": sha256(f)}
    for d in sorted((base / "cml").iterdir()):
        if d.is_dir():
            files = {p.name: sha256(p) for p in sorted(d.glob("*.cml"))}
            items[f"cml/{d.name}"] = {
                "kind": "spec",
                "format": "cml",
                "file": f"cml/{d.name}",
                "files": files,
            }
    write_json(
        out / "examples" / "dataset.json",
        record(
            "examples", "example specifications in the three formats", "MIT", made_by(None), items
        ),
    )
    return "examples"


def build(out: Path, src: Path = HERE) -> list[Path]:
    """Write every generated file under ``out``; return them (relative paths)."""
    out.mkdir(parents=True, exist_ok=True)
    names = build_runs(out) + build_derived(out) + [build_examples(src, out)]
    write_json(
        out / "index.json",
        {"format": "keykos_lab-datasets", "version": 1, "datasets": sorted(names)},
    )
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


#: Generated folders: `make datasets` empties them first (their LICENSE files excepted).
GENERATED_DIRS = (
    "runs",
    "sel4-capdl/graphs",
    "sel4-microkit-sdf/graphs",
    "sel4-microkit-sdf-trusted-monitor/graphs",
    "fuchsia-cml/graphs",
)


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else HERE
    if out != HERE:
        made = build(out)
        print(f"wrote {len(made)} files under {out}")
        return 0
    with tempfile.TemporaryDirectory(prefix="keykos-datasets-") as tmp:
        made = build(Path(tmp))  # everything first: a failure leaves datasets/ as it was
        for d in GENERATED_DIRS:
            shutil.rmtree(HERE / d, ignore_errors=True)
        for rel in made:
            (HERE / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / rel, HERE / rel)
    print(f"wrote {len(made)} files under {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
