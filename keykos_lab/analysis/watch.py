"""Watching described domains run: each action checked against the declared behaviour
(docs/analyses.md#analyses-declared-behaviour).

The referee's copies of a kernel pass every new handler of a domain whose behaviour is
declared through :meth:`Watch.wrap` (the kernel's ``handler_wrapper`` hook). The wrapper
forwards everything between the kernel and the program, unchanged, and looks at each op the
program yields before the kernel sees it, knowing the keys of the message the handler
serves. What the declaration does not allow becomes a *violation*: a row naming the domain,
the term broken and the action. The program is never stopped: the referee also records
what the action achieved, so a wrong declaration shows both as a violation and as keys or
flows the static answers missed.

One check is across messages: a ``caller_keys`` domain must not let its caller's data
choose what it does with its ``own`` keys. The referee sends the same message, from the same
state (each in a copy of the kernel), with different strings — the marker and the strings of
the program's own code, as fuzzers use a dictionary — inside one :attr:`Watch.group`; each
must make the same invocations through own registers (register and order code, in order).

>>> import keykos_lab as kl
>>> from keykos_lab.analysis.behaviour import Behaviour
>>> w = Watch({7: Behaviour.parse("keeps_keys")}, str)
>>> w.violations
[]
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable, Mapping
from itertools import islice
from types import CodeType
from typing import Any

from keykos_lab.analysis.behaviour import Behaviour
from keykos_lab.kernel.domains import close_chain
from keykos_lab.kernel.keys import (
    DATA,
    DK0,
    FETCH,
    MISC,
    NODE,
    PAGE,
    RESUME,
    RETURNER,
    SENSE,
    Key,
)
from keykos_lab.kernel.oc import KT, Node, Page
from keykos_lab.kernel.ops import Jump, MemoryOp, Svc, parse
from keykos_lab.kernel.process import OP_CALL, PROGRAMS, Message

MAX_STRINGS = 12  # strings harvested from a program's code, at most
MAX_STRING_LEN = 64
MAX_SCANNED = 256  # items read from one module-level container


def _key_name(key: Key) -> str:
    """A key in a violation when no better name is given: its type and object.

    >>> from keykos_lab.kernel.keys import Key, PAGE
    >>> _key_name(Key(PAGE, 40, 0x80, 1))
    'page key (databyte 0x80) to #40'
    """
    databyte = f" (databyte {key.databyte:#x})" if key.databyte else ""
    return f"{key.type_name} key{databyte} to #{key.obj}"


def changes(key: Key, order: int) -> bool:
    """Whether invoking ``key`` with ``order`` can change something: a write, a store, a
    message to a program. Reads, Make…Key orders, KT and keys that only answer do not.

    >>> from keykos_lab.kernel.keys import Key, PAGE, NODE, START
    >>> changes(Key(PAGE, 5, 0, 1), Page.WriteData), changes(Key(PAGE, 5, 0, 1), Page.ReadData)
    (True, False)
    >>> changes(Key(NODE, 5, 0, 1), Node.Fetch + 3), changes(Key(START, 5, 0, 1), 0)
    (False, True)
    """
    t = key.type
    if order == KT or t in (DATA, MISC, FETCH, SENSE) or key == DK0:
        return False
    if t == PAGE:
        return not (order in (Page.MakeReadOnlyKey, Page.TestForZeroes) or order >= Page.ReadData)
    if t == NODE:
        return not (
            Node.Fetch <= order < Node.Swap
            or Node.MakeFetchKey <= order <= Node.Compare
            or order == Node.DataByte
        )
    return True


def strings(program: str | None) -> list[bytes]:
    """The short strings of a registered program — the constants of its code (nested
    functions too) and of the module-level names its code uses, one level into dicts,
    lists, tuples and sets — as the referee's dictionary of message strings: at most
    :data:`MAX_STRINGS`.

    >>> {b"out", b"BILL"} <= set(strings("compiler_by_name"))
    True
    """
    fn = PROGRAMS.get(program or "")
    code = getattr(fn, "__code__", None)
    found: list[object] = []
    todo: list[CodeType] = [code] if isinstance(code, CodeType) else []
    names = getattr(fn, "__globals__", {})
    while todo:
        c = todo.pop()
        for const in c.co_consts:
            if isinstance(const, CodeType):
                todo.append(const)
            elif isinstance(const, tuple | frozenset):  # a dict literal's keys, say
                found += list(const)
            else:
                found.append(const)
        for name in c.co_names:
            value = names.get(name)
            if isinstance(value, dict | list | tuple | set | frozenset):
                found += islice(value, MAX_SCANNED)  # a huge table is only sampled
            else:
                found.append(value)
    out: list[bytes] = []
    for x in found:
        if isinstance(x, str | bytes) and 0 < len(x) <= MAX_STRING_LEN:
            data = x.encode() if isinstance(x, str) else x
            if data not in out and len(out) < MAX_STRINGS:
                out.append(data)
    return out


class Watch:
    """The watcher of one exploration: ``described`` maps domain roots to behaviours
    (``programs``: program names to behaviours, for domains made meanwhile);
    ``name(root)`` names a domain in a violation, ``key_name(key)`` a key."""

    def __init__(
        self,
        described: Mapping[int, Behaviour],
        name: Callable[[int], Hashable],
        key_name: Callable[[Key], str] | None = None,
        programs: Mapping[str, Behaviour] | None = None,
    ):
        self.described = dict(described)
        #: Behaviours by program name, for domains made while watching (a KID, say).
        self.programs = dict(programs or {})
        self.name = name
        self.key_name = key_name or _key_name
        self.violations: list[dict[str, Any]] = []
        self._seen: set[tuple[int, str, str]] = set()
        self._own_keys: dict[int, dict[int, Key]] = {}
        #: Set by the referee while it sends one message with several strings, each from
        #: the same state: the messages served meanwhile are compared (None: not).
        self.group: Hashable | None = None
        # (group, root) -> {(order code, string): (own register, order) invoked, in order}
        self._own: dict[
            tuple[Hashable, int], dict[tuple[int, bytes], tuple[tuple[int, int], ...]]
        ] = {}

    def wrap(
        self, k: Any, ds: Any, msg: Message, proc: Generator[Any, Any, Any]
    ) -> Generator[Any, Any, Any]:
        """``proc`` for the kernel: the same program, each op checked first."""
        b = self.described.get(ds.root) or self.programs.get(ds.program or "")
        if b is None:
            return proc
        return self._watched(k, ds, b, msg, proc)

    def _watched(
        self, k: Any, ds: Any, b: Behaviour, msg: Message, proc: Generator[Any, Any, Any]
    ) -> Generator[Any, Any, Any]:
        received = frozenset(x for x in msg.keys if x != DK0)
        used: list[tuple[int, int]] = []
        group = self.group
        try:
            op = proc.send(None)
            while True:
                self._check(k, ds, b, received, used, op)
                try:
                    value = yield op
                except GeneratorExit:
                    raise
                except BaseException as exc:  # the watchdog's ProgramTimeLimit, say
                    op = proc.throw(exc)
                    continue
                op = proc.send(value)
        except StopIteration as stop:
            return stop.value
        finally:
            if "caller_keys" in b.terms and group is not None:
                by = self._own.setdefault((group, ds.root), {})
                by.setdefault((msg.order, bytes(msg.data)), tuple(used))
            failed = close_chain(proc)  # as the kernel would close it, unwatched
            if failed is not None:
                raise failed

    def _check(
        self,
        k: Any,
        ds: Any,
        b: Behaviour,
        received: frozenset[Key],
        used: list[tuple[int, int]],
        raw: object,
    ) -> None:
        op = parse(raw)
        root = ds.root
        if type(op) is Jump:
            # Keys shown to a misc key (Discrim, KeyBits, the domain tool …) are not passed
            # on: the kernel answers and keeps none.
            passed = [x for x in op.keys if x != DK0] if op.key.type != MISC else []
            answer = op.key.type == RESUME
            if op.key.type == MISC and op.key.obj == RETURNER:
                # A CALL on the returner gives the keys back to the caller; a RETURN or FORK
                # sends the message to the fourth key, a resume key: an answer.
                answer = op.code != OP_CALL
                passed = [x for x in op.keys[:3] if x != DK0] if answer else []
            if passed and "keeps_keys" in b.terms:
                self._violate(root, "keeps_keys", f"passed {self.key_name(passed[0])}")
            elif passed and "data_only" in b.terms and answer:
                self._violate(root, "data_only", f"answered with {self.key_name(passed[0])}")
            elif "passes_received" in b.terms:
                other = [x for x in passed if x not in received]
                if other:
                    self._violate(
                        root, "passes_received", f"passed {self.key_name(other[0])}, not received"
                    )
            if "caller_keys" in b.terms and changes(op.key, op.order) and op.key not in received:
                own = self._own_register(ds.root, op.key)
                if own is None:
                    self._violate(
                        root,
                        "caller_keys",
                        f"{'called' if op.code == OP_CALL else 'invoked'} a key it did not "
                        f"receive and holds in no own register: {self.key_name(op.key)}, "
                        f"order {op.order:#x}",
                    )
                else:
                    used.append((own, op.order))
        elif type(op) is MemoryOp and op.write and "caller_keys" in b.terms:
            self._violate(root, "caller_keys", f"wrote its own memory at {op.address:#x}")
        elif type(op) is Svc and "caller_keys" in b.terms:
            self._violate(root, "caller_keys", f"trapped to its keeper ({op.code:#x})")

    def own_keys(self, k: Any) -> None:
        """Take the keys of every described domain's ``own`` registers, as they are when
        the exploration begins: the keys the static analysis reads in the graph. A key
        put in the register later is not one of its own."""
        for root, b in self.described.items():
            ds = k.domain_state(root) if hasattr(k, "domain_state") else None
            wf = k.wellformed(ds) if ds is not None else None
            if wf is not None:
                self._own_keys[root] = {r: k.live(wf[1].slots[r]) for r in b.own}

    def _own_register(self, root: int, key: Key) -> int | None:
        """The own register of ``root`` that held ``key`` when the exploration began."""
        for r, own in sorted(self._own_keys.get(root, {}).items()):
            if own == key and own != DK0:
                return r
        return None

    def _violate(self, root: int, term: str, action: str) -> None:
        if (root, term, action) in self._seen:
            return
        self._seen.add((root, term, action))
        self.violations.append({"domain": self.name(root), "term": term, "action": action})

    def finish(self) -> list[dict[str, Any]]:
        """The violations, the across-messages check included."""
        for (_, root), seen in self._own.items():
            by_order: dict[int, set[tuple[tuple[int, int], ...]]] = {}
            for (order, _), used in seen.items():
                by_order.setdefault(order, set()).add(used)
            for order, variants in sorted(by_order.items()):
                if len(variants) > 1:
                    regs = sorted({r for used in variants for r, _ in used})
                    self._violate(
                        root,
                        "caller_keys",
                        f"the caller's string chose what it does with its own registers {regs} "
                        f"(order {order:#x})",
                    )
            sets = {
                frozenset(r for r, _ in used)
                for o, vs in by_order.items()
                if o != KT
                for used in vs
            }
            if len(sets) > 1:
                regs = sorted(set().union(*sets))
                self._violate(
                    root,
                    "caller_keys",
                    f"the caller's order code chose which of its own registers {regs} it uses",
                )
        return self.violations
