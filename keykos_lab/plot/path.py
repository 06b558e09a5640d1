"""A witness path drawn over a capability graph that ``draw_capability_graph`` drew.

The vertices' positions are read back from the Axes (the ``vertices:<kind>``
scatters keep the vertex ids: :func:`vertex_ids`), so any drawing can be annotated.

>>> import matplotlib; matplotlib.use("Agg")
>>> import keykos_lab as kl
>>> from keykos_lab.plot import draw_capability_graph
>>> from keykos_lab.plot.export import new_figure
>>> k = kl.Kernel(); con = k.console
>>> G = k.capability_graph()
>>> fig, ax = new_figure()
>>> _ = draw_capability_graph(G, ax=ax)
>>> line = draw_path(ax, [con.root, con.target(con["bank"])])
>>> line.get_gid(), len(line.get_xdata())
('witness', 2)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from keykos_lab.plot.style import OKABE_ITO

_IDS = "_keykos_lab_vertex_ids"  # where an artist keeps its vertex ids


def set_vertex_ids(artist: Any, ids: Iterable[Hashable]) -> None:
    """Keep ``ids`` (as ``str``, one per point) on ``artist``, for :func:`vertex_ids`.

    Not as the artist's urls (``set_urls``): a saved SVG would wrap every point in a
    link to nowhere."""
    setattr(artist, _IDS, [str(v) for v in ids])


def vertex_ids(artist: Any) -> list[str]:
    """The vertex ids (``str``, in point order) a scatter of
    :func:`~.graph.draw_capability_graph` stands for: a ``vertices:<kind>``,
    ``members:<part>``, ``authority`` or ``subject`` collection; ``[]`` for any other
    artist.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import keykos_lab as kl
    >>> from keykos_lab.plot import draw_capability_graph
    >>> k = kl.Kernel(); con = k.console
    >>> ax = draw_capability_graph(k.capability_graph(), highlight=con.root)
    >>> ring = next(c for c in ax.collections if c.get_gid() == "subject")
    >>> vertex_ids(ring) == [str(con.root)], ring.get_urls()
    (True, [None])
    >>> plt.close("all")
    """
    return list(getattr(artist, _IDS, ()))


def positions(ax: Axes) -> dict[str, tuple[float, float]]:
    """Vertex id (as ``str``) → (x, y) of every vertex drawn on ``ax``; a vertex
    drawn inside a collapsed part of the system is at its part's place."""
    where: dict[str, tuple[float, float]] = {}
    for prefix in ("members:", "vertices:"):  # vertices drawn themselves win
        for c in ax.collections:
            if str(c.get_gid() or "").startswith(prefix):
                offsets: Any = c.get_offsets()
                for vid, xy in zip(vertex_ids(c), offsets):
                    where[vid] = (float(xy[0]), float(xy[1]))
    return where


def draw_path(ax: Axes, path: Sequence[Hashable], *, colour: str = OKABE_ITO[6]) -> Line2D:
    """Draw ``path`` (vertices, as an analysis' witness gives them) as a thick
    line through the drawn vertices; the line has ``gid`` ``"witness"``."""
    where = positions(ax)
    missing = [v for v in path if str(v) not in where]
    if missing:
        raise ValueError(
            f"vertices {missing!r} of the path are not drawn on these Axes "
            "(was the graph drawn as a summary, or a subgraph without them?)"
        )
    xs, ys = zip(*(where[str(v)] for v in path))
    (line,) = ax.plot(
        xs,
        ys,
        color=colour,
        linewidth=4,
        alpha=0.6,
        zorder=5,
        solid_capstyle="round",
        gid="witness",
        label="flow witness",
    )
    ax.scatter([xs[-1]], [ys[-1]], s=260, marker="*", color=colour, zorder=6)
    return line
