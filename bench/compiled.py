"""What compiling the kernel's own source buys: the same benchmark, one process per build.

    python bench/compiled.py [--rounds N] [--trials]

Which kernel a process runs is fixed when it imports keykos_lab (kernel/native.py), so
builds cannot share a process. This script copies the package into a temporary folder
per build, compiles the copy, and runs ``bench/kernel.py --quick --json`` against each
build in turn (``PYTHONPATH`` names the copy), ``--rounds`` times, keeping each figure's
best round. Every ratio is to the bare generator loop timed in the same process, so the
columns are comparable even when the machine's speed drifts between processes.

The builds (docs/decisions/0017-compiled-kernel.md):

- ``pure``: the source, as ``KEYKOS_LAB_PURE=1`` runs it;
- ``mypyc``: the build an install makes (``hatch_build.py``): the kernel's classes stay
  ordinary Python classes, their methods compiled;

and with ``--trials``, three builds that ask what more a compiler of the same source could
give. Each changes its copy with the text replacements in :data:`TRIALS` (a replacement
that no longer applies stops the script), and each breaks something the kit needs, so
none is a build an install could make:

- ``mypyc-native``: every kernel class native (attributes at fixed offsets, direct
  method calls). The history cannot re-class a native instance, so it is off;
- ``cython``: Cython 3 in pure-Python mode compiles the same ``.py`` files, unchanged.
  Its annotation typing is off: with it on, Cython refuses a subclass of ``dict`` where a
  parameter says ``dict``, and the history's recording maps are such subclasses;
- ``cython-cdef``: as ``cython``, with an augmenting ``domains.pxd`` that makes
  ``DomainState`` a ``cdef class`` with typed fields (the hot path reads its fields on
  every jump). The history is off, for the same reason.

With the history off its row says ``n/a``. The targets are issue 22's: round trip >= 0.06
of the loop compiled (0.025 pure), primary call >= 0.3 compiled, a compiled round trip at
least as fast as SimPy's bare-event exchange. The table is printed and written to
``bench/results-compiled.md``. mypyc comes with the dev extra, Cython with the bench extra.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results-compiled.md"
ROWS = (  # (what, key in "us")
    ("primary-key CALL, op built once", "primary_op"),
    ("CALL/RETURN round trip, op built once", "rt_op"),
    ("round trip, log off", "rt_off"),
    ("round trip, history on", "rt_hist"),
    ("primary-key CALL, op built per call", "primary"),
    ("round trip, op built per call", "rt"),
)

# (file under keykos_lab/, text, replacement): what a trial changes in its copy.
_GO_COMPILED = (  # a Cython build has no mypyc record: let native.choose take it as built
    "kernel/native.py",
    '    """None when the compiled modules may run, else why not."""\n',
    '    """None when the compiled modules may run, else why not."""\n    return None\n',
)
_NO_HISTORY = (  # a native / cdef DomainState cannot be re-classed by the history
    "kernel/core.py",
    "        History.start(self)  #",
    "        pass  # (trial: no history) History.start(self) #",
)
_CDEF_PXD = """\
cdef class DomainState:
    cdef public long root, state, resume_alloc, cpu, chain_epoch
    cdef public object proc, next, on_resume, stall, held, chain, image
    cdef public object stalled_on, woken_by, parked, program, error, hist
"""
_ORDINARY = "@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)\n"
TRIALS: dict[str, dict] = {
    "mypyc-native": {
        "compiler": "mypyc",
        "history": False,
        "replace": [
            (
                f"kernel/{m}.py",
                _ORDINARY + "class ",
                "@mypyc_attr(allow_interpreted_subclasses=True)\nclass ",
            )
            for m in (
                "core",
                "domains",
                "gates",
                "invocation",
                "keepers",
                "memory",
                "meters",
                "state",
            )
        ]
        + [("kernel/objects.py", _ORDINARY + "class ", "class ")] * 3
        + [_NO_HISTORY],
    },
    "cython": {"compiler": "cython", "history": True, "replace": [_GO_COMPILED]},
    "cython-cdef": {
        "compiler": "cython",
        "history": False,
        "pxd": {"kernel/domains.pxd": _CDEF_PXD},
        "replace": [
            _GO_COMPILED,
            _NO_HISTORY,
            ("kernel/domains.py", _ORDINARY + "class DomainState", "class DomainState"),
            ("kernel/domains.py", "    __slots__ = (\n", "    _fields = (\n"),
        ],
    },
}

_CYTHON_SETUP = """
import sys
from setuptools import setup
from Cython.Build import cythonize
files = sys.argv[1].split(",")
sys.argv[1:] = ["build_ext", "--inplace"]
setup(name="keykos_lab_kernel", packages=[], ext_modules=cythonize(
    files, language_level=3, nthreads=2, quiet=True,
    compiler_directives={"binding": True, "annotation_typing": False}))
"""


def _modules() -> tuple[str, ...]:
    """The modules the compiled build covers (kernel/native.py), read without importing
    the package (which would fix this process's kernel)."""
    path = ROOT / "keykos_lab" / "kernel" / "native.py"
    spec = importlib.util.spec_from_file_location("_native_for_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MODULES


def build(name: str, work: Path) -> Path:
    """The folder holding a compiled copy of keykos_lab for build ``name``."""
    dest = work / name
    shutil.copytree(
        ROOT / "keykos_lab",
        dest / "keykos_lab",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "native.json", "*.c"),
    )
    shutil.copy2(ROOT / "hatch_build.py", dest / "hatch_build.py")
    trial = TRIALS.get(name, {"compiler": "mypyc"})
    for file, text, new in trial.get("replace", ()):
        path = dest / "keykos_lab" / file
        source = path.read_text(encoding="utf-8")
        if text not in source:
            raise SystemExit(f"trial {name}: {file} no longer has {text.strip()!r}; update TRIALS")
        path.write_text(source.replace(text, new, 1), encoding="utf-8")
    for file, text in trial.get("pxd", {}).items():
        (dest / "keykos_lab" / file).write_text(text, encoding="utf-8")
    if trial["compiler"] == "mypyc":
        command = [sys.executable, "hatch_build.py"]
    else:
        files = [str(Path(*m.split(".")).with_suffix(".py")) for m in _modules()]
        command = [sys.executable, "-c", _CYTHON_SETUP, ",".join(files)]
    done = subprocess.run(command, cwd=dest, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build {name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return dest


def run(name: str, folder: Path | None) -> dict:
    """bench/kernel.py's figures from one process running build ``name``."""
    env = dict(os.environ)
    env.pop("KEYKOS_LAB_PURE", None)
    if folder is None:
        env["KEYKOS_LAB_PURE"] = "1"
    else:
        env["PYTHONPATH"] = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        subprocess.run(
            [sys.executable, str(HERE / "kernel.py"), "--quick", "--json", str(out)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        figures = json.loads(out.read_text(encoding="utf-8"))
    if folder is not None and not figures["compiled"]:
        raise SystemExit(f"build {name} did not run compiled: {figures['status']}")
    return figures


def best(runs: list[dict]) -> dict:
    """Each figure's best round, as a ratio to that round's own baseline."""
    out: dict = {"ratio": {}, "us": {}, "peer_ratio": {}}
    for key in runs[0]["us"]:
        out["ratio"][key] = max(r["base_us"] / r["us"][key] for r in runs)
        out["us"][key] = min(r["us"][key] for r in runs)
    for key in runs[0]["peers_us"]:
        if runs[0]["peers_us"][key] is not None:  # kernel round trip / peer, best round
            out["peer_ratio"][key] = min(r["us"]["rt_op"] / r["peers_us"][key] for r in runs)
    return out


def report(names: list[str], figures: dict[str, dict], rounds: int) -> str:
    """The table: per measure, each build's µs and ratio to the loop; then the targets."""
    head = " | ".join(f"{n} µs (ratio)" for n in names)
    lines = [
        "# The kernel compiled from its own source",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{platform.machine()} · bench/kernel.py --quick in {rounds} processes per build, "
        "best round; the ratio is to the bare generator loop of the same process",
        "",
        f"| measure | {head} |",
        "|---|" + "---|" * len(names),
    ]
    for what, key in ROWS:
        cells = []
        for n in names:
            if key == "rt_hist" and not TRIALS.get(n, {}).get("history", True):
                cells.append("n/a (history off)")
            else:
                f = figures[n]
                cells.append(f"{f['us'][key]:.2f} ({f['ratio'][key]:.4f})")
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| build | round trip (aim: 0.06 compiled, 0.025 pure) | primary call (aim: 0.3) ",
    ]
    lines[-1] += "| round trip / SimPy bare-event exchange (aim: <= 1) |"
    lines.append("|---|---|---|---|")
    for n in names:
        f = figures[n]
        rt, primary = f["ratio"]["rt_op"], f["ratio"]["primary_op"]
        aim = 0.025 if n == "pure" else 0.06
        simpy = f["peer_ratio"].get("simpy_events")
        lines.append(
            f"| {n} | {rt:.4f} ({'PASS' if rt >= aim else f'{aim / rt:.1f}x to go'}) | "
            f"{primary:.4f} ({'PASS' if primary >= 0.3 else f'{0.3 / primary:.1f}x to go'}) | "
            + (f"{simpy:.2f} |" if simpy is not None else "SimPy not installed |")
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="processes per build (default 2)")
    ap.add_argument("--trials", action="store_true", help="also the three trial builds")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    names = ["pure", "mypyc", *(TRIALS if args.trials else ())]
    with tempfile.TemporaryDirectory(prefix="keykos_lab-compiled-") as tmp:
        folders: dict[str, Path | None] = {"pure": None}
        for name in names[1:]:
            print(f"building {name} …", file=sys.stderr, flush=True)
            folders[name] = build(name, Path(tmp))
        runs: dict[str, list[dict]] = {n: [] for n in names}
        for _ in range(args.rounds):  # interleaved: one process per build per round
            for n in names:
                runs[n].append(run(n, folders[n]))
    text = report(names, {n: best(r) for n, r in runs.items()}, args.rounds)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
