"""Datasets: the recorded runs and derived graphs bundled with the kit, and the upstream
specifications they come from.

**Bundled** (offline, in every install; docs/datasets.md, ``datasets/README.md``):
:func:`list` names everything there is, :func:`load` returns it — a pandas frame for an
event log, a ``networkx.MultiDiGraph`` in the project's schema for a capability graph —
and :func:`card` prints the dataset's card (what it is, where it comes from, its licence,
how it was made, its columns or attributes). :func:`catalog` is all of it as one frame.

>>> from keykos_lab import datasets
>>> datasets.load("runs/empty_child/events").columns[:4].tolist()
['seq', 'tick', 'event', 'jump']
>>> G = datasets.load("sel4-capdl/capDL-tool/camkes-adder-arm.cdl")
>>> G.number_of_nodes(), G.number_of_edges()
(107, 283)

**Upstream** (the raw specification files, not bundled): three third-party datasets read
by :mod:`keykos_lab.readers`. Their file lists — upstream repository, pinned commit and
SHA-256 of every file — are embedded here as :data:`MANIFESTS` (generated from each
``PROVENANCE.md`` in the shared folder beside a checkout, ``shared/external/<name>/``).

:func:`external` finds a dataset's folder, in this order:

1. ``$KEYKOS_LAB_EXTERNAL/<name>`` when the environment variable is set (it then wins:
   a missing folder there is an error, not a reason to look elsewhere);
2. ``<checkout>/../shared/external/<name>`` (:data:`SHARED_EXTERNAL`; only when the kit
   runs from a checkout, ``None`` in an installed wheel);
3. the cache, ``${XDG_CACHE_HOME:-~/.cache}/keykos_lab/external/<name>``, when every file
   is there with the right checksum;
4. otherwise every missing or damaged file is fetched into the cache with pooch from
   its upstream at the pinned commit (``raw.githubusercontent.com``) and checked against
   its SHA-256 (pooch downloads to a temporary file beside it and moves it into place
   only when the checksum matches). Never when ``$KEYKOS_LAB_OFFLINE`` is set (to
   anything but ``""`` or ``0``).

Tests (or a local mirror) redirect downloads by setting the module attribute
:data:`UPSTREAM_BASE`, which replaces the ``https://raw.githubusercontent.com`` prefix of
every URL; :data:`SHARED_EXTERNAL` may likewise be pointed elsewhere.

>>> sorted(KNOWN)
['fuchsia-cml', 'sel4-capdl', 'sel4-microkit-sdf']
>>> {name: len(manifest(name)) for name in sorted(KNOWN)}
{'fuchsia-cml': 9, 'sel4-capdl': 14, 'sel4-microkit-sdf': 41}

Errors: an unknown name raises :class:`UnknownDataset` (a :class:`ValueError` and a
:class:`DatasetError`); anything else that cannot be found, fetched, verified or read
raises :class:`DatasetError`, saying what and where. Nothing is ever loaded with pickle,
marshal or eval; a file is used only once its SHA-256 matches the one recorded for it.
"""

from __future__ import annotations

import builtins
import fnmatch
import hashlib
import logging
import os
import re
from pathlib import Path

from keykos_lab.datasets._errors import DatasetError, UnknownDataset
from keykos_lab.datasets._manifests import MANIFESTS

__all__ = [
    "ENV_VAR",
    "KNOWN",
    "MANIFESTS",
    "OFFLINE_VAR",
    "RAW_GITHUB",
    "SHARED_EXTERNAL",
    "UPSTREAM_BASE",
    "DatasetError",
    "UnknownDataset",
    "cache_dir",
    "card",
    "catalog",
    "data_root",
    "external",
    "info",
    "list",
    "load",
    "manifest",
    "offline",
    "parse_provenance",
    "path",
    "upstream_graph",
    "verify",
]

#: Environment variable naming a folder that holds ``<name>/`` dataset folders.
ENV_VAR = "KEYKOS_LAB_EXTERNAL"
#: Environment variable that, set (to anything but "" or "0"), forbids downloads.
OFFLINE_VAR = "KEYKOS_LAB_OFFLINE"


def _checkout_shared() -> Path | None:
    """``<checkout>/../shared/external`` when this package runs from a checkout (its
    parent folder holds pyproject.toml), else None (an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "keykos_lab").is_dir():
        return root.parent / "shared" / "external"
    return None


#: The shared folder beside a checkout (``/work/main`` → ``/work/shared/external``);
#: None in an installed wheel, where there is no checkout to be beside.
SHARED_EXTERNAL: Path | None = _checkout_shared()

#: Canonical prefix of the raw-file URLs stored in :data:`MANIFESTS`.
RAW_GITHUB = "https://raw.githubusercontent.com"

#: Where downloads really go: replaces :data:`RAW_GITHUB` in each URL (tests point it
#: at a local HTTP server, e.g. ``"http://127.0.0.1:8765"``).
UPSTREAM_BASE = RAW_GITHUB

#: Seconds to wait for each download (connecting, then each read).
TIMEOUT = 60.0

#: Names of the known external datasets.
KNOWN: tuple[str, ...] = tuple(MANIFESTS)


def offline() -> bool:
    """True when ``$KEYKOS_LAB_OFFLINE`` forbids downloads."""
    return os.environ.get(OFFLINE_VAR, "") not in ("", "0")


def _check_name(name: str) -> dict[str, dict[str, str]]:
    try:
        return MANIFESTS[name]
    except KeyError:
        known = ", ".join(sorted(MANIFESTS))
        raise UnknownDataset(f"unknown external dataset {name!r}; known: {known}") from None


def manifest(name: str) -> builtins.list[tuple[str, str, str]]:
    """``(relative path, sha256, upstream raw URL)`` for each file of dataset ``name``.

    >>> path, sha, url = manifest("sel4-capdl")[0]
    >>> path, sha[:12]
    ('capDL-tool/camkes-adder-arm.cdl', 'a59fe0cfba6a')
    >>> url
    'https://raw.githubusercontent.com/seL4/capdl/01b3bd48.../capDL-tool/camkes-adder-arm.cdl'
    >>> manifest("fuchsia-cml")[-1][2].split("/")[3:5]
    ['vsrinivas', 'fuchsia']
    >>> manifest("nope")
    Traceback (most recent call last):
    ...
    keykos_lab.datasets._errors.UnknownDataset: unknown external dataset 'nope'; known: ...
    """
    data = _check_name(name)
    return [(path, sha, data["url"][path]) for path, sha in sorted(data["files"].items())]


def cache_dir(name: str) -> Path:
    """The cache folder of dataset ``name``.

    That is ``${XDG_CACHE_HOME:-~/.cache}/keykos_lab/external/<name>``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG specification says.

    >>> cache_dir("sel4-capdl").parts[-3:]
    ('keykos_lab', 'external', 'sel4-capdl')
    """
    _check_name(name)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "keykos_lab" / "external" / name


def _sha256(path: Path) -> str | None:
    """SHA-256 of a file, ``None`` if it is not a readable regular file."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _bad_files(name: str, folder: Path) -> builtins.list[str]:
    return [path for path, sha, _ in manifest(name) if _sha256(folder / path) != sha]


def _target(folder: Path, relpath: str) -> Path:
    parts = Path(relpath).parts
    if Path(relpath).is_absolute() or ".." in parts:
        raise DatasetError(f"{relpath}: unsafe path in manifest")
    return folder.joinpath(*parts)


def _http_reason(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None) is not None:
        return f"HTTP {response.status_code} {getattr(response, 'reason', '') or ''}".rstrip()
    return str(exc) or type(exc).__name__


def _fetch(relpath: str, sha: str, url: str, dest: Path) -> None:
    """Download ``url`` with pooch into ``dest``, checked against ``sha``.

    pooch writes to a temporary file beside ``dest`` and moves it into place only when
    its SHA-256 matches, so a failed or wrong download leaves nothing behind.
    """
    import pooch
    import requests

    if url.startswith(RAW_GITHUB):
        url = UPSTREAM_BASE.rstrip("/") + url[len(RAW_GITHUB) :]
    fetcher = pooch.create(
        path=dest.parent,
        base_url="",
        registry={dest.name: f"sha256:{sha}"},
        urls={dest.name: url},
        retry_if_failed=0,
    )
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch says "Downloading ..." at INFO on stderr
    try:
        fetcher.fetch(dest.name, downloader=downloader)
    except requests.exceptions.RequestException as e:
        raise DatasetError(f"{relpath}: download failed: {_http_reason(e)} ({url})") from e
    except ValueError as e:  # pooch: the downloaded file's hash is not the known one
        raise DatasetError(
            f"{relpath}: SHA-256 mismatch: expected {sha} ({url}); nothing was kept ({e})"
        ) from e
    except OSError as e:
        raise DatasetError(f"{relpath}: cannot write {dest}: {e}") from e
    finally:
        logger.setLevel(level)


def external(name: str, *, download: bool = True) -> Path | None:
    """The folder holding external dataset ``name``, downloading it to the cache if needed
    (with ``download=False``: None instead of downloading, for callers that would rather
    skip than wait on the network).

    See the module docstring for where it looks. Raises :class:`UnknownDataset` (a
    ValueError) for an unknown name and :class:`DatasetError` when
    ``$KEYKOS_LAB_EXTERNAL/<name>`` is missing, when files are missing and downloads
    are forbidden (``$KEYKOS_LAB_OFFLINE``), or a download fails or has the wrong
    SHA-256 (files already fetched and checked stay in the cache; the failing one is not
    written).

    >>> external("nope")
    Traceback (most recent call last):
    ...
    keykos_lab.datasets._errors.UnknownDataset: unknown external dataset 'nope'; known: ...
    """
    _check_name(name)
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env) / name
        if not folder.is_dir():
            raise DatasetError(f"${ENV_VAR} is set but {folder} is not a folder")
        return folder
    if SHARED_EXTERNAL is not None:
        shared = Path(SHARED_EXTERNAL) / name
        if shared.is_dir():
            return shared
    cache = cache_dir(name)
    todo = set(_bad_files(name, cache))
    if todo and not download:
        return None
    if todo and offline():
        raise DatasetError(
            f"{name}: {len(todo)} upstream file(s) are not on disk and ${OFFLINE_VAR} "
            f"forbids downloading them (set ${ENV_VAR}, or unset ${OFFLINE_VAR})"
        )
    for relpath, sha, url in manifest(name):
        if relpath in todo:
            _fetch(relpath, sha, url, _target(cache, relpath))
    return cache


def verify(name: str) -> builtins.list[str]:
    """Relative paths (sorted) of files in ``external(name)`` that are missing or whose
    SHA-256 differs from the manifest; ``[]`` when the dataset is intact."""
    folder = external(name)
    assert folder is not None  # download=True: a folder or an exception
    return _bad_files(name, folder)


# --- PROVENANCE.md parsing (used to generate MANIFESTS and to test it) -----------------

_SHA_LINE = re.compile(r"^\s*([0-9a-fA-F]{64})\s+\*?(\S.*?)\s*$", re.MULTILINE)
_COMMIT = re.compile(r"\b[0-9a-f]{40}\b")
_GITHUB = re.compile(r"https?://github\.com/([\w.-]+)/([\w-]+(?:\.(?!git\b)[\w-]+)*)")
_MIRROR = re.compile(r"mirror\W+`([\w.-]+/[\w.-]+)`", re.IGNORECASE)
_TICKED = re.compile(r"`([^`]+)`")
_BRACES = re.compile(r"\{([^{}]*)\}")


def _expand_braces(pattern: str) -> builtins.list[str]:
    """``a/{b,c}/d`` → ``['a/b/d', 'a/c/d']``."""
    m = _BRACES.search(pattern)
    if m is None:
        return [pattern]
    head, tail = pattern[: m.start()], pattern[m.end() :]
    return [x for alt in m.group(1).split(",") for x in _expand_braces(head + alt + tail)]


def parse_provenance(text: str) -> dict[str, dict[str, str]]:
    """Parse a ``PROVENANCE.md`` into ``{"files": {path: sha256}, "url": {path: raw_url}}``.

    Checksums are the ``<sha256>  <relative path>`` lines (in the "Files and checksums"
    fenced block). Each file's upstream repository and commit come from, most specific
    first: a table row holding a 40-hex commit and the file's path or a glob matching it
    (``*``, ``**``, ``{a,b}``), under an optional sub-folder cell (`` `microkit/` ``,
    stripped from the upstream path) and repository URL cell, both inherited by the
    following rows when blank; else the only 40-hex commit of the document. The
    repository defaults to a GitHub ``mirror `owner/name``` when the text names one,
    else the first ``https://github.com/owner/name`` URL.

    >>> text = '''Upstream: https://github.com/o/r, commit `''' + "ab" * 20 + '''`
    ... ```
    ... ''' + "0" * 64 + '''  x/y.txt
    ... ```'''
    >>> parse_provenance(text)["url"]["x/y.txt"]
    'https://raw.githubusercontent.com/o/r/abab.../x/y.txt'
    """
    files = {path: sha.lower() for sha, path in _SHA_LINE.findall(text)}
    if not files:
        raise ValueError("no '<sha256>  <path>' lines found")
    mirror = _MIRROR.search(text)
    repos = [f"{owner}/{repo}" for owner, repo in _GITHUB.findall(text)]
    default_repo = mirror.group(1) if mirror else (repos[0] if repos else None)
    commits = set(_COMMIT.findall(text))
    default_commit = next(iter(commits)) if len(commits) == 1 else None

    rules: builtins.list[tuple[str, str | None, str, builtins.list[str]]] = []
    folder, repo = "", default_repo
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = [m.group(0) for c in cells for m in [_COMMIT.search(c)] if m]
        if not found:
            continue
        patterns: builtins.list[str] = []
        for cell in cells:
            gh = _GITHUB.search(cell)
            ticked = [t for t in _TICKED.findall(cell) if not _COMMIT.fullmatch(t)]
            if gh:
                repo = f"{gh.group(1)}/{gh.group(2)}"
            elif len(ticked) == 1 and ticked[0].endswith("/"):
                folder = ticked[0]
            else:
                patterns += [p for t in ticked for p in _expand_braces(t)]
        rules.append((folder, repo, found[0], patterns))

    urls: dict[str, str] = {}
    for path in files:  # noqa: F402 (the module's `path` is not used here)
        hits = {
            (f, r, c)
            for f, r, c, pats in rules
            if path.startswith(f) and any(fnmatch.fnmatchcase(path[len(f) :], p) for p in pats)
        }
        if len(hits) > 1:
            raise ValueError(f"{path}: several commits match: {sorted(h[2] for h in hits)}")
        if hits:
            f, r, c = hits.pop()
        elif default_commit is not None:
            f, r, c = "", default_repo, default_commit
        else:
            raise ValueError(f"{path}: no commit found for it")
        if r is None:
            raise ValueError(f"{path}: no GitHub repository found for it")
        urls[path] = f"{RAW_GITHUB}/{r}/{c}/{path[len(f) :]}"
    return {"files": dict(sorted(files.items())), "url": dict(sorted(urls.items()))}


# The bundled datasets (imported last: `list` is one of them, and shadows the builtin
# from here on).
from keykos_lab.datasets._bundled import (  # noqa: E402
    card,
    catalog,
    data_root,
    info,
    list,
    load,
    path,
    upstream_graph,
)
