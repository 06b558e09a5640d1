"""What a program may yield, parsed once into values the kernel owns (docs/reliability.md).

A handler yields the plain tuples ``Dom`` builds (``dom.call``, ``dom.read`` …), but
everything in them is the program's: the tuple, the keys, the string, the numbers. Any of
them may be a hostile Python object — a subclass whose ``__eq__`` or ``__iter__`` lies, a
list that answers differently when read twice, a ``bool`` posing as an ``int``, a "string"
of four gigabytes, a ``Key`` with a fifth field. :func:`parse` reads such a value once,
checks exact built-in types and ranges *before* it copies or allocates anything, and
returns either a kernel-owned op — an immutable value whose fields have exact built-in
types, which the kernel never has to read from the program again — or a :class:`BadOp`
naming what is wrong and the trap cause it earns.

Nothing a program yields can become one of the kernel's own ops: a call to a keeper
(:class:`KeeperCall`) is made only by the kernel, when a domain traps or faults.

>>> from keykos_lab.kernel.keys import DK
>>> parse((OP_CALL, DK(5), 3, [DK(1)], b"hi"))
Jump(code=0, key=DK(5), order=3, keys=(DK(1),), data=b'hi')
>>> parse((OP_CALL, DK(5), True, (), b"")).why
'order code True (a bool) is not a 32-bit unsigned int'
>>> parse((OP_READ, 0, 1 << 40)).why
'a memory access of 1099511627776 bytes; at most 1048576 at a time'
>>> parse(("call", DK(5))).why
"yielded a tuple starting with 'call', not an op (build ops with dom.call, dom.read …)"
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from keykos_lab.kernel.eventlog import C_BADJUMP, C_BADKEY
from keykos_lab.kernel.keys import DATA_LIMIT, Key
from keykos_lab.kernel.process import (
    CALL_KEYS,
    KEYS_PER_MESSAGE,
    MAX_ORDER,
    MAX_STRING,
    MAX_SVC,
    OP_CALL,
    OP_FORK,
    OP_READ,
    OP_RETURN,
    OP_TRAP,
    OP_WRITE,
    type_name,
)

#: The most bytes one ``dom.read`` or ``dom.write`` moves.
MAX_ACCESS = 1 << 20
_KEY_FIELDS = 4
_TYPE_LIMIT, _BYTE, _ALLOC_LIMIT = 256, 256, 1 << 63
_SHOWN = 10**20  # ints shown in full in messages; larger ones by their size
#: The top of the address space.
ADDRESS_LIMIT = 1 << 64
_JUMP_FIELDS, _MEMORY_FIELDS, _TRAP_FIELDS = 5, 3, 3


class Jump(NamedTuple):
    """CALL, RETURN or FORK: a held key, an order code, up to four keys, a string."""

    code: int
    key: Key
    order: int
    keys: tuple[Key, ...]
    data: bytes


class MemoryOp(NamedTuple):
    """A read or write of the domain's address space."""

    write: bool
    address: int
    length: int
    data: bytes  # what to write; b"" for a read


class Svc(NamedTuple):
    """A trap to the domain keeper with a system-call code (``dom.trap``)."""

    code: int
    data: bytes


class KeeperCall(NamedTuple):
    """A call the kernel makes to a keeper on a domain's behalf; never a program's."""

    keeper: Key
    order: int
    keys: tuple[Key, ...]
    data: bytes
    flavour: int  # of the resume key the keeper gets: FAULT or RESTART
    cause: int  # the event log's cause code


class BadOp(NamedTuple):
    """Why a yielded value is not an op, and the trap cause it earns."""

    cause: int
    why: str


#: A kernel-owned op.
Op = Jump | MemoryOp | Svc | KeeperCall


def is_key(key: object) -> bool:
    """A genuine-looking Key: the Key type itself, four fields, each exactly an int
    (``5.0 == 5``, ``True == 1`` and int subclasses must not pass) in the range the
    kernel's keys have, so no key a program names carries a number of a million digits.

    >>> from keykos_lab.kernel.keys import DK
    >>> is_key(DK(3)), is_key((1, 3, 0, 0)), is_key(tuple.__new__(Key, (1, 3, 0, 0, 9)))
    (True, False, False)
    >>> is_key(tuple.__new__(Key, (1, 10**5000, 0, 0)))
    False
    """
    if type(key) is not Key or len(key) != _KEY_FIELDS:
        return False
    # The fields as the program made them: Any, so that compiled code does not check them
    # as ints (a TypeError in kernel code) before the checks below refuse them.
    t, o, db, a = cast("tuple[Any, Any, Any, Any]", key)
    return (
        type(t) is int
        and type(o) is int
        and type(db) is int
        and type(a) is int
        and within(t, 0, _TYPE_LIMIT)
        and within(o, 0, DATA_LIMIT)
        and within(db, 0, _BYTE)
        and within(a, 0, _ALLOC_LIMIT)
    )


def within(value: Any, low: Any, high: Any) -> bool:
    """``low <= value < high``, compared as Python objects.

    For the numbers a program passes: compiled code compares values it knows to be ints
    assuming the comparison cannot fail, and aborts the process when it does, which a
    program running near the recursion limit can make it do (the interpreter's comparison
    checks the depth). Compared here as objects, the RecursionError reaches the program,
    as in the pure kernel.

    >>> within(3, 0, 16), within(16, 0, 16), within(-1, 0, 16)
    (True, False, False)
    """
    return bool(low <= value < high)


def describe(value: object) -> str:
    """A short description of a program's value that runs none of its code.

    >>> describe(3), describe(b"ab"), describe([1, 2])
    ('3', "b'ab'", 'a list of 2')
    """
    if type(value) is int:
        if within(value, 1 - _SHOWN, _SHOWN):
            return repr(value)
        return f"an int of {value.bit_length()} bits"
    if type(value) is float or value is None:
        return repr(value)[:40]
    if type(value) is bool:
        return f"{value} (a bool)"
    if type(value) is str or type(value) is bytes:
        text = repr(value[:24])
        if type(value) is str:  # a lone surrogate must not reach an encoder later
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        return text + ("…" if len(value) > 24 else "")
    if type(value) is Key:
        fields = cast("tuple[Any, ...]", value)  # as the program made them (see is_key)
        shown = ", ".join(type_name(type(f)) for f in fields[:_KEY_FIELDS])
        return f"a Key of fields ({shown}{', …' if len(fields) > _KEY_FIELDS else ''})"
    if type(value) is tuple or type(value) is list or type(value) is bytearray:
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type_name(type(value))} object"


def _string(data: object, limit: int, what: str) -> bytes | BadOp:
    """``data`` as bytes, its length checked before it is copied."""
    if type(data) is bytes:
        n = len(data)
    elif type(data) is bytearray:
        n = len(data)
    elif type(data) is memoryview:
        try:
            n = data.nbytes
        except ValueError:  # released
            return BadOp(C_BADJUMP, f"{what} is a released memoryview")
    else:
        return BadOp(C_BADJUMP, f"{what} is bytes, not {describe(data)}")
    if n > limit:
        return BadOp(C_BADJUMP, f"{what} of {n} bytes; at most {limit}")
    if type(data) is bytes:
        return data
    try:
        return bytes(data)
    except (ValueError, TypeError, BufferError) as exc:
        return BadOp(C_BADJUMP, f"{what} could not be read: {type(exc).__name__}")


def _jump(raw: tuple[object, ...]) -> Jump | BadOp:
    if len(raw) != _JUMP_FIELDS:
        return BadOp(
            C_BADJUMP, f"a jump is (code, key, order, keys, string), not {len(raw)} fields"
        )
    code, key, order, keys, data = raw
    if type(order) is not int or not 0 <= order <= MAX_ORDER:
        return BadOp(C_BADJUMP, f"order code {describe(order)} is not a 32-bit unsigned int")
    if type(keys) is list:
        passed = tuple(keys)  # an exact list: a builtin copy, no code of the program's runs
    elif type(keys) is tuple:
        passed = keys
    else:
        return BadOp(C_BADJUMP, f"the keys passed are a tuple or list, not {describe(keys)}")
    most = CALL_KEYS if code == OP_CALL else KEYS_PER_MESSAGE
    if len(passed) > most:
        return BadOp(
            C_BADJUMP,
            f"{len(passed)} keys passed; CALL takes {CALL_KEYS}, RETURN "
            f"and FORK {KEYS_PER_MESSAGE}",
        )
    if not is_key(key):
        return BadOp(C_BADKEY, f"invoked {describe(key)}, which is not a key")
    for each in passed:
        if not is_key(each):
            return BadOp(C_BADKEY, f"passed {describe(each)}, which is not a key")
    string = _string(data, MAX_STRING, "a message string")
    if isinstance(string, BadOp):
        return string
    return Jump(cast(int, code), cast(Key, key), order, cast(tuple[Key, ...], passed), string)


def _memory(raw: tuple[object, ...]) -> MemoryOp | BadOp:
    if len(raw) != _MEMORY_FIELDS:
        return BadOp(C_BADJUMP, "a memory access is (code, address, length or string)")
    code, address, arg = raw
    if type(address) is not int or not 0 <= address < ADDRESS_LIMIT:
        return BadOp(C_BADJUMP, f"address {describe(address)} is not in [0, 2**64)")
    if code == OP_READ:
        if type(arg) is not int or arg < 0:
            return BadOp(C_BADJUMP, f"a read's length is an int ≥ 0, not {describe(arg)}")
        if arg > MAX_ACCESS:
            return BadOp(
                C_BADJUMP,
                f"a memory access of {describe(arg)} bytes; at most {MAX_ACCESS} at a time",
            )
        return MemoryOp(False, address, arg, b"")
    data = _string(arg, MAX_ACCESS, "a write's data")
    if isinstance(data, BadOp):
        return data
    return MemoryOp(True, address, len(data), data)


def _svc(raw: tuple[object, ...]) -> Svc | BadOp:
    if len(raw) != _TRAP_FIELDS:
        return BadOp(C_BADJUMP, "a trap is (code, system-call code, string)")
    _, code, data = raw
    if type(code) is not int or not 0 <= code <= MAX_SVC:
        return BadOp(C_BADJUMP, f"system-call code {describe(code)} is not in [0, {MAX_SVC}]")
    string = _string(data, MAX_STRING, "a trap's string")
    if isinstance(string, BadOp):
        return string
    return Svc(code, string)


def parse(raw: object) -> Op | BadOp:
    """The kernel-owned op a program's yielded value stands for, or why it is none.

    Only an exact ``tuple`` whose first field is one of the program op codes is read;
    anything else — a list, a tuple subclass, a kernel op type the program imported — is
    refused without running any of its code.
    """
    if type(raw) is not tuple or not raw:
        return BadOp(
            C_BADJUMP, f"yielded {describe(raw)}, not an op (build ops with dom.call, dom.read …)"
        )
    code = raw[0]
    if type(code) is int:
        if code == OP_CALL or code == OP_RETURN or code == OP_FORK:
            return _jump(raw)
        if code == OP_READ or code == OP_WRITE:
            return _memory(raw)
        if code == OP_TRAP:
            return _svc(raw)
    return BadOp(
        C_BADJUMP,
        f"yielded a tuple starting with {describe(code)}, not an op "
        f"(build ops with dom.call, dom.read …)",
    )


def program_form(op: Jump | MemoryOp | Svc) -> tuple[object, ...]:
    """The tuple a program yields for ``op``: :func:`parse` gives ``op`` back from it.

    >>> from keykos_lab.kernel.keys import DK
    >>> op = parse((OP_WRITE, 8, b"xy"))
    >>> program_form(op), parse(program_form(op)) == op
    ((4, 8, b'xy'), True)
    """
    if type(op) is Jump:
        return (op.code, op.key, op.order, op.keys, op.data)
    if type(op) is MemoryOp:
        return (OP_WRITE, op.address, op.data) if op.write else (OP_READ, op.address, op.length)
    assert type(op) is Svc
    return (OP_TRAP, op.code, op.data)


def describe_exception(exc: BaseException) -> str:
    """``Name: message`` for a program's exception, running none of its code: the class's
    own name, and the arguments only where they are plain text or numbers.

    >>> class Nasty(Exception):
    ...     def __str__(self):
    ...         raise RuntimeError("no")
    >>> describe_exception(Nasty("x")), describe_exception(ValueError("bad", 3))
    ("Nasty: 'x'", "ValueError: 'bad', 3")
    """
    args = BaseException.__dict__["args"].__get__(exc)
    shown = ", ".join(
        (
            repr(a[:200].encode("utf-8", "backslashreplace").decode("ascii", "replace"))
            if type(a) is str
            else describe(a)
        )
        for a in (args if type(args) is tuple else ())[:4]
    )
    return f"{type_name(type(exc))}: {shown}" if shown else type_name(type(exc))
