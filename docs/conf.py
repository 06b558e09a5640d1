"""Sphinx configuration for the keykos_lab documentation site.

Build it from the repository root::

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

Notebooks are rendered with myst-nb from copies of ``../notebooks/*.ipynb`` that this
file writes into ``docs/notebooks/`` (gitignored) before every build. By default they are
rendered as committed, without outputs (fast, for the test suite); set
``KEYKOS_LAB_DOCS_EXECUTE=1`` to run them (cached in ``docs/_build/.jupyter_cache``).

The site loads nothing from the network: no intersphinx, no MathJax from a CDN (math, if
any, is shown as its LaTeX source), no ipywidgets scripts; furo ships its own assets.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path

from docutils import nodes

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # autodoc imports keykos_lab from this checkout

# -- Project -------------------------------------------------------------------------------

_meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
project = "keykos_lab"
author = "the keykos_lab authors"
copyright = f"{author}; MIT licence"
# The version has one source, keykos_lab/__init__.py (pyproject.toml reads it from there).
_init = (ROOT / "keykos_lab" / "__init__.py").read_text(encoding="utf-8")
release = version = re.search(r'^__version__ = "([^"]+)"', _init, re.M)[1]

# Links to the public repository and Binder, only once [project.urls] names one (there is
# none yet: `keykos-lab binder-url` makes the Binder link from a git remote).
REPOSITORY = _meta.get("urls", {}).get("Repository")
_GITHUB = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", REPOSITORY or "")
BINDER = (
    f"https://mybinder.org/v2/gh/{_GITHUB[1]}/HEAD?urlpath=lab/tree/notebooks/" if _GITHUB else None
)

# -- Extensions ----------------------------------------------------------------------------

extensions = [
    "myst_nb",  # MyST Markdown pages and notebooks (brings myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # numpy- and Google-style docstrings
    "sphinx.ext.viewcode",
]
# No sphinx.ext.intersphinx: a build must not need the network.

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

myst_enable_extensions = ["colon_fence", "deflist"]

# -- Notebooks (myst-nb) -------------------------------------------------------------------

if os.environ.get("KEYKOS_LAB_DOCS_EXECUTE") == "1":
    nb_execution_mode = "cache"
else:
    nb_execution_mode = "off"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_ipywidgets_js: dict = {}  # the default loads require.js and the widget manager from a CDN

# -- Autodoc -------------------------------------------------------------------------------

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# A type hint ``Kernel`` matches the bare kernel (keykos_lab.kernel.Kernel) and the booted
# one with its views (keykos_lab.Kernel, defined in keykos_lab.views.lab), each documented
# where it is defined and where it is re-exported; Sphinx then cannot pick one link and
# warns. The hint is still shown; only its link is left out.
suppress_warnings = ["ref.python"]
autosummary_generate = False  # the API pages are written by hand; nothing is generated
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# -- HTML ----------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"keykos_lab {release}"
html_theme_options = {"navigation_with_keys": True}
html_math_renderer = "plain"  # registered in setup() below; never MathJax from a CDN


# -- Notebook copies -----------------------------------------------------------------------


def _with_binder_link(text: str, name: str) -> str:
    """The notebook ``text`` with a Binder launch line under the title of its first cell
    (when the project has a public repository: ``[project.urls] Repository``).

    A notebook links a docs page as ``../docs/<page>.md``, relative to ``notebooks/``;
    the copy lives in ``docs/notebooks/``, so its markdown cells say ``../<page>.md``."""
    nb = json.loads(text)
    cells = nb.get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = cell["source"]
            source = "".join(source) if isinstance(source, list) else source
            cell["source"] = source.replace("](../docs/", "](../")
    if BINDER is None or REPOSITORY is None:  # no public repository: no link
        return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    link = f"[Launch on Binder]({BINDER}{name}) · [source]({REPOSITORY}/blob/HEAD/notebooks/{name})"
    if cells and cells[0].get("cell_type") == "markdown":
        source = cells[0]["source"]
        source = "".join(source) if isinstance(source, list) else source
        title, sep, rest = source.partition("\n")
        cells[0]["source"] = f"{title}\n\n{link}\n{sep}{rest}"
    else:
        cells.insert(
            0, {"cell_type": "markdown", "id": "binder-link", "metadata": {}, "source": link}
        )
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def copy_notebooks(source: Path = ROOT / "notebooks", target: Path = DOCS / "notebooks") -> None:
    """Mirror ``source/*.ipynb`` into ``target``, each with its Binder link.

    A copy is rewritten only when its content changes, so Sphinx (which compares
    modification times) rebuilds only the notebooks that changed; copies of notebooks
    that no longer exist are removed.
    """
    target.mkdir(exist_ok=True)
    wanted = {}
    for path in sorted(source.glob("*.ipynb")):
        wanted[path.name] = _with_binder_link(path.read_text(encoding="utf-8"), path.name)
    for old in target.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        copy = target / name
        if not copy.exists() or copy.read_text(encoding="utf-8") != text:
            copy.write_text(text, encoding="utf-8")


copy_notebooks()


# -- Math without MathJax ------------------------------------------------------------------


def _visit_math(self, node) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate"))
    self.body.append(self.encode(node.astext()) + "</span>")
    raise nodes.SkipNode


def _visit_displaymath(self, node) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate"))
    self.body.append("<pre>" + self.encode(node.astext()) + "</pre></div>\n")
    raise nodes.SkipNode


def setup(app) -> None:
    app.add_html_math_renderer(
        "plain", inline_renderers=(_visit_math, None), block_renderers=(_visit_displaymath, None)
    )
