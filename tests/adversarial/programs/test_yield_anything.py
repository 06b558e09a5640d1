"""A program that yields anything at all, for several steps: the kernel stays sound.

Hypothesis draws a list of *specs* — recursive mixes of ints (op codes, limits, huge),
bools, floats, bytes (up to past the limits), strings, None, lists, tuples, dicts,
key-like values (keys the program holds, genuine keys to objects it does not hold,
made-up fields, keys with 3 or 5 fields, Key subclasses, float or bool fields) and
objects of odd classes (see ``odd_objects``) — and jump-, memory- and trap-shaped tuples
made of them. The hostile program turns each spec into a value *inside its handler*
(where its keys are) and yields it; after each step it CALLs a pause domain, so that the
kernel is quiescent and the test can check, between steps:

* no forged key anywhere, nothing held without a path (``Lab.check_no_forged_keys``,
  ``Lab.check_paths``);
* no domain stuck RUNNING, the console running, the kernel's invariants;
* the kernel ran none of the odd objects' methods;
* the console answers (echo, the victim page, the bank).

``make test`` runs a few dozen examples; ``KEYKOS_LAB_FUZZ=1`` many more
(``tests/fuzz/budget.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hostile_kit import (
    R_DISCRIM,
    R_DKC,
    R_ECHO,
    R_PAGE,
    R_PAUSE,
    R_RETURNER,
    R_SECRET,
    SURVIVED,
    Lab,
    oc,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from odd_objects import (
    BytesSub,
    KeySub,
    Liar,
    ListIterLies,
    OddName,
    StrSub,
    Tattle,
    TInt,
    TupleSub,
    key3,
    key5,
    released,
)

from keykos_lab.kernel import ops
from keykos_lab.kernel.eventlog import C_TRAP
from keykos_lab.kernel.keys import DK0, FAULT, Key
from keykos_lab.kernel.process import OP_READ, OP_TRAP

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fuzz"))
from budget import examples  # noqa: E402  (tests/fuzz: the suite's example budget)

_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))
HUGE = 10**5000

# ----------------------------------------------------------------- the specs
HELD = ("page", "dkc", "echo", "secret", "returner", "discrim", "resume", "dk0")
GUESSED = (
    "victim",
    "secret_rw",
    "keeper",
    "keeper_dom",
    "driver",
    "driver_dom",
    "self_dom",
    "root_node",
    "keys_node",
    "bank",
    "meter",
    "domtool",
    "range",
    "pause_dom",
)
ODD = (
    "tattle",
    "liar",
    "tint",
    "bytes_sub",
    "str_sub",
    "list_lies",
    "tuple_sub",
    "released",
    "memoryview",
    "bytearray",
    "object",
    "dom",
    "msg",
    "generator",
    "jump",
    "keepercall",
    "memop",
    "svc",
    "odd_name",
    "key_sub",
    "huge",
)

INTS = st.one_of(
    st.integers(-3, 8),
    st.sampled_from(
        [
            100,
            255,
            4096,
            4097,
            8192,
            1 << 20,
            (1 << 20) + 1,
            1 << 24,
            (1 << 32) - 1,
            1 << 32,
            1 << 64,
            -(1 << 63),
            oc.Page.WriteData,
            oc.Page.ReadData,
            oc.KT,
            oc.Domain.MakeStart,
        ]
    ),
    st.integers(),
)
KEY_SPECS = st.one_of(
    st.tuples(st.just("held"), st.sampled_from(HELD)),
    st.tuples(st.just("guess"), st.sampled_from(GUESSED)),
    st.tuples(
        st.just("keyf"),
        st.integers(0, 20),
        st.integers(0, 120),
        st.integers(0, 256),
        st.integers(0, 200),
    ),
    st.tuples(st.just("keymod"), st.sampled_from(HELD), st.integers(0, 3), st.integers(-2, 2)),
    st.tuples(
        st.sampled_from(["key3", "key5", "keysub", "floatkey", "boolkey"]), st.sampled_from(HELD)
    ),
)
LEAVES = st.one_of(
    st.tuples(st.just("int"), INTS),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("float"), st.floats()),
    st.tuples(st.just("bytes"), st.binary(max_size=8)),
    st.tuples(st.just("zeros"), st.sampled_from([4096, 4097, 1 << 20, (1 << 20) + 1])),
    st.tuples(st.just("str"), st.text(max_size=6)),
    st.just(("none",)),
    KEY_SPECS,
    st.tuples(st.just("odd"), st.sampled_from(ODD)),
)
VALUES = st.recursive(
    LEAVES,
    lambda kids: st.one_of(
        st.tuples(st.just("list"), st.lists(kids, max_size=5)),
        st.tuples(st.just("tuple"), st.lists(kids, max_size=6)),
        st.tuples(st.just("dict"), st.lists(st.tuples(st.integers(0, 9), kids), max_size=3)),
    ),
    max_leaves=8,
)
CODES = st.one_of(st.tuples(st.just("int"), st.integers(0, 5)), LEAVES)
KEY_LISTS = st.one_of(
    st.tuples(st.sampled_from(["tuple", "list"]), st.lists(KEY_SPECS, max_size=5)), VALUES
)
DATA = st.one_of(
    st.tuples(st.just("bytes"), st.binary(max_size=16)),
    st.tuples(st.just("zeros"), st.sampled_from([4096, 4097])),
    VALUES,
)
JUMPS = st.tuples(
    st.just("op"),
    CODES,
    st.one_of(KEY_SPECS, VALUES),
    st.one_of(st.tuples(st.just("int"), INTS), VALUES),
    KEY_LISTS,
    DATA,
)
MEMORY = st.tuples(
    st.just("mem"),
    st.sampled_from([OP_READ, OP_READ + 1]),
    st.one_of(st.tuples(st.just("int"), INTS), VALUES),
    st.one_of(st.tuples(st.just("int"), INTS), DATA),
)
TRAPS = st.tuples(st.just("svc"), st.one_of(st.tuples(st.just("int"), INTS), VALUES), DATA)
STEPS = st.lists(st.one_of(JUMPS, JUMPS, MEMORY, TRAPS, VALUES), min_size=1, max_size=4)


def _held(name, dom, msg):
    return {
        "page": lambda: dom.keys[R_PAGE],
        "dkc": lambda: dom.keys[R_DKC],
        "echo": lambda: dom.keys[R_ECHO],
        "secret": lambda: dom.keys[R_SECRET],
        "returner": lambda: dom.keys[R_RETURNER],
        "discrim": lambda: dom.keys[R_DISCRIM],
        "resume": lambda: msg.resume,
        "dk0": lambda: DK0,
    }[name]()


def _odd(kind, dom, msg, lab):
    page = dom.keys[R_PAGE]
    if kind == "list_lies":
        lst = ListIterLies([page])
        lst.later = [lab.raw["victim"]]
        return lst
    return {
        "tattle": Tattle,
        "liar": Liar,
        "tint": lambda: TInt(0),
        "bytes_sub": lambda: BytesSub(b"x"),
        "str_sub": lambda: StrSub("x"),
        "tuple_sub": lambda: TupleSub((0, page, 0, (), b"")),
        "released": released,
        "memoryview": lambda: memoryview(b"abc"),
        "bytearray": lambda: bytearray(b"abc"),
        "object": object,
        "dom": lambda: dom,
        "msg": lambda: msg,
        "generator": lambda: (x for x in ()),
        "jump": lambda: ops.Jump(0, lab.raw["victim"], 4096, (), b"pwned"),
        "keepercall": lambda: ops.KeeperCall(
            dom.keys[R_ECHO], 0, (DK0, DK0, lab.raw["domtool"]), b"", FAULT, C_TRAP
        ),
        "memop": lambda: ops.MemoryOp(True, 0, 5, b"pwned"),
        "svc": lambda: ops.Svc(1, b""),
        "odd_name": OddName,
        "key_sub": lambda: KeySub(*lab.raw["victim"]),
        "huge": lambda: HUGE,
    }[kind]()


def make(spec, dom, msg, lab):
    """The value a spec stands for, built inside the running handler."""
    tag = spec[0]
    if tag in ("int", "bool", "float", "bytes", "str"):
        return spec[1]
    if tag == "zeros":
        return bytes(spec[1])
    if tag == "none":
        return None
    if tag == "held":
        return _held(spec[1], dom, msg)
    if tag == "guess":
        return lab.raw[spec[1]]
    if tag == "keyf":
        return Key(*spec[1:])
    if tag == "keymod":
        key = list(_held(spec[1], dom, msg))
        key[spec[2]] += spec[3]
        return tuple.__new__(Key, key)
    if tag in ("key3", "key5", "keysub", "floatkey", "boolkey"):
        key = _held(spec[1], dom, msg)
        if tag == "key3":
            return key3(key)
        if tag == "key5":
            return key5(key)
        if tag == "keysub":
            return KeySub(*key)
        if tag == "floatkey":
            return Key(key[0], float(key[1]), key[2], key[3])
        return Key(bool(key[0]), key[1], key[2], key[3])
    if tag == "odd":
        return _odd(spec[1], dom, msg, lab)
    if tag == "list":
        return [make(s, dom, msg, lab) for s in spec[1]]
    if tag == "tuple":
        return tuple(make(s, dom, msg, lab) for s in spec[1])
    if tag == "dict":
        return {n: make(s, dom, msg, lab) for n, s in spec[1]}
    if tag == "op":
        return tuple(make(s, dom, msg, lab) for s in spec[1:])
    if tag == "mem":
        return (spec[1], make(spec[2], dom, msg, lab), make(spec[3], dom, msg, lab))
    if tag == "svc":
        return (OP_TRAP, make(spec[1], dom, msg, lab), make(spec[2], dom, msg, lab))
    raise AssertionError(f"unknown spec {spec!r}")


def stepper(dom, msg, lab):
    """Yield each step's value, then CALL the pause domain (a step boundary)."""
    for spec in lab.state["steps"]:
        yield make(spec, dom, msg, lab)
        yield dom.call(dom.keys[R_PAUSE], 0)
    yield dom.return_(msg.resume, SURVIVED)


def paused(lab) -> bool:
    """The hostile domain waits for the pause domain to answer."""
    k = lab.k
    kn = k.objs[k.objs[lab.con.target(lab.pause_dom)].slots[14].obj]
    key = kn.slots[0]
    return key.type == 7 and key.obj == lab.root and k.live(key) == key


def run_steps(steps, warm: bool) -> Lab:
    lab = Lab(stepper, warm=warm, pause=True)
    lab.raw["pause_dom"] = lab.con.key(lab.pause_dom)
    lab.state["steps"] = steps
    lab.run()
    for _ in range(len(steps) + 1):
        lab.check_clean()
        if not paused(lab):
            break
        resume = lab.con.call(lab.pause_dom, oc.Domain.GetKey + 0).keys[0]
        lab.run(0, target=resume)
    lab.check_clean()
    return lab


@settings(max_examples=examples(40), **_SETTINGS)
@given(steps=STEPS, warm=st.booleans())
def test_a_program_that_yields_anything_creates_no_authority(steps, warm):
    run_steps(steps, warm)


@settings(max_examples=examples(40), **_SETTINGS)
@given(jump=JUMPS, warm=st.booleans())
# Regressions the suite keeps trying whatever Hypothesis draws (each a kernel finding):
@example(
    jump=("op", ("float", 0.0), ("held", "page"), ("int", 0), ("tuple", []), ("bytes", b"")),
    warm=True,
)  # a float op code, fast path
@example(
    jump=("op", ("int", 0), ("held", "echo"), ("odd", "huge"), ("tuple", []), ("bytes", b"")),
    warm=False,
)  # an order of 5000 digits
@example(
    jump=("op", ("int", 0), ("held", "echo"), ("int", 1), ("tuple", []), ("odd", "released")),
    warm=False,
)  # a released memoryview
@example(
    jump=("op", ("int", 0), ("none",), ("int", 0), ("tuple", []), ("bytes", b"")), warm=True
)  # None, after a checked key
def test_any_jump_shaped_yield_leaves_the_kernel_sound(jump, warm):
    lab = run_steps([jump], warm)
    n, code = lab.traps()
    assert n <= 1


def test_the_steps_really_pause_and_resume():
    """The harness itself: three harmless steps, three pauses, then the reply."""
    steps = [("op", ("int", 0), ("held", "dkc"), ("int", 0), ("tuple", []), ("bytes", b""))] * 3
    lab = run_steps(steps, warm=False)
    lab.expect_done()
