"""JupyterLab in a real browser: open a notebook, Run → Run All Cells, click the stepper.

Two notebooks go through the same steps: a small contract notebook this module writes (plain
ipywidgets building the FactoryStepper's DOM, so the harness is tested on its own) and the
story, ``notebooks/04_factories_and_confinement.ipynb``. Both run in a temporary copy of
notebooks/ (see conftest.py). Screenshots of the page and of the stepper go to
``build/ui-artifacts/``, whether the test passes or fails.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from lab_harness import ARTIFACTS, NOTEBOOKS

pytestmark = pytest.mark.ui

STORY = "04_factories_and_confinement.ipynb"
CONTRACT = "ui_contract_stepper.ipynb"
OPEN_TIMEOUT = 60_000  # ms: JupyterLab loaded and the kernel idle
RUN_TIMEOUT = 120_000  # ms: Run All Cells finished
CLICK_TIMEOUT = 15_000  # ms: the stepper's status follows a click
WIDGET_ERRORS = re.compile(r"Error displaying widget|Model not found", re.I)
STATUS = re.compile(r"Step\s+(\d+)\s*/\s*(\d+)")
STDERR = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'

# --- the stepper's DOM contract, built with plain ipywidgets -------------------------------

CONTRACT_CELLS = [
    """import ipywidgets as widgets

STEPS = ["start", "buy pages", "buy nodes", "build the domain", "make the factory",
         "install the program", "add components", "seal", "requestor's key", "check",
         "request a yield", "the yield runs", "the yield answers", "done"]
state = {"i": 0}
status = widgets.HTML()
status.add_class("keykos-stepper-status")


def show():
    i = state["i"]
    status.value = f"Step {i}/{len(STEPS) - 1} · {STEPS[i]} · verdict: not checked yet"


def move(to):
    state["i"] = max(0, min(len(STEPS) - 1, to))
    show()


buttons = {name: widgets.Button(description=name) for name in ("next", "back", "reset")}
buttons["next"].on_click(lambda _: move(state["i"] + 1))
buttons["back"].on_click(lambda _: move(state["i"] - 1))
buttons["reset"].on_click(lambda _: move(0))
show()
stepper = widgets.VBox([widgets.HBox(list(buttons.values())), status])
stepper.add_class("keykos-stepper")
stepper""",
    """assert status.value.startswith("Step 0/13 · start")
assert "keykos-stepper" in stepper._dom_classes""",
]


def contract_notebook() -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(CONTRACT_CELLS)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


# --- driving JupyterLab ---------------------------------------------------------------------

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# True once Run All is over: the kernel idle, no cell queued or running ([*]), and every
# code cell numbered, or an error shown (after an error the remaining cells stay unrun).
RUN_FINISHED = """([notebook, stderr]) => {
  const nb = document.querySelector(notebook);
  if (!nb) return false;
  const indicator = nb.querySelector('.jp-Notebook-ExecutionIndicator');
  if (indicator && indicator.dataset.status !== 'idle') return false;
  const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim());
  if (!prompts.length || prompts.some(t => t.includes('*'))) return false;
  const errored = [...nb.querySelectorAll(stderr)].some(e => /Traceback/.test(e.textContent));
  return errored || prompts.every(t => /\\[\\d+\\]/.test(t));
}"""


# True once the notebook's kernel is connected and idle (before it connects, the toolbar
# reads "No Kernel" while the execution indicator already says idle).
KERNEL_IDLE = """(notebook) => {
  const nb = document.querySelector(notebook);
  if (!nb || !nb.querySelector('.jp-Notebook .jp-Cell')) return false;
  const name = (nb.querySelector('.jp-Toolbar-kernelName') || {}).textContent || '';
  const indicator = nb.querySelector('.jp-Notebook-ExecutionIndicator');
  const bar = (document.querySelector('#jp-main-statusbar') || {}).innerText || '';
  return name.trim() !== '' && !/No Kernel/.test(name) && !!indicator
    && indicator.dataset.status === 'idle' && /\\|\\s*Idle/.test(bar);
}"""


def open_notebook(page, server, name):
    # ?reset: a fresh workspace, so no tab an earlier test opened comes back
    page.goto(f"{server.url}/lab/tree/{name}?reset", timeout=OPEN_TIMEOUT)
    page.wait_for_function(KERNEL_IDLE, arg=NOTEBOOK, timeout=OPEN_TIMEOUT, polling=250)


def run_all_cells(page):
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^\s*Run\s*$")).click()
    page.locator(
        ".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
        has_text=re.compile(r"^\s*Run All Cells\s*$"),
    ).click()
    page.wait_for_function(RUN_FINISHED, arg=[NOTEBOOK, STDERR], timeout=RUN_TIMEOUT, polling=250)


def button(stepper, description):
    """The ipywidgets Button whose description is ``description`` (its icon, drawn by CSS,
    has no text; the accessible name would include the glyph)."""
    return stepper.locator(
        "button.jupyter-button", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$")
    )


def widget_errors(page):
    """ipywidgets' messages for a view it cannot render, anywhere on the page (textContent:
    cells scrolled out of view count too)."""
    return sorted(set(WIDGET_ERRORS.findall(page.locator("body").text_content() or "")))


def problems_on_page(page, n_code_cells):
    """What the page shows that a reader would call broken."""
    found = []
    found += [f"page shows {m!r}" for m in widget_errors(page)]
    for out in page.locator(f"{NOTEBOOK} {STDERR}").all_text_contents():
        if "Traceback" in out:
            found.append("error output:\n" + out[-1500:])
    prompts = page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt").all_text_contents()
    unrun = [i for i, t in enumerate(prompts) if not re.search(r"\[\d+\]", t)]
    if len(prompts) != n_code_cells or unrun:
        found.append(
            f"{len(prompts)} code cells shown ({n_code_cells} in the file), not run: {unrun}"
        )
    return found


def save_artifacts(page, tag):
    """Screenshots (the page; the stepper, if shown) and notes; never hides the test's error."""
    try:
        _save_artifacts(page, tag)
    except Exception as exc:  # a crashed page: the test's own error says more
        print(f"{tag}: artifacts not saved: {exc}")


def _save_artifacts(page, tag):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{tag}-page.png"), full_page=True)
    stepper = page.locator(".keykos-stepper").first
    if stepper.count():
        stepper.screenshot(path=str(ARTIFACTS / f"{tag}-stepper.png"), timeout=5_000)
    notes = {
        "url": page.url,
        "refused_outside_requests": page.refused_requests,
        "console_errors": page.console_errors,
    }
    (ARTIFACTS / f"{tag}-notes.json").write_text(json.dumps(notes, indent=2) + "\n")


def drive_stepper(page, server, notebook: Path, tag: str):
    """Open ``notebook`` (inside the server's root), run all cells, click ``next``."""
    n_code = sum(c["cell_type"] == "code" for c in json.loads(notebook.read_text())["cells"])
    started = time.monotonic()
    try:
        open_notebook(page, server, notebook.name)
        run_all_cells(page)
        problems = problems_on_page(page, n_code)
        assert not problems, "\n".join(problems)

        stepper = page.locator(".keykos-stepper").first
        stepper.wait_for(state="visible", timeout=CLICK_TIMEOUT)
        for name in ("next", "back", "reset"):
            assert button(stepper, name).count() == 1, f"the stepper has one {name!r} button"
        status = stepper.locator(".keykos-stepper-status")
        before = status.text_content() or ""
        m = STATUS.search(before)
        assert m and "verdict" in before, f"status before the click: {before!r}"
        step, total = int(m[1]), int(m[2])
        assert step < total, f"the stepper is already at its last step: {before!r}"

        button(stepper, "next").click()
        from playwright.sync_api import expect

        expect(status).to_have_text(
            re.compile(rf"Step\s+{step + 1}\s*/\s*{total}\b.*verdict", re.S), timeout=CLICK_TIMEOUT
        )
        page.wait_for_timeout(300)  # anything the click re-rendered has settled
        assert not widget_errors(page), widget_errors(page)
        assert page.refused_requests == [], f"outside requests: {page.refused_requests}"
    except Exception as exc:
        raise AssertionError(
            f"{tag}: {exc}\n--- jupyter lab log (tail) ---\n{server.log_tail()}"
        ) from exc
    finally:
        save_artifacts(page, tag)
        print(f"{tag}: {time.monotonic() - started:.1f} s in the browser")


def test_contract_stepper_runs_in_jupyterlab(page, lab_server, lab_root):
    """The harness on its own: a notebook that builds the stepper's DOM with ipywidgets."""
    notebook = lab_root / CONTRACT
    notebook.write_text(json.dumps(contract_notebook(), indent=1))
    drive_stepper(page, lab_server, notebook, "contract")


def test_factory_stepper_in_notebook_04(page, lab_server, lab_root):
    """The story: notebooks/04_factories_and_confinement.ipynb run in JupyterLab."""
    notebook = lab_root / STORY
    assert notebook.exists(), f"{NOTEBOOKS / STORY} is missing"
    drive_stepper(page, lab_server, notebook, "notebook04")


def test_harness_sees_broken_widgets_and_tracebacks(page, lab_server, lab_root):
    """The checks can fail: a stored view of a widget model that no kernel holds shows
    "Error displaying widget", and a raising cell leaves a traceback."""
    view = {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "application/vnd.jupyter.widget-view+json": {
                "model_id": "0" * 32,
                "version_major": 2,
                "version_minor": 0,
            }
        },
    }
    nb = contract_notebook()
    nb["cells"] = nb["cells"][:1]
    nb["cells"][0].update(source="print('ok')", outputs=[view], execution_count=1)
    nb["cells"].append(
        dict(
            nb["cells"][0],
            id="raises",
            source="raise RuntimeError('boom')",
            outputs=[],
            execution_count=None,
        )
    )
    notebook = lab_root / "ui_harness_problems.ipynb"
    notebook.write_text(json.dumps(nb, indent=1))
    lab_server.trust(notebook)  # untrusted, the stored widget view would not render at all
    try:
        open_notebook(page, lab_server, notebook.name)
        page.wait_for_function(
            "(re) => new RegExp(re, 'i').test(document.body.textContent)",
            arg=WIDGET_ERRORS.pattern,
            timeout=CLICK_TIMEOUT,
        )
        run_all_cells(page)
        problems = problems_on_page(page, 2)
        assert any("Traceback" in p and "boom" in p for p in problems), problems
    finally:
        save_artifacts(page, "harness-problems")
