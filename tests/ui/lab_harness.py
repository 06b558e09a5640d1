"""A private JupyterLab server for the browser tests (see conftest.py for the fixtures).

It runs on a folder of notebooks on 127.0.0.1 with a free port, no token and no password, with
its news feed, update check, announcements extension and PyPI extension manager off, and with
Jupyter's config, data and runtime folders in its own home folder, so a developer's settings
play no part and it makes no outside requests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "build" / "ui-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    # WebGL without a GPU, for the sigma.js graph view (test_graph_view.py): ANGLE on
    # SwiftShader, the software renderer chromium ships. Chromium 156 still falls back to it
    # on its own with --disable-gpu, but warns that the automatic fallback is deprecated;
    # these two ask for it by name, so WebGL stays when the fallback goes.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
SERVER_START_TIMEOUT = 60  # seconds for `jupyter lab` to answer /api/status
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A `jupyter lab` process on ``root``; ``url`` is its base URL, ``log`` its output."""

    def __init__(self, root: Path, home: Path):
        self.root = root
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "jupyter-lab.log"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={self.root}",
            # no outside requests: news feed, update check, PyPI extension listing
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if os.getuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def environment(self) -> dict[str, str]:
        config = self.home / "config"
        # `jupyter labextension disable` writes the same file: no announcements plugin
        # (it would ask to fetch Jupyter news and check for updates).
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps(
                {
                    "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True},
                }
            )
        )
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            IPYTHONDIR=str(self.home / "ipython"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        env.pop("JUPYTER_TOKEN", None)
        return env

    def trust(self, notebook: Path) -> None:
        """Sign ``notebook`` with this server's key, as `jupyter trust` does for a user."""
        subprocess.run(
            [sys.executable, "-m", "jupyter", "trust", str(notebook)],
            env=self.environment(),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed at teardown
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited ({self.proc.returncode}):\n" + self.log_tail()
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"jupyter lab did not answer within {SERVER_START_TIMEOUT} s:\n" + self.log_tail()
        )

    def stop(self) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL whatever is left:
        the server's process group and every process it started (kernels run in their
        own sessions)."""
        if self.proc is None:
            return
        descendants = []
        with contextlib.suppress(Exception):
            import psutil

            descendants = psutil.Process(self.proc.pid).children(recursive=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for child in descendants:
            with contextlib.suppress(Exception):
                child.kill()
        self.proc = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
