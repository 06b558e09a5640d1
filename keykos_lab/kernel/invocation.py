"""Invocation: one op of a program, checked, charged and carried out (docs/primer.md#primer-jumps).

A jump (CALL, RETURN, FORK) names a key the domain holds, an order code, up to
three keys (four for RETURN and FORK) and a string of at most 4096 bytes.
Anything else traps to the domain keeper. A primary key answers at once
(``kernel/orders/``); a start or resume key delivers the message
(``gates``); a red segment with a keeper slot forwards it to its keeper.
"""

from __future__ import annotations

from collections.abc import Sequence

from keykos_lab.kernel import orders
from keykos_lab.kernel.domains import (
    A_START,
    AVAILABLE,
    BLOCKED,
    RUNNING,
    DomainState,
    close_handler,
    hold,
)
from keykos_lab.kernel.errors import KernelError
from keykos_lab.kernel.eventlog import (
    C_BADJUMP,
    C_BADKEY,
    C_NONE,
    EV_INVOKE,
    J_CALL,
    J_FORK,
    J_RETURN,
    key_code,
)
from keykos_lab.kernel.keys import (
    DATA,
    DK0,
    FRONTEND,
    MISC,
    OBJECT_TYPES,
    RESUME,
    RETURNER,
    SEGMENT,
    START,
    Key,
)
from keykos_lab.kernel.memory import Memory
from keykos_lab.kernel.native import mypyc_attr
from keykos_lab.kernel.oc import Trap
from keykos_lab.kernel.ops import BadOp, Jump, KeeperCall, MemoryOp, Svc, describe, parse
from keykos_lab.kernel.orders.segment import keeper_slot, red_format
from keykos_lab.kernel.process import (
    EMPTY,
    KEYS_PER_MESSAGE,
    NO_KEYS,
    Message,
)
from keykos_lab.kernel.state import JUMPS, new_tuple


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Invocation(Memory):
    """Invocation."""

    def _execute(self, ds: DomainState, op: object) -> object:
        """Carry out an op the kernel owns — parsed from a program's yield (``ops.parse``),
        kept for a retry, or a keeper call the kernel made — for domain ``ds``; the value
        to resume it with, or BLOCKED. A fast path keeps its op as the checked, immutable
        tuple it was yielded as; it is parsed here like any other."""
        if type(op) is tuple:
            op = parse(op)
        if type(op) is Jump:
            return self._jump(ds, op)
        if type(op) is MemoryOp:
            return self._memory(ds, op)
        if type(op) is Svc:
            return self._svc(ds, op)
        if type(op) is KeeperCall:
            return self._implicit(ds, op)
        if type(op) is BadOp:
            return self._bad(ds, op.cause, op.why)
        raise KernelError(f"domain #{ds.root}: the kernel kept {describe(op)} as an op")

    def _bad(self, ds: DomainState, cause: int, why: str) -> object:
        ds.error = why
        self._trap(ds, Trap.BADKEY if cause == C_BADKEY else Trap.BADJUMP, cause, (A_START, EMPTY))
        if ds.proc is not None:
            proc, ds.proc = ds.proc, None
            close_handler(proc)
            ds.held = ()
        return BLOCKED

    def _jump(self, ds: DomainState, op: Jump) -> object:
        """A parsed jump: every key named must be one the domain holds."""
        code, key, order, keys, data = op
        held = ds.held
        if key not in held and not self._holds(ds, key):
            return self._bad(ds, C_BADKEY, f"invoked {key!r}, which it does not hold")
        for k in keys:
            if k not in held and not self._holds(ds, k):
                return self._bad(ds, C_BADKEY, f"passed {k!r}, which it does not hold")
        nk = len(keys)
        if nk < KEYS_PER_MESSAGE:
            keys = keys + NO_KEYS[nk:]
        cost = 1 + (len(data) >> 10)
        if ds.cpu < cost and not self._borrow(ds, cost, op):
            return BLOCKED
        ds.cpu -= cost
        self.tick += cost
        return self._invoke(ds, op, JUMPS[code], key, order, keys, data)

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
                elif tgt is ds or self.wellformed(tgt) is not None:
                    return self._gate(ds, op, jump, key, tgt, order, keys, data, before)
                else:
                    t = DATA  # a malformed domain: jdata(key) (jresumec.c:135-143)
            elif obj.alloc != a:
                t = DATA
            elif t == START:
                tgt = self.domains.get(o) or self.domain_state(o)
                if tgt is ds or self.wellformed(tgt) is not None:
                    return self._gate(ds, op, jump, key, tgt, order, keys, data, before)
                t = DATA  # a malformed domain: jdata(key) (jresumec.c:135-143)
            elif t == SEGMENT or t == FRONTEND:
                # A red segment key (or a frontend key) sends the message on to its
                # node's keeper slot (jsegment, jfrontend: orders/segment.py).
                routed = orders.front_end(self, key, keys[2])
                if isinstance(routed, str):
                    return self._bad(
                        ds,
                        C_BADJUMP,
                        "a chain of frontend keepers too long to follow (jsegmntc.c:222)",
                    )
                if routed is not None:
                    target, k3 = routed
                    keys = (keys[0], keys[1], k3, keys[3])
                    return self._invoke(ds, op, jump, target, order, keys, data)
        else:
            obj = None
        rkeys: Sequence[Key]
        if t == MISC and o == RETURNER and jump != J_CALL:
            # RETURN or FORK to the returner sends the message on to key 4
            # (docs/primer.md#primer-misc-keys).
            fwd = keys[3]
            if fwd.type == RESUME and self.live(fwd) == fwd:
                keys = (keys[0], keys[1], keys[2], DK0)
                return self._invoke(ds, op, jump, fwd, order, keys, data)
            rc, rkeys, rdata = 0, NO_KEYS, b""
        elif t == DATA:  # a data key or a dead one: KT+1 and its value (jdatac.c:14)
            rc, rkeys, rdata = orders.data_answer(key if key.type == DATA else DK0, order)
        else:
            rc, rkeys, rdata = orders.invoke(self, ds, t, key, obj, order, keys, data)
            if rc == orders.DISCARD_RC:  # the invoker's own process is gone: no reply
                self.log.emit(
                    self.tick,
                    EV_INVOKE,
                    jump,
                    ds.root,
                    key_code(t, o),
                    o,
                    db,
                    order,
                    -1,
                    4 - keys.count(DK0),
                    len(data),
                    before,
                    ds.state,
                    C_NONE,
                )
                return BLOCKED
        return self._primary_reply(ds, jump, key, order, keys, data, rc, rkeys, rdata, before)

    def _primary_reply(self, ds, jump, key, order, keys, data, rc, rkeys, rdata, before):
        if len(rkeys) < KEYS_PER_MESSAGE:
            rkeys = tuple(rkeys) + NO_KEYS[len(rkeys) :]
        t, o, db, a = key
        if jump == J_CALL:
            self.log.emit(
                self.tick,
                EV_INVOKE,
                J_CALL,
                ds.root,
                key_code(t, o),
                o if t in OBJECT_TYPES else -1,
                db,
                order,
                rc,
                4 - keys.count(DK0),
                len(data),
                before,
                before,
                C_NONE,
            )
            hold(ds, rkeys)
            return new_tuple(Message, (rc, rkeys, rdata, 0))
        after = RUNNING if jump == J_FORK else AVAILABLE
        self.log.emit(
            self.tick,
            EV_INVOKE,
            jump,
            ds.root,
            key_code(t, o),
            o if t in OBJECT_TYPES else -1,
            db,
            order,
            rc,
            4 - keys.count(DK0),
            len(data),
            before,
            after,
            C_NONE,
        )
        ret = keys[3]
        if ret.type == RESUME and self.live(ret) == ret:
            tgt = self.domains[ret.obj]
            # getreturnee: startdom(returnee), primcomc.c:256 (after a FORK too)
            self._deliver_resume(ret, tgt, rc, rkeys, rdata, self._hands_over(ds, jump))
        if jump == J_RETURN:
            self._become_available(ds)
            return BLOCKED
        return self._forked(ds)  # a FORK: handlejumper's rundom (primcomc.c:281)

    def _front_end(self, node):
        """The key in a red segment node's keeper slot, or None when the node's format
        names no keeper slot or is bad (then keys to it act as black segment keys;
        ``check_format_key``, jsegmntc.c:33)."""
        fmt = red_format(self, node)
        return None if fmt is None else self.live(node.slots[keeper_slot(fmt)])
