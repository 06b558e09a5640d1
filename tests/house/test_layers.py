"""The house rules about imports: layers in one direction, no cycles, a stdlib-only kernel.

The layer order is written here once; docs/decisions/0012-layering.md explains it.
Every ``import`` in every module counts, wherever it stands (in a function, under
``TYPE_CHECKING``): an import that only runs later still ties the two modules.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "keykos_lab"

#: Lowest first. A module may import its own layer and the layers before it.
LAYERS: list[tuple[str, ...]] = [
    ("kernel",),
    ("programs",),
    ("system",),
    ("views",),
    ("readers", "analysis", "datasets", "io"),
    ("scenarios",),
    ("plot", "widgets", "sweep", "cli", "demo"),
]
RANK = {top: i for i, layer in enumerate(LAYERS) for top in layer}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` for every import in ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return out


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "keykos_lab" or len(parts) < 2:
        return None
    return RANK.get(parts[1])


def test_every_top_level_module_has_a_layer():
    tops = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    assert tops <= set(RANK), f"modules with no layer: {sorted(tops - set(RANK))}"


def upward(module: str, found: list[tuple[int, str]]) -> list[str]:
    """The imports in ``found`` that reach a layer above ``module``'s."""
    mine = layer_of(module)
    if mine is None:  # keykos_lab/__init__.py: the face imports all
        return []
    return [
        f"line {line}: {target} (layer {layer_of(target)}: {LAYERS[layer_of(target)]})"
        for line, target in found
        if layer_of(target) is not None and layer_of(target) > mine
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_reaches_up(module):
    bad = upward(module, imports(MODULES[module]))
    assert not bad, f"{module} (layer {layer_of(module)}) imports upward: {bad}"


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    """:func:`imports` but those under ``if TYPE_CHECKING:``, which never run (the kernel
    names mypyc's class marks there: ``kernel/native.py``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    lines = {
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) in typing_only
    }
    return [(line, target) for line, target in imports(path) if line not in lines]


def test_typing_only_imports_are_told_apart():
    """The exception above covers exactly the TYPE_CHECKING block: native.py's import of
    mypy_extensions is typing-only, its other imports are not."""
    path = MODULES["keykos_lab.kernel.native"]
    every, run = set(imports(path)), set(runtime_imports(path))
    assert {t for _, t in every - run} == {"mypy_extensions", "mypy_extensions.mypyc_attr"}
    assert any(t == "hashlib" for _, t in run)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) == 0))
def test_kernel_imports_only_the_standard_library(module):
    outside = sorted(
        {target.split(".")[0] for _, target in runtime_imports(MODULES[module])}
        - {"keykos_lab", "__future__"}
        - set(sys.stdlib_module_names)
    )
    assert not outside, f"{module} imports {outside}; the kernel is standard-library only"


def _graph() -> dict[str, set[str]]:
    faces = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    return {
        m: {t for _, t in imports(p) if t in MODULES and t != m and t not in faces}
        for m, p in MODULES.items()
        if m not in faces
    }


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """One path per back edge of a depth-first search: every cycle shows up at least once."""
    cycles: list[str] = []
    colour: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        colour[m] = 1
        for t in sorted(graph.get(m, ())):
            if colour.get(t) == 1:
                cycles.append(" -> ".join(path[path.index(t) :] + [t]))
            elif t not in colour:
                visit(t, path + [t])
        colour[m] = 2

    for m in sorted(graph):
        if m not in colour:
            visit(m, [m])
    return cycles


def test_no_import_cycles():
    cycles = find_cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_rules_can_fail(tmp_path, monkeypatch):
    """Each check sees what it must: an upward import inside a function, a third-party
    import in the kernel, a cycle."""
    probe = PACKAGE / "kernel" / "_probe.py"
    probe_text = "def f():\n    from keykos_lab.views import frames\n    import numpy\n"
    assert upward("keykos_lab.kernel._probe", [(2, "keykos_lab.views.frames")])
    assert not upward("keykos_lab.views.frames", [(2, "keykos_lab.kernel.core")])
    fake = tmp_path / "keykos_lab" / "kernel"
    fake.mkdir(parents=True)
    (fake / "_probe.py").write_text(probe_text)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "keykos_lab")
    found = imports(fake / "_probe.py")
    assert (2, "keykos_lab.views") in found and (3, "numpy") in found
    assert not probe.exists()
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a -> b -> c -> a"]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
