"""Plots of capability graphs, reachability and event logs (matplotlib).

Plain functions, networkx style; each draws into ``ax`` (a new figure if none)
and returns the Axes:

* :func:`draw_capability_graph` — vertices by kind, keys by type, a subject's
  authority shaded (a kind-to-kind summary for big graphs);
* :func:`plot_reachability` — authority or information-flow heat maps;
* :func:`plot_sequence` — message-sequence charts from ``k.events()``;
* :func:`plot_timeline` — events per tick, by event kind or by actor;
* :func:`draw_path` — a witness path over a drawn graph (:func:`vertex_ids`: the
  vertex ids a drawn scatter stands for); :func:`new_figure`
  and :func:`to_png` — figures for widgets, with no pyplot in between.

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import keykos_lab as kl
>>> from keykos_lab import plot
>>> k = kl.Kernel()
>>> ax = plot.draw_capability_graph(k.capability_graph())
>>> ax.get_title()
'capability graph: ... vertices, ... keys'
>>> plt.close("all")
"""

from keykos_lab.plot.export import new_figure, to_png
from keykos_lab.plot.graph import draw_capability_graph
from keykos_lab.plot.matrix import plot_reachability
from keykos_lab.plot.path import draw_path, vertex_ids
from keykos_lab.plot.sequence import plot_sequence
from keykos_lab.plot.timeline import plot_timeline

__all__ = [
    "draw_capability_graph",
    "draw_path",
    "new_figure",
    "plot_reachability",
    "plot_sequence",
    "plot_timeline",
    "to_png",
    "vertex_ids",
]
