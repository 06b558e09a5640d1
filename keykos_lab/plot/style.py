"""Fixed colours, markers and type sizes, and a paper style for figures to publish.

The palettes are constants, so a key type has the same colour in every plot (and
in every notebook run). Both are colour-blind-safe published palettes
(docs/pictures.md says why these two):

* vertex kinds — the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal
  Design"), the usual choice for up to 8 categories: its colours stay apart for
  protanopes, deuteranopes and tritanopes; kinds differ by marker shape as well,
  so they stay distinct in greyscale;
* key types — Paul Tol's *muted* palette (Tol 2021, "Colour schemes", SRON):
  nine colour-blind-safe colours of medium lightness, enough for the ten object
  key types (nine colours and dark grey) with thin lines still visible on white;
  the kernel's misc keys (discrim, DKC, returner … and the range keys) share one
  light grey, since what tells them apart is their target, a vertex of its own.

Type: nothing smaller than :data:`SMALL` (8 pt), legends :data:`LEGEND` (9 pt).
:func:`paper` is a ``matplotlib`` style context for PDF and SVG to print: fonts
embedded as TrueType (Type 42) in PDF, text kept as text in SVG.

>>> kind_style("domain")["marker"], key_colour("start") == key_colour("start")
('o', True)
>>> key_colour("no-such-type")
'#333333'
>>> len(set(KEY_COLOURS[t] for t in OBJECT_KEY_TYPES)) == len(OBJECT_KEY_TYPES)
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

#: Okabe–Ito (2008): black, orange, sky blue, bluish green, yellow, blue, vermillion,
#: reddish purple.
OKABE_ITO = (
    "#000000",
    "#e69f00",
    "#56b4e9",
    "#009e73",
    "#f0e442",
    "#0072b2",
    "#d55e00",
    "#cc79a7",
)
#: Paul Tol's muted palette (2021): indigo, cyan, teal, green, olive, sand, rose, wine,
#: purple; and its pale grey for what is not data.
TOL_MUTED = (
    "#332288",
    "#88ccee",
    "#44aa99",
    "#117733",
    "#999933",
    "#ddcc77",
    "#cc6677",
    "#882255",
    "#aa4499",
)
TOL_PALE_GREY = "#dddddd"

SMALL = 8.0  #: the smallest text drawn (pt): counts on arrows, lane words, dense ticks
LABEL = 9.0  #: vertex labels, lifeline names, tick labels (pt)
LEGEND = 9.0  #: legend entries (pt)
TITLE = 11.0  #: titles (pt)

#: Vertex kinds in drawing order (domains first); unknown kinds come last.
KINDS = ("domain", "system", "node", "page", "segment", "meter", "misc")

#: Marker, fill colour and base marker area (points²) per vertex kind (Okabe–Ito).
KIND_STYLES: dict[str, dict] = {
    "domain": {"marker": "o", "color": OKABE_ITO[5], "size": 420.0},
    "system": {"marker": "8", "color": OKABE_ITO[7], "size": 700.0},  # a collapsed group
    "node": {"marker": "s", "color": OKABE_ITO[1], "size": 260.0},
    "page": {"marker": "D", "color": OKABE_ITO[3], "size": 180.0},
    "segment": {"marker": "h", "color": OKABE_ITO[2], "size": 260.0},
    "meter": {"marker": "^", "color": OKABE_ITO[6], "size": 300.0},
    "misc": {"marker": "p", "color": "#bbbbbb", "size": 200.0},
}
_UNKNOWN_KIND = {"marker": "X", "color": "#606060", "size": 200.0}

#: The key types that designate objects (each has a colour of its own).
OBJECT_KEY_TYPES = (
    "start",
    "resume",
    "domain",
    "node",
    "fetch",
    "sense",
    "page",
    "segment",
    "frontend",
    "meter",
)
#: The kernel's misc keys and the range keys: one colour for all.
KERNEL_KEY_TYPES = (
    "node_range",
    "page_range",
    "returner",
    "domtool",
    "keybits",
    "dkc",
    "discrim",
    "systimer",
    "calclock",
    "misc",
)
KERNEL_KEY_COLOUR = "#bbbbbb"
#: Edge colour per key type (all the schema's key types; stable across calls).
KEY_COLOURS: dict[str, str] = {
    "start": TOL_MUTED[0],  # indigo: calls
    "resume": TOL_MUTED[1],  # cyan: replies
    "domain": TOL_MUTED[6],  # rose
    "node": TOL_MUTED[7],  # wine
    "fetch": TOL_MUTED[8],  # purple
    "sense": TOL_MUTED[5],  # sand (and dashed: sensory)
    "page": TOL_MUTED[3],  # green
    "segment": TOL_MUTED[2],  # teal
    "frontend": TOL_MUTED[4],  # olive
    "meter": "#555555",  # dark grey
    "data": TOL_PALE_GREY,
    "hook": TOL_PALE_GREY,
    **dict.fromkeys(KERNEL_KEY_TYPES, KERNEL_KEY_COLOUR),
}
_UNKNOWN_KEY = "#333333"

#: Message styles in sequence charts: colour (Okabe–Ito), line style, width.
MESSAGE_STYLES: dict[str, dict] = {
    "call": {"color": OKABE_ITO[5], "linestyle": "-", "linewidth": 1.4},
    "return": {"color": OKABE_ITO[3], "linestyle": "--", "linewidth": 1.4},
    "fork": {"color": OKABE_ITO[1], "linestyle": ":", "linewidth": 1.8},
    "keeper": {"color": OKABE_ITO[6], "linestyle": "-", "linewidth": 2.2},
}

HALO = OKABE_ITO[4]  # yellow, behind the vertices a highlighted subject can reach
SUBJECT = OKABE_ITO[7]  # reddish purple, the ring around the highlighted subject

#: ``matplotlib`` settings of :func:`paper`.
PAPER_RC: dict[str, Any] = {
    "pdf.fonttype": 42,  # TrueType fonts embedded whole (Type 42), not Type 3
    "ps.fonttype": 42,
    "svg.fonttype": "none",  # text stays text: searchable, editable, the labels readable
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": LABEL,
    "axes.titlesize": TITLE,
    "axes.labelsize": LABEL,
    "legend.fontsize": LEGEND,
    "legend.title_fontsize": LEGEND,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "figure.dpi": 100,
}


def kind_style(kind: str) -> dict:
    """Marker, colour and size of a vertex kind (a grey cross for unknown kinds).

    >>> kind_style("page")["marker"], kind_style("martian")["marker"]
    ('D', 'X')
    """
    return dict(KIND_STYLES.get(kind, _UNKNOWN_KIND))


def kind_rank(kind: str) -> int:
    """Where a kind sorts: domains first, unknown kinds last.

    >>> kind_rank("domain") < kind_rank("page") < kind_rank("martian")
    True
    """
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


def key_colour(key_type: str) -> str:
    """The colour of a key type's edges (dark grey for a type not in the schema).

    >>> key_colour("start")
    '#332288'
    """
    return KEY_COLOURS.get(str(key_type), _UNKNOWN_KEY)


def legend_key_types(key_types: list[str]) -> list[tuple[str, str]]:
    """Legend entries (label, colour) for the key types drawn: one per object key
    type, and one for all the kernel's misc keys together.

    >>> legend_key_types(["start", "discrim", "dkc"])
    [('start key', '#332288'), ('kernel misc key (discrim, dkc)', '#bbbbbb')]
    """
    out = [(f"{t} key", key_colour(t)) for t in key_types if t not in KERNEL_KEY_TYPES]
    misc = [t for t in key_types if t in KERNEL_KEY_TYPES]
    if misc:
        some = ", ".join(misc[:2]) + (", …" if len(misc) > 2 else "")
        out.append((f"kernel misc key ({some})", KERNEL_KEY_COLOUR))
    return out


@contextmanager
def paper(rc: Mapping[str, Any] | None = None) -> Iterator[None]:
    """A ``matplotlib`` style for figures in papers: :data:`PAPER_RC` (fonts embedded
    as Type 42 in PDF, text as text in SVG, 8–11 pt type, 300 dpi, tight boxes),
    updated with ``rc`` (rcParams). Draw and save inside it.

    >>> import matplotlib
    >>> with paper({"font.size": 10}):
    ...     matplotlib.rcParams["pdf.fonttype"], matplotlib.rcParams["font.size"]
    (42, 10.0)
    """
    import matplotlib

    settings: dict[Any, Any] = {**PAPER_RC, **(rc or {})}
    with matplotlib.rc_context(settings):
        yield
