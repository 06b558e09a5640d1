"""The fast engine: authority on arrays (scipy.sparse), for large systems.

Same rules as the reference (:mod:`.authority`), computed on a
:class:`~.convert.CapabilityCSR` for systems where every domain acts freely (no
system programs — the generated systems of :mod:`.generate`, specs read from
elsewhere). It rests on one observation: parties that can *store* into each
other end up holding the same keys. A domain holding a node or domain key to an
object, or a start or resume key to another domain, shares every key with it,
so they form one **group** (``connected_components``); a group sees its own keys
and, through fetch keys, what the groups it reads see (breadth-first search on
the condensed graph); through sense keys, the sensory versions. Groups grow
while what they see includes node, domain or start keys to outside: a few
rounds, each linear.

Each domain ``d`` is split in two: ``d`` (its key registers, what its program
uses) and a root vertex ``n + d`` (its meter, keeper and memory slots), which
only someone holding a key *to* ``d`` reads. Tests prove the engine equal to
the reference on generated systems.

Keeper channels (docs/analyses.md#analyses-keepers) come in rounds: walk every domain's
memory tree and meter chain as they can come to be (a written object's keys are its
group's), grant the keepers found node keys and restart keys (held by a domain of the
keeper's group), join callers of red segment keys to the keepers, and group again while
that joins anything.

>>> from keykos_lab.analysis import random_csr
>>> csr = random_csr(2_000, 8_000, seed=1)
>>> engine = FastAuthority(csr)
>>> s = int(np.flatnonzero(csr.kind == 0)[0])          # a domain
>>> keys = engine.authority(s)                          # (target, type code, databyte) rows
>>> keys.shape[1], len(keys) > 0
(3, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, connected_components

from keykos_lab.analysis.convert import (
    KEY_TYPES,
    SLOT_KINDS,
    CapabilityCSR,
    rights_of,
)
from keykos_lab.analysis.model import (
    ANY_SLOT,
    CONTROLLED,
    LSS_BITS,
    METER_KEEPER,
    METER_SUPERIOR,
    NOCALL,
    NOT_KEEPERS,
    RESTART,
    SEGMODE,
    SYSTEM_PROGRAMS,
    USABLE,
)
from keykos_lab.views.schema import sensory

_T = {name: i for i, name in enumerate(KEY_TYPES)}
_S = {name: i for i, name in enumerate(SLOT_KINDS)}
NODE, FETCH, SENSE, DOMAIN = _T["node"], _T["fetch"], _T["sense"], _T["domain"]
START, RESUME, PAGE, SEGMENT, METER = (
    _T["start"],
    _T["resume"],
    _T["page"],
    _T["segment"],
    _T["meter"],
)
RO, RETURN, FAULT = 0x80, 2, 4
FRONTEND = _T["frontend"]
#: Keys the reference gives modelled behaviour (creation, identification).
_MODELLED = ("domtool", "node_range", "page_range")
_USABLE = np.array([name in USABLE for name in SLOT_KINDS])
_ROOT = np.array([name in CONTROLLED and name not in USABLE for name in SLOT_KINDS])
#: Key types a call on a red segment key can invoke, keepers aside (Closure.callable).
_INVOCABLE = np.array(
    [name not in NOT_KEEPERS and name not in ("start", "resume") for name in KEY_TYPES]
)
_WALKED = [_T[name] for name in sorted(SEGMODE)]


#: Integer arrays as the engine computes them (vertex indices, codes, masks' positions).
_Ints: TypeAlias = npt.NDArray[np.integer]


def _sensory_tables() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per (type code, databyte): the sensory version's type code (-1: DK(0)) and databyte."""
    kt = np.full((len(KEY_TYPES), 256), -1, dtype=np.int64)
    db = np.zeros((len(KEY_TYPES), 256), dtype=np.int64)
    for t, name in enumerate(KEY_TYPES):
        for b in range(256):
            version = sensory(name, b)
            if version is not None:
                kt[t, b], db[t, b] = _T[version[0]], version[1]
    return kt, db


_SENSORY_KT, _SENSORY_DB = _sensory_tables()


class FastAuthority:
    """The groups of a whole system, ready to answer ``authority(s)`` per subject."""

    _flow: csr_array | None = None  # flow_graph(), once computed
    _ids: _KeyIds | None = None  # every key's id, once the first answer needs them
    _memory: tuple[csr_array, Any] | None = None  # _memory_graph(), once computed

    def __init__(
        self,
        csr: CapabilityCSR,
        *,
        free: npt.NDArray[np.bool_] | None = None,
        seed: _Grants | None = None,
        groups: _Ints | None = None,
    ) -> None:
        """``free`` (per vertex): the domains that act as their keys allow, when some
        do not (system programs, modelled by :mod:`.fast_booted`, which also passes
        ``seed``: the keys, joins and reads their behaviour grants, and ``groups``:
        groups known already, each named by its least vertex)."""
        if free is None:
            refuse_system_programs(csr)
        self.csr = self.base = csr
        n = self.n = csr.n_vertices
        self.domain = np.asarray(csr.kind == 0)
        self.free = self.domain if free is None else np.asarray(free, dtype=bool) & self.domain
        self._doms = np.flatnonzero(self.free)
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
        dst = csr.indices.astype(np.int64)
        kt, db = csr.key_type.astype(np.int64), csr.databyte.astype(np.int64)
        sk, slot = csr.slot_kind.astype(np.int64), csr.slot.astype(np.int64)
        # A domain trapping hands its keeper its domain key and a fault key.
        kept = (sk == _S["keeper"]) & _of(kt, (START, RESUME)) & self.domain[src] & self.free[dst]
        k_src, k_dst, m = dst[kept], src[kept], int(kept.sum())
        src = np.concatenate([src, k_src, k_src])
        dst = np.concatenate([dst, k_dst, k_dst])
        kt = np.concatenate([kt, np.full(m, DOMAIN), np.full(m, RESUME)])
        db = np.concatenate([db, np.zeros(m, np.int64), np.full(m, FAULT)])
        sk = np.concatenate([sk, np.full(2 * m, _S["key_register"])])
        slot = np.concatenate([slot, np.full(2 * m, ANY_SLOT)])
        # Who holds each key: a domain's registers (d), its root (n + d), an object.
        mine = self.domain[src]
        keep = ~mine | _USABLE[sk] | _ROOT[sk]
        # A system program's registers are contents: only a domain-key holder reads them.
        holder = np.where(mine & ~(_USABLE[sk] & self.free[src]), src + n, src)
        self._base = (holder[keep], dst[keep], kt[keep], db[keep], sk[keep], slot[keep])
        # Restart keys in the graph count as delivering keys (the readers' reply keys);
        # those the kernel mints for keepers do not (Closure.delivers).
        self._restart = np.zeros(n, dtype=bool)
        self._restart[csr.indices[(csr.key_type == RESUME) & (csr.databyte == RESTART)]] = True
        # Keeper channels (docs/analyses.md#analyses-keepers): keys the kernel hands
        # keepers and the calls on red segment keys, grown round by round.
        self._grants = seed if seed is not None else _Grants(n)
        if groups is not None:
            self.group = np.asarray(groups, dtype=np.int64)
        self._build()
        while True:
            grown = self._keeper_channels()
            if grown is None:
                break
            # Keys that neither join groups nor open a channel (restart keys, node keys
            # to what the holder's group holds already) change no round's answer: no
            # regrouping, no further round.
            self._build(regroup=grown)
            if not grown:
                break

    def _build(self, regroup: bool = True) -> None:
        """The key arrays (the graph's and the keepers' grants) and the groups."""
        n, g = self.n, self._grants
        holder, dst, kt, db, sk, slot = self._base
        extra = g.key_array()
        if len(extra):
            holder, dst, kt, db = (
                np.concatenate([a, extra[:, i]]) for i, a in enumerate((holder, dst, kt, db))
            )
            sk = np.concatenate([sk, np.full(len(extra), _S["key_register"])])
            slot = np.concatenate([slot, np.full(len(extra), ANY_SLOT)])
        self.holder, self.dst, self.kt, self.db, self.sk, self.slot = holder, dst, kt, db, sk, slot
        self.root_of = np.where(self.domain[dst], dst + n, -1)  # -1: not a domain
        self.delivers = (kt != RESUME) | (db != RESTART) | self._restart[dst]
        self._vj = g.pair_array(g.joins)
        self._vp = g.pair_array(g.pulls)
        if regroup:
            self._group()
        else:
            self.holder_group = self.group[holder]

    # ----------------------------------------------------------- the groups
    def _group(self) -> None:
        n2 = 2 * self.n
        holder, dst, root_of, kt = self.holder, self.dst, self.root_of, self.kt
        stores = _of(kt, (NODE, DOMAIN))  # join the object and its root
        channel = _of(kt, (START, RESUME)) & self.free[dst] & self.delivers
        joins = stores | channel
        fetch = kt == FETCH
        vj_h, vj_t = self._vj
        vertices = np.arange(n2)
        # Start from the groups of the last round, if any: groups only ever grow.
        group = getattr(self, "group", vertices)
        n_groups = n2 if group is vertices else int((group == vertices).sum()) + 1
        while True:
            active = np.zeros(n2, dtype=bool)
            active[group[self._doms]] = True
            hg = group[holder]
            # Pulls between groups: fetch keys, to the object and a domain's root.
            pulls = self._pulls(hg[fetch], dst[fetch], root_of[fetch], group, n2)
            reach = self._reached(pulls, np.flatnonzero(active), n2)
            # A group that sees a node, domain or start key joins its target. Keys
            # seen through fetches are carried by "stars" (vertex n2 + group): an
            # active group joins its own star, each star those of the groups it
            # fetches from, and every star the targets of the keys its group holds.
            # A call on a red segment key joins the caller to the keeper (virtual joins).
            seen = joins & reach[hg]
            v_seen = reach[group[vj_h]]
            star = n2 + hg[seen]
            v_star = n2 + group[vj_h][v_seen]
            has_root = stores[seen] & (root_of[seen] >= 0)
            # A star links to a child's only if that child leads to such keys: two
            # groups that fetch from one holding none must not be joined through it.
            live = self._reached(
                pulls.T.tocsr(), _unique(np.concatenate([hg[seen], group[vj_h][v_seen]])), n2
            )
            pu, pv = pulls.nonzero()
            inside = reach[pu] & reach[pv] & live[pv]
            acting = np.flatnonzero(active)
            # What those targets hold joins on in this pass too (the group will see it
            # next pass anyway): a chain of nodes (a bank's records) in one pass, not
            # one link a pass.
            chain = self._chain(seen, hg, group, joins, stores, n2)
            c_root = chain & stores & (root_of >= 0)
            a = np.concatenate(
                [vertices, star, star[has_root], n2 + pu[inside], acting, v_star, hg[chain]]
            )
            b = np.concatenate(
                [
                    group,
                    dst[seen],
                    root_of[seen][has_root],
                    n2 + pv[inside],
                    n2 + acting,
                    vj_t[v_seen],
                    dst[chain],
                ]
            )
            a = np.concatenate([a, hg[c_root]])
            b = np.concatenate([b, root_of[c_root]])
            graph = _graph(a, b, 2 * n2)
            count, labels = connected_components(graph, directed=False)
            leader = np.full(count, 2 * n2)
            np.minimum.at(leader, labels[:n2], vertices)
            new = leader[labels[:n2]]
            groups = int((new == vertices).sum())  # a group is named by its least vertex
            if groups == n_groups:
                break
            group, n_groups = new, groups
        self.group = group
        self.active = np.zeros(n2, dtype=bool)
        doms = self._doms
        self.active[group[doms]] = True
        # A CALL through a gate hands the callee a resume key to its caller (R9): a group
        # of two or more domains that sees a gate to one of them holds a return key to
        # each (all of them can call through it), as Closure._link gives a joined class.
        # (A call on a red segment key to its keeper is such a gate: the virtual joins.)
        # The callee can CALL its caller back through that key, and so on: with two
        # domains, each can come to hold a return key to every one.
        gate = (channel | (kt == DOMAIN) & self.free[dst]) & reach[group[holder]]
        calling = np.zeros(n2, dtype=bool)
        calling[group[dst[gate]]] = True
        calling[group[vj_t[reach[group[vj_h]]]]] = True
        calling &= np.bincount(group[doms], minlength=n2) >= 2
        self.calling = calling
        hg = group[holder]
        self.pulls = self._pulls(hg[fetch], dst[fetch], root_of[fetch], group, n2)
        readable = _of(kt, (FETCH, SENSE, NODE))  # what a sense key reaches on
        # A sensory write (a factory's builder installs): the node shows the sensory
        # versions of what the writer's group holds.
        sw_node, sw_writer = self._grants.pair_array(self._grants.sensory)
        self._sw = group[sw_node], group[sw_writer]
        self.senses = self._pulls(
            np.concatenate([hg[readable], self._sw[0]]),
            np.concatenate([dst[readable], sw_writer]),
            np.concatenate([root_of[readable], np.full(len(sw_node), -1, np.int64)]),
            group,
            n2,
        )
        self.holder_group = hg

    def _chain(
        self,
        seen: npt.NDArray[np.bool_],
        hg: _Ints,
        group: _Ints,
        joins: npt.NDArray[np.bool_],
        stores: npt.NDArray[np.bool_],
        n2: int,
    ) -> npt.NDArray[np.bool_]:
        """Joining keys held by the groups that the ``seen`` keys join (and by those
        their keys join, and so on): each such group ends up in the group that saw the
        first key, so its keys join their targets to it."""
        dst, root_of = self.dst, self.root_of
        r = stores & (root_of >= 0)
        links = _graph(
            np.concatenate([hg[joins], hg[joins & r]]),
            np.concatenate([group[dst[joins]], group[root_of[joins & r]]]),
            n2,
        )
        firsts = np.concatenate([group[dst[seen]], group[root_of[seen & r]]])
        if not len(firsts):
            return np.zeros(len(dst), dtype=bool)
        joined = self._reached(links, _unique(firsts), n2)
        return joins & joined[hg] & ~seen

    def _pulls(self, src_group: _Ints, dst: _Ints, root: _Ints, group: _Ints, n2: int) -> csr_array:
        """:meth:`_edges`, with the virtual pulls of the keeper channels: a red segment's
        caller reads the node (when it can invoke a key in it), and whoever reads the
        node reads what its callers hold (they can leave it in its local slot)."""
        va, vb = self._vp
        return self._edges(
            np.concatenate([src_group, group[va]]),
            np.concatenate([dst, vb]),
            np.concatenate([root, np.full(len(va), -1, np.int64)]),
            group,
            n2,
        )

    @staticmethod
    def _edges(src_group: _Ints, dst: _Ints, root: _Ints, group: _Ints, n2: int) -> csr_array:
        """Group-level edges to the objects' groups and, for domains, their roots'."""
        has_root = root >= 0
        a = np.concatenate([src_group, src_group[has_root]])
        b = np.concatenate([group[dst], group[root[has_root]]])
        return _graph(a, b, n2)

    @staticmethod
    def _reached(graph: csr_array, starts: npt.ArrayLike, n2: int) -> npt.NDArray[np.bool_]:
        """Vertices reachable from any of ``starts`` (a mask), level by level."""
        mask = np.zeros(n2, dtype=bool)
        frontier = _unique(np.asarray(starts, dtype=np.int64))
        if len(frontier) == 1:
            mask[
                breadth_first_order(
                    graph, int(frontier[0]), directed=True, return_predecessors=False
                )
            ] = True
            return mask
        indptr, indices = graph.indptr, graph.indices
        while len(frontier):
            mask[frontier] = True
            lo, hi = indptr[frontier], indptr[frontier + 1]
            sizes = hi - lo
            if not sizes.sum():
                break
            take = np.repeat(lo - np.cumsum(np.concatenate([[0], sizes[:-1]])), sizes) + np.arange(
                sizes.sum()
            )
            nxt = indices[take]
            frontier = _unique(nxt[~mask[nxt]])
        return mask

    # ------------------------------------------------------ keeper channels
    def _reps(self) -> _Ints:
        """Per group, its least domain (-1: none): it holds what the group is granted."""
        n2 = 2 * self.n
        doms = self._doms
        rep = np.full(n2, n2, dtype=np.int64)
        np.minimum.at(rep, self.group[doms], doms)
        rep[rep == n2] = -1
        return rep

    def _backward(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Groups whose authority (its full part) has a key of ``mask``: those that
        fetch their way to a group holding one."""
        return self._reached(self._pulls_t, _unique(self.holder_group[mask]), 2 * self.n)

    def _keeper_channels(self) -> bool | None:
        """One round of :meth:`.authority.Closure._keepers` on arrays: None when it
        granted nothing new, True when what it granted changes the groups (a key that
        joins, a virtual join or pull), False otherwise."""
        n, n2 = self.n, 2 * self.n
        g = self._grants
        before = g.size()
        self._pulls_t = self.pulls.T.tocsr()
        group, hg = self.group, self.holder_group
        holder, dst, kt, db, sk, slot = (
            self.holder,
            self.dst,
            self.kt,
            self.db,
            self.sk,
            self.slot,
        )
        act_v = self.active[group]  # per vertex: in an active group
        rep = self._reps()
        to_dom = self.free[dst]  # keepers act freely
        gate = ((kt == START) | (kt == RESUME) & self.delivers) & to_dom
        start = (kt == START) & to_dom
        made = (kt == DOMAIN) & to_dom  # a domain key makes start keys
        has_gate, has_start = self._backward(gate | made), self._backward(start | made)
        has_inv = self._backward(_INVOCABLE[kt] | _of(kt, (NODE, FETCH)))
        has_fe = self._backward(_of(kt, (FRONTEND, NODE)))
        root = holder >= n
        own = ~root & ~self.domain[np.where(root, 0, holder)]  # a container's own keys
        where = np.where(root, holder - n, holder)  # the object whose slots hold it
        local = g.pair_array(g.local)
        root_written = self._root_written = act_v[n:] | np.isin(np.arange(n), local[0])
        slotted = (own | root) & gate
        self._gate_index = gi = _Index(where[slotted], dst[slotted], kt[slotted] == START)
        # A start key to any domain, a system program's too, takes a call's message, so the
        # caller's third key is left in the node's local slot (Closure.keepers: any gate).
        any_start = (kt == START) & self.domain[dst]
        slot_start = (own | root) & any_start
        takes = _Index(where[slot_start], dst[slot_start], np.ones(int(slot_start.sum()), bool))
        has_any_start = self._backward(any_start | (kt == DOMAIN) & self.domain[dst])
        # Segment faults: address translation from each address slot (walk_step),
        # through no no-call key; a key with size bits 0 reaches a red node.
        walked = _of(kt, _WALKED) & (db & NOCALL == 0)
        red = walked & (db & LSS_BITS == 0)
        self._walk_grants(
            walked,
            red,
            walked | (kt == NODE),
            red | (kt == NODE),
            root & (sk == _S["address"]) & walked,
            red,
            np.ones(len(kt), dtype=bool),
            gate,
            has_gate,
            rep,
            act_v,
            root_written,
            local,
        )
        # Dry meters: the meter slot, then each meter's superior (slot 1); its keeper
        # is in slot 2.
        meter = kt == METER
        sup = np.isin(slot, (METER_SUPERIOR, ANY_SLOT))
        self._walk_grants(
            meter & sup,
            meter & sup,
            meter | (kt == NODE),
            meter | (kt == NODE),
            root & (sk == _S["meter"]) & meter,
            meter,
            np.isin(slot, (METER_KEEPER, ANY_SLOT)),
            gate,
            has_gate,
            rep,
            act_v,
            root_written,
            local,
            meters=True,
        )
        # Calls on red segment keys: node keys (those holding one can make red
        # segment keys) give the keepers — in the node's own group — node keys with
        # the caller's databytes; other red keys are handled one by one. Node keys
        # granted above to a group holding the node already count too.
        seen = self._reached(self.pulls, np.flatnonzero(self.active), n2)[hg]
        nk = np.flatnonzero((kt == NODE) & seen)
        granted = g.commit()
        same = granted[(granted[:, 2] == NODE) & (group[granted[:, 0]] == group[granted[:, 1]])]
        x = np.concatenate([dst[nk], same[:, 1]])
        x_db = np.concatenate([db[nk], same[:, 3]])
        ok = has_gate[group[x]] | has_inv[group[x]]
        # (The key's own databyte and 0 are in the group's authority already: the node
        # key, and the node key MakeNodeKey makes from it.)
        for cdb in (x_db | RO, np.full_like(x, RO)):
            keep = ok & (cdb & (NOCALL | LSS_BITS) == 0)
            g.add_keys(rep[group[x[keep]]], x[keep], NODE, cdb[keep])
        callers: dict[int, _Ints] = {}
        calls = _of(kt, (SEGMENT, FRONTEND)) & (db & (NOCALL | LSS_BITS) == 0) & seen
        for e in np.flatnonzero(calls).tolist():
            h, xx, fe, d0 = int(holder[e]), int(dst[e]), kt[e] == FRONTEND, int(db[e])
            cdbs = (d0,) if fe else (d0, d0 | RO)
            for k in gi.keepers(xx, fe):
                g.joins.add((h, k))
                g.add_keys(np.full(len(cdbs), k), np.full(len(cdbs), xx), NODE, np.array(cdbs))
            gx = int(group[xx])
            if act_v[xx] and (has_start if fe else has_gate)[gx]:
                g.joins.add((h, xx))
                g.add_keys(
                    np.full(len(cdbs), rep[gx]), np.full(len(cdbs), xx), NODE, np.array(cdbs)
                )
            mine = np.flatnonzero(where == xx)
            mine = mine[own[mine] | root[mine]]
            if fe:
                usable = bool((kt[mine] == FRONTEND).any()) or act_v[xx] and has_fe[gx]
            else:
                usable = bool(_INVOCABLE[kt[mine]].any()) or act_v[xx] and has_inv[gx]
            hh = int(hg[e])
            if hh not in callers:
                back = self._reached(self._pulls_t, [hh], n2)
                callers[hh] = rep[np.flatnonzero(back & self.active)]
            leaves = bool(takes.keepers(xx, True)) or bool(act_v[xx] and has_any_start[gx])
            for a in callers[hh].tolist():
                if leaves:  # a start key takes the message (gatec.c:185)
                    g.local.add((xx, a))
                if usable:
                    g.reads.add((a, xx))
                    if not fe:
                        g.add_keys(
                            np.full(len(cdbs), a), np.full(len(cdbs), xx), NODE, np.array(cdbs)
                        )
        fresh = np.concatenate([granted, g.commit()])
        if g.size() > before:
            return True
        if not len(fresh):
            return None
        by, to, code = fresh[:, 0], fresh[:, 1], fresh[:, 2]
        to_dom = self.domain[to]
        joins = (code == NODE) & (
            (group[by] != group[to]) | to_dom & (group[by] != group[np.where(to_dom, to + n, to)])
        )
        joins |= (code == RESUME) & self.free[to] & self._restart[to]
        return bool(joins.any())

    def _walk_grants(
        self,
        own_step: npt.NDArray[np.bool_],
        own_site: npt.NDArray[np.bool_],
        hub_step: npt.NDArray[np.bool_],
        hub_site: npt.NDArray[np.bool_],
        first: npt.NDArray[np.bool_],
        first_site: npt.NDArray[np.bool_],
        keeper_slot: npt.NDArray[np.bool_],
        gate: npt.NDArray[np.bool_],
        has_gate: npt.NDArray[np.bool_],
        rep: _Ints,
        act_v: npt.NDArray[np.bool_],
        root_written: npt.NDArray[np.bool_],
        local: tuple[_Ints, _Ints],
        meters: bool = False,
    ) -> None:
        """Walk from every domain's address (or meter) slot and grant the keepers of
        what it reaches a node key to it and a restart key to the domain.

        Vertices: objects and roots ``0 .. 2n``, ``hub(g) = 2n + g`` (the keys group ``g``
        can hold), ``start(d) = 4n + d`` (domain ``d``'s slot), ``site(x) = 5n + x`` (a
        red node or meter whose keeper may be called) and ``kn(g) = 6n + g`` (keepers
        in group ``g``). ``own_step``/``own_site``: keys in an object's slots walked
        through, and reaching a site; ``hub_*`` the same for keys a group holds (node
        keys make segment and meter keys); ``first``: the domain slot's keys."""
        n, g = self.n, self._grants
        holder, dst, group, hg = self.holder, self.dst, self.group, self.holder_group
        root = holder >= n
        where = np.where(root, holder - n, holder)
        own = root | ~self.domain[where]
        doms = np.flatnonzero(self.domain)
        hub, start, site, kn = 2 * n, 4 * n, 5 * n, 6 * n
        pu, pv = self.pulls.nonzero()
        la, lb = local
        a: list[_Ints] = []
        b: list[_Ints] = []

        def edge(src: _Ints, to: _Ints) -> None:
            a.append(np.asarray(src, np.int64))
            b.append(np.asarray(to, np.int64))

        for step, off in ((own & own_step, 0), (own & own_site, site)):
            edge(holder[step], off + dst[step])
        for step, off in ((first, 0), (first & first_site, site)):
            edge(start + holder[step] - n, off + dst[step])
        for step, off in ((hub_step, 0), (hub_site, site)):
            edge(hub + hg[step], off + dst[step])
        objects = np.flatnonzero(act_v[:n])
        edge(objects, hub + group[objects])  # written objects, domains
        edge(doms, doms + n)  # a domain's root, as a node
        written = doms[root_written[doms]]
        edge(start + written, hub + group[written])
        edge(hub + pu, hub + pv)
        edge(la, hub + group[lb])  # keys left in a local slot
        # Keepers: keys in the slots, and groups whose keys can be there.
        kept = own & gate & keeper_slot
        edge(site + where[kept], kn + group[dst[kept]])
        x = np.flatnonzero(act_v[:n] & has_gate[group[:n]])
        edge(site + x, kn + group[x])
        if meters:
            lk = has_gate[group[lb]]
            edge(site + la[lk], kn + group[lb[lk]])
        rows, cols = np.concatenate(a), np.concatenate(b)
        size = 8 * n
        walk = _graph(rows, cols, size)
        reached = self._reached(walk, start + doms, size)
        sites = np.flatnonzero(reached[site : site + n])
        # A node key to each site reached, to its keepers.
        at = np.isin(where, sites) & kept
        g.add_keys(dst[at], where[at], NODE, 0)
        x = sites[act_v[sites] & has_gate[group[sites]]]
        g.add_keys(rep[group[x]], x, NODE, 0)
        if meters:
            lk = np.isin(la, sites) & has_gate[group[lb]]
            g.add_keys(rep[group[lb[lk]]], la[lk], NODE, 0)
        # A restart key to each domain, to the keepers its walk reaches.
        back = walk.T.tocsr()
        for k in np.flatnonzero(reached[kn : kn + 2 * n]).tolist():
            mask = self._reached(back, [kn + k], size)
            faulting = doms[mask[start + doms]]
            g.add_keys(np.full(len(faulting), rep[k]), faulting, RESUME, RESTART)

    def _call_edges(self, talks: npt.NDArray[np.bool_]) -> tuple[_Ints, _Ints]:
        """Flow edges of calls on red segment keys (vertices of :meth:`flow_graph`):
        the holder's group writes to the keepers that pass information on (``talks``,
        per vertex), which answer it; and when any start key can take the message, it
        can leave a key in the node (:func:`.flow._keepers_called`)."""
        n = self.n
        W, Rf = n, 5 * n
        holder, kt, db, dst, hg = self.holder, self.kt, self.db, self.dst, self.holder_group
        calls = np.flatnonzero(_of(kt, (SEGMENT, FRONTEND)) & (db & (NOCALL | LSS_BITS) == 0))
        a: list[int] = []
        b: list[int] = []
        if not len(calls):
            return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)
        root = holder >= n
        where = np.where(root, holder - n, holder)
        own = root | ~self.domain[where]
        gate = ((kt == START) | (kt == RESUME) & self.delivers) & self.domain[dst] & own
        index = _Index(where[gate], dst[gate], kt[gate] == START)
        memo: dict[tuple[int, bool], list[int]] = {}

        def targets(x: int, start_only: bool) -> list[int]:
            found = index.keepers(x, start_only)
            gx = int(self.group[x])
            if self.active[gx]:
                if (gx, start_only) not in memo:
                    memo[(gx, start_only)] = self._gate_targets(gx, start_only)
                found = found + memo[(gx, start_only)]
            return found

        for e in calls.tolist():
            x, fe, h = int(dst[e]), bool(kt[e] == FRONTEND), int(hg[e])
            for k in set(targets(x, fe)):
                if talks[k]:
                    a += [W + h, k]
                    b += [k, Rf + h]
            if targets(x, True):  # a start key takes it: it can leave a
                a.append(W + h)  # key in the node (gatec.c:185)
                b.append(x)
        return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)

    def _gate_targets(self, group: int, start_only: bool) -> list[int]:
        """The domains the keys of ``group``'s authority (full part) call into."""
        full = self._reached(self.pulls, [group], 2 * self.n)[self.holder_group]
        kt, to = self.kt, self.domain[self.dst]
        gate = (
            (kt == START) | (kt == DOMAIN) | ~np.bool_(start_only) & (kt == RESUME) & self.delivers
        )
        return _unique(self.dst[full & gate & to]).tolist()

    # --------------------------------------------------------------- answers
    def authority(self, subject: int) -> npt.NDArray[np.int64]:
        """(target, key type code, databyte) rows: every key ``subject`` (a
        vertex index of a domain) can come to hold, without duplicates."""
        if not 0 <= subject < self.n or not self.domain[subject]:
            raise ValueError(f"vertex index {subject} is not a domain")
        if not self.free[subject]:  # a system program holds nothing it can use
            return np.empty((0, 3), dtype=np.int64)
        n2 = 2 * self.n
        if self._ids is None:
            self._ids = _KeyIds(self.dst, self.kt, self.db, self._doms, self.n)
        ids = self._ids
        out = np.zeros(len(ids.codes), dtype=bool)  # the answer, by key id
        full = self._reached(self.pulls, [self.group[subject]], n2)
        seen = full[self.holder_group]
        held = ids.marks(seen)
        out[ids.distinct[held]] = True
        out[ids.made[held[ids.made_from]]] = True
        callers = self._doms[(full & self.calling)[self.group[self._doms]]]
        out[ids.returns[callers]] = True
        # Sense keys seen (and those it makes from node and fetch keys): their
        # targets' groups, and all those read on from there, diminished.
        sense = seen & ids.senses
        starts = np.zeros(n2, dtype=bool)
        starts[self.group[self.dst[sense]]] = True
        roots = self.root_of[sense]
        starts[self.group[roots[roots >= 0]]] = True
        starts[self._sw[1][full[self._sw[0]]]] = True  # sensory writes into what it reads
        if starts.any():
            sensed = self._reached(self.senses, np.flatnonzero(starts), n2)
            dim = sensed[self.holder_group]
            # Weaker keys exist where a domain holds the key: in what the active groups
            # among the sensed ones fetch.
            makers = self._reached(self.pulls, np.flatnonzero(sensed & self.active), n2)
            dim_held = ids.marks(dim)
            acting = ids.marks(dim & makers[self.holder_group])
            sensed_ids = ids.dim_distinct[dim_held]
            made_ids = ids.dim_made[acting[ids.made_from]]
            out[sensed_ids[sensed_ids >= 0]] = True
            out[made_ids[made_ids >= 0]] = True
        code = ids.codes[out]
        rows = np.empty((len(code), 3), dtype=np.int64)
        np.right_shift(code, 16, out=rows[:, 0])
        np.bitwise_and(np.right_shift(code, 8), 0xFF, out=rows[:, 1])
        np.bitwise_and(code, 0xFF, out=rows[:, 2])
        return rows

    def memory(self, subject: int) -> tuple[_Ints, npt.NDArray[np.bool_]]:
        """The pages domain ``subject`` (a vertex index) can read through its address
        slot and whether it can write each, as :meth:`.authority.Closure.memory`."""
        if not 0 <= subject < self.n or not self.domain[subject]:
            raise ValueError(f"vertex index {subject} is not a domain")
        n = self.n
        graph, step = self._memory_graph()
        first = np.flatnonzero((self.holder == n + subject) & (self.sk == _S["address"]))
        starts = [t for e in first.tolist() if (t := step(e, 0)) >= 0]
        if self._root_written[subject]:
            starts.append(4 * n + int(self.group[subject]))
        reached = self._reached(graph, np.array(starts, dtype=np.int64), 12 * n)
        pages = reached[10 * n :].reshape(2, n)
        found = np.flatnonzero(pages[0] | pages[1])
        return found, pages[0][found]

    def _memory_graph(self) -> tuple[csr_array, Any]:
        """Address translation as a graph over states: ``(v, ro)`` for objects and
        roots (``ro * 2n + v``), the keys group ``g`` holds (``4n + ro * 2n + g``), those
        it senses (``8n + g``, read-only) and pages reached (``10n + ro * n + p``)."""
        if self._memory is not None:
            return self._memory
        n, n2 = self.n, 2 * self.n
        holder, dst, kt, db, hg = self.holder, self.dst, self.kt, self.db, self.holder_group
        group, act_v = self.group, self.active[self.group]
        ro_key = (db & RO != 0) | _of(kt, (FETCH, SENSE))
        page, walked = kt == PAGE, _of(kt, _WALKED)
        a: list[_Ints] = []
        b: list[_Ints] = []

        def target(mask: npt.NDArray[np.bool_], ro: _Ints | int) -> _Ints:
            flag = np.asarray(ro | ro_key[mask], np.int64)
            return np.where(page[mask], 10 * n + flag * n + dst[mask], flag * n2 + dst[mask])

        root = holder >= n
        own = root | ~self.domain[np.where(root, 0, holder)]
        for ro in (0, 1):
            m = own & (page | walked)
            a.append(ro * n2 + holder[m])
            b.append(target(m, ro))
            m = page | walked
            a.append(4 * n + ro * n2 + hg[m])
            b.append(np.where(kt[m] == NODE, ro * n2 + dst[m], target(m, ro)))
            m = _of(kt, (SENSE, NODE, FETCH))
            a += [4 * n + ro * n2 + hg[m]] * 2
            b += [
                8 * n + group[dst[m]],
                8 * n + group[np.where(self.root_of[m] >= 0, self.root_of[m], dst[m])],
            ]
            objects = np.flatnonzero(act_v[:n])
            a.append(ro * n2 + objects)
            b.append(4 * n + ro * n2 + group[objects])
            doms = np.flatnonzero(self.domain)
            a.append(ro * n2 + doms)
            b.append(ro * n2 + n + doms)
            la, lb = self._grants.pair_array(self._grants.local)
            a.append(ro * n2 + la)
            b.append(4 * n + ro * n2 + group[lb])
            pu, pv = self.pulls.nonzero()
            a.append(4 * n + ro * n2 + pu)
            b.append(4 * n + ro * n2 + pv)
        su, sv = self.senses.nonzero()
        a.append(8 * n + su)
        b.append(8 * n + sv)
        m = page | _of(kt, (SEGMENT, NODE, FETCH, SENSE))  # what a sense key shows
        a.append(8 * n + hg[m])
        b.append(np.where(page[m], 10 * n + n + dst[m], n2 + dst[m]))
        rows, cols = np.concatenate(a), np.concatenate(b)
        graph = _graph(rows, cols, 12 * n)

        def step(e: int, ro: int) -> int:
            if not (page[e] or walked[e]):
                return -1
            flag = ro | int(ro_key[e])
            return 10 * n + flag * n + int(dst[e]) if page[e] else flag * n2 + int(dst[e])

        self._memory = (graph, step)
        return self._memory

    # ------------------------------------------------------------------ flows
    def flow_graph(
        self,
        talks: npt.NDArray[np.bool_] | None = None,
        extra: tuple[_Ints, _Ints] | None = None,
    ) -> csr_array:
        """Information flow as a directed graph over ``9 n`` vertices: the objects
        ``0..n-1``, then per group a writer ``W``, a reader ``R``, a channel reader
        ``Rf`` (what it learns by replies and control) and a sensory reader ``Rs``
        (what its keys read as sensory keys: what a sense key to it reads). A freely acting domain
        passes what it knows to its group's ``W``; ``W`` reaches what the group's keys
        (and the keys it fetches) write; what any key it can read — through fetch, node
        or sense keys, diminished or not — reads reaches ``R``; replies reach ``Rf``.

        ``talks`` (per vertex): the domains whose gates carry a message both ways (by
        default every domain; :mod:`.fast_booted` passes the free domains and KIDs, the
        system programs passing nothing on); ``extra``: more edges (its factories')."""
        if self._flow is not None:
            return self._flow
        if talks is None:
            if not np.array_equal(self.free, self.domain):
                raise ValueError(
                    "the fast engine's flows assume every domain acts freely; this system "
                    "runs system programs: use fast_booted.BootedAuthority"
                )
            talks = self.domain
        n, csr = self.n, self.csr
        W, R, Rf = n, 3 * n, 5 * n
        dom = self._doms  # the freely acting domains
        g = self.group
        hg, dst, kt = self.holder_group, self.dst, self.kt
        ro = (self.db & RO != 0).astype(np.int64)
        rights = _RIGHTS_OUT[kt, ro], _RIGHTS_IN[kt, ro]
        channel = _of(kt, (START, RESUME)) & talks[dst] | (kt == DOMAIN)
        a: list[_Ints] = [dom, R + g[dom], Rf + g[dom]]
        b: list[_Ints] = [W + g[dom], dom, dom]
        pu, pv = self.pulls.nonzero()
        a += [W + pu, Rf + pv]
        b += [W + pv, Rf + pu]
        # Reading through fetch and node keys (and the keeper channels' virtual pulls) sees
        # the keys below as they are: what they read (R), and what they read as sensory
        # keys (Rs); through a sense key or a sensory install, only the latter (a frontend
        # key's sensory version is no key: schema.sensory).
        Rs = 7 * n
        full = _of(kt, (FETCH, NODE))
        fu, fv = self._pulls(hg[full], dst[full], self.root_of[full], g, 2 * n).nonzero()
        sensed = kt == SENSE
        sw_node, sw_writer = self._grants.pair_array(self._grants.sensory)
        su, sv = self._edges(
            np.concatenate([hg[sensed], g[sw_node]]),
            np.concatenate([dst[sensed], sw_writer]),
            np.concatenate([self.root_of[sensed], np.full(len(sw_node), -1, np.int64)]),
            g,
            2 * n,
        ).nonzero()
        a += [R + fv, Rs + fv, Rs + sv, Rs + sv]
        b += [R + fu, Rs + fu, R + su, Rs + su]
        reads = rights[1]
        out = rights[0] | channel
        a += [W + hg[out], dst[reads], dst[channel], dst[reads & (kt != FRONTEND)]]
        b += [dst[out], R + hg[reads], Rf + hg[channel], Rs + hg[reads & (kt != FRONTEND)]]
        # A free domain's own memory, and the trees behind memory someone can address.
        src = np.repeat(np.arange(n), np.diff(csr.indptr))
        e_kt, e_sk = csr.key_type.astype(np.int64), csr.slot_kind.astype(np.int64)
        e_db = (csr.databyte.astype(np.int64) & RO != 0).astype(np.int64)
        addr = (e_sk == _S["address"]) & self.domain[src]
        own = addr & self.free[src]
        a += [src[own & _RIGHTS_OUT[e_kt, e_db]], csr.indices[own & _RIGHTS_IN[e_kt, e_db]]]
        b += [csr.indices[own & _RIGHTS_OUT[e_kt, e_db]], src[own & _RIGHTS_IN[e_kt, e_db]]]
        reached = self._reached(self.pulls, np.flatnonzero(self.active), 2 * n)
        roots = np.concatenate(
            [
                csr.indices[addr | _of(e_kt, (SEGMENT, _T["frontend"]))],
                dst[_of(kt, (NODE, SEGMENT, _T["frontend"])) & reached[hg]],
            ]
        )
        tree = (e_sk == _S["slot"]) & _of(e_kt, _MEMORY) & ~self.domain[src]
        t_graph = _graph(src[tree], csr.indices[tree], n)
        inside = self._reached(t_graph, _unique(roots), n)
        link = tree & inside[src]
        # Down a tree only through a key that writes, up only through one that reads.
        down, up = link & _RIGHTS_OUT[e_kt, e_db], link & _RIGHTS_IN[e_kt, e_db]
        a += [src[down], csr.indices[up]]
        b += [csr.indices[down], src[up]]
        calls = self._call_edges(talks)  # calls on red segment keys
        a.append(calls[0])
        b.append(calls[1])
        if extra is not None:
            a.append(np.asarray(extra[0], np.int64))
            b.append(np.asarray(extra[1], np.int64))
        rows, cols = np.concatenate(a), np.concatenate(b)
        # Canonical (duplicates summed, indices sorted): the strong components need it.
        ones = np.ones(len(rows), dtype=np.float64)
        self._flow = csr_array((ones, (rows, cols)), shape=(9 * n, 9 * n))
        return self._flow

    def flows(self, subjects: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """The flow matrix (bool, sources × sinks) between vertex indices."""
        F = self.flow_graph()
        count, labels = connected_components(F, directed=True, connection="strong")
        a, b = F.nonzero()
        cross = labels[a] != labels[b]
        dag = csr_array(
            (np.ones(int(cross.sum()), np.int8), (labels[a][cross], labels[b][cross])),
            shape=(count, count),
        )
        index = np.asarray(subjects)
        out = np.zeros((len(index), len(index)), dtype=bool)
        for i, s in enumerate(index):
            order = breadth_first_order(dag, labels[s], directed=True, return_predecessors=False)
            seen = np.zeros(count, dtype=bool)
            seen[order] = True
            out[i] = seen[labels[index]]
        return out


def refuse_system_programs(csr: CapabilityCSR) -> None:
    """``ValueError`` when ``csr`` runs system programs or holds keys the reference
    models (:mod:`.fast_booted` handles those systems).

    >>> from keykos_lab.analysis import random_csr
    >>> refuse_system_programs(random_csr(100, 300))  # nothing to refuse
    """
    if csr.program is not None:
        busy = sorted({p for p in csr.program if p in SYSTEM_PROGRAMS})
        if busy:
            raise ValueError(
                f"FastAuthority assumes every domain acts freely; this system runs {busy}: "
                "use fast_booted.BootedAuthority (or engine='reference')"
            )
    special = _of(csr.key_type, [_T[t] for t in _MODELLED])
    if special.any():
        names = sorted({KEY_TYPES[t] for t in csr.key_type[special]})
        raise ValueError(
            f"FastAuthority has no rules for {names} keys: use fast_booted.BootedAuthority "
            "(or engine='reference')"
        )


class _Grants:
    """What the keeper channels add, in vertex indices: ``keys`` (rows of holder, target,
    type code, databyte), ``joins`` (a red segment key's holder, a keeper), ``reads`` (a
    caller reads the red node) and ``local`` (the node holds what a caller holds)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.keys: _Ints = np.empty((0, 4), dtype=np.int64)
        self._codes: _Ints = np.empty(0, dtype=np.int64)  # sorted, one per key
        self._new: list[_Ints] = []
        self.joins: set[tuple[int, int]] = set()
        self.reads: set[tuple[int, int]] = set()
        self.local: set[tuple[int, int]] = set()
        self.sensory: set[tuple[int, int]] = set()  # (node, writer): sensory writes

    @property
    def pulls(self) -> set[tuple[int, int]]:
        """Reader, read: virtual fetches between vertices (their groups)."""
        return self.reads | {(x, a) for x, a in self.local}

    def size(self) -> int:
        return len(self.joins) + len(self.reads) + len(self.local)

    def add_keys(
        self, holder: npt.ArrayLike, target: npt.ArrayLike, kt: int, db: npt.ArrayLike
    ) -> None:
        h, t = np.asarray(holder, np.int64).ravel(), np.asarray(target, np.int64).ravel()
        d = np.broadcast_to(np.asarray(db, np.int64), h.shape)
        ok = h >= 0
        self._new.append(np.stack([h[ok], t[ok], np.full(int(ok.sum()), kt), d[ok]], axis=1))

    def add_rows(self, rows: _Ints) -> None:
        """Keys as (holder, target, type code, databyte) rows."""
        self._new.append(np.asarray(rows, dtype=np.int64).reshape(-1, 4))

    def commit(self) -> _Ints:
        """Keep the keys added since the last commit; the rows that are new."""
        if not self._new:
            return self.keys[:0]
        added = np.concatenate(self._new)
        self._new = []
        if self.n > 1 << 24:  # too many vertices for one int64 a key
            rows = np.unique(added, axis=0)
            known = set(map(tuple, self.keys.tolist()))
            fresh = rows[[r not in known for r in map(tuple, rows.tolist())]].reshape(-1, 4)
            self.keys = np.concatenate([self.keys, fresh])
            return fresh
        # One int64 per key: holder, target, type code (< 64), databyte.
        code = ((added[:, 0] * self.n + added[:, 1]) * 64 + added[:, 2]) * 256 + added[:, 3]
        code, first = np.unique(code, return_index=True)
        at = np.searchsorted(self._codes, code)
        new = (
            self._codes[np.minimum(at, len(self._codes) - 1)] != code
            if len(self._codes)
            else np.ones(len(code), dtype=bool)
        )
        fresh = added[first[new]]
        self.keys = np.concatenate([self.keys, fresh])
        self._codes = np.sort(np.concatenate([self._codes, code[new]]))
        return fresh

    def key_array(self) -> _Ints:
        return self.keys

    @staticmethod
    def pair_array(pairs: set[tuple[int, int]]) -> tuple[_Ints, _Ints]:
        arr = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]


class _Index:
    """Keys to keepers in objects' own slots, by object: (object, keeper, start key?)."""

    def __init__(self, where: _Ints, target: _Ints, is_start: npt.NDArray[np.bool_]) -> None:
        order = np.argsort(where, kind="stable")
        self.where, self.target, self.start = where[order], target[order], is_start[order]

    def keepers(self, x: int, start_only: bool) -> list[int]:
        lo, hi = np.searchsorted(self.where, [x, x + 1])
        found = self.target[lo:hi]
        return (found[self.start[lo:hi]] if start_only else found).tolist()


def _rights_tables() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    out = np.zeros((len(KEY_TYPES), 2), dtype=bool)
    into = np.zeros((len(KEY_TYPES), 2), dtype=bool)
    for t, name in enumerate(KEY_TYPES):
        for ro in (0, 1):
            r = rights_of(name, RO if ro else 0)
            out[t, ro] = bool(r & {"write", "store"})
            into[t, ro] = bool(r & {"read", "fetch", "sense"})
    return out, into


_RIGHTS_OUT, _RIGHTS_IN = _rights_tables()
_MEMORY = [_T[name] for name in ("page", "segment", "frontend", "node", "fetch", "sense")]


def _of(kt: npt.NDArray[np.integer], types: Iterable[int]) -> npt.NDArray[np.bool_]:
    """Whether each key type code is one of ``types`` (a table lookup; ``np.isin``
    sorts).

    >>> _of(np.array([1, 3, 5]), (3, 5)).tolist()
    [False, True, True]
    """
    table = np.zeros(256, dtype=bool)
    table[list(types)] = True
    return table[kt]


def _graph(rows: _Ints, cols: _Ints, size: int) -> csr_array:
    """A ``size`` × ``size`` graph with an edge per (row, col), as CSR built by one
    stable counting pass: duplicates kept, nothing summed or sorted within rows (a
    traversal needs neither, and summing int8 ones could wrap to zero).

    >>> g = _graph(np.array([1, 0, 1]), np.array([2, 1, 2]), 3)
    >>> g.indptr.tolist(), g.indices.tolist()
    ([0, 1, 3, 3], [1, 2, 2])
    """
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
    index = np.int32 if size < 2**31 and len(rows) < 2**31 else np.int64
    # float64 ones: csgraph converts other data to float64, summing duplicates (a sort).
    return csr_array(
        (np.ones(len(rows)), np.asarray(cols)[order].astype(index), indptr.astype(index)),
        shape=(size, size),
    )


def _unique(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Sorted distinct values (sorting beats numpy's hashing unique here)."""
    if len(values) == 0:
        return values
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _code(target: npt.ArrayLike, kt: npt.ArrayLike, db: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """One int64 per key: target << 16 | type << 8 | databyte."""
    return (
        (np.asarray(target, np.int64) << 16)
        | (np.asarray(kt, np.int64) << 8)
        | np.asarray(db, np.int64)
    )


def _derived(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The weaker keys a holder makes from its keys (codes), and the ones it makes
    from those (node → segment → read-only segment), as the reference derives them."""
    return _derived_owned(codes)[0]


def _derived_owned(codes: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], _Ints]:
    """:func:`_derived`, with the position in ``codes`` of the key each is made from."""
    t, kt, db = codes >> 16, (codes >> 8) & 0xFF, codes & 0xFF
    at = np.arange(len(codes))
    node, fetch = kt == NODE, kt == FETCH
    domain, writable = kt == DOMAIN, _of(kt, (PAGE, SEGMENT)) & (db & RO == 0)
    tn, dn = t[node], db[node]
    out: list[tuple[_Ints, npt.NDArray[np.int64]]] = [
        (at[writable], _code(t[writable], kt[writable], db[writable] | RO)),
        (at[node | fetch], _code(t[node | fetch], SENSE, db[node | fetch] | 0xC0)),
    ]
    made: list[npt.NDArray[np.int64]] = []
    for b in (dn, 0):  # Make…Key: its databyte, or any (0)
        made += [
            _code(tn, FETCH, b),
            _code(tn, SEGMENT, b),
            _code(tn, FRONTEND, b),
            _code(tn, SEGMENT, np.asarray(b) | RO),
        ]
    made += [_code(tn, SENSE, 0xC0), _code(tn, METER, 0), _code(tn, NODE, 0)]
    out += [(at[node], c) for c in made]
    out += [
        (at[domain], _code(t[domain], kind, b))
        for kind, b in ((START, 0), (RESUME, FAULT), (RESUME, RETURN))
    ]
    return np.concatenate([c for _, c in out]), np.concatenate([o for o, _ in out])


class _KeyIds:
    """Every key an authority answer can hold, given an id once: the keys in the graph
    (``key``: each key's position among the distinct ones), those made from them, their
    sensory versions and the return keys to free domains, as the sorted codes ``codes``.
    An answer marks ids in a mask and reads the codes off in order: no sort a query."""

    def __init__(self, dst: _Ints, kt: _Ints, db: _Ints, doms: _Ints, n: int) -> None:
        distinct, self.key = np.unique(_code(dst, kt, db), return_inverse=True)
        made, self.made_from = _derived_owned(distinct)
        dim_distinct, dim_made = _dim_or_none(distinct), _dim_or_none(made)
        returns = _code(doms, RESUME, RETURN)
        parts = [distinct, made, returns, dim_distinct[dim_distinct >= 0], dim_made[dim_made >= 0]]
        self.codes = _unique(np.concatenate(parts))

        def ids(c: _Ints) -> _Ints:
            return np.where(c >= 0, np.searchsorted(self.codes, c), -1)

        self.distinct, self.made = ids(distinct), ids(made)
        self.dim_distinct, self.dim_made = ids(dim_distinct), ids(dim_made)
        self.returns = np.full(n, -1, dtype=np.int64)
        self.returns[doms] = ids(returns)
        self.n_distinct = len(distinct)
        self.senses = _of(kt, (SENSE, NODE, FETCH))  # keys a sensory reach starts from

    def marks(self, keys: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Per distinct key, whether one of ``keys`` (a mask over the key arrays) is it."""
        mask = np.zeros(self.n_distinct, dtype=bool)
        mask[self.key[keys]] = True
        return mask


def _dim_or_none(codes: npt.NDArray[np.int64]) -> _Ints:
    """The sensory version of each key (code), or -1 (DK(0))."""
    kt, db = (codes >> 8) & 0xFF, codes & 0xFF
    new_kt = _SENSORY_KT[kt, db]
    return np.where(new_kt >= 0, _code(codes >> 16, np.maximum(new_kt, 0), _SENSORY_DB[kt, db]), -1)
