"""Which kernel runs: the compiled build's choice (kernel/native.py) and the build hook's.

The choice is made once per process, so each case runs in a fresh interpreter over a copy of
the package in which extension modules are faked (an empty file with an extension suffix
is never imported: the copy's finder sends every kernel module to its source, or the case
checks a path on which no import happens).
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import keykos_lab as kl
from keykos_lab.kernel import native

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]

PROBE = """
import warnings, json
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as seen:
    import keykos_lab.kernel as kernel
    from keykos_lab.kernel import core, native
print(json.dumps({"status": native.STATUS, "core": core.__file__,
                  "warned": [str(w.message) for w in seen if w.category is RuntimeWarning]}))
"""


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "keykos_lab" / "kernel",
        tmp_path / "keykos_lab" / "kernel",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "native.json"),
    )
    # A package face with nothing but the kernel: the probe imports keykos_lab.kernel only.
    (tmp_path / "keykos_lab" / "__init__.py").write_text("")
    return tmp_path


def _fake_build(tree: Path, record: dict | None, group: bool = True) -> None:
    for module in (*native.MODULES, *([native.GROUP + "__mypyc"] if group else [])):
        src = native.source_of(module, tree)
        src.with_name(src.stem + SUFFIX).write_bytes(b"")  # never imported (see the module)
    if record is not None:
        (tree / "keykos_lab" / "kernel" / "native.json").write_text(json.dumps(record))


def _probe(tree: Path, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("KEYKOS_LAB_PURE", "PYTHONPATH")}
    environ.update(env, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tree, env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_a_build_the_source_runs_and_says_so(tmp_path):
    tree = _copy(tmp_path)
    seen = _probe(tree)
    assert seen["status"] == "pure: no compiled build" and seen["core"].endswith("core.py")
    assert seen["warned"] == []


def test_a_stale_build_runs_the_source_with_a_warning(tmp_path):
    """A record that does not match the source now (one module edited since the build):
    every kernel module comes from source, since compiled modules call each other in C."""
    tree = _copy(tmp_path)
    record = native.fingerprints(root=tree)
    record["keykos_lab.kernel.fastpath"] = "0" * 64
    _fake_build(tree, {"sources": record})
    seen = _probe(tree)
    assert seen["status"].startswith("pure: stale build: source changed")
    assert "keykos_lab.kernel.fastpath" in seen["status"]
    assert seen["core"].endswith("core.py")
    assert len(seen["warned"]) == 1 and "out of date" in seen["warned"][0]


def test_a_build_without_its_shared_library_is_stale(tmp_path):
    """The modules' shims are there but not the library they load: importing them would
    fail, so the source runs."""
    tree = _copy(tmp_path)
    _fake_build(tree, {"sources": native.fingerprints(root=tree)}, group=False)
    seen = _probe(tree)
    assert seen["status"].startswith("pure: stale build: 1 extension module(s) missing")
    assert seen["core"].endswith("core.py")


@pytest.mark.parametrize("record", [None, {"sources": "not a dict"}, {"other": 1}])
def test_a_build_without_a_readable_record_is_stale(tmp_path, record):
    tree = _copy(tmp_path)
    _fake_build(tree, record)
    seen = _probe(tree)
    assert seen["status"].startswith("pure: stale build") and seen["core"].endswith("core.py")


def test_the_environment_can_ask_for_the_pure_kernel(tmp_path):
    tree = _copy(tmp_path)
    _fake_build(tree, {"sources": native.fingerprints(root=tree)})
    seen = _probe(tree, KEYKOS_LAB_PURE="1")
    assert seen["status"] == "pure: KEYKOS_LAB_PURE=1" and seen["core"].endswith("core.py")
    assert seen["warned"] == []


def test_the_package_says_which_kernel_runs():
    assert kl.compiled is native.in_use()
    assert kl.compiled == (native.STATUS == "compiled")


def test_the_modules_listed_exist_and_the_hook_reads_the_same_list():
    hatch_build = _hook()
    assert hatch_build._native().MODULES == native.MODULES
    assert hatch_build._native().GROUP == native.GROUP
    assert all(native.source_of(m).exists() for m in native.MODULES)


def _hook():
    sys.path.insert(0, str(ROOT))
    try:
        import hatch_build
    finally:
        sys.path.remove(str(ROOT))
    return hatch_build


def test_the_hook_compiles_only_when_asked_and_able(monkeypatch):
    hatch_build = _hook()
    monkeypatch.delenv("KEYKOS_LAB_COMPILE", raising=False)
    monkeypatch.delenv("KEYKOS_LAB_PURE", raising=False)
    assert hatch_build.why_not() == "not asked for: KEYKOS_LAB_COMPILE=1 compiles it"
    monkeypatch.setenv("KEYKOS_LAB_PURE", "1")
    assert hatch_build.why_not(asked=True) == "KEYKOS_LAB_PURE is set"
    monkeypatch.setenv("KEYKOS_LAB_PURE", "0")
    monkeypatch.setenv("KEYKOS_LAB_COMPILE", "1")
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert hatch_build.why_not().startswith("no C compiler")


def test_the_hook_knows_a_stale_build(tmp_path):
    """``make test`` rebuilds first when a kernel source changed since the build."""
    hatch_build = _hook()
    tree = _copy(tmp_path)
    assert not hatch_build.stale(tree)  # no build: nothing to rebuild
    _fake_build(tree, {"sources": native.fingerprints(root=tree)})
    assert not hatch_build.stale(tree)
    core = native.source_of("keykos_lab.kernel.core", tree)
    core.write_text(core.read_text() + "\n# edited\n")
    assert hatch_build.stale(tree)
