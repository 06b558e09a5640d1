"""Summary vertices: how the analyses name the fresh objects a creator (a bank, a factory)
makes, so that a fixpoint over them stays finite.

A summary is ``("new", maker, origin)``: what ``maker`` makes for ``origin``. What a summary
makes is summarised with it, at most :data:`MAX_SUMMARY_DEPTH` deep. The reference engine
(:mod:`.authority`) and the fast engine for booted systems (:mod:`.fast_booted`) name them
alike.

>>> summary(9, ("new", 40, 2))
('new', 9, 2)
"""

from __future__ import annotations

from collections.abc import Hashable

#: Summaries nest at most this deep; what a summary this deep makes is itself.
MAX_SUMMARY_DEPTH = 3


def _depth(v: Hashable) -> int:
    depth = 0
    while isinstance(v, tuple):
        depth, v = depth + 1, v[1]
    return depth


def origin(v: Hashable) -> Hashable:
    """The vertex of the graph a summary vertex was made for, at any depth: what a
    summary makes is summarised with it, so the fixpoint stays finite.

    >>> origin(("new", 9, ("yield", 40, 2))), origin(7), origin(())
    (2, 7, ())
    """
    while isinstance(v, tuple) and v:  # (a graph's own vertex may be an empty tuple)
        v = v[-1]
    return v


def summary(creator: Hashable, client: Hashable, how: str = "new") -> Hashable:
    """The vertex that stands for what ``creator`` makes (``how``) for ``client``:
    ``(how, creator, origin(client))``; for a ``"new"`` object, ``creator`` itself once it
    is a summary :data:`MAX_SUMMARY_DEPTH` deep (what it makes is summarised with it).

    >>> summary(5, 7), summary(("new", ("new", ("new", 1, 2), 2), 2), 7)[0]
    (('new', 5, 7), 'new')
    >>> deep = ("new", ("new", ("new", 1, 2), 2), 2)
    >>> summary(deep, 7) is deep
    True
    """
    if how == "new" and _depth(creator) >= MAX_SUMMARY_DEPTH:
        return creator
    return (how, creator, origin(client))
