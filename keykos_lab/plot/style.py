"""Fixed colours and markers: one per vertex kind, one colour per key type.

The palettes are constants, so a key type has the same colour in every plot
(and in every notebook run); kinds differ by marker shape as well as colour, so
they stay distinct in greyscale.

>>> kind_style("domain")["marker"], key_colour("start") == key_colour("start")
('o', True)
>>> key_colour("no-such-type")
'#333333'
"""

from __future__ import annotations

#: Vertex kinds in drawing order (domains first); unknown kinds come last.
KINDS = ("domain", "node", "page", "segment", "meter", "misc")

#: Marker, fill colour and base marker area (points²) per vertex kind.
KIND_STYLES: dict[str, dict] = {
    "domain": {"marker": "o", "color": "#4C72B0", "size": 420.0},
    "node": {"marker": "s", "color": "#DD8452", "size": 260.0},
    "page": {"marker": "D", "color": "#55A868", "size": 180.0},
    "segment": {"marker": "h", "color": "#8172B3", "size": 260.0},
    "meter": {"marker": "^", "color": "#C44E52", "size": 300.0},
    "misc": {"marker": "p", "color": "#A0A0A0", "size": 200.0},
}
_UNKNOWN_KIND = {"marker": "X", "color": "#606060", "size": 200.0}

#: Edge colour per key type (all the schema's key types; stable across calls).
KEY_COLOURS: dict[str, str] = {
    "start": "#1f77b4",
    "resume": "#9467bd",
    "domain": "#d62728",
    "node": "#8c564b",
    "fetch": "#bcbd22",
    "sense": "#17becf",
    "page": "#2ca02c",
    "segment": "#5fd35f",
    "frontend": "#7aa6d6",
    "meter": "#ff7f0e",
    "node_range": "#e377c2",
    "page_range": "#f29ac8",
    "data": "#b0b0b0",
    "hook": "#7f7f7f",
    "returner": "#a58bc9",
    "domtool": "#ff6f69",
    "keybits": "#4d4d4d",
    "dkc": "#a57c6e",
    "discrim": "#00695c",
    "systimer": "#b8860b",
    "calclock": "#8b6914",
    "misc": "#52b8c9",
}
_UNKNOWN_KEY = "#333333"

#: Message styles in sequence charts: colour, line style, width.
MESSAGE_STYLES: dict[str, dict] = {
    "call": {"color": "#1f4e99", "linestyle": "-", "linewidth": 1.3},
    "return": {"color": "#2a8a3e", "linestyle": "--", "linewidth": 1.3},
    "fork": {"color": "#e07b00", "linestyle": ":", "linewidth": 1.6},
    "keeper": {"color": "#d62728", "linestyle": "-", "linewidth": 2.0},
}

HALO = "#ffd23f"  # behind the vertices a highlighted subject can reach
SUBJECT = "#c2185b"  # the ring around the highlighted subject


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
    '#1f77b4'
    """
    return KEY_COLOURS.get(str(key_type), _UNKNOWN_KEY)
