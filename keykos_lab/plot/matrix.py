"""Reachability heat maps: who can come to hold what, who can come to tell whom.

The matrix drawn is the image's array, ``ax.images[0].get_array()`` (rows =
subjects, columns = targets, in the order of the tick labels), so tests and
notebooks can read back exactly what is shown.

Authority strength (``kind="authority"``), the strongest key a subject can come
to hold to the target, by the rights it conveys (:func:`strength`):

* 0 — no key;
* 1 — observe: read, fetch or sense only (sensory keys land here);
* 2 — invoke: call, reply, meter or create, without write;
* 3 — modify: write, store or control.

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> from keykos_lab import readers
>>> from keykos_lab.cli import SYSTEM
>>> G = readers.read_microkit_text(SYSTEM)
>>> ax = plot_reachability(G, ["a", "b"])
>>> [t.get_text() for t in ax.get_xticklabels()]
['a', 'b', 'monitor:fault_ep', 'channel:a:0-b:0', 'notification:a', 'notification:b']
>>> ax.images[0].get_array().tolist()
[[2, 2, 2, 3, 3, 3], [2, 2, 2, 3, 3, 3]]
>>> plt.close("all")
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap

from keykos_lab.plot._common import new_axes, require_graph, shorten
from keykos_lab.plot.style import LABEL, SMALL, kind_rank

OBSERVE = frozenset({"read", "fetch", "sense"})
INVOKE = frozenset({"call", "reply", "meter", "create"})
MODIFY = frozenset({"write", "store", "control"})
#: Colour-bar words for the strengths 0–3.
STRENGTHS = (
    "none",
    "observe\n(read, fetch, sense)",
    "invoke\n(call, reply, meter, create)",
    "modify\n(write, store, control)",
)
KINDS = ("authority", "flow")


def strength(rights: Iterable[str]) -> int:
    """The strength of a key with these rights: 0 none, 1 observe, 2 invoke, 3 modify.

    >>> strength({"read"}), strength({"call"}), strength({"read", "write"}), strength(())
    (1, 2, 3, 0)
    """
    r = frozenset(rights)
    if r & MODIFY:
        return 3
    if r & INVOKE:
        return 2
    return 1 if r & OBSERVE else 0


def plot_reachability(
    G: Any,
    subjects: Iterable[Hashable] | Hashable,
    targets: Iterable[Hashable] | None = None,
    *,
    kind: str = "authority",
    ax: Axes | None = None,
) -> Axes:
    """A heat map of what ``subjects`` (domain vertices of ``G``) can reach.

    ``kind="authority"``: rows are the subjects, columns ``targets`` (default:
    every vertex of ``G`` some subject can come to hold a key to, by kind then
    label — objects that do not exist yet, such as what a bank would sell, are
    left out), a cell the :func:`strength` of the subject's strongest key to
    the target (:func:`keykos_lab.analysis.authority`). ``kind="flow"``: columns
    default to the subjects, a cell is 1 where information can flow from row to
    column (:func:`keykos_lab.analysis.flows`). Axes are labelled with vertex
    labels; the matrix is ``ax.images[0].get_array()``.
    """
    require_graph(G, "plot_reachability")
    if kind not in KINDS:
        raise ValueError(f"kind is 'authority' or 'flow', not {kind!r}")
    subs = _vertices(G, subjects, "subject")
    if not subs:
        raise ValueError("plot_reachability needs at least one subject")
    for s in subs:
        k = G.nodes[s].get("kind")
        if kind == "authority" and k != "domain":
            raise ValueError(
                f"subject {s!r} is a {k or 'vertex without a kind'}, not a "
                "domain: authority is what a domain can come to hold"
            )
    tgts = None if targets is None else _vertices(G, targets, "target")
    if kind == "authority":
        M, tgts = _authority_matrix(G, subs, tgts)
    else:
        from keykos_lab.analysis import flows

        tgts = subs if tgts is None else tgts
        both = list(dict.fromkeys([*subs, *tgts]))
        F = flows(G, both)
        M = F.loc[subs, tgts].to_numpy(dtype=np.int64).reshape(len(subs), len(tgts))
    return _draw(G, M, subs, tgts, kind, ax)


def _vertices(G, given, what: str) -> list:
    if isinstance(given, str | int) or not isinstance(given, Iterable):
        given = [given]
    out = list(dict.fromkeys(given))
    for v in out:
        if v not in G:
            raise ValueError(f"unknown {what} {v!r}: not a vertex of the graph")
    return out


def _authority_matrix(G, subs, tgts) -> tuple[np.ndarray, list]:
    from keykos_lab.analysis import authority

    best: list[dict] = []
    for s in subs:
        a = authority(G, s)
        row: dict = {}
        for t, rights in zip(a.target, a.rights):
            if isinstance(t, tuple) or t not in G:  # a summary: not a vertex yet
                continue
            row[t] = max(row.get(t, 0), strength(rights))
        best.append(row)
    if tgts is None:
        reached = {t for row in best for t in row}
        tgts = sorted(
            reached,
            key=lambda v: (
                kind_rank(G.nodes[v].get("kind", "")),
                str(G.nodes[v].get("label", v)),
                str(v),
            ),
        )
    M = np.array([[row.get(t, 0) for t in tgts] for row in best], dtype=np.int64)
    return M.reshape(len(subs), len(tgts)), tgts


def _draw(G, M, subs, tgts, kind, ax) -> Axes:
    rows, cols = M.shape
    ax = new_axes(ax, (min(24.0, 3.5 + 0.22 * cols), min(18.0, 2.5 + 0.3 * rows)))
    if kind == "authority":
        cmap = ListedColormap(["#f4f4f4", "#9ecae1", "#4292c6", "#08306b"])
        ticks, words = range(4), STRENGTHS
    else:
        cmap = ListedColormap(["#f4f4f4", "#cb181d"])
        ticks, words = range(2), ("no flow", "information\ncan flow")
    norm = BoundaryNorm(np.arange(-0.5, len(words)), cmap.N)
    im = ax.imshow(M, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    bar = ax.figure.colorbar(im, ax=ax, ticks=list(ticks), fraction=0.04, pad=0.02)
    bar.ax.set_yticklabels(words, fontsize=SMALL)
    bar.set_label("authority strength" if kind == "authority" else "flow", fontsize=LABEL)

    def name(v):
        return shorten(str(G.nodes[v].get("label", v)), 24)

    size = LABEL if max(rows, cols) <= 30 else SMALL
    ax.set_yticks(range(rows), [name(v) for v in subs], fontsize=size)
    ax.set_xticks(
        range(cols),
        [name(v) for v in tgts],
        fontsize=size,
        rotation=60,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    if kind == "authority":
        ax.set_xlabel("target (what the subject can come to hold a key to)")
        ax.set_ylabel("subject")
        ax.set_title(f"authority: {rows} subjects × {cols} targets")
    else:
        ax.set_xlabel("sink")
        ax.set_ylabel("source")
        ax.set_title(f"information flow: {rows} sources × {cols} sinks")
    return ax
