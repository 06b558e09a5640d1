"""The red team's harness: a hostile domain, the domains around it, and the checks.

A :class:`Lab` is a booted kernel with

* a **hostile** domain running ``adv-hostile``, whose behaviour is the case's ``body``
  (a generator ``body(dom, msg, lab)``). Its key registers hold a read-write page (also
  mapped at address 4096 of its memory), the DKC, a start key to an echo bystander, a
  read-only key to a "secret" page, the returner, Discrim and a start key to itself
  (``R_*`` below); optionally its own domain key. It runs on a small meter of its own, so
  a runaway that keeps invoking runs that meter dry instead of the user meter;
* a **driver** domain that CALLs the hostile domain with what the console FORKs it, so
  that the hostile domain gets a real resume key, and records the reply;
* a **keeper** domain (its domain keeper) that records every trap: count in register 0,
  trap code in register 1; it never resumes the trapped domain;
* bystanders: an echo domain and a "victim" page nobody hostile holds a key to.

:meth:`Lab.check_clean` is what every hostile run must leave behind:

1. **no forged key** anywhere — every key in every node slot, every key a domain's
   handler holds (``ds.held``), every key in a pending message, stall queue or retry is a
   data key, a key that existed before the hostile run, a key the kernel issued during it
   (a resume key, a key to a new object: an allocation id handed out during the run), or
   an attenuation of a key that existed (a read-only page key from a page key …);
2. **no path, no key**: every key in the hostile (and the driver) domain's nodes and held
   set designates an object it had a path to before the run (through its key registers
   and the keys it was sent), or a new object;
3. **no domain stuck** RUNNING without being on the run queue, no AVAILABLE domain with a
   handler, the console RUNNING;
4. the kernel's **invariants**: every key well formed (exact ``Key``, exact int fields, a
   known type), object keys name objects made with allocation ids handed out, live resume
   keys designate waiting domains, allocation ids below ``next_alloc``, the event log and
   its frame agree;
5. **the console answers**: the echo bystander replies, the victim page is untouched, the
   prime bank still sells a page.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import time
import traceback
from collections.abc import Callable, Iterator

import keykos_lab as kl
from keykos_lab.kernel.domains import (
    AVAILABLE,
    KEYS_NODE,
    REGS_NODE,
    RUNNING,
    WAITING,
)
from keykos_lab.kernel.keys import (
    DATA,
    DATA_LIMIT,
    DOMAIN,
    FETCH,
    FRONTEND,
    METER,
    MISC,
    MISC_NAMES,
    NODE,
    OBJECT_TYPES,
    PAGE,
    RESUME,
    RO,
    SEGMENT,
    SENSE,
    START,
    TYPE_NAMES,
    Key,
)
from keykos_lab.kernel.objects import Node

oc = kl.oc
Trap = oc.Trap

# The hostile domain's key registers.
R_PAGE, R_DKC, R_ECHO, R_SECRET, R_RETURNER, R_DISCRIM = 0, 1, 2, 3, 4, 5
R_PAUSE = 6  # (test_yield_anything) a start key to a domain that holds the CALL
R_NODE = 7  # a node key to a node of its own (slot 0: the echo start key), on request
R_DOMAIN = 13  # its own domain key, when the case asks for it
R_SELF = 14  # a start key to itself
MYPAGE_ADDRESS = 4096
SURVIVED = 0x5AFE  # the rc a hostile body returns with when the kernel let it go on
VICTIM_TEXT = b"untouched"
SECRET_TEXT = b"secret"
HOSTILE_TICKS = 20_000
STEP_LIMIT = 20_000

#: The lab the ``adv-*`` programs belong to (one at a time; the tests are sequential).
CURRENT: list[Lab] = []


# ------------------------------------------------------------------- the programs
@kl.program("adv-hostile")
def hostile(dom, msg):
    """Runs the current case's body (after one primary CALL when the case is *warm*, so
    that the CPU is already borrowed and the kernel's fast paths see what follows)."""
    lab = CURRENT[-1]
    if lab.warm:
        yield dom.call(dom.keys[R_DKC], oc.DKC.Create6, data=bytes(6))
    yield from lab.body(dom, msg, lab)


@kl.program("adv-driver")
def driver(dom, msg):
    """CALLs key register 0 (the hostile domain) with the message; records the reply:
    register 0 counts replies, register 1 is the rc, register 2 the string's length;
    the reply's keys go to key registers 4–7."""
    r = yield dom.call(dom.keys[0], msg.order, msg.keys[0], msg.keys[1], msg.keys[2], data=msg.data)
    dom.regs[0] = dom.regs[0] + 1
    if r is None:
        dom.regs[1] = 0xDEAD
        return
    dom.regs[1] = r.rc
    dom.regs[2] = len(r.data)
    for n in range(4):
        dom.keys[4 + n] = r.keys[n]


@kl.program("adv-keeper")
def keeper(dom, msg):
    """Domain keeper: register 0 counts traps, register 1 is the last trap code, register 2
    the length of the string; keeps the fault key (key register 1) and the domain key
    (key register 2); does not resume the domain."""
    dom.regs[0] = dom.regs[0] + 1
    dom.regs[1] = msg.order
    dom.regs[2] = len(msg.data)
    dom.keys[1] = msg.keys[3]
    dom.keys[2] = msg.keys[2]
    return
    yield


@kl.program("adv-pause")
def pause(dom, msg):
    """Keeps the caller's resume key in key register 0 and ends: the caller waits until
    the console sends through that key (test_yield_anything's step boundary)."""
    dom.keys[0] = msg.resume
    return
    yield


# --------------------------------------------------------------------- helpers
def op(code, key, order=0, keys=(), data=b""):
    """A raw jump tuple, built without running any method of the parts."""
    return (code, key, order, keys, data)


def small_meter(con, ticks: int):
    """A meter key to a fresh meter with ``ticks`` under the user meter."""
    node = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(node, oc.Node.Swap + 1, con["meter"])
    dk = con.call(con["dkc"], oc.DKC.Create11, data=ticks.to_bytes(11, "big")).keys[0]
    con.call(node, oc.Node.Swap + 3, dk)
    return con.call(node, oc.Node.MakeMeterKey).keys[0], node


def _elements(value) -> Iterator[object]:
    """The fields of a tuple or list, read with the built-in methods (no override runs)."""
    if isinstance(value, tuple):
        for i in range(tuple.__len__(value)):
            yield tuple.__getitem__(value, i)
    elif isinstance(value, list):
        for i in range(list.__len__(value)):
            yield list.__getitem__(value, i)


def walk_keys(value, depth: int = 0) -> Iterator[object]:
    """Every Key (or Key look-alike) inside kernel-held tuples, lists and NamedTuples."""
    if isinstance(value, Key):
        yield value
        return
    if depth > 5:
        return
    for part in _elements(value):
        yield from walk_keys(part, depth + 1)


def system_keys(k) -> Iterator[tuple[str, object]]:
    """(where, key) for every key the kernel keeps: node slots, handlers' held sets,
    pending actions and retries, stall queues, meter-stopped domains."""
    for obj in k.objs:
        if isinstance(obj, Node):
            for n, key in enumerate(obj.slots):
                yield f"node #{obj.id} slot {n}", key
    for root, ds in k.domains.items():
        for key in ds.held:
            yield f"held by domain #{root} ({ds.program})", key
        for what in ("next", "on_resume"):
            for key in walk_keys(getattr(ds, what)):
                yield f"domain #{root}.{what}", key
        for _inv, pending in ds.stall:
            for key in walk_keys(pending):
                yield f"stall queue of #{root}", key
    for mid, stopped in k.meter_stopped.items():
        for ds, action in stopped:
            for key in walk_keys(action):
                yield f"meter-stopped #{ds.root} on meter #{mid}", key


def well_formed(key) -> str | None:
    """Why ``key`` is not a well-formed kernel key, or None."""
    if type(key) is not Key:
        return f"a {type(key).__name__}, not a Key"
    if tuple.__len__(key) != 4:
        return f"a Key of {tuple.__len__(key)} fields"
    fields = tuple(_elements(key))
    if not all(type(f) is int for f in fields):
        return "a Key with fields of types " + ", ".join(type(f).__name__ for f in fields)
    t, o, db, a = fields
    if t not in TYPE_NAMES:
        return f"unknown key type {t}"
    if not 0 <= db <= 255 or a < 0:
        return f"databyte {db} or alloc {a} out of range"
    if t == DATA and not (0 <= o < DATA_LIMIT and db == 0 and a == 0):
        return f"a data key with obj {o}, databyte {db}, alloc {a}"
    if t == MISC and o not in MISC_NAMES:
        return f"a misc key of unknown subtype {o}"
    return None


def derivable(p: Key, key: Key) -> bool:
    """``key`` (same object and allocation id as ``p``) can be made from ``p`` by
    ordinary orders: an attenuation, or a key its holder may make."""
    t, pt = key.type, p.type
    if pt == PAGE:
        return t == PAGE and bool(key.databyte & RO or not p.databyte & RO)
    if pt == NODE:
        return t in (NODE, FETCH, SENSE, SEGMENT, METER, FRONTEND, DOMAIN)
    if pt == FETCH:
        return t in (FETCH, SENSE)
    if pt == SENSE:
        return t == SENSE
    if pt in (SEGMENT, FRONTEND):
        return (
            t == pt
            and key.databyte & 0x0F == p.databyte & 0x0F
            and key.databyte | p.databyte == key.databyte
        )
    if pt == DOMAIN:
        return t in (START, DOMAIN)
    return False


_FOLLOW = (NODE, FETCH, SENSE, SEGMENT, FRONTEND, DOMAIN)


def reach(k, keys) -> set[Key]:
    """Every key reachable from ``keys`` in the current state: through node-like keys to
    the slots of the node, and through a start or resume key to the keys node of the
    domain it names (that domain may hand over anything it holds)."""
    seen: set[Key] = set()
    todo = [key for key in keys if type(key) is Key]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        t = key.type
        if t not in OBJECT_TYPES or k.live(key) != key:
            continue
        node = k.objs[key.obj]
        if not isinstance(node, Node):
            continue
        if t in _FOLLOW:
            todo.extend(node.slots)
        elif t in (START, RESUME):
            kn = k.live(node.slots[KEYS_NODE])
            if kn.type == NODE and isinstance(k.objs[kn.obj], Node):
                todo.append(kn)
    return seen


def reachable(k, start, key: Key, fresh: int) -> bool:
    """``key`` is a data key, a key issued since allocation id ``fresh``, a key in
    ``reach(start)`` or one derivable from such a key."""
    if key.type == DATA:
        return True
    if key.type in OBJECT_TYPES and key.alloc >= fresh:
        return True
    if key in start:
        return True
    return key.type in OBJECT_TYPES and any(
        p.obj == key.obj and p.alloc == key.alloc and derivable(p, key) for p in start
    )


class Touched(list):
    """Records every special method the kernel ran on a program's object."""


TOUCHED = Touched()


# ------------------------------------------------------------------------ the lab
class Lab:
    """A booted kernel with a hostile domain running ``body`` (see the module docstring)."""

    def __init__(
        self,
        body: Callable,
        *,
        warm: bool = False,
        keeper: bool = True,
        own_domain_key: bool = False,
        second: bool = False,
        pause: bool = False,
        node: bool = False,
        ticks: int = HOSTILE_TICKS,
    ) -> None:
        self.body, self.warm = body, warm
        self.k = k = kl.Kernel()
        self.con = con = k.console
        con.step_limit = STEP_LIMIT
        self.state: dict = {}  # scratch space a body may use across runs
        CURRENT[:] = [self]
        TOUCHED.clear()
        bank = con["bank"]
        self.echo_dom = kl.build_domain(con, "echo")
        self.echo = kl.start_key(con, self.echo_dom)
        self.victim = con.call(bank, oc.SB.CreatePage).keys[0]
        con.call(self.victim, oc.Page.WriteData, data=VICTIM_TEXT)
        self.secret = con.call(bank, oc.SB.CreatePage).keys[0]
        con.call(self.secret, oc.Page.WriteData, data=SECRET_TEXT)
        self.secret_ro = con.call(self.secret, oc.Page.MakeReadOnlyKey).keys[0]
        self.keeper_dom = kl.build_domain(con, "adv-keeper")
        self.keeper = kl.start_key(con, self.keeper_dom)
        self.mypage = con.call(bank, oc.SB.CreatePage).keys[0]
        self.meter, self.meter_node = small_meter(con, ticks)
        regs = {
            R_PAGE: self.mypage,
            R_DKC: con["dkc"],
            R_ECHO: self.echo,
            R_SECRET: self.secret_ro,
            R_RETURNER: con["returner"],
            R_DISCRIM: con["discrim"],
        }
        if node:
            self.node = con.call(bank, oc.SB.CreateNode).keys[0]
            con.call(self.node, oc.Node.Swap + 0, self.echo)
            regs[R_NODE] = self.node
        #: A page the console may send it (a key it does not hold otherwise).
        self.gift = con.call(bank, oc.SB.CreatePage).keys[0]
        if pause:
            self.pause_dom = kl.build_domain(con, "adv-pause")
            regs[R_PAUSE] = kl.start_key(con, self.pause_dom)
        self.dom = self._hostile_domain(regs, keeper, own_domain_key)
        self.start = kl.start_key(con, self.dom)
        con.call(self.dom, oc.Domain.SwapKey + R_SELF, self.start)
        self.root = con.target(self.dom)
        if second:  # another domain running the same program, with keys of its own
            page2 = con.call(bank, oc.SB.CreatePage).keys[0]
            self.dom2 = self._hostile_domain({R_PAGE: page2, R_DKC: con["dkc"]}, keeper, False)
            self.start2 = kl.start_key(con, self.dom2)
            self.root2 = con.target(self.dom2)
        self.driver_dom = kl.build_domain(con, "adv-driver", keys={0: self.start})
        self.driver = kl.start_key(con, self.driver_dom)
        self.driver_root = con.target(self.driver_dom)
        self.keeper_root = con.target(self.keeper_dom)
        #: Genuine keys the hostile domain does NOT hold, for it to guess.
        raw = con.key
        self.raw = {
            "victim": raw(self.victim),
            "secret_rw": raw(self.secret),
            "secret_ro": raw(self.secret_ro),
            "mypage": raw(self.mypage),
            "keeper": raw(self.keeper),
            "keeper_dom": raw(self.keeper_dom),
            "driver": raw(self.driver),
            "driver_dom": raw(self.driver_dom),
            "echo_dom": raw(self.echo_dom),
            "self_dom": raw(self.dom),
            "self": raw(self.start),
            "bank": raw(bank),
            "dcc": raw(con["dcc"]),
            "meter": raw(con["meter"]),
            "meter_node": raw(con["meter_service"]),
            "domtool": raw(con["domtool"]),
            "keybits": raw(con["keybits"]),
            "my_meter": raw(self.meter),
        }
        root = k.objs[self.root]
        self.raw["root_node"] = Key(NODE, root.id, 0, root.alloc)
        self.raw["keys_node"] = root.slots[KEYS_NODE]
        self.raw["regs_node"] = root.slots[REGS_NODE]
        self.raw["address"] = root.slots[3]
        for _where, key in system_keys(k):
            if key.type in (11, 12) and "range" not in self.raw:  # range keys
                self.raw["range"] = key
        self.raw.setdefault("range", Key(11, 1, 0, 1))
        self._snapshot()

    def _hostile_domain(self, regs, keeper: bool, own_domain_key: bool):
        con = self.con
        memory = kl.build_segment(con, [kl.image(con, "adv-hostile"), regs[R_PAGE]])
        dom = kl.build_domain(
            con,
            None,
            memory=memory,
            meter=self.meter,
            keeper=self.keeper if keeper else None,
            keys=regs,
        )
        if own_domain_key:
            con.call(dom, oc.Domain.SwapKey + R_DOMAIN, dom)
        return dom

    def _snapshot(self) -> None:
        k = self.k
        self.pre_keys = {key for _w, key in system_keys(k) if type(key) is Key}
        self.pre_by_obj: dict[tuple[int, int], list[Key]] = {}
        for key in self.pre_keys:
            self.pre_by_obj.setdefault((key.obj, key.alloc), []).append(key)
        self.pre_next_alloc = k.store.next_alloc
        self.pre_log = len(k.log)
        #: What each hostile domain (and the driver) could reach before the run, in the
        #: state before the run: what it holds afterwards must come from here.
        self.reach_pre = {
            root: reach(k, self._domain_keys(root, registers_only=True))
            for root in self.hostile_roots()
        }
        self.root_pre = {
            root: set(k.objs[root].slots) for root in self.hostile_roots() + [self.driver_root]
        }
        self.reach_driver = reach(
            k, self._domain_keys(self.driver_root, registers_only=True)
        ) | set().union(*self.reach_pre.values())

    def hostile_roots(self) -> list[int]:
        return [self.root] + ([self.root2] if hasattr(self, "root2") else [])

    def _domain_keys(self, root: int, registers_only: bool = False) -> list[Key]:
        """Every key in a domain's keys node and registers node (and root, unless
        ``registers_only``: a program cannot use the keys in its root's slots)."""
        k = self.k
        node = k.objs[root]
        out = [] if registers_only else list(node.slots)
        for slot in (KEYS_NODE, REGS_NODE):
            key = k.live(node.slots[slot])
            if key.type == NODE and isinstance(k.objs[key.obj], Node):
                out.extend(k.objs[key.obj].slots)
        return out

    # ------------------------------------------------------------------ running
    def run(self, order: int = 0, *keys, data: bytes = b"", target=None):
        """FORK the driver (or ``target``) with the message and run until nothing can
        run. A BaseException out of the kernel is a failure of the case, not of the
        session (KeyboardInterrupt would stop pytest)."""
        CURRENT[:] = [self]
        sent = reach(self.k, [self.con.key(h) for h in keys])
        for root in self.reach_pre:
            self.reach_pre[root] |= sent
        self.reach_driver |= sent
        try:
            self.con.fork(target if target is not None else self.driver, order, *keys, data=data)
            steps = self.con.run()
        except BaseException as exc:  # noqa: BLE001 - anything out of the kernel is a finding
            raise AssertionError(
                f"{type(exc).__name__} escaped the kernel's run: {_safe(exc)}\n{_tb(exc)}"
            ) from None
        assert steps < self.con.step_limit, "the hostile run did not settle within the limit"
        return steps

    # ----------------------------------------------------------------- outcomes
    def regs_of(self, root: int) -> list[int]:
        k = self.k
        rn = k.objs[k.objs[root].slots[REGS_NODE].obj]
        return [key.obj if key.type == DATA else 0 for key in rn.slots]

    @property
    def ds(self):
        return self.k.domains[self.root]

    def traps(self) -> tuple[int, int]:
        """(number of traps the keeper saw, the last trap code)."""
        r = self.regs_of(self.keeper_root)
        return r[0], r[1]

    def reply(self) -> tuple[int, int] | None:
        """(replies the driver got, the last rc), or None when it got none."""
        r = self.regs_of(self.driver_root)
        return (r[0], r[1]) if r[0] else None

    def expect_trap(self, code: int, count: int = 1, svc: bool = False) -> None:
        n, got = self.traps()
        ds = self.ds
        assert (n, got) == (count, code), (
            f"expected {count} trap(s) with code {code:#x}, keeper saw {n} (last code "
            f"{got:#x}); hostile state {ds.state}, error {ds.error!r}, reply {self.reply()}"
        )
        assert ds.state == WAITING, f"trapped domain left {ds!r}"
        if not svc:  # (a system call keeps its handler: the keeper may answer it)
            assert ds.proc is None, f"the trapped domain's handler is still alive: {ds!r}"

    def expect_trap_in(self, low: int, high: int) -> None:
        n, got = self.traps()
        assert n == 1 and low <= got < high, (
            f"expected one trap in [{low:#x}, {high:#x}), keeper saw {n} (code {got:#x}); "
            f"error {self.ds.error!r}"
        )

    def expect_done(self, rc: int | None = SURVIVED) -> None:
        """The handler ended on its own (no trap); the driver got ``rc`` (unless None)."""
        n, code = self.traps()
        assert n == 0, f"unexpected trap {code:#x}: {self.ds.error!r}"
        if rc is not None:
            got = self.reply()
            assert got is not None and got[1] == rc, f"driver saw {got}, not rc {rc:#x}"
        assert self.ds.proc is None, "the handler is still alive"

    def expect_parked(self, why: str = "") -> None:
        ds = self.ds
        assert ds.parked is not None and ds.state == WAITING, f"not parked: {ds!r}"
        assert why in ds.parked or why in (ds.error or ""), (ds.parked, ds.error)

    # ------------------------------------------------------------------- checks
    def check_clean(self, *, touched_ok: bool = False) -> None:
        self.check_no_forged_keys()
        self.check_paths()
        self.check_states()
        self.check_invariants()
        if not touched_ok:
            assert not TOUCHED, f"the kernel ran the program's methods: {list(TOUCHED)[:6]}"
        self.check_console_answers()

    def check_no_forged_keys(self) -> None:
        k = self.k
        now_next = k.store.next_alloc
        for where, key in system_keys(k):
            bad = well_formed(key)
            assert bad is None, f"{where}: malformed key ({bad})"
            if key.type == DATA or key in self.pre_keys:
                continue
            if key.type in OBJECT_TYPES:
                if key.alloc >= self.pre_next_alloc:
                    assert key.alloc < now_next, f"{where}: {key!r} has an unissued alloc id"
                    continue
                parents = self.pre_by_obj.get((key.obj, key.alloc), ())
                assert any(derivable(p, key) for p in parents), (
                    f"{where}: FORGED {key!r}: no key it could come from existed ({parents})"
                )
            else:
                raise AssertionError(f"{where}: FORGED {key!r} (a kernel key nobody had)")

    def check_paths(self) -> None:
        """A hostile domain ends holding only keys it could reach before, attenuations
        of them, or keys issued during the run; so does the driver it replies to."""
        k = self.k
        fresh = self.pre_next_alloc
        checks = [(root, self.reach_pre[root], "hostile domain") for root in self.hostile_roots()]
        checks.append((self.driver_root, self.reach_driver, "the driver"))
        for root, start, who in checks:
            ds = k.domains.get(root)
            held = list(ds.held) if ds is not None else []
            for key in k.objs[root].slots:
                if (
                    key not in self.root_pre.get(root, ())
                    and type(key) is Key
                    and not reachable(k, start, key, fresh)
                ):
                    raise AssertionError(
                        f"{who} #{root}'s root holds {key!r}, which it had no path to"
                    )
            for key in self._domain_keys(root, registers_only=True) + held:
                if type(key) is Key and not reachable(k, start, key, fresh):
                    raise AssertionError(f"{who} #{root} holds {key!r}, which it had no path to")

    def check_states(self) -> None:
        k = self.k
        console = k.console.state
        queued = {id(ds) for ds in k.runq}
        for root, ds in k.domains.items():
            if ds is console:
                continue
            if ds.state == RUNNING and ds.stalled_on is None:
                assert id(ds) in queued, (
                    f"domain #{root} ({ds.program}) is RUNNING but will "
                    f"never run: not on the run queue"
                )
            if ds.state == AVAILABLE:
                assert ds.proc is None and ds.next is None, (
                    f"available domain #{root} ({ds.program}) still has a handler or action"
                )
            if ds.parked is not None:  # (one stopped by its meter keeps its handler)
                assert ds.state == WAITING, f"parked #{root} is {ds!r}"
        assert console.state == RUNNING and console.next is None and console.stalled_on is None, (
            "the console is not running"
        )

    def check_invariants(self) -> None:
        k = self.k
        n_objs, next_alloc = len(k.objs), k.store.next_alloc
        for oid, obj in enumerate(k.objs):
            if obj is not None:
                assert obj.id == oid and obj.alloc < next_alloc
        for where, key in system_keys(k):
            if key.type in OBJECT_TYPES:
                assert 0 < key.obj < n_objs, f"{where}: {key!r} names no object ever made"
                assert key.alloc < next_alloc, f"{where}: {key!r} has an unissued alloc"
            if key.type == RESUME and k.live(key) == key:
                assert k.domains[key.obj].state == WAITING, (
                    f"{where}: live {key!r} to a domain that does not wait"
                )
        assert len(k.log) >= self.pre_log
        ev = k.events()
        assert len(ev) == len(k.log)

    def check_console_answers(self) -> None:
        con = self.con
        r = con.call(self.echo, 77, data=b"still here")
        assert (r.rc, r.data) == (77, b"still here")
        got = con.call(self.victim, oc.Page.ReadData, data=len(VICTIM_TEXT).to_bytes(4, "big"))
        assert got.data == VICTIM_TEXT, "the victim page was written"
        got = con.call(self.secret, oc.Page.ReadData, data=len(SECRET_TEXT).to_bytes(4, "big"))
        assert got.data == SECRET_TEXT, "the secret page (read-only to it) was written"
        assert con.call(con["bank"], oc.SB.CreatePage).rc == 0
        assert con.call(con["dkc"], 0, data=b"\0\0\0\0\0\x07").rc == 0


def _safe(exc: BaseException) -> str:
    try:
        return str(exc)[:500]
    except BaseException:  # noqa: BLE001
        return f"<unprintable {type(exc).__name__}>"


def _tb(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_tb(exc.__traceback__)[-4:])
    except BaseException:  # noqa: BLE001
        return ""


# ------------------------------------------------------------- isolated runs
class Isolated:
    """``fn`` running in a forked child (started at once); :meth:`result` waits for it.

    The result is ("ok", the repr of what ``fn`` returned, seconds), ("error", the text of
    what it raised, seconds), or ("hung", None, seconds) when it did not finish by the
    deadline (the child is killed). A runaway that hangs the kernel cannot hang the suite.
    """

    def __init__(self, fn: Callable[[], object]) -> None:
        self.t0 = time.monotonic()
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(rfd)
            try:
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
                try:
                    result = ("ok", repr(fn()))
                except BaseException as exc:  # noqa: BLE001
                    result = ("error", f"{type(exc).__name__}: {_safe(exc)}\n{_tb(exc)}")
                payload = repr(result).encode()
                os.write(wfd, struct.pack(">I", len(payload)) + payload)
            finally:
                os._exit(0)
        os.close(wfd)
        self.pid, self.rfd = pid, rfd
        self.done: tuple | None = None

    def result(self, timeout: float) -> tuple[str, object, float]:
        """Wait until ``timeout`` seconds after the start, at most."""
        if self.done is not None:
            return self.done
        left = max(0.0, self.t0 + timeout - time.monotonic())
        ready, _, _ = select.select([self.rfd], [], [], left)
        if not ready:
            self.kill()
            self.done = ("hung", None, timeout)
            return self.done
        data = b""
        while True:
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                break
            data += chunk
        os.close(self.rfd)
        os.waitpid(self.pid, 0)
        elapsed = time.monotonic() - self.t0
        if len(data) < 4:
            self.done = ("error", "the child died without a result", elapsed)
            return self.done
        import ast

        status, value = ast.literal_eval(data[4:].decode())
        self.done = (status, ast.literal_eval(value) if status == "ok" else value, elapsed)
        return self.done

    def kill(self) -> None:
        if self.done is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            try:
                os.close(self.rfd)
            except OSError:
                pass
            self.done = ("hung", None, time.monotonic() - self.t0)
