"""The fast engines' answers as the analyses' frames: :func:`authority_frame`,
:func:`flows_frame` and :func:`leak_paths`, for :func:`~.authority.authority`,
:func:`~.flow.flows` and :func:`~.confinement.confinement` with ``engine="csr"``. The
engine is picked here, once per system: :class:`~.fast.FastAuthority`, or
:class:`~.fast_booted.BootedAuthority` for a system that runs system programs.

>>> from keykos_lab.analysis import random_csr
>>> authority_frame(random_csr(300, 1_000, seed=1), 0).shape[1]
8
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import diags
from scipy.sparse.csgraph import breadth_first_order

from keykos_lab.analysis.convert import KEY_TYPES, CapabilityCSR, rights_of, sensory_mask, to_csr
from keykos_lab.analysis.fast import PAGE, RO, FastAuthority, refuse_system_programs
from keykos_lab.analysis.fast_booted import BootedAuthority
from keykos_lab.analysis.summaries import origin


def _engine(system: Any) -> Any:
    """The fast engine for a CapabilityCSR or a graph (packed first), cached per CSR:
    :class:`FastAuthority`, or :class:`.fast_booted.BootedAuthority` for a system
    that runs system programs."""
    if hasattr(system, "authority") and hasattr(system, "memory"):
        return system  # an engine already
    csr = system if isinstance(system, CapabilityCSR) else to_csr(system)
    engine = _CACHE.get(id(csr))
    if engine is None or engine.base is not csr:
        try:
            refuse_system_programs(csr)
            engine = FastAuthority(csr)
        except ValueError:
            engine = BootedAuthority(csr)
        _CACHE.clear()
        _CACHE[id(csr)] = engine
    return engine


_CACHE: dict[int, Any] = {}


def _rights_objects() -> npt.NDArray[np.object_]:
    table = np.empty((len(KEY_TYPES), 2), dtype=object)
    for t, name in enumerate(KEY_TYPES):
        for ro in (0, 1):
            table[t, ro] = rights_of(name, RO if ro else 0)
    return table


_RIGHTS_OBJECTS = _rights_objects()


def authority_frame(
    system: FastAuthority | CapabilityCSR | nx.DiGraph, subject: Hashable, memory: bool = True
) -> pd.DataFrame:
    """:func:`~.authority.authority` by the fast engine: the same rows, ``via`` None
    (``memory=False``: without the pages of its address space).

    >>> from keykos_lab.analysis import random_csr
    >>> csr = random_csr(500, 2_000, seed=3)
    >>> a = authority_frame(csr, csr.vertices[0])
    >>> list(a.columns)
    ['target', 'key_type', 'databyte', 'rights', 'sensory', 'via', 'through', 'label']
    """
    engine = _engine(system)
    csr = engine.csr
    index = csr.index_of(subject)
    rows = engine.authority(index)
    # Its address space: a page key row for each page it reaches, unless it holds one.
    pages, writable = engine.memory(index) if memory else (np.empty(0, np.int64), np.empty(0, bool))
    mem = np.stack([pages, np.full(len(pages), PAGE), np.where(writable, 0, RO)], axis=1)
    have = set(map(tuple, rows.tolist()))
    mem = mem[[tuple(r) not in have for r in mem.tolist()]].reshape(-1, 3)
    rows = np.concatenate([rows, mem])
    kt, db = rows[:, 1], rows[:, 2]
    return pd.DataFrame(
        {
            "target": csr.vertices[rows[:, 0]],
            "key_type": pd.Categorical.from_codes(kt, pd.Index(KEY_TYPES)),
            "databyte": db,
            "rights": _RIGHTS_OBJECTS[kt, (db & RO != 0).astype(np.int64)],
            "sensory": sensory_mask(kt, db),
            "via": None,
            "through": None,
            "label": None if csr.label is None else csr.label[rows[:, 0]],
        }
    )


def flows_frame(
    system: FastAuthority | CapabilityCSR | nx.DiGraph, subjects: Iterable[Hashable] | None = None
) -> pd.DataFrame:
    """:func:`~.flow.flows` by the fast engine (default subjects: every freely acting
    domain of the system, as the reference's).

    >>> from keykos_lab.analysis import random_csr
    >>> csr = random_csr(500, 2_000, seed=3)
    >>> flows_frame(csr, csr.vertices[:3]).shape
    (3, 3)
    """
    engine = _engine(system)
    csr = engine.csr
    if subjects is None:  # the system's freely acting domains (no system program, no summary)
        subjects = csr.vertices[np.flatnonzero(engine.free[: engine.base.n_vertices])]
    subjects = list(subjects)
    index = [csr.index_of(s) for s in subjects]
    return pd.DataFrame(engine.flows(index), index=subjects, columns=subjects, dtype=bool)


def leak_paths(
    system: FastAuthority | CapabilityCSR | nx.DiGraph,
    subject: Hashable,
    allowed: Iterable[Hashable] = (),
) -> tuple[list[list[Hashable]], nx.MultiDiGraph]:
    """The leaks :func:`~.confinement.confinement` reports, by the fast engine: one
    breadth-first search of the flow graph from ``subject``, not past a vertex that is
    allowed or a freely acting domain outside ``allowed`` (each of those reached is a
    leak, one per party), as paths of vertices; and a graph of the vertices on them,
    labelled, to name them by.

    >>> from keykos_lab.analysis import random_csr
    >>> csr = random_csr(200, 600, seed=2)
    >>> leaks, _ = leak_paths(csr, csr.vertices[0])
    >>> all(path[0] == csr.vertices[0] for path in leaks)
    True
    """
    engine = _engine(system)
    csr = engine.csr  # with the summaries of a booted system: a yield can be the subject
    F = engine.flow_graph()
    n, names = csr.n_vertices, csr.vertices
    try:
        s = csr.index_of(subject)
    except (KeyError, ValueError):
        s = -1
    if s < 0 or not engine.domain[s]:
        raise ValueError(f"{subject!r} is not a domain of the graph")
    allowed = set(allowed) | {subject}
    free = np.asarray(engine.free, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    made = np.zeros(n, dtype=bool)
    for i, v in enumerate(names.tolist()):
        if v in allowed:
            ok[i] = True
        elif isinstance(v, tuple) and (origin(v) == origin(subject) or origin(v) in allowed):
            made[i] = True  # a summary of what the subject or an allowed party made
    outside = free & ~ok & ~made
    stop = np.ones(F.shape[0])
    stop[:n][ok | outside] = 0
    stop[s] = 1
    order, parent = breadth_first_order(diags(stop) @ F, s, directed=True, return_predecessors=True)
    leaks: list[list[Hashable]] = []
    told: set[Hashable] = set()
    for u in order.tolist():
        if u < n and u != s and outside[u] and origin(names[u]) not in told:
            told.add(origin(names[u]))
            path = [u]
            while path[-1] != s:
                path.append(int(parent[path[-1]]))
            leaks.append([names[x] for x in reversed(path) if x < n])
    on: nx.MultiDiGraph = nx.MultiDiGraph()
    for path in leaks:
        for v in path:
            i = csr.index_of(v)
            label = None if csr.label is None else csr.label[i]
            on.add_node(v, **({"label": label} if label else {}))
    return leaks, on
