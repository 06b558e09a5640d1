"""``GraphView``: the capability graph as an interactive picture in JupyterLab.

Zoom with the wheel (or the + and − buttons), pan by dragging, hover a vertex or a key for a
tooltip (a vertex's kind, label, id, state and program; a key's type, slot, databyte, rights
and label), click a vertex to *pick* it: the picked vertex reaches Python as the
:attr:`GraphView.picked` trait, which code can observe (a clicked key as
:attr:`GraphView.picked_edge`). :meth:`GraphView.highlight` marks an authority region
(yellow halos), a subject (a reddish-purple ring) and a flow witness (vermillion rings and
keys).

The drawing is sigma.js (WebGL) and graphology, bundled with the view's own code into one
ES module, ``static/graphview.js``, that an `anywidget <https://anywidget.dev>`_ widget hands
to the browser: nothing is fetched from a CDN or any other host when it runs
(docs/decisions/0015-interactive-graph-view.md says why this and not ipysigma).
``static/package.json`` rebuilds it (``npm ci && npm run build``). Colours are the plots' own
(:mod:`keykos_lab.plot.style`): vertices by kind in Okabe–Ito, keys by type in Tol's muted
palette. Above 30 vertices the primordial system is drawn as one vertex per part
(:func:`keykos_lab.plot.collapse.collapse_system`), as ``draw_capability_graph`` does.

Without a front end (plain Python, a test) the view still builds and updates: what it would
hand to the browser is :attr:`GraphView.data` (JSON-safe), what it shows is
:attr:`GraphView.state`, and :meth:`GraphView.pick` does what a click does.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> view = GraphView(k.capability_graph())
>>> view.state["vertices"], view.state["interactive"]
(29, False)
>>> echo = con.target(kl.build_domain(con, "echo"))
>>> view.update(k.capability_graph()).state["collapsed"]      # 30 and more: the system folded
True
>>> view.pick(echo); view.picked == echo
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w  # type: ignore[import-untyped]
import networkx as nx
import traitlets

from keykos_lab.plot.collapse import collapse_system, member_of, system_parts
from keykos_lab.plot.layout import layered_layout
from keykos_lab.plot.style import (
    HALO,
    OKABE_ITO,
    SUBJECT,
    key_colour,
    kind_rank,
    kind_style,
    legend_key_types,
)

COLLAPSE_ABOVE = 30  #: collapse="auto" folds the primordial system above this many vertices
WITNESS = OKABE_ITO[6]  #: vermillion: the flow witness's vertices and keys
SPREAD = 0.9  #: how far from a placed neighbour a newly appearing vertex is put
ASPECT = 1.8  #: width / height the first layout is widened towards
GOLDEN = math.pi * (3 - math.sqrt(5))  # radians between successive newcomers around one vertex
HALO_PART, RING_PART = 0.4, 0.18  # of a marked vertex's drawn radius: the halo, the ring
#: The front end: sigma.js, graphology and the view's code in one ES module (no network).
BUNDLE = Path(__file__).with_name("static") / "graphview.js"


def front_end_present() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, nbclient), where widgets are
    shown; False in plain Python and under pytest.

    >>> front_end_present()
    False
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def json_safe(value: Any) -> Any:
    """``value`` as JSON can hold it: sets sorted into lists, tuples as lists, numpy
    scalars as Python numbers, bytes as hex, non-finite floats as None, anything else
    as its ``str``.

    >>> json_safe({"rights": frozenset({"write", "read"}), "slot": (1, 2), "x": float("nan")})
    {'rights': ['read', 'write'], 'slot': [1, 2], 'x': None}
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _text(value: Any) -> str | int | float | bool | None:
    """A scalar for the info panel: lists joined with commas."""
    safe = json_safe(value)
    if isinstance(safe, list):
        return ", ".join(str(v) for v in safe)
    if isinstance(safe, dict):
        return ", ".join(f"{k}={v}" for k, v in safe.items())
    return safe


def _key_label(d: dict) -> str:
    rights = _text(d.get("rights", ())) or "no rights"
    sensory = ", sensory" if d.get("sensory") else ""
    return (
        f"{d.get('key_type', '?')} key in {d.get('slot_kind', 'slot')} slot {d.get('slot', '?')}"
        f" (databyte {d.get('databyte', 0)}, {rights}{sensory})"
    )


def _size(kind: str) -> float:
    """A vertex's radius in pixels, from the plots' marker area for its kind."""
    return round(math.sqrt(kind_style(kind)["size"]) / 2, 1)


class GraphView(traitlets.HasTraits):
    """An interactive view of a capability graph (``k.capability_graph()``).

    ``collapse``: ``"auto"`` (fold the primordial system into parts above 30 vertices),
    ``True`` or ``False``. ``interactive``: draw in the browser (default: when a Jupyter
    front end is present); without it the view keeps its data and state, and
    :attr:`widget` shows a one-line summary. ``on_pick``: called with each picked vertex.

    :attr:`picked` is the vertex a click (or :meth:`pick`) chose — a vertex of the graph
    shown, or a part's name (``"space banks"``) in a folded picture; :attr:`picked_edge`
    the ``(holder, target)`` of a clicked key. Observe them with ``view.observe(f,
    "picked")``. :attr:`widget` is the ipywidgets box to display (the view displays
    itself too).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> seen = []
    >>> view = GraphView(k.capability_graph(), on_pick=seen.append)
    >>> view.highlight(region=[con.root, con.target(con["bank"])], subject=con.root)
    >>> view.state["region"], view.state["subject"] == str(con.root)
    (2, True)
    >>> view.pick(con.root); seen == [con.root], "console" in view.status.value
    (True, True)
    """

    picked = traitlets.Any(None, allow_none=True)
    picked_edge = traitlets.Any(None, allow_none=True)

    def __init__(
        self,
        G: Any = None,
        *,
        collapse: bool | str = "auto",
        interactive: bool | None = None,
        height: int = 460,
        on_pick: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__()
        if collapse not in (True, False, "auto"):
            raise ValueError(f"collapse is True, False or 'auto', not {collapse!r}")
        self.collapse = collapse
        self.interactive = front_end_present() if interactive is None else bool(interactive)
        self.height = max(200, int(height))
        self.G: Any = None
        self.H: nx.DiGraph = nx.DiGraph()  # the graph drawn: string keys, JSON-safe attributes
        self.ids: dict[str, Hashable] = {}  # drawn key → vertex (or part name)
        self.where: dict[Hashable, str] = {}  # vertex → drawn key (a part for its members)
        self.positions: dict[str, tuple[float, float]] = {}  # kept across updates
        self.subject: Hashable | None = None
        self.region: frozenset = frozenset()
        self.witness: list = []
        self._path: list[str] = []  # the witness as drawn keys, in order
        self.sigma: Any = None
        self.canvas = w.Box(layout=w.Layout(width="100%")).add_class("keykos-graphview-canvas")
        self.status = w.HTML().add_class("keykos-graphview-status")
        self.widget = w.VBox([self.canvas, self.status]).add_class("keykos-graphview")
        if on_pick is not None:
            self.observe(lambda change: on_pick(change["new"]), names="picked")
        self.observe(lambda _: self._say(), names=["picked", "picked_edge"])
        if G is not None:
            self.show(G)

    # ------------------------------------------------------------ public
    def show(self, G: Any) -> GraphView:
        """Show ``G`` afresh: a new layout, no highlight, nothing picked. Returns the view,
        so ``GraphView().show(G)`` displays in a notebook."""
        self.positions, self.subject, self.region, self.witness = {}, None, frozenset(), []
        with self.hold_trait_notifications():
            self.picked = self.picked_edge = None
        self._set_graph(G)
        if self.sigma is not None:
            self.sigma.generation += 1  # the front end resets its camera
        return self

    def update(self, G: Any) -> GraphView:
        """Show ``G``, a later (or earlier) state of the same system: vertices seen before
        keep their places, new ones appear next to a neighbour; the highlight and the pick
        stay for the vertices still there. Returns the view."""
        self._set_graph(G)
        return self

    def highlight(
        self,
        region: Iterable[Hashable] | None = None,
        witness: Sequence[Hashable] | None = None,
        subject: Hashable | None = None,
    ) -> None:
        """Mark ``region`` (vertices: an authority region) with yellow halos, ``witness``
        (a path of vertices: a flow witness) in vermillion, vertex and key, and ring
        ``subject``. Vertices of the full graph may be given for a folded picture: each
        marks the part that stands for it. Call with no argument to clear."""
        self.region = frozenset(region or ())
        self.witness = list(witness or [])
        self.subject = subject
        folded = subject is not None and subject in self.where
        if folded and self.where[subject] != str(subject):
            self._set_graph(self.G)  # a subject folded into a part: draw it as itself
        else:
            self._render()

    def pick(self, v: Hashable | None) -> None:
        """Pick vertex ``v`` (a vertex of the graph, or a drawn part's name), as a click
        does; None unpicks."""
        if v is not None and v not in self.where and v not in self.ids.values():
            raise ValueError(f"{v!r} is not a vertex of the graph shown")
        self.picked = v
        if self.sigma is not None:
            self.sigma.picked = self.where.get(v, v) if v is not None else None

    @property
    def data(self) -> dict:
        """What the browser gets, JSON-safe: ``nodes`` (``key``, ``attributes`` with
        ``x``/``y``) and ``edges`` (``source``, ``target``, ``attributes``)."""
        return {
            "nodes": [
                {
                    "key": k,
                    "attributes": {**d, "x": self.positions[k][0], "y": self.positions[k][1]},
                }
                for k, d in self.H.nodes(data=True)
            ],
            "edges": [
                {"source": u, "target": v, "attributes": d} for u, v, d in self.H.edges(data=True)
            ],
        }

    @property
    def state(self) -> dict:
        """What the view shows now: counts, whether the system is folded, the highlight
        (drawn keys) and the pick."""
        H = self.H
        return {
            "vertices": H.number_of_nodes(),
            "edges": H.number_of_edges(),
            "keys": 0 if self.G is None else self.G.number_of_edges(),
            "collapsed": any(d.get("kind") == "system" for _, d in H.nodes(data=True)),
            "region": sum(1 for _, d in H.nodes(data=True) if d.get("in_region")),
            "witness": list(self._path),
            "witness_edges": [(u, v) for u, v, d in H.edges(data=True) if d.get("on_witness")],
            "subject": next((k for k, d in H.nodes(data=True) if d.get("is_subject")), None),
            "picked": self.picked,
            "picked_edge": self.picked_edge,
            "interactive": self.interactive,
        }

    def name(self, v: Hashable) -> str:
        """The label the view writes for vertex ``v`` (or a drawn part)."""
        key = self.where.get(v, v if isinstance(v, str) else str(v))
        if key in self.H:
            return str(self.H.nodes[key]["label"])
        return str(v)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------ building
    def _set_graph(self, G: Any) -> None:
        if not isinstance(G, nx.Graph):
            raise TypeError(f"G must be a networkx graph (k.capability_graph()), not {type(G)}")
        self.G = G
        keep = [v for v in (self.subject,) if v is not None and v in G]
        drawn: Any = G
        if self.collapse is True or (
            self.collapse == "auto" and G.number_of_nodes() > COLLAPSE_ABOVE
        ):
            if system_parts(G, keep):
                drawn = collapse_system(G, keep)
        where = member_of(drawn) if drawn is not G else {v: v for v in G}
        self.where = {v: str(d) for v, d in where.items()}
        self.ids = {str(d): d for d in drawn}
        if len(self.ids) != drawn.number_of_nodes():
            raise ValueError("two vertices of the graph have the same string form")
        self.H = self._drawn(drawn)
        self._place(drawn)
        if (
            self.picked is not None
            and self.picked not in self.where
            and self.picked not in self.ids.values()
        ):
            self.picked = None
        self._render()

    def _drawn(self, D: Any) -> nx.DiGraph:
        """One vertex per drawn vertex, one edge per (holder, target) pair (parallel keys
        counted and each described), attributes as the tooltip shows them."""
        labels = [str(d.get("label", v)) for v, d in D.nodes(data=True)]
        repeated = {x for x in labels if labels.count(x) > 1}
        H: nx.DiGraph = nx.DiGraph()
        for v, d in sorted(D.nodes(data=True), key=lambda vd: kind_rank(vd[1].get("kind", ""))):
            kind = str(d.get("kind", "?"))
            label = str(d.get("label", v))
            attrs: dict[str, Any] = {
                "label": f"{label} ({v})" if label in repeated else label,
                "kind": kind,
                "id": _text(v),
            }
            for field in ("state", "program", "nodes"):
                if field in d:
                    attrs[field] = _text(d[field])
            if "members" in d:
                attrs["members"] = len(d["members"])
            attrs.update(color=kind_style(kind)["color"], size=_size(kind))  # size: see _marks
            H.add_node(str(v), **attrs)
        for u, v, d in D.edges(data=True):
            a, b = str(u), str(v)
            if not H.has_edge(a, b):
                H.add_edge(a, b, keys=[])
            H[a][b]["keys"].append(d)
        for _, _, e in H.edges(data=True):
            keys = e.pop("keys")
            first = keys[0]
            e["color"] = key_colour(str(first.get("key_type", "")))
            e["size"] = 1.2 if len(keys) == 1 else 2.0
            e["count"] = len(keys)
            if len(keys) == 1:
                for field in ("key_type", "slot", "slot_kind", "databyte", "rights", "sensory"):
                    if field in first:
                        e[field] = _text(first[field])
                e["label"] = _key_label(first)
            else:
                e["key_type"] = ", ".join(sorted({str(k.get("key_type", "?")) for k in keys}))
                e["label"] = f"{len(keys)} keys: " + "; ".join(_key_label(k) for k in keys)
        return H

    def _place(self, D: Any) -> None:
        """Positions: vertices seen before keep theirs; the first picture is the plots'
        layered layout; a newcomer goes next to a placed neighbour (or right of it all)."""
        new = [k for k in self.H if k not in self.positions]
        if not new:
            return
        if not self.positions:
            roots = [v for v in D if D.nodes[v].get("kind") == "domain"] or list(D)[:1]
            layout = layered_layout(D, roots)
            xs, ys = [p[0] for p in layout.values()], [p[1] for p in layout.values()]
            # layers are columns one apart and rows one apart: widen the picture towards
            # the view's shape (about twice as wide as high)
            wide = max(xs) - min(xs) or 1.0
            stretch = min(6.0, max(1.0, ASPECT * (max(ys) - min(ys)) / wide))
            for v, (x, y) in layout.items():
                self.positions[str(v)] = (float(x) * stretch, float(y))
            return
        fresh = {str(v): p for v, p in layered_layout(D, list(D)[:1]).items()}
        right = max(x for x, _ in self.positions.values()) + 1.0
        around: dict[str, int] = {}
        for k in sorted(new, key=lambda k: (kind_rank(self.H.nodes[k]["kind"]), k)):
            near = [
                n for n in (*self.H.predecessors(k), *self.H.successors(k)) if n in self.positions
            ]
            if near:
                x0, y0 = self.positions[near[0]]
                i = around[near[0]] = around.get(near[0], 0) + 1
                self.positions[k] = (
                    x0 + SPREAD * math.cos(i * GOLDEN),
                    y0 + SPREAD * math.sin(i * GOLDEN),
                )
            else:
                x, y = fresh.get(k, (0.0, 0.0))
                self.positions[k] = (right + x, y)

    # ------------------------------------------------------------ drawing
    def _marks(self) -> None:
        """Halo, ring and witness attributes on the drawn graph (sizes as the front end's
        ring program wants them: fractions of the drawn radius)."""
        H, where = self.H, self.where
        region = {where[v] for v in self.region if v in where}
        path = [where[v] for v in self.witness if v in where]
        path = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
        self._path = path
        subject = where.get(self.subject) if self.subject is not None else None
        for k, d in H.nodes(data=True):
            d["in_region"], d["on_witness"], d["is_subject"] = k in region, k in path, k == subject
            halo = HALO_PART if k in region else 0.0
            ring = RING_PART if k == subject or k in path else 0.0
            d["haloSize"], d["haloColor"] = halo, HALO
            d["ringSize"], d["ringColor"] = ring, SUBJECT if k == subject else WITNESS
            d["size"] = round(_size(d["kind"]) / (1 - halo - ring), 1)
        steps = set(zip(path, path[1:]))
        for u, v, e in H.edges(data=True):
            on = (u, v) in steps or ((v, u) in steps and not H.has_edge(v, u))
            e["on_witness"] = on
            e["color"] = WITNESS if on else key_colour(str(e.get("key_type", "")).split(",")[0])
            e["size"] = 4.0 if on else (1.2 if e.get("count", 1) == 1 else 2.0)
            e["zIndex"] = 1 if on else 0

    def _legend(self) -> dict:
        H = self.H
        kinds = sorted({d["kind"] for _, d in H.nodes(data=True)}, key=kind_rank)
        types = sorted(
            {t.strip() for *_, e in H.edges(data=True) for t in e["key_type"].split(",")}
        )
        marks = [
            (name, colour)
            for name, colour, shown in (
                ("authority region", HALO, any(d["in_region"] for _, d in H.nodes(data=True))),
                ("subject", SUBJECT, any(d["is_subject"] for _, d in H.nodes(data=True))),
                ("flow witness", WITNESS, bool(self._path)),
            )
            if shown
        ]
        return {
            "kinds": [(k, kind_style(k)["color"]) for k in kinds],
            "keys": legend_key_types(types),
            "marks": marks,
        }

    def _render(self) -> None:
        self._marks()
        self._say()
        if self.interactive:
            self._draw()
        else:
            self.canvas.children = ()

    def _draw(self) -> None:
        data = {**self.data, "legend": self._legend()}
        picked = self.where.get(self.picked) if self.picked is not None else None
        if self.sigma is None:
            self.sigma = SigmaCanvas(data=data, height=self.height, layout=w.Layout(width="100%"))
            self.sigma.observe(self._clicked, names=["picked", "picked_edge"])
            self.canvas.children = (self.sigma,)
        else:
            self.sigma.data = data
        self.sigma.picked = picked if picked in self.H else None

    def _clicked(self, change) -> None:
        if change["name"] == "picked":
            key = change["new"]
            self.picked = self.ids.get(key) if key is not None else None
        else:
            pair = change["new"]
            self.picked_edge = (self.ids.get(pair[0]), self.ids.get(pair[1])) if pair else None

    def _say(self) -> None:
        H = self.H
        parts = sum(1 for _, d in H.nodes(data=True) if d.get("kind") == "system")
        folded = f" (the system as {parts} parts)" if parts else ""
        line = f"{H.number_of_nodes()} vertices{folded}, {self.state['keys']} keys"
        if self.picked is not None:
            key = self.where.get(self.picked, str(self.picked))
            d = H.nodes[key] if key in H else {}
            what = ", ".join(str(d[f]) for f in ("kind", "state", "program") if f in d)
            line += f" · picked: <b>{html.escape(self.name(self.picked))}</b> ({html.escape(what)})"
        if self.picked_edge is not None:
            a, b = self.picked_edge
            line += f" · key: {html.escape(self.name(a))} → {html.escape(self.name(b))}"
        if not self.interactive:
            line += " · <i>no front end: the interactive picture shows in JupyterLab</i>"
        self.status.value = f"<span style='font-size:90%'>{line}</span>"


class SigmaCanvas(anywidget.AnyWidget):
    """The browser side of a :class:`GraphView`: the bundled sigma.js module and the traits
    it syncs. ``data`` (nodes, edges, legend) flows to the browser, which draws it in one
    sigma renderer for the widget's lifetime; ``picked`` (a vertex key) and
    ``picked_edge`` (``[source, target]``) flow back on a click; ``generation`` changing
    resets the camera.

    >>> SigmaCanvas(data={"nodes": [], "edges": []}).height
    460
    """

    _esm = BUNDLE
    data = traitlets.Dict().tag(sync=True)
    height = traitlets.Int(460).tag(sync=True)
    generation = traitlets.Int(0).tag(sync=True)
    picked = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    picked_edge: traitlets.List = traitlets.List(None, allow_none=True).tag(sync=True)


__all__ = ["GraphView", "SigmaCanvas", "front_end_present", "json_safe"]
