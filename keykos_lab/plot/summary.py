"""The summary of a graph too big to draw vertex by vertex: a kind-to-kind block diagram.

One box per vertex kind (area by vertex count), one arrow per (holder kind,
target kind, key type) with the number of such keys, its width growing with the
log of that number. ``gid`` names: ``kind:<kind>`` for the boxes,
``flow:<kind>-><kind>:<key_type>`` for the arrows.

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import keykos_lab as kl
>>> G = kl.Kernel().capability_graph()
>>> ax = draw_summary(G)
>>> ax.get_title().startswith(f"summary of {G.number_of_nodes()} vertices")
True
>>> plt.close("all")
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from keykos_lab.plot._common import new_axes
from keykos_lab.plot.style import (
    HALO,
    LEGEND,
    SMALL,
    TITLE,
    key_colour,
    kind_rank,
    kind_style,
    legend_key_types,
)


def draw_summary(
    G: Any,
    *,
    highlight: Any = None,
    reached: set | None = None,
    ax: Axes | None = None,
    max_vertices: int | None = None,
) -> Axes:
    """Draw ``G`` as one box per vertex kind and arrows per key type between kinds.

    ``reached`` (vertices in a highlighted subject's authority) are counted in
    each box and the box gets a halo when any are in it.
    """
    reached = reached or set()
    count = Counter(G.nodes[v].get("kind", "") for v in G)
    kinds = sorted(count, key=kind_rank)
    keys: Counter = Counter()
    for u, v, d in G.edges(data=True):
        keys[
            (G.nodes[u].get("kind", ""), G.nodes[v].get("kind", ""), str(d.get("key_type", "")))
        ] += 1
    ax = new_axes(ax, (11.0, 8.0))
    k = len(kinds)
    centre = {
        kind: (
            math.cos(math.pi / 2 - 2 * math.pi * i / k) * (1.6 if k > 1 else 0),
            math.sin(math.pi / 2 - 2 * math.pi * i / k) * (1.2 if k > 1 else 0),
        )
        for i, kind in enumerate(kinds)
    }
    biggest = max(count.values(), default=1)
    half = {kind: 0.12 + 0.28 * math.sqrt(count[kind] / biggest) for kind in kinds}
    boxes = {}
    for kind in kinds:
        x, y = centre[kind]
        h = half[kind]
        st = kind_style(kind)
        inside = sum(1 for v in reached if G.nodes[v].get("kind", "") == kind)
        box = FancyBboxPatch(
            (x - h, y - h * 0.7),
            2 * h,
            1.4 * h,
            boxstyle="round,pad=0.03",
            fc=st["color"],
            alpha=0.85,
            ec=HALO if inside else "#222222",
            lw=4 if inside else 1,
            zorder=3,
        )
        box.set_gid(f"kind:{kind}")
        ax.add_patch(box)
        boxes[kind] = box
        text = f"{kind or '(no kind)'}\n{count[kind]}"
        if highlight is not None:
            text += f" ({inside} reached)"
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=9,
            color="white",
            fontweight="bold",
            zorder=4,
        )
    pairs: dict = {}
    for key in keys:
        pairs.setdefault((key[0], key[1]), []).append(key)
    for group in pairs.values():
        group.sort(key=lambda g: g[2])
        for i, key in enumerate(group):
            _arrow(ax, centre, half, boxes, key, keys[key], i, len(group))
    handles = [
        Line2D([], [], color=colour, lw=2, label=text)
        for text, colour in legend_key_types(sorted({key[2] for key in keys}))
    ]
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=LEGEND, frameon=False
    )
    ax.set_xlim(-2.4, 2.4)
    ax.set_ylim(-1.9, 1.9)
    ax.set_aspect("equal")
    ax.set_axis_off()
    why = f" (more than max_vertices={max_vertices})" if max_vertices is not None else ""
    title = f"summary of {G.number_of_nodes()} vertices / {G.number_of_edges()} keys by kind{why}"
    if highlight is not None:
        name = G.nodes[highlight].get("label", highlight)
        title += f"\nauthority of {name}: {len(reached)} vertices reachable"
    ax.set_title(title, fontsize=TITLE)
    return ax


def _arrow(ax, centre, half, boxes, key, n, i, k) -> None:
    a, b, kt = key
    width = 0.6 + 1.2 * math.log10(1 + n)
    colour = key_colour(kt)
    spread = 0.5 * (i - (k - 1) / 2) / max(1, k)
    if a == b:  # keys between objects of one kind: a loop
        x, y = centre[a]
        h = half[a]
        d = 0.05 + 0.5 * h * (i + 1) / (k + 1)
        start, end = (x - d, y + 0.7 * h + 0.03), (x + d, y + 0.7 * h + 0.03)
        style = "arc3,rad=-1.5"
        mid = (x, y + 0.7 * h + 0.05 + 1.1 * d)
    else:
        start, end = centre[a], centre[b]
        style = f"arc3,rad={0.15 + spread}"
        (x0, y0), (x1, y1) = start, end
        r = 0.15 + spread
        mid = ((x0 + x1) / 2 + r * (y1 - y0) / 2, (y0 + y1) / 2 - r * (x1 - x0) / 2)
    arrow = FancyArrowPatch(
        start,
        end,
        connectionstyle=style,
        arrowstyle="-|>",
        mutation_scale=10,
        color=colour,
        lw=width,
        alpha=0.8,
        zorder=2,
        shrinkA=0,
        shrinkB=0,
        patchA=None if a == b else boxes[a],
        patchB=None if a == b else boxes[b],
    )
    arrow.set_gid(f"flow:{a}->{b}:{kt}")
    ax.add_patch(arrow)
    ax.text(
        *mid,
        str(n),
        fontsize=SMALL,
        color=colour,
        ha="center",
        va="center",
        zorder=5,
        bbox={"boxstyle": "round,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.7},
    )
