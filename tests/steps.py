"""One helper for the tests that run a command as a step of a longer job (building and
installing a wheel, a Binder build, executing a notebook): no input, output captured,
a time limit, and a failure that shows the ends of both streams."""

from __future__ import annotations

import subprocess

import pytest


def run_step(cmd, *, cwd, env=None, timeout: float, what=None, check: bool = True):
    """Run ``cmd`` (its parts made strings) in ``cwd``; the completed process. Fails the
    test when it takes longer than ``timeout`` seconds, or (``check``) exits non-zero."""
    try:
        done = subprocess.run(
            [str(c) for c in cmd],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{what or cmd}: no result within {timeout} s\n{exc.stdout or ''}{exc.stderr or ''}"
        )
    if check:
        assert done.returncode == 0, (
            f"{what or cmd} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    return done
