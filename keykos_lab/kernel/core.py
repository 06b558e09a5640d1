"""The nanokernel: the scheduler, and a program's handler from start to end.

Everything a domain does goes through :meth:`Kernel._execute`: a CALL, RETURN
or FORK on a key (docs/primer.md#primer-gates), or a memory access through its address
segment (docs/primer.md#primer-segments). Primary keys answer at once
(``keykos_lab.kernel.orders``);
gate keys deliver messages to domains; faults make implicit calls to keepers
(docs/primer.md#primer-keepers). Domains run from a FIFO run queue in quanta, each invocation
charged in
ticks to the domain's meter chain (D4), so a run is reproducible event for event;
a jump through a gate hands the rest of the quantum to the domain it reaches.

>>> k = Kernel()
>>> k.console.call(k.console.dkc, 0, data=b"\\0\\0\\0\\0\\0\\x07").keys[0]
<DK(7)>
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from types import GeneratorType
from typing import Any, cast

from keykos_lab.kernel import journal
from keykos_lab.kernel.console import Console
from keykos_lab.kernel.domains import (
    A_RETRY,
    A_SEND,
    A_START,
    A_TRAP,
    AVAILABLE,
    BLOCKED,
    RUNNING,
    WAITING,
    DomainState,
    hold,
)
from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import (
    C_EXCEPTION,
    C_ILLEGAL,
    C_NONE,
    C_TRAP,
    EV_INVOKE,
    EV_STATE,
    J_CALL,
    J_NONE,
    MISC_BASE,
    ROW,
    kind_field,
)
from keykos_lab.kernel.fastpath import GATES, PRIMARY_CALLS, pad
from keykos_lab.kernel.history import History
from keykos_lab.kernel.invocation import Invocation
from keykos_lab.kernel.keys import (
    DK0,
    MISC,
    Key,
)
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.oc import Trap
from keykos_lab.kernel.ops import describe_exception, parse
from keykos_lab.kernel.orders import reset
from keykos_lab.kernel.process import (
    CALL_KEYS,
    EMPTY,
    MAX_ORDER,
    MAX_STRING,
    NO_KEYS,
    OP_CALL,
    PROGRAM_CODE,
    PROGRAMS,
    Dom,
    Message,
)
from keykos_lab.kernel.segments import image_program
from keykos_lab.kernel.state import (
    PLAIN_REPLIES,
    all_held,
    new_tuple,
    plain_reply,
)

_JUMP_FIELDS = 5  # a jump op: (code, key, order, keys, string)
_KEY_FIELDS = 4  # (type, object, databyte, alloc); ops.is_key, inline
#: What ``checked`` holds before any key passed: no value a program yields is this object.
_NONE_CHECKED = object()
QUANTUM_OPS = 64  # ops a domain runs before the scheduler moves on
_pack = ROW.pack_into
_ROW_SIZE = ROW.size
#: The ``kind`` field of a primary CALL's row, by the invoker's state (it does not change).
_PRIMARY_CALL_KIND = tuple(kind_field(EV_INVOKE, J_CALL, s, s, C_NONE) for s in range(4))
_NO_DATA = b""


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Kernel(Invocation):
    """A KeyKOS nanokernel with an empty store, a prime meter and a console.

    The system programs and the console's well-known keys are added by
    ``keykos_lab.system.boot.boot``; ``keykos_lab.Kernel`` does both.
    """

    #: None, or ``wrap(ds, msg, handler) -> handler``: a new handler of a domain goes
    #: through it before it first runs. The referee (``analysis/watch.py``) watches
    #: domains whose behaviour is declared this way, in its copies of a kernel; the
    #: kernel itself never sets it.
    handler_wrapper: Callable[[DomainState, Message, Generator[Any, Any, Any]], Any] | None = None

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.console = Console(self)  # the console is kernel code, made last
        self._console_state = self.console.state
        self.console.journal.restart(len(self.log))
        History.start(self)  # what capability_graph(at=seq) rebuilds the past from

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
            raise KernelError(
                f"cannot copy a kernel while handlers are mid-flight (generators "
                f"cannot be copied): {names}"
            )
        return copy.deepcopy(self)

    def stop(self, ds: DomainState, why: str) -> None:
        """Stop a domain for good: its handler ended, its resume keys void, out of every
        queue (run queue, stall queues), parked with ``why`` (``k.objects()`` shows it)
        until someone resets it (Domain MakeAvailable). Called from outside, it is an
        input the journal records (:mod:`.journal`)."""
        j = self.console.journal
        if j.depth:
            self._stop(ds, why)
            return
        if not isinstance(why, str) or len(why) > journal.MAX_TEXT:
            raise ValueError(f"why is a string of at most {journal.MAX_TEXT} characters")
        j.depth += 1
        try:
            self._stop(ds, why)
        finally:
            j.depth -= 1
        self.console._recorded(("stop", ds.root, why))

    def _stop(self, ds: DomainState, why: str) -> None:
        reset(self, ds, WAITING)
        self._park(ds, why)

    def step(self) -> bool:
        """Run the first domain of the run queue for one quantum (a seeded kernel
        takes one at random). False when nothing is runnable.

        A domain that CALLs or RETURNs through a gate hands the CPU to the domain
        it jumps to, as ``jresume`` ends in ``startdom(jumpee)`` in the C release:
        that domain goes to the front of the queue and, inside a quantum, runs at
        once (``_dispatch``). Called from outside, it is an input the journal records
        (:mod:`.journal`); the console steps through ``_step``.

        >>> Kernel().step()
        False
        """
        j = self.console.journal
        if j.depth:
            return self._step()
        j.depth += 1
        try:
            ran = self._step()
        finally:
            j.depth -= 1
        self.console._recorded(("step", ran))
        return ran

    def _step(self) -> bool:
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
        self.running = ds
        try:
            self._dispatch(ds)
        except KeyboardInterrupt:  # Ctrl-C: the domain it stopped in stops, the interrupt goes on
            self.console.journal.broken = "an interrupt (Ctrl-C) stopped a domain part way"
            self._stop(self.running or ds, "interrupted (Ctrl-C) while it ran")
            raise
        except Exception as exc:  # a bug of the kernel's own: contain it, say where
            failed = self.running or ds
            self.console.journal.broken = "the kernel failed inside a quantum (a bug)"
            self._stop(failed, f"the kernel failed while running it: {type(exc).__name__}")
            raise KernelError(
                f"the kernel failed while running domain #{failed.root} "
                f"({failed.program or '?'}): {type(exc).__name__}: {exc}; "
                f"that domain is stopped, the rest goes on"
            ) from exc
        return True

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
                    value = None if self._start_program(ds, value) else BLOCKED
                elif kind == A_RETRY:
                    value = self.retry(ds, value)
                elif kind == A_TRAP:
                    code, on_resume = value
                    self._trap(ds, code, C_TRAP, on_resume)
                    value = BLOCKED
                if value is not BLOCKED:
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
            ds = self.running = runq.popleft()

    def _run(self, ds: DomainState, value, budget: int) -> int:
        """Send ``value`` into ds's handler and carry out the ops it yields until it
        stops or ``budget`` ops are done (then it is ready again); the budget left."""
        assert ds.proc is not None, "only a domain with a handler runs"
        send = ds.proc.send
        held = ds.held
        objs = self.objs
        log = self.log
        root = ds.root
        checked = _NONE_CHECKED  # the last key found genuine and held (``held`` only grows)
        while budget:
            budget -= 1
            try:
                op = send(value)
            except StopIteration:
                self._end_handler(ds)
                return budget
            except BaseException as exc:  # the program's bug is the domain's fault, not ours
                self._program_exception(ds, exc)
                if isinstance(exc, KeyboardInterrupt):
                    raise  # the researcher's Ctrl-C: the domain is contained, the call stops
                return budget
            # Fast paths for a jump _jump would accept as it is: a genuine held key,
            # a 32-bit order, bytes of at most 4096, a tuple of at most 3 held keys,
            # the CPU already borrowed. Anything else, and any target a fast path
            # does not cover, goes the general way below (_jump, _execute).
            if type(op) is tuple and len(op) == _JUMP_FIELDS:
                code, key, order, keys, data = op
                if key is not checked and type(key) is Key and len(key) == _KEY_FIELDS:
                    checked = _NONE_CHECKED  # until this key passes
                    # The fields as the program made them (Any: compiled code must not
                    # check them as ints before the kernel does, just below).
                    t, o, db, a = cast("tuple[Any, Any, Any, Any]", key)
                    if (
                        type(t) is int
                        and type(o) is int
                        and type(db) is int
                        and type(a) is int
                        and key in held
                    ):
                        checked = key  # and how the fast paths take it
                        handler = PRIMARY_CALLS.get(t)
                        gate = GATES.get(t)
                        target = o if t != MISC else -1  # misc keys designate no object
                        keyf = (t + 1 if t != MISC else MISC_BASE + o + 1) | (db + 1) << 8
                if (
                    key is checked
                    and type(code) is int
                    and type(order) is int
                    and 0 <= order <= MAX_ORDER
                    and (data is _NO_DATA or type(data) is bytes and len(data) <= MAX_STRING)
                    and ds.cpu > len(data) >> 10
                    and type(keys) is tuple
                    and (not keys or (len(keys) <= CALL_KEYS and all_held(held, keys)))
                ):
                    if handler is not None:
                        obj = objs[target] if target >= 0 else None
                        if code == OP_CALL and (target < 0 or obj is not None and obj.alloc == a):
                            # CALL on a live primary key whose handler never changes its
                            # invoker's state (orders.FAST, misc keys): _jump → _invoke →
                            # orders.invoke → _primary_reply, with the same checks, changes
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
                                _pack(
                                    log._buf,
                                    off,
                                    tick,
                                    _PRIMARY_CALL_KIND[before],
                                    root,
                                    kf,
                                    target,
                                    order,
                                    rc,
                                    slen,
                                )
                                log._off = off = off + _ROW_SIZE
                                if off == log._cap:
                                    log.next_chunk()
                            if rkeys:
                                rkeys = pad(tuple(rkeys))
                                held = hold(ds, rkeys)
                                value = new_tuple(Message, (rc, rkeys, rdata, 0))
                            elif rdata:
                                value = new_tuple(Message, (rc, NO_KEYS, rdata, 0))
                            else:
                                value = PLAIN_REPLIES.get(rc) or plain_reply(rc)
                            continue
                    elif gate is not None:  # fastpath.py: start and resume keys
                        value = gate(self, ds, code, key, order, keys, data, op)
                        if value is BLOCKED:
                            return budget
            # The general path: the yield parsed once into an op the kernel owns.
            value = self._execute(ds, parse(op))
            if value is BLOCKED:
                return budget
            held = ds.held
            checked = _NONE_CHECKED
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
        if fn is None or fn.__code__ is not PROGRAM_CODE.get(cast(str, name)):
            ds.error = (
                "no program image at address 0"
                if name is None
                else f"program {name!r} is not registered"
                if fn is None
                else f"program {name!r} has had its code changed since it was registered"
            )
            self._trap(ds, Trap.ILLEGAL, C_ILLEGAL, (A_START, msg))
            return False
        dom = Dom(self, ds)  # one per activation: a dom kept past its handler is dead
        ds.program = name
        ds.held = msg.keys  # hold() makes it a set when the handler gets more
        try:
            proc = fn(dom, msg)
        except BaseException as exc:
            self._program_exception(ds, exc)
            if isinstance(exc, KeyboardInterrupt):
                raise
            return False
        if type(proc) is not GeneratorType:
            ds.error = f"program {name!r} is not a generator function"
            self._trap(ds, Trap.ILLEGAL, C_ILLEGAL, (A_START, msg))
            return False
        wrap = self.handler_wrapper
        if wrap is not None:
            proc = wrap(ds, msg, proc)
        dom._proc = ds.proc = proc
        return True

    def program_image(self, root: int) -> str | None:
        """The program named by the image at address 0 of a domain's memory, or None.

        >>> k = Kernel(); k.program_image(k.console.root) is None
        True
        """
        return image_program(self.objs, root)

    def _program_exception(self, ds: DomainState, exc: BaseException) -> None:
        ds.proc = None
        ds.held = ()
        ds.error = describe_exception(exc)  # runs none of the program's code
        self._trap(ds, Trap.EXCEPTION, C_EXCEPTION, (A_START, EMPTY))

    def _end_handler(self, ds: DomainState) -> None:
        """A handler that ends without RETURN returns to DK(0): it becomes available."""
        before = ds.state
        self._become_available(ds)
        self.log.emit(
            self.tick, EV_STATE, J_NONE, ds.root, -1, -1, -1, 0, -1, 0, 0, before, AVAILABLE, C_NONE
        )

    def retry(self, ds: DomainState, op):
        """Retry a stalled jump; if the domain that woke us is still free (we could
        not use the wake-up: a dry meter, a trap), wake its next stalled invoker."""
        woken_by, ds.woken_by = ds.woken_by, None
        value = self._execute(ds, op)
        if woken_by is not None and woken_by.state == AVAILABLE and woken_by.stall:
            self.wake_stalled(woken_by)
        return value
