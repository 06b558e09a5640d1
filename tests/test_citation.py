"""CITATION.cff: Citation File Format 1.2.0, in agreement with the package and the docs.

The checks are the CFF 1.2.0 schema's rules for the keys used here (its JSON schema, run
over this file while it was written, found nothing). The schema itself is not vendored."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import yaml

import keykos_lab

ROOT = Path(__file__).resolve().parents[1]
TOP_KEYS = {
    "abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
    "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
    "references", "repository", "repository-artifact", "repository-code", "title", "type",
    "url", "version",
}  # fmt: skip


def cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def _person_or_entity(author: dict) -> bool:
    return bool(author.get("name") or author.get("family-names") or author.get("given-names"))


def test_citation_cff_is_cff_1_2_0():
    c = cff()
    assert c["cff-version"] == "1.2.0"
    assert set(c) <= TOP_KEYS, set(c) - TOP_KEYS
    for key in ("message", "title", "authors"):
        assert c.get(key), key
    assert c["type"] in ("software", "dataset")
    assert all(_person_or_entity(a) for a in c["authors"])
    assert isinstance(c["version"], str)
    if "date-released" in c:
        assert isinstance(c["date-released"], date)
    for ref in c.get("references", []):
        assert ref["type"] and ref["title"] and all(_person_or_entity(a) for a in ref["authors"])
        for key in ("url", "repository-code"):
            if key in ref:
                assert re.fullmatch(r"https://\S+", ref[key])


def test_citation_agrees_with_the_package_and_the_docs():
    c = cff()
    assert c["version"] == keykos_lab.__version__
    assert c["license"] == "MIT"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"].split(" AND ")[0] == c["license"]
    assert "repository-code" not in c and "url" not in c  # no public repository yet
    docs = (ROOT / "docs" / "datasets.md").read_text(encoding="utf-8")
    assert c["title"] in docs and f"version {c['version']}" in docs
    assert f"version = {{{c['version']}}}" in docs
    paper = c["references"][0]
    assert paper["title"] in docs and str(paper["year"]) in docs


def test_licence_file_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted" in text
