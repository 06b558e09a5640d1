"""docs/conformance.md is what ``make conformance-table`` writes from the tests of today."""

from __future__ import annotations

from tests.conformance import table


def test_conformance_table_is_up_to_date():
    """The page matches the generator's output for the current tests and catalogue."""
    want = table.render(table.read_tests())
    have = table.OUTPUT.read_text(encoding="utf-8") if table.OUTPUT.exists() else ""
    assert have == want, "docs/conformance.md is out of date: run make conformance-table"


def test_every_departure_a_test_names_is_a_row_of_fidelity():
    """Each ``Departure (docs/fidelity.md, row)`` names a row that the page has: its label
    is the start of the row's first cell (dashes and case aside), or the reverse."""
    fidelity = (table.ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    rows = [
        line.split("|")[1].strip().replace("–", "-").lower()
        for line in fidelity.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]
    for test in table.read_tests():
        label = table.departure(test.doc).replace("–", "-").lower()
        if label:
            assert any(
                r.startswith(label) or label.startswith(r) or label[:14] == r[:14] for r in rows
            ), (test.id, label)
