"""What a primary key's handler answers, and the answers every key type shares.

A handler takes ``(kernel, invoker, key, object, order, keys, data)`` and
returns ``(rc, keys, string)`` — the reply the kernel delivers at once. The
shared answers are the C release's ``simplest(rc)`` with no keys and no string.
"""

from __future__ import annotations

from collections.abc import Sequence

from keykos_lab.kernel.keys import Key
from keykos_lab.kernel.oc import RC

#: ``(rc, keys, string)``.
Reply = tuple[int, Sequence[Key], bytes]

OK: Reply = (RC.OK, (), b"")
NO: Reply = (RC.NO, (), b"")
#: KT+2: the order code is not one this key type knows (``simplest(KT+2)``).
INVALID: Reply = (RC.INVALIDOC, (), b"")
#: KT+3: the string is not the length or format the order needs.
BADSTRING: Reply = (RC.BADSTRING, (), b"")
#: KT+1: what a data key (or a dead key) answers (``Base/jdatac.c``).
DATAKEY: Reply = (RC.DATAKEY, (), b"")
#: -1 as an unsigned rc: "not mine", an identify or a sale that failed.
NOT_MINE: Reply = (RC.NOT_MINE, (), b"")
#: The invoker's own process was replaced (ReplaceMemory, MakeAvailable or MakeBusy
#: on its own domain): nobody gets a reply. Known by its rc (no order answers a negative
#: one), never by identity: compiled code (mypyc) may hand back an equal, new tuple.
DISCARD_RC = -1
DISCARD: Reply = (DISCARD_RC, (), b"")


def answer(rc: int) -> Reply:
    """The reply with ``rc``, no keys and no string.

    >>> answer(7)
    (7, (), b'')
    """
    return (rc, (), b"")


def one_key(key: Key, rc: int = RC.OK) -> Reply:
    """The reply with one key.

    >>> from keykos_lab.kernel.keys import DK
    >>> one_key(DK(3))
    (0, (DK(3),), b'')
    """
    return (rc, (key,), b"")
