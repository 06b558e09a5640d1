"""When did it happen: authority questions asked of the past (``capability_graph(at=seq)``).

The kernel's history (``keykos_lab.kernel.history``) rebuilds the capability graph of any
moment. Between two *change points* (events after which something a graph shows may
have changed) every moment has the same graph, so a question about a stretch of the run needs
asking only once per change point.

``first_reach(k, subject, target)`` answers "from which event on could ``subject`` come
to hold a key to ``target``?" (the reference :func:`~.authority.authority` at each
moment). ``method="scan"`` (the default) walks the change points in order and stops at
the first one where the answer is yes: exact, whatever happened later. ``method="bisect"``
halves the stretch instead: about log2(change points) questions rather than one per
change point, exact when authority only grows over the stretch (nothing destroyed,
severed or overwritten on the way); where it can also shrink, bisection finds *a*
moment at which reach begins, not necessarily the first, and None when reach has ended
by ``end`` though it began before. ``reach_changes`` lists every
moment the answer changes.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> node = con.call(con["bank"], kl.oc.SB.CreateNode).keys[0]
>>> dom = kl.build_domain(con, "echo")
>>> _ = con.call(dom, kl.oc.Domain.SwapKey + 1, node)
>>> root, target = con.target(dom), con.target(node)
>>> seq = first_reach(k, root, target)
>>> can_reach_at(k, root, target, seq), can_reach_at(k, root, target, seq - 1)
(True, False)
>>> first_reach(k, root, target, method="bisect") == seq
True

(The domain could reach the node before it was given it: from the moment the console,
which holds the node key, could call the domain and pass it.)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from keykos_lab.analysis.authority import authority
from keykos_lab.kernel.history import HistoryUnavailable, event_number

if TYPE_CHECKING:
    from keykos_lab.views.lab import Kernel

__all__ = ["first_reach", "reach_changes", "can_reach_at", "moments"]

METHODS = ("scan", "bisect")


def moments(kernel: Kernel, start: int | None = None, end: int | None = None) -> list[int]:
    """The events from ``start`` to ``end`` (defaults: as far back as the history goes,
    the last event) just after which the graph may differ from just after the event
    before: ``start`` itself, then each change point in ``(start, end]``.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); _ = k.console.call(k.console.dkc, 0); ms = moments(k)
    >>> ms == sorted(set(ms)) and ms[-1] <= len(k.log) - 1
    True
    """
    h = kernel.history
    if h is None:
        raise HistoryUnavailable("this kernel keeps no history: no past to ask about")
    first = h.first
    last = len(kernel.log) - 1
    lo = first if start is None else event_number(start, "start")
    hi = last if end is None else event_number(end, "end")
    if last < first:
        raise HistoryUnavailable(
            f"no event has been logged since the history started (when the log held "
            f"{first} events, e.g. at a restore): no past to ask about yet"
        )
    if lo > hi:
        raise ValueError(f"start (#{lo}) is after end (#{hi})")
    if not (first <= lo and hi <= last):
        raise HistoryUnavailable(
            f"events #{lo} to #{hi} are not all within the history's #{first} to #{last}"
        )
    return [lo] + [p for p in h.change_points() if lo < p <= hi]


def can_reach_at(
    kernel: Kernel, subject: Hashable, target: Hashable, seq: int | None, **authority_kw: Any
) -> bool:
    """Whether ``subject`` could come to hold a key to ``target`` just after event
    ``seq`` (False when either is not in that moment's graph, or ``subject`` is not a
    domain then). ``seq=None`` asks of the present, which includes what the kernel did
    after its last event (a reply's keys reaching the console's ring, say).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console; _ = con.call(con.dkc, 0)
    >>> can_reach_at(k, con.root, con.target(con["bank"]), len(k.log) - 1)
    True
    >>> can_reach_at(k, con.root, con.target(con["bank"]), None)   # now
    True
    """
    G = kernel.capability_graph(at=seq)
    if subject not in G or target not in G or G.nodes[subject].get("kind") != "domain":
        return False  # not yet (or no longer) there, or not yet a domain
    rows = authority(G, subject, **authority_kw)
    return bool((rows["target"] == target).any())


def reach_changes(
    kernel: Kernel,
    subject: Hashable,
    target: Hashable,
    *,
    start: int | None = None,
    end: int | None = None,
    **authority_kw: Any,
) -> list[tuple[int, bool]]:
    """Every moment in ``[start, end]`` where the answer of :func:`can_reach_at` changes,
    as ``(seq, reachable)``, starting with the answer at ``start``.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console; _ = con.call(con.dkc, 0)
    >>> reach_changes(k, con.root, con.target(con["bank"]))[0][1]
    True
    """
    out: list[tuple[int, bool]] = []
    for seq in moments(kernel, start, end):
        now = can_reach_at(kernel, subject, target, seq, **authority_kw)
        if not out or out[-1][1] != now:
            out.append((seq, now))
    return out


def first_reach(
    kernel: Kernel,
    subject: Hashable,
    target: Hashable,
    *,
    start: int | None = None,
    end: int | None = None,
    method: str = "scan",
    **authority_kw: Any,
) -> int | None:
    """The first event just after which ``subject`` could come to hold a key to
    ``target``, within ``[start, end]``; None if it never could (see the module for
    ``method``). Keyword arguments go to :func:`~.authority.authority`.
    """
    if method not in METHODS:
        raise ValueError(f"method is one of {METHODS}, not {method!r}")
    points = moments(kernel, start, end)

    def ask(seq: int) -> bool:
        return can_reach_at(kernel, subject, target, seq, **authority_kw)

    if method == "scan":
        return next((seq for seq in points if ask(seq)), None)
    return _bisect(points, ask)


def _bisect(points: list[int], ask: Callable[[int], bool]) -> int | None:
    """The first point where ``ask`` is true, if it is false then true once only."""
    if not ask(points[-1]):
        return None
    lo, hi = 0, len(points) - 1  # ask(points[hi]) is true
    while lo < hi:
        mid = (lo + hi) // 2
        if ask(points[mid]):
            hi = mid
        else:
            lo = mid + 1
    return points[hi]
