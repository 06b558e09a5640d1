"""``bank0``: the minimal prime space bank, until the full bank arrives.

Domain code that holds the node-range key (key register 0) and the page-range
key (register 1) and nothing else. It speaks the space bank's order codes for
buying, selling and severing single objects, and buying two or three at a time
(sb.h); limits, sub-banks and reclamation belong to the full bank.
"""

from __future__ import annotations

from ..kernel.keys import DK0
from ..kernel.oc import KT, RC
from ..kernel.process import program

NODE_RANGE_REG, PAGE_RANGE_REG = 0, 1
_SINGLE = {0: (NODE_RANGE_REG, 0), 1: (NODE_RANGE_REG, 1), 2: (NODE_RANGE_REG, 2),
           16: (PAGE_RANGE_REG, 0), 17: (PAGE_RANGE_REG, 1), 18: (PAGE_RANGE_REG, 2)}
_MANY = {7: (NODE_RANGE_REG, 2), 8: (NODE_RANGE_REG, 3), 23: (PAGE_RANGE_REG, 2),
         24: (PAGE_RANGE_REG, 3)}


@program("bank0")
def bank0(dom, msg):
    order = msg.order
    if order in _SINGLE:
        reg, op = _SINGLE[order]
        r = yield dom.call(dom.keys[reg], op, msg.keys[0])
        yield dom.return_(msg.resume, rc=r.rc, keys=r.keys[:1] if op != 1 else ())
    elif order in _MANY:
        reg, n = _MANY[order]
        got = []
        for _ in range(n):
            r = yield dom.call(dom.keys[reg], 0)
            got.append(r.keys[0])
        yield dom.return_(msg.resume, rc=0, keys=got)
    elif order == KT:
        yield dom.return_(msg.resume, rc=0x0C)
    else:
        yield dom.return_(msg.resume, rc=RC.INVALIDOC, keys=(DK0,))
