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
   read-only if ``READONLY`` (the kernel refuses every process's write to it, at
   ``open`` and at each ``write``); none at all to a ``PRIVILEGED`` file, or to what is
   behind a ``PRIVILEGED`` directory, unless the process's euid is 0 — a page key to each
   directory's names page (``open`` looks names up; read-write where ``O_CREAT`` may add
   them: euid 0, or a ``PUBLIC`` directory). A process that can reach a file exec honours
   SETUID on (``READONLY`` and ``SETUID``) is given euid 0's grants: exec makes it euid
   0, and the Unix way runs the caller's code there too (``LD_PRELOAD``);
   and every descriptor its keeper holds (its fd table, ``slot`` = 100 + fd, ``via`` =
   ``"fd N"``) grants what ``S_READ``/``S_WRITE`` do with it, as its flags allow: the
   file's inode (a segment key; no writing a ``READONLY`` file) or the pipe's ring page;
   read-only for a read-only descriptor, read-write for ``O_RDWR``, and for a write-only
   one a read-write page key to a vertex ``("fd", pid, fd)`` that a domain
   ``("fd-writer", pid, fd)`` reads (a read-only key) and writes into the file or ring —
   bytes go out, nothing comes back. So an empty child with no root directory still
   gets what the descriptors its parent installed give (red team 2, rt03, rt12); and for
   a command (:mod:`.setuid`) what
   ``SYS_RUN`` does: the system domain asks the command's factory for a yield, passes
   the process's string and answers its rc — data both ways, never a key. So the
   keeper holds a read-write page key to a vertex ``("cmd", pid, path)`` and a domain
   ``("runner", pid, path)`` — the system domain running that command — holds a
   read-write key to the same page and the factory's requestor's key (databyte 1);
3. finally the system domain is removed, with every key to or from it, and so is the
   operator's console (``operator=False`` keeps it): it built the system domain and
   holds its operator facet — true of whoever holds such keys, but not what a process
   was *given*.

What the view leaves out: the operator, who writes any file (the terminal's input
pipe among them); signals (``kill`` by the same euid ends a process: the system
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
FD_SLOT = 100  #: + fd: what a descriptor grants (fd -1: a token in a key register)


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
    knx: KeyNIX,
    G: nx.MultiDiGraph | None = None,
    *,
    operator: bool = False,
    setuid_exec: bool = True,
) -> nx.MultiDiGraph:
    """A copy of ``G`` (default: the kernel's capability graph now) in which the
    system domain is replaced, for each process's keeper, by what it does for that pid
    (the rules in the module docstring). ``G`` must be a graph of ``knx``'s kernel;
    page contents (euids, file modes) are read from the kernel's store, without an
    invocation, so the event log is not touched. ``setuid_exec=False`` leaves out what
    exec of a SETUID file gives (euid 0): to ask what a process reaches by other means
    when a Unix-way setuid file is installed beside them."""
    if G is None:
        G = capability_graph(knx.kernel)  # what knx.kernel.capability_graph() gives
    store = knx.kernel.store.objects
    sv = knx.con.target(knx.system)
    V = G.copy()
    table = register_target(G, sv, server.K_TABLE)
    raw = _page(store, table).read(0, abi.PAGE)
    ptab = register_target(G, sv, server.K_PTAB)
    tokens = _open_files(G, store, register_target(G, sv, server.K_OFTAB))
    for pid, _dom, kp in processes(G, sv):
        euid = raw[pid * 16 + 2]
        hi = slot_target(G, ptab, pid // 16)
        node = None if hi is None else slot_target(G, hi, pid % 16)
        root = None if node is None else slot_target(G, node, server.P_ROOT)
        V.nodes[kp].setdefault("label", f"keeper of pid {pid}")
        if setuid_exec and root is not None and euid and _setuid_visible(G, store, root, euid):
            euid = 0  # exec of a SETUID file: euid 0 (and LD_PRELOAD runs the caller's code)
        grants = [] if root is None else list(_open_grants(G, store, root, euid))
        for n, (path, target, ktype, db) in enumerate(grants):
            if ktype == "start":  # a command: through a runner
                _relay(
                    V,
                    (kp, ROOT_SLOT + n, path),
                    (("cmd", pid, path), f"pid {pid} runs {path}", 0),
                    (("runner", pid, path), f"the system runs {path} for pid {pid}", "runner"),
                    (target, ktype, db),
                )
            else:
                _add(V, kp, target, ktype, db, ROOT_SLOT + n, path)
                V.nodes[target]["label"] = path if ktype == "segment" else f"{path} (names)"
        for fd, target, ktype, can_read, can_write in _held(G, store, kp, tokens):
            via = f"fd {fd}"
            if can_read:
                _add(V, kp, target, ktype, 0 if can_write else RO, FD_SLOT + fd, via)
            elif can_write:  # write only: through a writer that never writes back
                _relay(
                    V,
                    (kp, FD_SLOT + fd, via),
                    (("fd", pid, fd), f"what pid {pid} writes on fd {fd}", RO),
                    (("fd-writer", pid, fd), f"the system writes fd {fd} for pid {pid}", "writer"),
                    (target, ktype, 0),
                )
    V.remove_node(sv)
    if not operator and knx.con.root in V:
        V.remove_node(knx.con.root)
    return V


#: An open file's fields: (kind, flags, the inode or pipe vertex).
_OpenFile: TypeAlias = tuple[int, int, Hashable]


def _open_files(G: nx.MultiDiGraph, store: _Store, oftab: Hashable | None) -> dict:
    """Every open file of the system domain's private table, by its token's vertex (what
    a keeper's fd table holds a sense key to)."""
    out: dict[Hashable, _OpenFile] = {}
    for hi_slot in range(16):
        hi = None if oftab is None else slot_target(G, oftab, hi_slot)
        for lo_slot in range(16) if hi is not None else ():
            of = slot_target(G, hi, lo_slot)
            if of is None:
                continue
            token, page, obj = (
                slot_target(G, of, n) for n in (server.OF_TOKEN, server.OF_PAGE, server.OF_OBJ)
            )
            if token is not None and page is not None and obj is not None:
                kind, flags = _ints(store, page, 2)
                out[token] = (kind, flags, obj)
    return out


def _held(
    G: nx.MultiDiGraph, store: _Store, kp: Hashable, tokens: dict
) -> Iterator[tuple[int, Hashable, str, bool, bool]]:
    """``(fd, target, key type, reads, writes)`` for each descriptor keeper ``kp`` holds
    (its fd table, and any token in its key registers: fd -1): the file's inode (a
    segment; READONLY refuses writes at each ``write``) or the pipe's ring page, as the
    descriptor's flags allow."""
    fds = register_target(G, kp, keeper.KK_FDS)
    held = [(fd, slot_target(G, fds, fd)) for fd in range(abi.NFD)] if fds is not None else []
    held += [
        (-1, v) for _, v, d in G.out_edges(kp, data=True) if d.get("slot_kind") == "key_register"
    ]
    for fd, token in held:
        if token not in tokens:
            continue
        kind, flags, obj = tokens[token]
        if kind == server.OF_FILE:
            mode = _page(store, slot_target(G, obj, fs.META)).read(1, 1)[0]
            writes = abi.writes(flags) and not mode & fs.READONLY
            yield fd, obj, "segment", abi.reads(flags), writes
        else:
            ring = slot_target(G, obj, 0)  # pipe.RING
            if ring is not None:
                yield fd, ring, "page", kind == server.OF_PIPE_R, kind == server.OF_PIPE_W


def _setuid_visible(G: nx.MultiDiGraph, store: _Store, root: Hashable, euid: int) -> bool:
    """Whether a file exec honours SETUID on (READONLY and SETUID) is reachable."""
    honoured = fs.SETUID | fs.READONLY
    for _, target, ktype, _ in _open_grants(G, store, root, euid):
        if ktype == "segment":
            meta = slot_target(G, target, fs.META)
            if meta is not None and _page(store, meta).read(1, 1)[0] & honoured == honoured:
                return True
    return False


def _page(store: _Store, v: Hashable | None) -> Page:
    """The page vertex ``v`` is (pages are never folded: their vertex is their id)."""
    obj = store[v] if isinstance(v, int) else None
    if not isinstance(obj, Page):
        raise ValueError(f"vertex {v!r} is not a page of the kernel's store")
    return obj


def _ints(store: _Store, page: Hashable | None, n: int) -> list[int]:
    data = _page(store, page).read(0, 4 * n)
    return [int.from_bytes(data[4 * i : 4 * i + 4], "big", signed=True) for i in range(n)]


def _relay(V, holder: tuple, buf: tuple, relay: tuple, key: tuple) -> None:
    """What the system domain does for a process, as the view shows it: the keeper
    (``holder``: vertex, slot, via) writes a page (``buf``: id, label, the relay's
    databyte on it), and a relay domain (``relay``: id, label, program suffix) reads it
    and holds ``key`` (target, type, databyte): a runner of a command, or the writer of
    a write-only descriptor (it reads the page only: nothing comes back)."""
    kp, slot, via = holder
    buf_id, buf_label, buf_db = buf
    relay_id, relay_label, role = relay
    V.add_node(buf_id, kind="page", label=buf_label)
    V.add_node(relay_id, kind="domain", label=relay_label, program=f"keynix-{role}")
    _add(V, kp, buf_id, "page", 0, slot, via)
    _add(V, relay_id, buf_id, "page", buf_db, 0, via)
    target, ktype, db = key
    _add(V, relay_id, target, ktype, db, 1, via)


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
            if mode & fs.PRIVILEGED and euid != 0:
                continue  # lookup goes through it for euid 0 only
            names_db = 0 if euid == 0 or mode & fs.PUBLIC else RO  # who may add names
            yield name, meta, "page", names_db
            deep = _page(store, meta).read(2, 1)[0]  # past 14 entries: buckets (dirtree)
            buckets = [slot_target(G, inode, b) for b in range(abi.FILE_PAGES)] if deep else [inode]
            for bucket in (b for b in buckets if b is not None):
                bmeta = slot_target(G, bucket, fs.META)
                if bucket != inode:
                    yield name, bmeta, "page", names_db
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
