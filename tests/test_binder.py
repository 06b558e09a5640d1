"""Binder runs the notebooks with binder/: pinned requirements, then postBuild installs the kit.

The fast tests check the files against pyproject.toml, and that no Binder link points to a
repository that does not exist (`keykos-lab binder-url` makes one from the git remote). The
slow one does what Binder does, in a fresh virtual environment: install
binder/requirements.txt, run binder/postBuild from (a copy of) the repository root, execute
notebooks/00_start_here.ipynb.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from steps import run_step

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:#.*)?$")


#: Optional extras the notebooks use (08_sweeps runs on a local Dask cluster).
NOTEBOOK_EXTRAS = ("dask",)


def project_dependencies() -> list[Requirement]:
    """The runtime dependencies and the notebooks' extras; ``dask[distributed]``
    stands for dask and for distributed."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in NOTEBOOK_EXTRAS:
        deps += project["optional-dependencies"][extra]
    reqs = [Requirement(d) for d in deps]
    return reqs + [Requirement(e) for r in reqs for e in sorted(r.extras)]


def binder_pins() -> dict[str, str]:
    pins = {}
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        assert m, f"binder/requirements.txt: {line!r} is not pinned with =="
        pins[canonicalize_name(m[1])] = m[2]
    return pins


def test_every_dependency_is_pinned_and_satisfies_pyproject():
    pins = binder_pins()
    for req in project_dependencies():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} (pyproject.toml) is not in binder/requirements.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"binder pins {req.name}=={pins[name]}, pyproject.toml wants {req.specifier}"
        )


def test_binder_pins_only_the_projects_third_party_dependencies():
    wanted = {canonicalize_name(r.name) for r in project_dependencies()}
    extra = set(binder_pins()) - wanted
    assert not extra, f"binder/requirements.txt pins what pyproject.toml does not ask for: {extra}"
    assert "keykos-lab" not in binder_pins(), "postBuild installs keykos_lab itself"


def test_runtime_and_postbuild():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!/bin/bash") or text.startswith("#!/usr/bin/env bash")
    commands = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert "pip install --no-deps ." in commands
    assert "labextension install" not in text


def test_no_binder_link_points_to_a_repository_that_does_not_exist():
    """There is no public repository yet: the README, the docs and the notebooks carry no
    mybinder.org link (and no badge); the README says how to make one with
    `keykos-lab binder-url`, whose output opens a notebook that exists."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not pyproject.get("urls"), "[project.urls] only where a public repository exists"
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    files += sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "mybinder.org/v2/" not in text, f"{path.name} links to Binder"
        assert "badge_logo" not in text, f"{path.name} shows a Binder badge"
    # the docs link each notebook to Binder and its source only once there is a repository
    conf = (ROOT / "docs" / "conf.py").read_text(encoding="utf-8")
    assert "keykos-lab/keykos_lab" not in conf
    assert 'REPOSITORY = _meta.get("urls", {}).get("Repository")' in conf
    readme = (ROOT / "README.md").read_text()
    assert "keykos-lab binder-url" in readme
    from keykos_lab.cli import START_NOTEBOOK, binder_url

    url = binder_url("git@github.com:someone/keykos_lab.git")
    m = re.search(r"[?&]urlpath=lab/tree/([^&)#]+)", url)
    assert m and (ROOT / m[1]).is_file() and m[1].endswith(START_NOTEBOOK)


# --- what Binder does, in a fresh virtual environment --------------------------------------

PIP_TIMEOUT = 900  # s: the pinned set (numpy, scipy, pandas, pyarrow, jupyterlab, …)
STEP_TIMEOUT = 300  # s: postBuild; executing the notebook


def _run(cmd, *, cwd, env, timeout, what):
    return run_step(cmd, cwd=cwd, env=env, timeout=timeout, what=what)


def test_binder_environment_runs_the_start_notebook(tmp_path):
    base = getattr(sys, "_base_executable", None) or sys.executable
    venv = tmp_path / "venv"
    made = subprocess.run(
        [base, "-m", "venv", str(venv)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=STEP_TIMEOUT,
    )
    if made.returncode != 0:
        pytest.skip(f"`{base} -m venv` is unavailable here: {made.stderr.strip()[-500:]}")
    bin_dir = venv / "bin"
    python = bin_dir / "python"

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
        and not k.startswith("JUPYTER")
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        # nothing of the developer's Jupyter or IPython set-up (kernels, config) plays a part
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        MPLBACKEND="Agg",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )

    # the repository as Binder sees it: only what `pip install .` needs
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("pyproject.toml", "hatch_build.py", "README.md", "LICENSE", "CITATION.cff"):
        shutil.copy2(ROOT / name, repo / name)
    for name in ("keykos_lab", "datasets", "notebooks"):  # the wheel's package data too
        shutil.copytree(
            ROOT / name,
            repo / name,
            ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", ".ipynb_checkpoints", "*.so", "native.json"
            ),
        )
    shutil.copytree(BINDER, repo / "binder")

    _run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        cwd=repo,
        env=env,
        timeout=PIP_TIMEOUT,
        what="pip install -r binder/requirements.txt",
    )
    _run(
        ["bash", "binder/postBuild"],
        cwd=repo,
        env=env,
        timeout=STEP_TIMEOUT,
        what="binder/postBuild",
    )

    where = _run(
        [str(python), "-c", "import keykos_lab; print(keykos_lab.__file__)"],
        cwd=tmp_path,
        env=env,
        timeout=60,
        what="import keykos_lab",
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), (
        f"keykos_lab came from {where.stdout.strip()}, not the Binder environment"
    )

    # the notebook's kernel (python3) is the Binder environment's own
    specs = _run(
        [str(python), "-m", "jupyter", "kernelspec", "list", "--json"],
        cwd=tmp_path,
        env=env,
        timeout=60,
        what="jupyter kernelspec list",
    )
    spec = json.loads(specs.stdout)["kernelspecs"]["python3"]
    argv0 = spec["spec"]["argv"][0]
    assert Path(spec["resource_dir"]).is_relative_to(venv) or Path(argv0).is_relative_to(venv), (
        f"the python3 kernel is not the Binder environment's: {spec}"
    )

    # run the notebook from a folder of its own, so nothing it writes lands in the repository
    work = tmp_path / "notebooks"
    work.mkdir()
    notebook = work / "00_start_here.ipynb"
    shutil.copy2(ROOT / "notebooks" / notebook.name, notebook)
    _run(
        [
            str(python),
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=240",
            "--output-dir",
            str(tmp_path / "out"),
            str(notebook),
        ],
        cwd=work,
        env=env,
        timeout=STEP_TIMEOUT,
        what="executing 00_start_here.ipynb",
    )

    ran = json.loads((tmp_path / "out" / notebook.name).read_text())
    code = [c for c in ran["cells"] if c["cell_type"] == "code"]
    assert code and all(c["execution_count"] for c in code), "every code cell ran"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, errors
