"""Shared helpers: a new Axes when none is given, names for vertex ids, frame checks.

>>> names = vertex_names({2: "console"})
>>> names(2), names(48)
('console', '#48')
>>> shorten("a_rather_long_vertex_name", 10)
'a_rather_…'
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import pandas as pd


def new_axes(ax: Any, figsize: tuple[float, float]) -> Any:
    """``ax`` itself, or the Axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def shorten(text: str, width: int = 18) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def vertex_names(labels: Any = None) -> Callable[[Hashable], str]:
    """A function naming vertex ids: ``labels`` is None (``#id``, or the string itself
    for string vertices), a mapping id → name, a networkx graph (its ``label``
    attributes), a kernel (the labels of its capability graph) or a labelled event
    log (:func:`frame_names`)."""
    table: Mapping[Hashable, Any]
    if labels is None:
        table = {}
    elif isinstance(labels, Mapping):
        table = labels
    elif isinstance(labels, pd.DataFrame):
        table = frame_names(labels)
    elif hasattr(labels, "capability_graph"):
        G = labels.capability_graph()
        table = {v: d.get("label", v) for v, d in G.nodes(data=True)}
    elif hasattr(labels, "nodes"):
        table = {v: d.get("label", v) for v, d in labels.nodes(data=True)}
    else:
        raise TypeError(
            "labels is None, a dict id -> name, a graph or a keykos_lab.Kernel, "
            f"not {type(labels).__name__}"
        )

    def name(v: Hashable) -> str:
        if v in table:
            return str(table[v])
        return v if isinstance(v, str) else f"#{v}"

    return name


def frame_names(events: pd.DataFrame) -> dict[Hashable, str]:
    """Id → label from the name columns of a labelled event log
    (``actor_label``, ``target_label``: ``k.events(labels=True)``); {} without them.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); _ = k.console.call(k.console["bank"], kl.oc.SB.CreatePage)
    >>> frame_names(kl.views.events(k, labels=True))[k.console.root]
    'console'
    """
    table: dict[Hashable, str] = {}
    for ids, names in (("target", "target_label"), ("actor", "actor_label")):
        if ids in events.columns and names in events.columns:
            pairs = events[[ids, names]].dropna().drop_duplicates(ids)
            table.update(zip(pairs[ids].tolist(), pairs[names].astype(str).tolist()))
    table.pop(-1, None)
    return table


def event_names(events: pd.DataFrame, labels: Any = None) -> Callable[[Hashable], str]:
    """Names for the ids of an event log: ``labels`` as :func:`vertex_names` takes it,
    else the log's own name columns when it has them (``k.events(labels=True)``)."""
    if labels is None and "actor_label" in events.columns:
        return vertex_names(events)
    return vertex_names(labels)


def graph_names(G: Any) -> Callable[[Hashable], str]:
    """Names of ``G``'s vertices: their ``label`` attribute, else the id."""
    return vertex_names(G)


def require_frame(events: Any, columns: Iterable[str], what: str) -> pd.DataFrame:
    """``events`` if it is a DataFrame holding ``columns``; a clear error if not."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"{what} takes the event log DataFrame (k.events()), not {type(events).__name__}"
        )
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise ValueError(
            f"{what}: the frame lacks the event-log column(s) {missing}; "
            "pass k.events() (docs/analyses.md#analyses-event-log)"
        )
    return events


def require_graph(G: Any, what: str) -> None:
    """A clear error unless ``G`` looks like a capability graph (a networkx graph)."""
    if not (hasattr(G, "nodes") and hasattr(G, "edges")):
        raise TypeError(
            f"{what} takes a capability graph (networkx MultiDiGraph, e.g. "
            f"k.capability_graph()), not {type(G).__name__}"
        )
