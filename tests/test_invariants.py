"""Kernel invariants under random console operations (hypothesis stateful testing).

A :class:`Driver` wraps a booted ``kl.Kernel`` and offers the console operations
the state machine draws: buying, destroying and severing pages and nodes, node
swaps and fetches, Make*Key, sense-key fetches, page reads and writes, random
order codes on random held keys, domains running ``echo``/``holder``/``counter``,
domain-key control (MakeBusy, MakeFaultKey, MakeReturnKey, MakeAvailable), the
resume keys those give, Discrim, DKC, KeyBits and the domain tool.

After every step the machine checks the kernel's invariants through its
internals (``k.objs``, ``k.domains``, ``k.store.next_alloc``, ``k.live``):

1. no forged key (object keys designate ids that exist or existed, with an
   allocation id already handed out; the console's ring holds only keys that
   came from replies or from boot);
2. allocation ids only grow;
3. live resume keys designate waiting domains;
4. every slot holds a well-formed Key;
5. the event log only grows and keeps its schema;
6. the console is running between operations.

A console call may raise ``kl.KernelError`` (Deadlock, StepLimitExceeded) only
when the operation can legitimately never complete; the driver predicts that
before each invocation (``Driver.expect``) and fails on a mismatch.

The tests at the end are regression tests for kernel bugs found while writing
this file: a keeper call that stalled on a busy keeper was dropped when retried;
a stall queue lost its wake-up when the woken invoker was reset before its
retry; PutRegs (and PutControl, PutStuff) rewrote node slots without
invalidating the program-image and meter-chain caches.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import keykos_lab as kl
from keykos_lab.kernel.domains import (
    ADDRESS,
    AVAILABLE,
    KEEPER,
    RUNNING,
    WAITING,
    DomainState,
)
from keykos_lab.kernel.keys import (
    DATA,
    DATA_LIMIT,
    DOMAIN,
    FAULT,
    FETCH,
    FRONTEND,
    METER,
    MISC,
    MISC_NAMES,
    NOCALL,
    NODE,
    OBJECT_TYPES,
    PAGE,
    RESUME,
    RETURN,
    RO,
    SEGMENT,
    SENSE,
    START,
    TYPE_NAMES,
    is_sensory,
    sensory_version,
)
from keykos_lab.kernel.objects import Node, Page
from keykos_lab.kernel.oc import KT, RC
from keykos_lab.kernel.process import parse_image
from keykos_lab.kernel.segments import Fault, translate
from keykos_lab.programs.primordial import spacebank

oc = kl.oc

STEP_LIMIT = 600  # console.step_limit: a call that needs more is stuck in a loop
RUN_STEPS = 200  # scheduler steps after each operation (keeper loops never end)
MAX_DOMAINS = 5  # domains a single run may build
SAFE_PROGRAMS = {"echo", "holder", "spacebank"}  # reply to every message without faulting
BANK_SELL = {oc.SB.DestroyNode, oc.SB.SeverNode, oc.SB.DestroyPage, oc.SB.SeverPage}
KNOWN_TYPES = frozenset(TYPE_NAMES)
EVENT_COLUMNS = [
    "seq",
    "tick",
    "event",
    "jump",
    "actor",
    "key_type",
    "target",
    "databyte",
    "order",
    "rc",
    "n_keys",
    "string_len",
    "state_before",
    "state_after",
]
MUST, NEVER = "must complete", "can never complete"
SKIPPED = kl.Reply(-1, (), b"")


class Driver:
    """A booted kernel, its console, and the operations the tests draw.

    Keys are picked by index from ``pool``: every key handle the console got in
    a reply, plus the boot keys except ``meter_service``. Operations that would
    destroy the boot objects (the prime bank, the meters, the console) are
    skipped: they make every later operation hang, and say nothing new.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.k = k = kl.Kernel(seed=seed)
        self.con = con = k.console
        con.step_limit = STEP_LIMIT
        #: Objects made at boot; keys that could destroy or rewire them stay out of play.
        self.protected = frozenset(i for i, o in enumerate(k.objs) if o is not None)
        #: Raw keys the console legitimately holds: the boot ring plus every reply key.
        self.obtained = {con._slot(i) for i in range(con._count)}
        self.pool: list[kl.KeyHandle] = []
        self._pooled: set[int] = set()
        for name in con.names():
            if name != "meter_service":
                self._add(con[name])
        self.domains: list[tuple[str, kl.KeyHandle, kl.KeyHandle]] = []
        self.errors: list[str] = []  # KernelErrors accepted as legitimate
        self.messages: list[str] = []
        call = con.call

        def tracked_call(key, order=0, *keys, data=b""):
            reply = call(key, order, *keys, data=data)
            for h in reply.keys:
                self.obtained.add(con._slot(h.index))
                self._add(h)
            return reply

        con.call = tracked_call  # kl.build_domain & co. go through it too

    # ------------------------------------------------------------- key pool
    def _add(self, handle: kl.KeyHandle) -> None:
        """Pool a reply key, unless it is a node or domain key to a boot object (the
        domain tool identifies unbranded domains by the DK(0) brand, so the console can
        get a node key to the bank's root: it is kept, never used)."""
        if handle.index not in self._pooled:
            raw = self.con._slot(handle.index)
            if raw.type in (NODE, DOMAIN) and raw.obj in self.protected:
                return
            self._pooled.add(handle.index)
            self.pool.append(handle)

    def raw(self, handle: kl.KeyHandle) -> kl.Key:
        return self.con._slot(handle.index)

    def live(self, handle: kl.KeyHandle) -> kl.Key:
        return self.k.live(self.raw(handle))

    def pick(self, i: int, types=None) -> kl.KeyHandle | None:
        """The ``i``-th held key (modulo) whose live type is in ``types``."""
        cands = self.pool if types is None else [h for h in self.pool if self.live(h).type in types]
        return cands[i % len(cands)] if cands else None

    def pick_gate(self, i: int) -> kl.KeyHandle | None:
        """A start or resume key to a domain of ours (the bank makes a poor keeper:
        it answers traps with INVALIDOC, a nonzero code that traps again, forever)."""
        cands = [
            h
            for h in self.pool
            if self.live(h).type in (START, RESUME) and self.live(h).obj not in self.protected
        ]
        return cands[i % len(cands)] if cands else None

    def picks(self, idxs) -> list[kl.KeyHandle]:
        return [self.pool[i % len(self.pool)] for i in idxs]

    def _is_protected(self, key: kl.Key) -> bool:
        return key.type in OBJECT_TYPES and key.obj in self.protected

    # ---------------------------------------------------------- the oracle
    def _quiet(self) -> bool:
        """No other domain can run while the console waits (loops, stalled retries)."""
        return not self.k.runq and not any(
            ds.stalled_on is not None for ds in self.k.domains.values()
        )

    def program_at(self, root_id: int) -> str | None:
        """The program a domain would run on its next message, if it runs without faulting."""
        return self._start_outcome(root_id)[0]

    def _start_outcome(self, root_id: int) -> tuple[str | None, bool]:
        """(program sure to answer a message or None, whether the domain can never start).

        Worked out from the domain's nodes afresh: a malformed domain or one with no
        valid meter chain is parked; one with no program image traps, and with no gate
        in its keeper slot it is parked too (docs/primer.md#primer-domains,
        docs/primer.md#primer-keepers).
        """
        k = self.k
        root = k.objs[root_id]
        if not isinstance(root, Node) or k.wellformed(DomainState(root_id)) is None:
            return None, True
        chain = k.meter_chain(DomainState(root_id))
        if chain is None:
            # It may still run on the CPU it borrowed before its meter chain broke (the
            # kernel checks the chain when it borrows: meters._borrow).
            ds = k.domains.get(root_id)
            return None, ds is None or ds.cpu <= 0
        if any(n.slots[3].type != DATA or n.slots[3].obj < 10**6 for n in chain):
            return None, False
        found = translate(k.objs, root.slots[ADDRESS], 0, False)
        name = None if isinstance(found, Fault) else parse_image(found[0].read(found[1], 64))
        if name not in kl.kernel.PROGRAMS:
            return None, k.live(root.slots[KEEPER]).type not in (START, RESUME)
        return self._sure(root, name), False

    def _sure(self, root: Node, name: str) -> str | None:
        k = self.k
        if name == "counter":
            data = translate(k.objs, root.slots[ADDRESS], 4096, True)
            return name if not isinstance(data, Fault) and data[1] <= 4096 - 8 else None
        return name if name in SAFE_PROGRAMS else None

    def expect(self, fork: bool, target: kl.KeyHandle):
        """MUST if the invocation is sure to finish, NEVER if it cannot, else None."""
        k = self.k
        key = self.live(target)
        t = key.type
        if t in (SEGMENT, FRONTEND) and not key.databyte & (NOCALL | 0x0F):
            keeper = k._front_end(k.objs[key.obj])
            if keeper is not None and keeper.type in (START, RESUME, FRONTEND):
                return None  # goes to the red node's keeper
        if t in (START, RESUME) and k.wellformed(DomainState(key.obj)) is None:
            return MUST  # a malformed domain: KT+1 at once (Base/jresumec.c:135-143)
        if t == START:
            ds = k.domains.get(key.obj)
            if ds is not None and ds.state != AVAILABLE:
                return None  # the console stalls until someone frees the domain
            if fork:
                return MUST
            return self._expect_reply(key.obj)
        if t == RESUME:
            if fork:
                return MUST
            if key.databyte != RETURN:
                return NEVER  # restart/fault keys never deliver the console's resume key
            return self._expect_reply(key.obj)
        return MUST  # a primary key (or a dead one) answers at once

    def _expect_reply(self, root_id: int):
        """A message delivered to an available (or resumed) domain: will it answer?"""
        if not self._quiet():
            return None
        name, never = self._start_outcome(root_id)
        return MUST if name else NEVER if never else None

    def invoke(
        self,
        fork: bool,
        target: kl.KeyHandle,
        order: int,
        keys: list[kl.KeyHandle] = (),
        data: bytes = b"",
    ):
        """CALL (or FORK) through the console, checking the outcome against ``expect``.

        Returns the reply, None for a fork or a failed call, SKIPPED for an invocation
        that could break the boot objects (not made).
        """
        keys = list(keys)[: 4 if fork else 3]
        raws = [self.raw(h) for h in keys]
        tkey = self.live(target)
        if (
            raws
            and order in BANK_SELL
            and self._is_protected(raws[0])
            and (fork or tkey.type in (START, RESUME, SEGMENT, FRONTEND))
        ):
            return SKIPPED  # could reach the bank: selling a boot object
        if (
            len(raws) == 4
            and raws[3].type == START
            and (
                raws[3].obj in self.protected
                or tkey.type in (SEGMENT, FRONTEND)
                or tkey.type == START
                and tkey.obj in self.protected
            )
        ):
            return SKIPPED  # the bank would RETURN to a start key: to itself (a self-call
            # trap parks it) or to a busy domain (it stalls, maybe for good)
        want = self.expect(fork, target)
        reply = None
        try:
            if fork:
                self.con.fork(target, order, *keys, data=data)
            else:
                reply = self.con.call(target, order, *keys, data=data)
        except kl.KernelError as exc:
            self.messages.append(f"{tkey!r} fork={fork} order={order:#x}: {exc}")
            assert want != MUST, (
                f"{'FORK' if fork else 'CALL'} {tkey!r} order {order:#x} "
                f"should complete but raised {type(exc).__name__}: {exc}"
            )
            self.errors.append(type(exc).__name__)
        else:
            assert want != NEVER, f"CALL {tkey!r} can never be answered, yet it was"
        if reply is not None and tkey.type == DATA:
            assert reply.rc == RC.DATAKEY, f"data/dead key {self.raw(target)!r} gave {reply.rc}"
            assert all(self.live(h) == kl.DK0 for h in reply.keys)
        return reply

    def do(self, name: str, args) -> None:
        """Operation ``name``, then let the other domains run."""
        getattr(self, name)(*args)
        self.con.run(RUN_STEPS)

    def ok(self, target, order, *keys, data=b""):
        """A call to a primary key that must succeed with rc 0."""
        r = self.invoke(False, target, order, list(keys), data)
        assert r is not None and r is not SKIPPED and r.rc == 0, (
            f"{self.live(target)!r} order {order}: {r}"
        )
        return r

    # ----------------------------------------------------------- operations
    def buy(self, page: bool):
        k = self.k
        n = len(k.objs)
        r = self.invoke(False, self.con["bank"], oc.SB.CreatePage if page else oc.SB.CreateNode)
        if r is None:
            return  # the bank was busy (a keeper loop, a stall) and never got to us
        assert r.rc == 0
        key = self.raw(r.keys[0])
        assert key.type == (PAGE if page else NODE) and key.databyte == 0
        obj = k.objs[key.obj]
        assert key.obj >= n and isinstance(obj, Page if page else Node)
        assert obj.alloc == key.alloc and self.k.live(key) == key
        if page:
            assert obj.is_zero()
        else:
            assert obj.slots == [kl.DK0] * 16

    def sell(self, sever: bool, page: bool, i: int):
        h = self.pick(i, OBJECT_TYPES) or self.pick(i)
        a = self.live(h)
        if self._is_protected(a):
            return
        order = (
            {
                (False, False): oc.SB.DestroyNode,
                (True, False): oc.SB.SeverNode,
                (False, True): oc.SB.DestroyPage,
                (True, True): oc.SB.SeverPage,
            }
        )[sever, page]
        # Only the full key sells or severs: a node key, or a read-write page key.
        obj = self.k.objs[a.obj] if a.type not in (DATA, MISC) else None
        fits = (
            obj is not None
            and a.type == (PAGE if page else NODE)
            and not (page and a.databyte & RO)
        )
        old_alloc = obj.alloc if fits else None
        r = self.invoke(False, self.con["bank"], order, [h])
        if r is None:
            return  # the bank was busy and never got to us
        assert r.rc == (0 if fits else spacebank.NOT_FROM_HERE), (a, order, r)
        if not fits:
            return
        assert self.live(h) == kl.DK0, "keys to a sold or severed object must die"
        assert a.obj not in self.k.domains
        if sever:
            new = self.raw(r.keys[0])
            assert new.obj == a.obj and new.alloc > old_alloc and self.k.live(new) == new
        else:
            assert self.k.objs[a.obj] is None

    def node_swap(self, i: int, slot: int, j: int):
        h = self.pick(i, (NODE,))
        if h is None:
            return
        node = self.k.objs[self.live(h).obj]
        key = self.pool[j % len(self.pool)]
        before = self.k.live(node.slots[slot])
        r = self.ok(h, oc.Node.Swap + slot, key)
        if slot != 3 or before.type != DATA:  # slot 3 of a meter is settled on the way
            assert self.raw(r.keys[0]) == before
        assert node.slots[slot] == self.live(key)

    def node_fetch(self, i: int, slot: int):
        h = self.pick(i, (NODE, FETCH))
        if h is None:
            return
        r = self.ok(h, oc.Node.Fetch + slot)
        node = self.k.objs[self.live(h).obj]
        assert self.raw(r.keys[0]) == self.k.live(node.slots[slot])

    def make_key(self, i: int, order: int, databyte: int):
        h = self.pick(i, (NODE,))
        if h is None:
            return
        nk = self.live(h)
        r = self.ok(h, order, data=bytes([databyte]))
        want = {
            32: (FETCH, databyte),
            33: (SEGMENT, databyte),
            34: (METER, 0),
            35: (NODE, databyte),
            36: (SENSE, nk.databyte | RO | NOCALL),
            37: (FRONTEND, databyte),
        }[order]
        assert self.raw(r.keys[0]) == kl.Key(want[0], nk.obj, want[1], nk.alloc)

    def sense_fetch(self, i: int, slot: int):
        h = self.pick(i, (SENSE,))
        if h is None:
            n = self.pick(i, (NODE,))
            if n is None:
                return
            h = self.ok(n, oc.Node.MakeSenseKey).keys[0]
        r = self.ok(h, oc.Node.Fetch + slot)
        got = self.raw(r.keys[0])
        node = self.k.objs[self.live(h).obj]
        assert is_sensory(got), f"a sense key fetched {got!r}"
        assert got == sensory_version(self.k.live(node.slots[slot]))
        r = self.invoke(False, h, oc.Node.Swap + slot, [h])  # sense keys cannot store
        assert r.rc == RC.INVALIDOC

    def page_write(self, i: int, off: int, data: bytes):
        h = self.pick(i, (PAGE,))
        if h is None:
            return
        ro = self.live(h).databyte & RO
        r = self.invoke(False, h, oc.Page.WriteData + off, [], data)
        if off >= 4096:  # order 8192+ is ReadData, whose string must be a 4-byte length
            assert r.rc == (0 if not data or len(data) == 4 else RC.BADSTRING)
        elif ro:
            assert r.rc == RC.INVALIDOC
        elif off + len(data) > 4096:
            assert r.rc == oc.Page.PAST_END  # Base/jpagec.c:235: simplest(1)
        else:
            assert r.rc == 0
            back = self.ok(h, oc.Page.ReadData + off, data=len(data).to_bytes(4, "big"))
            assert back.data == data

    def page_read(self, i: int, off: int, length: int | None, bad: bytes):
        h = self.pick(i, (PAGE,))
        if h is None:
            return
        data = (
            bad if bad and len(bad) != 4 else (b"" if length is None else length.to_bytes(4, "big"))
        )
        r = self.invoke(False, h, oc.Page.ReadData + off, [], data)
        if off >= 4096:
            assert r.rc == RC.INVALIDOC
        elif data and len(data) != 4:
            assert r.rc == RC.BADSTRING
        else:
            n = 4096 - off if length is None else min(4096 - off, length)
            page = self.k.objs[self.live(h).obj]
            assert r.rc == 0 and r.data == page.read(off, n) and len(r.data) == n

    def page_misc(self, i: int, order: int):
        h = self.pick(i, (PAGE,))
        if h is None:
            return
        key = self.live(h)
        r = self.invoke(False, h, order)
        if order == oc.Page.MakeReadOnlyKey:
            assert self.raw(r.keys[0]) == key._replace(databyte=key.databyte | RO)
        elif order == oc.Page.Clear and not key.databyte & RO:
            assert r.rc == 0 and self.k.objs[key.obj].is_zero()
        elif order == KT:
            assert r.rc == (oc.Page.ROAKT if key.databyte & RO else oc.Page.AKT)

    def random_order(self, fork: bool, i: int, order: int, idxs: list[int], data: bytes):
        self.invoke(fork, self.pick(i), order, self.picks(idxs), data)

    def build(self, program: str, keeper: int, i: int):
        if len(self.domains) >= MAX_DOMAINS:
            return
        con = self.con
        sure = self.expect(False, con["bank"]) == MUST
        try:
            gate = self.pick_gate(i)
            dkeeper = gate if keeper == 1 else None
            if program == "counter":
                img = kl.image(con, "counter")
                data = self.ok(con["bank"], oc.SB.CreatePage).keys[0]
                pages = [img] if keeper == 2 else [img, data]  # keeper 2: 4096 faults
                seg = kl.build_segment(con, pages, keeper=gate if keeper >= 2 else None)
                dom = kl.build_domain(con, "counter", memory=seg, keeper=dkeeper)
            else:
                dom = kl.build_domain(con, program, keeper=dkeeper)
            start = kl.start_key(con, dom)
        except kl.KernelError as exc:  # bank and primary calls: they finish if the bank is free
            assert not sure, f"building a {program} domain raised {exc!r}"
            return
        self.domains.append((program, dom, start))

    def call_start(self, fork: bool, i: int, order: int, idxs: list[int], data: bytes):
        h = self.pick(i, (START,))
        if h is None:
            return
        k = self.k
        root = self.live(h).obj
        name = self.program_at(root)
        before = None
        if name == "counter":
            page, off = translate(k.objs, k.objs[root].slots[ADDRESS], 4096, False)
            before = int.from_bytes(page.read(off, 8), "big")
        keys = self.picks(idxs)
        sure = self.expect(fork, h) == MUST
        r = self.invoke(fork, h, order, keys, data)
        if r is None or r is SKIPPED or fork or not sure:
            return
        if name == "echo":
            assert (r.rc, r.data) == (order, data)
            assert [self.raw(x) for x in r.keys[:3]] == [self.raw(x) for x in keys[:3]] + [
                kl.DK0
            ] * (3 - len(keys[:3]))
        elif name == "holder":
            assert r.rc == 0
        elif name == "counter":
            assert r.rc == 0 and int.from_bytes(r.data, "big") == (before + 1) % 2**64

    def domain_ctl(self, i: int, order: int):
        h = self.pick(i, (DOMAIN,))
        if h is None:
            return
        k = self.k
        root = self.live(h).obj
        ds = k.domains.get(root)
        busy = ds is not None and ds.state != AVAILABLE
        old = [x for x in self.pool if self.live(x).type == RESUME and self.live(x).obj == root]
        wellformed = k.wellformed(DomainState(root)) is not None
        r = self.invoke(False, h, order)
        if not wellformed:
            assert r.rc == 2, r
            return r
        ds = k.domains[root]
        if order == oc.Domain.MakeAvailable:
            assert r.rc == int(busy)
            assert ds.state == AVAILABLE
        elif order in (oc.Domain.MakeFaultKey, oc.Domain.MakeReturnKey) and busy:
            assert r.rc == 1 and self.raw(r.keys[0]) == kl.DK0
        else:
            flavour = RETURN if order == oc.Domain.MakeReturnKey else FAULT
            assert r.rc == int(busy and order == oc.Domain.MakeBusy)
            rk = self.raw(r.keys[0])
            assert rk.type == RESUME and rk.obj == root and rk.databyte == flavour
            assert k.live(rk) == rk and ds.state == WAITING
        for x in old:  # MakeAvailable and MakeBusy void resume keys; MakeFaultKey needs
            if order != oc.Domain.MakeFaultKey and order != oc.Domain.MakeReturnKey or not busy:
                assert self.live(x) == kl.DK0, "a resume key survived MakeBusy/MakeAvailable"
        return r

    def invoke_resume(self, fork: bool, i: int, order: int, idxs: list[int]):
        h = self.pick(i, (RESUME,))
        if h is not None:
            self._resume(fork, h, order, idxs)

    def _resume(self, fork: bool, h: kl.KeyHandle, order: int, idxs: list[int]):
        key = self.live(h)
        # (A resume key to a malformed domain answers KT+1 and is not spent:
        # Base/jresumec.c:135-143.)
        malformed = self.k.wellformed(DomainState(key.obj)) is None
        if self.invoke(fork, h, order, self.picks(idxs)) is not SKIPPED and not malformed:
            assert self.k.live(key) == kl.DK0, "resume keys are one-shot"

    def busy_then_resume(self, i: int, make: int, fork: bool, order: int, idxs: list[int]):
        """MakeBusy / MakeFaultKey / MakeReturnKey, then invoke the resume key it gave."""
        h = self.pick(i, (DOMAIN,))
        if h is None:
            return
        r = self.domain_ctl(i, make)
        if r is not None and self.live(r.keys[0]).type == RESUME:
            self._resume(fork, r.keys[0], order, idxs)

    def set_keeper(self, i: int, j: int):
        """Domain SwapKeeper with a gate key (or anything): traps now call it."""
        h = self.pick(i, (DOMAIN,))
        gate = self.pick_gate(j) or self.pick(j)
        if h is not None:
            self.ok(h, oc.Domain.SwapKeeper, gate)

    def keeper_trap(self, i: int, j: int, order: int):
        """Give a domain a keeper, make it busy, and FORK its fault key with an order:
        the kernel sets the trap code and calls the keeper (docs/primer.md#primer-start-resume,
        docs/primer.md#primer-keepers)."""
        h = self.pick(i, (DOMAIN,))
        if h is None:
            return
        self.set_keeper(i, j)
        r = self.domain_ctl(i, oc.Domain.MakeBusy)
        if r is not None and self.live(r.keys[0]).type == RESUME:
            self._resume(True, r.keys[0], order or 1, [])

    def domain_put(self, i: int, order: int, fill: int):
        """PutControl / PutRegs / PutStuff with a well-sized string (all ``fill`` bytes),
        or Get*: they rewrite the root's PSW and trap code and the registers node."""
        h = self.pick(i, (DOMAIN,))
        if h is None:
            return
        size = {oc.Domain.PutControl: 16, oc.Domain.PutRegs: 128, oc.Domain.PutStuff: 144}
        malformed = self.k.wellformed(DomainState(self.live(h).obj)) is None
        r = self.invoke(False, h, order, [], bytes([fill]) * size.get(order, 0))
        if malformed:
            assert r.rc == 2
        else:
            assert r.rc == 0
            if order == oc.Domain.GetRegs:
                assert len(r.data) == 128

    def _data_key(self, value: int) -> kl.KeyHandle:
        return self.ok(self.con["dkc"], oc.DKC.Create11, data=value.to_bytes(11, "big")).keys[0]

    def front_end(self, i: int, j: int, kind: int, fork: bool, order: int, idxs: list[int]):
        """A red node with a gate keeper, invoked through a segment or frontend key:
        the message goes to the keeper with a node key to the red node
        (docs/primer.md#primer-segments)."""
        node, gate = self.pick(i, (NODE,)), self.pick_gate(j)
        if node is None or gate is None:
            return
        fmt = kl.format_key_value(3, initial=14, keeper=14)
        self.ok(node, oc.Node.Swap + 15, self._data_key(fmt))
        self.ok(node, oc.Node.Swap + 14, gate)
        seg = self.ok(
            node, (oc.Node.MakeSegmentKey, oc.Node.MakeFrontendKey)[kind], data=b"\0"
        ).keys[0]
        self.invoke(fork, seg, order, self.picks(idxs))

    def metered(self, i: int, j: int, ticks: int, keeper: bool):
        """Run a domain under a small meter made from a bank node; its keeper, if any,
        gets a restart key when the meter runs dry (docs/primer.md#primer-meters,
        docs/primer.md#primer-keepers)."""
        dom, node = self.pick(i, (DOMAIN,)), self.pick(j, (NODE,))
        if dom is None or node is None:
            return
        self.ok(node, oc.Node.Swap + 1, self.con["meter"])
        self.ok(node, oc.Node.Swap + 3, self._data_key(ticks))
        gate = self.pick_gate(j) if keeper else None
        if gate is not None:
            self.ok(node, oc.Node.Swap + 2, gate)
        meter = self.ok(node, oc.Node.MakeMeterKey).keys[0]
        self.ok(dom, oc.Domain.SwapMeter, meter)
        start = self.invoke(False, dom, oc.Domain.MakeStart)
        if start.rc == 0:
            self.invoke(True, start.keys[0], 0)

    def fork_reply_to(self, i: int, order: int, idxs: list[int], j: int, data: bytes):
        """FORK a start key with a gate as key 4: the program replies into that gate."""
        h = self.pick(i, (START,))
        gate = self.pick(j, (START, RESUME))
        if h is not None and gate is not None:
            keys = (self.picks(idxs) + [self.con["dkc"]] * 3)[:3] + [gate]
            self.invoke(True, h, order, keys, data)

    def discrim(self, order: int, i: int, j: int):
        a, b = self.pool[i % len(self.pool)], self.pool[j % len(self.pool)]
        r = self.invoke(False, self.con["discrim"], order, [a, b])
        la = self.live(a)
        if order == oc.Discrim.Compare:
            assert r.rc == (0 if la == self.live(b) else 1)
        elif order == oc.Discrim.Type:
            t = la.type
            want = (
                1
                if t == DATA
                else 2
                if t == RESUME
                else 3
                if t in (PAGE, SEGMENT, NODE, SENSE)
                else 4
                if t == METER
                else 5
            )
            assert r.rc == want, (la, r.rc)
        elif r.rc == 0:
            assert is_sensory(la) and la.type in (PAGE, SEGMENT, SENSE)

    def dkc(self, eleven: bool, data: bytes):
        r = self.ok(self.con["dkc"], int(eleven), data=data)
        n = 11 if eleven else 6
        assert self.raw(r.keys[0]) == kl.DK(int.from_bytes(data[:n].ljust(n, b"\0"), "big"))

    def domtool(self, order: int, i: int, j: int):
        a, b = self.pool[i % len(self.pool)], self.pool[j % len(self.pool)]
        la = self.live(a)
        r = self.invoke(False, self.con["domtool"], order, [a, b])
        if order == oc.DomTool.MakeDomainKey:
            if la.type == NODE:
                assert r.rc == 0 and self.raw(r.keys[0]) == kl.Key(DOMAIN, la.obj, 0, la.alloc)
            else:
                assert r.rc == RC.NOT_MINE

    def keybits(self, i: int):
        h = self.pool[i % len(self.pool)]
        r = self.ok(self.con["keybits"], 0, h)
        assert len(r.data) == 18 and r.data[4] == self.live(h).type

    def make_domain_key(self, i: int):
        h = self.pick(i, (NODE,))
        if h is not None:
            self.ok(self.con["domtool"], oc.DomTool.MakeDomainKey, h)

    def make_start(self, i: int, databyte: int):
        h = self.pick(i, (DOMAIN,))
        if h is None:
            return
        root = self.live(h).obj
        r = self.invoke(False, h, oc.Domain.MakeStart, [], bytes([databyte]))
        # Base/jdomainc.c:226: MakeStart does not prepare the domain, malformed or not.
        root_alloc = self.k.objs[root].alloc
        assert self.raw(r.keys[0]) == kl.Key(START, root, databyte, root_alloc)

    def run(self, steps: int):
        self.con.run(steps)


# --------------------------------------------------------------- invariants
class Watch:
    """What the invariants remember from one step to the next."""

    def __init__(self, drv: Driver) -> None:
        self.drv = drv
        self.next_alloc = drv.k.store.next_alloc
        self.allocs: dict[int, int] = {}
        self.gone: set[int] = set()
        self.log = b""

    def node_keys(self):
        """(where, key) for every key in every live node slot and every domain's held set."""
        k = self.drv.k
        for obj in k.objs:
            if isinstance(obj, Node):
                for n, key in enumerate(obj.slots):
                    yield f"node #{obj.id} slot {n}", key
        for root, ds in k.domains.items():
            for key in ds.held:
                yield f"held by domain #{root}", key

    def no_forged_keys(self) -> None:
        k = self.drv.k
        n_objs, next_alloc = len(k.objs), k.store.next_alloc
        for where, key in self.node_keys():
            if key.type in OBJECT_TYPES:
                assert 0 < key.obj < n_objs, f"{where}: {key!r} designates no object ever made"
                assert key.alloc < next_alloc, f"{where}: {key!r} has an unissued alloc id"
        con = self.drv.con
        for idx in range(con._count):
            raw = con._slot(idx)
            assert raw in self.drv.obtained, f"console ring slot {idx} holds {raw!r}, never given"
            assert con.key(kl.KeyHandle(con, idx)) in (raw, kl.DK0)

    def allocs_grow(self) -> None:
        k = self.drv.k
        assert k.store.next_alloc >= self.next_alloc
        self.next_alloc = k.store.next_alloc
        for oid, obj in enumerate(k.objs):
            if obj is None:
                self.gone.add(oid)
                continue
            assert oid not in self.gone, f"object id #{oid} came back"
            assert obj.id == oid
            assert obj.alloc >= self.allocs.get(oid, 0), f"object #{oid}'s alloc went down"
            assert obj.alloc < k.store.next_alloc
            self.allocs[oid] = obj.alloc

    def resume_keys_wait(self) -> None:
        k = self.drv.k
        for where, key in self.node_keys():
            if key.type == RESUME and k.live(key) == key:
                ds = k.domains[key.obj]
                assert ds.state == WAITING, f"{where}: live {key!r} to a {ds!r}"

    def keys_well_formed(self) -> None:
        for where, key in self.node_keys():
            assert isinstance(key, kl.Key), f"{where}: {key!r} is not a Key"
            assert all(type(f) is int for f in key), f"{where}: {key!r} has non-int fields"
            assert key.type in KNOWN_TYPES, f"{where}: unknown key type {key.type}"
            assert 0 <= key.databyte <= 255, f"{where}: databyte {key.databyte}"
            assert key.alloc >= 0
            if key.type == DATA:
                assert 0 <= key.obj < DATA_LIMIT and key.databyte == 0 and key.alloc == 0
            elif key.type == MISC:
                assert key.obj in MISC_NAMES

    def log_grows(self) -> None:
        k = self.drv.k
        now = b"".join(bytes(c) for c in k.log.chunks())
        assert now.startswith(self.log), "the event log lost or rewrote rows"
        self.log = now
        ev = k.events()
        assert list(ev.columns[: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
        assert len(ev) == len(k.log)
        assert np.array_equal(ev["seq"].to_numpy(), np.arange(len(ev)))

    def console_running(self) -> None:
        ds = self.drv.con.state
        assert ds.state == RUNNING and ds.next is None and ds.stalled_on is None

    def all(self) -> None:
        self.no_forged_keys()
        self.allocs_grow()
        self.resume_keys_wait()
        self.keys_well_formed()
        self.log_grows()
        self.console_running()


# ---------------------------------------------------------- the strategies
IDX = st.integers(0, 1_000)
SLOT = st.integers(0, 15)
BYTE = st.integers(0, 255)
ORDER = st.one_of(
    st.integers(0, 80),
    st.integers(4090, 4200),
    st.integers(8180, 8300),
    st.integers(12280, 12300),
    st.integers(KT, KT + 10),
    st.integers(0, 2**32 - 1),
)
DATA_STR = st.binary(max_size=24)
KEYS = st.lists(IDX, max_size=4)

OPS = {
    "buy": st.tuples(st.booleans()),
    "sell": st.tuples(st.booleans(), st.booleans(), IDX),
    "node_swap": st.tuples(IDX, SLOT, IDX),
    "node_fetch": st.tuples(IDX, SLOT),
    "make_key": st.tuples(IDX, st.integers(32, 37), BYTE),
    "sense_fetch": st.tuples(IDX, SLOT),
    "page_write": st.tuples(IDX, st.integers(0, 4200), st.binary(max_size=40)),
    "page_read": st.tuples(
        IDX, st.integers(0, 4200), st.none() | st.integers(0, 5000), st.binary(max_size=6)
    ),
    "page_misc": st.tuples(IDX, st.sampled_from([0, 39, 40, 41, 12345, KT])),
    "random_order": st.tuples(st.booleans(), IDX, ORDER, KEYS, DATA_STR),
    "build": st.tuples(st.sampled_from(["echo", "holder", "counter"]), st.integers(0, 3), IDX),
    "call_start": st.tuples(st.booleans(), IDX, ORDER, KEYS, DATA_STR),
    "domain_ctl": st.tuples(IDX, st.sampled_from([65, 66, 67, 73])),
    "invoke_resume": st.tuples(st.booleans(), IDX, st.just(0) | ORDER, KEYS),
    "busy_then_resume": st.tuples(
        IDX, st.sampled_from([66, 67, 73]), st.booleans(), st.just(0) | ORDER, KEYS
    ),
    "set_keeper": st.tuples(IDX, IDX),
    "keeper_trap": st.tuples(IDX, IDX, ORDER),
    "domain_put": st.tuples(IDX, st.sampled_from([68, 69, 70, 71, 75]), st.sampled_from([0, 255])),
    "front_end": st.tuples(IDX, IDX, st.integers(0, 1), st.booleans(), ORDER, KEYS),
    "metered": st.tuples(IDX, IDX, st.integers(0, 300), st.booleans()),
    "fork_reply_to": st.tuples(IDX, ORDER, st.lists(IDX, max_size=3), IDX, DATA_STR),
    "discrim": st.tuples(st.integers(0, 2) | st.just(KT), IDX, IDX),
    "dkc": st.tuples(st.booleans(), st.binary(max_size=12)),
    "domtool": st.tuples(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, KT]), IDX, IDX),
    "keybits": st.tuples(IDX),
    "make_domain_key": st.tuples(IDX),
    "make_start": st.tuples(IDX, BYTE),
    "run": st.tuples(st.integers(1, 300)),
}
SCRIPT = st.lists(
    st.sampled_from(sorted(OPS)).flatmap(lambda name: st.tuples(st.just(name), OPS[name])),
    min_size=5,
    max_size=30,
)


def apply(drv: Driver, op) -> None:
    name, args = op
    drv.do(name, args)


def setup_script() -> list:
    """The opening every run shares: one domain of each program, a node, a page."""
    return [
        ("build", ("echo", 0, 0)),
        ("build", ("holder", 0, 0)),
        ("build", ("counter", 0, 0)),
        ("buy", (False,)),
        ("buy", (True,)),
        ("make_domain_key", (0,)),
    ]


# ---------------------------------------------------------- state machine
class KernelMachine(RuleBasedStateMachine):
    """Random console operations; the kernel invariants after every step."""

    SEED: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.drv = Driver(self.SEED)
        self.watch = Watch(self.drv)

    @initialize()
    def boot_objects(self):
        for op in setup_script():
            apply(self.drv, op)

    @rule(args=OPS["buy"])
    def buy(self, args):
        self.drv.do("buy", args)

    @rule(args=OPS["sell"])
    def sell(self, args):
        self.drv.do("sell", args)

    @rule(args=OPS["node_swap"])
    def node_swap(self, args):
        self.drv.do("node_swap", args)

    @rule(args=OPS["node_fetch"])
    def node_fetch(self, args):
        self.drv.do("node_fetch", args)

    @rule(args=OPS["make_key"])
    def make_key(self, args):
        self.drv.do("make_key", args)

    @rule(args=OPS["sense_fetch"])
    def sense_fetch(self, args):
        self.drv.do("sense_fetch", args)

    @rule(args=OPS["page_write"])
    def page_write(self, args):
        self.drv.do("page_write", args)

    @rule(args=OPS["page_read"])
    def page_read(self, args):
        self.drv.do("page_read", args)

    @rule(args=OPS["page_misc"])
    def page_misc(self, args):
        self.drv.do("page_misc", args)

    @rule(args=OPS["random_order"])
    def random_order(self, args):
        self.drv.do("random_order", args)

    @precondition(lambda self: len(self.drv.domains) < MAX_DOMAINS)
    @rule(args=OPS["build"])
    def build(self, args):
        self.drv.do("build", args)

    @rule(args=OPS["call_start"])
    def call_start(self, args):
        self.drv.do("call_start", args)

    @rule(args=OPS["domain_ctl"])
    def domain_ctl(self, args):
        self.drv.do("domain_ctl", args)

    @rule(args=OPS["invoke_resume"])
    def invoke_resume(self, args):
        self.drv.do("invoke_resume", args)

    @rule(args=OPS["busy_then_resume"])
    def busy_then_resume(self, args):
        self.drv.do("busy_then_resume", args)

    @rule(args=OPS["set_keeper"])
    def set_keeper(self, args):
        self.drv.do("set_keeper", args)

    @rule(args=OPS["keeper_trap"])
    def keeper_trap(self, args):
        self.drv.do("keeper_trap", args)

    @rule(args=OPS["domain_put"])
    def domain_put(self, args):
        self.drv.do("domain_put", args)

    @rule(args=OPS["front_end"])
    def front_end(self, args):
        self.drv.do("front_end", args)

    @rule(args=OPS["metered"])
    def metered(self, args):
        self.drv.do("metered", args)

    @rule(args=OPS["fork_reply_to"])
    def fork_reply_to(self, args):
        self.drv.do("fork_reply_to", args)

    @rule(args=OPS["discrim"])
    def discrim(self, args):
        self.drv.do("discrim", args)

    @rule(args=OPS["dkc"])
    def dkc(self, args):
        self.drv.do("dkc", args)

    @rule(args=OPS["domtool"])
    def domtool(self, args):
        self.drv.do("domtool", args)

    @rule(args=OPS["keybits"])
    def keybits(self, args):
        self.drv.do("keybits", args)

    @rule(args=OPS["make_domain_key"])
    def make_domain_key(self, args):
        self.drv.do("make_domain_key", args)

    @rule(args=OPS["make_start"])
    def make_start(self, args):
        self.drv.do("make_start", args)

    @rule(args=OPS["run"])
    def run(self, args):
        self.drv.do("run", args)

    # -- the invariants, one per numbered item of the module docstring
    @invariant()
    def no_forged_keys(self):
        self.watch.no_forged_keys()

    @invariant()
    def allocs_grow(self):
        self.watch.allocs_grow()

    @invariant()
    def resume_keys_wait(self):
        self.watch.resume_keys_wait()

    @invariant()
    def keys_well_formed(self):
        self.watch.keys_well_formed()

    @invariant()
    def log_grows(self):
        self.watch.log_grows()

    @invariant()
    def console_running(self):
        self.watch.console_running()


class SeededKernelMachine(KernelMachine):
    """The same machine on ``kl.Kernel(seed=3)``: the scheduler picks at random."""

    SEED = 3


_SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

TestKernelInvariants = KernelMachine.TestCase
TestKernelInvariants.settings = settings(max_examples=40, stateful_step_count=40, **_SETTINGS)

TestSeededKernelInvariants = SeededKernelMachine.TestCase
TestSeededKernelInvariants.settings = settings(max_examples=15, stateful_step_count=40, **_SETTINGS)


# ------------------------------------------------------- scripted tests
def run_script(seed, script) -> Driver:
    drv = Driver(seed)
    watch = Watch(drv)
    for op in setup_script() + list(script):
        apply(drv, op)
        watch.all()
    return drv


@settings(max_examples=15, **_SETTINGS)
@given(script=SCRIPT, seed=st.sampled_from([None, 1, 3, 12345]))
def test_same_script_same_seed_same_events(script, seed):
    a = run_script(seed, script).k.events()
    b = run_script(seed, script).k.events()
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=10, **_SETTINGS)
@given(script=SCRIPT)
def test_seed_3_keeps_invariants(script):
    drv = run_script(3, script)
    assert drv.k.seed == 3 and drv.k._rng is not None


# ------------------------------------------------ reproducers of kernel bugs
def test_stalled_keeper_call_is_retried():
    k = kl.Kernel()
    con = k.console
    keeper = kl.build_domain(con, "echo")
    faulter = kl.build_domain(con, None, keeper=kl.start_key(con, keeper))  # no program: traps
    fault_key = con.call(keeper, oc.Domain.MakeBusy).keys[0]  # the keeper is busy
    con.fork(kl.start_key(con, faulter))
    con.run()  # the trap's keeper call stalls on the keeper
    seen = len(k.log)
    con.fork(fault_key)  # the keeper runs, returns, becomes available
    con.run(max_steps=20)
    ev = k.events().iloc[seen:]
    calls = ev[(ev.event == "keeper") & (ev.actor == con.target(faulter))]
    assert len(calls) > 0, "the stalled keeper call was never retried"


def test_stall_queue_survives_reset_of_woken_invoker():
    k = kl.Kernel()
    con = k.console
    target = kl.build_domain(con, "echo")
    a, b = kl.build_domain(con, "echo"), kl.build_domain(con, "echo")
    fault_key = con.call(target, oc.Domain.MakeBusy).keys[0]  # the target is busy
    dk = con["dkc"]
    for dom in (a, b):  # a, then b, RETURN into the busy target: both stall on it
        con.fork(kl.start_key(con, dom), 0, dk, dk, dk, kl.start_key(con, target))
        con.run()
    con.fork(fault_key)
    con.run(max_steps=1)  # the target runs and becomes available: a is woken to retry
    con.call(a, oc.Domain.MakeAvailable)  # a's retry is cancelled
    con.run()
    b_state = k.domains[con.target(b)]
    assert b_state.stalled_on is None, f"{b_state!r} is still stalled on an available domain"


def test_putregs_on_a_segment_node_invalidates_the_program_image():
    k = kl.Kernel()
    con = k.console
    buy = lambda: con.call(con["bank"], oc.SB.CreateNode).keys[0]  # noqa: E731
    node = buy()  # a red segment node: slot 0 = echo's image
    con.call(node, oc.Node.Swap + 0, kl.image(con, "echo"))
    fmt = kl.format_key_value(3, initial=14).to_bytes(11, "big")
    con.call(node, oc.Node.Swap + 15, con.call(con["dkc"], oc.DKC.Create11, data=fmt).keys[0])
    seg = con.call(node, oc.Node.MakeSegmentKey, data=b"\0").keys[0]
    start = kl.start_key(con, kl.build_domain(con, memory=seg))
    other_root, other_keys = buy(), buy()  # a domain whose registers node is `node`
    con.call(other_root, oc.Node.Swap + 14, other_keys)
    con.call(other_root, oc.Node.Swap + 15, node)
    other = con.call(con["domtool"], oc.DomTool.MakeDomainKey, other_root).keys[0]
    assert con.call(start, 5).rc == 5  # echo runs (and its image is cached)
    con.call(other, oc.Domain.PutRegs, data=bytes(128))  # every slot of `node` is DK(0)
    assert k.objs[con.target(node)].slots[0] == kl.DK0  # the image is gone from the segment
    # No program at address 0 and no keeper: the domain traps and is parked, no reply.
    with pytest.raises(kl.Deadlock):
        con.call(start, 6)
