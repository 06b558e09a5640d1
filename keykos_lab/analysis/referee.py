"""The referee: what a domain really obtains and where its information really goes, by
running the kernel (docs/analyses.md#analyses-explore, docs/analyses.md#analyses-referee).

The brute-force side of the cross-check of docs/analyses.md#analyses-rules. On a *copy* of a
quiescent kernel (:meth:`Kernel.copy`: the original is never touched) the referee acts as
the subject and as every domain it reaches, and records two things: every key obtained
(:func:`explore`'s rows) and every vertex the subject's information reached (its
``flows``). :func:`soundness` compares both with the static :func:`.authority` and
:func:`.flow_graph`; :func:`exhaustive` runs every interleaving of a few state-changing
steps on small systems, and :func:`precision` tabulates static against exact answers.

**Invocations.** The copy's console stands in for the subject: it holds the keys in the
subject's key registers (for the console itself, its key ring) and invokes them for real.
Every key a reply brings is obtained; round ``n`` tries every key obtained by round
``n - 1`` with a vocabulary of orders by key type (:data:`ORDERS`, :data:`GATE_ORDERS`):

* node keys: Fetch 0–15 and the six Make…Key orders; fetch and sense keys: Fetch 0–15;
  page keys: MakeReadOnlyKey; segment and frontend keys: orders 0–31, 64 and KT (a black
  segment key's MakeReadOnly; a red one's every order goes to whatever its keeper slot
  holds — the front-end pattern — so these read through a domain or sense key there, and
  never swap), and, unless no-call or sized, orders 0 and 1 passing each obtained key first
  and third;
* domain keys: GetKey 0–15, Get 1–3 (meter, keeper, memory), MakeStart, and
  MakeFaultKey and MakeReturnKey — after the last round, each in a branch (below), since
  they leave the domain waiting;
* start keys (a call to a program): orders 0, 1 and KT, with no key and with each
  obtained key, and the marker (below) as the string; a system program gets the orders its
  model covers instead: a bank CreateNode and CreatePage, a DC CreateDomain, Identify… and
  Weaken, a DCC, FCC, FC or KIDC Create with the first bank and meter obtained, a factory's
  requestor's key those with each obtained key, its builder's key MakeRequestor, MakeCopy,
  GetDC, GetMiscellaneous, and AssignKT and AssignOrdinal with the marker, its fetcher Fetch
  0–18 …;
* the domain tool: MakeDomainKey with each node key obtained, IdentifyStart,
  IdentifyResume and IdentifyDomain with each start, resume or domain key and DK(0)
  as the brand; node-range and page-range keys: Create.

**Actors.** Every freely acting domain whose start key or domain key the referee comes to
hold — and the subject itself — is an *actor*: the referee acts as it too. Its key
registers are obtained at the end of each round, and so is every key a message brings it.
When the referee makes an actor do something only the domain itself can do, the kernel runs a
*probe* in that domain instead of its program (the copy's class, :class:`_Instrumented`,
starts a probe when the referee has a script for the domain); the probe yields the ops of
the script and is resumed with their results, like any program:

* **memory**: a write of the marker to every page its address space maps writably (on the
  copy itself), and, in a branch (below), an access at an address that faults into each red
  segment keeper its address space names — unmapped, or a write through a read-only key;
* **traps**: ``dom.trap`` with a system-call code, in a branch, when its keeper slot holds a
  gate key;
* **meters**: in a branch, it spins on its own meter chain until a meter with a keeper runs
  dry (when that meter holds at most :data:`SPIN_LIMIT` ticks, or the referee holds a node key
  to it and empties it first with Node WriteData);
* **keeper calls**: an actor the kernel calls as a keeper (a trap, a segment fault, a dry
  meter) runs a probe too: every key the call brings — a domain key or a node key, and the
  fault or restart key — is obtained, and the probe ends without resuming the faulter, so
  the resume key is the referee's to use;
* **restarts**: every resume key obtained — fault and restart keys from keeper calls, the
  keys MakeFaultKey and MakeReturnKey make — is invoked in a branch of its own: a return key
  with the marker, a restart key with order 0, a fault key with order 0 and, when the domain
  has a keeper, with a trap code (which sends the domain back to its keeper).

A *branch* is a copy of the current copy: what blocks a domain (a fault nobody resolves, a
one-shot resume key) is done there, and the keys it brings that still designate the same
objects in the main copy come back (fresh objects and resume keys stay in the branch).
Resume keys obtained in a branch are tried in sub-branches, one level down. A probe waiting
for its keeper is copied with the rest (a fresh probe resumes where it stopped); a program
waiting in the middle of its handler cannot be copied, so in the copy it is stopped.

**Flows.** The subject's information is a marker, :data:`MARK`: the string of every message
to a freely acting program, the bytes written through page keys and an actor's memory, the
registers written with PutRegs through domain keys. A flow is recorded to every vertex where
the marker is found after a round or a branch (a page, a node slot, a domain's registers;
for a factory's AssignKT and AssignOrdinal, the four bytes a 32-bit register keeps),
to every freely acting domain (or KID) that received a message carrying it, or any message
whose sender was tainted — the console, an actor, a domain that received the marker; a
keeper call is sent by the domain that faulted — and to every actor. A message to a system
program makes no sink: what its counters reveal is a covert channel, outside the analyses'
scope (the marker stored in its registers, as AssignKT does, is a flow all the same).

Limits, by design. Nothing is destroyed, severed or revoked directly (no KT+4, no
bank Destroy… or DestroyBankAndSpace, no DC DestroyDomain or Sever…, no FC
Disable… or Recall…; :func:`explore` refuses such orders) — but a free program
does what it likes with what it is sent (a ``proxy`` in front of a bank passes
order 1, DestroyNode, on), on the copy. No key is stored: no node or domain
Swap…, no factory Install… (exploration collects keys, it does not rearrange the
system, so what the subject could gain by storing a key where another domain
will use it is not explored; programs that store what they are sent, like
``holder``, still do). Data is written: pages, registers, a meter's counter. Make…Key is
sent no string, so new keys have databyte 0 (the caller could choose any); Identify… is
tried with DK(0) as the brand only. Meter keys, Discrim, DKC, Returner and KeyBits are not
invoked (they return nothing new). Start keys to the subject itself are not invoked (a
self-call traps), keys to the console never are, nor are start keys to a domain that is not
available (the call would stall). Each (key, order, keys passed) is tried once, so a slot is
not read again after a program writes it. Calls and acts are bounded by ``max_calls`` and
each by :data:`STEP_LIMIT` scheduler steps (an act by :data:`ACT_STEPS`); ``Deadlock``,
``StepLimitExceeded`` and ``KernelError`` are counted, the console recovers and the
exploration goes on.

Targets are capability-graph vertices of the original system: folded nodes map
to their domain, keys designating the console map to ``subject`` (the console
stands in for it), and an object made during the exploration is named as the
static analysis names its summaries, ``("new", creator, subject)`` — or
``("yield", factory, subject)`` for a yield — where the creator is the creating
program invoked (bank, DC, DCC, FCC, FC, a factory's copy key, KIDC, a range
key), or, when a free program relayed the call, the DC whose brand the new
domain carries or the bank that sold the node or page.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> node = con.call(con["bank"], kl.oc.SB.CreateNode).keys[0]
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> _ = con.call(node, kl.oc.Node.Swap + 2, page)
>>> sense = con.call(node, kl.oc.Node.MakeSenseKey).keys[0]
>>> reader = kl.build_domain(con, "echo", keys={0: sense})
>>> found = explore(k, con.target(reader), depth=1)
>>> found[["key_type", "databyte", "round", "how"]].to_dict("records")[1]
{'key_type': 'page', 'databyte': 128, 'round': 1, 'how': 'sense Fetch+2 on node #...'}
>>> soundness(k, con.target(reader))["missing"]
[]
"""

from __future__ import annotations

import copy
import struct
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Generator, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

import networkx as nx
import pandas as pd

from keykos_lab.analysis.authority import closure_for
from keykos_lab.analysis.behaviour import declared, without
from keykos_lab.analysis.flow import flow_graph
from keykos_lab.analysis.model import SYSTEM_PROGRAMS, USABLE, behaviour
from keykos_lab.analysis.summaries import MAX_SUMMARY_DEPTH, _depth
from keykos_lab.analysis.watch import Watch, strings
from keykos_lab.kernel.console import KeyHandle
from keykos_lab.kernel.core import Kernel
from keykos_lab.kernel.domains import (
    ADDRESS,
    AVAILABLE,
    KEEPER,
    RUNNING,
    DomainState,
)
from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import EV_CREATE
from keykos_lab.kernel.keys import (
    DATA,
    DK0,
    DOMAIN,
    FAULT,
    FRONTEND,
    HOOK,
    LSS_MASK,
    METER,
    NOCALL,
    NODE,
    NODE_RANGE,
    OBJECT_TYPES,
    PAGE,
    PAGE_RANGE,
    RESUME,
    RETURN,
    RO,
    SEGMENT,
    START,
    Key,
)
from keykos_lab.kernel.meters import BORROW_TICKS, METER_COUNTER, METER_KEEPER
from keykos_lab.kernel.objects import PAGE_SIZE, Node, Page
from keykos_lab.kernel.oc import KT, Trap
from keykos_lab.kernel.oc import Domain as DomainOC
from keykos_lab.kernel.oc import Node as NodeOC
from keykos_lab.kernel.oc import Page as PageOC
from keykos_lab.kernel.process import OP_CALL, OP_READ, OP_TRAP, OP_WRITE, Message
from keykos_lab.kernel.segments import Fault, translate
from keykos_lab.kernel.snapshot import Snapshot, misc_vertex
from keykos_lab.programs.factories.factory import (
    BUILDER,
    COPY,
    FETCHER,
    REQUESTOR,
    ROLE,
    ROLE_FACTORY,
    ROLE_FC,
)
from keykos_lab.views.graph import capability_graph

if TYPE_CHECKING:
    from keykos_lab.views.lab import Kernel as LabKernel

__all__ = [
    "ACTS",
    "BENCHMARK",
    "GATE_ORDERS",
    "MARK",
    "ORDERS",
    "STEP_LIMIT",
    "Soundness",
    "compare",
    "exhaustive",
    "explore",
    "precision",
    "soundness",
]

#: Scheduler steps one exploring CALL may take before it counts as hung.
STEP_LIMIT = 1000
#: Scheduler steps an act (a probe's script, a resume) may take: a keeper that keeps
#: restarting a domain that faults again is cut off here.
ACT_STEPS = 100
#: Ticks a probe spins to run its meter dry (a meter with more is emptied first, if the
#: referee holds a node key to it).
SPIN_LIMIT = 1000
#: The subject's information: eight bytes no system writes by itself.
MARK = b"\xd1\x5c\x10\x5e\xc0\xde\x16\x0a"
_MARK32 = int.from_bytes(MARK[:4], "big")
#: Builder's-key orders that store a 32-bit value the factory shows requestors (KT) and
#: yields (their ordinal): sent the marker's first four bytes.
_ASSIGN = frozenset({64, 65})
#: Where in a page the marker is written (clear of program images at offset 0).
MARK_OFFSET = PAGE_SIZE - 16
#: The system-call code an actor traps with (``dom.trap``).
TRAP_CODE = 0x5EC
#: What :func:`explore` drives besides invocations (all by default).
ACTS = ("memory", "trap", "meter", "resume", "write")
DESTROY = KT + 4
COLUMNS = ["target", "key_type", "databyte", "round", "how"]
FLOW_COLUMNS = ["sink", "round", "how"]

#: Orders tried per key type (a start key: see GATE_ORDERS), and those allowed at all.
ORDERS: dict[str, tuple[int, ...]] = {
    "node": (*range(16), *range(32, 38)),
    "fetch": tuple(range(16)),
    "sense": tuple(range(16)),
    "page": (0,),
    "segment": (*range(32), 64, KT),
    "frontend": (*range(32), 64, KT),
    "domain": (*range(16, 32), 1, 2, 3, 64, 66, 73),
    "domtool": (0, 1, 2, 3),
    "node_range": (0,),
    "page_range": (0,),
}
_SAFE: dict[str, frozenset[int]] = {
    "node": frozenset({*range(16), *range(32, 39), 40, KT}),
    "fetch": frozenset({*range(16), 40, KT}),
    "sense": frozenset({*range(16), 40, KT}),
    "page": frozenset({0, 41, KT, *range(8192, 12288)}),
    "segment": frozenset({*range(32), 64, KT}),
    "frontend": frozenset({*range(32), 64, KT}),
    "domain": frozenset({*range(32), 64, 66, 68, 70, 73, 80, KT}),
    "domtool": frozenset({0, 1, 2, 3, KT}),
    "node_range": frozenset({0, KT}),
    "page_range": frozenset({0, KT}),
}
_LAST = frozenset({66, 73})  # domain orders that leave the domain waiting
#: Orders a segment or frontend key that may be red is tried with, passing each key obtained
#: first or third (the keeper may get the caller's third key instead of the node key).
_FRONT_ORDERS = (0, 1)

#: Orders tried on a start key, by what the program behind it is (``start:<kind>``
#: in ``orders``): ``free`` is any program the analyses do not model.
GATE_ORDERS: dict[str, tuple[int, ...]] = {
    "free": (0, 1, KT),
    "bank": (0, 16, KT),
    "dc": (2, 3, 12, 13, KT),
    "dcc": (0, 1, KT),
    "oracle": (0, KT),
    "kidc": (0, KT),
    "kid": (2, 4, KT),
    "fcc": (0, KT),
    "fc": (0, KT),
    "requestor": (0, KT),
    "builder": (64, 65, 66, 67, 69, *range(96, 115), KT),
    "fetcher": (*range(19), 66, KT),
    "copier": (0, KT),
}
#: Orders that destroy, sever, revoke or install components: never tried, whatever
#: ``orders`` says (nor KT+4 on any start key).
_FORBIDDEN: dict[str, frozenset[int]] = {
    "bank": frozenset({1, 2, 9, 10, 17, 18, 25, 26, 64}),
    "dc": frozenset({1, 8, 14, 15}),
    "kid": frozenset({3}),
    "fc": frozenset({4, 5, 6, 7}),
    "builder": frozenset({*range(19), *range(32, 51), *range(128, 147)}),
}
#: Keys passed with a start-key order: ``none``; ``each`` obtained key alone; the first
#: bank and meter obtained (``pair``), and those with each obtained key (``pair+each``);
#: ``copy``: (bank, DK(0), bank). Free programs get ``none`` and ``each``; system
#: programs ``each`` unless listed here, ``none`` for KT.
_SHAPES: dict[tuple[str, int], tuple[str, ...]] = {
    ("dcc", 0): ("pair",),
    ("fcc", 0): ("pair",),
    ("fc", 0): ("pair",),
    ("oracle", 0): ("each", "pair"),
    ("kidc", 0): ("each", "pair"),
    ("requestor", 0): ("pair", "pair+each"),
    ("copier", 0): ("copy",),
    ("dc", 13): ("none",),
}
_FACETS = {BUILDER: "builder", REQUESTOR: "requestor", FETCHER: "fetcher", COPY: "copier"}
_DOMTOOL_ARGS = {0: NODE, 1: START, 2: RESUME, 3: DOMAIN}
_NO_KEYS = frozenset({"bank", "builder", "fetcher"})
#: Kinds of key whose invocation makes objects: what comes back new is theirs.
_CREATING = frozenset({"bank", "dc", "dcc", "kidc", "fcc", "fc", "copier", "range"})
_ORDER_NAMES = {
    "node": {
        32: "MakeFetchKey",
        33: "MakeSegmentKey",
        34: "MakeMeterKey",
        35: "MakeNodeKey",
        36: "MakeSenseKey",
        37: "MakeFrontendKey",
    },
    "domain": {64: "MakeStart", 66: "MakeFaultKey", 73: "MakeReturnKey"},
    "page": {0: "MakeReadOnlyKey"},
    "segment": {0: "MakeReadOnly"},
    "domtool": {0: "MakeDomainKey", 1: "IdentifyStart", 2: "IdentifyResume", 3: "IdentifyDomain"},
    "node_range": {0: "Create"},
    "page_range": {0: "Create"},
}
#: Roles whose domains are flow sinks of a message (and actors, for ``free``).
_SINKS = frozenset({"free", "kid"})
#: Addresses an actor's memory is probed at: the marker's offset in each 4 KiB page of
#: the first MiB, and in each 64 KiB, 1 MiB and 16 MiB step beyond.
_ADDRESSES = tuple(
    sorted(
        {
            s << shift | MARK_OFFSET
            for shift, n in ((12, 256), (16, 16), (20, 16), (24, 16))
            for s in range(n)
        }
    )
)
_REGS = struct.Struct(">16Q")
_NODE_WRITE = struct.Struct(">II")  # Node WriteData: first and last slot
_SLOT_RECORD = 16
_MAX_NESTING = 2  # a branch, and the resumes it brings
#: Rounds of invocations that are not moves :func:`exhaustive` makes in each state.
CLOSE_ROUNDS = 6
_ASKED_ONCE = _CREATING | {"requestor"}
_MADE = Key(DATA, 0x4D414445, 0, 0)  # marks a creator order tried in a state
_SPIN = (OP_CALL, DK0, 0, (), b"")  # one tick on the actor's meter


#: One invocation to try: (cost class, key, order, keys passed).
_Step: TypeAlias = tuple[int, Key, int, tuple[Key, ...]]
#: A row of the result: (target vertex, key_type, databyte).
_Row: TypeAlias = tuple[Hashable, str, int]
#: A probe's script: the ops it yields, in order.
_Script: TypeAlias = tuple[tuple[Any, ...], ...]
#: A state-changing move of :func:`exhaustive`: (kind, *arguments).
_Move: TypeAlias = tuple[Any, ...]


class Soundness(TypedDict):
    """What :func:`soundness` (and :func:`compare`) returns."""

    explored: int  # keys explore() found
    predicted: int  # keys authority() predicts
    missing: list[dict[Hashable, Any]]  # explored rows not predicted (explore's columns)
    precision: float  # explored / predicted (1.0 when none predicted)
    flows_explored: int  # vertices the subject's marker reached
    flows_predicted: int  # vertices flow_graph() says it can reach
    flow_missing: list[dict[Hashable, Any]]  # flows not predicted (sink, round, how)
    flow_precision: float  # flows_explored / flows_predicted
    actors: list[Hashable]  # domains the referee acted as
    violations: list[dict[str, Any]]  # actions declared behaviours do not allow


# ------------------------------------------------------------ the instrumented kernel
_DRIVERS: list[_Explorer] = []  # the explorer driving a kernel now (innermost last)


def _driver(k: Kernel) -> _Explorer | None:
    if _DRIVERS and _DRIVERS[-1].k is k:
        return _DRIVERS[-1]
    return None


class _Instrumented(Kernel):
    """The class of the referee's copies: the kernel itself, with two hooks.

    A domain about to start a handler runs the referee's probe instead of its program
    when the referee has a script for it, or when it is an actor the kernel calls as a
    keeper; every message delivered (to a new handler or to a running one) is shown to
    the referee first, which records keys and flows.
    """

    PROBE = "referee-probe"

    def _start_program(self, ds: DomainState, msg: Message) -> bool:
        ex = _driver(self)
        script = None if ex is None else ex.delivered(ds.root, msg, True)
        if ex is None or script is None:
            return super()._start_program(ds, msg)
        if self.wellformed(ds) is None:
            self._park(ds, "malformed domain (no keys or registers node)")
            return False
        ds.program, ds.held = self.PROBE, msg.keys
        ds.proc = ex.probe(script)
        return True

    def _run(self, ds: DomainState, value: Any, budget: int) -> int:
        ex = _driver(self)
        if ex is not None and type(value) is Message:
            ex.delivered(ds.root, value, False)
        return super()._run(ds, value, budget)

    def handler_wrapper(
        self, ds: DomainState, msg: Message, proc: Generator[Any, Any, Any]
    ) -> Generator[Any, Any, Any]:
        """A described domain's handler runs watched (:mod:`.watch`)."""
        ex = _driver(self)
        if ex is None or ex.watch is None:
            return proc
        return ex.watch.wrap(self, ds, msg, proc)


@dataclass
class _Run:
    """Where a probe is in its script: the op at ``pos`` is the one it waits on; a copy's
    probe starts ``waiting`` for the result of the op before ``pos``."""

    script: _Script
    pos: int
    waiting: bool


def _probe_body(run: _Run) -> Generator[Any, Any, None]:
    if run.waiting:
        yield None  # a copy's probe: primed here, resumed with a result
        run.waiting = False
    while run.pos < len(run.script):
        yield run.script[run.pos]
        run.pos += 1


# ------------------------------------------------------------------ the API
def explore(
    k: Kernel,
    subject: Hashable,
    depth: int = 2,
    *,
    orders: Mapping[str, Iterable[int]] | None = None,
    max_calls: int = 5000,
    acts: Collection[str] | None = None,
    behaviour: Mapping[Hashable, object] | None = None,
) -> pd.DataFrame:
    """The keys ``subject`` obtains in ``depth`` rounds of invoking what it holds and acting
    as the domains it reaches, on a copy of ``k``: one row per (target, key_type, databyte)
    with the ``round`` it first came in (0: held) and ``how``. ``orders`` replaces the
    orders tried for a key type (a key of :data:`ORDERS`, ``"start"`` for free programs,
    ``"start:<kind>"`` for those of :data:`GATE_ORDERS`); ``acts`` chooses among
    :data:`ACTS` (all by default; ``()``: invocations only).

    ``df.attrs`` holds ``flows`` (a list of ``{"sink", "round", "how"}``: the vertices the
    subject's marker reached), ``actors`` (the domains acted as) and counts: ``calls``
    made, ``acts`` and ``branches``; ``deadlock``, ``step_limit`` and ``kernel_error``;
    invocations skipped because the key died (``dead``), its domain was not available
    (``busy``) or ``max_calls`` was reached (``truncated``).

    ``behaviour={domain: terms}`` (:mod:`.behaviour`): a described domain is not acted as;
    its real program runs, watched (:mod:`.watch`), and is sent the strings of its own code
    besides the marker; ``attrs["violations"]`` lists every action its declaration does not
    allow (``{"domain", "term", "action"}``).

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    >>> echo = kl.build_domain(con, "echo", keys={0: page})
    >>> asker = kl.build_domain(con, "echo", keys={0: echo})
    >>> df = explore(k, con.target(asker))
    >>> sorted(zip(df.key_type, df.databyte, df["round"]))
    [('domain', 0, 0), ('meter', 0, 1), ('page', 0, 1), ('page', 128, 1), ('page', 128, 2),
     ('resume', 2, 1), ('resume', 4, 1), ('start', 0, 1)]
    >>> sorted(f["sink"] for f in df.attrs["flows"]) == sorted([con.target(echo),
    ...                                                         con.target(page)])
    True
    >>> df.attrs["deadlock"], len(k.console.ring_nodes)      # k itself is untouched
    (0, 2)
    """
    if depth < 0 or max_calls < 0:
        raise ValueError("depth and max_calls are non-negative")
    return _Explorer(k, subject, orders or {}, max_calls, acts, behaviour).run(depth)


def exhaustive(
    k: Kernel,
    subject: Hashable,
    depth: int = 2,
    *,
    max_states: int = 400,
    max_calls: int = 200_000,
    acts: Collection[str] | None = None,
    behaviour: Mapping[Hashable, object] | None = None,
) -> pd.DataFrame:
    """The exact keys and flows of ``subject`` within ``depth`` state-changing steps: a
    breadth-first search over kernel states, copying the kernel at each step.

    A *move* changes the state: a call to a freely acting program (each order and key of
    :func:`explore`'s vocabulary), MakeFaultKey or MakeReturnKey, an actor's act, a resume
    key's variant. Every other invocation (fetches, Make…Key, system programs) only adds
    keys, and is closed over in every state. Each state reached is kept unless one with the
    same fingerprint was (objects, domain states and keys held, meter counters and resume
    allocations aside); at most ``max_states`` states. (In each state a creator is asked
    once per order, and the closure stops after :data:`CLOSE_ROUNDS` rounds.) The result
    has :func:`explore`'s
    columns, ``round`` being the number of moves, and ``attrs["states"]``. ``behaviour``
    as for :func:`explore`: described domains run their own programs, watched.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> echo = kl.build_domain(con, "echo")
    >>> s = con.target(kl.build_domain(con, "echo", keys={0: echo}))
    >>> df = exhaustive(k, s, depth=1)
    >>> sorted(set(df.key_type)), df.attrs["states"] > 1
    (['domain', 'meter', 'page', 'resume', 'start'], True)
    """
    if depth < 0 or max_states < 1:
        raise ValueError("depth is non-negative and max_states positive")
    return _Explorer(k, subject, {}, max_calls, acts, behaviour).exhaust(depth, max_states)


def soundness(
    k: LabKernel,
    subject: Hashable,
    depth: int = 2,
    *,
    orders: Mapping[str, Iterable[int]] | None = None,
    max_calls: int = 5000,
    acts: Collection[str] | None = None,
    console: bool = True,
    behaviour: Mapping[Hashable, object] | None = None,
) -> Soundness:
    """Cross-check :func:`explore` against the static :func:`authority` and the static flow
    graph (docs/analyses.md#analyses-rules): every key explored must be predicted on the
    original graph, and every vertex the subject's marker reached must be one the subject
    can flow to (:func:`.flow_graph`, what :func:`.can_flow` searches). Created objects
    compare by creator (``("new", creator, …)`` up to the client the summary was made
    for). ``orders``, ``max_calls`` and ``acts`` go to :func:`explore`. ``console=False``
    compares with the graph without the console (docs/analyses.md#analyses-console): the
    experimenter who built the system keeps keys to all of it, and a domain joined to the
    console by a channel would be predicted everything.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(); con = k.console
    >>> r = soundness(k, con.target(kl.build_domain(con, "echo", keys={0: con["bank"]})), 1)
    >>> r["missing"], r["flow_missing"], r["explored"] <= r["predicted"]
    ([], [], True)
    """
    found = explore(
        k, subject, depth, orders=orders, max_calls=max_calls, acts=acts, behaviour=behaviour
    )
    return compare(_graph(k, console), subject, found, behaviour)


def _graph(k: Any, console: bool) -> nx.MultiDiGraph:
    G = k.capability_graph()
    if not console:
        G.remove_node(k.console.root)
    return G


def compare(
    G: nx.MultiDiGraph,
    subject: Hashable,
    found: pd.DataFrame,
    behaviour: Mapping[Hashable, object] | None = None,
) -> Soundness:
    """What :func:`soundness` reports, for rows ``found`` by :func:`explore` or
    :func:`exhaustive` on the system whose capability graph is ``G`` (with the same
    declared ``behaviour``)."""
    # The referee acts as the subject as it likes: its own declaration is not used.
    closure = closure_for(G, subject, without(behaviour, subject))  # one fixpoint for both
    predicted = closure.held(subject)
    known = {(_norm(t), kt, db) for t, kt, db in predicted}
    # Make…Key orders take the new key's databyte from their string: a node key (any
    # databyte) stands for every fetch, segment, frontend, sense and node key to its node,
    # a domain key for every start key to its domain (authority._derived: "the key's own
    # and 0 stand for all of them").
    makers = {(_norm(t), kt) for t, kt, _ in predicted if kt in ("node", "domain")}
    missing = [
        row
        for row in found.to_dict("records")
        if (_norm(row["target"]), row["key_type"], row["databyte"]) not in known
        and (_norm(row["target"]), _MADE_FROM.get(row["key_type"])) not in makers
    ]
    F = flow_graph(G, closure)
    reach = nx.descendants(F, subject) if subject in F else set()
    reach_norm = {_norm(v) for v in reach} | {_norm(subject)}
    flows = found.attrs.get("flows", [])
    flow_missing = [dict(f) for f in flows if _norm(f["sink"]) not in reach_norm]
    n_reach = len(reach - {subject})
    return {
        "explored": len(found),
        "predicted": len(predicted),
        "missing": missing,
        "precision": len(found) / len(predicted) if len(predicted) else 1.0,
        "flows_explored": len(flows),
        "flows_predicted": n_reach,
        "flow_missing": flow_missing,
        "flow_precision": len(flows) / n_reach if n_reach else 1.0,
        "actors": list(found.attrs.get("actors", [])),
        "violations": list(found.attrs.get("violations", [])),
    }


#: The key a Make…Key order makes a key of this type from, choosing its databyte.
_MADE_FROM = {
    "fetch": "node",
    "segment": "node",
    "frontend": "node",
    "sense": "node",
    "node": "node",
    "start": "domain",
}


def _shapes(kind: str, order: int) -> tuple[str, ...]:
    if (kind, order) in _SHAPES:
        return _SHAPES[kind, order]
    if kind == "free":
        return ("none", "each")
    return ("none",) if order == KT or kind in _NO_KEYS else ("each",)


def _norm(v: Hashable) -> Hashable:
    """A summary vertex up to its client: ``("new", creator)``, creators normalised too;
    nested at most :data:`MAX_SUMMARY_DEPTH` deep, as the rules make them (what a summary
    that deep makes is itself: ``Closure._made``).

    >>> _norm(("new", ("new", ("new", ("new", 7, 1), 1), 1), 1))
    ('new', ('new', ('new', 7)))
    """
    while _depth(v) > MAX_SUMMARY_DEPTH:
        assert isinstance(v, tuple)
        v = v[1]
    return (v[0], _norm(v[1])) if isinstance(v, tuple) else v


def _has_mark(value: int) -> bool:
    """A data key's value holds the marker: six of its bytes, or the four a 32-bit field
    (a factory's AssignKT or AssignOrdinal) keeps."""
    return value & 0xFFFFFFFF == _MARK32 or MARK[:6] in value.to_bytes(16, "big")


def _gate(key: Key) -> bool:
    return key.type in (START, RESUME)


@dataclass
class _World:
    """What the referee keeps per kernel copy (a branch or a state of the search)."""

    k: _Instrumented
    known: dict[Key, int]  # key -> console key-ring index
    owner: dict[int, Hashable]
    summary: dict[int, tuple[str, Hashable, Hashable]]
    created: dict[int, int]
    scanned: int
    actors: set[int]
    tainted: set[int]
    tried: set[tuple[Key, int, tuple[Key, ...]]]


class _Explorer:
    def __init__(
        self,
        k: Kernel,
        subject: Hashable,
        orders: Mapping[str, Iterable[int]],
        max_calls: int,
        acts: Collection[str] | None,
        behaviour: Mapping[Hashable, object] | None = None,
    ) -> None:
        self.orders = {name: tuple(os) for name, os in orders.items()}
        for name, os in self.orders.items():
            self._check_orders(name, os)
        self.acts = frozenset(ACTS if acts is None else acts)
        if self.acts - set(ACTS):
            raise ValueError(f"no acts {sorted(self.acts - set(ACTS))}; acts: {', '.join(ACTS)}")
        base = k.copy()
        base.__class__ = _Instrumented  # same state, with the referee's two hooks
        assert isinstance(base, _Instrumented)
        self.k: _Instrumented = base
        self.con = con = base.console
        con.step_limit = STEP_LIMIT
        self.G = capability_graph(base)
        if self.G.nodes.get(subject, {}).get("kind") != "domain":
            raise ValueError(f"{subject!r} is not a domain vertex of the graph")
        described = {v: b for v, b in declared(self.G, behaviour).items() if type(v) is int}
        self.watch = Watch(described, self._root_vertex, self._describe_key) if described else None
        if self.watch is not None:
            self.watch.own_keys(base)  # the own registers' keys as the graph shows them
        self._grouped: set[Hashable] = set()  # (nesting, round, key, passed) varied
        self.subject = subject
        self.root = con.root
        self.snap0 = Snapshot(base)
        self.n0 = len(base.objs)  # ids from here on are objects made while exploring
        self.scanned = len(base.log)  # event-log rows read for creations so far
        self.max_calls = max_calls
        self.known: dict[Key, int] = {}  # key -> ring index of the copy's console, in order
        self.rows: dict[_Row, tuple[int, str]] = {}
        self.flows: dict[Hashable, tuple[int, str]] = {}
        # new vertex -> ("new" | "yield", creator, subject)
        self.summary: dict[int, tuple[str, Hashable, Hashable]] = {}
        self.created: dict[int, int] = {}  # object made -> domain that bought it
        self.owner: dict[int, Hashable] = {}  # object made -> its vertex (folded nodes)
        # (key, order, keys passed) invoked or skipped
        self.tried: set[tuple[Key, int, tuple[Key, ...]]] = set()
        # domain orders deferred to the end: (round, key, order, keys passed)
        self.last: list[tuple[int, Key, int, tuple[Key, ...]]] = []
        self.stats: Counter[str] = Counter()
        self.actors: set[int] = set()  # domains the referee acts as
        self.tainted: set[int] = {con.root}  # domains holding the subject's information
        self.pending: dict[int, _Script] = {}  # scripts for the next probe of a domain
        self.inbox: list[tuple[Key, str]] = []  # keys delivered to actors, to obtain
        self.runs: weakref.WeakKeyDictionary[Generator[Any, Any, None], _Run] = (
            weakref.WeakKeyDictionary()
        )
        self.roles: dict[int, str] = {}
        self.rnd = 0
        self.nesting = 0  # branches entered
        self.doing = ""  # the act under way, for ``how``
        if isinstance(subject, int) and subject != con.root and self._can_act(subject):
            self._adopt(subject, 0, "the subject")
        seeds = [
            key
            for holder, _, key, _, kind in self.snap0.edges()
            if holder == subject and kind in USABLE
        ]
        for key in seeds:
            self._obtain(key, 0, "held", None)

    # ------------------------------------------------------------ the loop
    def run(self, depth: int) -> pd.DataFrame:
        _DRIVERS.append(self)
        try:
            for rnd in range(1, depth + 1):
                self._round(rnd)
            self.rnd = depth
            for rnd, key, order, passed in self.last:
                if (key, order, passed) in self.tried:
                    continue
                with self._branch() as fresh:  # each leaves the domain waiting
                    self._try(rnd, key, order, passed)
                    if "resume" in self.acts:
                        self._resumes(rnd, [x for x in self.known if x not in fresh])
            if "resume" in self.acts:
                self._resumes(depth, list(self.known))
            self._scan(depth)
        finally:
            _DRIVERS.pop()
        return self._frame()

    def _round(self, rnd: int) -> None:
        self.rnd = rnd
        keys = list(self.known)
        args = self._arguments(keys)
        plan = [step for key in keys for step in self._plan(key, args)]
        plan.sort(key=lambda step: step[0])  # primary keys first, gates later
        for _, key, order, passed in plan:
            if key.type == DOMAIN and order in _LAST:
                self.last.append((rnd, key, order, passed))
            else:
                self._try(rnd, key, order, passed)
        if "write" in self.acts:
            self._writes(rnd)
        self._acts(rnd)
        if "resume" in self.acts:
            self._resumes(rnd, keys)
        self._harvest(rnd)
        self._scan(rnd)

    def _frame(self) -> pd.DataFrame:
        df = pd.DataFrame(
            [(*row, rnd, how) for row, (rnd, how) in self.rows.items()], columns=COLUMNS
        )
        df.attrs.update(
            {
                "calls": 0,
                "deadlock": 0,
                "step_limit": 0,
                "kernel_error": 0,
                "dead": 0,
                "busy": 0,
                "truncated": 0,
                "acts": 0,
                "branches": 0,
                **self.stats,
            }
        )
        df.attrs["flows"] = [
            {"sink": sink, "round": rnd, "how": how} for sink, (rnd, how) in self.flows.items()
        ]
        df.attrs["actors"] = sorted((self._root_vertex(r) for r in self.actors), key=str)
        df.attrs["violations"] = self.watch.finish() if self.watch is not None else []
        return df

    def _arguments(self, keys: list[Key]) -> list[Key]:
        """One key per row to pass to start keys (never a resume key: they are one-shot)."""
        out, seen = [], set()
        for key in keys:
            row = self._row(key)
            if key.type != RESUME and row not in seen:
                seen.add(row)
                out.append(key)
        return out

    def _plan(self, key: Key, args: list[Key]) -> Iterator[_Step]:
        """(cost class, key, order, keys passed) for every invocation to try with ``key``:
        primary keys first (class 0), then gates with no key, one key, three keys."""
        name = key.type_name
        if key.type == START:
            kind = self._gate_kind(key)
            if kind is None:
                return
            bank = next((a for a in args if self._is_bank(a)), None)
            meter = next((a for a in args if a.type == METER), None)
            for order in self._orders(
                "start" if kind == "free" else f"start:{kind}", GATE_ORDERS[kind]
            ):
                for shape in _shapes(kind, order):
                    if shape == "none":
                        yield 1, key, order, ()
                    elif shape == "each":
                        yield from ((2, key, order, (a,)) for a in args)
                    elif bank is None or meter is None:
                        continue
                    elif shape == "pair":
                        yield 2, key, order, (bank, meter)
                    elif shape == "copy":
                        yield 2, key, order, (bank, DK0, bank)
                    else:
                        yield from ((3, key, order, (bank, meter, a)) for a in args)
            return
        if name not in ORDERS or (key.type == PAGE and key.databyte & RO):
            return
        if key.type in (SEGMENT, FRONTEND) and not key.databyte & (NOCALL | LSS_MASK):
            # It may be red: the message, with keys, goes to its keeper slot's key.
            for order in _FRONT_ORDERS:
                for a in args:
                    yield 2, key, order, (a,)
                    yield 2, key, order, (DK0, DK0, a)
        for order in self._orders(name, ORDERS[name]):
            if name == "domtool" and order in _DOMTOOL_ARGS:
                # MakeDomainKey(node key); Identify…(key, DK(0)): DK(0) is the brand of
                # every domain whose brand slot is empty.
                want = _DOMTOOL_ARGS[order]
                yield from (
                    (0, key, order, (a,) if order == 0 else (a, DK0))
                    for a in self.known
                    if a.type == want
                )
            else:
                yield 0, key, order, ()

    def _orders(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        return self.orders.get(name, default)

    def _check_orders(self, name: str, orders: tuple[int, ...]) -> None:
        if name.startswith("start"):
            kind = name.partition(":")[2] or "free"
            if kind not in GATE_ORDERS:
                raise ValueError(f"no start-key kind {kind!r}; kinds: {', '.join(GATE_ORDERS)}")
            bad = [o for o in orders if o == DESTROY or o in _FORBIDDEN.get(kind, ())]
        elif name in _SAFE:
            bad = [o for o in orders if o not in _SAFE[name]]
        else:
            raise ValueError(
                f"no orders for {name!r} keys; names: {', '.join(_SAFE)}, start, start:<kind>"
            )
        if bad:
            raise ValueError(
                f"orders {bad} on {name} keys would destroy, sever, revoke or "
                "store: exploration only collects keys"
            )

    # ---------------------------------------------------------- one call
    def _handle(self, key: Key) -> KeyHandle:
        return KeyHandle(self.con, self.known[key])

    def _spent(self) -> bool:
        if self.stats["calls"] + self.stats["acts"] >= self.max_calls:
            self.stats["truncated"] += 1
            return True
        return False

    def _try(self, rnd: int, key: Key, order: int, passed: tuple[Key, ...]) -> None:
        sig = (key, order, passed)
        if sig in self.tried:
            return
        self.tried.add(sig)
        k, con = self.k, self.con
        if any(k.live(x) != x for x in (key, *passed)):
            self.stats["dead"] += 1
            return
        if (
            key.type == START
            and k.domains.get(key.obj) is not None
            and k.domains[key.obj].state != AVAILABLE
        ):
            self.stats["busy"] += 1  # not available: the call would stall
            return
        if key.type == DOMAIN and key.obj == con.root and order in _LAST:
            return  # the console's own process: never reset
        if self._spent():
            return
        self.stats["calls"] += 1
        via = self._vertex(key)
        kind = self._gate_kind(key) if key.type == START else None
        data = (
            MARK if kind == "free" else MARK[:4] if kind == "builder" and order in _ASSIGN else b""
        )
        watch = self.watch
        if watch is not None and key.type == START and key.obj in watch.described:
            self._variants_of(watch, rnd, key, passed, via)
        self._call(rnd, key, order, passed, data, via)

    def _variants_of(
        self, watch: Watch, rnd: int, key: Key, passed: tuple[Key, ...], via: Hashable
    ) -> None:
        """A described program is sent the same keys with every order tried on free
        programs and every string of its dictionary (the marker and the strings of its own
        code), each from this same state, in a branch: the watcher compares what it does
        with its own keys (watch.py). Once per key and keys passed, in each state."""
        group = (self.nesting, rnd, key, passed)
        if group in self._grouped or self.nesting >= _MAX_NESTING:
            return
        self._grouped.add(group)
        datas = [MARK, *strings(self.k.program_image(key.obj))]
        watch.group = group
        try:
            for order in self._orders("start", GATE_ORDERS["free"]):
                for data in datas:
                    if self._spent():  # the variants count against max_calls too
                        return
                    self.stats["calls"] += 1
                    with self._branch():
                        self._call(rnd, key, order, passed, data, via)
        finally:
            watch.group = None

    def _call(
        self, rnd: int, key: Key, order: int, passed: tuple[Key, ...], data: bytes, via: Hashable
    ) -> None:
        con, k = self.con, self.k
        if any(k.live(x) != x for x in (key, *passed)):
            return
        if key.type == START and k.domains.get(key.obj) is not None:
            if k.domains[key.obj].state != AVAILABLE:
                return
        try:
            reply = con.call(
                self._handle(key),
                order,
                *(self._handle(x) if x in self.known else con.hold(x) for x in passed),
                data=data,
            )
        except KernelError as exc:
            self.stats[
                {"Deadlock": "deadlock", "StepLimitExceeded": "step_limit"}.get(
                    type(exc).__name__, "kernel_error"
                )
            ] += 1
            if con.state.state != RUNNING or con.state.next is not None:
                raise RuntimeError(f"the console did not recover from: {exc}") from exc
            self._flush(rnd)
            return
        how = f"{key.type_name} {self._order_name(key, order)} on {self._describe(via)}"
        if passed:
            how += " passing " + ", ".join(self._describe_key(x) for x in passed)
        for handle in reply.keys:
            self._obtain(con.key(handle), rnd, how, key)
        self._flush(rnd)

    def _obtain(self, key: Key, rnd: int, how: str, via: Key | None) -> None:
        if key.type in (DATA, HOOK) or key in self.known:
            return
        self._know(key, rnd)
        row = self._row(key, via)
        if row not in self.rows:
            self.rows[row] = (rnd, how)

    def _know(self, key: Key, rnd: int) -> None:
        """Hold ``key`` in the copy's console; a start or domain key makes an actor."""
        self.known[key] = self.con.hold(key).index
        if (
            key.type in (START, DOMAIN)
            and key.obj not in self.actors
            and self.k.live(key) == key
            and self._can_act(key.obj)
        ):
            self._adopt(key.obj, rnd, f"acted as, through a {key.type_name} key")

    def _flush(self, rnd: int) -> None:
        """Obtain the keys messages brought to actors."""
        inbox, self.inbox = self.inbox, []
        for key, how in inbox:
            self._obtain(key, rnd, how, None)

    # ------------------------------------------------------------- actors
    def _can_act(self, root: int) -> bool:
        """A freely acting, well-formed domain other than the console, whose behaviour is
        not declared (a described domain runs its own program, watched)."""
        if root == self.con.root or self._role(root) != "free":
            return False
        if self.watch is not None and root in self.watch.described:
            return False
        obj = self.k.objs[root] if 0 < root < len(self.k.objs) else None
        return isinstance(obj, Node) and self.k.wellformed(self.k.domain_state(root)) is not None

    def _adopt(self, root: int, rnd: int, how: str) -> None:
        self.actors.add(root)
        self.tainted.add(root)
        self._flow(self._root_vertex(root), rnd, how)

    def _available(self, root: int) -> bool:
        ds = self.k.domains.get(root)
        return self.k.objs[root] is not None and (ds is None or ds.state == AVAILABLE)

    def delivered(self, root: int, msg: Message, started: bool) -> _Script | None:
        """The kernel delivers ``msg`` to domain ``root`` (``started``: a new handler
        begins): obtain what an actor receives, record flows, and answer the script the
        domain's probe runs instead of its program, if any."""
        resume = msg.keys[3]
        sender = resume.obj if resume.type == RESUME else None
        keeper = sender is not None and resume.databyte != RETURN
        if root in self.actors:
            what = self._call_name(msg, keeper)
            channel = sender is not None and not keeper
            for n, key in enumerate(msg.keys):
                # (a CALL's return key is the channel back: the rules model it as a
                # link between caller and callee, not as a key held)
                if key.type not in (DATA, HOOK) and not (n == 3 and channel):
                    self.inbox.append((key, f"{what} to {self._describe_root(root)}{self.doing}"))
        elif (
            root != self.con.root
            and (MARK in msg.data or sender in self.tainted)
            and self._role(root) in _SINKS
        ):
            self.tainted.add(root)
            what = (
                f"from {self._describe_root(sender)}"
                if sender is not None and sender in self.tainted
                else "carrying the marker"
            )
            self._flow(
                self._root_vertex(root),
                self.rnd,
                f"{self._call_name(msg, keeper)} {what}{self.doing}",
            )
        if not started:
            return None
        if root in self.pending:
            return self.pending.pop(root)
        if keeper and root in self.actors:
            return ()  # a keeper the referee acts as: it keeps the resume key
        return None

    def probe(
        self, script: _Script, start: int = 0, primed: bool = False
    ) -> Generator[Any, Any, None]:
        """A probe running ``script`` from op ``start`` (``primed``: waiting for the result
        of the op before it)."""
        run = _Run(script, start, primed)
        gen = _probe_body(run)
        self.runs[gen] = run
        if primed:
            next(gen)
        return gen

    def _call_name(self, msg: Message, keeper: bool) -> str:
        if not keeper:
            return "a message"
        flavour = msg.keys[3].databyte
        if flavour == FAULT:
            return f"a domain-keeper call (trap {msg.order:#x})"
        if len(msg.data) == 6:
            return "a segment-keeper call"
        if len(msg.data) == 8:
            return "a meter-keeper call"
        return "a keeper call"

    def _act(self, rnd: int, root: int, script: _Script, how: str) -> None:
        """Make actor ``root`` run ``script`` (a FORK from the console starts its probe)."""
        if not self._available(root) or self._spent():
            return
        node = self.k.objs[root]
        assert node is not None
        handle = self.con.hold(Key(START, root, 0, node.alloc))  # not obtained: a means
        self.pending[root] = script
        self.stats["acts"] += 1
        self.doing = f" ({how}, acting as {self._describe_root(root)})"
        try:
            self.con.fork(handle, 0)
            self.con.run(ACT_STEPS)
        except KernelError as exc:
            self.stats[
                {"Deadlock": "deadlock", "StepLimitExceeded": "step_limit"}.get(
                    type(exc).__name__, "kernel_error"
                )
            ] += 1
        finally:
            self.pending.pop(root, None)
        self._flush(rnd)
        self.doing = ""

    def _acts(self, rnd: int) -> None:
        """Every actor does what only a domain itself can: memory, traps, meters."""
        for root in sorted(self.actors):
            if (
                not self._available(root)
                or self.stats["calls"] + self.stats["acts"] >= self.max_calls
            ):
                continue
            writes, faults = self._memory(root)
            if "memory" in self.acts:
                if writes:
                    self._act(rnd, root, writes, "writes the marker through its memory")
                for op, how in faults:
                    self._branched(rnd, root, (op,), how)
            if "trap" in self.acts and _gate(self._root_slot(root, KEEPER)):
                self._branched(
                    rnd,
                    root,
                    ((OP_TRAP, TRAP_CODE, MARK),),
                    f"traps with system call {TRAP_CODE:#x}",
                )
            if "meter" in self.acts:
                for drain, how in self._meters(root):
                    self._branched(
                        rnd, root, (_SPIN,) * (SPIN_LIMIT + BORROW_TICKS + 8), how, drain
                    )

    def _branched(
        self, rnd: int, root: int, script: _Script, how: str, before: Key | None = None
    ) -> None:
        """``_act`` in a branch, then the resume keys it brings, each in a sub-branch."""
        if self.nesting >= _MAX_NESTING:
            return
        with self._branch() as fresh:
            if before is not None:  # empty the meter first (Node WriteData)
                self.con.call(
                    self._handle(before),
                    NodeOC.WriteData,
                    data=_NODE_WRITE.pack(METER_COUNTER, METER_COUNTER) + bytes(_SLOT_RECORD),
                )
            self._act(rnd, root, script, how)
            self._scan(rnd)
            if "resume" in self.acts:
                self._resumes(rnd, [key for key in self.known if key not in fresh])

    def _root_slot(self, root: int, slot: int) -> Key:
        node = self.k.objs[root]
        return self.k.live(node.slots[slot]) if isinstance(node, Node) else DK0

    def _memory(self, root: int) -> tuple[_Script, list[tuple[tuple[Any, ...], str]]]:
        """The marker writes an actor's memory maps, and one faulting access per red
        segment keeper it can reach (found with the kernel's own translation)."""
        objs = self.k.objs
        memkey = self._root_slot(root, ADDRESS)
        writes: list[tuple[Any, ...]] = []
        faults: list[tuple[tuple[Any, ...], str]] = []
        pages: set[int] = set()
        keepers: set[int] = set()
        if memkey == DK0:
            return (), []
        for address in _ADDRESSES:
            for write in (False, True):
                found = translate(objs, memkey, address, write)
                if isinstance(found, Fault):
                    if found.keeper is None or found.keeper[0].id in keepers:
                        continue
                    node, slot = found.keeper
                    if not _gate(self.k.live(node.slots[slot])):
                        continue
                    keepers.add(node.id)
                    op = (OP_WRITE, address, MARK) if write else (OP_READ, address, 8)
                    faults.append(
                        (
                            op,
                            f"{'writes' if write else 'reads'} at {address:#x}, "
                            f"fault {found.code} for the keeper of red node "
                            f"#{node.id}",
                        )
                    )
                elif write and found[0].id not in pages:
                    pages.add(found[0].id)
                    writes.append((OP_WRITE, address, MARK))
        return tuple(writes), faults

    def _meters(self, root: int) -> Iterator[tuple[Key | None, str]]:
        """A spin for the first meter of the actor's chain that has a keeper and few
        ticks, or that the referee can empty with a node key it holds."""
        chain = self.k.meter_chain(self.k.domain_state(root)) or []
        for meter in chain:
            if not _gate(self.k.live(meter.slots[METER_KEEPER])):
                continue
            counter = meter.slots[METER_COUNTER]
            ticks = counter.obj if counter.type == DATA else 0
            if ticks <= SPIN_LIMIT:
                yield None, f"spins on meter #{meter.id} ({ticks} ticks)"
                return
            node = next(
                (
                    key
                    for key in self.known
                    if key.type == NODE and key.obj == meter.id and self.k.live(key) == key
                ),
                None,
            )
            if node is not None:
                yield node, f"spins on meter #{meter.id}, emptied through a node key"
                return

    def _writes(self, rnd: int) -> None:
        """The marker into every page the referee can write, and into the registers of
        every freely acting domain it holds a domain key to."""
        for key in list(self.known):
            if key.type == PAGE and not key.databyte & RO:
                self._mark(rnd, key, PageOC.WriteData + MARK_OFFSET, MARK)
            elif key.type == DOMAIN and key.obj != self.con.root and self._role(key.obj) == "free":
                self._mark(rnd, key, DomainOC.PutRegs, MARK * 16)

    def _mark(self, rnd: int, key: Key, order: int, data: bytes) -> None:
        sig = (key, order, (DK0, DK0, DK0, DK0))
        if sig in self.tried or self.k.live(key) != key or self._spent():
            return
        self.tried.add(sig)
        self.stats["calls"] += 1
        try:
            self.con.call(self._handle(key), order, data=data)
        except KernelError:
            self.stats["kernel_error"] += 1
        self._flush(rnd)

    def _resumes(self, rnd: int, keys: Iterable[Key]) -> None:
        """Every live resume key among ``keys``, each variant in a branch."""
        for key in keys:
            if key.type != RESUME or self.k.live(key) != key:
                continue
            for order, data in self._variants(key):
                sig = (key, order, ())
                if sig in self.tried or self.nesting >= _MAX_NESTING or self._spent():
                    continue
                self.tried.add(sig)
                with self._branch() as fresh:
                    self._resume(rnd, key, order, data)
                    if "resume" in self.acts:
                        self._resumes(rnd, [x for x in self.known if x not in fresh])

    def _resume(self, rnd: int, key: Key, order: int, data: bytes) -> None:
        self.stats["acts"] += 1
        flavour = {0: "restart", RETURN: "return", FAULT: "fault"}.get(key.databyte, "resume")
        self.doing = (
            f" (after the referee used a {flavour} key to "
            f"{self._describe_root(key.obj)} with order {order:#x})"
        )
        try:
            self.con.fork(self._handle(key), order, data=data)
            self.con.run(ACT_STEPS)
        except KernelError:
            self.stats["kernel_error"] += 1
        self._flush(rnd)
        self._scan(rnd)
        self.doing = ""

    def _variants(self, key: Key) -> list[tuple[int, bytes]]:
        if key.databyte == RETURN:
            return [(0, MARK)]
        if key.databyte == FAULT:
            back = [(Trap.SVC + TRAP_CODE, b"")] if _gate(self._root_slot(key.obj, KEEPER)) else []
            return [(0, b""), *back]
        return [(0, b"")]

    def _harvest(self, rnd: int) -> None:
        """The key registers of every actor: the referee acts as it, with its keys."""
        for root in sorted(self.actors):
            ds = self.k.domains.get(root) or self.k.domain_state(root)
            wf = self.k.wellformed(ds)
            if wf is None:
                continue
            for n, raw in enumerate(wf[1].slots):
                self._obtain(
                    self.k.live(raw), rnd, f"key register {n} of {self._describe_root(root)}", None
                )

    # ----------------------------------------------------------- flows
    def _flow(self, sink: Hashable, rnd: int, how: str) -> None:
        if sink == self.subject or sink in self.flows:
            return
        self.flows[sink] = (rnd, how)

    def _scan(self, rnd: int) -> None:
        """Record every vertex holding the marker: pages, node slots, registers."""
        k = self.k
        ring = set(self.con.ring_nodes)
        for obj in k.objs:
            if obj is None or obj.id in ring or obj.id == self.con.root:
                continue
            if isinstance(obj, Page):
                if obj.data is None or MARK not in obj.data:
                    continue
                where = f"page #{obj.id}"
            else:
                slot = next(
                    (
                        n
                        for n, key in enumerate(obj.slots)
                        if key.type == DATA and _has_mark(key.obj)
                    ),
                    None,
                )
                if slot is None:
                    continue
                where = f"slot {slot} of node #{obj.id}"
            sink = self._object_vertex(obj.id)
            if sink is not None:
                self._flow(sink, rnd, f"the marker is in {where}")

    def _object_vertex(self, oid: int) -> Hashable | None:
        obj = self.k.objs[oid]
        if obj is None:
            return None
        if oid < self.n0:
            owner = self.snap0.owner.get(oid, oid)
            return None if owner == self.con.root else owner
        t = PAGE if isinstance(obj, Page) else NODE
        v = self._vertex(Key(t, oid, 0, obj.alloc))
        return None if v == self.subject and self.subject == self.con.root else v

    def _root_vertex(self, root: int) -> Hashable:
        obj = self.k.objs[root] if 0 < root < len(self.k.objs) else None
        if obj is None:
            return self.snap0.owner.get(root, root)
        return self._vertex(Key(DOMAIN, root, 0, obj.alloc))

    # ---------------------------------------------------------- branches
    def _world(self) -> _World:
        return _World(
            self.k,
            self.known,
            self.owner,
            self.summary,
            self.created,
            self.scanned,
            self.actors,
            self.tainted,
            self.tried,
        )

    def _load(self, w: _World) -> None:
        self.k, self.con = w.k, w.k.console
        self.known, self.owner, self.summary, self.created = w.known, w.owner, w.summary, w.created
        self.scanned, self.actors, self.tainted, self.tried = (
            w.scanned,
            w.actors,
            w.tainted,
            w.tried,
        )

    def _copy(self, k: _Instrumented) -> _Instrumented:
        """A deep copy of ``k``; a probe waiting in it is replaced by one resuming at the
        same op, any other handler mid-flight is stopped in the copy."""
        mid = [ds for ds in k.domains.values() if ds.proc is not None]
        memo: dict[int, Any] = {id(ds.proc): None for ds in mid}
        k2 = copy.deepcopy(k, memo)
        for ds in mid:
            ds2 = k2.domains[ds.root]
            run = self.runs.get(ds.proc) if ds.proc is not None else None
            if run is not None:
                ds2.proc = self.probe(
                    run.script, run.pos if run.waiting else run.pos + 1, primed=True
                )
            else:
                k2.stop(ds2, "mid-flight when the referee copied the kernel")
        return k2

    @contextmanager
    def _branch(self, back: bool = True) -> Iterator[set[Key]]:
        """Work on a copy of the current kernel; yields the keys known on entry. On exit
        the keys obtained that still designate the same objects here are kept (``back``)."""
        parent = self._world()
        limit = len(self.k.objs)
        self._load(
            _World(
                self._copy(self.k),
                dict(self.known),
                dict(self.owner),
                dict(self.summary),
                dict(self.created),
                self.scanned,
                set(self.actors),
                set(self.tainted),
                self.tried if back else set(self.tried),
            )
        )
        self.nesting += 1
        self.stats["branches"] += 1
        entry = set(self.known)
        try:
            yield entry
        finally:
            got = [key for key in self.known if key not in entry]
            self.nesting -= 1
            self._load(parent)
            if back:
                for key in got:
                    if key.type == RESUME or key in self.known:
                        continue
                    if key.type not in OBJECT_TYPES or (
                        key.obj < limit and self.k.live(key) == key
                    ):
                        self._know(key, self.rnd)

    # ---------------------------------------------------------- exhaustive
    def exhaust(self, depth: int, max_states: int) -> pd.DataFrame:
        _DRIVERS.append(self)
        states = 1
        try:
            self._close(0)
            seen = {self._fingerprint()}
            frontier = [self._world()]
            for d in range(1, depth + 1):
                nxt = []
                for world in frontier:
                    self._load(world)
                    prints = self._prints()
                    for move in self._moves():
                        if states >= max_states:
                            self.stats["truncated"] += 1
                            break
                        with self._branch(back=False):
                            self.nesting = 0  # a state, not a branch of one
                            self._move(move, d)
                            self._forget(prints)
                            self._close(d)
                            fp = self._fingerprint()
                            if fp not in seen:
                                seen.add(fp)
                                nxt.append(self._world())
                                states += 1
                            self.nesting = 1
                frontier = nxt
        finally:
            _DRIVERS.pop()
        df = self._frame()
        df.attrs["states"] = states
        return df

    def _close(self, rnd: int) -> None:
        """Every invocation that is not a move, until no new key comes (a creator is asked
        once per order: each purchase would bring a new key to pass to the next; at most
        :data:`CLOSE_ROUNDS` rounds)."""
        self.rnd = rnd
        for _ in range(CLOSE_ROUNDS):
            before = len(self.known)
            keys = list(self.known)
            args = self._arguments(keys)
            plan = [
                step
                for key in keys
                for step in self._plan(key, args)
                if not self._is_move(step[1], step[2])
            ]
            plan.sort(key=lambda step: step[0])
            for _, key, order, passed in plan:
                made = (key, order, (_MADE,))
                if self._kind_of(key) in _ASKED_ONCE:
                    if made in self.tried:
                        continue
                    self.tried.add(made)
                self._try(rnd, key, order, passed)
            if "write" in self.acts:
                self._writes(rnd)
            self._harvest(rnd)
            self._scan(rnd)
            if len(self.known) == before:
                return

    def _prints(self) -> dict[int, int]:
        """A hash of each object's contents."""
        return {
            obj.id: hash(
                bytes(obj.data)
                if isinstance(obj, Page) and obj.data is not None
                else tuple(obj.slots)
                if isinstance(obj, Node)
                else b""
            )
            for obj in self.k.objs
            if obj is not None
        }

    def _forget(self, before: dict[int, int]) -> None:
        """Forget the invocations tried on (or passing) objects a move changed: in the new
        state they may answer otherwise. A domain changes with its keys and registers."""
        now = self._prints()
        changed = {oid for oid, h in now.items() if before.get(oid) != h}
        changed |= {oid for oid in before if oid not in now}
        for root, ds in self.k.domains.items():
            wf = self.k.wellformed(ds) if self.k.objs[root] is not None else None
            if wf is not None and (wf[1].id in changed or wf[2].id in changed):
                changed.add(root)
        if changed:
            self.tried = {
                sig
                for sig in self.tried
                if not any(x.type in OBJECT_TYPES and x.obj in changed for x in (sig[0], *sig[2]))
            }

    def _is_move(self, key: Key, order: int) -> bool:
        if key.type == DOMAIN:
            return order in _LAST
        return key.type == START and self._gate_kind(key) == "free"

    def _moves(self) -> list[_Move]:
        """The state-changing steps possible in the current state."""
        keys = list(self.known)
        args = self._arguments(keys)
        out: list[_Move] = [
            ("call", key, order, passed)
            for key in keys
            for _, _, order, passed in self._plan(key, args)
            if self._is_move(key, order)
        ]
        for root in sorted(self.actors):
            if not self._available(root):
                continue
            writes, faults = self._memory(root)
            if "memory" in self.acts:
                out += [("act", root, (op,), how) for op, how in faults]
                if writes:
                    out.append(("act", root, writes, "writes the marker through its memory"))
            if "trap" in self.acts and _gate(self._root_slot(root, KEEPER)):
                out.append(("act", root, ((OP_TRAP, TRAP_CODE, MARK),), "traps"))
            if "meter" in self.acts:
                out += [("spin", root, drain, how) for drain, how in self._meters(root)]
        if "resume" in self.acts:
            out += [
                ("resume", key, order, data)
                for key in keys
                if key.type == RESUME and self.k.live(key) == key
                for order, data in self._variants(key)
            ]
        return out

    def _move(self, move: _Move, rnd: int) -> None:
        self.rnd = rnd
        kind = move[0]
        if kind == "call":
            _, key, order, passed = move
            self.tried.discard((key, order, passed))
            self._try(rnd, key, order, passed)
        elif kind == "act":
            _, root, script, how = move
            self._act(rnd, root, script, how)
        elif kind == "spin":
            _, root, drain, how = move
            if drain is not None:
                self.con.call(
                    self._handle(drain),
                    NodeOC.WriteData,
                    data=_NODE_WRITE.pack(METER_COUNTER, METER_COUNTER) + bytes(_SLOT_RECORD),
                )
            self._act(rnd, root, (_SPIN,) * (SPIN_LIMIT + BORROW_TICKS + 8), how)
        else:
            _, key, order, data = move
            self._resume(rnd, key, order, data)

    def _fingerprint(self) -> int:
        """A hash of what matters in a state: objects (meter counters aside), domain
        states, keys known (a resume key by whether it is live)."""
        k = self.k
        con = self.con
        skip = set(con.ring_nodes) | {con.root}
        meters = {
            key.obj
            for obj in k.objs
            if isinstance(obj, Node)
            for key in obj.slots
            if key.type == METER
        } | {k.prime_meter}
        parts: list[Hashable] = []
        for obj in k.objs:
            if obj is None or obj.id in skip:
                parts.append(None)
            elif isinstance(obj, Page):
                parts.append(bytes(obj.data) if obj.data is not None else b"")
            else:
                parts.append(
                    tuple(
                        self._key_print(key)
                        for n, key in enumerate(obj.slots)
                        if not (n == METER_COUNTER and obj.id in meters)
                    )
                )
        doms = tuple(
            (r, ds.state, ds.parked is None, ds.proc is None)
            for r, ds in sorted(k.domains.items())
            if r not in skip
        )
        held = frozenset(self._key_print(key) for key in self.known)
        return hash((tuple(parts), doms, held))

    def _key_print(self, key: Key) -> Hashable:
        if key.type == RESUME:
            return (RESUME, key.obj, key.databyte, self.k.live(key) == key)
        return key

    # ------------------------------------------------------------ naming
    def _row(self, key: Key, via: Key | None = None) -> _Row:
        return self._vertex(key, via), key.type_name, key.databyte

    def _vertex(self, key: Key, via: Key | None = None) -> Hashable:
        """The vertex of the original graph (or the summary) ``key`` designates."""
        if key.type not in OBJECT_TYPES:
            return misc_vertex(key)
        if key.obj < self.n0:
            v = self.snap0.target(key)
        else:
            v = self.owner.get(key.obj)
            if v is None:
                v = self.owner[key.obj] = Snapshot(self.k).target(key)
            if isinstance(v, int) and v >= self.n0 and v != self.con.root:
                if v not in self.summary:
                    self.summary[v] = self._attribute(v, via)
                return self.summary[v]
        return self.subject if v == self.con.root else v

    def _attribute(self, v: int, via: Key | None) -> tuple[str, Hashable, Hashable]:
        """("new" | "yield", creator, subject) for an object made while exploring: a yield
        of the factory invoked; what the creating program invoked made (a bank, DC, DCC,
        FCC, FC, copy key, KIDC, range key); else a domain of the DC whose brand it carries;
        else what the bank that sold it made."""
        kind = self._kind_of(via) if via is not None else None
        if via is not None and kind == "requestor":
            return "yield", self._vertex(via), self.subject
        creator = self._vertex(via) if via is not None and kind in _CREATING else self._brand(v)
        if creator is None:
            creator = self._buyer(v)
        if creator is None:
            creator = self._vertex(via) if via is not None else "unknown"
        return "new", creator, self.subject

    def _brand(self, v: int) -> Hashable | None:
        """The DC (or DCC) whose brand a new domain carries, if any."""
        root = self.k.objs[v]
        if not isinstance(root, Node):  # None, or a page
            return None
        brand = self.k.live(root.slots[0])
        if brand.type == DOMAIN and self._role(brand.obj) in ("dc", "dcc"):
            return self._vertex(brand)
        return None

    def _buyer(self, v: int) -> Hashable | None:
        """The vertex of the domain whose range key made object ``v`` (a bank), from the
        copy's event log."""
        for row in self.k.log.rows(self.scanned):
            if row[2] == EV_CREATE:
                self.created[row[6]] = row[4]
        self.scanned = len(self.k.log)
        actor = self.created.get(v)
        obj = None if actor is None else self.k.objs[actor]
        if actor is None or obj is None:
            return None
        return self._vertex(Key(START, actor, 0, obj.alloc))

    def _describe_key(self, key: Key) -> str:
        if key.type == DATA:
            return f"DK({key.obj})"
        return f"{key.type_name} to {self._describe(self._vertex(key))}"

    def _describe(self, v: Hashable) -> str:
        if isinstance(v, int):
            return f"{self.snap0.kind.get(v, 'object')} #{v}"
        return str(v)

    def _describe_root(self, root: int) -> str:
        if root == self.con.root:
            return "the console"
        v = self._root_vertex(root)
        return self._describe(v) if v != self.subject else f"the subject #{root}"

    @staticmethod
    def _order_name(key: Key, order: int) -> str:
        name = key.type_name
        if order == KT:
            return "KT"
        if name in ("node", "fetch", "sense") and order < 16:
            return f"Fetch+{order}"
        if name == "domain" and 16 <= order < 32:
            return f"GetKey+{order - 16}"
        if name == "domain" and order < 16:
            return f"Get+{order}"
        return _ORDER_NAMES.get(name, {}).get(order, f"order {order}")

    # ------------------------------------------------------------- roles
    def _role(self, root: int) -> str:
        """How the analyses treat the domain rooted at ``root`` (model.behaviour)."""
        role = self.roles.get(root)
        if role is not None:
            return role
        if root < self.n0 and root in self.G:
            role = behaviour(self.G, root)
            self.roles[root] = role
            return role
        k = self.k
        role = SYSTEM_PROGRAMS.get(k.program_image(root) or "", "free")
        if role == "fcc":
            role = "factory" if self._fcc_role(root) == ROLE_FACTORY else "creator"
        return role

    def _fcc_role(self, root: int) -> int:
        """The ROLE data register of an ``fcc`` domain: FCC, FC or factory."""
        k = self.k
        regs = k.live(k.store.node(root).slots[15])
        r0 = k.store.node(regs.obj).slots[ROLE] if regs.type == NODE else DK0
        return r0.obj if r0.type == DATA else 0

    def _kind_of(self, key: Key) -> str | None:
        if key.type == START:
            return self._gate_kind(key)
        if key.type in (NODE_RANGE, PAGE_RANGE):
            return "range"
        return None

    def _gate_kind(self, key: Key) -> str | None:
        """The GATE_ORDERS kind of a start key, or None if it must not be invoked."""
        v = self._vertex(key)
        if v == self.subject or key.obj == self.con.root:
            return None  # a self-call, or the console standing in
        role = self._role(key.obj)
        if role == "factory":
            return _FACETS.get(key.databyte, "free")
        if role == "creator":
            return "fc" if self._fcc_role(key.obj) == ROLE_FC else "fcc"
        return role if role in GATE_ORDERS else "free"

    def _is_bank(self, key: Key) -> bool:
        return key.type == START and key.databyte == 0 and self._role(key.obj) == "bank"


# ------------------------------------------------------------- the benchmark
def _bench_kernel() -> tuple[Any, Any]:
    from keykos_lab.views.lab import Kernel as Booted

    k = Booted()
    return k, k.console


def _bench_echo() -> tuple[Kernel, Hashable]:
    """The subject holds a start key to an echo holding a page."""
    from keykos_lab import system

    k, con = _bench_kernel()
    page = con.call(con["bank"], 16).keys[0]
    echo = system.build_domain(con, "echo", keys={0: page})
    s = system.build_domain(con, "echo", keys={0: system.start_key(con, echo)})
    return k, con.target(s)


def _bench_sense() -> tuple[Kernel, Hashable]:
    """The subject holds a sense key to a node holding a page and a start key."""
    from keykos_lab import system

    k, con = _bench_kernel()
    node = con.call(con["bank"], 0).keys[0]
    con.call(node, NodeOC.Swap + 0, con.call(con["bank"], 16).keys[0])
    con.call(node, NodeOC.Swap + 1, system.start_key(con, system.build_domain(con, "echo")))
    sense = con.call(node, NodeOC.MakeSenseKey).keys[0]
    return k, con.target(system.build_domain(con, "echo", keys={0: sense}))


def _bench_domain_keeper() -> tuple[Kernel, Hashable]:
    """The subject's domain keeper is a ``resumer`` it holds no key to."""
    from keykos_lab import system

    k, con = _bench_kernel()
    keeper = system.start_key(con, system.build_domain(con, "resumer"))
    return k, con.target(system.build_domain(con, "echo", keeper=keeper))


def _bench_segment_keeper(reach: bool) -> Callable[[], tuple[Kernel, Hashable]]:
    def make() -> tuple[Kernel, Hashable]:
        """The subject's memory is a red segment whose keeper is a ``pager``."""
        from keykos_lab import system

        k, con = _bench_kernel()
        pager = system.start_key(con, system.build_domain(con, "pager", keys={0: con["bank"]}))
        seg = system.build_segment(con, [system.image(con, "echo")], keeper=pager)
        keys = {0: pager} if reach else {}
        return k, con.target(system.build_domain(con, memory=seg, keys=keys))

    return make


def _bench_meter_keeper(reach: bool) -> Callable[[], tuple[Kernel, Hashable]]:
    def make() -> tuple[Kernel, Hashable]:
        """The subject runs on a meter of 300 ticks whose keeper is a ``refiller``."""
        from keykos_lab import system

        k, con = _bench_kernel()
        refiller = system.start_key(con, system.build_domain(con, "refiller", keys={0: con["dkc"]}))
        meter = system.build_meter(con, 300, keeper=refiller)
        keys = {0: refiller} if reach else {}
        return k, con.target(system.build_domain(con, "echo", meter=meter.key, keys=keys))

    return make


def _bench_front_end() -> tuple[Kernel, Hashable]:
    """The subject holds a segment key to a red node whose keeper is an ``echo``."""
    from keykos_lab import system

    k, con = _bench_kernel()
    echo = system.start_key(con, system.build_domain(con, "echo"))
    seg = system.build_segment(con, [con.call(con["bank"], 16).keys[0]], keeper=echo)
    return k, con.target(system.build_domain(con, "echo", keys={0: seg}))


#: A benchmark system: (kernel, subject), or (kernel, subject, declared behaviour).
System: TypeAlias = tuple[Kernel, Hashable] | tuple[Kernel, Hashable, Mapping[Hashable, object]]

#: Small systems for :func:`precision`: name -> a function making (kernel, subject).
BENCHMARK: dict[str, Callable[[], System]] = {
    "echo": _bench_echo,
    "sense key": _bench_sense,
    "domain keeper": _bench_domain_keeper,
    "segment keeper": _bench_segment_keeper(False),
    "segment keeper, reachable": _bench_segment_keeper(True),
    "meter keeper": _bench_meter_keeper(False),
    "meter keeper, reachable": _bench_meter_keeper(True),
    "front end": _bench_front_end,
}


def precision(
    names: Iterable[str] | None = None,
    *,
    benchmark: Mapping[str, Callable[[], System]] | None = None,
    depth: int = 2,
    exact_depth: int = 2,
    max_states: int = 200,
) -> pd.DataFrame:
    """Static answers against exact ones on :data:`BENCHMARK` (or the scenarios named):
    one row per scenario with the keys :func:`authority` predicts (``static``),
    :func:`explore` finds at ``depth`` (``explored``) and :func:`exhaustive` finds within
    ``exact_depth`` moves (``exact``, over ``states`` states), ``precision`` = exact /
    static; the same for flows (``static_flows``, ``exact_flows``, ``flow_precision``);
    and the exact keys and flows the static answers miss (``missing``, ``flow_missing``:
    soundness bugs while above 0). Static answers are computed without the console, which
    built the systems (docs/analyses.md#analyses-console). ``benchmark`` replaces
    :data:`BENCHMARK` (``scenarios.deputy.BENCHMARK`` adds the confused deputy, with and
    without declared behaviour); a system may come with a declaration, used throughout.

    >>> df = precision(["echo"], depth=1, exact_depth=1)
    >>> list(df.columns)[:4], int(df.missing.iloc[0])
    (['scenario', 'static', 'explored', 'exact'], 0)
    """
    rows = []
    table = BENCHMARK if benchmark is None else benchmark
    for name in names if names is not None else table:
        k, subject, *declared = table[name]()
        b = declared[0] if declared else None
        G = _graph(k, console=False)
        greedy = compare(G, subject, explore(k, subject, depth, behaviour=b), b)
        exact_df = exhaustive(k, subject, exact_depth, max_states=max_states, behaviour=b)
        exact = compare(G, subject, exact_df, b)
        rows.append(
            {
                "scenario": name,
                "static": exact["predicted"],
                "explored": greedy["explored"],
                "exact": exact["explored"],
                "states": exact_df.attrs["states"],
                "precision": round(exact["precision"], 3),
                "static_flows": exact["flows_predicted"],
                "exact_flows": exact["flows_explored"],
                "flow_precision": round(exact["flow_precision"], 3),
                "missing": len(exact["missing"]),
                "flow_missing": len(exact["flow_missing"]),
            }
        )
    return pd.DataFrame(rows)
