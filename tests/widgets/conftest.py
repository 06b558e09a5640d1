"""Fixtures the widget tests share."""

from __future__ import annotations

import pytest

import keykos_lab as kl


@pytest.fixture
def writer_system():
    """A kernel with two echo domains, one holding a page key and one a read-only key to
    the same page: ``(kernel, writer, reader, page)`` as graph vertices."""
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    ro = con.call(page, kl.oc.Page.MakeReadOnlyKey).keys[0]
    writer = con.target(kl.build_domain(con, "echo", keys={0: page}))
    reader = con.target(kl.build_domain(con, "echo", keys={0: ro}))
    return k, writer, reader, con.target(page)


@pytest.fixture
def writer_reader(writer_system):
    """The same system's capability graph without the console: ``(G, writer, reader,
    page)``."""
    k, writer, reader, page = writer_system
    G = k.capability_graph()
    G.remove_node(k.console.root)
    return G, writer, reader, page
