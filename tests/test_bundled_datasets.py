"""The bundled datasets (datasets/, keykos_lab.datasets.list/load/card): every item loads,
the cards say what they must, the provenance agrees with the manifests, `make datasets`
makes the same bytes again, and a damaged or hostile dataset folder raises DatasetError
(or UnknownDataset for a name), never anything else."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import warnings
from pathlib import Path

import networkx as nx
import pandas as pd
import pyarrow
import pyarrow.parquet as pq
import pytest

import keykos_lab as kl
from keykos_lab import analysis, datasets
from keykos_lab.datasets import _bundled

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"


def _build_module():
    spec = importlib.util.spec_from_file_location("keykos_datasets_build", DATA / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def copy_root(tmp_path, monkeypatch) -> Path:
    """A copy of the bundled datasets that the loader reads instead of the real ones."""
    root = tmp_path / "data"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_bundled, "_roots", lambda: [root])
    _bundled._load_index.cache_clear()
    yield root
    _bundled._load_index.cache_clear()


# --- what is there ------------------------------------------------------------------------


def test_the_checkout_copy_is_in_use():
    assert datasets.data_root() == DATA


def test_every_item_loads_as_its_kind():
    names = datasets.list()
    assert len(names) > 100 and names == sorted(names)
    kinds = {}
    for name in names:
        value = datasets.load(name)
        kind = datasets.info(name)["kind"]
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "events":
            assert isinstance(value, pd.DataFrame) and len(value) == datasets.info(name)["rows"]
        else:
            assert isinstance(value, nx.MultiDiGraph) and value.number_of_nodes() > 0
            if kind == "graph":
                i = datasets.info(name)
                assert (value.number_of_nodes(), value.number_of_edges()) == (
                    i["vertices"],
                    i["edges"],
                )
    assert kinds == {"events": 4, "graph": 4 + 12 + 41 + 41 + 1, "spec": 6}


def test_events_are_in_the_public_schema_and_equal_a_fresh_run():
    ev = datasets.load("runs/tso_setuid/events")
    fresh = kl.Kernel().events()
    assert list(ev.columns) == list(fresh.columns)
    assert dict(ev.dtypes) == dict(fresh.dtypes)
    from keykos_lab import scenarios

    again = scenarios.tso_setuid(kernel=kl.Kernel(seed=0)).kernel.events()
    assert ev.equals(again)


def test_run_graphs_equal_the_kernels_and_the_graphml_beside_them():
    from keykos_lab import scenarios

    rec = scenarios.empty_child(kernel=kl.Kernel(seed=0))
    G, H = rec.kernel.capability_graph(), datasets.load("runs/empty_child/graph")
    assert list(H.nodes(data=True)) == list(G.nodes(data=True))
    assert list(H.edges(keys=True, data=True)) == list(G.edges(keys=True, data=True))
    folder = DATA / "runs" / "empty_child"
    graphml = nx.read_graphml(folder / "graph.graphml")
    assert graphml.number_of_edges() == G.number_of_edges()
    record = datasets.info("runs/empty_child/graph")["graphml"]
    assert hashlib.sha256((folder / record["file"]).read_bytes()).hexdigest() == record["sha256"]


def test_cards_say_what_how_where_licence_and_columns():
    for dataset in sorted({datasets.info(n)["dataset"] for n in datasets.list()}):
        text = datasets.card(dataset)
        assert text.startswith(f"# {dataset}: "), dataset
        for part in ("**What.**", "**Where from.**", "**Licence.**", "**How made.**"):
            assert part in text, (dataset, part)
        assert "**Columns**" in text or "**Attributes**" in text, dataset
        assert datasets.card(datasets.list(dataset)[0]) == text


def test_derived_graphs_name_their_upstream_file_and_keep_its_licence():
    licences = {}
    for name in datasets.list():
        i = datasets.info(name)
        if i["dataset"] in ("examples",) or i["dataset"].startswith("runs/"):
            assert i["licence"] == "MIT"
            continue
        assert i["sources"], name
        for s in i["sources"]:
            assert datasets.MANIFESTS[i["upstream"]]["files"][s["path"]] == s["sha256"]
            assert re.fullmatch(r"[0-9a-f]{40}", s["commit"]) and s["commit"] in s["url"]
            assert s["url"].startswith(datasets.RAW_GITHUB + "/" + s["repository"][19:] + "/")
        licences[i["dataset"]] = i["licence"]
    assert licences == {
        "sel4-capdl": "BSD-2-Clause",
        "sel4-microkit-sdf": "BSD-2-Clause",
        "sel4-microkit-sdf-trusted-monitor": "BSD-2-Clause",
        "fuchsia-cml": "BSD-3-Clause",
    }
    for dataset, spdx in licences.items():
        text = (DATA / dataset / "LICENSE").read_text()
        assert f"SPDX-License-Identifier: {spdx}" in text
        assert "Redistribution and use in source and binary forms" in text


def test_the_three_client_server_examples_tell_one_story():
    capdl = datasets.load("examples/capdl/client_server.cdl")
    microkit = datasets.load("examples/microkit/client_server.system")
    cml = datasets.load("examples/cml/client_server")
    assert analysis.can_flow(capdl, "client_tcb", "server_tcb")
    assert analysis.can_flow(capdl, "server_tcb", "client_tcb")  # grant-reply: it answers
    assert analysis.can_flow(microkit, "client", "server")
    assert analysis.can_flow(cml, "root/client", "root/server")
    assert {u for u, _ in microkit.in_edges("mr:uart")} == {"server"}
    assert datasets.path("examples/capdl/client_server.cdl").read_text().startswith("--")


def test_catalog_has_a_row_per_item():
    c = datasets.catalog()
    assert c.name.tolist() == datasets.list()
    assert (c[c.kind == "graph"].vertices > 0).all() and (c[c.kind == "events"].rows > 0).all()


# --- made again, bit for bit --------------------------------------------------------------

#: Hand-written files under datasets/: inputs of _build.py, never written by it.
STATIC = re.compile(r"README\.md|_build\.py|[^/]+/LICENSE|examples/(?!dataset\.json$).+")


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_make_datasets_makes_the_same_bytes(tmp_path):
    """Compare a fresh build with the committed files. Parquet bytes are compared when
    the installed pyarrow is the one that wrote the file (its version is in the file's
    ``created_by``; with the same pyarrow the writer is deterministic: measured, identical
    bytes); otherwise the decoded frames are compared exactly and the records' checksums
    of the Parquet files are left out."""
    for name in datasets.KNOWN:
        if datasets.external(name, download=False) is None:
            pytest.skip(f"the upstream files of {name} are not on disk")
    made = _build_module().build(tmp_path / "out")
    out = tmp_path / "out"
    generated = {p.as_posix() for p in made}
    committed = _files(DATA)
    assert committed - generated == {f for f in committed if STATIC.fullmatch(f)}, (
        "datasets/ holds files `make datasets` does not make: stale? run `make datasets`"
    )
    assert generated <= committed, f"not committed: {sorted(generated - committed)[:5]}"
    writer = f"parquet-cpp-arrow version {pyarrow.__version__}"
    same_writer = all(
        pq.ParquetFile(DATA / f).metadata.created_by == writer
        for f in generated
        if f.endswith(".parquet")
    )
    stale = []
    for f in sorted(generated):
        new, old = (out / f).read_bytes(), (DATA / f).read_bytes()
        if f.endswith(".parquet"):
            assert pd.read_parquet(out / f).equals(pd.read_parquet(DATA / f)), f
            if same_writer and new != old:
                stale.append(f)
        elif f.endswith("dataset.json") and not same_writer:
            a, b = json.loads(new), json.loads(old)
            for rec in (a, b):
                for item in rec["items"].values():
                    if item.get("file", "").endswith(".parquet"):
                        item.pop("sha256"), item.pop("bytes")
            if a != b:
                stale.append(f)
        elif new != old:
            stale.append(f)
    assert not stale, f"differ from a fresh `make datasets`: {stale[:8]}"


# --- hostile names and damaged folders ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "runs",
        "runs/empty_child",
        "runs/empty_child/../empty_child/events",
        "../etc/passwd",
        "/etc/passwd",
        "x" * 10_000,
        None,
        3,
        b"runs/empty_child/events",
        ("a",),
    ],
)
def test_unknown_names_raise_unknown_dataset(name):
    with pytest.raises(datasets.UnknownDataset, match="unknown dataset item") as info:
        datasets.load(name)
    assert isinstance(info.value, ValueError) and isinstance(info.value, datasets.DatasetError)
    assert len(str(info.value)) < 1000
    with pytest.raises(datasets.UnknownDataset):
        datasets.path(name)


def test_unknown_dataset_for_list_and_card():
    with pytest.raises(datasets.UnknownDataset, match="unknown dataset 'nope'"):
        datasets.list("nope")
    with pytest.raises(datasets.UnknownDataset):
        datasets.card("nope")


def test_a_changed_file_is_refused(copy_root):
    target = copy_root / "runs" / "empty_child" / "events.parquet"
    target.write_bytes(target.read_bytes()[:-10] + b"\0" * 10)
    with pytest.raises(datasets.DatasetError, match="SHA-256 .* not the recorded"):
        datasets.load("runs/empty_child/events")
    (copy_root / "sel4-capdl" / "graphs" / "capDL-tool" / "example.cdl.json").write_text("{}")
    (copy_root / "fuchsia-cml" / "graphs" / "realms.json").unlink()
    with pytest.raises(datasets.DatasetError, match="is missing"):
        datasets.load("fuchsia-cml/realms")
    (copy_root / "examples" / "cml" / "offer_chain" / "c.cml").write_text("{}")
    with pytest.raises(datasets.DatasetError, match="SHA-256"):
        datasets.load("examples/cml/offer_chain")
    assert isinstance(datasets.load("runs/tso_setuid/events"), pd.DataFrame)  # the others


def _edit_record(root: Path, dataset: str, change) -> None:
    path = root / dataset / "dataset.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda r: r["items"]["events"].update(file="../../../etc/passwd"), "not a safe"),
        (lambda r: r["items"]["events"].update(file="/etc/passwd"), "not a safe"),
        (lambda r: r["items"]["events"].update(kind="pickle"), "no known kind"),
        (lambda r: r.update(items={}), "no items"),
        (lambda r: r.update(name="runs/other"), "not the record"),
        (lambda r: r["items"]["events"].update(file="graph.json", sha256=None), "SHA-256"),
    ],
)
def test_a_hostile_record_is_refused(copy_root, change, words):
    _edit_record(copy_root, "runs/empty_child", change)
    with pytest.raises(datasets.DatasetError, match=words):
        datasets.load("runs/empty_child/events")


@pytest.mark.parametrize(
    "index, words",
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"format": "keykos_lab-datasets", "version": 2, "datasets": []}', "version-1"),
        (b'{"format": "keykos_lab-datasets", "version": 1, "datasets": ["../x"]}', "not a safe"),
        (b'{"format": "keykos_lab-datasets", "version": 1, "datasets": ["nope"]}', "cannot read"),
        (b" " * (5 << 20), "larger than"),
    ],
)
def test_a_hostile_index_is_refused(copy_root, index, words):
    (copy_root / "index.json").write_bytes(index)
    with pytest.raises(datasets.DatasetError, match=words):
        datasets.list()


def test_a_parquet_file_not_in_the_event_schema_is_refused(copy_root):
    folder = copy_root / "runs" / "empty_child"
    pd.DataFrame({"seq": [1, 2]}).to_parquet(folder / "events.parquet")
    sha = hashlib.sha256((folder / "events.parquet").read_bytes()).hexdigest()
    _edit_record(copy_root, "runs/empty_child", lambda r: r["items"]["events"].update(sha256=sha))
    with pytest.raises(datasets.DatasetError, match="not in the public event schema"):
        datasets.load("runs/empty_child/events")


def test_no_bundled_data_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(_bundled, "_roots", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(datasets.DatasetError, match="the bundled datasets are missing"):
        datasets.list()


# --- upstream, or the bundled graph ------------------------------------------------------

ECHO = "sddf/examples/echo_server/board/qemu_virt_aarch64/echo_server.system"


def test_upstream_graph_offline_falls_back_to_the_bundled_graph(tmp_path, monkeypatch):
    raw = {}
    if all(datasets.external(n, download=False) for n in datasets.KNOWN):
        raw = {
            "capdl": datasets.upstream_graph("sel4-capdl", "capDL-tool/hello-dump.cdl"),
            "trusted": datasets.upstream_graph("sel4-microkit-sdf", ECHO, monitor=False),
        }
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "SHARED_EXTERNAL", tmp_path / "no-shared-folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(datasets.OFFLINE_VAR, "1")
    with pytest.warns(UserWarning, match="using the bundled graph derived from it"):
        capdl = datasets.upstream_graph("sel4-capdl", "capDL-tool/hello-dump.cdl")
    with pytest.warns(UserWarning, match="sel4-microkit-sdf-trusted-monitor/"):
        trusted = datasets.upstream_graph("sel4-microkit-sdf", ECHO, monitor=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert datasets.upstream_graph("fuchsia-cml").number_of_nodes() == 21
    assert not (tmp_path / "cache").exists()  # nothing was fetched, nothing half-written
    for mine, theirs in ((capdl, raw.get("capdl")), (trusted, raw.get("trusted"))):
        if theirs is not None:
            assert list(mine.nodes) == list(theirs.nodes)
            assert analysis.flows(mine).equals(analysis.flows(theirs))
    with pytest.raises(datasets.DatasetError, match="no graph derived from it is bundled"):
        datasets.upstream_graph("sel4-capdl", "capDL-tool/example.cdl")  # the reader rejects it
    with pytest.raises(datasets.UnknownDataset, match="unknown sel4-capdl file"):
        datasets.upstream_graph("sel4-capdl", "../../etc/passwd")
    with pytest.raises(datasets.UnknownDataset):
        datasets.upstream_graph("no-such-source", "x")


def test_readme_datasets_example_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "datasets.load" in b]
    exec(compile(block, "README.md", "exec"), {})
    promised = block.strip().splitlines()[-1].removeprefix("# ")
    assert capsys.readouterr().out.strip() == promised


def test_no_dataset_names_a_path_of_the_machine_that_made_it():
    """Found by a fresh clone's CI (session 7): the derived graphs recorded the absolute
    path of the upstream file they were read from, so a build elsewhere differed."""
    roots = {str(ROOT), str(ROOT.parent), str(Path.home())}
    for name in datasets.KNOWN:
        found = datasets.external(name, download=False)
        if found is not None:
            roots.add(str(Path(found).resolve().parent))
    for f in sorted(_files(DATA)):
        if f.endswith(".json") or f.endswith(".graphml") or f.endswith(".md"):
            text = (DATA / f).read_text(errors="replace")
            assert not [r for r in roots if r.rstrip("/") + "/" in text], f"{f} names a local path"
