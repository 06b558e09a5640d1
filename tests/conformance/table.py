"""Write docs/conformance.md: the C release's orders, key type by key type, against the tests.

``python -m tests.conformance.table`` (or ``make conformance-table``) reads the orders of
:mod:`tests.conformance.catalogue`, the docstrings of every ``test_*`` function in
``tests/conformance/test_*.py`` (read as text, nothing is imported or run) and writes the
page. A test belongs to an order when a ``file.c:line`` it cites falls in the order's lines
(or when the order names it); its status is a **departure** when its docstring says
``Departure … (docs/fidelity.md, row)``, else **identical**. An order with no test is
**missing**, with the row of docs/fidelity.md that declares it when there is one. The
output depends only on those files, so tests/house/test_conformance_table.py can check
that the page is up to date. ``--check-mirror [PATH]`` also checks the catalogue against a
local mirror of the C release (optional; the mirror is not needed otherwise).

>>> cites("jpagec.c:151, 185-187: alter_page_state; primcomc.c:35")
[('jpagec.c', 151, 151), ('jpagec.c', 185, 187), ('primcomc.c', 35, 35)]
>>> departure("Departure (docs/fidelity.md, Page TestForZeroes): the loop never runs.")
'Page TestForZeroes'
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from tests.conformance.catalogue import KEY_TYPES, ORDERS, Order

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUTPUT = ROOT / "docs" / "conformance.md"
MIRROR = Path("/work/.mirror/void4+KeyKOS/repo")

_CITE = re.compile(r"\b([A-Za-z_]\w*\.(?:c|ck|h|s)):(\d+(?:-\d+)?(?:, \d+(?:-\d+)?)*)")
_DEPARTURE = re.compile(r"Departure[^(]*\(docs/fidelity\.md, ([^)]+)\)")

#: Header names that are answers (alleged types, return codes, masks), not orders.
_ANSWER = re.compile(r"AKT|MASK|^PSR_|_Type[A-Z]|Error|NotValid|^DB|^COMPLETE|^DOTPROG|^SHARED")

IDENTICAL, DEPARTURE, MISSING = "identical", "departure", "missing"


class Test(NamedTuple):
    """A conformance test: ``module::name`` and its docstring."""

    module: str
    name: str
    doc: str

    @property
    def id(self) -> str:
        return f"{self.module}::{self.name}"


def cites(text: str) -> list[tuple[str, int, int]]:
    """The ``(file, first, last)`` line ranges a docstring cites (``file.c:1, 5-9``)."""
    out = []
    for m in _CITE.finditer(text):
        for part in m.group(2).split(", "):
            first, _, last = part.partition("-")
            out.append((m.group(1), int(first), int(last or first)))
    return out


def departure(text: str) -> str:
    """The docs/fidelity.md row a docstring names as a departure, or ``""``."""
    m = _DEPARTURE.search(" ".join(text.split()))
    return m.group(1) if m else ""


def read_tests(folder: Path = HERE) -> list[Test]:
    """Every ``test_*`` function of ``folder/test_*.py``, in file and line order.

    >>> any(t.name == "test_kt" for t in read_tests())
    True
    """
    tests = []
    for path in sorted(folder.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("test_"):
                    tests.append(Test(path.stem, node.name, ast.get_docstring(node) or ""))
    return tests


def matches(order: Order, test: Test) -> bool:
    """Whether ``test`` checks ``order``: a line it cites is one of the order's, or the
    order names the test.

    >>> matches(ORDERS[0], Test("test_data", "test_x", "jdatac.c:28: rc KT+1"))
    True
    """
    if any(re.search(p, test.id) for p in order.tests):
        return True
    return any(
        f == r.file and a <= r.last and b >= r.first
        for f, a, b in cites(test.doc)
        for r in order.ranges
    )


class Row(NamedTuple):
    """One order with its tests and status."""

    order: Order
    tests: tuple[Test, ...]
    status: str
    why: str


def rows(tests: Iterable[Test]) -> list[Row]:
    """The catalogue's orders with the tests that check them.

    >>> [r.status for r in rows([]) if not r.order.extra][:2]
    ['missing', 'missing']
    """
    tests = list(tests)
    out = []
    for order in ORDERS:
        mine = tuple(t for t in tests if matches(order, t))
        labels = sorted({departure(t.doc) for t in mine} - {""})
        if not mine:
            status = MISSING
            why = order.declared and f"declared: {order.declared}"
        elif order.extra:
            status, why = "extension", ""
        elif labels:
            status, why = DEPARTURE, "; ".join(labels)
        else:
            status, why = IDENTICAL, ""
        out.append(Row(order, mine, status, why))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _where(order: Order) -> str:
    return ", ".join(
        f"`{r.file}:{r.first}`" if r.first == r.last else f"`{r.file}:{r.first}-{r.last}`"
        for r in order.ranges
    )


def render(tests: list[Test]) -> str:
    """The page, as Markdown (MyST).

    >>> render(read_tests()).startswith("(conformance)=")
    True
    """
    table = rows(tests)
    counted = [r for r in table if not r.order.extra]
    per_type: dict[str, list[Row]] = {kt: [] for kt in KEY_TYPES}
    for r in table:
        per_type[r.order.key_type].append(r)

    def count(rs: list[Row], status: str) -> int:
        return sum(r.status == status for r in rs if not r.order.extra)

    undeclared = [r for r in counted if r.status == MISSING and not r.order.declared]
    used = {t.id for r in table for t in r.tests}
    loose = [t for t in tests if t.id not in used]
    n = len(counted)
    out = [
        "(conformance)=",
        "# Conformance to the C release, order by order",
        "",
        "<!-- Written by `make conformance-table` (python -m tests.conformance.table);"
        " do not edit. -->",
        "",
        "Every order code of every key type of the KeyKOS C release, kernel and system"
        " programs, against the tests of `tests/conformance/`. A row is one order code, or"
        " a run of codes the C release answers alike (`16+n`), or one behaviour of a key"
        " that takes any order (a start key, a red segment); *KT* is the alleged-type order"
        " and *any other* the C release's answer to codes it does not know. A test checks"
        " an order when a C line its docstring cites is one of the order's. **identical**:"
        " the tests find the C release's behaviour; **departure**: a test checks a"
        " difference that {doc}`fidelity` declares; **missing**: no test, because the"
        " simulator does not have the order (the reason is the {doc}`fidelity` row named),"
        " or, with no row named, because no test has been written yet. The order list"
        " and its C lines are `tests/conformance/catalogue.py`.",
        "",
        f"**{n} orders in the C release: {count(counted, IDENTICAL)} identical,"
        f" {count(counted, DEPARTURE)} declared departures, {count(counted, MISSING)}"
        f" missing ({len(undeclared)} of them without a declared reason);"
        f" {len(tests)} conformance tests.**",
        "",
        "(conformance-summary)=",
        "## Key types",
        "",
        "| key type | C release | orders | identical | departures | missing |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for group in ("kernel", "system programs"):
        for kt, (g, files, _) in KEY_TYPES.items():
            if g != group:
                continue
            rs = per_type[kt]
            real = [r for r in rs if not r.order.extra]
            cells = [
                kt,
                ", ".join(f"`{f}`" for f in files.split(", ")),
                str(len(real)),
                str(count(rs, IDENTICAL)),
                str(count(rs, DEPARTURE)),
                str(count(rs, MISSING)),
            ]
            out.append("| " + " | ".join(cells) + " |")
    totals = ["**total**", "", str(n)] + [
        str(count(counted, s)) for s in (IDENTICAL, DEPARTURE, MISSING)
    ]
    out += ["| " + " | ".join(totals) + " |", ""]
    out += [
        "(conformance-detail)=",
        "## Order by order",
        "",
        "Extensions (orders the C release does not have) are listed with their key type"
        " and not counted above.",
    ]
    for kt, rs in per_type.items():
        out += [
            "",
            f"### {kt}",
            "",
            "| order | name | C release | tests | status |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in rs:
            names = "<br>".join(f"`{t.id}`" for t in r.tests) or "—"
            status = f"{r.status} ({_cell(r.why)})" if r.why else r.status
            cells = [_cell(r.order.code), _cell(r.order.name), _where(r.order), names, status]
            out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "(conformance-other-tests)=",
        "## Tests not tied to one order",
        "",
        "Tests whose citations fall outside every order's lines (helpers such as"
        " `pad_move_arg`, or behaviour shared by all orders).",
        "",
    ]
    out += [f"- `{t.id}`" for t in loose] or ["None."]
    return "\n".join(out) + "\n"


def _covers(code: str, value: int) -> bool:
    """Whether an order's code column (``"16+n"``, ``"0, 5, 9"``, ``"150–161"``) takes
    ``value``."""
    for part in code.replace("KT", str(2**31)).split(","):
        part = part.strip()
        if part.endswith("+n") and part[:-2].isdigit():
            base = int(part[:-2])
            if base <= value < base + (4096 if base >= 4096 else 32):
                return True
        elif "–" in part and all(x.isdigit() for x in part.split("–")):
            lo, hi = map(int, part.split("–"))
            if lo <= value <= hi:
                return True
        elif part.isdigit() and int(part) == value:
            return True
        elif part == "-1" and value == 0xFFFFFFFF:
            return True
    return False


def check_mirror(mirror: Path) -> list[str]:
    """Problems of the catalogue against a mirror of the C release: files it does not
    have, line ranges past the end of their file, and order codes a header defines that no
    row of the key types using that header takes (a rough check: it reads every
    ``#define`` of the header, return codes included)."""

    def git(*args: str) -> str:
        cmd = ["git", "-C", str(mirror), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    files = git("ls-tree", "-r", "--name-only", "HEAD").split()
    by_name = {Path(f).name: f for f in files if f.startswith(("Base/", "Dom/"))}
    problems, lengths = [], {}
    for order in ORDERS:
        for r in order.ranges:
            if r.file not in by_name:
                problems.append(f"{order.key_type} {order.code}: no file {r.file}")
                continue
            if r.file not in lengths:
                lengths[r.file] = len(git("show", f"HEAD:{by_name[r.file]}").splitlines())
            if r.last > lengths[r.file]:
                problems.append(f"{order.key_type} {order.code}: {r.file}:{r.last} past the end")
    define = re.compile(r"#define\s+(\w+)\s+(0x[0-9A-Fa-f]+|\d+)u?\b")
    for header in sorted({h for _, _, h in KEY_TYPES.values() if h}):
        codes = [o.code for o in ORDERS if KEY_TYPES[o.key_type][2] == header]
        for name, value in define.findall(git("show", f"HEAD:{by_name[header]}")):
            if _ANSWER.search(name):
                continue
            if not any(_covers(c, int(value, 0)) for c in codes):
                problems.append(f"{header} defines {name} = {value}: no row takes it")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, compare) docs/conformance.md; 1 when out of date."""
    p = argparse.ArgumentParser(prog="python -m tests.conformance.table", description=__doc__)
    p.add_argument("--check", action="store_true", help="fail if the page is out of date")
    p.add_argument("--check-mirror", nargs="?", const=MIRROR, type=Path, metavar="PATH")
    args = p.parse_args(argv)
    text = render(read_tests())
    if args.check_mirror:
        for problem in check_mirror(args.check_mirror):
            print(problem)
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print("docs/conformance.md is out of date: run make conformance-table")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
