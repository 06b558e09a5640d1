"""Small programs for tests, notebooks and demonstrations.

====================== ===============================================================
``echo``               replies with rc = the order code, the same string, its first 3 keys
``counter``            keeps a 64-bit count at address 4096 of its segment; +1 per call
``proxy``              CALLs key register 0 with the message, replies with the answer
``spinner``            invokes a data key forever: only its meter stops it
``crasher``            raises ZeroDivisionError: the trap goes to its domain keeper
``refiller``           meter keeper: puts register 0's ticks back in the meter, restarts
``resumer``            domain keeper: counts traps in register 0, clears them, resumes
``pager``              segment keeper: buys a page (bank in key register 0) for the hole
``svc_user``           makes a system call (trap 7) and replies with register 0 after it
``svc_keeper``         domain keeper: answers system calls by writing register 0 (PutRegs)
``self_caller``        calls the start key in key register 0 (itself): a self-call trap
``holder``             stores the message's first key in key register 1 and replies
``image_maker``        factory yield: answers its creation with its component 0
``password_checker``   factory yield: the setuid example (a secret page as a hole)
``client``             calls register 0 with its own bank, meter and key (registers 1–3)
``adversary``          factory yield: tries to leak through every key it can reach
``trojan``             factory yield: a start key to itself; tries to leak when told
====================== ===============================================================
"""

from __future__ import annotations

import struct

from keykos_lab.kernel import oc
from keykos_lab.kernel.process import program

COUNTER_ADDRESS = 4096


@program("echo")
def echo(dom, msg):
    yield dom.return_(msg.resume, rc=msg.order, data=msg.data, keys=msg.keys[:3])


@program("counter")
def counter(dom, msg):
    raw = yield dom.read(COUNTER_ADDRESS, 8)
    count = int.from_bytes(raw, "big") + 1
    yield dom.write(COUNTER_ADDRESS, count.to_bytes(8, "big"))
    yield dom.return_(msg.resume, rc=0, data=count.to_bytes(8, "big"))


@program("proxy")
def proxy(dom, msg):
    r = yield dom.call(dom.keys[0], msg.order, *msg.keys[:3], data=msg.data)
    yield dom.return_(msg.resume, rc=r.rc, keys=r.keys[:3], data=r.data)


@program("spinner")
def spinner(dom, msg):
    while True:
        yield dom.call(dom.keys[15], 0)


@program("crasher")
def crasher(dom, msg):
    yield dom.call(dom.keys[15], 0)
    1 / 0  # noqa: B018 - the point of the program
    yield dom.return_(msg.resume)


@program("refiller")
def refiller(dom, msg):
    meter_node, restart = msg.keys[2], msg.keys[3]
    dkc = dom.keys[0]
    ticks = dom.regs[0] or 1000
    r = yield dom.call(dkc, oc.DKC.Create11, data=ticks.to_bytes(11, "big"))
    yield dom.call(meter_node, oc.Node.Swap + 3, r.keys[0])
    dom.regs[1] = dom.regs[1] + 1
    yield dom.return_(restart)


@program("resumer")
def resumer(dom, msg):
    dom.regs[0] = dom.regs[0] + 1
    dom.regs[1] = msg.order
    fault = msg.keys[3]
    yield dom.return_(fault, rc=0)


@program("pager")
def pager(dom, msg):
    code, address = struct.unpack(">HI", msg.data[:6])
    red_node, restart = msg.keys[2], msg.keys[3]
    r = yield dom.call(dom.keys[0], oc.SB.CreatePage)
    yield dom.call(red_node, oc.Node.Swap + address // 4096, r.keys[0])
    dom.regs[0] = dom.regs[0] + 1
    yield dom.return_(restart)


@program("svc_user")
def svc_user(dom, msg):
    yield dom.trap(7, data=msg.data)
    yield dom.return_(msg.resume, rc=dom.regs[0])


@program("svc_keeper")
def svc_keeper(dom, msg):
    domain_key, fault = msg.keys[2], msg.keys[3]
    answer = len(msg.data) + 1000
    regs = struct.pack(">16Q", answer, *([0] * 15))
    yield dom.call(domain_key, oc.Domain.PutRegs, data=regs)
    yield dom.call(domain_key, oc.Domain.PutControl, data=bytes(16))
    yield dom.return_(fault, rc=0)


@program("self_caller")
def self_caller(dom, msg):
    yield dom.call(dom.keys[0], 1)
    yield dom.return_(msg.resume)


@program("holder")
def holder(dom, msg):
    dom.keys[1] = msg.keys[0]
    yield dom.return_(msg.resume, rc=0)


# ----------------------------------------------------------- factory yields
LEAK = 0x4C45414B  # "LEAK": the order code the adversary sends
LEAK_OFFSET = 4000  # where it writes b"leak" in a read-write page
DC_DESTROY_ME = 8  # dc.h
WALK_LIMIT = 300


@program("image_maker")
def image_maker(dom, msg):
    """A yield that answers its creation with its component 0 (a program image or
    segment), fetched through its components key: a factory of these is a
    component 17 that "yields an address segment" (docs/primer.md#primer-factory-components)."""
    image = (yield dom.call(dom.keys[0], oc.Node.Fetch + 0)).keys[0]
    yield dom.return_(msg.resume, rc=0, keys=(image,))


@program("password_checker")
def password_checker(dom, msg):
    """The setuid program of Ts'o's question, as a factory yield.

    Component 0 is a read-write page holding the password (a *hole*: the
    privilege the builder grants every yield); it holds a 4-byte length and the
    password. Order 0 checks the string against it (rc 0 match, 1 not); order 1
    sets a new password from ``old\\0new``. Then the yield exits. The requestor
    pays for the yield and talks to it, but holds no key to the page or to the
    yield's domain, memory or registers.
    """
    page = (yield dom.call(dom.keys[0], oc.Node.Fetch + 0)).keys[0]
    length = (yield dom.call(page, oc.Page.ReadData, data=(4).to_bytes(4, "big"))).data
    stored = (
        yield dom.call(
            page, oc.Page.ReadData + 4, data=int.from_bytes(length, "big").to_bytes(4, "big")
        )
    ).data
    rc = 1
    if msg.order == 0:
        rc = 0 if msg.data == stored else 1
    elif msg.order == 1 and b"\0" in msg.data and msg.data.split(b"\0", 1)[0] == stored:
        new = msg.data.split(b"\0", 1)[1]
        yield dom.call(page, oc.Page.WriteData, data=len(new).to_bytes(4, "big") + new)
        rc = 0
    # Like a process that exits: its weakened DC (key register 6) takes it apart,
    # returns its nodes to the requestor's bank (4) and answers the requestor.
    yield dom.call(dom.keys[6], DC_DESTROY_ME, msg.resume, dom.keys[4], data=rc.to_bytes(4, "big"))


@program("client")
def client(dom, msg):
    """CALLs key register 0 with the message's order and string, passing key
    registers 1–3 (say a bank, a meter and one more key), and replies with the
    answer: a subject that holds its own bank and meter, for factory requests."""
    r = yield dom.call(dom.keys[0], msg.order, dom.keys[1], dom.keys[2], dom.keys[3], data=msg.data)
    yield dom.return_(msg.resume, rc=r.rc, keys=r.keys[:3], data=r.data)


@program("adversary")
def adversary(dom, msg):
    """A yield that tries to get information out through every key it can reach.

    Component 0 must be Discrim (a discreet key) so it can tell keys apart. From
    its key registers and the three keys of its first message it walks
    breadth-first (:func:`try_to_leak`), then answers the requestor with three
    4-byte counts: keys reached, pages written, messages sent.
    """
    counts = yield from try_to_leak(dom, list(msg.keys[:3]))
    yield dom.return_(msg.resume, rc=0, data=counts)


@program("trojan")
def trojan(dom, msg):
    """A yield that looks harmless until asked: it answers its creation (any order
    but ``LEAK``) with a start key to itself, a service object as most yields
    give; each ``LEAK`` order through that key makes it try every key it can
    reach (:func:`try_to_leak`, with the message's keys too) and answer the three
    counts. Component 0 must be Discrim. The factory stepper's last step."""
    if msg.order != LEAK:
        me = (yield dom.call(dom.keys[3], oc.Domain.MakeStart)).keys[0]  # DOMKEY register
        yield dom.return_(msg.resume, rc=0, keys=(me,))
        return
    counts = yield from try_to_leak(dom, list(msg.keys[:3]))
    yield dom.return_(msg.resume, rc=0, data=counts)


def try_to_leak(dom, given):
    """Walk breadth-first from the key registers and ``given``: fetch every slot
    through node, fetch and sense keys and every register through domain keys;
    write ``b"leak"`` at byte 4000 of every read-write page key; FORK a ``LEAK``
    message through every other key (start keys, misc keys). Returns the counts
    (keys reached, pages written, messages sent) as three big-endian words."""
    discrim = (yield dom.call(dom.keys[0], oc.Node.Fetch + 0)).keys[0]
    queue = [dom.keys[n] for n in range(16)] + given
    seen, written, sent = set(), 0, 0
    while queue and len(seen) < WALK_LIMIT:
        key = queue.pop(0)
        if key in seen:
            continue
        seen.add(key)
        if (yield dom.call(discrim, oc.Discrim.Type, key)).rc in (1, 2, 4):
            continue  # data keys, resume keys (the requestor's), meters
        alleged = (yield dom.call(key, oc.KT)).rc  # to a start key, already a message
        if alleged == oc.Page.AKT:
            written += (yield dom.call(key, oc.Page.WriteData + LEAK_OFFSET, data=b"leak")).rc == 0
        elif alleged in (oc.Node.AKT, oc.Node.FetchAKT, oc.Node.SenseAKT):
            for slot in range(16):
                queue.append((yield dom.call(key, oc.Node.Fetch + slot)).keys[0])
        elif alleged == oc.Domain.AKT:
            for n in range(16):
                queue.append((yield dom.call(key, oc.Domain.GetKey + n)).keys[0])
            for n in (1, 2, 3):
                queue.append((yield dom.call(key, oc.Domain.Get + n)).keys[0])
        elif alleged not in (oc.Page.ROAKT, oc.Segment.AKT, oc.RC.DATAKEY):
            yield dom.fork(key, LEAK, data=b"leak")
            sent += 1
    return b"".join(n.to_bytes(4, "big") for n in (len(seen), written, sent))
