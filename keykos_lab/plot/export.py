"""Figures out as bytes and files, for widgets and papers, without pyplot's registry.

:func:`savefig` writes PDF or SVG (or PNG) in the paper style (:func:`.style.paper`:
fonts embedded as Type 42 in PDF, text kept as text in SVG).

>>> fig, ax = new_figure((2, 2))
>>> _ = ax.plot([0, 1], [1, 0])
>>> to_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
>>> import os, tempfile
>>> path = savefig(fig, os.path.join(tempfile.mkdtemp(), "f.pdf"))
>>> open(path, "rb").read(5)
b'%PDF-'
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from keykos_lab.plot.style import paper

FORMATS = ("pdf", "svg", "png")


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


def savefig(
    fig: Figure | Axes | Any, path: str | os.PathLike[str], *, rc: dict[str, Any] | None = None
) -> Path:
    """Write ``fig`` (a Figure, or the Axes a plot function returned) to ``path`` in the
    paper style (:func:`.style.paper`, updated with ``rc``); the format is the suffix,
    ``.pdf``, ``.svg`` or ``.png``. Returns the path.

    >>> import os, tempfile
    >>> import keykos_lab as kl
    >>> from keykos_lab.plot import draw_capability_graph
    >>> fig, ax = new_figure((11, 7))
    >>> ax = draw_capability_graph(kl.Kernel().capability_graph(), ax=ax)
    >>> svg = savefig(ax, os.path.join(tempfile.mkdtemp(), "g.svg")).read_text()
    >>> "prime bank" in svg
    True
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"savefig writes .pdf, .svg or .png, not {path.name!r}")
    figure = fig.figure if isinstance(fig, Axes) else fig
    if not hasattr(figure, "savefig"):
        raise TypeError(f"savefig takes a matplotlib Figure or Axes, not {type(fig).__name__}")
    with paper(rc):
        figure.savefig(path, format=fmt)
    return path
