"""Programs, messages and the view a running program has of its domain (D3).

A program is a generator function ``handler(dom, msg)`` registered by name. Each
message delivered to an available domain starts a fresh handler; the handler
``yield``s invocations — ``dom.call``, ``dom.return_``, ``dom.fork`` — and
memory accesses — ``dom.read``, ``dom.write`` — and is resumed with their
result. It can use only keys it holds: its 16 key registers (``dom.keys``) and
the keys delivered to it while it runs.

>>> @program("doc-double")
... def double(dom, msg):
...     yield dom.return_(msg.resume, rc=2 * msg.order)
>>> image_bytes("doc-double")[:4]
b'\\x7fKLP'
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Generator, Iterator
from types import CodeType, FrameType, FunctionType
from typing import Any, NamedTuple

from keykos_lab.kernel.keys import DK0, Key
from keykos_lab.kernel.native import mypyc_attr

IMAGE_MAGIC = b"\x7fKLP"
IMAGE_MAX = 64

# Op codes a handler yields (first element of the op tuple).
#: A message (docs/primer.md#primer-messages): a 32-bit order code, up to four keys
#: (a CALL passes three: the kernel makes the fourth, a resume key) and a string
#: of at most 4096 bytes.
MAX_ORDER = 0xFFFFFFFF
KEYS_PER_MESSAGE = 4
CALL_KEYS = 3
MAX_STRING = 4096
#: A system call's code (``dom.trap``): 24 bits, added to ``oc.Trap.SVC``.
MAX_SVC = 0xFFFFFF
OP_CALL, OP_RETURN, OP_FORK, OP_READ, OP_WRITE, OP_TRAP = range(6)

Handler = Callable[["Dom", "Message"], Generator[Any, Any, None]]

#: name -> handler function. Code, not state: programs keep state in KeyKOS objects.
PROGRAMS: dict[str, Handler] = {}
#: name -> the code object the handler had when it was registered: the kernel starts a
#: handler only while its function still has that code (``Kernel._start_program``).
PROGRAM_CODE: dict[str, CodeType] = {}


#: Programs of the system itself (the space bank, domain creators, the factory code, the
#: Unix keeper): trusted code that serves others. A console that gives up on a runaway
#: stops runaway domains, never these: they finish the request they are serving.
SYSTEM_PROGRAMS: set[str] = set()


def program(name: str, *, system: bool = False) -> Callable[[Handler], Handler]:
    """Register a generator function as the program called ``name`` (``system``: one of
    the system's own programs, see :data:`SYSTEM_PROGRAMS`).

    >>> @program("doc-noop")
    ... def noop(dom, msg):
    ...     yield dom.return_(msg.resume)
    >>> "doc-noop" in PROGRAMS
    True
    """
    if not isinstance(name, str) or not name or len(name.encode()) > IMAGE_MAX - 6:
        raise ValueError(f"a program name is a short non-empty string, not {name!r}")

    def register(fn: Handler) -> Handler:
        # A plain function whose code is a generator's: calling it runs none of its code,
        # and no class can stand in for one (a __call__, a borrowed __code__).
        if type(fn) is not FunctionType or not fn.__code__.co_flags & inspect.CO_GENERATOR:
            raise TypeError(
                f"program {name!r} must be a generator function (a def with a "
                f"yield in it, resumed with each op's result), not "
                f"{type_name(type(fn))} {getattr(fn, '__qualname__', '?')!r}"
            )
        known = PROGRAMS.get(name)
        if known is not None and known is not fn:
            if name in SYSTEM_PROGRAMS:
                raise ValueError(f"{name!r} is a system program; it cannot be replaced")
            if _origin(known) != _origin(fn):
                raise ValueError(
                    f"a program called {name!r} is already registered "
                    f"({'.'.join(_origin(known))}); choose another name"
                )
            if _inside_a_program():
                raise ValueError(f"a running program cannot replace the program {name!r}")
        PROGRAMS[name] = fn
        PROGRAM_CODE[name] = fn.__code__
        if system:
            SYSTEM_PROGRAMS.add(name)
        fn.program_name = name  # type: ignore[attr-defined]
        return fn

    return register


def type_name(cls: type) -> str:
    """A class's own name, read without running a metaclass's code.

    >>> type_name(ValueError)
    'ValueError'
    """
    name = type.__dict__["__name__"].__get__(cls, type)
    return name if type(name) is str else "?"


def _inside_a_program() -> bool:
    """Whether a registered program's code is on the stack: the registration comes from
    a program the kernel is running (which could otherwise swap another's code)."""
    codes = set(map(id, PROGRAM_CODE.values()))
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if id(frame.f_code) in codes:
            return True
        frame = frame.f_back
    return False


def _origin(fn: Handler) -> tuple[str, str]:
    """Where a handler was defined: redefining it there (a notebook cell run
    again, a module reloaded) replaces it; another definition is a clash."""
    return (getattr(fn, "__module__", "?"), getattr(fn, "__qualname__", "?"))


def image_bytes(name: str) -> bytes:
    """The bytes that start a page holding program ``name``'s image."""
    if name not in PROGRAMS:
        raise KeyError(f"no program named {name!r} is registered; known: {sorted(PROGRAMS)}")
    return IMAGE_MAGIC + name.encode() + b"\0"


def parse_image(head: bytes) -> str | None:
    """The program name an image header names, or None."""
    if not head.startswith(IMAGE_MAGIC):
        return None
    end = head.find(b"\0", len(IMAGE_MAGIC))
    if end < 0:
        return None
    try:
        return head[len(IMAGE_MAGIC) : end].decode()
    except UnicodeDecodeError:
        return None


class Message(NamedTuple):
    """What a domain receives: a message through a gate, or the reply to its CALL.

    ``keys`` always has four entries (DK(0) where none was passed); for a CALL
    the fourth is the resume key to the caller. ``order`` is the order code of
    a message and the return code of a reply (``rc`` is the same number).
    """

    order: int
    keys: tuple[Key, ...]  # always four
    data: bytes
    databyte: int

    @property
    def rc(self) -> int:
        return self.order

    @property
    def resume(self) -> Key:
        return self.keys[3]


NO_KEYS = (DK0, DK0, DK0, DK0)
EMPTY = Message(0, NO_KEYS, b"", 0)


class KeyRegisters:
    """A domain's 16 key registers, the slots of its general keys node."""

    __slots__ = ("_dom",)

    def __init__(self, dom: Dom) -> None:
        self._dom = dom

    # What a program passes is typed ``object``: the kernel checks it (``state.check_slot``).
    def __getitem__(self, n: object) -> Key:
        dom = self._dom._live()
        return dom._kernel._get_key_register(dom._state, n)

    def __setitem__(self, n: object, key: object) -> None:
        dom = self._dom._live()
        dom._kernel._set_key_register(dom._state, n, key)

    def __len__(self) -> int:
        return 16

    def __iter__(self) -> Iterator[Key]:
        """The 16 key registers in order, each read as ``keys[n]`` reads it (a compiled
        class has no iteration by ``__getitem__``, so both kernels need this). ``in``
        uses it too: the comparison runs in the program's own frame, where the watchdog
        can stop a program's ``__eq__``, never in the kernel's."""
        return (self[n] for n in range(16))


class Registers:
    """A domain's general registers: data keys in its registers node, as ints."""

    __slots__ = ("_dom",)

    def __init__(self, dom: Dom) -> None:
        self._dom = dom

    def __getitem__(self, n: object) -> int:
        dom = self._dom._live()
        return dom._kernel._get_register(dom._state, n)

    def __setitem__(self, n: object, value: object) -> None:
        dom = self._dom._live()
        dom._kernel._set_register(dom._state, n, value)

    def __len__(self) -> int:
        return 16

    def __iter__(self) -> Iterator[int]:
        """The 16 registers in order (as :meth:`KeyRegisters.__iter__`)."""
        return (self[n] for n in range(16))


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class DeadDomain(RuntimeError):
    """A ``dom`` used outside the activation it was made for."""


class Dom:
    """The running program's handle on its own domain; build ops to ``yield``.

    A ``dom`` belongs to one activation — one handler, from the message that started it
    to its end — and reads or writes its domain's registers only while that handler is
    the code running: kept in a global and used by another program, or after its
    handler has ended, it raises :class:`DeadDomain` (a program error, so a trap).
    """

    __slots__ = ("_kernel", "_state", "_proc", "_keys", "_regs")

    def __init__(self, kernel: Any, state: Any) -> None:
        self._kernel = kernel
        self._state = state
        self._proc: Generator[Any, Any, Any] | None = None  # set when its handler is made
        self._keys: KeyRegisters | None = None  # made on first use: most handlers never look
        self._regs: Registers | None = None

    @property
    def keys(self) -> KeyRegisters:
        """The domain's 16 key registers (``dom.keys[n]``, ``dom.keys[n] = key``)."""
        keys = self._keys
        if keys is None:
            keys = self._keys = KeyRegisters(self)
        return keys

    @property
    def regs(self) -> Registers:
        """The domain's 16 general registers, as ints (``dom.regs[n]``)."""
        regs = self._regs
        if regs is None:
            regs = self._regs = Registers(self)
        return regs

    def _live(self) -> Dom:
        proc = self._proc
        if proc is None or self._state.proc is not proc or not proc.gi_running:
            raise DeadDomain(
                f"this dom belongs to an activation of domain #{self._state.root} "
                f"that is not the one running"
            )
        return self

    @property
    def id(self) -> int:
        """The domain's id (its root node)."""
        return self._state.root

    # The op builders take ``object``: they only pack what the program gives; the kernel
    # checks it when the op is yielded (``ops.parse``), the same compiled or not.
    def call(self, key: object, order: object = 0, *args: object, keys=(), data: object = b""):
        """CALL ``key``: wait for the reply, which the ``yield`` evaluates to."""
        return (OP_CALL, key, order, args + tuple(keys) if keys else args, data)

    def return_(self, key: object, rc: object = 0, *args: object, keys=(), data: object = b""):
        """RETURN through ``key`` and become available; the handler ends."""
        return (OP_RETURN, key, rc, args + tuple(keys) if keys else args, data)

    def fork(self, key: object, order: object = 0, *args: object, keys=(), data: object = b""):
        """FORK: send through ``key`` and carry on."""
        return (OP_FORK, key, order, args + tuple(keys) if keys else args, data)

    def read(self, address: object, length: object):
        """Read ``length`` bytes of the address space (the ``yield`` gives bytes)."""
        return (OP_READ, address, length)

    def write(self, address: object, data: object):
        """Write ``data`` into the address space."""
        return (OP_WRITE, address, data)

    def trap(self, code: object = 0, data: object = b""):
        """Trap to the domain keeper, like an SVC that is not a jump (KeyNIX calls)."""
        return (OP_TRAP, code, data)
