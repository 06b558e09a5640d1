"""Console recipes: what an experimenter does by hand, as one call each.

Every recipe is a few ordinary CALLs from the console (nothing here reaches
into the kernel), so the event log and the capability graph show each step as
if it had been typed: buy a program image, build a domain from bank nodes,
build a segment, make a start key.

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> echo = kl.start_key(con, kl.build_domain(con, "echo"))
>>> con.call(echo, 42, data=b"ping").data
b'ping'
"""

from __future__ import annotations

from typing import NamedTuple

from keykos_lab.kernel import oc
from keykos_lab.kernel.console import Console, KeyHandle
from keykos_lab.kernel.domains import KEYS_NODE, REGS_NODE
from keykos_lab.kernel.meters import METER_COUNTER, METER_KEEPER, METER_SUPERIOR
from keykos_lab.kernel.process import image_bytes
from keykos_lab.kernel.segments import format_key_value


def _ok(reply, what: str):
    if reply.rc != 0:
        raise RuntimeError(f"{what} failed with rc {reply.rc:#x}")
    return reply.keys[0]


def image(con: Console, name: str) -> KeyHandle:
    """A read-only page key holding program ``name``'s image, bought from ``con['bank']``;
    the page is labelled ``"<name> image"``, as boot labels the images it loads.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> page = kl.image(con, "echo")
    >>> con.describe(page)
    'page key (ro) → page #... (echo image)'
    """
    data = image_bytes(name)
    page = _ok(con.call(con["bank"], oc.SB.CreatePage), "buying a page for the image")
    _ok(con.call(page, oc.Page.WriteData, data=data), "writing the image")
    con.label(page, f"{name} image")
    return _ok(con.call(page, oc.Page.MakeReadOnlyKey), "making the image read-only")


def build_domain(
    con: Console,
    program: str | None = None,
    *,
    memory: KeyHandle | None = None,
    meter: KeyHandle | None = None,
    keeper: KeyHandle | None = None,
    keys: dict[int, KeyHandle] | None = None,
) -> KeyHandle:
    """Build a domain from three bank nodes with ordinary invocations; its domain key.

    The empty-child recipe in small (docs/primer.md#primer-fork-routine): buy a root, a keys node
    and
    a registers node; link them with node-key swaps; make a domain key with the
    domain tool; install meter, keeper, memory and key registers through it. The
    domain is *available*: give out ``MakeStart`` keys to send it messages.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> dom = kl.build_domain(con, "echo")
    >>> start = con.call(dom, kl.oc.Domain.MakeStart).keys[0]
    >>> con.call(start, 7, data=b"hi").rc
    7
    """
    bank = con["bank"]
    root = _ok(con.call(bank, oc.SB.CreateNode), "buying the root node")
    keys_node = _ok(con.call(bank, oc.SB.CreateNode), "buying the keys node")
    regs_node = _ok(con.call(bank, oc.SB.CreateNode), "buying the registers node")
    con.call(root, oc.Node.Swap + KEYS_NODE, keys_node)
    con.call(root, oc.Node.Swap + REGS_NODE, regs_node)
    dom = _ok(con.call(con["domtool"], oc.DomTool.MakeDomainKey, root), "MakeDomainKey")
    con.call(dom, oc.Domain.SwapMeter, meter if meter is not None else con["meter"])
    if keeper is not None:
        con.call(dom, oc.Domain.SwapKeeper, keeper)
    if memory is None and program is not None:
        memory = image(con, program)
    if memory is not None:
        con.call(dom, oc.Domain.SwapMemory, memory)
    for n, handle in (keys or {}).items():
        con.call(dom, oc.Domain.SwapKey + n, handle)
    return dom


class SegmentKeys(NamedTuple):
    """What :func:`build_red_segment` made: the segment key, and a node key to its red node."""

    key: KeyHandle
    node: KeyHandle


def build_red_segment(
    con: Console,
    pages: list[KeyHandle],
    *,
    keeper: KeyHandle | None = None,
    databyte: int = 0,
) -> SegmentKeys:
    """A red node holding up to 14 pages in slots 0.., ``keeper`` in slot 14 (if given) and
    its format key in slot 15; the segment key (with ``databyte``: 0x80 read-only, 0x40
    no-call) and a node key to the node.

    Address ``n * 4096`` falls in ``pages[n]``; addresses past the pages fault to
    ``keeper`` when one is given.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> seg = kl.build_red_segment(con, [image(con, "echo")], databyte=0x80)
    >>> con.describe(seg.key).startswith("segment key (ro, lss 0)"), con.describe(seg.node)[:8]
    (True, 'node key')
    """
    if len(pages) > 14:
        raise ValueError("a red segment holds at most 14 pages (slot 14 keeper, 15 format)")
    if isinstance(databyte, bool) or not isinstance(databyte, int) or not 0 <= databyte < 256:
        raise ValueError(f"a databyte is an int in [0, 256), not {databyte!r}")
    node = _ok(con.call(con["bank"], oc.SB.CreateNode), "buying the segment node")
    for i, page in enumerate(pages):
        con.call(node, oc.Node.Swap + i, page)
    fmt = format_key_value(3, initial=14, keeper=14 if keeper is not None else 15)
    dk = _ok(con.call(con["dkc"], oc.DKC.Create11, data=fmt.to_bytes(11, "big")), "format key")
    con.call(node, oc.Node.Swap + 15, dk)
    if keeper is not None:
        con.call(node, oc.Node.Swap + 14, keeper)
    key = _ok(con.call(node, oc.Node.MakeSegmentKey, data=bytes([databyte])), "MakeSegmentKey")
    return SegmentKeys(key, node)


def build_segment(
    con: Console,
    pages: list[KeyHandle],
    *,
    keeper: KeyHandle | None = None,
    read_only: bool = False,
) -> KeyHandle:
    """A segment of up to 14 pages: :func:`build_red_segment`'s key (keeper optional).

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> seg = build_segment(con, [image(con, "echo")], read_only=True)
    >>> con.describe(seg).startswith("segment key (ro, lss 0)")
    True
    """
    return build_red_segment(con, pages, keeper=keeper, databyte=0x80 if read_only else 0).key


def start_key(con: Console, domain: KeyHandle, databyte: int = 0) -> KeyHandle:
    """``MakeStart`` through a domain key.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> key = start_key(con, build_domain(con, "echo"), 3)
    >>> con.describe(key).startswith("start key (databyte 3)")
    True
    """
    return _ok(con.call(domain, oc.Domain.MakeStart, data=bytes([databyte])), "MakeStart")


class MeterKeys(NamedTuple):
    """What :func:`build_meter` made: the meter key to give a domain or a factory, and a
    node key to the meter node (refill it: ``Node.Swap + 3`` with a data key)."""

    key: KeyHandle
    node: KeyHandle


def build_meter(
    con: Console, ticks: int, *, keeper: KeyHandle | None = None, superior: KeyHandle | None = None
) -> MeterKeys:
    """A fresh meter with ``ticks`` of CPU under ``superior`` (the user meter by default).

    Give each experiment, and each factory request, its own meter: a runaway then runs
    its own meter dry (and calls ``keeper``, or stops) instead of the shared user meter.

    >>> import keykos_lab as kl
    >>> con = kl.Kernel().console
    >>> m = kl.build_meter(con, 10_000)
    >>> con.describe(m.key)
    'meter key () → meter #...'
    >>> con.call(m.node, kl.oc.Node.Fetch + 3).keys[0].key
    DK(10000)
    """
    if isinstance(ticks, bool) or not isinstance(ticks, int) or not 0 <= ticks < 1 << 88:
        raise ValueError(f"ticks is an int in [0, 2**88), not {ticks!r}")
    node = _ok(con.call(con["bank"], oc.SB.CreateNode), "buying the meter node")
    con.call(node, oc.Node.Swap + METER_SUPERIOR, superior or con["meter"])
    dk = _ok(
        con.call(con["dkc"], oc.DKC.Create11, data=ticks.to_bytes(11, "big")), "the tick count"
    )
    con.call(node, oc.Node.Swap + METER_COUNTER, dk)
    if keeper is not None:
        con.call(node, oc.Node.Swap + METER_KEEPER, keeper)
    return MeterKeys(_ok(con.call(node, oc.Node.MakeMeterKey), "the meter key"), node)
