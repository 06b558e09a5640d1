"""Figures out as bytes, for widgets and files, without pyplot's figure registry.

>>> fig, ax = new_figure((2, 2))
>>> _ = ax.plot([0, 1], [1, 0])
>>> to_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure


def new_figure(figsize: tuple[float, float] = (7, 5)) -> tuple[Figure, Axes]:
    """A figure and its Axes that no backend shows by itself (no ``pyplot``):
    what a widget callback draws appears only where the widget puts it."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots()


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
