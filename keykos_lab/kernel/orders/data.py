"""Data keys, dead keys and hooks (``Base/jdatac.c`` ``jdata``, ``jhook``).

A data key invoked answers KT+1, no keys, and *its value as a string*: the low
six bytes of the 11-byte value, or — for order 1 — five zero bytes and all
eleven (``jdatac.c:17-28``). C programs read a data key this way. A dead key
is DK(0) by then (``jpagec.c:129``, ``primcomc.c:980``), so it answers with
zeros; a hook looks like DK(0) or DK(1) (``primcomc.c:289`` ``hook_look``).

>>> from keykos_lab.kernel.keys import DK
>>> data_answer(DK(0x0102030405060708), 0)
(2147483649, (), b'\\x03\\x04\\x05\\x06\\x07\\x08')
>>> data_answer(DK(7), 1)[2].hex()
'00000000000000000000000000000007'
"""

from __future__ import annotations

from keykos_lab.kernel.domains import DomainState
from keykos_lab.kernel.keys import DATA, HOOK, Key
from keykos_lab.kernel.oc import RC
from keykos_lab.kernel.orders.reply import Reply
from keykos_lab.kernel.state import KernelState

#: jdatac.c:17: order 1 asks for the 16-byte form (5 zero bytes, then the 11-byte value).
LONG_FORM = 1
_PAD, _VALUE, _SHORT = 5, 11, 6
_SHORT_MASK = (1 << 8 * _SHORT) - 1


def value_of(key: Key) -> int:
    """The value a key answers with as a data key: its own for a data key, 0 or 1 for a
    hook (``hook_look``), 0 for a dead key (``*key = dk0``)."""
    if key.type == DATA:
        return key.obj
    if key.type == HOOK:
        return 1 if key.databyte else 0
    return 0


def data_string(value: int, order: int) -> bytes:
    """The string a data key of ``value`` answers ``order`` with (``jdatac.c:17-25``).

    >>> data_string(5, 0), len(data_string(5, 1))
    (b'\\x00\\x00\\x00\\x00\\x00\\x05', 16)
    """
    if order == LONG_FORM:
        return bytes(_PAD) + value.to_bytes(_VALUE, "big")
    return (value & _SHORT_MASK).to_bytes(_SHORT, "big")


def data_answer(key: Key, order: int) -> Reply:
    """``jdata(key)``: KT+1, no keys, the key's value as a string."""
    return (RC.DATAKEY, (), data_string(value_of(key), order))


def data_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    _obj: object,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A jump to a data key or a hook (``gatec.c:508``, ``gatec.c:633``)."""
    return data_answer(key, order)
