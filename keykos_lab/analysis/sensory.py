"""Sensory keys and the diminish rule, in the graph's words (KEYKOS.md §2.3).

A key fetched through a sense key arrives as its *sensory version*: node, fetch
and sense keys become sense keys (read-only, no-call), page keys read-only,
segment keys read-only and no-call; data keys, the Returner, the DKC and
Discrim pass unchanged; every other key (start, resume, domain, meter, the
domain tool, banks …) arrives as DK(0). A key is *sensory* when it is its own
sensory version. Key types are the graph's names (``"page"``, ``"start"`` …).

>>> sensory("node", 0)
('sense', 192)
>>> sensory("start", 1) is None
True
>>> is_sensory("page", 0x80), is_sensory("page", 0)
(True, False)
"""

from __future__ import annotations

RO, NOCALL = 0x80, 0x40
#: Keys that pass through a sense key unchanged (KEYKOS.md §2.3).
UNCHANGED = frozenset({"data", "returner", "dkc", "discrim"})
#: Keys that become sense keys.
TO_SENSE = frozenset({"node", "fetch", "sense"})


def sensory(key_type: str, databyte: int) -> tuple[str, int] | None:
    """The sensory version of a key, as ``(key_type, databyte)``; None for DK(0).

    >>> sensory("segment", 0x03), sensory("page", 0x80), sensory("dkc", 0)
    (('segment', 195), ('page', 128), ('dkc', 0))
    """
    if not isinstance(key_type, str):
        raise TypeError(f"a key type is a name such as 'page', not {key_type!r}")
    if not isinstance(databyte, int) or not 0 <= databyte <= 255:
        raise ValueError(f"a databyte is an int in [0, 255], not {databyte!r}")
    if key_type in UNCHANGED:
        return key_type, databyte
    if key_type == "page":
        return "page", databyte | RO
    if key_type == "segment":
        return "segment", databyte | RO | NOCALL
    if key_type in TO_SENSE:
        return "sense", databyte | RO | NOCALL
    return None


#: What a fetch through a sense key does to the key fetched: the same rule.
diminish = sensory


def is_sensory(key_type: str, databyte: int) -> bool:
    """True when the key is its own sensory version (MAN m/71): it conveys no
    write or send authority, however far it is followed.

    >>> is_sensory("sense", 0xC0), is_sensory("discrim", 0), is_sensory("meter", 0)
    (True, True, False)
    """
    return sensory(key_type, databyte) == (key_type, databyte)
