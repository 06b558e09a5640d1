"""The system domain's program: an operator order or a keeper's request, dispatched.

Databyte 0 is the operator's facet (:mod:`.admin`); any other databyte is the pid of
the process whose keeper sends the request, looked up in :data:`.services.HANDLERS`.
Everything a keeper sends is checked: a malformed string or an unknown order gets an
errno, never an exception.
"""

from __future__ import annotations

from keykos_lab.kernel.process import program
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix.admin import admin
from keykos_lab.programs.keynix.services import HANDLERS


@program("keynix", system=True)
def keynix(dom, msg):
    """Dispatch: databyte 0 is the operator, any other the pid of a keeper."""
    if msg.databyte == 0:
        yield from admin(dom, msg)
        return
    try:
        ints, payload = abi.unpack(msg.data)
    except ValueError:
        yield dom.return_(msg.resume, abi.EINVAL)
        return
    handler = HANDLERS.get(msg.order)
    if handler is None:
        yield dom.return_(msg.resume, abi.ENOSYS)
        return
    yield from handler(dom, msg, msg.databyte, ints, payload)
