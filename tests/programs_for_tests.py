"""Small programs registered only for the test suite."""

import keykos_lab as kl
from keykos_lab import oc


@kl.program("t-facets")
def facets(dom, msg):
    """Replies with rc = the databyte of the start key used."""
    yield dom.return_(msg.resume, rc=msg.databyte)


@kl.program("t-stasher")
def stasher(dom, msg):
    """Facet 0: keep the caller's resume key in key register 2 and go available.
    Facet 1: FORK the kept key with the order, then CALL it again; reply with that rc."""
    if msg.databyte == 0:
        dom.keys[2] = msg.resume
        return
    kept = dom.keys[2]
    yield dom.fork(kept, msg.order, data=msg.data)
    again = yield dom.call(kept, 0)
    yield dom.return_(msg.resume, rc=again.rc)


@kl.program("t-trap-logger")
def trap_logger(dom, msg):
    """Domain keeper that records the trap (count in r0, code in r1, string length
    in r2), keeps the fault key in key register 1 and does not resume."""
    dom.regs[0] = dom.regs[0] + 1
    dom.regs[1] = msg.order
    dom.regs[2] = len(msg.data)
    dom.keys[1] = msg.keys[3]
    dom.keys[2] = msg.keys[2]
    return
    yield


@kl.program("t-worker")
def worker(dom, msg):
    """Makes msg.order primary invocations (data key in register 15), replies."""
    for _ in range(msg.order):
        yield dom.call(dom.keys[15], 0)
    yield dom.return_(msg.resume, rc=msg.order)


@kl.program("t-marker")
def marker(dom, msg):
    """Sets register 0 to 42 and ends: shows that it ran."""
    dom.regs[0] = 42
    return
    yield


@kl.program("t-garbage")
def garbage(dom, msg):
    yield "not an invocation"


@kl.program("t-forger")
def forger(dom, msg):
    yield dom.call(kl.Key(1, 5, 0, 1), oc.Page.Clear)


@kl.program("t-longstring")
def longstring(dom, msg):
    yield dom.return_(msg.resume, data=b"x" * 5000)


@kl.program("t-returner-server")
def returner_server(dom, msg):
    """The server idiom: RETURN(returner, rc; k1, k2, k3, caller)."""
    yield dom.return_(dom.keys[0], rc=msg.order + 1, keys=(*msg.keys[:3], msg.resume))


@kl.program("t-ordinal")
def ordinal(dom, msg):
    """A factory yield that answers with rc = data register 0 (the ordinal)."""
    yield dom.return_(msg.resume, rc=dom.regs[0])


@kl.program("t-yield-self")
def yield_self(dom, msg):
    """A factory yield: its creation (databyte 0) is answered with a start key to
    itself with databyte 1; through that key it acts as echo."""
    if msg.databyte == 0:
        start = (yield dom.call(dom.keys[3], oc.Domain.MakeStart, data=b"\1")).keys[0]
        yield dom.return_(msg.resume, rc=0, keys=(start,))
    yield dom.return_(msg.resume, rc=msg.order, data=msg.data)


@kl.program("t-repmem")
def repmem(dom, msg):
    """Moves the message's first key and its resume key into entry registers 12
    and 15, then replaces its own memory with key register 0 (an image), with the
    entry order 99 and string b"entry: " + the string it got."""
    dom.keys[12] = msg.keys[0]
    dom.keys[15] = msg.resume
    entry = bytes(8) + (99).to_bytes(4, "big") + b"entry: " + msg.data
    yield dom.call(dom.keys[3], oc.Domain.ReplaceMemory, dom.keys[0], data=entry)
