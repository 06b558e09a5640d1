"""Kernel state kept per domain: what KeyKOS keeps in prepared domain roots.

A domain is a root node whose slots follow the 370 layout (D1). The kernel adds
what the hardware and the process table hold: the state (available, running,
waiting), the program's running handler, the stall queue, and the allocation id
of the currently valid resume keys (one number voids them all at once,
docs/fidelity.md#fidelity-kernel).

>>> ds = DomainState(7)
>>> ds.state == AVAILABLE, ds.resume_alloc
(True, 0)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Sequence
from typing import Any

from keykos_lab.kernel.eventlog import S_AVAILABLE, S_RUNNING, S_WAITING
from keykos_lab.kernel.keys import Key
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.objects import Node
from keykos_lab.kernel.ops import describe_exception

#: What carrying out an op answers when its domain does not carry on now (it
#: waits, stalls, traps or ends): the scheduler does not resume it.
BLOCKED = object()

AVAILABLE, RUNNING, WAITING = S_AVAILABLE, S_RUNNING, S_WAITING
STATE_NAMES = {AVAILABLE: "available", RUNNING: "running", WAITING: "waiting"}

# Root-node slots (D1: the 370 Principles of Operation layout).
BRAND, METER, KEEPER, ADDRESS, PSW, TRAPCODE = 0, 1, 2, 3, 4, 5
GENERAL_A, GENERAL_B, PRIORITY, HOOK_SLOT, KEYS_NODE, REGS_NODE = 10, 11, 12, 13, 14, 15
SLOT_KINDS = {
    BRAND: "brand",
    METER: "meter",
    KEEPER: "keeper",
    ADDRESS: "address",
    PSW: "psw",
    TRAPCODE: "trapcode",
    GENERAL_A: "general",
    GENERAL_B: "general",
    PRIORITY: "priority",
    HOOK_SLOT: "hook",
    KEYS_NODE: "keys_node",
    REGS_NODE: "regs_node",
}

# What to do when the domain next runs (``next``) or is resumed (``on_resume``).
A_START, A_SEND, A_RETRY, A_TRAP = range(4)
#: An action: ``(A_START, message)`` starts a handler, ``(A_SEND, value)`` resumes
#: it with a value, ``(A_RETRY, op)`` carries out a stalled op again, ``(A_TRAP,
#: (code, on_resume))`` traps to the domain keeper.
Action = tuple[int, Any]
#: A program's running handler: resumed with the answer to the op it yielded.
Handler = Generator[Any, Any, Any]


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class DomainState:
    """Per-domain kernel state; the domain itself lives in its nodes."""

    __slots__ = (
        "root",
        "state",
        "proc",
        "next",
        "on_resume",
        "stall",
        "resume_alloc",
        "held",
        "cpu",
        "chain",
        "chain_epoch",
        "image",
        "stalled_on",
        "woken_by",
        "parked",
        "program",
        "error",
        "hist",
    )

    root: int
    state: int  # AVAILABLE, RUNNING or WAITING
    proc: Handler | None
    next: Action | None
    on_resume: Action | None
    stall: deque[tuple[DomainState, Any]]
    resume_alloc: int
    held: set[Key] | tuple[Key, ...]
    cpu: int
    chain: list[Node] | None
    chain_epoch: int
    image: tuple[int, int, str | None] | None
    stalled_on: DomainState | None
    woken_by: DomainState | None
    parked: str | None
    program: str | None
    error: str | None
    hist: Any

    def __init__(self, root: int) -> None:
        self.root = root
        self.state = AVAILABLE
        self.proc = None  # the running handler (a generator) or None
        self.next = None  # action tuple for the scheduler
        self.on_resume = None  # action tuple for a restart or fault resume
        self.stall = deque()  # (invoker state, op) waiting for availability
        self.resume_alloc = 0  # resume keys with this alloc are valid
        self.held = ()  # keys delivered to the running handler (hold())
        self.cpu = 0  # ticks borrowed from the meter chain
        self.chain = None  # cached meter chain (list of meter nodes)
        self.chain_epoch = -1
        self.image = None  # (page epoch, node epoch, program) last found
        self.stalled_on = None  # the domain whose stall queue holds us
        self.woken_by = None  # the domain that let us retry a stalled jump
        self.parked = None  # why the domain can never run, if it cannot
        self.program = None  # name of the program last started
        self.error = None  # text of the last exception or trap
        self.hist = None  # the kernel's history while it records one (kernel/history.py)

    def __repr__(self) -> str:
        return f"<domain #{self.root} {STATE_NAMES[self.state]}>"


def hold(ds: DomainState, keys: Sequence[Key]) -> set[Key]:
    """Add ``keys`` to the keys ds's running handler may use; that set.

    A handler starts holding its message's keys as the message's own tuple
    (making a set for every message would cost more than the lookups it saves);
    the set is made when the handler first gets more.

    >>> ds = DomainState(7); ds.held = ("a", "b")
    >>> sorted(hold(ds, ["c"])), type(ds.held).__name__
    (['a', 'b', 'c'], 'set')
    """
    held = ds.held
    if type(held) is not set:
        held = ds.held = set(held)
    h = ds.hist
    if h is None:
        held.update(keys)
        return held
    # The set changes in place (no assignment tells the history): record the keys it gains,
    # not the whole set, so a handler that gathers n keys costs the history O(n), not O(n²).
    added = [key for key in keys if key not in held]
    held.update(added)
    if added:
        h.held(ds.root, added)
    return held


def close_handler(proc: Handler) -> str | None:
    """End a handler the kernel is done with; what went wrong in its clean-up, if anything.

    The program's ``finally`` blocks run here. If one raises, or the handler ignores
    ``GeneratorExit`` by yielding again, the handler is ended all the same: a program's
    clean-up never escapes into kernel code. (One that loops for ever is stopped by the
    watchdog while the console waits: ``kernel/watchdog.py``.)

    >>> def stubborn():
    ...     while True:
    ...         try:
    ...             yield
    ...         except GeneratorExit:
    ...             pass
    >>> g = stubborn(); next(g)
    >>> close_handler(g)
    "RuntimeError: 'generator ignored GeneratorExit' in its clean-up"
    """
    exc = close_chain(proc)
    if exc is None:
        return None
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    return f"{describe_exception(exc)} in its clean-up"[:200]


def close_chain(proc: Handler) -> BaseException | None:
    """Close ``proc``; what its clean-up raised, or None. What refused to end (it yielded
    again), and whatever it delegates to that is still alive, is kept in
    :data:`UNCLOSABLE`, so that the garbage collector never runs its clean-up again at some
    moment in the middle of kernel code. (The referee's watcher closes the program it wraps
    this way and raises what it gets: ``analysis/watch.py``.)"""
    CLOSING.append(proc)  # what the watchdog may interrupt while its clean-up runs
    try:
        return _close(proc)
    finally:
        CLOSING.pop()


def _close(proc: Handler) -> BaseException | None:
    if getattr(proc, "gi_yieldfrom", None) is None:  # the usual handler: nothing below it
        try:
            proc.close()
        except BaseException as exc:  # the program's failure, for the caller to contain
            if getattr(proc, "gi_frame", None) is not None:
                UNCLOSABLE.append(proc)
            return exc
        return None
    chain: list[Any] = []  # the handler and the generators it delegates to
    gen: Any = proc
    while gen is not None and len(chain) < _CHAIN_LIMIT:
        chain.append(gen)
        gen = getattr(gen, "gi_yieldfrom", None)
    try:
        proc.close()
    except BaseException as exc:  # the program's failure, for the caller to contain
        UNCLOSABLE.extend(g for g in chain if getattr(g, "gi_frame", None) is not None)
        return exc
    UNCLOSABLE.extend(g for g in chain[1:] if getattr(g, "gi_frame", None) is not None)
    return None


#: Handlers that would not end when closed, kept alive for the rest of the process.
_CHAIN_LIMIT = 1000
UNCLOSABLE: list[Handler] = []
#: The handlers being closed now, innermost last (``kernel/watchdog.py`` reads it: a
#: handler that loops in its clean-up is stopped like one that loops in its body).
CLOSING: list[Handler] = []
