"""Primary keys: the kernel answers at once, one module per key type as the C release has.

============ ========================================== ===========================
module       key types                                  C release
============ ========================================== ===========================
``data``     data, dead and hook keys                   ``Base/jdatac.c``
``page``     page                                       ``Base/jpagec.c``
``node``     node, fetch, sense                         ``Base/jnodec.c``, ``jsensec.c``
``segment``  black segment, frontend, meter             ``Base/jsegmntc.c``, ``jmeterc.c``
``domain``   domain                                     ``Base/jdomainc.c``
``misc``     Returner, Discrim, DKC, KeyBits, domtool,  ``Base/jmiscc.c``,
             system timer, calendar clock               ``Base/sparc_time.c``
``range``    node range, page range (simulator form)    ``jnrangec.c``, ``jprangec.c``
============ ========================================== ===========================

Start and resume keys are gates, not primary keys: ``kernel/gates.py``
(``Base/jresumec.c``). A data key, or a dead key, answers KT+1 and its value as
a string (``Base/jdatac.c``: ``data``, called from ``kernel/invocation.py``); a
red segment or frontend key forwards the message (``segment.front_end``). Each
handler takes ``(kernel, invoker, key, object, order, keys, string)`` and returns
``(rc, keys, string)`` (:mod:`.reply`); the order codes are the names in
``kernel/oc.py``.

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> con.call(con.discrim, kl.oc.KT).rc == kl.oc.Discrim.AKT
True
"""

from __future__ import annotations

from collections.abc import Callable

from keykos_lab.kernel.domains import DomainState
from keykos_lab.kernel.keys import (
    DOMAIN,
    FETCH,
    FRONTEND,
    HOOK,
    METER,
    MISC,
    NODE,
    NODE_RANGE,
    PAGE,
    PAGE_RANGE,
    SEGMENT,
    SENSE,
    Key,
)
from keykos_lab.kernel.orders.data import data_answer, data_key
from keykos_lab.kernel.orders.domain import domain_key, reset
from keykos_lab.kernel.orders.misc import misc_key
from keykos_lab.kernel.orders.node import fetch_key, node_key, sense_key
from keykos_lab.kernel.orders.page import page_key
from keykos_lab.kernel.orders.range import destroy_object, range_key, sever_object
from keykos_lab.kernel.orders.reply import DATAKEY, DISCARD, DISCARD_RC, INVALID, NOT_MINE, Reply
from keykos_lab.kernel.orders.segment import TOO_DEEP, front_end, meter_key, segment_key
from keykos_lab.kernel.state import KernelState

#: ``(kernel, invoker, key, object, order, keys, string) -> (rc, keys, string)``; the
#: object's type is the key type's (a Page for a page key, a Node for node keys …).
Handler = Callable[..., Reply]

#: Key types whose handlers never change the invoker's own state (the fast path).
FAST: dict[int, Handler] = {
    PAGE: page_key,
    NODE: node_key,
    FETCH: fetch_key,
    SENSE: sense_key,
    METER: meter_key,
}

BY_TYPE: dict[int, Handler] = {
    **FAST,
    SEGMENT: segment_key,
    FRONTEND: segment_key,
    DOMAIN: domain_key,
    MISC: misc_key,
    NODE_RANGE: range_key,
    PAGE_RANGE: range_key,
    HOOK: data_key,
}


def invoke(
    k: KernelState,
    ds: DomainState,
    t: int,
    key: Key,
    obj: object,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """Dispatch a primary-key invocation by key type."""
    fn = BY_TYPE.get(t)
    if fn is None:
        return DATAKEY
    return fn(k, ds, key, obj, order, keys, data)


__all__ = [
    "BY_TYPE",
    "DATAKEY",
    "DISCARD",
    "DISCARD_RC",
    "FAST",
    "INVALID",
    "NOT_MINE",
    "TOO_DEEP",
    "Handler",
    "Reply",
    "data_answer",
    "data_key",
    "destroy_object",
    "domain_key",
    "fetch_key",
    "front_end",
    "invoke",
    "meter_key",
    "misc_key",
    "node_key",
    "page_key",
    "range_key",
    "reset",
    "segment_key",
    "sense_key",
    "sever_object",
]
