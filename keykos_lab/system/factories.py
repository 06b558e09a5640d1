"""Factories from the console: build one in a call, then ask whether another is discreet.

Console-side conveniences over the real factory code (``con["fcc"]``): every
step is an ordinary CALL from the console, so the event log and the capability
graph show it exactly as if typed by hand. docs/primer.md#primer-factories.

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> echo = kl.build_factory(con, "echo")
>>> con.call(echo.requestor, 7, con["bank"], con["meter"], data=b"hi").rc   # the yield answers
7
>>> kl.is_discreet(con, echo.requestor)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from keykos_lab.kernel.console import Console, KeyHandle
from keykos_lab.kernel.keys import DK0
from keykos_lab.programs.factories.factory import FactoryB, FactoryR
from keykos_lab.programs.factories.fcc import FC, FCC
from keykos_lab.system.recipes import image


class FactoryError(RuntimeError):
    """A step of building a factory failed; ``rc`` is the KeyKOS return code."""

    def __init__(self, step: str, rc: int, hint: str = "") -> None:
        super().__init__(f"{step} failed with rc {rc:#x}" + (f": {hint}" if hint else ""))
        self.step, self.rc = step, rc


class FactoryKeys(NamedTuple):
    """The keys a builder ends with: builder's (databyte 0), requestor's (1) and
    fetcher (2); the last two are None while the factory is nascent."""

    builder: KeyHandle
    requestor: KeyHandle | None
    fetcher: KeyHandle | None


def factory_creator(con: Console) -> KeyHandle:
    """The console's own FC (``con["fc"]``), made from ``con["fcc"]`` on first use.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> hex(con.call(factory_creator(con), kl.oc.KT).rc)
    '0x1e'
    """
    if "fc" not in con:
        r = con.call(con["fcc"], FCC.Create, con["bank"], con["meter"])
        if r.rc != 0:
            raise FactoryError("FCC Create", r.rc)
        con.name("fc", r.keys[0])
    return con["fc"]


def build_factory(
    con: Console,
    program: str | KeyHandle,
    *,
    components: Mapping[int, KeyHandle] | None = None,
    holes: Mapping[int, KeyHandle] | None = None,
    keeper: KeyHandle | None = None,
    ordinal: int | None = None,
    alleged_type: int | None = None,
    hole_capacity: int | None = None,
    complete: bool = True,
) -> FactoryKeys:
    """Build a factory through its builder's key and (by default) complete it.

    ``program`` is a registered program's name (its image page becomes component
    17) or a key: a segment, or a factory that yields one. ``components`` maps
    component numbers (0–15, 18) to keys installed as sensory, or — if the
    factory refuses them as sensory — as factories; ``holes`` maps component
    numbers to keys installed as holes. ``keeper`` is component 16.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    >>> leaky = build_factory(con, "echo", holes={0: page})
    >>> kl.is_discreet(con, leaky.requestor)
    False
    """
    fc = factory_creator(con)
    if hole_capacity is None:
        r = con.call(fc, FC.Create, con["bank"])
    else:
        r = con.call(
            fc,
            FC.CreateMHF,
            con["bank"],
            con.hold(DK0),
            con["bank"],
            data=hole_capacity.to_bytes(4, "big"),
        )
    if r.rc != 0:
        raise FactoryError("FC Create", r.rc)
    builder = r.keys[0]
    wanted = dict(components or {})
    if keeper is not None:
        wanted[16] = keeper
    wanted[17] = image(con, program) if isinstance(program, str) else program
    for n, key in sorted(wanted.items()):
        _install(con, builder, n, key)
    for n, key in sorted((holes or {}).items()):
        rc = con.call(builder, FactoryB.InstallHole + n, key).rc
        if rc != 0:
            raise FactoryError(
                f"InstallHole {n}", rc, "rc 6: the KID is full (80 holes) or has no node"
            )
    for order, value in ((FactoryB.AssignOrdinal, ordinal), (FactoryB.AssignKT, alleged_type)):
        if value is not None:
            con.call(builder, order, data=value.to_bytes(4, "big"))
    if not complete:
        return FactoryKeys(builder, None, None)
    r = con.call(builder, FactoryB.MakeRequestor)
    return FactoryKeys(builder, r.keys[0], r.keys[1])


def _install(con: Console, builder: KeyHandle, n: int, key: KeyHandle) -> None:
    data = bytes(4) if n == 17 else b""
    rc = con.call(builder, FactoryB.InstallSensory + n, key, data=data).rc
    if rc == 2:
        rc = con.call(builder, FactoryB.InstallFactory + n, key, data=data).rc
    if rc != 0:
        raise FactoryError(
            f"installing component {n}",
            rc,
            "neither sensory nor a factory of this FCC; "
            "pass it in holes= if the factory may hold it"
            if rc == 2
            else "",
        )


def trusted_factory(con: Console) -> KeyHandle:
    """The requestor's key of a hole-free factory the console built itself
    (``con["trusted_factory"]``), the reference for :func:`is_discreet`."""
    if "trusted_factory" not in con:
        con.name("trusted_factory", build_factory(con, "echo").requestor)
    return con["trusted_factory"]


def compare(con: Console, suspect: KeyHandle, trusted: KeyHandle | None = None) -> int:
    """``FactoryR_Compare`` through ``trusted`` (default :func:`trusted_factory`):
    0 every hole of ``suspect`` is one of the trusted factory's, 1 it has more,
    2 it is not a factory of the same FCC (whatever it answers to KT)."""
    return con.call(trusted or trusted_factory(con), FactoryR.Compare, suspect).rc


def is_discreet(con: Console, suspect: KeyHandle) -> bool:
    """Whether ``suspect`` is a genuine factory with no holes
    (docs/primer.md#primer-factory-checks)."""
    return compare(con, suspect) == 0


__all__ = [
    "FactoryError",
    "FactoryKeys",
    "build_factory",
    "compare",
    "factory_creator",
    "is_discreet",
    "trusted_factory",
]
