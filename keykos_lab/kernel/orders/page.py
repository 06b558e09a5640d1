"""Page keys (``Base/jpagec.c`` ``jpage``; order codes ``Dom/include/page.h``).

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> con.call(page, kl.oc.Page.TestForZeroes).rc, con.call(page, kl.oc.Page.WriteData, data=b"x").rc
(0, 0)
>>> con.call(page, kl.oc.Page.TestForZeroes).rc == kl.oc.Page.NOT_ZERO
True
"""

from __future__ import annotations

from keykos_lab.kernel.domains import DomainState
from keykos_lab.kernel.keys import RO, Key
from keykos_lab.kernel.objects import PAGE_SIZE, Page
from keykos_lab.kernel.oc import KT
from keykos_lab.kernel.oc import Page as PageOC
from keykos_lab.kernel.orders.reply import BADSTRING, INVALID, OK, Reply, answer, one_key
from keykos_lab.kernel.state import KernelState

#: ReadData's optional string: a 4-byte length.
READ_LENGTH_BYTES = 4
_ZERO, _NONZERO = answer(0), answer(PageOC.NOT_ZERO)
_PAST_END = answer(PageOC.PAST_END)
_WRITE_END = PageOC.WriteData + PAGE_SIZE
_READ_END = PageOC.ReadData + PAGE_SIZE

_TEST_FOR_ZEROES = PageOC.TestForZeroes  # (bound once: the hottest page order)


def page_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    page: Page,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a page key."""
    if order == _TEST_FOR_ZEROES:  # jpagec.c:190, first: the commonest page order
        # Every byte is tested: jpagec.c:199's loop (``for (; i == 0; i--)``) never runs, so
        # an in-core page always answers 0 there (docs/fidelity.md, TestForZeroes).
        body = page.data  # (Page.is_zero, inline)
        return _ZERO if body is None or not any(body) else _NONZERO
    ro = key.databyte & RO
    if PageOC.WriteData <= order < _WRITE_END:  # jpagec.c:209-212 (default: 4096 <= oc < 8192)
        if ro:
            return INVALID  # jpagec.c:246: a read-only key falls to KT+2
        off = order - PageOC.WriteData
        if off + len(data) > PAGE_SIZE:
            return _PAST_END  # jpagec.c:235: simplest(1)
        page.write(off, data)
        k.page_epoch += 1
        return OK
    if PageOC.ReadData <= order < _READ_END:  # simulator extension (docs/fidelity.md)
        off = order - PageOC.ReadData
        n = PAGE_SIZE - off
        if data:
            if len(data) != READ_LENGTH_BYTES:
                return BADSTRING
            n = min(n, int.from_bytes(data, "big"))
        return (0, (), page.read(off, n))
    if order == PageOC.MakeReadOnlyKey:  # jpagec.c:143
        return one_key(key._replace(databyte=RO))  # jpagec.c:145: databyte = readonly
    if order == PageOC.Clear:  # jpagec.c:151
        if ro:
            return INVALID  # jpagec.c:153
        page.data = None
        k.page_epoch += 1
        return OK
    if order == KT:  # jpagec.c:242
        return answer(PageOC.ROAKT if ro else PageOC.AKT)
    return INVALID  # jpagec.c:246
