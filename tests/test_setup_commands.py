"""The README's two set-up commands and CI agree: `make lab` opens the first notebook,
`make test` is the suite, `.ci/run` calls exactly that."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def first_screen_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, flags=re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_gives_exactly_two_set_up_commands():
    assert first_screen_commands() == ["make lab", "make test"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_opens_jupyterlab_on_the_start_notebook():
    plan = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lab = [line for line in plan.splitlines() if "jupyter lab" in line]
    assert lab and lab[-1].rstrip().endswith("notebooks/00_start_here.ipynb")
    assert (ROOT / "notebooks" / "00_start_here.ipynb").exists()


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line.strip() for line in script if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
