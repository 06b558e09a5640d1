"""Small programs for tests, notebooks and demonstrations.

============ ===============================================================
``echo``       replies with rc = the order code, the same string, its first 3 keys
``counter``    keeps a 64-bit count at address 4096 of its segment; +1 per call
``proxy``      CALLs key register 0 with the message, replies with the answer
``spinner``    invokes a data key forever: only its meter stops it
``crasher``    raises ZeroDivisionError: the trap goes to its domain keeper
``refiller``   meter keeper: puts register 0's ticks back in the meter, restarts
``resumer``    domain keeper: counts traps in register 0, clears them, resumes
``pager``      segment keeper: buys a page (bank in key register 0) for the hole
``svc_user``   makes a system call (trap 7) and replies with register 0 after it
``svc_keeper`` domain keeper: answers system calls by writing register 0 (PutRegs)
``self_caller`` calls the start key in key register 0 (itself): a self-call trap
``holder``     stores the message's first key in key register 1 and replies
============ ===============================================================
"""

from __future__ import annotations

import struct

from ..kernel import oc
from ..kernel.process import program

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
