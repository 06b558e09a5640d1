"""Shared fixtures: a fresh booted kernel and its console."""

import pytest

import keykos_lab as kl


@pytest.fixture
def k():
    return kl.Kernel()


@pytest.fixture
def con(k):
    return k.console


# --- kernel primary-key tests (tests/kernel): buying objects, building domains by hand ---


def _buyer(con, order):
    def make():
        r = con.call(con["bank"], order)
        assert r.rc == 0
        return r.keys[0]

    return make


@pytest.fixture
def new_page(con):
    """Factory: a fresh read-write page key bought from the prime bank."""
    return _buyer(con, kl.oc.SB.CreatePage)


@pytest.fixture
def new_node(con):
    """Factory: a fresh node key (all slots DK(0)) bought from the prime bank."""
    return _buyer(con, kl.oc.SB.CreateNode)


@pytest.fixture
def new_domain(con, new_node):
    """Factory: ``(domain key, node key to the root)`` for a domain built by hand.

    Root, keys node and registers node come from the bank; ``brand`` goes in root
    slot 0; the domain runs under ``con["meter"]`` and has ``program``'s image (if
    any) as its memory. Pass ``keys_node=False`` for a malformed domain.
    """

    def make(program="echo", brand=None, keys_node=True):
        root = new_node()
        if keys_node:
            con.call(root, kl.oc.Node.Swap + 14, new_node())
        con.call(root, kl.oc.Node.Swap + 15, new_node())
        if brand is not None:
            con.call(root, kl.oc.Node.Swap + 0, brand)
        dom = con.call(con["domtool"], kl.oc.DomTool.MakeDomainKey, root).keys[0]
        con.call(dom, kl.oc.Domain.SwapMeter, con["meter"])
        if program is not None:
            con.call(dom, kl.oc.Domain.SwapMemory, kl.image(con, program))
        return dom, root

    return make


# --- notebooks that read the external specifications run only where those are at hand ---
# (a session-wide hook: it sees the notebooks nbmake collects from notebooks/ too)

NEEDS_EXTERNAL = {"06_real_systems.ipynb": ("sel4-capdl", "sel4-microkit-sdf", "fuchsia-cml")}


def pytest_collection_modifyitems(config, items):
    from external_data import REASON, found

    for item in items:
        missing = [n for n in NEEDS_EXTERNAL.get(item.path.name, ()) if found(n) is None]
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"{', '.join(missing)}: {REASON}"))
