"""The analysis view of a KeyNIX system: the system domain replaced by what it grants.

Each KeyNIX process has a keeper of its own (:mod:`keykos_lab.programs.keynix.keeper`):
its domain's keeper slot holds a start key to that keeper, which holds the process's
domain key, its memory, its bank, its fd table (the open files, real keys) and, for an
empty child being built, its embryo children's keepers. All of that is in the capability
graph as it is: the view keeps it.

What the processes share is kept by one *system domain* (:mod:`.server`), which every
keeper reaches through a start key (databyte = its pid) — and which holds the domain key
of every keeper, the whole file tree, the banks. It is trusted code (like the space bank,
docs/primer.md#primer-space-bank, docs/primer.md#primer-keynix): for pid ``p`` it only
ever acts on what ``p`` may use. To the analyses, though, a start key to a freely acting
domain shares all of its authority, so every keeper would reach every process. The view
is the networkx way to say what the system domain does for each pid — a copy of the
capability graph, transformed. For every live process:

1. its keeper keeps its own keys (the analyses see them as they are) and
2. gets what ``open()`` through the process's root directory grants
   (``slot`` = 200 + n, ``via`` = the path): a segment key to every regular file —
   read-only if ``READONLY``; none at all to a ``PRIVILEGED`` file unless the process's
   euid is 0 — a read-write page key to each directory's names page (``open`` looks
   names up, ``O_CREAT`` adds them); and for a command (:mod:`.setuid`) what
   ``SYS_RUN`` does: the system domain asks the command's factory for a yield, passes
   the process's string and answers its rc — data both ways, never a key. So the
   keeper holds a read-write page key to a vertex ``("cmd", pid, path)`` and a domain
   ``("runner", pid, path)`` — the system domain running that command — holds a
   read-write key to the same page and the factory's requestor's key (databyte 1);
3. finally the system domain is removed, with every key to or from it, and so is the
   operator's console (``operator=False`` keeps it): it built the system domain and
   holds its operator facet — true of whoever holds such keys, but not what a process
   was *given*.

What the view leaves out: signals (``kill`` by the same euid ends a process: the system
domain destroys its bank) and ``wait`` (a child's status), which carry a few bits between
processes, and a shared open file's offset and a pipe's consumed bytes.

>>> from keykos_lab.system import KeyNIX
>>> knx = KeyNIX()
>>> pid = knx.spawn("/bin/cat", ["cat"]); _ = knx.run()
>>> V = analysis_view(knx)
>>> child, keeper = (knx.con.target(k) for k in knx.process(pid))
>>> knx.con.target(knx.system) in V, V.has_edge(child, keeper)   # its keeper slot
(False, True)
>>> held = {v for _, v, d in V.out_edges(keeper, data=True)
...         if d["key_type"] == "domain" and d["slot_kind"] == "key_register"}
>>> held == {child, keeper}          # its process's domain key, and its own
True
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeAlias

import networkx as nx

from keykos_lab.analysis.convert import rights_of
from keykos_lab.kernel.objects import Node, Page
from keykos_lab.programs.keynix import abi, fs, keeper, server
from keykos_lab.views.graph import capability_graph
from keykos_lab.views.schema import is_sensory

if TYPE_CHECKING:
    from keykos_lab.system import KeyNIX

RO = 0x80
ROOT_SLOT = 200


#: The kernel's object store: pages and nodes by id (``kernel.store.objects``).
_Store: TypeAlias = Sequence[Page | Node | None]


def slot_target(G: nx.MultiDiGraph, node: Hashable, n: int) -> Hashable | None:
    """The vertex the key in slot ``n`` of node vertex ``node`` designates, or None."""
    for _, v, d in G.out_edges(node, data=True):
        if d.get("slot") == n and d.get("slot_kind") == "slot":
            return v
    return None


def register_target(G: nx.MultiDiGraph, domain: Hashable, n: int) -> Hashable | None:
    """The vertex designated by key register ``n`` of ``domain``, or None."""
    for _, v, d in G.out_edges(domain, data=True):
        if d.get("slot") == n and d.get("slot_kind") == "key_register":
            return v
    return None


def processes(G: nx.MultiDiGraph, system_vertex: Hashable) -> list[tuple[int, Hashable, Hashable]]:
    """``(pid, domain vertex, keeper vertex)`` of every process the system domain keeps
    (a keeper domain in slot ``P_KEEPER`` of a per-pid node, holding a live domain)."""
    ptab = register_target(G, system_vertex, server.K_PTAB)
    out: list[tuple[int, Hashable, Hashable]] = []
    for hi_slot in range(16):
        hi = slot_target(G, ptab, hi_slot) if ptab is not None else None
        if hi is None:
            continue
        for lo_slot in range(16):
            node = slot_target(G, hi, lo_slot)
            kp = None if node is None else slot_target(G, node, server.P_KEEPER)
            dom = None if kp is None else register_target(G, kp, keeper.KK_DOM)
            if dom is not None and G.nodes[dom].get("kind") == "domain":
                out.append((hi_slot * 16 + lo_slot, dom, kp))
    return out


def analysis_view(
    knx: KeyNIX, G: nx.MultiDiGraph | None = None, *, operator: bool = False
) -> nx.MultiDiGraph:
    """A copy of ``G`` (default: the kernel's capability graph now) in which the
    system domain is replaced, for each process's keeper, by what it does for that pid
    (the rules in the module docstring). ``G`` must be a graph of ``knx``'s kernel;
    page contents (euids, file modes) are read from the kernel's store, without an
    invocation, so the event log is not touched."""
    if G is None:
        G = capability_graph(knx.kernel)  # what knx.kernel.capability_graph() gives
    store = knx.kernel.store.objects
    sv = knx.con.target(knx.system)
    V = G.copy()
    table = register_target(G, sv, server.K_TABLE)
    raw = _page(store, table).read(0, abi.PAGE)
    ptab = register_target(G, sv, server.K_PTAB)
    for pid, _dom, kp in processes(G, sv):
        euid = raw[pid * 16 + 2]
        hi = slot_target(G, ptab, pid // 16)
        node = None if hi is None else slot_target(G, hi, pid % 16)
        root = None if node is None else slot_target(G, node, server.P_ROOT)
        if root is None:
            continue
        V.nodes[kp].setdefault("label", f"keeper of pid {pid}")
        for n, (path, target, ktype, db) in enumerate(_open_grants(G, store, root, euid)):
            if ktype == "start":  # a command: through a runner
                buf, runner = ("cmd", pid, path), ("runner", pid, path)
                V.add_node(buf, kind="page", label=f"pid {pid} runs {path}")
                V.add_node(
                    runner,
                    kind="domain",
                    label=f"the system runs {path} for pid {pid}",
                    program="keynix-runner",
                )
                _add(V, kp, buf, "page", 0, ROOT_SLOT + n, path)
                _add(V, runner, buf, "page", 0, 0, path)
                _add(V, runner, target, ktype, db, 1, path)
            else:
                _add(V, kp, target, ktype, db, ROOT_SLOT + n, path)
                V.nodes[target]["label"] = path if ktype == "segment" else f"{path} (names)"
    V.remove_node(sv)
    if not operator and knx.con.root in V:
        V.remove_node(knx.con.root)
    return V


def _page(store: _Store, v: Hashable | None) -> Page:
    """The page vertex ``v`` is (pages are never folded: their vertex is their id)."""
    obj = store[v] if isinstance(v, int) else None
    if not isinstance(obj, Page):
        raise ValueError(f"vertex {v!r} is not a page of the kernel's store")
    return obj


def _ints(store: _Store, page: Hashable | None, n: int) -> list[int]:
    data = _page(store, page).read(0, 4 * n)
    return [int.from_bytes(data[4 * i : 4 * i + 4], "big", signed=True) for i in range(n)]


def _add(
    V: nx.MultiDiGraph, holder: Hashable, target: Hashable, ktype: str, db: int, slot: int, via: str
) -> None:
    V.add_edge(
        holder,
        target,
        slot=slot,
        slot_kind="key_register",
        key_type=ktype,
        databyte=db,
        rights=rights_of(ktype, db),
        sensory=is_sensory(ktype, db),
        via=via,
    )


def _open_grants(
    G: nx.MultiDiGraph, store: _Store, root: Hashable, euid: int
) -> Iterator[tuple[str, Hashable, str, int]]:
    """``(path, target, key type, databyte)`` for what open() through ``root`` grants."""
    todo: list[tuple[bytes, Hashable]] = [(b"", root)]
    while todo:
        path, inode = todo.pop()
        meta = slot_target(G, inode, fs.META)
        head = _page(store, meta).read(0, 2)
        kind, mode = head[0], head[1]
        name = path.decode() or "/"
        if kind == fs.DIR:
            yield name, meta, "page", 0
            deep = _page(store, meta).read(2, 1)[0]  # past 14 entries: buckets (dirtree)
            buckets = [slot_target(G, inode, b) for b in range(abi.FILE_PAGES)] if deep else [inode]
            for bucket in (b for b in buckets if b is not None):
                bmeta = slot_target(G, bucket, fs.META)
                if bucket != inode:
                    yield name, bmeta, "page", 0
                names = _page(store, bmeta).read(fs.NAMES_AT, fs.ENTRY * abi.FILE_PAGES)
                for i in range(abi.FILE_PAGES):
                    entry = names[i * fs.ENTRY : (i + 1) * fs.ENTRY].rstrip(b"\0")
                    child = slot_target(G, bucket, i)
                    if entry and child is not None:
                        todo.append((path + b"/" + entry, child))
        elif kind == fs.COMMAND:
            factory = slot_target(G, inode, 0)
            if factory is not None:
                yield name, factory, "start", 1
        elif not (mode & fs.PRIVILEGED and euid != 0):
            yield name, inode, "segment", RO if mode & fs.READONLY else 0


__all__ = ["analysis_view", "processes", "register_target", "slot_target"]
