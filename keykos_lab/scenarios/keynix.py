"""KeyNIX scenarios: the three ways to make a process, measured side by side.

>>> df = process_creation()
>>> list(df.index)
['fork', 'cow fork', 'spawn', 'empty child']
>>> int(df.loc["fork", "pages_copied"]), int(df.loc["cow fork", "pages_copied"])
(4, 1)
>>> bool(df.loc["fork", "secret_by_keys"]), bool(df.loc["empty child", "secret_by_keys"])
(True, False)
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from keykos_lab import analysis, system
from keykos_lab.analysis.keynix import analysis_view, processes, register_target, slot_target
from keykos_lab.kernel import core, oc
from keykos_lab.programs.keynix import abi, setuid
from keykos_lab.programs.keynix.keeper import KK_MEM
from keykos_lab.system.keynix import KeyNIX, install_setuid
from keykos_lab.views.lab import Kernel

SECRET = b"SECRET: the launch code is 0000\n"
PRIMITIVES = {"fork": "fork", "cow fork": "fork", "spawn": "spawn", "empty child": "empty"}
#: How each row's KeyNIX forks (``KeyNIX(fork=...)``): "fork" is the plain copy.
FORK_MODE = {"cow fork": "cow"}
_WRITES = {"write", "store"}
#: The call that begins each primitive in the parent (its trap's order is 0x100 + number).
FIRST_CALL = {
    "fork": abi.SYS_FORK,
    "cow fork": abi.SYS_FORK,
    "spawn": abi.SYS_SPAWN,
    "empty child": abi.SYS_CREATE,
}


def primitive_span(
    events: pd.DataFrame, parent: int, child: int, primitive: str
) -> tuple[int, int]:
    """``(first, last)`` seq of the primitive alone: from the parent's trap that
    begins it (``fork``, ``spawn`` or ``create``) to the kernel delivering the
    child's first message — the moment the child runs (rows ``first..last``).

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"seq": [0, 1, 2, 3],
    ...                    "event": ["keeper", "invoke", "deliver", "invoke"],
    ...                    "actor": [5, 9, 7, 7], "target": [9, 9, 7, 9],
    ...                    "order": [0x100 + abi.SYS_FORK, 0, 1, 0]})
    >>> primitive_span(ev, parent=5, child=7, primitive="fork")
    (0, 2)
    """
    from keykos_lab.kernel.oc import Trap

    trap = events[
        (events.event == "keeper")
        & (events.actor == parent)
        & (events.order == Trap.SVC + FIRST_CALL[primitive])
    ]
    born = events[(events.event == "deliver") & (events.target == child)]
    if trap.empty or born.empty:
        raise ValueError(f"no {primitive} from {parent} to a running {child} in these events")
    first = int(trap.seq.iloc[0])
    return first, int(born[born.seq > first].seq.iloc[0])


def child_authority(knx: KeyNIX, child: int, V=None) -> dict:
    """The child's authority on the analysis view (:func:`.analysis.keynix.analysis_view`):
    ``keys`` (rows of :func:`analysis.authority`, keys only: the descriptors it can come to
    hold, not the pages its own address space maps), ``objects`` (distinct targets),
    ``writable`` (targets of a key with write or store rights), ``secret_by_keys``
    (a secret page or the secret's inode among the targets) and
    ``secret_flows`` (:func:`analysis.can_flow` from a secret page to the child).
    """
    V = analysis_view(knx) if V is None else V
    a = analysis.authority(V, child, memory=False)
    targets = set(a.target)
    writable = {t for t, r in zip(a.target, a.rights, strict=True) if set(r) & _WRITES}
    secret = _secret_vertices(knx, V)
    flows = any(
        analysis.can_flow(V, page, child) for page in secret if V.nodes[page].get("kind") == "page"
    )
    return {
        "keys": len(a),
        "objects": len(targets),
        "writable": len(writable),
        "secret_by_keys": bool(targets & secret),
        "secret_flows": flows,
    }


def measure(primitive: str, kernel: Kernel | None = None) -> dict:
    """Run the workload with one primitive and measure the child (one table row)."""
    knx = KeyNIX(kernel, fork=FORK_MODE.get(primitive, "copy"))
    k = knx.kernel
    knx.write_file("/home/secret", SECRET)
    before = len(k.log)
    tick0 = k.tick
    parent = knx.spawn("/bin/probe", ["probe", PRIMITIVES[primitive], "/home/secret"])
    knx.run()  # the child waits for a line on the tty
    ev = k.events().iloc[before:]
    kinds = ev[ev.event == "create"].target.map(_kinds(k))
    G = k.capability_graph()
    procs = {pid: (dom, kp) for pid, dom, kp in processes(G, knx.con.target(knx.system))}
    child_pid = parent + 1
    child, pnode = procs[child_pid]
    first, last = primitive_span(ev, procs[parent][0], child, primitive)
    span = ev[(ev.seq >= first) & (ev.seq <= last)]
    span_kinds = span[span.event == "create"].target.map(_kinds(k))
    auth = child_authority(knx, child, analysis_view(knx, G))
    memory = _child_memory(knx, G, pnode)
    # Who copies pages of the parent's memory: the child's keeper in a plain fork (the
    # whole writable space), the virtual copy segments (on first writes) in a cow fork.
    banks = {d for d, ds in k.domains.items() if ds.program == "spacebank"}
    copiers = {d for d, ds in k.domains.items() if ds.program == "vcs"}
    copiers |= {pnode} if primitive == "fork" else set()
    for _ in range(2):  # the fork child waits once more, after exec
        if knx.status(child_pid)[0] != "running":
            break
        knx.type("go\n")
        knx.run()
    report = knx.tty().decode()
    whole = k.events().iloc[before:]  # to the child's end: its writes after it was let go
    copied = _pages_copied(span if primitive == "fork" else whole, copiers, banks)
    return {
        "primitive": primitive,
        "keys": auth["keys"],
        "objects_reachable": auth["objects"],
        "writable_reachable": auth["writable"],
        "reaches_secret": auth["secret_by_keys"] or auth["secret_flows"] or SECRET in memory,
        "secret_by_keys": auth["secret_by_keys"],
        "secret_flows": auth["secret_flows"],
        "secret_in_memory": SECRET in memory,
        "prim_invocations": int((span.event == "invoke").sum()),
        "prim_ticks": int(span.tick.iloc[-1] - span.tick.iloc[0]),
        "prim_pages": int((span_kinds == "page").sum()),
        "prim_nodes": int((span_kinds == "node").sum()),
        "pages_copied": copied,
        "invocations": int((ev.event == "invoke").sum()),
        "ticks": int(k.tick - tick0),
        "pages_bought": int((kinds == "page").sum()),
        "nodes_bought": int((kinds == "node").sum()),
        "child_report": report.strip().rsplit("\n", 1)[-1],
        "parent_status": knx.status(parent)[1],
    }


def _pages_copied(ev: pd.DataFrame, buyers: set, banks: set) -> int:
    """Pages (``create`` rows) in ``ev`` bought by one of ``buyers``: whoever called the
    bank, through the ``banks`` (a sub-bank calls its parent)."""
    caller: dict = {}
    n = 0
    for event, actor, target, kt in zip(ev.event, ev.actor, ev.target, ev.key_type, strict=True):
        if event == "invoke" and actor != target and kt != "resume":
            caller[target] = caller.get(actor, actor) if actor in banks else actor
        elif event == "create" and kt == "page":
            n += caller.get(actor) in buyers
    return n


def _kinds(k: Kernel) -> pd.Series:
    objects = k.objects()
    return objects.set_index("id").kind if "id" in objects else objects.kind


def _secret_vertices(knx: KeyNIX, G) -> set:
    """The objects holding the secret file: its data pages and the inodes (or
    any node) mapping them."""
    store = knx.kernel.store.objects
    pages = {
        v
        for v, d in G.nodes(data=True)
        if d.get("kind") == "page"
        and isinstance(v, int)
        and store[v].read(0, len(SECRET)) == SECRET
    }
    return pages | {
        u for u, v in G.edges() if v in pages and G.nodes[u].get("kind") in ("node", "segment")
    }


def _child_memory(knx: KeyNIX, G, keeper) -> bytes:
    """The bytes of the child's writable pages, read from the store (its keeper holds
    a node key to its address space)."""
    store = knx.kernel.store.objects
    space = register_target(G, keeper, KK_MEM)
    if space is None:
        return b""
    pages = [slot_target(G, space, n) for n in range(1, abi.SPACE_PAGES)]
    return b"".join(store[p].read(0, abi.PAGE) for p in pages if p is not None)


def process_creation() -> pd.DataFrame:
    """The same workload with fork (a plain copy), a copy-on-write fork, spawn and the
    empty child; one row each.

    The workload (``/bin/probe``): a parent opens ``/home/secret`` (fd 3) and
    reads it into its data page — a secret it holds but does not mean to pass
    — then makes one child running ``secretreader`` on the terminal, which
    waits for a line; the child is measured while it waits, then let go.

    Columns (index: the primitive). *Authority* — the child's, measured by
    the analyses on the analysis view (:func:`keykos_lab.analysis.keynix.analysis_view`: the Unix
    keeper replaced by what it does for the child's pid), while it waits:

    ``keys``
        rows of :func:`analysis.authority`: the keys the child can come to hold.
    ``objects_reachable`` / ``writable_reachable``
        distinct objects those keys designate / through a key with write or
        store rights (a write-only descriptor counts as its request buffer).
    ``secret_by_keys``
        a page holding the secret, or a node mapping one (the file's inode),
        is among those objects.
    ``secret_flows``
        :func:`analysis.can_flow` from some page holding the secret (the
        file's, or a copy in a memory) to the child.
    ``secret_in_memory``
        the secret's bytes are in the child's own writable pages.
    ``reaches_secret``
        any of the three.

    *Cost of the primitive alone* — from the parent's trap that begins it
    (``fork``; ``spawn``; ``create``, then ``install_fd`` ×3,
    ``install_program``, ``start``) to the kernel delivering the child's first
    message (:func:`primitive_span`):

    ``prim_invocations`` / ``prim_ticks``
        kernel invocations (``invoke`` rows) and logical ticks in that span.
    ``prim_pages`` / ``prim_nodes``
        pages and nodes bought (``create`` rows) in that span.
    ``pages_copied``
        pages bought to hold a copy of the parent's memory: the child's whole writable
        space in a plain ``fork`` (in the span), the pages the virtual copy segments copy
        on a first write in a ``cow fork`` (over the whole run, the child let go: its
        ``read`` into its buffer page is its one write before ``exec``); 0 otherwise.

    *Cost of the whole run* — from starting the parent to quiescence with the
    child waiting (the parent's set-up, the primitive, the child's first read):

    ``invocations`` / ``ticks`` / ``pages_bought`` / ``nodes_bought``
        the same counts over the whole run.

    *What happened*:

    ``child_report``
        the ``secretreader``'s own line: the routes by which it *did* read the
        secret (``fd3``, ``memory``, ``open``) after it was let go.
    ``parent_status``
        the parent's exit status (the child's, passed through ``wait``).
    """
    rows = [measure(p) for p in PRIMITIVES]
    return pd.DataFrame(rows).set_index("primitive")


# ------------------------------------------------------------------ setuid
ATTACKS = [
    "open /etc/shadow directly",
    "LD_PRELOAD=steal",
    "CHECKPW_DEBUG=1",
    "reach its memory or domain",
    "a crafted bank",
    "a crafted key (W)",
    "legitimate use",
]


def _run(knx: KeyNIX, argv: list, env: dict | None = None) -> tuple[int, str]:
    """Spawn the intruder, run to quiescence: ``(pid, what it wrote)``."""
    before = len(knx.tty())
    pid = knx.spawn("/bin/intruder", argv, env=env)
    knx.run()
    return pid, knx.tty()[before:].decode()


def _midyield(knx: KeyNIX, argv: list) -> dict:
    """Run ``intruder cap`` step by step until the privileged yield runs its
    program (the factory has built it, docs/primer.md#primer-factory-yields step 8), and take the
    capability
    graph then: who holds keys to the
    yield's domain, its memory and the shadow file, and what the requestor's
    authority reaches on the analysis view."""
    k, con = knx.kernel, knx.con
    pid = knx.spawn("/bin/intruder", argv)
    y = None
    # One op a step, so the yield is caught running however few ops it takes
    # (scheduling changes, not what runs: the same messages in the same order).
    quantum, core.QUANTUM_OPS = core.QUANTUM_OPS, 1
    try:
        while y is None and k.step():
            y = next(
                (
                    r
                    for r, ds in k.domains.items()
                    if ds.program == setuid.YIELD_PROGRAM and ds.proc is not None
                ),
                None,
            )
    finally:
        core.QUANTUM_OPS = quantum
    G = k.capability_graph()
    procs = {p: (dom, kp) for p, dom, kp in processes(G, con.target(knx.system))}
    requestor = procs[pid][0]
    memory = {v for _, v, d in G.out_edges(y, data=True) if d["slot_kind"] == "address"}
    memory |= {t for m in list(memory) for t in nx.descendants(G, m)}
    shadow = _shadow_vertices(knx, G)
    targets = {"the yield's domain": {y}, "its memory": memory, "the shadow file": shadow}
    holders = {
        what: sorted({u for u, v in G.edges() if v in vs and u not in vs}, key=str)
        for what, vs in targets.items()
    }
    # What the command gives: the Unix way's /sbin/checkpw beside it makes any process
    # euid 0 (LD_PRELOAD), which the view's default counts (setuid_exec).
    V = analysis_view(knx, G, setuid_exec=False)
    a = analysis.authority(V, requestor)
    reached = set(a.target)
    pages = [v for v in shadow if G.nodes[v].get("kind") == "page"]
    knx.run()
    return {
        "graph": G,
        "view": V,
        "requestor": requestor,
        "yield": y,
        "targets": targets,
        "holders": holders,
        "authority": a,
        "requestor reaches": {what: bool(vs & reached) for what, vs in targets.items()},
        "shadow flows to requestor": any(analysis.can_flow(V, p, requestor) for p in pages),
        "requestor holds": {
            what: any(v in vs for _, v in G.out_edges(requestor)) for what, vs in targets.items()
        },
    }


def _shadow_vertices(knx: KeyNIX, G) -> set:
    store = knx.kernel.store.objects
    pages = {
        v
        for v, d in G.nodes(data=True)
        if d.get("kind") == "page"
        and isinstance(v, int)
        and store[v].read(0, len(setuid.PASSWORD)) == setuid.PASSWORD
    }
    return pages | {
        u for u, v in G.edges() if v in pages and G.nodes[u].get("kind") in ("node", "segment")
    }


def setuid_contrast() -> dict:
    """The same password checker built the Unix way (a ``SETUID`` file run by
    ``exec``) and the capability way (a factory yield behind a command inode,
    run by ``SYS_RUN``), and the same attacks on both (:mod:`keynix.setuid`).

    Returns ``table`` (index: the attack; columns ``unix_way`` and
    ``capability_way``: what the intruder saw, ``unix_leaks`` /
    ``capability_leaks``: the password appeared), the two systems (``unix``,
    ``capability``, each a :class:`KeyNIX`) and ``midyield``: the capability
    graph taken while the yield runs (``holders`` of keys to its domain, its
    memory and the shadow file; whether the requestor ``holds`` any of them
    or, by :func:`analysis.authority` on the analysis view, ``reaches`` one;
    ``shadow flows to requestor``: :func:`analysis.can_flow` says information
    can still come back — the rc, the one bit per question the checker exists
    to give).

    >>> r = setuid_contrast()
    >>> r["table"][["unix_leaks", "capability_leaks"]].sum().to_dict()
    {'unix_leaks': 2, 'capability_leaks': 0}
    """
    pw = setuid.PASSWORD.decode()
    rows: dict = {a: {} for a in ATTACKS}
    unix = KeyNIX()
    install_setuid(unix)
    cap = KeyNIX()
    parts = install_setuid(cap)
    for knx, col, how in ((unix, "unix_way", "unix"), (cap, "capability_way", "cap")):
        rows["open /etc/shadow directly"][col] = _run(knx, ["intruder", "open"])[1]
        rows["LD_PRELOAD=steal"][col] = _run(
            knx, ["intruder", how, "guess"], {"LD_PRELOAD": "steal"}
        )[1]
        rows["CHECKPW_DEBUG=1"][col] = _run(
            knx, ["intruder", how, "guess"], {"CHECKPW_DEBUG": "1"}
        )[1]
        rows["legitimate use"][col] = _run(knx, ["intruder", how, pw])[1]
    pid, out = _run(unix, ["intruder", "unix", "guess"])
    rows["reach its memory or domain"]["unix_way"] = (
        f"checkpw ran as pid {pid}, the intruder's own process: its memory and domain are "
        f"the intruder's (exit status {unix.status(pid)[1]})"
    )
    mid = _midyield(cap, ["intruder", "cap", "guess"])
    rows["reach its memory or domain"]["capability_way"] = "holders while it runs: " + "; ".join(
        f"{w}: {len(h)} (requestor: {'yes' if mid['requestor holds'][w] else 'no'})"
        for w, h in mid["holders"].items()
    )
    con = cap.con
    fake = system.start_key(con, system.build_domain(con, "echo"))
    made = sum(ds.program == setuid.YIELD_PROGRAM for ds in cap.kernel.domains.values())
    rc = con.call(parts.factory.requestor, 0, fake, con["meter"], data=b"guess").rc
    after = sum(ds.program == setuid.YIELD_PROGRAM for ds in cap.kernel.domains.values())
    rows["a crafted bank"]["capability_way"] = f"rc={rc}, yields built: {after - made}"
    rows["a crafted bank"]["unix_way"] = "— (Unix takes no keys)"
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    rc = con.call(parts.factory.requestor, 0, con["bank"], con["meter"], page, data=b"guess").rc
    data = con.call(page, oc.Page.ReadData, data=(64).to_bytes(4, "big")).data
    rows["a crafted key (W)"]["capability_way"] = (
        f"rc={rc}, the page passed: {'untouched' if not data.strip(bytes(1)) else repr(data)}"
    )
    rows["a crafted key (W)"]["unix_way"] = "— (Unix takes no keys)"
    table = pd.DataFrame.from_dict(rows, orient="index")[["unix_way", "capability_way"]]
    table.index.name = "attack"
    table["unix_leaks"] = [pw in s and a != "legitimate use" for a, s in table.unix_way.items()]
    table["capability_leaks"] = [
        pw in s and a != "legitimate use" for a, s in table.capability_way.items()
    ]
    return {"table": table, "unix": unix, "capability": cap, "midyield": mid, "parts": parts}
