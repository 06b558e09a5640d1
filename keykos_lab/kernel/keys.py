"""Keys: immutable capability values, as the KeyKOS kernel sees them.

A key is the triple of docs/primer.md#primer-keys — key type, the object it designates (or
its value), and a databyte — plus the allocation id that makes revocation work:
a key whose ``alloc`` no longer matches its object's behaves as DK(0).

>>> k = Key(PAGE, 7, RO, 3)
>>> k.type == PAGE, k.obj, k.databyte == RO
(True, 7, True)
>>> DK(5)
DK(5)
>>> sensory_version(Key(NODE, 2, 0, 1))
Key(sense, obj=2, databyte=0xc0, alloc=1)
"""

from __future__ import annotations

from typing import NamedTuple

# Kernel key types (docs/primer.md#primer-key-types, keytypeh.h).
DATA = 0
PAGE = 1
SEGMENT = 2
NODE = 3
METER = 4
FETCH = 5
START = 6
RESUME = 7
DOMAIN = 8
HOOK = 9
MISC = 10
NODE_RANGE = 11
PAGE_RANGE = 12
SENSE = 15
FRONTEND = 18

TYPE_NAMES: dict[int, str] = {
    DATA: "data",
    PAGE: "page",
    SEGMENT: "segment",
    NODE: "node",
    METER: "meter",
    FETCH: "fetch",
    START: "start",
    RESUME: "resume",
    DOMAIN: "domain",
    HOOK: "hook",
    MISC: "misc",
    NODE_RANGE: "node_range",
    PAGE_RANGE: "page_range",
    SENSE: "sense",
    FRONTEND: "frontend",
}

# Databyte bits (docs/primer.md#primer-databyte).
RO = 0x80
NOCALL = 0x40
LSS_MASK = 0x0F

# Resume-key flavours (databyte).
RESTART = 0
RETURN = 2
FAULT = 4
FLAVOUR_NAMES = {RESTART: "restart", RETURN: "return", FAULT: "fault"}

# Misc-key subtypes (kept in ``obj``).
RETURNER = 0
DOMTOOL = 1
KEYBITS = 2
DKC = 3
DISCRIM = 4
SYSTIMER = 5  #: the system timer (jmiscc.c:613, ``systimermisckey``)
CALCLOCK = 6  #: the calendar clock (jmiscc.c:643, ``calclockmisckey``)
MISC_NAMES = {
    RETURNER: "returner",
    DOMTOOL: "domtool",
    KEYBITS: "keybits",
    DKC: "dkc",
    DISCRIM: "discrim",
    SYSTIMER: "systimer",
    CALCLOCK: "calclock",
}

#: Types that designate a page or node in the object store.
OBJECT_TYPES = frozenset(
    {PAGE, SEGMENT, NODE, METER, FETCH, START, RESUME, DOMAIN, SENSE, FRONTEND}
)
#: Segmode keys (docs/primer.md#primer-key-types): may stand for memory and be walked by address
#: translation.
SEGMODE_TYPES = frozenset({SEGMENT, NODE, FETCH, SENSE, FRONTEND})
#: Keys that designate a domain root.
GATE_TYPES = frozenset({START, RESUME})

DATA_LIMIT = 1 << 88  # data keys hold 88 bits (11 bytes)


class Key(NamedTuple):
    """One key: ``type``, ``obj``, ``databyte``, ``alloc``.

    ``obj`` is the object id for object keys, the value for data keys and the
    subtype for misc keys. ``alloc`` is the allocation id the key was made
    under (for resume keys: the call that minted it).

    >>> Key(START, 4, 1, 9).type_name
    'start'
    """

    type: int
    obj: int
    databyte: int
    alloc: int

    @property
    def type_name(self) -> str:
        if self.type == MISC:
            return MISC_NAMES.get(self.obj, "misc")
        return TYPE_NAMES.get(self.type, str(self.type))

    def __repr__(self) -> str:
        if self.type == DATA:
            return f"DK({self.obj})"
        if self.type == MISC:
            return f"Key({self.type_name})"
        return (
            f"Key({self.type_name}, obj={self.obj}, databyte={self.databyte:#04x}, "
            f"alloc={self.alloc})"
        )


def DK(value: int = 0) -> Key:
    """The data key with ``value`` (0 ≤ value < 2**88).

    >>> DK(0) == DK0
    True
    """
    if not isinstance(value, int) or not 0 <= value < DATA_LIMIT:
        raise ValueError(f"a data key holds an integer in [0, 2**88), not {value!r}")
    return Key(DATA, value, 0, 0)


DK0 = Key(DATA, 0, 0, 0)


def misc_key(subtype: int) -> Key:
    """The kernel singleton key of ``subtype`` (RETURNER, DISCRIM, ...)."""
    return Key(MISC, subtype, 0, 0)


#: Misc keys that are sensory (their sensory version is themselves),
#: docs/primer.md#primer-sense-keys.
SENSORY_MISC = frozenset({RETURNER, DKC, DISCRIM})


def sensory_version(key: Key) -> Key:
    """The key as seen through a sense key (docs/primer.md#primer-sense-keys, jsensec.c).

    >>> sensory_version(Key(PAGE, 1, 0, 1)).databyte == RO
    True
    >>> sensory_version(Key(START, 1, 0, 1))
    DK(0)
    """
    t = key.type
    if t == DATA:
        return key
    if t == PAGE:
        return key if key.databyte & RO else key._replace(databyte=key.databyte | RO)
    if t == SEGMENT:
        return key._replace(databyte=key.databyte | RO | NOCALL)
    if t in (NODE, FETCH, SENSE):
        return Key(SENSE, key.obj, key.databyte | RO | NOCALL, key.alloc)
    if t == MISC and key.obj in SENSORY_MISC:
        return key
    return DK0


def is_sensory(key: Key) -> bool:
    """True when the key is its own sensory version (MAN m/71).

    >>> is_sensory(DK(3)), is_sensory(Key(NODE, 1, 0, 1))
    (True, False)
    """
    return sensory_version(key) == key
