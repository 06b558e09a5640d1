"""The analysis view of a KeyNIX system: each process's keeper replaced by what it grants.

:func:`keykos_lab.analysis.authority` lets a domain act with everything a
*freely acting* domain it can call has. A KeyNIX process's keeper slot holds a
start key to the Unix keeper (databyte = pid), so to the analysis every process
could do what the keeper does — the whole system. But the keeper is trusted code
(like the space bank, docs/primer.md#primer-space-bank, docs/primer.md#primer-keynix): for pid
``p`` it only ever acts on
``p``'s fd table, on ``p``'s root directory and on ``p``'s memory. The view is
the networkx way to say so: a copy of the capability graph, transformed.

For every live process (its process node in the keeper's table):

1. the keeper start key in its domain's keeper slot is removed;
2. for each open file descriptor the process gets a key in a key register
   (``slot`` = 100 + fd, ``via`` = ``"fd <n>"``) — rights by open mode:

   * a file opened ``O_RDONLY``: a read-only segment key to its inode (a file
     is a segment, :mod:`.fs`); ``O_RDWR``: a read-write segment key;
   * a pipe's read end: a read-only page key to its ring page;
   * a *write-only* descriptor (a file opened ``O_WRONLY``, a pipe's write
     end). KeyKOS has no write-only key, so the view says what the keeper
     does: the process holds a read-write page key to a vertex
     ``("wr", pid, fd)`` (its request buffer), and a vertex ``("writer", pid,
     fd)`` — the keeper acting for that descriptor, a domain — holds a
     read-only key to that buffer and a read-write key to the file or ring.
     Information goes process → file, never back;

3. its root directory is expanded into what ``open()`` through it grants
   (``slot`` = 200 + n, ``via`` = the path): a segment key to every regular
   file — read-only if ``READONLY``; none at all to a ``PRIVILEGED`` file
   unless the process's euid is 0 — a read-write page key to each directory's
   names page (``open`` looks names up, ``O_CREAT`` adds them); and for a
   command (:mod:`.setuid`) what ``SYS_RUN`` does: the keeper asks the
   command's factory for a yield, passes the process's string and answers
   its rc — data both ways, never a key. So the process holds a read-write
   page key to a vertex ``("cmd", pid, path)`` and a domain ``("runner",
   pid, path)`` — the keeper running that command — holds a read-write key
   to the same page and the factory's requestor's key (databyte 1);
4. finally the keeper's domain is removed, with every key to or from it, and
   so is the operator's console (``operator=False`` keeps it): it built the
   keeper and still holds its process table, so to the analysis it could give
   any process anything — true of whoever holds such keys, but not what a
   process was *given*.

What the view leaves out: a shared open file's offset and a pipe's consumed
bytes (tiny channels between processes that share them), and the process's
memory, which the analyses see through its address slot as before.

>>> from keykos_lab.system import KeyNIX
>>> from keykos_lab import analysis
>>> knx = KeyNIX()
>>> pid = knx.spawn("/bin/cat", ["cat"]); _ = knx.run()
>>> V = analysis_view(knx)
>>> child = knx.con.target(knx.process(pid)[0])
>>> knx.con.target(knx.keeper) in V
False
>>> sorted((d["via"], d["key_type"], d["databyte"]) for _, _, d in V.out_edges(child, data=True)
...        if d.get("via", "").startswith("fd"))       # the tty: a pipe to read, a file to write
[('fd 0', 'page', 128), ('fd 1', 'page', 0), ('fd 2', 'page', 0)]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeAlias

import networkx as nx

from keykos_lab.analysis.convert import rights_of
from keykos_lab.kernel.objects import Node, Page
from keykos_lab.programs.keynix import abi, fs, keeper
from keykos_lab.views.graph import capability_graph
from keykos_lab.views.schema import is_sensory

if TYPE_CHECKING:
    from keykos_lab.system import KeyNIX

RO = 0x80
FD_SLOT, ROOT_SLOT = 100, 200


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


def processes(G: nx.MultiDiGraph, keeper_vertex: Hashable) -> list[tuple[int, Hashable, Hashable]]:
    """``(pid, domain vertex, process-node vertex)`` of every process the keeper
    keeps (a live domain in slot 0 of a process node)."""
    ptab = register_target(G, keeper_vertex, keeper.K_PTAB)
    out: list[tuple[int, Hashable, Hashable]] = []
    for hi_slot in range(16):
        hi = slot_target(G, ptab, hi_slot) if ptab is not None else None
        if hi is None:
            continue
        for lo_slot in range(16):
            node = slot_target(G, hi, lo_slot)
            dom = None if node is None else slot_target(G, node, keeper.P_DOM)
            if dom is not None and G.nodes[dom].get("kind") == "domain":
                out.append((hi_slot * 16 + lo_slot, dom, node))
    return out


def analysis_view(
    knx: KeyNIX, G: nx.MultiDiGraph | None = None, *, operator: bool = False
) -> nx.MultiDiGraph:
    """A copy of ``G`` (default: the kernel's capability graph now) in which the
    Unix keeper is replaced, for each process, by what it does for that pid (the
    rules in the module docstring). ``G`` must be a graph of ``knx``'s kernel;
    page contents (euids, open modes, file modes) are read from the kernel's
    store, without an invocation, so the event log is not touched."""
    if G is None:
        G = capability_graph(knx.kernel)  # what knx.kernel.capability_graph() gives
    store = knx.kernel.store.objects
    kv = knx.con.target(knx.keeper)
    V = G.copy()
    table = register_target(G, kv, keeper.K_TABLE)
    raw = _page(store, table).read(0, abi.PAGE)
    for pid, dom, node in processes(G, kv):
        euid = raw[pid * 16 + 2]
        for _, v, k, d in list(V.out_edges(dom, keys=True, data=True)):
            if d.get("slot_kind") == "keeper":
                V.remove_edge(dom, v, k)
        fds = slot_target(G, node, keeper.P_FDS)
        for fd in range(abi.NFD):
            of = None if fds is None else slot_target(G, fds, fd)
            if of is not None:
                _grant_fd(V, G, store, pid, dom, fd, of)
        root = slot_target(G, node, keeper.P_ROOT)
        if root is not None:
            for n, (path, target, ktype, db) in enumerate(_open_grants(G, store, root, euid)):
                if ktype == "start":  # a command: through a runner
                    buf, runner = ("cmd", pid, path), ("runner", pid, path)
                    V.add_node(buf, kind="page", label=f"pid {pid} runs {path}")
                    V.add_node(
                        runner,
                        kind="domain",
                        label=f"keeper runs {path} for pid {pid}",
                        program="keynix-runner",
                    )
                    _add(V, dom, buf, "page", 0, ROOT_SLOT + n, path)
                    _add(V, runner, buf, "page", 0, 0, path)
                    _add(V, runner, target, ktype, db, 1, path)
                else:
                    _add(V, dom, target, ktype, db, ROOT_SLOT + n, path)
                    V.nodes[target]["label"] = path if ktype == "segment" else f"{path} (names)"
    V.remove_node(kv)
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


def _grant_fd(
    V: nx.MultiDiGraph,
    G: nx.MultiDiGraph,
    store: _Store,
    pid: int,
    dom: Hashable,
    fd: int,
    of: Hashable,
) -> None:
    obj = slot_target(G, of, keeper.OF_OBJ)
    kind, flags, _, _ = _ints(store, slot_target(G, of, keeper.OF_PAGE), 4)
    if kind == keeper.OF_FILE:
        target, ktype = obj, "segment"
    else:
        target, ktype = slot_target(G, obj, 0), "page"  # the pipe's ring page
    mode = flags & 3
    via = f"fd {fd}"
    if kind == keeper.OF_PIPE_R or (kind == keeper.OF_FILE and mode == abi.O_RDONLY):
        _add(V, dom, target, ktype, RO, FD_SLOT + fd, via)
    elif kind == keeper.OF_FILE and mode == abi.O_RDWR:
        _add(V, dom, target, ktype, 0, FD_SLOT + fd, via)
    else:  # write-only
        buf, writer = ("wr", pid, fd), ("writer", pid, fd)
        V.add_node(buf, kind="page", label=f"pid {pid} fd {fd} (write-only)")
        V.add_node(
            writer,
            kind="domain",
            label=f"keeper writes for pid {pid} fd {fd}",
            program="keynix-writer",
        )
        _add(V, dom, buf, "page", 0, FD_SLOT + fd, via)
        _add(V, writer, buf, "page", RO, 0, via)
        _add(V, writer, target, ktype, 0, 1, via)


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
            names = _page(store, meta).read(fs.NAMES_AT, fs.ENTRY * abi.FILE_PAGES)
            for i in range(abi.FILE_PAGES):
                entry = names[i * fs.ENTRY : (i + 1) * fs.ENTRY].rstrip(b"\0")
                child = slot_target(G, inode, i)
                if entry and child is not None:
                    todo.append((path + b"/" + entry, child))
        elif kind == fs.COMMAND:
            factory = slot_target(G, inode, 0)
            if factory is not None:
                yield name, factory, "start", 1
        elif not (mode & fs.PRIVILEGED and euid != 0):
            yield name, inode, "segment", RO if mode & fs.READONLY else 0


__all__ = ["analysis_view", "processes", "register_target", "slot_target"]
