"""Gates: messages through start and resume keys (docs/primer.md#primer-gates).

A CALL makes a resume key to the caller and leaves it waiting; a start key to a
busy domain stalls the invoker on that domain's queue; a resume key is one-shot
(every resume key to a domain dies when one is used). The domain jumped to gets
the CPU at once, as ``jresume`` ends in ``startdom(jumpee)`` in the C release
(``Base/jresumec.c``; docs/decisions/0009-cpu-goes-with-the-message.md), for a
FORK too: the forker waits at the back of the run queue (``handlejumper``,
``Base/primcomc.c``).
"""

from __future__ import annotations

from keykos_lab.kernel.domains import (
    A_RETRY,
    A_SEND,
    A_START,
    A_TRAP,
    AVAILABLE,
    BLOCKED,
    RUNNING,
    TRAPCODE,
    WAITING,
    Action,
    DomainState,
    close_handler,
    hold,
)
from keykos_lab.kernel.eventlog import (
    C_NONE,
    C_SELFCALL,
    C_STALL,
    EV_DELIVER,
    EV_INVOKE,
    EV_KEEPER,
    EV_STALL,
    J_CALL,
    J_FORK,
    J_IMPLICIT,
    J_RETURN,
    key_code,
)
from keykos_lab.kernel.keys import (
    DK0,
    FAULT,
    RESUME,
    RETURN,
    START,
    Key,
)
from keykos_lab.kernel.meters import Meters
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.oc import Trap
from keykos_lab.kernel.ops import Jump, KeeperCall
from keykos_lab.kernel.process import (
    EMPTY,
    KEYS_PER_MESSAGE,
    Message,
)
from keykos_lab.kernel.state import (
    new_tuple,
)


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Gates(Meters):
    """Gates."""

    def _gate(
        self,
        ds,
        op,
        jump,
        key,
        tgt: DomainState,
        order,
        keys,
        data,
        before,
        flavour=RETURN,
        cause=C_NONE,
    ):
        """Deliver a message through a start or resume key (docs/primer.md#primer-start-resume,
        docs/primer.md#primer-domain-states)."""
        t, _, db, _ = key
        if jump == J_IMPLICIT and tgt is not ds and self.wellformed(tgt) is None:
            # A keeper in a malformed domain: the jumper goes on the junk queue
            # (jresumec.c:137-140). (An explicit jump gets KT+1: Invocation._invoke.)
            self._park(ds, "its keeper's domain is malformed")
            return BLOCKED
        if t == START and tgt.state != AVAILABLE:
            return self._busy(ds, op, jump, key, tgt, order, data, before)
        if jump == J_CALL or jump == J_IMPLICIT:
            store = self.store
            alloc = ds.resume_alloc = store.next_alloc
            store.next_alloc = alloc + 1
            keys = (keys[0], keys[1], keys[2], new_tuple(Key, (RESUME, ds.root, flavour, alloc)))
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
            log.emit_packed(
                tick,
                event | jump << 4 | before << 8 | after << 12 | cause << 16,
                ds.root,
                keyf,
                tgt.root,
                order,
                -1,
                slen,
            )
        if t == START:
            tstate = tgt.state
            tgt.state = RUNNING
            tgt.next = (A_START, new_tuple(Message, (order, keys, data, db)))
            if self._hands_over(ds, jump):
                self._run_at_once(tgt)  # startdom(jedib), jresumec.c:310, a FORK too
            else:
                self.runq.append(tgt)
            if log.enabled:
                log.emit_packed(
                    tick,
                    EV_DELIVER | jump << 4 | tstate << 8 | RUNNING << 12,
                    tgt.root,
                    keyf,
                    tgt.root,
                    order,
                    -1,
                    slen,
                )
        else:
            self._deliver_resume(key, tgt, order, keys, data, self._hands_over(ds, jump))
        if jump == J_RETURN:
            self._become_available(ds)
            return BLOCKED
        if jump == J_FORK:
            return self._forked(ds)
        return BLOCKED

    def _hands_over(self, ds: DomainState, jump: int) -> bool:
        """Whether the domain jumped to (or the returnee) runs at once: after every jump
        (``startdom``, jresumec.c:310, primcomc.c:256) but a FORK by the console, whose
        program is the Python code calling it and goes on: what it forks is queued at
        the back, in the order it forked them (docs/fidelity.md)."""
        return jump != J_FORK or ds is not getattr(self, "_console_state", None)

    def _forked(self, ds: DomainState) -> object:
        """The forker after its FORK: on the CPU queue (``handlejumper``'s ``rundom``,
        primcomc.c:281), here the back of the run queue, to be resumed with None; the
        domain jumped to (or the returnee) runs first. The console goes on at once."""
        if ds is getattr(self, "_console_state", None):
            return None
        self._ready(ds, (A_SEND, None))
        return BLOCKED

    def _busy(self, ds, op, jump, key, tgt: DomainState, order, data, before):
        """A start key to a busy domain: stall the invoker, or trap a self-call."""
        if tgt is ds:
            if jump == J_IMPLICIT:
                self._park(ds, "its keeper is a start key to itself")
                return BLOCKED
            ds.error = "jumped to itself through a start key while busy"
            self._trap(ds, Trap.SELFCALL, C_SELFCALL, (A_START, EMPTY))
            if ds.proc is not None:
                proc, ds.proc = ds.proc, None
                close_handler(proc)
            return BLOCKED
        tgt.stall.append((ds, op))
        ds.stalled_on = tgt
        passed = op.keys if type(op) is Jump or type(op) is KeeperCall else op[3]  # (a raw jump)
        n_keys = sum(k != DK0 for k in passed) + (jump in (J_CALL, J_IMPLICIT))
        self.log.emit(
            self.tick,
            EV_STALL,
            jump,
            ds.root,
            key_code(key.type, key.obj),
            tgt.root,
            key.databyte,
            order,
            -1,
            n_keys,
            len(data),
            before,
            ds.state,
            C_STALL,
        )
        return BLOCKED

    def _deliver_resume(self, key: Key, tgt: DomainState, order, keys, data, at_once: bool) -> None:
        """Resume a waiting domain; every resume key to it dies (one-shot rule).
        ``at_once``: the jumper stopped, so the CPU goes to ``tgt``."""
        tstate = tgt.state
        tgt.resume_alloc = 0
        action: Action
        flavour = key.databyte
        if flavour == RETURN:
            msg = new_tuple(Message, (order, keys, data, 0))
            if tgt.proc is None:
                action = (A_START, msg)  # the message starts a handler, holding its keys
            else:
                if keys.count(DK0) < KEYS_PER_MESSAGE:
                    hold(tgt, keys)
                action = (A_SEND, msg)
        elif flavour == FAULT and order != 0:
            action = (A_TRAP, (order, tgt.on_resume))  # back to the keeper, same instruction
            tgt.error = f"sent back to its keeper by a fault key with order {order:#x}"
        else:
            if flavour == FAULT:
                self.node(tgt.root).slots[TRAPCODE] = DK0
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
            log.emit_packed(
                self.tick,
                EV_DELIVER | tstate << 8 | RUNNING << 12,
                tgt.root,
                keyf,
                tgt.root,
                order,
                -1,
                len(data),
            )
