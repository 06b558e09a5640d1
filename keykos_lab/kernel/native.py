"""The compiled kernel: which modules mypyc builds from this same source, and whether they run.

The kernel's hot modules (:data:`MODULES`) are ordinary, fully typed Python. When a C
compiler is at hand, ``pip install`` (the build hook ``hatch_build.py``) or ``make compiled``
compiles them with mypyc into extension modules that sit beside their ``.py`` files; there
is no second kernel to keep faithful (docs/decisions/0017-compiled-kernel.md). Python imports
an extension module before a source file of the same name, so the compiled kernel runs
unless :func:`choose` (called when :mod:`keykos_lab.kernel` is first imported) says not to:

- ``KEYKOS_LAB_PURE=1`` in the environment asks for the pure-Python kernel;
- a build whose record (``native.json`` beside this file: the SHA-256 of every module's
  source when it was compiled) does not match the source now (a module edited since, or a
  record missing) is stale: the whole kernel runs from source, with a warning. Compiled
  modules call each other directly in C, so they are used all together or not at all.

``keykos_lab.compiled`` says which kernel runs; :data:`STATUS` says why.

>>> STATUS in ("compiled", "pure: no compiled build", "pure: KEYKOS_LAB_PURE=1") or STATUS
True
>>> "keykos_lab.kernel.fastpath" in MODULES
True
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what mypyc reads; at run time the kernel needs nothing outside the stdlib
    from mypy_extensions import mypyc_attr
else:

    def mypyc_attr(*_args: Any, **_flags: Any) -> Callable[[Any], Any]:
        """The marks mypyc reads on a class (``native_class=False`` …); nothing at run time."""
        return lambda cls: cls


#: The modules mypyc compiles, in one group (one shared library,
#: ``keykos_lab/kernel/_compiled__mypyc*.so``). The classes whose instances the history
#: re-classes, or that are subclassed in Python (``views.lab.Kernel``, the referee's
#: instrumented kernel), stay ordinary Python classes (``mypyc_attr(native_class=False)``):
#: their methods are compiled, their instances behave as before.
MODULES: tuple[str, ...] = (
    "keykos_lab.kernel.keys",
    "keykos_lab.kernel.oc",
    "keykos_lab.kernel.objects",
    "keykos_lab.kernel.domains",
    "keykos_lab.kernel.state",
    "keykos_lab.kernel.meters",
    "keykos_lab.kernel.gates",
    "keykos_lab.kernel.keepers",
    "keykos_lab.kernel.memory",
    "keykos_lab.kernel.invocation",
    "keykos_lab.kernel.core",
    "keykos_lab.kernel.process",
    "keykos_lab.kernel.ops",
    "keykos_lab.kernel.eventlog",
    "keykos_lab.kernel.fastpath",
    "keykos_lab.kernel.segments",
    "keykos_lab.kernel.orders.data",
    "keykos_lab.kernel.orders.domain",
    "keykos_lab.kernel.orders.misc",
    "keykos_lab.kernel.orders.node",
    "keykos_lab.kernel.orders.page",
    "keykos_lab.kernel.orders.range",
    "keykos_lab.kernel.orders.reply",
    "keykos_lab.kernel.orders.segment",
)
#: The compiled group's name (its shared library is ``<GROUP>__mypyc``).
GROUP = "keykos_lab.kernel._compiled"
#: The build's record, beside this file: ``{"sources": {module: sha256 of its source}}``.
RECORD = Path(__file__).with_name("native.json")
#: Why the kernel runs as it does: "compiled", or "pure: <reason>".
STATUS = "pure: not chosen yet"

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def source_of(module: str, root: Path = _PACKAGE_ROOT) -> Path:
    """The ``.py`` file of ``module`` under ``root`` (the folder holding ``keykos_lab``).

    >>> source_of("keykos_lab.kernel.core").name
    'core.py'
    """
    return root.joinpath(*module.split(".")).with_suffix(".py")


def fingerprints(modules: Sequence[str] = MODULES, root: Path = _PACKAGE_ROOT) -> dict[str, str]:
    """The SHA-256 of each module's source: what a build records and :func:`choose` checks.

    >>> len(fingerprints(("keykos_lab.kernel.oc",))["keykos_lab.kernel.oc"])
    64
    """
    return {m: hashlib.sha256(source_of(m, root).read_bytes()).hexdigest() for m in modules}


def _built(module: str, root: Path) -> bool:
    """Whether an extension module for ``module`` sits beside its source."""
    src = source_of(module, root)
    return any(
        src.with_name(src.stem + suffix).exists()
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def build_state(root: Path = _PACKAGE_ROOT) -> str | None:
    """None when a compiled build under ``root`` matches the source; else
    ``"no compiled build"`` or why it is stale (``"stale build: …"``). The build hook
    (``hatch_build.py --if-stale``) asks the same question.

    >>> build_state() in (None, "no compiled build") or build_state().startswith("stale")
    True
    """
    built = [m for m in MODULES if _built(m, root)]
    if not built:
        return "no compiled build"
    if len(built) != len(MODULES) or not _built(GROUP + "__mypyc", root):
        return f"stale build: {len(MODULES) + 1 - len(built)} extension module(s) missing"
    record = source_of("keykos_lab.kernel.native", root).with_name(RECORD.name)
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"stale build: no readable record {RECORD.name}"
    now = fingerprints(root=root)
    changed = (
        sorted(m for m in MODULES if recorded.get(m) != now[m])
        if isinstance(recorded, dict)
        else list(MODULES)
    )
    if changed:
        return f"stale build: source changed since it was compiled ({', '.join(changed)})"
    return None


def _why_pure() -> str | None:
    """None when the compiled modules may run, else why not."""
    if os.environ.get("KEYKOS_LAB_PURE", "") not in ("", "0"):
        return "KEYKOS_LAB_PURE=1"
    return build_state()


def in_use() -> bool:
    """Whether the kernel modules imported so far are the compiled ones (all of them).

    >>> in_use() == (STATUS == "compiled")
    True
    """
    loaded = [sys.modules[m] for m in MODULES if m in sys.modules]
    return bool(loaded) and all(not str(getattr(m, "__file__", "")).endswith(".py") for m in loaded)


class _SourceFinder:
    """Finds the compiled modules' ``.py`` files, passing over their extension modules."""

    @staticmethod
    def find_spec(
        fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_of(fullname))


def choose() -> str:
    """Decide once, before any kernel module is imported, which kernel runs; the
    :data:`STATUS`. A stale build warns (``RuntimeWarning``) and runs the source.

    >>> choose() == STATUS
    True
    """
    global STATUS
    if STATUS != "pure: not chosen yet":
        return STATUS
    why = _why_pure()
    if why is None:
        STATUS = "compiled"
        return STATUS
    if why.startswith("stale"):
        warnings.warn(
            f"keykos_lab: the compiled kernel is out of date ({why}); running the "
            f"pure-Python kernel. `make compiled` (or reinstalling) rebuilds it.",
            RuntimeWarning,
            stacklevel=2,
        )
    if why != "no compiled build" and not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())
    STATUS = f"pure: {why}"
    return STATUS
