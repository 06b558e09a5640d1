"""Fixtures for the browser tests: a private JupyterLab server and Debian's chromium.

The server runs on a copy of ``notebooks/`` in a temporary folder (JupyterLab autosaves, and
the repository's notebooks must never get outputs), on 127.0.0.1 with a free port, no token and
no password, with its news feed, update check, announcements extension and PyPI extension
manager off, and with Jupyter's config, data and runtime folders inside the temporary folder
so a developer's own settings play no part. Chromium is Debian's (``/usr/bin/chromium``):
Playwright's own browser download cannot work here. Every request the page makes to a host
other than the local server is refused and listed in the artifacts.

Where chromium or Playwright is missing the tests skip with the reason, except under CI=true,
where they fail: CI must really drive the browser.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lab_harness import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, NOTEBOOKS, LabServer


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI=true (where the browser test must really run)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"CI=true and {reason}: .ci/run installs Debian's chromium, "
            "`make test` installs the dev extras (playwright)",
            pytrace=False,
        )
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        _unavailable("the playwright package is missing (pip install -e '.[dev]')")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory) -> Path:
    """A copy of notebooks/ that the server may autosave into."""
    root = tmp_path_factory.mktemp("lab") / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


@pytest.fixture(scope="module")
def lab_server(chromium_path, lab_root, tmp_path_factory):
    server = LabServer(lab_root, tmp_path_factory.mktemp("lab-home"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copyfile(server.log, ARTIFACTS / "jupyter-lab.log")


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, lab_server):
    """A fresh browser context on the server; outside requests are refused and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    refused: list[str] = []

    def only_local(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    pg = context.new_page()
    pg.refused_requests = refused
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    try:
        yield pg
    finally:
        context.close()
