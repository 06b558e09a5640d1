"""Build hook: compile the kernel's hot modules with mypyc, from the same source, when asked.

hatchling runs :class:`CompiledKernel` for every wheel (and editable) build. When it is asked
(``KEYKOS_LAB_COMPILE=1``), a C compiler and Python's headers are here and ``KEYKOS_LAB_PURE``
is not set, it asks for mypy and setuptools as build dependencies, compiles the modules
``keykos_lab/kernel/native.py`` lists, and puts the extension modules and their record
(``native.json``) in the wheel (or, for an editable install, beside the sources). If anything
fails it says so and the build goes on pure Python: the kit works the same
(docs/decisions/0017-compiled-kernel.md).

``python hatch_build.py`` compiles in place (what ``make compiled`` runs), ``--if-stale``
only when a build is here and its record does not match the source, ``--clean`` removes
the build; ``KEYKOS_LAB_COMPILE=require`` turns a failed compile into a failed build.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent
NATIVE = ROOT / "keykos_lab" / "kernel" / "native.py"
BUILD_REQUIRES = ["mypy>=1.10", "setuptools>=69"]

_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
files, group = sys.argv[1].split(","), sys.argv[2]
sys.argv[1:] = ["build_ext", "--inplace"]
setup(name="keykos_lab_kernel", packages=[], ext_modules=mypycify(
    ["--follow-imports=silent", *files], opt_level="3", separate=[(files, group)]))
"""


def _native() -> ModuleType:
    """``keykos_lab/kernel/native.py`` by its path: the list of modules and the staleness
    rule live there once. It needs only the standard library, so the build environment
    (which has not the kit's dependencies) can load it without importing the package."""
    spec = importlib.util.spec_from_file_location("_keykos_lab_native", NATIVE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def why_not(asked: bool = False) -> str | None:
    """None when the kernel is to be compiled here, else why not. An install compiles only
    when asked (``KEYKOS_LAB_COMPILE=1``; ``make compiled`` asks): with its classes kept
    ordinary Python classes the compiled kernel is not faster (decision 0017)."""
    if os.environ.get("KEYKOS_LAB_PURE", "") not in ("", "0"):
        return "KEYKOS_LAB_PURE is set"
    if not asked and os.environ.get("KEYKOS_LAB_COMPILE", "") not in ("1", "require"):
        return "not asked for: KEYKOS_LAB_COMPILE=1 compiles it"
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split() or ["cc"]
    if shutil.which(cc[0]) is None:
        return f"no C compiler ({cc[0]})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h)"
    return None


def compile_kernel(dest: Path) -> list[Path]:
    """Compile the kernel modules from a copy of the package; put the extension modules and
    the record under ``dest`` (the folder holding ``keykos_lab``); the files written."""
    native = _native()
    modules: tuple[str, ...] = native.MODULES
    group: str = native.GROUP
    with tempfile.TemporaryDirectory(prefix="keykos_lab-mypyc-") as tmp:
        work = Path(tmp)
        shutil.copytree(
            ROOT / "keykos_lab",
            work / "keykos_lab",
            ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "static", "*.json"),
        )
        files = [str(Path(*m.split(".")).with_suffix(".py")) for m in modules]
        done = subprocess.run(
            [sys.executable, "-c", _SETUP, ",".join(files), group],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mypyc failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        wanted = [Path(*m.split(".")).with_suffix("") for m in modules]
        wanted.append(Path(*(group + "__mypyc").split(".")))
        written = []
        for stem in wanted:
            built = work / stem.with_name(stem.name + suffix)
            if not built.exists():
                raise RuntimeError(f"mypyc did not make {built.name}")
            target = dest / built.relative_to(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built, target)
            written.append(target)
        sources = native.fingerprints(modules, root=work)
        record = dest / "keykos_lab" / "kernel" / "native.json"
        record.write_text(json.dumps({"sources": sources}, indent=1) + "\n", encoding="utf-8")
        written.append(record)
    return written


def stale(dest: Path = ROOT) -> bool:
    """Whether a compiled build sits in ``dest`` that does not match the source."""
    return (_native().build_state(dest) or "").startswith("stale")


def clean(dest: Path = ROOT) -> None:
    """Remove a compiled kernel from the source tree (``make pure``)."""
    kernel = dest / "keykos_lab" / "kernel"
    for path in [*kernel.rglob("*.so"), *kernel.rglob("*.pyd"), kernel / "native.json"]:
        path.unlink(missing_ok=True)


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script outside a build: only compile_kernel is needed
    BuildHookInterface = object  # type: ignore[misc,assignment]


class CompiledKernel(BuildHookInterface):  # type: ignore[misc,valid-type]
    """hatchling's custom build hook (``[tool.hatch.build.targets.wheel.hooks.custom]``)."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        return BUILD_REQUIRES if why_not() is None else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        why = why_not()
        if why is not None:
            print(f"keykos_lab: pure-Python kernel ({why})", file=sys.stderr)
            return
        try:
            if version == "editable":  # the sources are imported in place: compile beside them
                clean()
                compile_kernel(ROOT)
                return
            out = Path(self.directory) / "mypyc-out"
            shutil.rmtree(out, ignore_errors=True)
            for path in compile_kernel(out):
                build_data["force_include"][str(path)] = str(path.relative_to(out))
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
        except Exception as failed:  # noqa: BLE001 — any failure: say it, build pure
            if os.environ.get("KEYKOS_LAB_COMPILE") == "require":
                raise
            print(f"keykos_lab: the kernel did not compile; pure Python: {failed}", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        clean()
        print("keykos_lab: compiled kernel removed; the pure-Python kernel runs")
        sys.exit(0)
    if_stale = sys.argv[1:] == ["--if-stale"]
    if if_stale and not stale():
        sys.exit(0)
    reason = why_not(asked=True)
    if reason is not None:
        if if_stale:  # the stale build is passed over at import: the source runs
            clean()
            print(f"keykos_lab: stale compiled kernel removed, not rebuilt ({reason})")
            sys.exit(0)
        sys.exit(f"keykos_lab: cannot compile the kernel here: {reason}")
    clean()
    for path in compile_kernel(ROOT):
        print(path.relative_to(ROOT))
