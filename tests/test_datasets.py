"""keykos_lab.datasets, the upstream files: finding, downloading with pooch (from a local HTTP
server) and verifying. The bundled datasets: tests/test_bundled_datasets.py."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from keykos_lab import datasets as ds

SHARED = ds.SHARED_EXTERNAL
FAKE_COMMIT = "0123456789abcdef" * 2 + "01234567"


def _shared_or_skip(name: str) -> Path:
    folder = SHARED / name
    if not (folder / "PROVENANCE.md").is_file():
        pytest.skip(f"no local copy of {name} at {folder}")
    return folder


@pytest.fixture
def isolated(monkeypatch, tmp_path) -> Path:
    """No env var, no shared folder, an empty cache under tmp_path; returns the cache root."""
    monkeypatch.delenv(ds.ENV_VAR, raising=False)
    monkeypatch.setattr(ds, "SHARED_EXTERNAL", tmp_path / "no-shared-folder")
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path, monkeypatch) -> Iterator[Path]:
    """Serve ``tmp_path/served`` on 127.0.0.1 and point ``UPSTREAM_BASE`` at it."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setattr(ds, "UPSTREAM_BASE", f"http://127.0.0.1:{httpd.server_address[1]}")
    try:
        yield root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _serve(root: Path, url: str, data: bytes) -> None:
    """Put ``data`` where the server answers for ``url`` (a raw.githubusercontent URL)."""
    dest = root / url.removeprefix(ds.RAW_GITHUB + "/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


@pytest.fixture
def tiny(monkeypatch) -> dict[str, bytes]:
    """A made-up dataset ``tiny`` of three small files, added to MANIFESTS."""
    contents = {
        "a.txt": b"alpha\n",
        "sub/b.txt": b"beta\n",
        "sub/deeper/c.bin": bytes(range(256)),
    }
    entry = {
        "files": {p: hashlib.sha256(b).hexdigest() for p, b in contents.items()},
        "url": {p: f"{ds.RAW_GITHUB}/example/tiny/{FAKE_COMMIT}/{p}" for p in contents},
    }
    monkeypatch.setitem(ds.MANIFESTS, "tiny", entry)
    return contents


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- embedded manifests ---------------------------------------------------------------


@pytest.mark.parametrize("name", ds.KNOWN)
def test_embedded_manifest_matches_provenance(name):
    text = (_shared_or_skip(name) / "PROVENANCE.md").read_text(encoding="utf-8")
    assert ds.parse_provenance(text) == ds.MANIFESTS[name]


def test_manifest_shape():
    assert sorted(ds.KNOWN) == ["fuchsia-cml", "sel4-capdl", "sel4-microkit-sdf"]
    for name in ds.KNOWN:
        rows = ds.manifest(name)
        assert rows and [r[0] for r in rows] == sorted(r[0] for r in rows)
        for path, sha, url in rows:
            assert len(sha) == 64 and int(sha, 16) >= 0
            assert url.startswith(ds.RAW_GITHUB + "/") and url.endswith(path.split("/")[-1])
    urls = dict((p, u) for p, _, u in ds.manifest("sel4-microkit-sdf"))
    assert urls["microkit/example/hello/hello.system"] == (
        f"{ds.RAW_GITHUB}/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915"
        "/example/hello/hello.system"
    )
    assert (
        "/au-ts/lionsos/79c6be53ee3274ed4fb1eab330e835ffe9267a84/examples/webserver/"
        in (urls["lionsos/examples/webserver/board/odroidc4/webserver.system"])
    )
    assert all("/vsrinivas/fuchsia/" in u for _, _, u in ds.manifest("fuchsia-cml"))


def test_parse_provenance_errors():
    sha = "1" * 64
    two = "| `d/` | https://github.com/o/r | `{c}` | `*.txt` |\n"
    with pytest.raises(ValueError, match="several commits"):
        ds.parse_provenance(two.format(c="a" * 40) + two.format(c="b" * 40) + f"{sha}  d/x.txt\n")
    with pytest.raises(ValueError, match="no commit"):
        ds.parse_provenance(f"https://github.com/o/r\n```\n{sha}  x.txt\n```\n")
    with pytest.raises(ValueError, match="no '<sha256>"):
        ds.parse_provenance("nothing here")


def test_unknown_name():
    for call in (ds.external, ds.verify, ds.manifest, ds.cache_dir):
        with pytest.raises(ValueError, match="known: fuchsia-cml, sel4-capdl, sel4-microkit-sdf"):
            call("no-such-dataset")


# --- finding a local copy ---------------------------------------------------------------


@pytest.mark.parametrize("name", ds.KNOWN)
def test_local_copy_found_and_intact(monkeypatch, name):
    folder = _shared_or_skip(name)
    monkeypatch.delenv(ds.ENV_VAR, raising=False)
    assert ds.external(name) == folder
    assert ds.verify(name) == []


def test_env_var_wins(monkeypatch, tmp_path, tiny):
    folder = tmp_path / "elsewhere" / "tiny"
    for path, data in tiny.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    shared = tmp_path / "shared"
    (shared / "tiny").mkdir(parents=True)
    monkeypatch.setattr(ds, "SHARED_EXTERNAL", shared)
    monkeypatch.setenv(ds.ENV_VAR, str(tmp_path / "elsewhere"))
    assert ds.external("tiny") == folder
    assert ds.verify("tiny") == []
    (folder / "sub" / "b.txt").write_bytes(b"changed\n")
    (folder / "a.txt").unlink()
    assert ds.verify("tiny") == ["a.txt", "sub/b.txt"]
    monkeypatch.setenv(ds.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(ds.DatasetError, match="KEYKOS_LAB_EXTERNAL"):
        ds.external("tiny")
    monkeypatch.delenv(ds.ENV_VAR)
    assert ds.external("tiny") == shared / "tiny"


# --- downloading --------------------------------------------------------------------------


def test_download_to_cache(isolated, server, tiny):
    for path, _, url in ds.manifest("tiny"):
        _serve(server, url, tiny[path])
    folder = ds.external("tiny")
    assert folder == isolated / "keykos_lab" / "external" / "tiny"
    assert _files(folder) == sorted(tiny)
    assert ds.verify("tiny") == []
    # a complete cache is used as it is, without the server
    shutil.rmtree(server)
    assert ds.external("tiny") == folder
    # a damaged cached file is fetched again (and only it)
    server.mkdir()
    _serve(server, ds.MANIFESTS["tiny"]["url"]["a.txt"], tiny["a.txt"])
    (folder / "a.txt").write_bytes(b"damaged")
    assert ds.external("tiny") == folder
    assert (folder / "a.txt").read_bytes() == tiny["a.txt"]


def test_download_real_layout(isolated, server):
    """The real fuchsia-cml manifest, served from copies of the shared files."""
    shared = _shared_or_skip("fuchsia-cml")
    for path, _, url in ds.manifest("fuchsia-cml"):
        _serve(server, url, (shared / path).read_bytes())
    folder = ds.external("fuchsia-cml")
    assert folder == ds.cache_dir("fuchsia-cml") and folder.is_relative_to(isolated)
    assert ds.verify("fuchsia-cml") == []
    assert len(_files(folder)) == 9


def test_corrupted_download(isolated, server, tiny):
    for path, _, url in ds.manifest("tiny"):
        _serve(server, url, tiny[path] if path != "sub/b.txt" else b"not beta\n")
    with pytest.raises(ds.DatasetError, match=r"sub/b\.txt: SHA-256 mismatch"):
        ds.external("tiny")
    cache = ds.cache_dir("tiny")
    assert not (cache / "sub" / "b.txt").exists()
    assert "sub/b.txt" not in _files(cache)
    assert set(_files(cache)) <= {"a.txt", "sub/deeper/c.bin"}  # no temporary file left


def test_missing_upstream_file(isolated, server, tiny):
    for path, _, url in ds.manifest("tiny"):
        if path != "sub/deeper/c.bin":
            _serve(server, url, tiny[path])
    with pytest.raises(ds.DatasetError, match=r"sub/deeper/c\.bin: download failed: HTTP 404"):
        ds.external("tiny")
    cache = ds.cache_dir("tiny")
    assert not (cache / "sub" / "deeper" / "c.bin").exists()
    assert set(_files(cache)) <= {"a.txt", "sub/b.txt"}  # no temporary file left


def test_unreachable_server(isolated, monkeypatch, tiny):
    monkeypatch.setattr(ds, "UPSTREAM_BASE", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setattr(ds, "TIMEOUT", 2.0)
    with pytest.raises(ds.DatasetError, match="download failed"):
        ds.external("tiny")


def test_without_download_a_missing_dataset_is_none(tmp_path, monkeypatch):
    monkeypatch.delenv(ds.ENV_VAR, raising=False)
    monkeypatch.setattr(ds, "SHARED_EXTERNAL", tmp_path / "nowhere")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(ds, "UPSTREAM_BASE", "http://127.0.0.1:9")  # never reached
    assert ds.external("fuchsia-cml", download=False) is None


def test_offline_forbids_downloads(isolated, server, tiny, monkeypatch):
    for path, _, url in ds.manifest("tiny"):
        _serve(server, url, tiny[path])
    monkeypatch.setenv(ds.OFFLINE_VAR, "1")
    with pytest.raises(ds.DatasetError, match="KEYKOS_LAB_OFFLINE forbids"):
        ds.external("tiny")
    assert not ds.cache_dir("tiny").exists()
    monkeypatch.setenv(ds.OFFLINE_VAR, "0")
    assert ds.verify("tiny") == []


def test_downloads_go_through_pooch(isolated, server, tiny, monkeypatch):
    import pooch

    calls = []
    real = pooch.Pooch.fetch

    def spy(self, fname, *args, **kwargs):
        calls.append(fname)
        return real(self, fname, *args, **kwargs)

    monkeypatch.setattr(pooch.Pooch, "fetch", spy)
    for path, _, url in ds.manifest("tiny"):
        _serve(server, url, tiny[path])
    ds.external("tiny")
    assert sorted(calls) == ["a.txt", "b.txt", "c.bin"]


def test_an_installed_wheel_has_no_shared_folder(monkeypatch, tmp_path):
    """Outside a checkout there is nothing to be beside: SHARED_EXTERNAL is None and the
    lookup goes on to the cache (it no longer points into site-packages/../../shared)."""
    fake = tmp_path / "site-packages" / "keykos_lab" / "datasets" / "__init__.py"
    fake.parent.mkdir(parents=True)
    monkeypatch.setattr(ds, "__file__", str(fake))
    assert ds._checkout_shared() is None
    monkeypatch.setattr(ds, "SHARED_EXTERNAL", None)
    monkeypatch.delenv(ds.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ds.external("fuchsia-cml", download=False) is None
