"""The fast engines' answers as the analyses' frames: :func:`authority_frame` and
:func:`flows_frame`, for :func:`~.authority.authority` and :func:`~.flow.flows` with
``engine="csr"``. The engine is picked here, once per system: :class:`~.fast.FastAuthority`,
or :class:`~.fast_booted.BootedAuthority` for a system that runs system programs.

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

from keykos_lab.analysis.convert import KEY_TYPES, CapabilityCSR, rights_of, sensory_mask, to_csr
from keykos_lab.analysis.fast import PAGE, RO, FastAuthority, refuse_system_programs
from keykos_lab.analysis.fast_booted import BootedAuthority


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
    """:func:`~.flow.flows` by the fast engine (default subjects: every domain).

    >>> from keykos_lab.analysis import random_csr
    >>> csr = random_csr(500, 2_000, seed=3)
    >>> flows_frame(csr, csr.vertices[:3]).shape
    (3, 3)
    """
    engine = _engine(system)
    csr = engine.csr
    if subjects is None:
        subjects = csr.vertices[np.flatnonzero(engine.domain)]
    subjects = list(subjects)
    index = [csr.index_of(s) for s in subjects]
    return pd.DataFrame(engine.flows(index), index=subjects, columns=subjects, dtype=bool)
