"""``fork()``: a domain clones itself, the way the C release's ``cfstart.s`` does.

docs/primer.md#primer-fork-routine. The factory code (``fcc.ck``) makes every new FC, factory and
yield this way: a new domain is bought from a bank through a domain creator,
given the parent's memory (its read-only program), meter, keeper, key registers
and data registers, and started. The parent goes on at once — it never waits on
the child — which is what keeps the FCC, FCs and factories *prompt*.

In keykos_lab the child begins, as every program does (D3), with a message: the
parent hands its start key, made with databyte ``BIRTH`` (or ``COPY_BIRTH``),
to :func:`start_child`, which RETURNs through it — the parent becomes available
and the child runs in one jump, the moment ``fork()`` "returns 0" in the child.
Only the parent ever held that start key, so only the parent can start a child.

The key-register layout is ``fcc.ck``'s (``KEY COMP = 0 ...``); ``cfstart.s``
assumes register 3 holds the domain's own domain key and 6 a domain creator.
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import Domain
from keykos_lab.programs.primordial.dc import DC

# Key registers (fcc.ck). BRAND is where a factory keeps its FC's domain key
# (fcc.ck keeps it in slot 2 of the memory node, MEMNODEDOMKEY).
COMP, SB, BRAND, DOMKEY, PSB, METER, DC_REG, UM, TOOLS, SBT, PTOOLS = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    11,
)
#: Key registers 12–15 are scratch; ReplaceMemory on oneself moves them into
#: the new program's first message (the entry message).
ENTRY = (12, 13, 14, 15)

#: Databytes of the start keys that begin a child.
BIRTH, COPY_BIRTH = 4, 5


def fork(dom, dc, bank, install: dict[int, object] | None = None):
    """Sub-generator: a clone of this domain from ``dc``, bought from ``bank``.

    Returns ``(rc, child domain key)``; rc is the DC's (1 not an official bank,
    2 no space) and nothing is left behind when it fails. ``install`` overrides
    key registers of the child (register → key); its DOMKEY register holds its
    own domain key.
    """
    made = yield dom.call(dc, DC.CreateDomain, bank)
    if made.rc != 0:
        return made.rc, DK0
    child, me = made.keys[0], dom.keys[DOMKEY]
    for get, swap in (
        (Domain.GetMemory, Domain.SwapMemory),
        (Domain.GetMeter, Domain.SwapMeter),
        (Domain.GetKeeper, Domain.SwapKeeper),
    ):
        yield dom.call(child, swap, (yield dom.call(me, get)).keys[0])
    keys = {n: dom.keys[n] for n in range(16)}
    keys.update(install or {})
    keys[DOMKEY] = child
    for n, key in keys.items():
        if key != DK0:
            yield dom.call(child, Domain.SwapKey + n, key)
    regs = (yield dom.call(me, Domain.GetRegs)).data
    yield dom.call(child, Domain.PutRegs, data=regs)
    return 0, child


def start_child(dom, child, databyte: int, order: int, *keys, data: bytes = b""):
    """The parent's last act: RETURN a message to the child through a start key
    with ``databyte``, becoming available for its next request."""
    start = (yield dom.call(child, Domain.MakeStart, data=bytes([databyte]))).keys[0]
    yield dom.return_(start, order, *keys, data=data)


def spawn(
    dom,
    dc,
    bank,
    databyte: int,
    order: int,
    keys,
    data: bytes = b"",
    install: dict[int, object] | None = None,
):
    """Sub-generator: :func:`fork`, then :func:`start_child` with the message
    ``(order, keys, data)``. Returns only when the fork failed, with its rc; the
    caller answers whoever waits (``keys[3]``)."""
    rc, child = yield from fork(dom, dc, bank, install)
    if rc == 0:
        yield from start_child(dom, child, databyte, order, *keys, data=data)
    return rc


def die(dom, dc, reply_to, bank, rc: int):
    """A child that cannot finish: its DC takes it apart, answering ``rc`` to ``reply_to``."""
    yield dom.call(dc, DC.DestroyMe, reply_to, bank, data=rc.to_bytes(4, "big"))
