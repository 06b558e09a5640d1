"""Hostile programs against the program interface: every case is one behaviour.

The promise under test (README, Programs; docs/reliability.md, the trust model): a program
"can use only keys it holds" — nothing it yields through the program interface creates
authority — and a program that raises, yields garbage, names a key it does not hold or
breaks a rule of the message format traps to its domain keeper with the documented code
(``oc.Trap``), or is parked when it has none; the kernel runs none of the program's
methods on what it yields, and the console still answers afterwards.

Each case builds a fresh :class:`hostile_kit.Lab` (a hostile domain with a few keys, a
driver that CALLs it, a keeper that records traps, bystanders), runs the hostile body,
checks the outcome the case expects and then :meth:`Lab.check_clean`: no forged key
anywhere in the system, none held by the hostile domain without a path, no domain stuck
RUNNING, the kernel's invariants, the console answering.

Jump-shaped cases run twice: *cold* (the first op of the handler: the kernel's general
path) and *warm* (after one primary CALL, so the CPU is borrowed and the fast paths in
``Kernel._run`` see the op first).
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hostile_kit import (
    MYPAGE_ADDRESS,
    R_DISCRIM,
    R_DKC,
    R_DOMAIN,
    R_ECHO,
    R_NODE,
    R_PAGE,
    R_RETURNER,
    R_SECRET,
    R_SELF,
    SURVIVED,
    Lab,
    Trap,
    oc,
    op,
    system_keys,
)
from odd_objects import (
    BytesSub,
    Hostile,
    KeySub,
    Liar,
    ListGetLies,
    ListIterLies,
    ListLenLies,
    LyingInt,
    NamelessError,
    NotAString,
    OddName,
    StrSub,
    Tattle,
    TInt,
    TupleSub,
    Unprintable,
    key3,
    key5,
    released,
)

import keykos_lab as kl
from keykos_lab.kernel import ops
from keykos_lab.kernel.domains import AVAILABLE, WAITING
from keykos_lab.kernel.eventlog import C_BADKEY, C_TRAP
from keykos_lab.kernel.keys import DK, DK0, FAULT, MISC, NODE, PAGE, RESTART, RO, Key
from keykos_lab.kernel.process import (
    OP_CALL,
    OP_FORK,
    OP_READ,
    OP_RETURN,
    OP_TRAP,
    OP_WRITE,
    DeadDomain,
)
from keykos_lab.kernel.watchdog import ProgramTimeLimit

BJ, BK, EX, IL, SC, SVC = (
    Trap.BADJUMP,
    Trap.BADKEY,
    Trap.EXCEPTION,
    Trap.ILLEGAL,
    Trap.SELFCALL,
    Trap.SVC,
)
MEM = "memory fault"
HUGE = 10**5000  # more digits than int → str allows (sys.int_info)


# ------------------------------------------------------------------------ cases
@dataclass
class Case:
    id: str
    body: Callable
    expect: Any  # a trap code, MEM, "done", ("done", rc), ("parked", …)
    lab: dict = field(default_factory=dict)
    runs: tuple = ((0, ()),)  # (order, key names the console passes) per run
    check: Callable | None = None  # extra checks on the lab
    touched_ok: bool = False  # the program's own code runs the odd object's methods
    warm: tuple = (False,)  # (False,) cold only; (False, True) both


CASES: list[Case] = []


def case(id, expect, *, warm=False, **kw):
    """Decorator: ``body(dom, msg, lab)`` is a case."""

    def deco(body):
        CASES.append(Case(id, body, expect, warm=(False, True) if warm else (False,), **kw))
        return body

    return deco


def yields(id, expect, make, *, warm=False, **kw):
    """A case whose body yields ``make(dom, msg, lab)`` once, then replies SURVIVED."""

    def body(dom, msg, lab):
        value = make(dom, msg, lab)
        yield value
        yield dom.return_(msg.resume, SURVIVED)

    body.__qualname__ = f"yields_{id}"
    CASES.append(Case(id, body, expect, warm=(False, True) if warm else (False,), **kw))


def does(id, expect, act, *, warm=False, **kw):
    """A case whose body runs ``act(dom, msg, lab)`` (plain code), then replies SURVIVED."""

    def body(dom, msg, lab):
        act(dom, msg, lab)
        yield dom.return_(msg.resume, SURVIVED)

    CASES.append(Case(id, body, expect, warm=(False, True) if warm else (False,), **kw))


def page(dom):
    return dom.keys[R_PAGE]


def echo(dom):
    return dom.keys[R_ECHO]


def raw(name):
    return lambda dom, msg, lab: lab.raw[name]


# =========================== A. values that are not ops ==============================
NOT_OPS = {
    "none": lambda d, m, lab: None,
    "zero": lambda d, m, lab: 0,
    "huge-int": lambda d, m, lab: HUGE,
    "negative-int": lambda d, m, lab: -1,
    "float": lambda d, m, lab: 1.5,
    "nan": lambda d, m, lab: float("nan"),
    "complex": lambda d, m, lab: 1j,
    "str": lambda d, m, lab: "call",
    "str-10MB": lambda d, m, lab: "x" * 10_000_000,
    "bytes": lambda d, m, lab: b"\0\0\0\0\0",
    "bytearray": lambda d, m, lab: bytearray(5),
    "memoryview": lambda d, m, lab: memoryview(b"12345"),
    "empty-tuple": lambda d, m, lab: (),
    "empty-list": lambda d, m, lab: [],
    "list-form-of-a-call": lambda d, m, lab: [OP_CALL, page(d), 0, (), b""],
    "dict": lambda d, m, lab: {"code": OP_CALL, "key": page(d)},
    "set": lambda d, m, lab: {1, 2},
    "frozenset": lambda d, m, lab: frozenset({OP_CALL}),
    "object": lambda d, m, lab: object(),
    "the-dom": lambda d, m, lab: d,
    "the-message": lambda d, m, lab: m,
    "dk0": lambda d, m, lab: DK0,
    "a-held-key": lambda d, m, lab: page(d),
    "a-function": lambda d, m, lab: d.call,
    "a-generator": lambda d, m, lab: (x for x in range(3)),
    "range": lambda d, m, lab: range(5),
    "a-type": lambda d, m, lab: tuple,
    "ellipsis": lambda d, m, lab: ...,
    "notimplemented": lambda d, m, lab: NotImplemented,
    "a-module": lambda d, m, lab: sys,
    "an-exception": lambda d, m, lab: ValueError("x"),
    "tattle": lambda d, m, lab: Tattle(),
    "liar": lambda d, m, lab: Liar(),
    "class-with-raising-name": lambda d, m, lab: OddName(),
    "tuple-subclass-call": lambda d, m, lab: TupleSub((OP_CALL, page(d), 0, (), b"")),
    "namedtuple-call": lambda d, m, lab: collections.namedtuple("Op", "code key order keys data")(
        OP_CALL, page(d), 0, (), b""
    ),
    "kernel-Jump": lambda d, m, lab: ops.Jump(OP_CALL, page(d), 0, (), b""),
    "kernel-Jump-forged-key": lambda d, m, lab: ops.Jump(
        OP_CALL, lab.raw["victim"], 4096, (), b"pwned"
    ),
    "kernel-KeeperCall": lambda d, m, lab: ops.KeeperCall(
        echo(d), 0, (DK0, DK0, lab.raw["victim"]), b"", FAULT, C_TRAP
    ),
    "kernel-KeeperCall-guessed-keeper": lambda d, m, lab: ops.KeeperCall(
        lab.raw["keeper"], 0, (DK0, DK0, lab.raw["domtool"]), b"", FAULT, C_TRAP
    ),
    "kernel-MemoryOp": lambda d, m, lab: ops.MemoryOp(True, 0, 5, b"pwned"),
    "kernel-Svc": lambda d, m, lab: ops.Svc(1, b""),
    "kernel-BadOp": lambda d, m, lab: ops.BadOp(C_BADKEY, "not me"),
    "old-op-100-guessed-keeper": lambda d, m, lab: (
        100,
        lab.raw["keeper"],
        0,
        (DK0, DK0, lab.raw["victim"]),
        b"",
        FAULT,
        C_TRAP,
    ),
    "old-op-100-held-key": lambda d, m, lab: (
        100,
        echo(d),
        0,
        (DK0, DK0, lab.raw["domtool"]),
        b"",
        RESTART,
        C_TRAP,
    ),
    "old-op-100-five-fields": lambda d, m, lab: (100, lab.raw["victim"], 4096, (), b"x"),
    "op-code-6": lambda d, m, lab: (6, page(d), 0, (), b""),
    "op-code-minus-1": lambda d, m, lab: (-1, page(d), 0, (), b""),
    "op-code-2**64": lambda d, m, lab: (2**64, page(d), 0, (), b""),
    "op-code-str": lambda d, m, lab: ("0", page(d), 0, (), b""),
    "op-code-none": lambda d, m, lab: (None, page(d), 0, (), b""),
    "op-code-huge": lambda d, m, lab: (HUGE, page(d), 0, (), b""),
    "arity-1": lambda d, m, lab: (OP_CALL,),
    "arity-2": lambda d, m, lab: (OP_CALL, page(d)),
    "arity-3-call": lambda d, m, lab: (OP_CALL, page(d), 0),
    "arity-4-call": lambda d, m, lab: (OP_CALL, page(d), 0, ()),
    "arity-6-call": lambda d, m, lab: (OP_CALL, page(d), 0, (), b"", None),
    "arity-4-return": lambda d, m, lab: (OP_RETURN, m.resume, 0, ()),
    "arity-6-fork": lambda d, m, lab: (OP_FORK, echo(d), 0, (), b"", 0),
    "read-arity-1": lambda d, m, lab: (OP_READ,),
    "read-arity-2": lambda d, m, lab: (OP_READ, MYPAGE_ADDRESS),
    "read-arity-4": lambda d, m, lab: (OP_READ, MYPAGE_ADDRESS, 1, 2),
    "write-arity-2": lambda d, m, lab: (OP_WRITE, MYPAGE_ADDRESS),
    "write-arity-4": lambda d, m, lab: (OP_WRITE, MYPAGE_ADDRESS, b"x", b"y"),
    "trap-arity-1": lambda d, m, lab: (OP_TRAP,),
    "trap-arity-2": lambda d, m, lab: (OP_TRAP, 1),
    "trap-arity-4": lambda d, m, lab: (OP_TRAP, 1, b"", 0),
    "huge-tuple": lambda d, m, lab: (OP_CALL,) * 1_000_000,
}
for _name, _make in NOT_OPS.items():
    yields(f"yield-{_name}", BJ, _make)

# The op code itself, on a jump that would otherwise be accepted: a primary key (page),
# a start key (echo) and the caller's resume key; cold and warm (fast paths).
ODD_CODES = {
    "false": lambda: False,
    "true": lambda: True,
    "0.0": lambda: 0.0,
    "1.0": lambda: 1.0,
    "int-subclass": lambda: TInt(0),
    "tattle": Tattle,
    "liar": Liar,
}
for _cname, _code in ODD_CODES.items():
    for _kname, _key in (
        ("page", lambda d, m: page(d)),
        ("start", lambda d, m: echo(d)),
        ("resume", lambda d, m: m.resume),
    ):
        yields(
            f"op-code-{_cname}-on-{_kname}-key",
            BJ,
            lambda d, m, lab, c=_code, k=_key: op(c(), k(d, m), 3),
            warm=True,
        )


# =========================== B. the order code ======================================
ODD_ORDERS = {
    "minus-1": lambda: -1,
    "2**32": lambda: 2**32,
    "2**64": lambda: 2**64,
    "huge": lambda: HUGE,
    "minus-huge": lambda: -HUGE,
    "true": lambda: True,
    "false": lambda: False,
    "float": lambda: 1.0,
    "int-subclass": lambda: TInt(5),
    "none": lambda: None,
    "str": lambda: "5",
    "tattle": Tattle,
    "liar": Liar,
}
for _oname, _order in ODD_ORDERS.items():
    yields(
        f"order-{_oname}-call", BJ, lambda d, m, lab, o=_order: op(OP_CALL, page(d), o()), warm=True
    )
for _oname in ("minus-1", "2**32", "huge", "true", "tattle"):
    yields(
        f"order-{_oname}-return",
        BJ,
        lambda d, m, lab, o=ODD_ORDERS[_oname]: op(OP_RETURN, m.resume, o()),
        warm=True,
    )
    yields(
        f"order-{_oname}-fork",
        BJ,
        lambda d, m, lab, o=ODD_ORDERS[_oname]: op(OP_FORK, echo(d), o()),
        warm=True,
    )


# =========================== C. the key invoked ======================================
def _fields(key, **change):
    f = dict(zip(("type", "obj", "databyte", "alloc"), key))
    f.update(change)
    return tuple.__new__(Key, (f["type"], f["obj"], f["databyte"], f["alloc"]))


NOT_KEYS = {
    "none": lambda d, m, lab: None,
    "int": lambda d, m, lab: 0,
    "str": lambda d, m, lab: "page",
    "plain-tuple-equal-to-held": lambda d, m, lab: tuple(page(d)),
    "list-equal-to-held": lambda d, m, lab: list(page(d)),
    "key-of-3-fields": lambda d, m, lab: key3(page(d)),
    "key-of-5-fields": lambda d, m, lab: key5(page(d)),
    "key-of-5-fields-victim": lambda d, m, lab: key5(lab.raw["victim"]),
    "key-subclass-lying-eq-hash": lambda d, m, lab: KeySub(*page(d)),
    "key-subclass-posing-as-victim": lambda d, m, lab: KeySub(*lab.raw["victim"]),
    "float-obj-equal-to-held": lambda d, m, lab: _fields(page(d), obj=float(page(d).obj)),
    "bool-type-equal-to-held": lambda d, m, lab: _fields(page(d), type=True),
    "int-subclass-fields": lambda d, m, lab: Key(*(TInt(f) for f in page(d))),
    "int-subclass-victim": lambda d, m, lab: Key(*(TInt(f) for f in lab.raw["victim"])),
    "huge-fields": lambda d, m, lab: _fields(page(d), obj=HUGE),
    "negative-fields": lambda d, m, lab: _fields(page(d), obj=-page(d).obj),
    "str-fields": lambda d, m, lab: Key("1", "2", "0", "1"),
    "tattle-field": lambda d, m, lab: _fields(page(d), alloc=Tattle()),
    "liar-field": lambda d, m, lab: _fields(page(d), alloc=Liar()),
    "nested-key": lambda d, m, lab: Key(page(d), 0, 0, 0),
}
GUESSED = (
    "victim",
    "secret_rw",
    "keeper",
    "keeper_dom",
    "driver",
    "driver_dom",
    "echo_dom",
    "self_dom",
    "root_node",
    "keys_node",
    "regs_node",
    "address",
    "bank",
    "dcc",
    "meter",
    "meter_node",
    "my_meter",
    "domtool",
    "keybits",
    "range",
)
for _kname, _make in NOT_KEYS.items():
    yields(
        f"invoke-{_kname}", BK, lambda d, m, lab, mk=_make: op(OP_CALL, mk(d, m, lab), 0), warm=True
    )
for _g in GUESSED:
    yields(
        f"invoke-guessed-{_g}",
        BK,
        lambda d, m, lab, g=_g: op(OP_CALL, lab.raw[g], oc.Page.WriteData, (), b"pwned"),
        warm=True,
    )
for _g in ("victim", "keeper", "bank"):
    yields(f"fork-guessed-{_g}", BK, lambda d, m, lab, g=_g: op(OP_FORK, lab.raw[g], 0), warm=True)
    yields(
        f"return-guessed-{_g}", BK, lambda d, m, lab, g=_g: op(OP_RETURN, lab.raw[g], 0), warm=True
    )
MADE_UP = {
    "unknown-misc": lambda d, m, lab: Key(MISC, 99, 0, 0),
    "unknown-type": lambda d, m, lab: Key(99, 1, 0, 1),
    "data-key-not-held": lambda d, m, lab: DK(5),
    "ro-page-amplified-by-replace": lambda d, m, lab: d.keys[R_SECRET]._replace(databyte=0),
    "page-amplified-to-node": lambda d, m, lab: page(d)._replace(type=NODE),
    "echo-start-other-databyte": lambda d, m, lab: echo(d)._replace(databyte=7),
    "echo-start-next-alloc": lambda d, m, lab: echo(d)._replace(alloc=echo(d).alloc + 1),
    "echo-start-as-domain-key": lambda d, m, lab: echo(d)._replace(type=8),
    "resume-as-fault-flavour": lambda d, m, lab: m.resume._replace(databyte=FAULT),
    "resume-as-restart-flavour": lambda d, m, lab: m.resume._replace(databyte=RESTART),
    "resume-next-alloc": lambda d, m, lab: m.resume._replace(alloc=m.resume.alloc + 1),
    "resume-to-keeper": lambda d, m, lab: m.resume._replace(obj=lab.keeper_root),
    "dkc-as-domtool": lambda d, m, lab: d.keys[R_DKC]._replace(obj=1),
    "page-to-next-object": lambda d, m, lab: page(d)._replace(obj=page(d).obj + 1),
}
for _kname, _make in MADE_UP.items():
    yields(
        f"invoke-{_kname}", BK, lambda d, m, lab, mk=_make: op(OP_CALL, mk(d, m, lab), 0), warm=True
    )


# A jump whose key is None, after the fast path checked another key: the kernel's
# "last key checked" starts as None, so None must not pass for "already checked".
def _none_after(first, settle=True):
    def body(dom, msg, lab):
        yield first(dom, msg, lab)  # a fast-path jump: that key is checked
        if settle:
            yield dom.read(MYPAGE_ADDRESS, 1)  # a general-path op: nothing checked now
        yield op(OP_CALL, None, oc.Node.Fetch + 0)
        yield dom.return_(msg.resume, SURVIVED)

    return body


for _fname, _first in (
    ("node-fetch", lambda d, m, lab: d.call(d.keys[R_NODE], 0)),
    ("page-call", lambda d, m, lab: d.call(page(d), oc.Page.ReadData, data=bytes(4))),
    ("dkc-call", lambda d, m, lab: d.call(d.keys[R_DKC], 0, data=bytes(6))),
    ("echo-call", lambda d, m, lab: d.call(echo(d), 1)),
):
    CASES.append(
        Case(
            f"invoke-none-after-a-fast-{_fname}",
            _none_after(_first),
            BK,
            lab={"node": True},
            warm=(True,),
        )
    )
    CASES.append(
        Case(
            f"invoke-none-right-after-a-fast-{_fname}",
            _none_after(_first, settle=False),
            BK,
            lab={"node": True},
            warm=(True,),
        )
    )


# =========================== D. the keys passed ======================================
def _lying_list(cls, d, lab):
    lst = cls([page(d)])
    lst.later = [lab.raw["victim"], lab.raw["domtool"]]
    return lst


BAD_KEY_LISTS = {
    "list-subclass-iter-lies": lambda d, m, lab: _lying_list(ListIterLies, d, lab),
    "list-subclass-len-lies": lambda d, m, lab: _lying_list(ListLenLies, d, lab),
    "list-subclass-getitem-lies": lambda d, m, lab: _lying_list(ListGetLies, d, lab),
    "tuple-subclass": lambda d, m, lab: TupleSub((page(d),)),
    "generator": lambda d, m, lab: (k for k in (page(d), lab.raw["victim"])),
    "dict": lambda d, m, lab: {0: page(d)},
    "set": lambda d, m, lab: {page(d)},
    "none": lambda d, m, lab: None,
    "a-bare-key": lambda d, m, lab: page(d),
    "str": lambda d, m, lab: "abc",
    "bytes": lambda d, m, lab: b"abc",
    "memoryview": lambda d, m, lab: memoryview(b"abc"),
    "four-on-call": lambda d, m, lab: (page(d), echo(d), DK0, DK0),
    "a-million": lambda d, m, lab: [page(d)] * 1_000_000,
    "tattle": lambda d, m, lab: Tattle(),
    "liar": lambda d, m, lab: Liar(),
}
for _lname, _make in BAD_KEY_LISTS.items():
    yields(
        f"keys-{_lname}",
        BJ,
        lambda d, m, lab, mk=_make: op(OP_CALL, echo(d), 0, mk(d, m, lab)),
        warm=True,
    )
yields(
    "keys-five-on-fork", BJ, lambda d, m, lab: op(OP_FORK, echo(d), 0, (page(d),) * 5), warm=True
)
yields(
    "keys-five-on-return",
    BJ,
    lambda d, m, lab: op(OP_RETURN, m.resume, 0, (page(d),) * 5),
    warm=True,
)
yields(
    "keys-dom-call-args-plus-keys-makes-four",
    BJ,
    lambda d, m, lab: d.call(echo(d), 0, page(d), page(d), keys=(page(d), page(d))),
)

BAD_KEYS_INSIDE = {
    "guessed-victim": lambda d, m, lab: (lab.raw["victim"],),
    "guessed-domtool": lambda d, m, lab: (lab.raw["domtool"],),
    "guessed-keeper": lambda d, m, lab: (lab.raw["keeper"],),
    "amplified-secret": lambda d, m, lab: (lab.raw["secret_rw"],),
    "none": lambda d, m, lab: (None,),
    "plain-tuple": lambda d, m, lab: (tuple(page(d)),),
    "key-subclass": lambda d, m, lab: (KeySub(*page(d)),),
    "key-of-5": lambda d, m, lab: (key5(page(d)),),
    "key-of-3": lambda d, m, lab: (key3(page(d)),),
    "nested-list": lambda d, m, lab: ([page(d)],),
    "tattle": lambda d, m, lab: (Tattle(),),
    "int-subclass-fields": lambda d, m, lab: (Key(*(TInt(f) for f in page(d))),),
    "two-good-one-forged": lambda d, m, lab: (page(d), echo(d), lab.raw["victim"]),
    "data-key-not-held": lambda d, m, lab: (DK(5),),
}
for _iname, _make in BAD_KEYS_INSIDE.items():
    yields(
        f"pass-{_iname}",
        BK,
        lambda d, m, lab, mk=_make: op(OP_CALL, echo(d), 0, mk(d, m, lab)),
        warm=True,
    )
    yields(
        f"pass-{_iname}-in-list",
        BK,
        lambda d, m, lab, mk=_make: op(OP_CALL, echo(d), 0, list(mk(d, m, lab))),
    )
yields(
    "pass-a-list-that-contains-itself",
    BK,
    lambda d, m, lab: (lambda lst: (lst.append(lst), op(OP_CALL, echo(d), 0, lst))[1])([page(d)]),
)
yields(
    "return-passing-guessed-keeper",
    BK,
    lambda d, m, lab: op(OP_RETURN, m.resume, 0, (lab.raw["keeper"],)),
    warm=True,
)
yields(
    "fork-passing-guessed-range-key",
    BK,
    lambda d, m, lab: op(OP_FORK, echo(d), 0, (lab.raw["range"],)),
    warm=True,
)


# =========================== E. the string ==========================================
BAD_DATA = {
    "str": lambda: "hello",
    "str-subclass": lambda: StrSub("hello"),
    "int": lambda: 5,
    "none": lambda: None,
    "bytes-subclass": lambda: BytesSub(b"hello"),
    "list-of-ints": lambda: [104, 105],
    "released-memoryview": released,
    "memoryview-of-10MB": lambda: memoryview(bytes(10_000_000)),
    "bytes-4097": lambda: b"x" * 4097,
    "bytearray-4097": lambda: bytearray(4097),
    "memoryview-Q-600-items": lambda: memoryview(bytes(4800)).cast("Q"),
    "tattle": Tattle,
    "liar": Liar,
}
for _dname, _data in BAD_DATA.items():
    yields(
        f"data-{_dname}-call",
        BJ,
        lambda d, m, lab, mk=_data: op(OP_CALL, echo(d), 0, (), mk()),
        warm=True,
    )
for _dname in ("str", "released-memoryview", "bytes-4097", "tattle"):
    yields(
        f"data-{_dname}-return",
        BJ,
        lambda d, m, lab, mk=BAD_DATA[_dname]: op(OP_RETURN, m.resume, 0, (), mk()),
        warm=True,
    )


def _echoes(data_factory, expected):
    """Call echo with the string; reply SURVIVED only if echo got exactly ``expected``."""

    def body(dom, msg, lab):
        data = data_factory()
        r = yield op(OP_CALL, echo(dom), 0, (), data)
        if isinstance(data, bytearray):
            data[:] = b"Z" * len(data)  # mutate after the kernel took it
        ok = r.data == expected and type(r.data) is bytes
        yield dom.return_(msg.resume, SURVIVED if ok else 1)

    return body


for _name, _factory, _expected in (
    ("bytearray", lambda: bytearray(b"abc"), b"abc"),
    ("memoryview", lambda: memoryview(b"abc"), b"abc"),
    ("memoryview-strided", lambda: memoryview(b"aXbXc")[::2], b"abc"),
    ("memoryview-Q-500-items", lambda: memoryview(bytes(4000)).cast("Q"), bytes(4000)),
    ("bytes-4096", lambda: b"y" * 4096, b"y" * 4096),
    ("empty", lambda: b"", b""),
):
    CASES.append(
        Case(f"data-{_name}-is-copied", _echoes(_factory, _expected), "done", warm=(False, True))
    )


# =========================== F. memory ==============================================
BAD_MEMORY = {
    "read-address-minus-1": lambda d: d.read(-1, 4),
    "read-address-2**64": lambda d: d.read(2**64, 4),
    "read-address-huge": lambda d: d.read(HUGE, 4),
    "read-address-float": lambda d: d.read(4096.0, 4),
    "read-address-bool": lambda d: d.read(True, 4),
    "read-address-none": lambda d: d.read(None, 4),
    "read-address-int-subclass": lambda d: d.read(TInt(4096), 4),
    "read-address-tattle": lambda d: d.read(Tattle(), 4),
    "read-length-minus-1": lambda d: d.read(4096, -1),
    "read-length-4GB": lambda d: d.read(4096, 1 << 32),
    "read-length-2**64": lambda d: d.read(4096, 1 << 64),
    "read-length-1MB-plus-1": lambda d: d.read(4096, (1 << 20) + 1),
    "read-length-huge": lambda d: d.read(4096, HUGE),
    "read-length-float": lambda d: d.read(4096, 1.5),
    "read-length-bool": lambda d: d.read(4096, True),
    "read-length-none": lambda d: d.read(4096, None),
    "read-length-bytes": lambda d: d.read(4096, b"xx"),
    "read-length-tattle": lambda d: d.read(4096, Tattle()),
    "write-str": lambda d: d.write(4096, "hello"),
    "write-int": lambda d: d.write(4096, 5),
    "write-none": lambda d: d.write(4096, None),
    "write-bytes-subclass": lambda d: d.write(4096, BytesSub(b"x")),
    "write-list": lambda d: d.write(4096, [1, 2]),
    "write-1MB-plus-1": lambda d: d.write(4096, bytes((1 << 20) + 1)),
    "write-released-memoryview": lambda d: d.write(4096, released()),
    "write-tattle": lambda d: d.write(4096, Tattle()),
    "write-address-huge": lambda d: d.write(HUGE, b"x"),
    "write-address-minus-1": lambda d: d.write(-1, b"x"),
}
for _mname, _make in BAD_MEMORY.items():
    yields(f"mem-{_mname}", BJ, lambda d, m, lab, mk=_make: mk(d))
FAULTS = {
    "read-past-the-segment": lambda d: d.read(8192, 4),
    "read-at-the-top": lambda d: d.read(2**64 - 1, 10),
    "read-1MB-across-the-end": lambda d: d.read(MYPAGE_ADDRESS, 1 << 20),
    "write-the-read-only-image": lambda d: d.write(0, b"pwned"),
    "write-1MB-across-the-end": lambda d: d.write(MYPAGE_ADDRESS, bytes(1 << 20)),
    "write-at-the-top": lambda d: d.write(2**64 - 1, b"xy"),
}
for _mname, _make in FAULTS.items():
    yields(f"mem-{_mname}", MEM, lambda d, m, lab, mk=_make: mk(d))


@case("mem-write-bytearray-then-mutate", "done")
def _write_then_mutate(dom, msg, lab):
    data = bytearray(b"first")
    yield dom.write(MYPAGE_ADDRESS, data)
    data[:] = b"LATER"
    got = yield dom.read(MYPAGE_ADDRESS, 5)
    yield dom.return_(msg.resume, SURVIVED if got == b"first" else 1)


@case("mem-read-length-0", "done")
def _read_zero(dom, msg, lab):
    got = yield dom.read(MYPAGE_ADDRESS, 0)
    yield dom.return_(msg.resume, SURVIVED if got == b"" else 1)


@case("mem-write-memoryview-Q", "done")
def _write_q(dom, msg, lab):
    yield dom.write(MYPAGE_ADDRESS, memoryview(bytes(range(16))).cast("Q"))
    got = yield dom.read(MYPAGE_ADDRESS, 16)
    yield dom.return_(msg.resume, SURVIVED if got == bytes(range(16)) else 1)


@case("mem-read-result-cannot-write-the-page", "done")
def _read_result_immutable(dom, msg, lab):
    got = yield dom.read(0, 8)  # the read-only image page
    try:
        got[0] = 0  # bytes: immutable
    except TypeError:
        pass
    again = yield dom.read(0, 8)
    yield dom.return_(msg.resume, SURVIVED if again == got else 1)


# =========================== G. system calls =========================================
yields("svc-7", ("svc", SVC + 7), lambda d, m, lab: d.trap(7))
yields("svc-0", ("svc", SVC), lambda d, m, lab: d.trap(0))
yields("svc-max-code", ("svc", SVC + 0xFFFFFF), lambda d, m, lab: d.trap(0xFFFFFF))
yields("svc-string-4096", ("svc", SVC + 1), lambda d, m, lab: d.trap(1, b"s" * 4096))
for _sname, _code in (
    ("minus-1", -1),
    ("2**24", 1 << 24),
    ("huge", HUGE),
    ("true", True),
    ("float", 7.0),
    ("none", None),
    ("str", "7"),
):
    yields(f"svc-code-{_sname}", BJ, lambda d, m, lab, c=_code: d.trap(c))
yields("svc-code-tattle", BJ, lambda d, m, lab: d.trap(Tattle()))
yields("svc-string-4097", BJ, lambda d, m, lab: d.trap(7, b"x" * 4097))
yields("svc-string-str", BJ, lambda d, m, lab: d.trap(7, "x"))
yields("svc-string-released", BJ, lambda d, m, lab: d.trap(7, released()))


# =========================== H. the dom interface ====================================
def _reads(index):
    return lambda d, m, lab: d.keys[index]


for _iname, _index in (
    ("16", 16),
    ("minus-1", -1),
    ("str", "0"),
    ("bool", True),
    ("float", 1.0),
    ("int-subclass", TInt(0)),
    ("huge", HUGE),
    ("none", None),
):
    does(f"dom-keys-read-{_iname}", EX, _reads(_index))
    does(f"dom-regs-read-{_iname}", EX, lambda d, m, lab, i=_index: d.regs[i])


def _set_key(make, slot=0):
    def act(d, m, lab):
        d.keys[slot] = make(d, m, lab)

    return act


for _sname, _make in (
    ("guessed-victim", raw("victim")),
    ("guessed-domtool", raw("domtool")),
    ("amplified-secret", raw("secret_rw")),
    ("none", lambda *a: None),
    ("plain-tuple", lambda d, m, lab: tuple(page(d))),
    ("key-subclass", lambda d, m, lab: KeySub(*lab.raw["victim"])),
    ("key-of-5", lambda d, m, lab: key5(page(d))),
    ("data-key-not-held", lambda *a: DK(5)),
    ("int-subclass-fields", lambda d, m, lab: Key(*(TInt(f) for f in page(d)))),
    ("tattle", lambda *a: Tattle()),
):
    does(f"dom-keys-write-{_sname}", EX, _set_key(_make))
does("dom-keys-write-slot-16", EX, _set_key(lambda d, m, lab: page(d), 16))
does("dom-keys-write-dk0", "done", _set_key(lambda *a: DK0))
does("dom-keys-write-a-held-key-elsewhere", "done", _set_key(lambda d, m, lab: echo(d), 9))
does("dom-keys-write-the-resume-key", "done", _set_key(lambda d, m, lab: m.resume, 9))


def _set_reg(value, slot=0):
    def act(d, m, lab):
        d.regs[slot] = value() if callable(value) else value

    return act


for _rname, _value in (
    ("minus-1", -1),
    ("2**88", 1 << 88),
    ("huge", HUGE),
    ("float", 1.5),
    ("str", "5"),
    ("none", None),
    ("key", DK0),
    ("tattle", Tattle),
):
    does(f"dom-regs-write-{_rname}", EX, _set_reg(_value))
does("dom-regs-write-slot-16", EX, _set_reg(1, 16))
does("dom-regs-write-2**88-minus-1", "done", _set_reg((1 << 88) - 1))


def _regs_readable(lab):
    """The registers node holds exact-int data keys, and GetRegs through the domain key
    works (it is the keeper's and the owner's view of the domain)."""
    r = lab.con.call(lab.dom, oc.Domain.GetRegs)
    assert r.rc == 0 and len(r.data) == 128


for _rname, _value in (
    ("bool", True),
    ("int-subclass", lambda: TInt(5)),
    ("int-subclass-lying-about-its-size", lambda: LyingInt(1 << 200)),
):
    does(
        f"dom-regs-write-{_rname}", "clean", _set_reg(_value), check=_regs_readable, touched_ok=True
    )


def _dead_dom_keys(d, m, lab):
    return lab.state["dom"].keys[0]


@case("dom-stashed-from-an-earlier-activation", EX, runs=((0, ()), (1, ())))
def _stash_dom(dom, msg, lab):
    if msg.order == 0:
        lab.state["dom"] = dom
        yield dom.return_(msg.resume, SURVIVED)
        return
    lab.state["dom"].keys[R_PAGE]  # DeadDomain: a program error
    yield dom.return_(msg.resume, SURVIVED)


@case("dom-stashed-regs-write-from-an-earlier-activation", EX, runs=((0, ()), (1, ())))
def _stash_dom_regs(dom, msg, lab):
    if msg.order == 0:
        lab.state["dom"] = dom
        yield dom.return_(msg.resume, SURVIVED)
        return
    lab.state["dom"].regs[0] = 5
    yield dom.return_(msg.resume, SURVIVED)


@case("dom-used-after-its-handler-ended-by-a-finally", "done")
def _dom_in_finally(dom, msg, lab):
    try:
        yield dom.return_(msg.resume, SURVIVED)
    finally:
        try:
            dom.keys[0] = lab.raw["victim"]
        except DeadDomain:
            lab.state["dead"] = True


def _two_domains(lab):
    """The second domain's activation traps: one trap for it, none for the first."""
    assert lab.traps() == (1, Trap.EXCEPTION)
    ds2 = lab.k.domains[lab.root2]
    assert ds2.state == WAITING
    assert "DeadDomain" in (ds2.error or ""), ds2.error


@case(
    "dom-of-another-domain-from-a-global",
    "clean",
    lab={"second": True},
    runs=((0, ()), ("second", ())),
    check=_two_domains,
)
def _other_dom(dom, msg, lab):
    if dom.id == lab.root:
        lab.state["dom"] = dom
        yield dom.return_(msg.resume, SURVIVED)
        return
    lab.state["dom"].keys[R_PAGE]  # the first domain's dom: dead here
    yield dom.return_(msg.resume, SURVIVED)


@case(
    "dom-of-another-domain-used-to-write-its-registers",
    "clean",
    lab={"second": True},
    runs=((0, ()), ("second", ())),
    check=_two_domains,
)
def _other_dom_write(dom, msg, lab):
    if dom.id == lab.root:
        lab.state["dom"] = dom
        yield dom.return_(msg.resume, SURVIVED)
        return
    lab.state["dom"].keys[R_PAGE] = dom.keys[R_PAGE]
    yield dom.return_(msg.resume, SURVIVED)


def _stashed_key_case(id, expect, first, second, **kw):
    """Activation 1 runs ``first`` (keeps something in lab.state); activation 2 ``second``."""

    def body(dom, msg, lab):
        if msg.order == 0:
            yield from first(dom, msg, lab)
            yield dom.return_(msg.resume, SURVIVED)
            return
        yield from second(dom, msg, lab)
        yield dom.return_(msg.resume, SURVIVED)

    CASES.append(Case(id, body, expect, runs=((0, ("gift",)), (1, ())), **kw))


def _keep_msg_key(dom, msg, lab):
    lab.state["key"] = msg.keys[0]
    return
    yield


def _keep_resume(dom, msg, lab):
    lab.state["key"] = msg.resume
    return
    yield


def _keep_reply_key(dom, msg, lab):
    r = yield dom.call(page(dom), oc.Page.MakeReadOnlyKey)
    lab.state["key"] = r.keys[0]


def _keep_register_then_clear(dom, msg, lab):
    lab.state["key"] = echo(dom)
    dom.keys[R_ECHO] = DK0  # gone from the registers
    yield dom.call(lab.state["key"], 1)  # still usable in this activation


def _keep_register(dom, msg, lab):
    lab.state["key"] = echo(dom)
    return
    yield


def _use_kept(dom, msg, lab):
    yield dom.call(lab.state["key"], 0)


def _return_through_kept(dom, msg, lab):
    yield dom.return_(lab.state["key"], 3)


_stashed_key_case("stash-message-key-use-later", BK, _keep_msg_key, _use_kept)
_stashed_key_case(
    "stash-message-key-pass-later",
    BK,
    _keep_msg_key,
    lambda d, m, lab: (yield op(OP_CALL, echo(d), 0, (lab.state["key"],))),
)
_stashed_key_case("stash-resume-key-return-later", BK, _keep_resume, _return_through_kept)
_stashed_key_case("stash-reply-key-use-later", BK, _keep_reply_key, _use_kept)
_stashed_key_case("stash-cleared-register-use-later", BK, _keep_register_then_clear, _use_kept)
_stashed_key_case("stash-register-key-use-later", "done", _keep_register, _use_kept)


def _msg_key_to_register(dom, msg, lab):
    dom.keys[9] = msg.keys[0]
    return
    yield


_stashed_key_case(
    "message-key-kept-in-a-register",
    "done",
    _msg_key_to_register,
    lambda d, m, lab: (yield op(OP_CALL, d.keys[9], 0)),
)


def _second_uses_first_key(lab):
    assert lab.traps() == (1, Trap.BADKEY)
    assert lab.k.domains[lab.root2].error.startswith("invoked")


@case(
    "key-from-another-domains-message",
    "clean",
    lab={"second": True},
    runs=((0, ("gift",)), ("second", ())),
    check=_second_uses_first_key,
)
def _cross_domain_key(dom, msg, lab):
    if dom.id == lab.root:
        lab.state["key"] = msg.keys[0]
        yield dom.return_(msg.resume, SURVIVED)
        return
    yield dom.call(lab.state["key"], oc.Page.WriteData, data=b"pwned")


@case("dom-keys-replaced-by-a-dict", EX)
def _dict_keys(dom, msg, lab):
    dom.keys = {0: lab.raw["victim"]}  # refused: dom.keys is the kernel's view, not replaceable
    yield dom.call(dom.keys[0], oc.Page.WriteData, data=b"pwned")


# =========================== I. exceptions and control flow ==========================
def _raises(exc_factory, after_yield=True):
    def body(dom, msg, lab):
        if after_yield:
            yield dom.call(dom.keys[R_DKC], 0)
        raise exc_factory()
        yield  # (unreachable: it keeps this a generator)

    return body


RAISES = {
    "value-error": lambda: ValueError("hostile"),
    "base-exception-subclass": Hostile,
    "system-exit": lambda: SystemExit(3),
    "generator-exit": GeneratorExit,
    "stop-iteration": StopIteration,
    "stop-async-iteration": StopAsyncIteration,
    "unprintable": Unprintable,
    "str-not-a-string": NotAString,
    "message-of-10MB": lambda: ValueError("x" * 10_000_000),
    "surrogate-in-message": lambda: ValueError("\ud800"),
    "class-with-raising-name": NamelessError,
    "kernel-error": lambda: kl.KernelError("I am the kernel"),
    "deadlock": lambda: kl.Deadlock("fake"),
    "step-limit": lambda: kl.StepLimitExceeded("fake"),
    "program-time-limit": lambda: ProgramTimeLimit("fake"),
    "dead-domain": lambda: DeadDomain("fake"),
    "memory-error": MemoryError,
    "recursion-error": RecursionError,
    "exception-with-unprintable-cause": lambda: _with_cause(),
}


def _with_cause():
    exc = ValueError("outer")
    exc.__cause__ = Unprintable()
    return exc


for _ename, _factory in RAISES.items():
    CASES.append(Case(f"raise-{_ename}", _raises(_factory), EX))
for _ename in ("value-error", "base-exception-subclass", "unprintable", "system-exit"):
    CASES.append(
        Case(f"raise-{_ename}-before-any-yield", _raises(RAISES[_ename], after_yield=False), EX)
    )


class _StrTouchesDom(Exception):
    def __init__(self, dom):
        super().__init__("x")
        self.dom = dom

    def __str__(self):
        return f"key 0 is {self.dom.keys[0]!r}"  # DeadDomain once the handler is over


CASES.append(
    Case(
        "raise-exception-whose-str-uses-the-dom",
        lambda dom, msg, lab: (yield from _raises(lambda: _StrTouchesDom(dom))(dom, msg, lab)),
        EX,
    )
)


@case("recursion-in-the-handler", EX)
def _recurse(dom, msg, lab):
    def down(n):
        return down(n + 1) + 1

    yield dom.call(dom.keys[R_DKC], 0)
    down(0)


def _deep(n, dom):
    if n == 0:
        yield dom.call(dom.keys[R_DKC], 0)
        return
    yield from _deep(n - 1, dom)


@case("yield-from-nested-too-deep", EX)
def _deep_yield_from(dom, msg, lab):
    yield from _deep(100_000, dom)


@case("yield-from-a-nested-generator-that-yields-garbage", BJ)
def _nested_garbage(dom, msg, lab):
    def inner():
        yield dom.call(dom.keys[R_DKC], 0)
        yield "garbage"

    yield from inner()


@case("return-without-yielding", ("done", None))
def _returns(dom, msg, lab):
    return
    yield


@case("return-a-value", ("done", None))
def _returns_value(dom, msg, lab):
    yield dom.call(dom.keys[R_DKC], 0)
    return lab.raw["victim"]


@case("ignore-generator-exit-after-return", "done")
def _ignore_exit(dom, msg, lab):
    try:
        yield dom.return_(msg.resume, SURVIVED)
    except GeneratorExit:
        pass
    yield dom.call(lab.raw["victim"], oc.Page.WriteData, data=b"pwned")


def _cleaned_up_once(lab):
    """The kernel ends a handler once: its clean-up does not run again later (when the
    garbage collector finalizes a generator the handler delegated to)."""
    import gc

    gc.collect()
    assert lab.state["exits"] == 1, (
        f"the handler's clean-up ran {lab.state['exits']} times (the kernel keeps handlers "
        f"that refuse to end: domains.UNCLOSABLE)"
    )


@case("ignore-generator-exit-clean-up-runs-once", "done", check=_cleaned_up_once)
def _ignore_exit_count(dom, msg, lab):
    lab.state["exits"] = 0
    while True:
        try:
            yield dom.return_(msg.resume, SURVIVED)
        except GeneratorExit:
            lab.state["exits"] += 1


@case("ignore-generator-exit-forever", "done")
def _ignore_exit_forever(dom, msg, lab):
    first = True
    while True:
        try:
            if first:
                first = False
                yield dom.return_(msg.resume, SURVIVED)
            yield dom.call(lab.raw["victim"], oc.Page.WriteData, data=b"pwned")
        except GeneratorExit:
            continue


def _finally_raises(exc_factory):
    def body(dom, msg, lab):
        try:
            yield dom.return_(msg.resume, SURVIVED)
        finally:
            raise exc_factory()

    return body


for _ename in (
    "value-error",
    "unprintable",
    "str-not-a-string",
    "surrogate-in-message",
    "class-with-raising-name",
    "system-exit",
    "base-exception-subclass",
    "generator-exit",
    "kernel-error",
):
    CASES.append(Case(f"finally-raises-{_ename}", _finally_raises(RAISES[_ename]), "done"))


@case("finally-yields-a-forged-op", "done")
def _finally_yields(dom, msg, lab):
    try:
        yield dom.return_(msg.resume, SURVIVED)
    finally:
        yield dom.call(lab.raw["victim"], oc.Page.WriteData, data=b"pwned")


@case("finally-writes-a-register", "done")
def _finally_writes(dom, msg, lab):
    try:
        yield dom.return_(msg.resume, SURVIVED)
    finally:
        dom.regs[0] = 99  # DeadDomain: the handler is over


def _finally_after_trap(trigger, exc_factory):
    def body(dom, msg, lab):
        try:
            yield trigger(dom, msg, lab)
        finally:
            raise exc_factory()

    return body


for _tname, _trigger, _code in (
    ("badkey", lambda d, m, lab: op(OP_CALL, lab.raw["victim"], 0), BK),
    ("badjump", lambda d, m, lab: "garbage", BJ),
    ("selfcall", lambda d, m, lab: d.call(d.keys[R_SELF], 0), SC),
):
    for _ename in ("value-error", "unprintable", "system-exit"):
        CASES.append(
            Case(
                f"finally-raises-{_ename}-after-{_tname}-trap",
                _finally_after_trap(_trigger, RAISES[_ename]),
                _code,
            )
        )


class _ExitRaises:
    def __init__(self, exc_factory):
        self.exc_factory = exc_factory

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        raise self.exc_factory()


@case("context-manager-exit-raises-unprintable-on-close", "done")
def _cm_exit(dom, msg, lab):
    with _ExitRaises(Unprintable):
        yield dom.return_(msg.resume, SURVIVED)


# =========================== J. jumps =================================================
yields(
    "self-call-through-own-start-key", SC, lambda d, m, lab: d.call(d.keys[R_SELF], 0), warm=True
)
yields(
    "self-fork-through-own-start-key", SC, lambda d, m, lab: d.fork(d.keys[R_SELF], 0), warm=True
)
yields("return-to-own-start-key", SC, lambda d, m, lab: d.return_(d.keys[R_SELF], 0), warm=True)


@case("fork-self-repeatedly", SC)
def _fork_self_loop(dom, msg, lab):
    for _ in range(1000):
        yield dom.fork(dom.keys[R_SELF], 0)


@case("fork-echo-300-times", "done")
def _fork_echo(dom, msg, lab):
    for n in range(300):
        yield dom.fork(echo(dom), n)
    yield dom.return_(msg.resume, SURVIVED)


def _meter_stopped(lab):
    ds = lab.ds
    assert (
        lab.traps()[0] == 0
        and ds.state == WAITING
        and ds.parked is not None
        and "meter" in ds.parked
    ), (ds.parked, ds.error)


@case("endless-loop-of-calls-to-echo", "clean", check=_meter_stopped)
def _endless_echo(dom, msg, lab):
    while True:
        yield dom.call(echo(dom), 1)


@case("endless-loop-of-primary-calls", "clean", check=_meter_stopped, warm=True)
def _endless_primary(dom, msg, lab):
    while True:
        yield dom.call(dom.keys[R_DKC], 0, data=bytes(6))


@case("endless-loop-of-memory-reads", "clean", check=_meter_stopped)
def _endless_reads(dom, msg, lab):
    while True:
        yield dom.read(MYPAGE_ADDRESS, 4096)


@case("endless-loop-of-data-key-calls-with-4096-bytes", "clean", check=_meter_stopped)
def _endless_big(dom, msg, lab):
    while True:
        yield dom.call(DK0, 0, data=b"x" * 4096)


@case("return-through-a-page-key", ("done", None), warm=True)
def _return_page(dom, msg, lab):
    yield dom.return_(page(dom), 0)


@case("return-through-dk0", ("done", None), warm=True)
def _return_dk0(dom, msg, lab):
    yield dom.return_(DK0, 0)


@case("return-through-echo-start-key", ("done", None), warm=True)
def _return_echo(dom, msg, lab):
    yield dom.return_(echo(dom), 5)


def _driver_waits_on_hostile(lab):
    assert lab.reply() == (1, 5) and lab.traps()[0] == 0
    assert lab.ds.state == WAITING and not lab.ds.parked


@case(
    "call-the-resume-key-instead-of-returning", "clean", check=_driver_waits_on_hostile, warm=True
)
def _call_resume(dom, msg, lab):
    yield dom.call(msg.resume, 5)
    yield dom.return_(msg.resume, SURVIVED)


@case(
    "fork-the-resume-key-then-use-it-again",
    "clean",
    warm=True,
    check=lambda lab: lab.expect_done(9),
)
def _fork_resume(dom, msg, lab):
    yield dom.fork(msg.resume, 9)
    r = yield dom.call(msg.resume, 10)  # a dead key now: KT+1, no delivery
    assert r.rc == oc.RC.DATAKEY
    yield dom.return_(msg.resume, SURVIVED)


@case("return-with-four-keys", "done", warm=True)
def _return_four(dom, msg, lab):
    yield dom.return_(msg.resume, SURVIVED, page(dom), echo(dom), DK0, dom.keys[R_SECRET])


@case("fork-with-four-keys", "done", warm=True)
def _fork_four(dom, msg, lab):
    yield dom.fork(echo(dom), 1, page(dom), echo(dom), DK0, dom.keys[R_SECRET])
    yield dom.return_(msg.resume, SURVIVED)


@case("return-through-the-returner-to-the-caller", "done", warm=True)
def _returner(dom, msg, lab):
    yield dom.return_(dom.keys[R_RETURNER], SURVIVED, DK0, DK0, DK0, msg.resume)


@case("return-through-the-returner-forged-resume", BK, warm=True)
def _returner_forged(dom, msg, lab):
    yield dom.return_(dom.keys[R_RETURNER], 0, DK0, DK0, DK0, msg.resume._replace(databyte=FAULT))


@case("return-through-the-returner-to-own-start-key", ("done", None), warm=True)
def _returner_self(dom, msg, lab):
    yield dom.return_(dom.keys[R_RETURNER], 0, DK0, DK0, DK0, dom.keys[R_SELF])


@case("hand-the-resume-key-to-echo-and-return-through-what-comes-back", "done", warm=True)
def _resume_via_echo(dom, msg, lab):
    r = yield dom.call(echo(dom), 0, msg.resume)
    yield dom.return_(r.keys[0], SURVIVED)


@case("yield-the-same-call-op-twice", "done", warm=True)
def _same_op(dom, msg, lab):
    call = dom.call(echo(dom), 4, page(dom), data=b"again")
    a = yield call
    b = yield call
    yield dom.return_(msg.resume, SURVIVED if a.rc == b.rc == 4 else 1)


@case("yield-the-same-return-op-twice", "done", warm=True)
def _same_return(dom, msg, lab):
    ret = dom.return_(msg.resume, SURVIVED)
    yield ret
    yield ret


@case("keys-list-mutated-after-the-yield", "done", warm=True)
def _mutate_keys(dom, msg, lab):
    keys = [page(dom)]
    r = yield op(OP_CALL, echo(dom), 0, keys)
    keys[0] = lab.raw["victim"]
    yield dom.return_(msg.resume, SURVIVED if r.keys[0] == page(dom) else 1)


@case("discrim-on-a-forged-key", BK, warm=True)
def _discrim_forged(dom, msg, lab):
    yield dom.call(dom.keys[R_DISCRIM], oc.Discrim.Type, lab.raw["victim"])


@case("discrim-compare-of-held-keys", "done", warm=True)
def _discrim_ok(dom, msg, lab):
    yield dom.call(dom.keys[R_DISCRIM], oc.Discrim.Compare, page(dom), echo(dom))
    yield dom.return_(msg.resume, SURVIVED)


@case("ro-page-write-refused-by-the-kernel", "done", warm=True)
def _ro_write(dom, msg, lab):
    r = yield dom.call(dom.keys[R_SECRET], oc.Page.WriteData, data=b"pwned")
    yield dom.return_(msg.resume, SURVIVED if r.rc != 0 else 1)


@case("guess-keys-by-brute-force", BK, warm=True)
def _brute(dom, msg, lab):
    v = lab.raw["victim"]
    for alloc in range(v.alloc - 3, v.alloc + 3):
        yield dom.call(Key(PAGE, v.obj, 0, alloc), oc.Page.WriteData, data=b"pwned")


@case("call-with-string-4096", "done", warm=True)
def _string_4096(dom, msg, lab):
    r = yield dom.call(echo(dom), 1, data=b"s" * 4096)
    yield dom.return_(msg.resume, SURVIVED if len(r.data) == 4096 else 1)


# =========================== K. its own domain key ===================================
DOMKEY = {"own_domain_key": True}


def _domain_call(order, *keys, data=b""):
    def make(d, m, lab):
        ks = tuple(k(d, m, lab) if callable(k) else k for k in keys)
        return d.call(d.keys[R_DOMAIN], order, *ks, data=data)

    return make


def _available(lab):
    assert lab.traps()[0] == 0 and lab.ds.state == AVAILABLE and lab.ds.proc is None


def _busy_waiting(lab):
    assert lab.traps()[0] == 0 and lab.ds.state == WAITING and lab.ds.proc is None


yields(
    "own-domain-make-available",
    "clean",
    _domain_call(oc.Domain.MakeAvailable),
    lab=DOMKEY,
    check=_available,
    warm=True,
)
yields(
    "own-domain-make-busy",
    "clean",
    _domain_call(oc.Domain.MakeBusy),
    lab=DOMKEY,
    check=_busy_waiting,
    warm=True,
)
yields("own-domain-make-return-key", "done", _domain_call(oc.Domain.MakeReturnKey), lab=DOMKEY)
yields("own-domain-make-fault-key", "done", _domain_call(oc.Domain.MakeFaultKey), lab=DOMKEY)
yields(
    "own-domain-swap-key-forged",
    BK,
    _domain_call(oc.Domain.SwapKey + 0, lambda d, m, lab: lab.raw["victim"]),
    lab=DOMKEY,
)
yields(
    "own-domain-swap-key-held",
    "done",
    _domain_call(oc.Domain.SwapKey + 9, lambda d, m, lab: echo(d)),
    lab=DOMKEY,
)
yields("own-domain-get-key", "done", _domain_call(oc.Domain.GetKey + R_SECRET), lab=DOMKEY)
yields("own-domain-put-regs", "done", _domain_call(oc.Domain.PutRegs, data=bytes(128)), lab=DOMKEY)
yields(
    "own-domain-put-regs-short", "done", _domain_call(oc.Domain.PutRegs, data=bytes(5)), lab=DOMKEY
)
yields(
    "own-domain-put-control-fake-trap",
    "done",
    _domain_call(oc.Domain.PutControl, data=bytes(8) + (0x203).to_bytes(8, "big")),
    lab=DOMKEY,
)
yields(
    "own-domain-make-start-databyte-255",
    "done",
    _domain_call(oc.Domain.MakeStart, data=b"\xff"),
    lab=DOMKEY,
)
yields(
    "own-domain-replace-memory-with-no-image",
    IL,
    _domain_call(oc.Domain.ReplaceMemory, lambda d, m, lab: page(d)),
    lab=DOMKEY,
)
yields(
    "own-domain-swap-memory",
    "done",
    _domain_call(oc.Domain.SwapMemory, lambda d, m, lab: page(d)),
    lab=DOMKEY,
)
yields(
    "own-domain-swap-meter-to-dk0",
    "clean",
    _domain_call(oc.Domain.SwapMeter, DK0),
    lab=DOMKEY,
    check=lambda lab: lab.expect_parked("meter"),
)


@case(
    "own-domain-swap-keeper-to-itself-then-garbage",
    "clean",
    lab=DOMKEY,
    check=lambda lab: lab.expect_parked("keeper is a start key to itself"),
)
def _keeper_self(dom, msg, lab):
    yield dom.call(dom.keys[R_DOMAIN], oc.Domain.SwapKeeper, dom.keys[R_SELF])
    yield "garbage"


@case("own-domain-make-start-then-self-call", SC, lab=DOMKEY)
def _make_start_self(dom, msg, lab):
    r = yield dom.call(dom.keys[R_DOMAIN], oc.Domain.MakeStart, data=b"\x07")
    yield dom.call(r.keys[0], 0)


@case(
    "own-domain-make-available-with-a-finally-that-raises-unprintable",
    "clean",
    lab=DOMKEY,
    check=_available,
)
def _avail_finally(dom, msg, lab):
    try:
        yield dom.call(dom.keys[R_DOMAIN], oc.Domain.MakeAvailable)
    finally:
        raise Unprintable()


@case("own-domain-make-available-with-a-finally-that-yields", "clean", lab=DOMKEY, check=_available)
def _avail_finally_yield(dom, msg, lab):
    try:
        yield dom.call(dom.keys[R_DOMAIN], oc.Domain.MakeAvailable)
    finally:
        yield dom.call(lab.raw["victim"], oc.Page.WriteData, data=b"pwned")


@case("own-domain-turn-into-echo", "clean", lab=DOMKEY)
def _become_echo(dom, msg, lab):
    yield dom.call(page(dom), oc.Page.WriteData, data=kl.kernel.image_bytes("echo"))
    yield dom.call(dom.keys[R_DOMAIN], oc.Domain.ReplaceMemory, page(dom))


# ------------------------------------------------------------- the test itself
def _params():
    out = []
    for c in CASES:
        for warm in c.warm:
            suffix = "-warm" if warm else ("-cold" if len(c.warm) == 2 else "")
            out.append(pytest.param(c, warm, id=c.id + suffix))
    return out


PARAMS = _params()


def _expect(lab: Lab, expect) -> None:
    if expect == "clean":
        return
    if expect == MEM:
        lab.expect_trap_in(Trap.MEMORY, Trap.MEMORY + 0x100)
    elif expect == "done":
        lab.expect_done(SURVIVED)
    elif isinstance(expect, tuple) and expect[0] == "done":
        lab.expect_done(expect[1])
    elif isinstance(expect, tuple) and expect[0] == "svc":
        lab.expect_trap(expect[1], svc=True)
    elif isinstance(expect, tuple) and expect[0] == "parked":
        lab.expect_parked(expect[1])
    else:
        lab.expect_trap(expect)


@pytest.mark.parametrize("c, warm", PARAMS)
def test_hostile_behaviour(c: Case, warm: bool):
    lab = Lab(c.body, warm=warm, **c.lab)
    for order, keys in c.runs:
        handles = [getattr(lab, k) for k in keys]
        if order == "second":
            lab.run(0, *handles, target=lab.start2)
        else:
            lab.run(order, *handles)
    _expect(lab, c.expect)
    if c.check is not None:
        c.check(lab)
    lab.check_clean(touched_ok=c.touched_ok)


def test_the_catalogue_is_large_and_distinct():
    ids = [p.id for p in PARAMS]
    assert len(set(c.id for c in CASES)) == len(CASES) >= 150
    assert len(set(ids)) == len(ids)


# ---------------------------------------------------------- the checker checks
def _plant(lab: Lab, key: Key, slot: int = 9) -> None:
    """Put ``key`` straight into the hostile domain's key register (what a forgery would
    look like), bypassing the kernel."""
    k = lab.k
    kn = k.objs[k.objs[lab.root].slots[14].obj]
    kn.slots[slot] = key


@pytest.mark.parametrize(
    "what",
    [
        "victim",
        "secret_rw",
        "domtool",
        "keeper",
        "bank",
        "old-alloc",
        "unissued-alloc",
        "bool-field",
        "held-victim",
    ],
)
def test_the_checker_catches_a_planted_key(what):
    lab = Lab(lambda dom, msg, lab: (yield dom.return_(msg.resume, SURVIVED)))
    lab.run()
    r = lab.raw
    if what == "old-alloc":
        key = r["victim"]._replace(alloc=r["victim"].alloc - 1)
    elif what == "unissued-alloc":
        key = r["victim"]._replace(alloc=lab.k.store.next_alloc + 5)
    elif what == "bool-field":
        key = Key(0, True, 0, 0)
    else:
        key = r[what.replace("held-", "")]
    if what == "held-victim":
        lab.k.domains[lab.root].held = {key}
    else:
        _plant(lab, key)
    with pytest.raises(AssertionError):
        lab.check_no_forged_keys()
        lab.check_paths()


def test_the_checker_accepts_what_the_kernel_issues():
    """Keys from a bank, resume keys and attenuations are not forgeries."""

    def body(dom, msg, lab):
        ro = (yield dom.call(page(dom), oc.Page.MakeReadOnlyKey)).keys[0]
        dom.keys[9] = ro
        dom.keys[10] = msg.resume
        yield dom.return_(msg.resume, SURVIVED)

    lab = Lab(body)
    lab.run()
    lab.expect_done()
    lab.check_clean()
    assert any(k.databyte & RO for _w, k in system_keys(lab.k) if k.type == PAGE)


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d.read(MYPAGE_ADDRESS, 1 << 32),
        lambda d: d.read(MYPAGE_ADDRESS, (1 << 20) + 1),
        lambda d: op(OP_CALL, d.keys[R_ECHO], 0, (), memoryview(bytes(50_000_000))[:0:-1]),
    ],
    ids=["read-4GB", "read-1MB-plus-1", "data-reversed-50MB-view"],
)
def test_refusing_a_huge_access_allocates_nothing(make):
    """The kernel checks lengths before it copies or allocates (ops.parse)."""
    import tracemalloc

    def body(dom, msg, lab):
        value = make(dom)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        lab.state["base"] = base
        yield value

    lab = Lab(body)
    tracemalloc.start()
    try:
        lab.run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    lab.expect_trap(BJ)
    assert peak - lab.state["base"] < 8 << 20, f"refusing it took {peak >> 20} MB"
