"""The kit as a researcher outside the repository gets it: build the sdist, build the wheel
from the sdist (as pip and `python -m build` do, so a file the sdist forgets is missed
here too), install the wheel into a fresh virtual environment outside the checkout, and use
it offline.

No index is reached: the fresh environment is made ``--without-pip`` and the checkout's pip
installs the wheel into it (``pip --python``, ``--no-index --no-deps``); the dependencies
come from the development environment through a ``.pth`` line naming its site-packages.
Such a line only adds the folder to ``sys.path``; the ``.pth`` files inside it are not
run, so the editable install of keykos_lab there cannot shadow the wheel (checked: the
package, its metadata and the notebooks' kernel all come from the fresh environment).
Downloads are forbidden (``KEYKOS_LAB_OFFLINE=1``, and every proxy points at a closed
port), the cache is empty and there is no shared folder beside it.

Measured on the development machine: sdist 0.4 s, wheel 0.2 s, environment and install
1.6 s (a venv with pip would take 3.6 s more), the checks about 25 s, notebooks 00 and 06
included.
"""

from __future__ import annotations

import json
import os
import re
import sys
import sysconfig
import tarfile
import tomllib
from pathlib import Path

import pytest
from steps import run_step

ROOT = Path(__file__).resolve().parents[2]
STEP = 300  # seconds any one step may take
#: Every notebook runs from the wheel install, offline (about 40 s together).
NOTEBOOKS = tuple(sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))


def _run(cmd, *, cwd, env=None, timeout=STEP, what=None, check=True):
    return run_step(cmd, cwd=cwd, env=env, timeout=timeout, what=what, check=check)


BUILD = """
import sys
from hatchling.build import build_sdist, build_wheel
print((build_sdist if sys.argv[1] == "sdist" else build_wheel)(sys.argv[2]))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(python, bin folder, env, work folder, wheel path, sdist path)``."""
    pytest.importorskip("hatchling", reason="hatchling builds the wheel offline (.[dev])")
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    sdist = _run([sys.executable, "-c", BUILD, "sdist", dist], cwd=ROOT, what="sdist")
    sdist_path = dist / sdist.stdout.strip()
    with tarfile.open(sdist_path) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (source,) = (tmp / "unpacked").iterdir()
    wheel = _run([sys.executable, "-c", BUILD, "wheel", dist], cwd=source, what="wheel")
    wheel_path = dist / wheel.stdout.strip()

    base = getattr(sys, "_base_executable", None) or sys.executable
    venv = tmp / "fresh"
    made = _run([base, "-m", "venv", "--without-pip", venv], cwd=tmp, check=False)
    if made.returncode != 0:
        pytest.skip(f"`{base} -m venv` is unavailable here: {made.stderr.strip()[-300:]}")
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index",
         "--no-deps", "--disable-pip-version-check", wheel_path],
        cwd=tmp,
        what="pip install the wheel",
    )  # fmt: skip
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp
    ).stdout.strip()
    (Path(purelib) / "_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "no_proxy",
                     "NO_PROXY", "KEYKOS_LAB_EXTERNAL"}
        and not k.startswith("JUPYTER")
    }  # fmt: skip
    closed = "http://127.0.0.1:9"  # the discard port: refused at once
    env.update(
        # the fresh environment first; the development environment's scripts (jupyter-lab,
        # which `python -m jupyter lab` looks for) stand for the dependencies' own
        PATH=os.pathsep.join(
            [str(venv / "bin"), env.get("PATH", ""), str(Path(sys.executable).parent)]
        ),
        VIRTUAL_ENV=str(venv),
        HOME=str(tmp / "home"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        KEYKOS_LAB_OFFLINE="1",
        http_proxy=closed,
        https_proxy=closed,
        HTTP_PROXY=closed,
        HTTPS_PROXY=closed,
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(tmp / "ipython"),
        MPLBACKEND="Agg",
        PYTHONNOUSERSITE="1",
    )
    work = tmp / "work"
    work.mkdir()
    (tmp / "home").mkdir()
    return python, venv / "bin", env, work, wheel_path, sdist_path


def _py(installed, code: str, what: str):
    python, _, env, work, *_ = installed
    return _run([python, "-c", code], cwd=work, env=env, what=what)


def test_the_wheel_holds_the_package_data_and_licences(installed):
    import zipfile

    *_, wheel, sdist = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert f"{info}/licenses/LICENSE" in names
    for dataset in ("sel4-capdl", "sel4-microkit-sdf", "fuchsia-cml"):
        assert f"keykos_lab/_data/datasets/{dataset}/LICENSE" in names
        assert f"{info}/licenses/datasets/{dataset}/LICENSE" in names
    assert "keykos_lab/py.typed" in names
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert (
        sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("keykos_lab/_data/notebooks/"))
        == notebooks
    )
    assert not [n for n in names if "__pycache__" in n or "ipynb_checkpoints" in n]
    with tarfile.open(sdist) as tar:
        top = {Path(m.name).parts[1] for m in tar.getmembers() if len(Path(m.name).parts) > 1}
    assert {"LICENSE", "CITATION.cff", "datasets", "notebooks", "keykos_lab"} <= top


def test_import_and_version_come_from_the_fresh_environment(installed):
    python, bin_dir, env, work, *_ = installed
    out = _py(
        installed,
        "import json, importlib.metadata as m, keykos_lab, keykos_lab.datasets as d\n"
        "dist = m.distribution('keykos_lab')\n"
        "print(json.dumps([keykos_lab.__file__, keykos_lab.__version__, dist.version,\n"
        "    str(dist._path), str(d.data_root()), d.SHARED_EXTERNAL]))",
        "import keykos_lab",
    )
    where, version, meta_version, dist_path, data_root, shared = json.loads(out.stdout)
    venv = bin_dir.parent
    for path in (where, dist_path, data_root):
        assert Path(path).is_relative_to(venv), f"{path} is not from the fresh environment"
    assert shared is None
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert version == meta_version
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(version)}$", cff, re.M)
    v = _run([bin_dir / "keykos-lab", "--version"], cwd=work, env=env)
    assert v.stdout.strip() == f"keykos-lab {version}"
    h = _run([bin_dir / "keykos-lab", "--help"], cwd=work, env=env)
    for command in ("analyze", "graph", "run", "lab", "binder-url"):
        assert command in h.stdout


def test_the_readmes_first_example_runs(installed):
    readme = (ROOT / "README.md").read_text()
    first = re.findall(r"```python\n(.*?)```", readme, flags=re.S)[0]
    out = _py(installed, first, "the README's first example")
    assert out.stdout.startswith("42 b'ping' page key (rw) → page #")


def test_every_dataset_loads_offline(installed):
    out = _py(
        installed,
        "from keykos_lab import datasets\n"
        "names = datasets.list()\n"
        "for n in names:\n"
        "    v = datasets.load(n)\n"
        "    assert len(v) > 0, n\n"
        "    assert datasets.card(n)\n"
        "print(len(names))",
        "loading every dataset",
    )
    from keykos_lab import datasets

    assert int(out.stdout) == len(datasets.list())


def test_lab_copies_the_notebooks_and_would_start_jupyterlab_there(installed):
    python, bin_dir, env, work, *_ = installed
    done = _run([bin_dir / "keykos-lab", "lab", "--copy-only"], cwd=work, env=env)
    folder = work / "keykos_lab_notebooks"
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in notebooks]
    for nb in notebooks:
        assert (folder / nb.name).read_bytes() == nb.read_bytes()
    assert f"{len(notebooks)} notebooks copied" in done.stdout
    assert "-m jupyter lab" in done.stdout and "00_start_here.ipynb" in done.stdout
    assert str(python) in done.stdout
    again = _run([bin_dir / "keykos-lab", "lab", "--copy-only"], cwd=work, env=env)
    assert f"{len(notebooks)} already there" in again.stdout
    # JupyterLab itself is there for that command (the server is not started here)
    _run([python, "-m", "jupyter", "lab", "--version"], cwd=work, env=env, what="jupyter lab")


RUN = """
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.insert(0, nbformat.v4.new_code_cell(
    "import sys, keykos_lab; print(sys.executable, keykos_lab.__file__)"))
client = NotebookClient(nb, timeout=240, kernel_name="python3")
client.execute(cwd=".")
outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
print(json.dumps([o.get("text", "") for o in outputs if o.output_type == "stream"]))
"""


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_run_from_the_wheel_offline(installed, name):
    python, bin_dir, env, work, *_ = installed
    folder = work / "run" / name.removesuffix(".ipynb")
    _run([bin_dir / "keykos-lab", "lab", "--copy-only", folder], cwd=work, env=env)
    done = _run([python, "-c", RUN, name], cwd=folder, env=env, what=f"executing {name} offline")
    streams = json.loads(done.stdout.strip().splitlines()[-1])
    kernel_python, package = streams[0].split()
    venv = bin_dir.parent
    assert Path(package).is_relative_to(venv), f"the notebook imported {package}"
    if name == "06_real_systems.ipynb":  # offline: it says it uses the bundled graphs
        said = "".join(streams)
        assert "using the bundled graph derived from it" in said
        assert not (Path(env["XDG_CACHE_HOME"]) / "keykos_lab").exists()
