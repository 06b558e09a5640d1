"""pytest's hooks for the whole checkout (the tests' own fixtures are in tests/conftest.py).

When the compiled kernel runs (``make compiled``; docs/decisions/0017-compiled-kernel.md),
its modules are extension modules: their doctests cannot be collected from them, and
pytest would refuse the mismatch between a ``.py`` file and the module imported under its
name. Their doctests run against the source, in the pure-Python run (``make test``).
"""

from __future__ import annotations

from pathlib import Path

from keykos_lab.kernel import native

_COMPILED = {native.source_of(m).resolve() for m in native.MODULES} if native.in_use() else set()


def pytest_ignore_collect(collection_path: Path, config: object) -> bool | None:
    return True if collection_path.resolve() in _COMPILED else None
