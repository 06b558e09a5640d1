"""Capability graphs drawn: vertices by kind, keys by type, a subject's authority shaded.

What the Axes holds, for tests and for restyling (matplotlib ``gid`` names):

* ``vertices:<kind>`` — one scatter per vertex kind, one point per vertex;
  :func:`~.path.vertex_ids` of it are the vertex ids (``str``) in point order (kept
  on the artist, not as its urls, so an exported SVG has no links);
* ``key:<key_type>`` and ``key:<key_type>:sensory`` — one arrow per holder →
  target pair and key type (parallel keys drawn once, ``×n`` written beside),
  coloured by :data:`~.style.KEY_COLOURS`, sensory keys dashed; arrows of
  different key types between the same pair curve apart;
* ``authority`` — the halo behind what a highlighted subject can come to hold
  (``vertex_ids`` again); ``subject`` — the ring around it.

Above ``collapse_above`` (30) vertices the primordial system's parts are drawn as
one vertex each (:func:`~.collapse.collapse_system`: kind ``system``; its
``members:<part>`` scatter, invisible, keeps the member ids at the part's place,
so a witness path through a bank still draws). Above ``max_vertices`` vertices
the graph is drawn as a summary instead (:func:`~.summary.draw_summary`).

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> ax = draw_capability_graph(k.capability_graph(), highlight=con.root)
>>> ax.get_title()
'authority of console: ... vertices reachable, ... keys'
>>> doms = next(c for c in ax.collections if c.get_gid() == "vertices:domain")
>>> len(doms.get_offsets()) == sum(d["kind"] == "domain" for _, d in
...                                 k.capability_graph().nodes(data=True))
True
>>> plt.close("all")
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from keykos_lab.plot._common import new_axes, require_graph, shorten
from keykos_lab.plot.collapse import collapse_system, member_of, system_parts
from keykos_lab.plot.layout import layered_layout
from keykos_lab.plot.path import set_vertex_ids
from keykos_lab.plot.style import (
    HALO,
    LABEL,
    LEGEND,
    SMALL,
    SUBJECT,
    key_colour,
    kind_rank,
    kind_style,
    legend_key_types,
)
from keykos_lab.plot.summary import draw_summary

LABEL_ALL = 80  # up to this many vertices every vertex is labelled; above, domains only
COLLAPSE_ABOVE = 30  # collapse="auto": the primordial system collapsed above this many


def draw_capability_graph(
    G: Any,
    highlight: Hashable | None = None,
    *,
    ax: Axes | None = None,
    max_vertices: int = 200,
    labels: bool = True,
    collapse: bool | str = "auto",
) -> Axes:
    """Draw capability graph ``G``: domains, nodes, pages, meters, segments and misc
    objects as distinct shapes and colours, keys as arrows coloured by key type
    (sensory keys dashed), a legend for the kinds and key types present.

    ``highlight`` is a subject (a domain vertex): the objects it can come to hold
    keys to (:func:`keykos_lab.analysis.authority`) get a yellow halo, the subject
    a ring, keys outside that reach fade, and the title says how much it reaches.
    The layout is layered (:func:`~.layout.layered_layout`) from the subject, or
    from the domains. ``labels``: write vertex labels (the ``label`` attribute: names
    given with ``con.name``, program names; all of them up to 80 vertices, the
    domains' only above). ``collapse``: draw the primordial system (banks, DCC, FCC,
    SBT, KIDC, meters, the kernel's misc objects) as one vertex per part
    (:func:`~.collapse.collapse_system`) — ``True``, ``False``, or ``"auto"``: when the
    graph has more than 30 vertices. Graphs still above ``max_vertices`` vertices
    are summarised kind to kind (:func:`~.summary.draw_summary`).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from keykos_lab import readers
    >>> from keykos_lab.cli import SYSTEM
    >>> ax = draw_capability_graph(readers.read_microkit_text(SYSTEM), highlight="a")
    >>> sorted(c.get_gid() for c in ax.collections)
    ['authority', 'subject', 'vertices:domain', 'vertices:page']
    >>> from collections import Counter      # the monitor's fault endpoint, notifications too
    >>> sorted(Counter(p.get_gid() for p in ax.patches).items())
    [('key:page', 6), ('key:start', 3)]
    >>> plt.close("all")
    """
    require_graph(G, "draw_capability_graph")
    if collapse not in (True, False, "auto"):
        raise ValueError(f"collapse is True, False or 'auto', not {collapse!r}")
    reached: set = set()
    n_keys = 0
    if highlight is not None:
        reached, n_keys = _authority(G, highlight)
    full = G
    n_full, m_full = G.number_of_nodes(), G.number_of_edges()
    keep = [] if highlight is None else [highlight]
    if collapse is True or (
        collapse == "auto" and COLLAPSE_ABOVE < n_full and system_parts(G, keep)
    ):
        G = collapse_system(G, keep)
    n = G.number_of_nodes()
    if n > max_vertices:
        return draw_summary(
            full, highlight=highlight, reached=reached, ax=ax, max_vertices=max_vertices
        )
    if G is not full:
        where = member_of(G)
        reached = {where.get(v, v) for v in reached}
    roots = (
        [highlight]
        if highlight is not None
        else [v for v in G if G.nodes[v].get("kind") == "domain"] or list(G)[:1]
    )
    pos = layered_layout(G, roots)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    ax = new_axes(ax, (min(24.0, 7.5 + 2.2 * width), min(18.0, 3.0 + 0.5 * height)))
    scale = 1.0 if n <= 40 else max(0.3, math.sqrt(40 / n))

    kinds = sorted({G.nodes[v].get("kind", "") for v in G}, key=kind_rank)
    if highlight is not None:
        _draw_highlight(ax, pos, highlight, reached, scale)
    for kind in kinds:
        vs = [v for v in G if G.nodes[v].get("kind", "") == kind]
        st = kind_style(kind)
        sc = ax.scatter(
            [pos[v][0] for v in vs],
            [pos[v][1] for v in vs],
            s=st["size"] * scale,
            marker=st["marker"],
            c=st["color"],
            edgecolors="#222222",
            linewidths=0.8,
            zorder=3,
        )
        sc.set_gid(f"vertices:{kind}")
        set_vertex_ids(sc, vs)
        for v in vs if kind == "system" else ():
            _members(ax, v, G.nodes[v].get("members", ()), pos[v])
    key_types, sensory = _draw_keys(ax, G, pos, scale, highlight, reached)
    if labels:
        _draw_labels(ax, G, pos, scale, highlight)
    _legend(ax, kinds, key_types, sensory, highlight is not None)

    pad_x, pad_y = 0.5, 0.7
    ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
    ax.set_ylim(min(ys) - pad_y, max(ys) + pad_y)
    ax.set_axis_off()
    parts = sum(1 for v in G if G.nodes[v].get("kind") == "system")
    system = f" (the system as {parts} parts)" if parts else ""
    if highlight is not None:
        name = G.nodes[highlight].get("label", highlight)
        ax.set_title(
            f"authority of {name}: {len(reached)} of {n} vertices{system} reachable, {n_keys} keys"
        )
    else:
        ax.set_title(f"capability graph: {n_full} vertices{system}, {m_full} keys")
    return ax


def _members(ax, group, members, xy) -> None:
    """An invisible scatter holding a collapsed part's member ids, at its place."""
    hidden = ax.scatter([xy[0]] * len(members), [xy[1]] * len(members), s=0, alpha=0)
    hidden.set_gid(f"members:{group}")
    set_vertex_ids(hidden, members)


def _authority(G, subject) -> tuple[set, int]:
    from keykos_lab.analysis import authority

    a = authority(G, subject)  # its ValueError names an unknown or non-domain subject
    return {t for t in a.target if _in(G, t)}, len(a)


def _in(G, v) -> bool:
    try:
        return v in G
    except TypeError:  # an unhashable summary vertex
        return False


def _draw_highlight(ax, pos, subject, reached, scale) -> None:
    vs = sorted(reached, key=str)
    halo = ax.scatter(
        [pos[v][0] for v in vs],
        [pos[v][1] for v in vs],
        s=1400 * scale,
        c=HALO,
        alpha=0.45,
        linewidths=0,
        zorder=1,
    )
    halo.set_gid("authority")
    set_vertex_ids(halo, vs)
    ring = ax.scatter(
        [pos[subject][0]],
        [pos[subject][1]],
        s=1100 * scale,
        facecolors="none",
        edgecolors=SUBJECT,
        linewidths=3.0,
        zorder=4,
    )
    ring.set_gid("subject")
    set_vertex_ids(ring, [subject])


def _draw_keys(ax, G, pos, scale, highlight, reached) -> tuple[list, bool]:
    """One arrow per (holder, target, key type, sensory); returns the key types drawn."""
    groups: Counter = Counter()
    for u, v, d in G.edges(data=True):
        groups[(u, v, str(d.get("key_type", "")), bool(d.get("sensory", False)))] += 1
    per_pair: dict = {}
    for g in groups:
        per_pair.setdefault(frozenset((g[0], g[1])), []).append(g)
    inside = reached | {highlight}
    shrink = math.sqrt(220 * scale) / 2 + 1
    for pair_groups in per_pair.values():
        pair_groups.sort(key=lambda g: (str(g[0]), g[2], g[3]))
        k = len(pair_groups)
        for i, g in enumerate(pair_groups):
            u, v, ktype, sens = g
            rad = 0.12 * (i - (k - 1) / 2) if k > 1 else 0.0
            faded = highlight is not None and not (u in inside and v in inside)
            if u == v:
                _self_loop(ax, pos[u], ktype, sens, groups[g], scale)
                continue
            arrow = FancyArrowPatch(
                pos[u],
                pos[v],
                connectionstyle=f"arc3,rad={rad}",
                arrowstyle="-|>",
                mutation_scale=9,
                color=key_colour(ktype),
                linewidth=1.1,
                linestyle="--" if sens else "-",
                alpha=0.25 if faded else 0.85,
                shrinkA=shrink,
                shrinkB=shrink,
                zorder=2,
            )
            arrow.set_gid(f"key:{ktype}" + (":sensory" if sens else ""))
            ax.add_patch(arrow)
            if groups[g] > 1:
                (x0, y0), (x1, y1) = pos[u], pos[v]
                mx, my = (x0 + x1) / 2, (y0 + y1) / 2
                mx, my = mx + rad * (y1 - y0) / 2, my - rad * (x1 - x0) / 2
                ax.text(
                    mx,
                    my,
                    f"×{groups[g]}",
                    fontsize=SMALL,
                    color=key_colour(ktype),
                    ha="center",
                    va="center",
                    zorder=5,
                    alpha=0.4 if faded else 1.0,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
                )
    present = sorted({g[2] for g in groups})
    return present, any(g[3] for g in groups)


def _self_loop(ax, p, ktype, sens, count, scale) -> None:
    d = 0.07
    arrow = FancyArrowPatch(
        (p[0] - d, p[1] + 0.08),
        (p[0] + d, p[1] + 0.08),
        connectionstyle="arc3,rad=-1.4",
        arrowstyle="-|>",
        mutation_scale=7,
        color=key_colour(ktype),
        linewidth=1.0,
        linestyle="--" if sens else "-",
        zorder=2,
    )
    arrow.set_gid(f"key:{ktype}" + (":sensory" if sens else ""))
    ax.add_patch(arrow)
    if count > 1:
        ax.text(
            p[0],
            p[1] + 0.25,
            f"×{count}",
            fontsize=SMALL,
            color=key_colour(ktype),
            ha="center",
            zorder=5,
        )


def _draw_labels(ax, G, pos, scale, highlight) -> None:
    n = G.number_of_nodes()
    size = LABEL if n <= 40 else SMALL
    off = 0.12 + 0.18 * scale
    for v, (x, y) in pos.items():
        kind = G.nodes[v].get("kind")
        if n > LABEL_ALL and kind != "domain" and v != highlight:
            continue
        text = shorten(str(G.nodes[v].get("label", v)), 22)
        ax.text(
            x,
            y - off,
            text,
            fontsize=size,
            ha="center",
            va="top",
            zorder=6,
            fontweight="bold" if v == highlight else "normal",
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
        )


def _legend(ax, kinds, key_types, sensory, highlighted) -> None:
    handles = []
    for kind in kinds:
        st = kind_style(kind)
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker=st["marker"],
                markersize=8,
                markerfacecolor=st["color"],
                markeredgecolor="#222222",
                label="system part" if kind == "system" else kind or "(no kind)",
            )
        )
    for text, colour in legend_key_types(key_types):
        handles.append(Line2D([], [], color=colour, linewidth=2, label=text))
    if sensory:
        handles.append(Line2D([], [], color="#555555", linestyle="--", label="sensory key"))
    if highlighted:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=12,
                markerfacecolor=HALO,
                markeredgecolor="none",
                alpha=0.6,
                label="in its authority",
            )
        )
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=12,
                markerfacecolor="none",
                markeredgecolor=SUBJECT,
                markeredgewidth=2,
                label="subject",
            )
        )
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=LEGEND,
        frameon=False,
        borderaxespad=0.2,
    )
