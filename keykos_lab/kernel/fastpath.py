"""Fast paths for the commonest jumps, each a short cut through the general path.

The general path for a jump is ``Kernel._jump`` (check the op), ``_invoke``
(find out what the key designates), then ``_primary_reply`` or ``_gate`` and
``_deliver_resume`` (act, log). An op reaches the fast paths only after
:meth:`Kernel._run` has checked everything ``_jump`` would: the key and
every passed key genuine and held, the order a 32-bit int, the string ``bytes``
of at most 4096, at most 3 keys, and the jump's CPU already borrowed from the
meters. What is left is the part of ``_invoke`` that looks at the target. When
the target is not the common case a path returns :data:`GENERAL` *before
changing anything*, and the op takes the general path as if there were no fast
path at all.

Each path does the same state changes as the general path does for its case,
and writes the same log rows; ``tests/kernel/test_fastpath.py`` runs workloads
with the fast paths on and off and compares logs and states.

* primary CALLs (``PRIMARY_CALLS``: ``orders.FAST``'s handlers, which never
  change the invoker's own state, and the misc keys) are done inline in
  ``Kernel._run``, the hottest loop of the kernel;
* :func:`call_start` — CALL through a live start key to an available domain;
* :func:`return_resume` — RETURN through a live return-flavour resume key to
  another domain.
"""

from __future__ import annotations

import struct

from keykos_lab.kernel import orders
from keykos_lab.kernel.domains import (
    A_RETRY,
    A_SEND,
    A_START,
    AVAILABLE,
    BLOCKED,
    RUNNING,
    WAITING,
    DomainState,
    hold,
)
from keykos_lab.kernel.eventlog import EV_DELIVER, EV_INVOKE, J_CALL, J_RETURN, ROW
from keykos_lab.kernel.keys import DK0, MISC, OBJECT_TYPES, RESUME, RETURN, START, Key
from keykos_lab.kernel.process import KEYS_PER_MESSAGE, NO_KEYS, OP_CALL, OP_RETURN, Message
from keykos_lab.kernel.state import KernelState

GENERAL = object()  # "not my case": take the general path (nothing was changed)

new_tuple = tuple.__new__
_ROW_SIZE = ROW.size
_pack2 = struct.Struct("<" + ROW.format.lstrip("<") * 2).pack_into  # two rows

# Packed ``kind`` fields of the rows the fast paths write (eventlog.kind_field).
_CALL_INVOKE = EV_INVOKE | J_CALL << 4 | RUNNING << 8 | WAITING << 12
_CALL_DELIVER = EV_DELIVER | J_CALL << 4 | AVAILABLE << 8 | RUNNING << 12
_RETURN_INVOKE = EV_INVOKE | J_RETURN << 4 | RUNNING << 8 | AVAILABLE << 12


def _two_rows(log, tick, kind1, actor1, kind2, actor2, keyf, target, order, slen) -> None:
    """Two rows that differ only in ``kind`` and ``actor`` (an invocation and its
    delivery), packed with one call when the chunk has room for both; the same
    bytes as two ``EventLog.emit_packed`` calls."""
    off = log._off
    if off + 2 * _ROW_SIZE <= log._cap:
        _pack2(
            log._buf,
            off,
            tick,
            kind1,
            actor1,
            keyf,
            target,
            order,
            -1,
            slen,
            tick,
            kind2,
            actor2,
            keyf,
            target,
            order,
            -1,
            slen,
        )
        log._off = off = off + 2 * _ROW_SIZE
        if off == log._cap:
            log.next_chunk()
    else:
        log.emit_packed(tick, kind1, actor1, keyf, target, order, -1, slen)
        log.emit_packed(tick, kind2, actor2, keyf, target, order, -1, slen)


def pad(keys: tuple) -> tuple:
    """The four passed keys, DK(0) where none was passed (as ``_jump`` pads them)."""
    n = len(keys)
    return keys if n == KEYS_PER_MESSAGE else keys + NO_KEYS[n:]


_PAD = ((DK0, DK0, DK0), (DK0, DK0), (DK0,), ())  # DK(0)s after n of 3 keys


def call_start(k, ds, code, key, order, keys, data, op):
    """CALL through a start key to an available domain: ``_invoke`` → ``_gate``.

    Mints the caller's resume key, makes the caller wait and the target run
    with the message; two rows (the invocation, the delivery).
    """
    _, o, db, a = key
    obj = k.objs[o]
    tgt = k.domains.get(o)
    if (
        code != OP_CALL
        or obj is None
        or obj.alloc != a
        or tgt is None
        or tgt.state != AVAILABLE
        or ds.state != RUNNING
        or not _known_wellformed(k, tgt)
    ):
        return GENERAL  # dead key, no domain state yet, busy or malformed target …
    cost = 1 + (len(data) >> 10)
    ds.cpu -= cost
    k.tick = tick = k.tick + cost
    store = k.store
    alloc = ds.resume_alloc = store.next_alloc
    store.next_alloc = alloc + 1
    resume = new_tuple(Key, (RESUME, ds.root, RETURN, alloc))
    keys = (*keys, *_PAD[len(keys)], resume)
    ds.state = WAITING
    ds.on_resume = (A_RETRY, op)
    log = k.log
    if log.enabled:
        keyf = (START + 1) | (db + 1) << 8 | (4 - keys.count(DK0)) << 17
        _two_rows(log, tick, _CALL_INVOKE, ds.root, _CALL_DELIVER, o, keyf, o, order, len(data))
    tgt.state = RUNNING
    tgt.next = (A_START, new_tuple(Message, (order, keys, data, db)))
    k._run_at_once(tgt)
    return BLOCKED


def return_resume(k, ds, code, key, order, keys, data, op):
    """RETURN through a return-flavour resume key to another domain:
    ``_invoke`` → ``_gate`` → ``_deliver_resume``, then ``_become_available``."""
    _, o, db, a = key
    tgt = k.domains.get(o)
    if (
        code != OP_RETURN
        or tgt is None
        or tgt.resume_alloc != a
        or tgt is ds
        or db != RETURN
        or k.objs[o] is None
        or ds.state != RUNNING
        or not _known_wellformed(k, tgt)
    ):
        return GENERAL  # dead key, another flavour, a domain resuming itself, malformed …
    cost = 1 + (len(data) >> 10)
    ds.cpu -= cost
    k.tick = tick = k.tick + cost
    n = len(keys)
    if n != KEYS_PER_MESSAGE:
        keys = keys + NO_KEYS[n:]
    # _deliver_resume, return flavour
    tstate = tgt.state
    tgt.resume_alloc = 0
    msg = new_tuple(Message, (order, keys, data, 0))
    n_keys = 4 - keys.count(DK0)
    if tgt.proc is None:
        tgt.next = (A_START, msg)
    else:
        if n_keys:
            hold(tgt, keys)
        tgt.next = (A_SEND, msg)
    tgt.on_resume = None
    tgt.parked = None
    tgt.state = RUNNING
    k._run_at_once(tgt)
    log = k.log
    if log.enabled:  # the RETURN, then the delivery
        keyf = (RESUME + 1) | (RETURN + 1) << 8 | n_keys << 17
        _two_rows(
            log,
            tick,
            _RETURN_INVOKE,
            ds.root,
            EV_DELIVER | tstate << 8 | RUNNING << 12,
            o,
            keyf,
            o,
            order,
            len(data),
        )
    k._become_available(ds)
    return BLOCKED


#: key type -> gate fast path (each takes one jump: CALL a start key, RETURN a resume key).
GATES = {START: call_start, RESUME: return_resume}
#: key type -> primary handler for a CALL (``orders.FAST`` and the misc keys).
PRIMARY_CALLS: dict[int, orders.Handler] = {**orders.FAST, MISC: orders.misc_key}

assert all(t in OBJECT_TYPES for t in orders.FAST)


def _known_wellformed(k: KernelState, tgt: DomainState) -> bool:
    """The target was well-formed when its program image was last found and no node slot
    or page changed since (``Kernel._start_program`` caches it with both epochs). Anything
    else — a malformed domain included, which gets KT+1 — goes the general way."""
    cache = tgt.image
    return cache is not None and cache[0] == k.page_epoch and cache[1] == k.node_epoch
