"""Small programs registered only for the test suite."""

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.kernel.process import PROGRAMS


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


# --- hostile programs (tests/kernel/test_hostile_programs.py) ---------------------------
@kl.program("t-forkbomb")
def forkbomb(dom, msg):
    """Key registers 0 a DC, 1 a bank, 2 a meter, 3 its own image. Makes domains running
    itself through the DC and FORKs each, until the DC (that is, the bank) says no; each
    child does the same. Replies (if it can) with the number it made."""
    made = 0
    while True:
        r = yield dom.call(dom.keys[0], 12, dom.keys[1])  # DC CreateDomain
        if r.rc != 0:
            break
        child = r.keys[0]
        yield dom.call(child, oc.Domain.SwapMeter, dom.keys[2])
        yield dom.call(child, oc.Domain.SwapMemory, dom.keys[3])
        for n in range(4):
            yield dom.call(child, oc.Domain.SwapKey + n, dom.keys[n])
        start = (yield dom.call(child, oc.Domain.MakeStart)).keys[0]
        yield dom.fork(start, 0)
        made += 1
    yield dom.return_(msg.resume, rc=made)


@kl.program("t-raiser")
def raiser(dom, msg):
    """Raises the exception class named by the message's string, after one invocation."""
    yield dom.call(dom.keys[15], 0)
    name = msg.data.decode() or "ValueError"
    raise {
        "ValueError": ValueError,
        "KeyError": KeyError,
        "RecursionError": RecursionError,
        "MemoryError": MemoryError,
        "StopIteration": StopIteration,
        "AttributeError": AttributeError,
    }[name]("hostile")


def raise_at_start(dom, msg):
    """Not a generator: raises as soon as the kernel calls it."""
    raise RuntimeError("no handler for you")


def not_a_generator(dom, msg):
    return 42


# kl.program refuses both (a program is a generator function); put straight into the table,
# unregistered, they test that the kernel still copes if one gets there anyway: it starts no
# program whose code is not the one registered under its name (ILLEGAL), running none of it.
PROGRAMS["t-raise-at-start"] = raise_at_start
PROGRAMS["t-not-a-generator"] = not_a_generator


@kl.program("t-deep-recursion")
def deep_recursion(dom, msg):
    """Recurses until Python stops it, inside the handler."""

    def down(n):
        return down(n + 1) + 1

    yield dom.call(dom.keys[15], 0)
    down(0)


@kl.program("t-hog")
def hog(dom, msg):
    """Invokes as fast as it can and asks for the most the kernel allows: long strings,
    big reads, every slot number, keys it does not hold, garbage ops."""
    n = 0
    while True:
        n += 1
        yield dom.call(dom.keys[15], n & 0xFFFFFFFF, data=b"x" * 4096)
        yield dom.read(0, 1 << 20)
        try:
            dom.keys[n % 40 - 20]
        except (IndexError, Exception):  # noqa: B014 - bad slot numbers raise in Python
            pass


@kl.program("t-fuzzer")
def fuzzer(dom, msg):
    """Runs the instructions in its message string, 8 bytes each: kind, key register,
    key registers of up to 2 keys to pass, 4-byte order. Kinds (mod 8): CALL, FORK,
    RETURN (to the resume key), set key register, read memory, write memory, trap, store
    a delivered key. Register numbers run to 255: numbers past 15 raise, like any bug,
    and trap to the keeper. Ends by returning to the caller, if it is still there."""
    data = msg.data
    for at in range(0, len(data) - 7, 8):
        kind, reg, a, b = data[at : at + 4]
        order = int.from_bytes(data[at + 4 : at + 8], "big")
        kind %= 8
        if kind == 0:
            yield dom.call(dom.keys[reg], order, dom.keys[a % 16], data=data[: order % 64])
        elif kind == 1:
            yield dom.fork(dom.keys[reg], order, dom.keys[a % 16], dom.keys[b % 16])
        elif kind == 2:
            yield dom.return_(msg.resume, order, dom.keys[reg % 16])
            return
        elif kind == 3:
            dom.keys[reg] = dom.keys[a]
        elif kind == 4:
            yield dom.read(order % 9000, reg)
        elif kind == 5:
            yield dom.write(order % 9000, data[:reg])
        elif kind == 6:
            yield dom.trap(order & 0xFFFFFF, data[:b])
        else:
            dom.keys[reg] = msg.keys[a % 4]
    yield dom.return_(msg.resume, 0)
