"""The docs site builds, warnings as errors, so it cannot rot.

The notebooks are rendered as committed (not executed: they run in their own tests);
``make docs`` builds the same site with every notebook executed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_without_warnings(tmp_path):
    env = {**os.environ, "KEYKOS_LAB_DOCS_EXECUTE": "0"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "keykos_lab" in html
    for page in ("primer", "fidelity", "glossary", "decisions/index", "api/kernel"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page


def test_docs_load_nothing_from_the_network(tmp_path):
    """The built pages reference no script or stylesheet on another host."""
    out = tmp_path / "html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    import re

    remote = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["']https?://""")
    offenders = [p.name for p in out.rglob("*.html") if remote.search(p.read_text("utf-8"))]
    assert not offenders, offenders


def test_no_citation_points_outside_the_repository():
    """Code, tests, notebooks and benchmarks cite docs/ or the original sources, never
    the design documents beside the checkout."""
    import re

    pattern = re.compile(r"(?<!docs/)\b(KEYKOS|DESIGN|CONFINEMENT)\.md\b|\.\./shared/[A-Z]")
    found = []
    for folder in ("keykos_lab", "tests", "notebooks", "bench"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".ipynb", ".md"} and path != Path(__file__):
                text = path.read_text(encoding="utf-8")
                found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not found, found


def test_cited_docs_anchors_exist():
    """Every ``docs/<page>.md#<anchor>`` cited in the code names a page and a label that exist.

    (A line that names another repository, with its URL, cites that repository's docs.)
    """
    import re

    cite = re.compile(r"docs/([\w/.-]+?\.md)(?:#([\w-]+))?")
    missing = set()
    for folder in ("keykos_lab", "tests", "notebooks"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".ipynb"}:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            ours = "\n".join(line for line in lines if "://" not in line)
            for page, anchor in cite.findall(ours):
                doc = ROOT / "docs" / page
                if not doc.is_file():
                    missing.add(f"{path.name}: docs/{page}")
                elif anchor and f"({anchor})=" not in doc.read_text(encoding="utf-8"):
                    missing.add(f"{path.name}: docs/{page}#{anchor}")
    assert not missing, sorted(missing)
