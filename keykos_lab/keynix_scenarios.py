"""KeyNIX scenarios: the three ways to make a process, measured side by side.

>>> df = process_creation()
>>> list(df.index)
['fork', 'spawn', 'empty child']
>>> bool(df.loc["fork", "reaches_secret"]), bool(df.loc["empty child", "reaches_secret"])
(True, False)
"""

from __future__ import annotations

import pandas as pd

from .lab import Kernel
from .programs.keynix import KeyNIX
from .programs.keynix.keeper import P_FDS, P_ROOT

SECRET = b"SECRET: the launch code is 0000\n"
PRIMITIVES = {"fork": "fork", "spawn": "spawn", "empty child": "empty"}
_WRITES = {"write", "store"}


_FOLLOW = {"node", "fetch", "sense", "segment", "domain"}


def _complex_reach(G, child: int, node: int) -> dict:
    """What a process *complex* reaches: the keys the child's domain holds (not
    its brand, which only its DC can use, §5.2) plus the Unix state its keeper
    keeps for it — the fd table and root directory of its process node — closed
    over node, fetch, sense, segment and domain keys and never through a start
    key (the rule of :func:`keykos_lab.scenarios.reachable`). Returns
    ``{object: writable}``.

    Not :func:`keykos_lab.analysis.authority`: that lets a domain act with
    everything its keeper has (the keeper is reached by a start key, a channel),
    which for a Unix process is the whole system, whatever it was given.
    """
    first = [(t, d) for _, t, d in G.out_edges(child, data=True) if d["slot_kind"] != "brand"]
    first += [(t, d) for _, t, d in G.out_edges(node, data=True) if d["slot"] in (P_FDS, P_ROOT)]
    reach: dict = {}
    todo, seen = list(first), set()
    while todo:
        target, d = todo.pop()
        writable = bool(set(d["rights"]) & _WRITES) and not d["sensory"]
        reach[target] = reach.get(target, False) or writable
        if d["key_type"] in _FOLLOW and target not in seen:
            seen.add(target)
            todo.extend((t, e) for _, t, e in G.out_edges(target, data=True)
                        if e["slot_kind"] != "brand")
    return reach


def measure(primitive: str, kernel: Kernel | None = None) -> dict:
    """Run the workload with one primitive and measure the child (one table row)."""
    knx = KeyNIX(kernel)
    k, con = knx.kernel, knx.con
    knx.write_file("/home/secret", SECRET)
    before = len(k.log)
    tick0 = k.tick
    parent = knx.spawn("/bin/probe", ["probe", PRIMITIVES[primitive], "/home/secret"])
    knx.run()                                  # the child waits for a line on the tty
    ev = k.events().iloc[before:]
    objects = k.objects()
    created = ev[ev.event == "create"].target.map(objects.set_index("id").kind
                                                  if "id" in objects else objects.kind)
    child_pid = parent + 1
    dkey, node = knx.process(child_pid)
    G = k.capability_graph()
    child, pnode = con.target(dkey), con.target(node)
    reached = _complex_reach(G, child, pnode)
    secret_vertices = _secret_vertices(knx)
    reach = set(reached)
    writable = {t for t, w in reached.items() if w}
    held = [d for _, _, d in G.out_edges(child, data=True) if d["key_type"] != "data"]
    held += [d for _, _, d in G.out_edges(pnode, data=True) if d["key_type"] != "data"]
    fds = [v for _, v, d in G.out_edges(pnode, data=True) if d["slot"] == 1]
    held += [d for f in fds for _, _, d in G.out_edges(f, data=True) if d["key_type"] != "data"]
    memory = _child_memory(knx, node)
    for _ in range(2):                         # the fork child waits once more, after exec
        if knx.status(child_pid)[0] != "running":
            break
        knx.type("go\n")
        knx.run()
    report = knx.tty().decode()
    return {
        "primitive": primitive,
        "keys_held": len(held),
        "objects_reachable": len(reach),
        "writable_reachable": len(writable),
        "reaches_secret": bool(reach & secret_vertices) or SECRET in memory,
        "secret_by_keys": bool(reach & secret_vertices),
        "secret_in_memory": SECRET in memory,
        "invocations": int((ev.event == "invoke").sum()),
        "ticks": int(k.tick - tick0),
        "pages_bought": int((created == "page").sum()),
        "nodes_bought": int((created == "node").sum()),
        "child_report": report.strip().rsplit("\n", 1)[-1],
        "parent_status": knx.status(parent)[1],
    }


def _secret_vertices(knx: KeyNIX) -> set:
    """The objects holding the secret file: its inode and its data pages."""
    G = knx.kernel.capability_graph()
    con = knx.con
    found = set()
    for v, d in G.nodes(data=True):
        if d.get("kind") == "page":
            page = con.kernel.store.objects[v]
            if page.read(0, len(SECRET)) == SECRET:
                found.add(v)
    return found


def _child_memory(knx: KeyNIX, node) -> bytes:
    """The bytes of the child's writable pages, read through its process node."""
    from .kernel import oc
    from .programs.keynix import abi
    con = knx.con
    space = con.call(node, oc.Node.Fetch + 3).keys[0]
    out = []
    for n in range(1, abi.SPACE_PAGES):
        page = con.call(space, oc.Node.Fetch + n).keys[0]
        out.append(con.call(page, oc.Page.ReadData, data=(abi.PAGE).to_bytes(4, "big")).data)
    return b"".join(out)


def process_creation() -> pd.DataFrame:
    """The same workload with fork, spawn and the empty child; one row each.

    The workload (``/bin/probe``): a parent opens ``/home/secret`` (fd 3) and
    reads it into its data page — a secret it holds but does not mean to pass
    — then makes one child running ``secretreader`` on the terminal, which
    waits for a line; the child is measured while it waits, then let go.

    Columns (index: the primitive):

    ``keys_held``
        non-data keys in the child's domain (root slots and key registers)
        plus those the keeper keeps for it (process node, fd table).
    ``objects_reachable`` / ``writable_reachable``
        distinct objects the child's *process complex* reaches — its domain's
        keys plus its fd table and root directory, closed over node, fetch,
        sense, segment and domain keys, not through start keys — all / through
        a key with write or store rights.
    ``reaches_secret``
        ``secret_by_keys`` (a page holding the secret is reachable) or
        ``secret_in_memory`` (the secret's bytes are in the child's pages).
    ``invocations`` / ``ticks``
        kernel invocations (``invoke`` events) and logical ticks from starting
        the parent to quiescence with the child waiting (the parent's set-up,
        the primitive, the child's first read).
    ``pages_bought`` / ``nodes_bought``
        ``create`` events in that span, by kind.
    ``child_report``
        the ``secretreader``'s own line: the routes by which it *did* read the
        secret (``fd3``, ``memory``, ``open``) after it was let go.
    ``parent_status``
        the parent's exit status (the child's, passed through ``wait``).
    """
    rows = [measure(p) for p in PRIMITIVES]
    return pd.DataFrame(rows).set_index("primitive")
