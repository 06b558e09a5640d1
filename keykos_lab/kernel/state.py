"""The kernel's state, and the small operations every other part uses.

:class:`KernelState` holds what the nanokernel knows: the object store (pages
and nodes, docs/primer.md#primer-objects), the per-domain kernel state
(``domains.DomainState``), the run queue, the event log and the logical clock.
The other parts of the kernel each add one idea to it, lowest first:

============== ==============================================================
``meters``     CPU borrowed from a domain's meter chain; dry meters
``gates``      messages through start and resume keys (CALL, RETURN, FORK)
``keepers``    traps and the implicit calls the kernel makes to keepers
``memory``     reads and writes through a domain's address segment
``invocation`` one op of a program: checked, charged, and carried out
``core``       the scheduler, and a program's handler from start to end
============== ==============================================================
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any, Protocol, cast

from keykos_lab.kernel.domains import (
    A_RETRY,
    AVAILABLE,
    KEYS_NODE,
    REGS_NODE,
    WAITING,
    Action,
    DomainState,
    close_handler,
    hold,
)
from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import (
    C_NOKEEPER,
    EV_FAULT,
    J_CALL,
    J_FORK,
    J_NONE,
    J_RETURN,
    EventLog,
)
from keykos_lab.kernel.keys import (
    DATA,
    DATA_LIMIT,
    DK,
    DK0,
    NODE,
    OBJECT_TYPES,
    RESUME,
    Key,
)
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.objects import SLOTS, Node, ObjectStore
from keykos_lab.kernel.ops import describe, is_key, within
from keykos_lab.kernel.process import (
    NO_KEYS,
    OP_CALL,
    OP_FORK,
    OP_RETURN,
    Message,
)

PRIME_CPU = 1 << 80  # ticks the prime meter holds
JUMPS = {OP_CALL: J_CALL, OP_RETURN: J_RETURN, OP_FORK: J_FORK}
new_tuple = tuple.__new__  # builds a NamedTuple without its checks (hot path)


def all_held(held: set[Key] | tuple[Key, ...], keys: tuple[object, ...]) -> bool:
    """Every key in ``keys`` is DK(0) or a genuine key in ``held`` (``_jump``'s test,
    without its slower look into the key registers)."""
    for key in keys:
        if key is not DK0 and not (is_key(key) and key in held):
            return False
    return True


def check_slot(n: object) -> int:
    """``n`` as a slot or register number the kernel owns, or IndexError. (What a program
    passes is typed ``object`` up to here: a compiled kernel would otherwise turn a bool or
    an int subclass into a plain int before this check could refuse it.)"""
    if type(n) is not int or not within(n, 0, SLOTS):
        raise IndexError(f"slots and registers are numbered 0..15, not {describe(n)}")
    return n


PLAIN_REPLIES = {rc: Message(rc, NO_KEYS, b"", 0) for rc in range(8)}


def plain_reply(rc: int) -> Message:
    """The reply with ``rc``, no keys and no string (small ones are shared)."""
    msg = PLAIN_REPLIES.get(rc)
    return msg if msg is not None else new_tuple(Message, (rc, NO_KEYS, b"", 0))


class Recorder(Protocol):
    """What kernel code tells the history directly (``kernel/history.py``: the rest it
    learns through the recording classes it gives the kernel's containers)."""

    first: int

    def ring(self, oid: int) -> None: ...

    def held(self, root: int, keys: Any) -> None: ...

    def state(self, seq: int) -> Any: ...

    def change_points(self) -> list[int]: ...

    def stop(self) -> None: ...


def live_key(objs: list[Any], domains: dict[int, Any], key: Key) -> Key:
    """The rule of :meth:`KernelState.live` over an object table and the domains (the
    past kernel, ``kernel/past.py``, applies it to the tables of a past moment)."""
    t, o, _, a = key
    if t not in OBJECT_TYPES:
        return key
    obj = objs[o] if 0 < o < len(objs) else None
    if obj is None:
        return DK0
    if t == RESUME:
        ds = domains.get(o)
        return key if ds is not None and ds.resume_alloc == a else DK0
    return key if obj.alloc == a else DK0


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class KernelState:
    """What the kernel knows, and the operations every part of it uses."""

    #: Seconds a handler may compute without invoking a key before the watchdog
    #: traps it (``kernel/watchdog.py``); None turns the watchdog off. A host
    #: setting, not system state: checkpoints do not carry it.
    handler_time_limit: float | None = 2.0

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and not isinstance(seed, int):
            raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
        self.seed = seed
        self._rng = random.Random(seed) if seed is not None else None
        self.store = ObjectStore()
        self.objs = self.store.objects
        self.log = EventLog()
        #: What capability graphs of past moments are rebuilt from (``kernel/history.py``):
        #: None until ``History.start``.
        self.history: Recorder | None = None
        self.tick = 0
        self.domains: dict[int, DomainState] = {}
        self.runq: deque[DomainState] = deque()
        self.jumpee: DomainState | None = None  # got the CPU from the last jump
        self.node_epoch = 0  # bumped when node slots change (caches check it)
        self.page_epoch = 0  # bumped when page contents change
        self._borrowers: set[DomainState] = set()
        self.parked: list[DomainState] = []
        #: The domain the scheduler last gave the CPU to (what a console error names).
        self.running: DomainState | None = None
        #: meter id -> [(domain, action)] stopped by a dry meter with no keeper
        #: (The action is typed Any: it is the very object in the domain's ``on_resume``,
        #: compared by identity, and a compiled kernel must not unbox and rebuild it.)
        self.meter_stopped: dict[int, list[tuple[DomainState, Any]]] = {}
        prime = self.store.new_node()
        prime.slots[3] = DK(PRIME_CPU)
        self.prime_meter = prime.id
        self.store.labels[prime.id] = "prime meter"

    def live(self, key: Key) -> Key:
        """``key`` if it still designates what it did, else DK(0) (docs/primer.md#primer-keys).

        >>> from keykos_lab.kernel import Kernel
        >>> k = Kernel()
        >>> k.live(Key(1, 10**6, 0, 1))
        DK(0)
        """
        return live_key(self.objs, self.domains, key)

    def key_to(self, ktype: int, oid: int, databyte: int = 0) -> Key:
        """A fresh key of ``ktype`` to live object ``oid`` (kernel use)."""
        return Key(ktype, oid, databyte, self.node(oid).alloc)

    def node(self, oid: int) -> Node:
        """Object ``oid``, which the caller knows to be a live node (a domain's
        root, a meter, a red segment node): a kernel invariant, not a check."""
        return cast(Node, self.objs[oid])

    def domain_state(self, root: int) -> DomainState:
        """The kernel state of the domain rooted at node ``root`` (made on demand)."""
        ds = self.domains.get(root)
        if ds is None:
            ds = self.domains[root] = DomainState(root)
        return ds

    def wellformed(self, ds: DomainState) -> tuple[Node, Node, Node] | None:
        """(root, keys node, registers node) of a well-formed domain, else None."""
        objs = self.objs
        root = objs[ds.root]
        if not isinstance(root, Node):
            return None
        kn = self.live(root.slots[KEYS_NODE])
        rn = self.live(root.slots[REGS_NODE])
        if kn.type != NODE or rn.type != NODE or kn.obj == rn.obj or ds.root in (kn.obj, rn.obj):
            return None
        return root, cast(Node, objs[kn.obj]), cast(Node, objs[rn.obj])

    def _holds(self, ds: DomainState, key: Key) -> bool:
        if key == DK0 or key in ds.held:
            return True
        wf = self.wellformed(ds)
        return wf is not None and key in wf[1].slots

    def _keys_node(self, ds: DomainState):
        wf = self.wellformed(ds)
        if wf is None:
            raise KernelError(f"domain #{ds.root} is malformed: no keys node")
        return wf[1]

    def _get_key_register(self, ds: DomainState, n: object) -> Key:
        """Key register ``n``; the running handler may use it from now on."""
        slot = check_slot(n)
        key = self.live(self._keys_node(ds).slots[slot])
        hold(ds, (key,))
        return key

    def _set_key_register(self, ds: DomainState, n: object, key: object) -> None:
        slot = check_slot(n)
        if not is_key(key):
            raise TypeError(f"a key register holds a Key, not {describe(key)}")
        genuine = cast(Key, key)
        if not self._holds(ds, genuine):
            raise KernelError(f"domain #{ds.root} does not hold {genuine!r}")
        self._keys_node(ds).slots[slot] = genuine
        self.node_epoch += 1

    def _get_register(self, ds: DomainState, n: object) -> int:
        slot = check_slot(n)
        wf = self.wellformed(ds)
        key = wf[2].slots[slot] if wf else DK0
        return key.obj if key.type == DATA else 0

    def _set_register(self, ds: DomainState, n: object, value: object) -> None:
        slot = check_slot(n)
        if type(value) is not int or not within(value, 0, DATA_LIMIT):
            raise ValueError(f"a register holds an int in [0, 2**88), not {describe(value)}")
        wf = self.wellformed(ds)
        if wf is None:
            raise KernelError(f"domain #{ds.root} is malformed: no registers node")
        wf[2].slots[slot] = DK(value)
        self.node_epoch += 1

    def _ready(self, ds: DomainState, action) -> None:
        ds.next = action
        self.runq.append(ds)

    def _run_at_once(self, ds: DomainState) -> None:
        """``ds`` gets the CPU from a jump that stopped its jumper: it runs next."""
        self.runq.appendleft(ds)
        self.jumpee = ds

    def _park(self, ds: DomainState, why: str) -> None:
        """The domain can never run (KeyKOS's junk queue) until someone resets it."""
        before = ds.state
        ds.state = WAITING
        ds.parked = why
        ds.resume_alloc = 0
        ds.next = None
        self.parked.append(ds)
        self.log.emit(
            self.tick,
            EV_FAULT,
            J_NONE,
            ds.root,
            -1,
            -1,
            -1,
            0,
            -1,
            0,
            0,
            before,
            WAITING,
            C_NOKEEPER,
        )

    def runnable(self) -> list[DomainState]:
        """The domains that would run if the scheduler went on (the console aside)."""
        console = getattr(self, "_console_state", None)
        out = [ds for ds in self.runq if ds is not console]
        return list(dict.fromkeys(out))

    def _become_available(self, ds: DomainState) -> None:
        if ds.proc is not None:
            proc, ds.proc = ds.proc, None
            close_handler(proc)
        ds.state = AVAILABLE
        ds.held = ()
        ds.on_resume = None
        ds.resume_alloc = 0
        ds.next = None
        if ds.stall:
            self.wake_stalled(ds)

    def wake_stalled(self, ds: DomainState) -> None:
        """Let the first invoker stalled on ``ds`` retry its jump."""
        invoker, op = ds.stall.popleft()
        invoker.stalled_on = None
        invoker.woken_by = ds
        self._ready(invoker, (A_RETRY, op))

    # ------------------------------------------ what the other parts provide
    # Declared here so that each part can call them; defined where named.
    def _trap(self, ds: DomainState, code: int, cause: int, on_resume: Action) -> None:
        raise NotImplementedError  # keepers.Keepers

    def _keeper_call(
        self,
        ds: DomainState,
        keeper: Key,
        order: int,
        k3: Key,
        data: bytes,
        flavour: int,
        cause: int,
        on_resume: Action,
    ) -> None:
        raise NotImplementedError  # keepers.Keepers

    def _bad(self, ds: DomainState, cause: int, why: str) -> object:
        raise NotImplementedError  # invocation.Invocation

    def _execute(self, ds: DomainState, op: object) -> object:
        raise NotImplementedError  # invocation.Invocation

    def step(self) -> bool:
        raise NotImplementedError  # core.Kernel

    def _step(self) -> bool:
        raise NotImplementedError  # core.Kernel

    def retry(self, ds: DomainState, op: object) -> object:
        raise NotImplementedError  # core.Kernel

    def settle_meters(self) -> None:
        raise NotImplementedError  # meters.Meters

    def stop(self, ds: DomainState, why: str) -> None:
        raise NotImplementedError  # core.Kernel

    def _stop(self, ds: DomainState, why: str) -> None:
        raise NotImplementedError  # core.Kernel

    def meter_refilled(self, meter_id: int) -> None:
        raise NotImplementedError  # meters.Meters
