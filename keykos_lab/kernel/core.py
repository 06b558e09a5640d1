"""The nanokernel: invocation, gates, keepers, meters and the scheduler.

Everything a domain does goes through :meth:`Kernel._execute`: a CALL, RETURN
or FORK on a key (KEYKOS.md §3), or a memory access through its address
segment (§2.4). Primary keys answer at once (``keykos_lab.kernel.primary``);
gate keys deliver messages to domains; faults make implicit calls to keepers
(§3.6). Domains run from a FIFO run queue in quanta, each invocation charged in
ticks to the domain's meter chain (D4), so a run is reproducible event for event;
a jump through a gate hands the rest of the quantum to the domain it reaches.

>>> k = Kernel()
>>> k.console.call(k.console.dkc, 0, data=b"\\0\\0\\0\\0\\0\\x07").keys[0]
<DK(7)>
"""

from __future__ import annotations

import copy
import random
import struct
from collections import deque
from types import GeneratorType

from keykos_lab.kernel import primary
from keykos_lab.kernel.domains import (
    A_RETRY,
    A_SEND,
    A_START,
    A_TRAP,
    ADDRESS,
    AVAILABLE,
    KEEPER,
    KEYS_NODE,
    METER,
    REGS_NODE,
    RUNNING,
    TRAPCODE,
    WAITING,
    DomainState,
    hold,
)
from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import (
    C_BADJUMP,
    C_BADKEY,
    C_EXCEPTION,
    C_ILLEGAL,
    C_METER,
    C_NOKEEPER,
    C_NONE,
    C_SEGFAULT,
    C_SELFCALL,
    C_STALL,
    C_SVC,
    C_TRAP,
    EV_DELIVER,
    EV_FAULT,
    EV_INVOKE,
    EV_KEEPER,
    EV_READ,
    EV_STALL,
    EV_STATE,
    EV_WRITE,
    J_CALL,
    J_FORK,
    J_IMPLICIT,
    J_NONE,
    J_RETURN,
    MISC_BASE,
    ROW,
    EventLog,
    key_code,
    kind_field,
)
from keykos_lab.kernel.fastpath import BLOCKED, GATES, PRIMARY_CALLS, pad
from keykos_lab.kernel.keys import (
    DATA,
    DK,
    DK0,
    DOMAIN,
    FAULT,
    FRONTEND,
    MISC,
    NOCALL,
    NODE,
    OBJECT_TYPES,
    RESTART,
    RESUME,
    RETURN,
    RETURNER,
    SEGMENT,
    START,
    Key,
)
from keykos_lab.kernel.keys import (
    METER as METER_KEY,
)
from keykos_lab.kernel.objects import PAGE_SIZE, ObjectStore
from keykos_lab.kernel.oc import RC, Trap
from keykos_lab.kernel.process import (
    EMPTY,
    NO_KEYS,
    OP_CALL,
    OP_FORK,
    OP_READ,
    OP_RETURN,
    OP_TRAP,
    OP_WRITE,
    PROGRAMS,
    Dom,
    Message,
    parse_image,
)
from keykos_lab.kernel.segments import Fault, decode_format, translate

MAX_STRING = 4096
MAX_METER_DEPTH = 20
QUANTUM_OPS = 64          # ops a domain runs before the scheduler moves on
BORROW_TICKS = 256        # CPU ticks a domain borrows from its meters at a time
PRIME_CPU = 1 << 80
OP_IMPLICIT = 100         # internal op: a kernel-made call to a keeper
_BLOCKED = BLOCKED        # _execute's answer when the domain does not carry on
_JUMPS = {OP_CALL: J_CALL, OP_RETURN: J_RETURN, OP_FORK: J_FORK}
_SEGMENT_FAULT_STRING = struct.Struct(">HI")
_new_tuple = tuple.__new__
_pack = ROW.pack_into
_ROW_SIZE = ROW.size
#: The ``kind`` field of a primary CALL's row, by the invoker's state (it does not change).
_PRIMARY_CALL_KIND = tuple(kind_field(EV_INVOKE, J_CALL, s, s, C_NONE) for s in range(4))
_PLAIN_REPLIES = {rc: Message(rc, NO_KEYS, b"", 0) for rc in range(8)}
_NO_DATA = b""


def _plain_reply(rc: int) -> Message:
    """The reply with ``rc``, no keys and no string (small ones are shared)."""
    msg = _PLAIN_REPLIES.get(rc)
    return msg if msg is not None else _new_tuple(Message, (rc, NO_KEYS, b"", 0))


class Kernel:
    """A KeyKOS nanokernel with an empty store, a prime meter and a console.

    The system programs and the console's well-known keys are added by
    ``keykos_lab.system.boot.boot``; ``keykos_lab.Kernel`` does both.
    """

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
        self.tick = 0
        self.domains: dict[int, DomainState] = {}
        self.runq: deque[DomainState] = deque()
        self.jumpee: DomainState | None = None  # got the CPU from the last jump
        self.node_epoch = 0       # bumped when node slots change (caches check it)
        self.page_epoch = 0       # bumped when page contents change
        self._borrowers: set[DomainState] = set()
        self.parked: list[DomainState] = []
        self.meter_stopped: dict[int, list] = {}   # meter id -> [(domain, op)] (no keeper)
        prime = self.store.new_node()
        prime.slots[3] = DK(PRIME_CPU)
        self.prime_meter = prime.id
        self.store.labels[prime.id] = "prime meter"
        from keykos_lab.kernel.console import Console  # the console is kernel code, made last
        self.console = Console(self)
        self._console_state = self.console.state

    # ----------------------------------------------------------------- keys
    def live(self, key: Key) -> Key:
        """``key`` if it still designates what it did, else DK(0) (§1.2).

        >>> k = Kernel()
        >>> k.live(Key(1, 10**6, 0, 1))
        DK(0)
        """
        t, o, _, a = key
        if t not in OBJECT_TYPES:
            return key
        objs = self.objs
        obj = objs[o] if 0 < o < len(objs) else None
        if obj is None:
            return DK0
        if t == RESUME:
            ds = self.domains.get(o)
            return key if ds is not None and ds.resume_alloc == a else DK0
        return key if obj.alloc == a else DK0

    def key_to(self, ktype: int, oid: int, databyte: int = 0) -> Key:
        """A fresh key of ``ktype`` to live object ``oid`` (kernel use)."""
        return Key(ktype, oid, databyte, self.objs[oid].alloc)

    def copy(self) -> Kernel:
        """An independent deep copy of a quiescent kernel: objects, domains, log, console.

        Running handlers are Python generators, which cannot be copied; a kernel
        where any domain is in the middle of one raises :class:`KernelError` naming them.

        >>> k = Kernel(); c = k.copy()
        >>> c.console.call(c.console.dkc, 0).rc, len(c.log) == len(k.log) + 1
        (0, True)
        >>> c.console is not k.console and c.console.kernel is c
        True
        """
        busy = [ds for ds in self.domains.values() if ds.proc is not None]
        if busy:
            names = ", ".join(f"#{ds.root} ({ds.program or '?'})" for ds in busy)
            raise KernelError(f"cannot copy a kernel while handlers are mid-flight (generators "
                              f"cannot be copied): {names}")
        return copy.deepcopy(self)

    def domain_state(self, root: int) -> DomainState:
        """The kernel state of the domain rooted at node ``root`` (made on demand)."""
        ds = self.domains.get(root)
        if ds is None:
            ds = self.domains[root] = DomainState(root)
        return ds

    def wellformed(self, ds: DomainState):
        """(root, keys node, registers node) of a well-formed domain, else None."""
        objs = self.objs
        root = objs[ds.root]
        if root is None:
            return None
        kn = self.live(root.slots[KEYS_NODE])
        rn = self.live(root.slots[REGS_NODE])
        if kn.type != NODE or rn.type != NODE or kn.obj == rn.obj or ds.root in (kn.obj, rn.obj):
            return None
        return root, objs[kn.obj], objs[rn.obj]

    def _holds(self, ds: DomainState, key: Key) -> bool:
        if key == DK0 or key in ds.held:
            return True
        wf = self.wellformed(ds)
        return wf is not None and key in wf[1].slots

    # -------------------------------------------------- registers (no events)
    def _keys_node(self, ds: DomainState):
        wf = self.wellformed(ds)
        if wf is None:
            raise KernelError(f"domain #{ds.root} is malformed: no keys node")
        return wf[1]

    def _get_key_register(self, ds: DomainState, n: int) -> Key:
        """Key register ``n``; the running handler may use it from now on."""
        _check_slot(n)
        key = self.live(self._keys_node(ds).slots[n])
        hold(ds, (key,))
        return key

    def _set_key_register(self, ds: DomainState, n: int, key: Key) -> None:
        _check_slot(n)
        if not _is_key(key):
            raise TypeError(f"a key register holds a Key, not {key!r}")
        if not self._holds(ds, key):
            raise KernelError(f"domain #{ds.root} does not hold {key!r}")
        self._keys_node(ds).slots[n] = key
        self.node_epoch += 1

    def _get_register(self, ds: DomainState, n: int) -> int:
        _check_slot(n)
        wf = self.wellformed(ds)
        key = wf[2].slots[n] if wf else DK0
        return key.obj if key.type == DATA else 0

    def _set_register(self, ds: DomainState, n: int, value: int) -> None:
        _check_slot(n)
        wf = self.wellformed(ds)
        if wf is None:
            raise KernelError(f"domain #{ds.root} is malformed: no registers node")
        wf[2].slots[n] = DK(value)
        self.node_epoch += 1

    # ------------------------------------------------------------ scheduler
    def _ready(self, ds: DomainState, action) -> None:
        ds.next = action
        self.runq.append(ds)

    def step(self) -> bool:
        """Run the first domain of the run queue for one quantum (a seeded kernel
        takes one at random). False when nothing is runnable.

        A domain that CALLs or RETURNs through a gate hands the CPU to the domain
        it jumps to, as ``jresume`` ends in ``startdom(jumpee)`` in the C release:
        that domain goes to the front of the queue and, inside a quantum, runs at
        once (``_dispatch``).

        >>> Kernel().step()
        False
        """
        runq = self.runq
        if not runq:
            return False
        self.jumpee = None  # (only the quantum that made it switches to it)
        if self._rng is not None and len(runq) > 1:
            runq.rotate(-self._rng.randrange(len(runq)))
        ds = runq.popleft()
        if ds is self._console_state:
            self.console._wake()
            return True
        self._dispatch(ds)
        return True

    def _run_at_once(self, ds: DomainState) -> None:
        """``ds`` gets the CPU from a jump that stopped its jumper: it runs next."""
        self.runq.appendleft(ds)
        self.jumpee = ds

    def _dispatch(self, ds: DomainState) -> None:
        """Run ``ds`` for a quantum of QUANTUM_OPS ops. When it stops by jumping to
        another domain, that domain runs on in the same quantum."""
        runq = self.runq
        console = self._console_state
        budget = QUANTUM_OPS
        while True:
            action = ds.next
            ds.next = None
            if action is not None and (ds.state == RUNNING or action[0] == A_RETRY):
                # (a stalled keeper call is retried while its domain waits)
                kind, value = action
                if kind == A_START:
                    value = None if self._start_program(ds, value) else _BLOCKED
                elif kind == A_RETRY:
                    value = self.retry(ds, value)
                elif kind == A_TRAP:
                    code, on_resume = value
                    self._trap(ds, code, C_TRAP, on_resume)
                    value = _BLOCKED
                if value is not _BLOCKED:
                    budget = self._run(ds, value, budget)
            # ds stopped. If its jump handed the CPU on, the jumpee runs now, in
            # what is left of the quantum (a switch costs one op of it).
            jumpee = self.jumpee
            if jumpee is None or jumpee is console or not runq or runq[0] is not jumpee:
                return  # (the console is woken by the next step)
            self.jumpee = None
            if budget <= 1:  # the quantum is over: the jumpee waits its turn
                runq.append(runq.popleft())
                return
            budget -= 1
            ds = runq.popleft()

    def _run(self, ds: DomainState, value, budget: int) -> int:
        """Send ``value`` into ds's handler and carry out the ops it yields until it
        stops or ``budget`` ops are done (then it is ready again); the budget left."""
        send = ds.proc.send
        held = ds.held
        objs = self.objs
        log = self.log
        root = ds.root
        checked = None  # the last key found genuine and held (``held`` only grows)
        while budget:
            budget -= 1
            try:
                op = send(value)
            except StopIteration:
                self._end_handler(ds)
                return budget
            except Exception as exc:  # the program's bug is the domain's fault, not ours
                self._program_exception(ds, exc)
                return budget
            # Fast paths for a jump _jump would accept as it is: a genuine held key,
            # a 32-bit order, bytes of at most 4096, a tuple of at most 3 held keys,
            # the CPU already borrowed. Anything else, and any target a fast path
            # does not cover, goes the general way below (_jump, _execute).
            if type(op) is tuple and len(op) == 5:
                code, key, order, keys, data = op
                if key is not checked and type(key) is Key:  # (_is_key, inline)
                    checked = None  # until this key passes
                    t, o, db, a = key
                    if type(t) is int and type(o) is int and type(db) is int \
                            and type(a) is int and key in held:
                        checked = key  # and how the fast paths take it
                        handler = PRIMARY_CALLS.get(t)
                        gate = GATES.get(t)
                        target = o if t != MISC else -1  # misc keys designate no object
                        keyf = (t + 1 if t != MISC else MISC_BASE + o + 1) | (db + 1) << 8
                if key is checked and type(order) is int and 0 <= order <= 0xFFFFFFFF \
                        and (data is _NO_DATA or type(data) is bytes and len(data) <= MAX_STRING) \
                        and ds.cpu > len(data) >> 10 and type(keys) is tuple \
                        and (not keys or (len(keys) <= 3 and _all_held(held, keys))):
                    if handler is not None:
                        obj = objs[target] if target >= 0 else None
                        if code == OP_CALL and (target < 0 or obj is not None and obj.alloc == a):
                            # CALL on a live primary key whose handler never changes its
                            # invoker's state (primary.FAST, misc keys): _jump → _invoke →
                            # primary.invoke → _primary_reply, with the same checks, changes
                            # and row, in one place. (A dead key goes the general way.)
                            before = ds.state
                            slen = len(data)
                            cost = 1 + (slen >> 10)
                            ds.cpu -= cost
                            self.tick = tick = self.tick + cost
                            kf = keyf
                            if keys:
                                keys = pad(keys)
                                kf |= (4 - keys.count(DK0)) << 17
                            else:
                                keys = NO_KEYS
                            rc, rkeys, rdata = handler(self, ds, key, obj, order, keys, data)
                            if log.enabled:
                                off = log._off
                                _pack(log._buf, off, tick, _PRIMARY_CALL_KIND[before], root, kf,
                                      target, order, rc, slen)
                                log._off = off = off + _ROW_SIZE
                                if off == log._cap:
                                    log.next_chunk()
                            if rkeys:
                                rkeys = pad(tuple(rkeys))
                                held = hold(ds, rkeys)
                                value = _new_tuple(Message, (rc, rkeys, rdata, 0))
                            elif rdata:
                                value = _new_tuple(Message, (rc, NO_KEYS, rdata, 0))
                            else:
                                value = _PLAIN_REPLIES.get(rc) or _plain_reply(rc)
                            continue
                    elif gate is not None:  # fastpath.py: start and resume keys
                        value = gate(self, ds, code, key, order, keys, data, op)
                        if value is _BLOCKED:
                            return budget
            if type(op) is tuple and op and op[0] in _JUMPS:
                value = self._jump(ds, op)
            else:
                value = self._execute(ds, op)
            if value is _BLOCKED:
                return budget
            held = ds.held
            checked = None
        self._ready(ds, (A_SEND, value))
        return 0

    def _start_program(self, ds: DomainState, msg: Message) -> bool:
        """Begin a handler for ``msg``: find the program image through slot 3.

        The image found is cached with the page and node epochs: while no page
        was written and no node slot changed, the domain's structure and its
        program are what they were.
        """
        cache = ds.image
        if cache is not None and cache[0] == self.page_epoch and cache[1] == self.node_epoch:
            name = cache[2]
        else:
            wf = self.wellformed(ds)
            if wf is None:
                self._park(ds, "malformed domain (no keys or registers node)")
                return False
            name = self.program_image(ds.root)
            ds.image = (self.page_epoch, self.node_epoch, name)
        fn = PROGRAMS.get(name) if name else None
        if fn is None:
            ds.error = "no program image at address 0" if name is None else \
                f"program {name!r} is not registered"
            self._trap(ds, Trap.ILLEGAL, C_ILLEGAL, (A_START, msg))
            return False
        dom = ds.dom
        if dom is None:
            dom = ds.dom = Dom(self, ds)
        ds.program = name
        ds.held = msg.keys  # hold() makes it a set when the handler gets more
        try:
            proc = fn(dom, msg)
        except Exception as exc:
            self._program_exception(ds, exc)
            return False
        if type(proc) is not GeneratorType:
            ds.error = f"program {name!r} is not a generator function"
            self._trap(ds, Trap.ILLEGAL, C_ILLEGAL, (A_START, msg))
            return False
        ds.proc = proc
        return True

    def program_image(self, root: int) -> str | None:
        """The program named by the image at address 0 of a domain's memory, or None.

        >>> k = Kernel(); k.program_image(k.console.root) is None
        True
        """
        node = self.objs[root] if 0 < root < len(self.objs) else None
        if node is None or node.kind != "node":
            return None
        found = translate(self.objs, node.slots[ADDRESS], 0, False)
        if isinstance(found, Fault):
            return None
        page, off = found
        return parse_image(page.read(off, 64))

    def _program_exception(self, ds: DomainState, exc: BaseException) -> None:
        ds.proc = None
        ds.held = ()
        ds.error = f"{type(exc).__name__}: {exc}"
        self._trap(ds, Trap.EXCEPTION, C_EXCEPTION, (A_START, EMPTY))

    def _end_handler(self, ds: DomainState) -> None:
        """A handler that ends without RETURN returns to DK(0): it becomes available."""
        before = ds.state
        self._become_available(ds)
        self.log.emit(self.tick, EV_STATE, J_NONE, ds.root, -1, -1, -1, 0, -1, 0, 0,
                      before, AVAILABLE, C_NONE)

    def _become_available(self, ds: DomainState) -> None:
        if ds.proc is not None:
            proc, ds.proc = ds.proc, None
            proc.close()
        ds.state = AVAILABLE
        ds.held = ()
        ds.on_resume = None
        ds.resume_alloc = 0
        ds.next = None
        if ds.stall:
            self.wake_stalled(ds)

    def retry(self, ds: DomainState, op):
        """Retry a stalled jump; if the domain that woke us is still free (we could
        not use the wake-up: a dry meter, a trap), wake its next stalled invoker."""
        woken_by, ds.woken_by = ds.woken_by, None
        value = self._execute(ds, op)
        if woken_by is not None and woken_by.state == AVAILABLE and woken_by.stall:
            self.wake_stalled(woken_by)
        return value

    def wake_stalled(self, ds: DomainState) -> None:
        """Let the first invoker stalled on ``ds`` retry its jump."""
        invoker, op = ds.stall.popleft()
        invoker.stalled_on = None
        invoker.woken_by = ds
        self._ready(invoker, (A_RETRY, op))

    def _park(self, ds: DomainState, why: str) -> None:
        """The domain can never run (KeyKOS's junk queue) until someone resets it."""
        before = ds.state
        ds.state = WAITING
        ds.parked = why
        ds.resume_alloc = 0
        ds.next = None
        self.parked.append(ds)
        self.log.emit(self.tick, EV_FAULT, J_NONE, ds.root, -1, -1, -1, 0, -1, 0, 0,
                      before, WAITING, C_NOKEEPER)

    # ---------------------------------------------------------------- meters
    def meter_chain(self, ds: DomainState):
        """The meter nodes a domain runs under, nearest first, or None if invalid.

        >>> k = Kernel()
        >>> [n.id for n in k.meter_chain(k.console.state)] == [k.prime_meter]
        True
        """
        if ds.chain_epoch == self.node_epoch:
            return ds.chain
        chain = []
        root = self.objs[ds.root]
        key = self.live(root.slots[METER]) if root is not None else DK0
        while True:
            if key.type != METER_KEY or len(chain) >= MAX_METER_DEPTH:
                chain = None
                break
            node = self.objs[key.obj]
            chain.append(node)
            if node.id == self.prime_meter:
                break
            key = self.live(node.slots[1])
        ds.chain, ds.chain_epoch = chain, self.node_epoch
        return chain

    def _borrow(self, ds: DomainState, cost: int, op) -> bool:
        """Borrow CPU from every meter on the chain; call a keeper if one is dry."""
        chain = self.meter_chain(ds)
        if chain is None:
            self._park(ds, "no valid meter chain to the prime meter")
            return False
        least = None
        for node in chain:
            c = node.slots[3]
            have = c.obj if c.type == DATA else 0
            if have < cost:
                self._meter_dry(ds, node, op)
                return False
            if least is None or have < least:
                least = have
        amount = min(BORROW_TICKS, least)
        for node in chain:
            node.slots[3] = DK(node.slots[3].obj - amount)  # DK to DK: no cache changes
        ds.cpu += amount
        self._borrowers.add(ds)
        return True

    def settle_meters(self) -> None:
        """Return every domain's unused borrowed CPU to its meters (exact counters)."""
        for ds in self._borrowers:
            chain = ds.chain or ()
            if ds.cpu and all(self.objs[n.id] is n for n in chain):
                for node in chain:
                    node.slots[3] = DK(node.slots[3].obj + ds.cpu)
            ds.cpu = 0
        self._borrowers.clear()

    def _meter_dry(self, ds: DomainState, meter, op) -> None:
        """Stop the domain; call the meter's keeper, or wait for a refill (§2.5)."""
        keeper = self.live(meter.slots[2])
        ds.error = f"meter #{meter.id} ran dry"
        if keeper.type not in (START, RESUME):
            # No keeper: the domain is stopped, not destroyed; refilling resumes it.
            ds.state = WAITING
            ds.on_resume = action = (A_RETRY, op)
            ds.parked = f"stopped: meter #{meter.id} is dry and has no keeper"
            self.meter_stopped.setdefault(meter.id, []).append((ds, action))
            self.log.emit(self.tick, EV_FAULT, J_NONE, ds.root, -1, meter.id, -1, 0, -1, 0, 0,
                          RUNNING, WAITING, C_METER)
            return
        self._keeper_call(ds, keeper, 0xFFFFFFFF, self.key_to(NODE, meter.id),
                          self.tick.to_bytes(8, "big"), RESTART, C_METER, (A_RETRY, op))

    def meter_refilled(self, meter_id: int) -> None:
        """A meter's counter was written: domains it stopped try again."""
        for ds, action in self.meter_stopped.pop(meter_id, ()):
            if ds.on_resume is action and ds.parked is not None:  # still stopped there
                ds.parked = None
                ds.on_resume = None
                ds.state = RUNNING
                self._ready(ds, action)

    # ------------------------------------------------------------ execution
    def _execute(self, ds: DomainState, op):
        """Carry out one op of domain ``ds``; the value to resume it with, or _BLOCKED."""
        try:
            code = op[0]
        except (TypeError, IndexError, KeyError):
            return self._bad(ds, C_BADJUMP, f"yielded {op!r}, not an invocation")
        if code in _JUMPS:
            return self._jump(ds, op)
        if code == OP_READ or code == OP_WRITE:
            return self._memory(ds, op)
        if code == OP_TRAP:
            return self._svc(ds, op)
        if code == OP_IMPLICIT:
            return self._implicit(ds, op)
        return self._bad(ds, C_BADJUMP, f"yielded {op!r}, not an invocation")

    def _bad(self, ds: DomainState, cause: int, why: str):
        ds.error = why
        self._trap(ds, Trap.BADKEY if cause == C_BADKEY else Trap.BADJUMP, cause,
                   (A_START, EMPTY))
        if ds.proc is not None:
            proc, ds.proc = ds.proc, None
            proc.close()
            ds.held = ()
        return _BLOCKED

    def _charge(self, ds: DomainState, cost: int, op) -> bool:
        if ds.cpu < cost and not self._borrow(ds, cost, op):
            return False
        ds.cpu -= cost
        self.tick += cost
        return True

    def _jump(self, ds: DomainState, op):
        try:
            code, key, order, keys, data = op
        except (TypeError, ValueError):
            return self._bad(ds, C_BADJUMP, f"malformed invocation {op!r}")
        jump = _JUMPS[code]
        if type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                why = f"a message string is bytes, not {type(data).__name__}"
                return self._bad(ds, C_BADJUMP, why)
            data = bytes(data)
        if len(data) > MAX_STRING:
            return self._bad(ds, C_BADJUMP, f"string of {len(data)} bytes exceeds 4096")
        if type(order) is not int or not 0 <= order <= 0xFFFFFFFF:
            return self._bad(ds, C_BADJUMP, f"order code {order!r} is not a 32-bit unsigned int")
        nk = len(keys)
        if nk > (3 if jump == J_CALL else 4):
            return self._bad(ds, C_BADJUMP, f"{nk} keys passed; CALL takes 3, RETURN and FORK 4")
        held = ds.held
        if not _is_key(key) or (key not in held and not self._holds(ds, key)):
            return self._bad(ds, C_BADKEY, f"invoked {key!r}, which it does not hold")
        for k in keys:
            if not _is_key(k) or (k not in held and not self._holds(ds, k)):
                return self._bad(ds, C_BADKEY, f"passed {k!r}, which it does not hold")
        if nk < 4:
            keys = tuple(keys) + NO_KEYS[nk:]
        cost = 1 + (len(data) >> 10)
        if ds.cpu < cost and not self._borrow(ds, cost, op):
            return _BLOCKED
        ds.cpu -= cost
        self.tick += cost
        return self._invoke(ds, op, jump, key, order, keys, data)

    def _invoke(self, ds: DomainState, op, jump, key: Key, order: int, keys, data: bytes):
        t, o, db, a = key
        before = ds.state
        if t in OBJECT_TYPES:
            objs = self.objs
            obj = objs[o] if 0 < o < len(objs) else None
            if obj is None:
                t = DATA
            elif t == RESUME:
                tgt = self.domains.get(o)
                if tgt is None or tgt.resume_alloc != a:
                    t = DATA
                else:
                    return self._gate(ds, op, jump, key, tgt, order, keys, data, before)
            elif obj.alloc != a:
                t = DATA
            elif t == START:
                tgt = self.domains.get(o) or self.domain_state(o)
                return self._gate(ds, op, jump, key, tgt, order, keys, data, before)
            elif (t == SEGMENT or t == FRONTEND) and not db & NOCALL and db & 0x0F == 0:
                keeper = self._front_end(obj)
                if keeper is not None:
                    # A red segment with a keeper slot jumps to whatever it holds
                    # (jsegment): a gate gets the message, anything else is DK(0).
                    if keeper.type not in (START, RESUME):
                        keeper = DK0
                    elif t == FRONTEND and keeper.type != START:
                        keeper = DK0
                    k3 = Key(NODE, o, db, a)
                    keys = (keys[0], keys[1], k3, keys[3])
                    return self._invoke(ds, op, jump, keeper, order, keys, data)
        else:
            obj = None
        if t == MISC and o == RETURNER and jump != J_CALL:
            # RETURN or FORK to the returner sends the message on to key 4 (§2.8).
            fwd = keys[3]
            if fwd.type == RESUME and self.live(fwd) == fwd:
                keys = (keys[0], keys[1], keys[2], DK0)
                return self._invoke(ds, op, jump, fwd, order, keys, data)
            rc, rkeys, rdata = 0, NO_KEYS, b""
        elif t == DATA:
            rc, rkeys, rdata = RC.DATAKEY, NO_KEYS, b""
        else:
            rc, rkeys, rdata = reply = primary.invoke(self, ds, t, key, obj, order, keys, data)
            if reply is primary.DISCARD:  # the invoker's own process is gone: no reply
                self.log.emit(self.tick, EV_INVOKE, jump, ds.root, key_code(t, o), o, db, order,
                              -1, 4 - keys.count(DK0), len(data), before, ds.state, C_NONE)
                return _BLOCKED
        return self._primary_reply(ds, jump, key, order, keys, data, rc, rkeys, rdata, before)

    def _primary_reply(self, ds, jump, key, order, keys, data, rc, rkeys, rdata, before):
        if len(rkeys) < 4:
            rkeys = tuple(rkeys) + NO_KEYS[len(rkeys):]
        t, o, db, a = key
        if jump == J_CALL:
            self.log.emit(self.tick, EV_INVOKE, J_CALL, ds.root, key_code(t, o),
                          o if t in OBJECT_TYPES else -1, db, order, rc,
                          4 - keys.count(DK0), len(data), before, before, C_NONE)
            hold(ds, rkeys)
            return _new_tuple(Message, (rc, rkeys, rdata, 0))
        after = RUNNING if jump == J_FORK else AVAILABLE
        self.log.emit(self.tick, EV_INVOKE, jump, ds.root, key_code(t, o),
                      o if t in OBJECT_TYPES else -1, db, order, rc,
                      4 - keys.count(DK0), len(data), before, after, C_NONE)
        ret = keys[3]
        if ret.type == RESUME and self.live(ret) == ret:
            tgt = self.domains[ret.obj]
            self._deliver_resume(ret, tgt, rc, rkeys, rdata, jump == J_RETURN)
        if jump == J_RETURN:
            self._become_available(ds)
            return _BLOCKED
        return None

    def _front_end(self, node):
        """The key in a red segment node's keeper slot, or None when the node has
        no keeper slot or a bad format (then the key acts as a black segment key)."""
        fmt = decode_format(node.slots[15])
        if isinstance(fmt, int) or fmt[2] == 15:
            return None
        return self.live(node.slots[fmt[2]])

    # ----------------------------------------------------------------- gates
    def _gate(self, ds, op, jump, key, tgt: DomainState, order, keys, data, before,
              flavour=RETURN, cause=C_NONE):
        """Deliver a message through a start or resume key (§2.7, §3.5)."""
        t, _, db, _ = key
        if t == START and tgt.state != AVAILABLE:
            return self._busy(ds, op, jump, key, tgt, order, data, before)
        if jump == J_CALL or jump == J_IMPLICIT:
            store = self.store
            alloc = ds.resume_alloc = store.next_alloc
            store.next_alloc = alloc + 1
            keys = (keys[0], keys[1], keys[2], _new_tuple(Key, (RESUME, ds.root, flavour, alloc)))
            ds.state = after = WAITING
            if jump == J_CALL:
                ds.on_resume = (A_RETRY, op)
        else:
            after = AVAILABLE if jump == J_RETURN else ds.state
        log = self.log
        tick = self.tick
        n_keys = 4 - keys.count(DK0)
        keyf = (t + 1) | (db + 1) << 8 | n_keys << 17
        slen = len(data)
        if log.enabled:
            event = EV_KEEPER if jump == J_IMPLICIT else EV_INVOKE
            log.emit_packed(tick, event | jump << 4 | before << 8 | after << 12 | cause << 16,
                            ds.root, keyf, tgt.root, order, -1, slen)
        if t == START:
            tstate = tgt.state
            tgt.state = RUNNING
            tgt.next = (A_START, _new_tuple(Message, (order, keys, data, db)))
            if jump == J_FORK:
                self.runq.append(tgt)
            else:
                self._run_at_once(tgt)
            if log.enabled:
                log.emit_packed(tick, EV_DELIVER | jump << 4 | tstate << 8 | RUNNING << 12,
                                tgt.root, keyf, tgt.root, order, -1, slen)
        else:
            self._deliver_resume(key, tgt, order, keys, data, jump != J_FORK)
        if jump == J_RETURN:
            self._become_available(ds)
            return _BLOCKED
        if jump == J_FORK:
            return None
        return _BLOCKED

    def _busy(self, ds, op, jump, key, tgt: DomainState, order, data, before):
        """A start key to a busy domain: stall the invoker, or trap a self-call."""
        if tgt is ds:
            if jump == J_IMPLICIT:
                self._park(ds, "its keeper is a start key to itself")
                return _BLOCKED
            ds.error = "jumped to itself through a start key while busy"
            self._trap(ds, Trap.SELFCALL, C_SELFCALL, (A_START, EMPTY))
            if ds.proc is not None:
                proc, ds.proc = ds.proc, None
                proc.close()
            return _BLOCKED
        tgt.stall.append((ds, op))
        ds.stalled_on = tgt
        n_keys = sum(k != DK0 for k in op[3]) + (jump in (J_CALL, J_IMPLICIT))
        self.log.emit(self.tick, EV_STALL, jump, ds.root, key_code(key.type, key.obj), tgt.root,
                      key.databyte, order, -1, n_keys, len(data), before, ds.state, C_STALL)
        return _BLOCKED

    def _deliver_resume(self, key: Key, tgt: DomainState, order, keys, data,
                        at_once: bool) -> None:
        """Resume a waiting domain; every resume key to it dies (one-shot rule).
        ``at_once``: the jumper stopped, so the CPU goes to ``tgt``."""
        tstate = tgt.state
        tgt.resume_alloc = 0
        flavour = key.databyte
        if flavour == RETURN:
            msg = _new_tuple(Message, (order, keys, data, 0))
            if tgt.proc is None:
                action = (A_START, msg)  # the message starts a handler, holding its keys
            else:
                if keys.count(DK0) < 4:
                    hold(tgt, keys)
                action = (A_SEND, msg)
        elif flavour == FAULT and order != 0:
            action = (A_TRAP, (order, tgt.on_resume))  # back to the keeper, same instruction
            tgt.error = f"sent back to its keeper by a fault key with order {order:#x}"
        else:
            if flavour == FAULT:
                root = self.objs[tgt.root]
                root.slots[TRAPCODE] = DK0
                self.node_epoch += 1
            if tgt.on_resume is not None:
                action = tgt.on_resume
            else:
                action = (A_SEND, None) if tgt.proc is not None else (A_START, EMPTY)
        tgt.on_resume = None
        tgt.parked = None
        tgt.state = RUNNING
        tgt.next = action
        if at_once:
            self._run_at_once(tgt)
        else:
            self.runq.append(tgt)
        log = self.log
        if log.enabled:
            keyf = (RESUME + 1) | (flavour + 1) << 8 | (4 - keys.count(DK0)) << 17
            log.emit_packed(self.tick, EV_DELIVER | tstate << 8 | RUNNING << 12, tgt.root, keyf,
                            tgt.root, order, -1, len(data))

    # --------------------------------------------------------------- keepers
    def _trap(self, ds: DomainState, code: int, cause: int, on_resume) -> None:
        """Set the trap code and call the domain keeper with a fault key (§3.6)."""
        root = self.objs[ds.root]
        if root is None:
            return
        root.slots[TRAPCODE] = DK(code & 0xFFFFFFFFFFFF)
        self.node_epoch += 1
        keeper = self.live(root.slots[KEEPER])
        dkey = Key(DOMAIN, ds.root, 0, root.alloc)
        data = (ds.error or "").encode()[:MAX_STRING]
        self._keeper_call(ds, keeper, code & 0xFFFFFFFF, dkey, data, FAULT, cause, on_resume)

    def _keeper_call(self, ds, keeper: Key, order: int, k3: Key, data: bytes, flavour: int,
                     cause: int, on_resume) -> None:
        ds.on_resume = on_resume
        if keeper.type not in (START, RESUME):
            self._park(ds, f"trap ({ds.error or 'fault'}) with no keeper to call")
            return
        op = (OP_IMPLICIT, keeper, order, (DK0, DK0, k3), data, flavour, cause)
        self._implicit(ds, op)

    def _implicit(self, ds: DomainState, op):
        _, keeper, order, keys, data, flavour, cause = op
        keeper = self.live(keeper)
        before = ds.state
        if keeper.type == START:
            tgt = self.domain_state(keeper.obj)
        elif keeper.type == RESUME:
            tgt = self.domains[keeper.obj]
        else:
            self._park(ds, "its keeper key died before the call could be made")
            return _BLOCKED
        ds.state = WAITING
        self._gate(ds, op, J_IMPLICIT, keeper, tgt, order, keys + (DK0,), data, before,
                   flavour, cause)
        return _BLOCKED

    def _svc(self, ds: DomainState, op):
        try:
            _, code, data = op
            data = bytes(data)[:MAX_STRING]
            ok = type(code) is int and 0 <= code <= 0xFFFFFF
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return self._bad(ds, C_BADJUMP, f"malformed trap {op!r}")
        if not self._charge(ds, 1, op):
            return _BLOCKED
        root = self.objs[ds.root]
        root.slots[TRAPCODE] = DK(Trap.SVC + code)
        self.node_epoch += 1
        ds.error = None
        keeper = self.live(root.slots[KEEPER])
        self._keeper_call(ds, keeper, Trap.SVC + code, Key(DOMAIN, ds.root, 0, root.alloc),
                          data, FAULT, C_SVC, (A_SEND, None))
        return _BLOCKED

    # ---------------------------------------------------------------- memory
    def _memory(self, ds: DomainState, op):
        write = op[0] == OP_WRITE
        try:
            _, address, arg = op
            if write:
                arg = bytes(arg)
                length = len(arg)
            else:
                length = arg
            ok = type(address) is int and type(length) is int and 0 <= length <= 1 << 20 \
                and 0 <= address < 1 << 64
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return self._bad(ds, C_BADJUMP, f"malformed memory access {op!r}")
        if not self._charge(ds, 1 + (length >> 10), op):
            return _BLOCKED
        root = self.objs[ds.root]
        mem = root.slots[ADDRESS]
        out = []
        pos, end = address, address + length
        target = -1
        while pos < end:
            found = translate(self.objs, mem, pos, write)
            if isinstance(found, Fault):
                return self._memory_fault(ds, op, found)
            page, off = found
            n = min(PAGE_SIZE - off, end - pos)
            if write:
                page.write(off, arg[pos - address:pos - address + n])
            else:
                out.append(page.read(off, n))
            target = page.id
            pos += n
        if write:
            self.page_epoch += 1
        self.log.emit(self.tick, EV_WRITE if write else EV_READ, J_NONE, ds.root, -1, target, -1,
                      address & 0x7FFFFFFFFFFFFFFF, 0, 0, length, RUNNING, RUNNING, C_NONE)
        return None if write else b"".join(out)

    def _memory_fault(self, ds: DomainState, op, fault: Fault):
        ds.error = f"memory fault {fault.code} at {fault.address:#x}"
        if fault.keeper is not None:
            node, slot = fault.keeper
            keeper = self.live(node.slots[slot])
            data = _SEGMENT_FAULT_STRING.pack(fault.code, fault.address & 0xFFFFFFFF)
            self._keeper_call(ds, keeper, 0xFFFFFFFF, self.key_to(NODE, node.id), data,
                              RESTART, C_SEGFAULT, (A_RETRY, op))
        else:
            self._trap(ds, Trap.MEMORY + fault.code, C_SEGFAULT, (A_RETRY, op))
        return _BLOCKED

def _is_key(key) -> bool:
    """A genuine-looking Key: the Key type with four int fields (5.0 == 5 must not pass)."""
    return type(key) is Key and type(key[0]) is int and type(key[1]) is int \
        and type(key[2]) is int and type(key[3]) is int


def _all_held(held, keys: tuple) -> bool:
    """Every key in ``keys`` is DK(0) or a genuine key in ``held`` (``_jump``'s test,
    without its slower look into the key registers)."""
    for key in keys:
        if key is not DK0 and not (_is_key(key) and key in held):
            return False
    return True


def _check_slot(n) -> None:
    if type(n) is not int or not 0 <= n <= 15:
        raise IndexError(f"slots and registers are numbered 0..15, not {n!r}")

