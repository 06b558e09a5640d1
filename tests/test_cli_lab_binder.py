"""`keykos-lab lab` (copy the notebooks into a folder, then JupyterLab there) and
`keykos-lab binder-url` (the mybinder.org link from the git remote), as a user runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keykos_lab import cli

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def run(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        [sys.executable, "-m", "keykos_lab.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_lab_copy_only_copies_every_notebook_and_keeps_yours(tmp_path):
    r = run("lab", "--copy-only", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / cli.LAB_FOLDER
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in NOTEBOOKS]
    assert all((folder / p.name).read_bytes() == p.read_bytes() for p in NOTEBOOKS)
    assert f"{len(NOTEBOOKS)} notebooks copied" in r.stdout
    assert "jupyter lab" in r.stdout and cli.START_NOTEBOOK in r.stdout
    mine = folder / NOTEBOOKS[0].name
    mine.write_text("my edits")
    (folder / NOTEBOOKS[1].name).unlink()
    r = run("lab", "--copy-only", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert mine.read_text() == "my edits"  # never overwritten
    assert f"kept your {mine.name}" in r.stdout and "1 notebooks copied" in r.stdout
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file


def test_lab_print_copies_nothing(tmp_path):
    r = run("lab", "--print", tmp_path / "nb", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("cd ") and "-m jupyter lab" in r.stdout
    assert not (tmp_path / "nb").exists()


def test_lab_refuses_a_file_or_a_folder_it_cannot_write(tmp_path):
    (tmp_path / "file").write_text("x")
    r = run("lab", "--copy-only", tmp_path / "file")
    assert r.returncode == 3 and "a file, not a folder" in r.stderr
    r = run("lab", "--copy-only", "")
    assert r.returncode == 3 and "empty name" in r.stderr
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere
            pytest.skip("running as root: permissions do not stop a write")
        r = run("lab", "--copy-only", locked / "sub")
        assert r.returncode == 3 and "cannot" in r.stderr
    finally:
        locked.chmod(0o700)


def test_lab_without_jupyterlab_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "lab_command", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["lab"]) == 0
    out = capsys.readouterr().out
    assert "make lab" in out and "pip install jupyterlab" in out
    assert (tmp_path / cli.LAB_FOLDER / cli.START_NOTEBOOK).is_file()


@pytest.mark.parametrize(
    "url, want",
    [
        ("https://github.com/o/r", "gh/o/r/HEAD"),
        ("https://github.com/o/r.git", "gh/o/r/HEAD"),
        ("git@github.com:o/r.git", "gh/o/r/HEAD"),
        ("ssh://git@github.com/o/r", "gh/o/r/HEAD"),
        ("https://x:ghp_secret@github.com/o/r.git", "gh/o/r/HEAD"),
        ("https://gitlab.com/g/sub/r.git", "gl/g%2Fsub%2Fr/HEAD"),
        ("git@gitlab.com:g/r.git", "gl/g%2Fr/HEAD"),
    ],
)
def test_binder_url_from_a_url(url, want):
    r = run("binder-url", "--url", url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        f"https://mybinder.org/v2/{want}?urlpath=lab/tree/notebooks/{cli.START_NOTEBOOK}"
    )
    assert "secret" not in r.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["--url", "https://example.org/o/r.git"], "not a GitHub or GitLab"),
        (["--url", "https://tok:secret@bitbucket.org/o/r"], "not a GitHub or GitLab"),
        (["--url", "https://github.com/o"], "not a GitHub or GitLab"),
        (["--url", "https://github.com/o/r/extra"], "OWNER/NAME"),
        (["--url", "file:///tmp/repo"], "not a GitHub or GitLab"),
        (["--url", "https://github.com/o/r", "--ref", "../x"], "not a branch"),
        (["--url", "https://github.com/o/r", "--notebook", "../x.ipynb"], "not a notebook"),
    ],
)
def test_binder_url_refuses_what_binder_cannot_build(args, words):
    r = run("binder-url", *args)
    assert r.returncode == 3, r.stderr
    assert words in r.stderr and "secret" not in r.stderr and r.stdout == ""


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_binder_url_from_the_git_remote(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    r = run("binder-url", cwd=tmp_path)
    assert r.returncode == 3 and "no git remote 'origin'" in r.stderr
    subprocess.run(
        ["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:me/kit.git"],
        check=True,
    )
    r = run("binder-url", "--ref", "v1.0", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("https://mybinder.org/v2/gh/me/kit/v1.0?urlpath=lab/tree/")
    r = run("binder-url", cwd=tmp_path / "..")  # not a repository
    assert r.returncode == 3 and "binder-url" not in r.stdout


def test_version_and_help():
    from keykos_lab import __version__

    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"keykos-lab {__version__}"
    r = run("--help")
    assert "binder-url" in r.stdout and "lab" in r.stdout
