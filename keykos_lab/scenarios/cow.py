"""Copy up front or copy on write: one workload on a full copy and on a VCS.

A domain's memory is a program image and ``n_pages`` data pages, a copy of an
original segment; the domain then writes one word into each of the first
``n_written`` data pages. With a **full copy**, the pages are bought from the bank and
copied before the domain runs, as KeyNIX's ``fork`` does today. With a **VCS**
(``programs/vcs.py``, ``Dom/fundamental/vcsf.ck``), the domain's memory is a virtual
copy of the original: the VCSF is asked for one VCS and a page is bought and copied only
when the domain first writes it. The VCSF itself (a factory and its zero segment) is
built once per original, before the measured span, like the original.

>>> df = copy_vs_cow(8, 2)
>>> df["pages_copied"].to_dict(), bool(df["writes_reach_original"].any())
({'full copy': 8, 'vcs': 2}, False)
"""

from __future__ import annotations

import pandas as pd

from keykos_lab.kernel import oc
from keykos_lab.kernel.console import Console, KeyHandle
from keykos_lab.kernel.objects import PAGE_SIZE
from keykos_lab.kernel.process import program
from keykos_lab.system.recipes import build_domain, build_red_segment, image, start_key
from keykos_lab.system.vcs import build_vcs, build_vcsf
from keykos_lab.views.lab import Kernel

MAX_DATA_PAGES = 13  #: an original of one red node: the image and 13 data pages
MARK = b"written!"


@program("page_toucher")
def page_toucher(dom, msg):
    """Writes :data:`MARK` at the start of data pages 1 to ``msg.order`` and replies."""
    for n in range(1, msg.order + 1):
        yield dom.write(n * PAGE_SIZE, MARK)
    yield dom.return_(msg.resume, rc=0)


def _original(con: Console, n_pages: int):
    pages = [image(con, "page_toucher")]
    for n in range(1, n_pages + 1):
        page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
        con.call(page, oc.Page.WriteData, data=f"original page {n}".encode())
        pages.append(page)
    return build_red_segment(con, pages), pages


def _full_copy(con: Console, pages: list[KeyHandle]) -> KeyHandle:
    """Buy a page for each data page, copy it, and build a segment of the copies."""
    copies = [pages[0]]  # the program image is read-only: shared, as a VCS shares it
    for page in pages[1:]:
        copy = con.call(con["bank"], oc.SB.CreatePage).keys[0]
        data = con.call(page, oc.Page.ReadData, data=PAGE_SIZE.to_bytes(4, "big")).data
        con.call(copy, oc.Page.WriteData, data=data)
        copies.append(copy)
    return build_red_segment(con, copies).key


def _measure(method: str, n_pages: int, n_written: int) -> dict:
    k = Kernel()
    con = k.console
    original, pages = _original(con, n_pages)
    vcsf = build_vcsf(con, original) if method == "vcs" else None
    before, tick0 = len(k.log), k.tick
    if vcsf is not None:
        memory = build_vcs(con, vcsf=vcsf).segment
    else:
        memory = _full_copy(con, pages)
    dom = build_domain(con, memory=memory)
    rc = con.call(start_key(con, dom), n_written).rc
    ev = k.events().iloc[before:]
    kinds = k.objects().set_index("id").kind
    created = ev[ev.event == "create"].target.map(kinds)
    head = PAGE_SIZE.to_bytes(4, "big")
    first = con.call(pages[1], oc.Page.ReadData, data=head).data if n_pages else b""
    return {
        "method": method,
        "n_pages": n_pages,
        "n_written": n_written,
        "rc": rc,
        "pages_copied": int((created == "page").sum()),
        "invocations": int((ev.event == "invoke").sum()),
        "ticks": int(k.tick - tick0),
        "events": len(ev),
        "writes_reach_original": MARK in first,
    }


def copy_vs_cow(n_pages: int = 13, n_written: int = 2) -> pd.DataFrame:
    """The workload (module docstring) on a full copy and on a VCS, one row each (index
    ``method``): ``pages_copied`` (pages bought in the span, each a copy),
    ``invocations`` (``invoke`` rows of the event log), ``ticks`` (of the
    simulator's logical clock, ``k.tick``: not a time), ``events`` (rows of
    ``k.events()``) and whether a write reached the original. The span runs from making
    the copy (or asking the VCSF for a VCS) to the domain's reply.

    >>> df = copy_vs_cow(4, 4)
    >>> int(df.loc["full copy", "pages_copied"]), int(df.loc["vcs", "pages_copied"])
    (4, 4)
    """
    if not 0 <= n_written <= n_pages <= MAX_DATA_PAGES:
        raise ValueError(f"need 0 <= n_written <= n_pages <= {MAX_DATA_PAGES}")
    rows = [_measure(m, n_pages, n_written) for m in ("full copy", "vcs")]
    return pd.DataFrame(rows).set_index("method")
