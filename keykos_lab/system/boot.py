"""Boot: the primordial objects and the keys the console starts with.

Everything here is done the KeyKOS way, with the kernel's own primitives, once,
at boot. Later work (the full space bank, domain creator and factories)
replaces the minimal bank below; this module is the one place that changes.

After :func:`boot` the console holds, by name:

========== ==============================================================
``bank``     start key to the prime space bank (a domain running ``spacebank``)
``sbt``      start key to the space bank transformer (is this an official bank?)
``meter``    meter key to a meter under the prime meter
``meter_service`` node key to that meter: refill, stop, inspect (docs/primer.md#primer-meters)
``dcc``      start key to the domain creator creator (``DCC.Create`` → a DC)
``kidc``     start key to the KID creator (``KIDC.Create`` → a key-identity set)
``fcc``      start key to the factory creator creator (``FCC.Create`` → an FC)
``domtool``  the domain tool (closely held in KeyKOS; the console is trusted)
``discrim``, ``returner``, ``dkc``, ``keybits``: kernel misc keys
========== ==============================================================

>>> import keykos_lab as kl
>>> con = kl.Kernel().console
>>> r = con.call(con["bank"], kl.oc.SB.CreatePage)
>>> r.rc, con.describe(r.keys[0]).startswith("page key (rw)")
(0, True)
"""

from __future__ import annotations

from keykos_lab.kernel.core import Kernel as _Kernel
from keykos_lab.kernel.domains import KEYS_NODE, METER, REGS_NODE
from keykos_lab.kernel.keys import (
    DISCRIM,
    DK,
    DKC,
    DOMAIN,
    DOMTOOL,
    FETCH,
    KEYBITS,
    NODE,
    NODE_RANGE,
    PAGE,
    PAGE_RANGE,
    RETURNER,
    RO,
    START,
    Key,
    misc_key,
)
from keykos_lab.kernel.keys import METER as METER_KEY
from keykos_lab.kernel.process import image_bytes
from keykos_lab.programs import fork
from keykos_lab.programs.factories import factory
from keykos_lab.programs.primordial import spacebank

USER_METER_TICKS = 10**12


def boot(k: _Kernel) -> None:
    """Build the primordial system: a meter for users and the prime bank.

    >>> from keykos_lab.kernel.core import Kernel
    >>> k = Kernel(); boot(k); "bank" in k.console
    True
    """
    store = k.store
    meter = store.new_node()
    prime = store.objects[k.prime_meter]
    meter.slots[1] = Key(METER_KEY, prime.id, 0, prime.alloc)
    meter.slots[3] = DK(USER_METER_TICKS)
    store.labels[meter.id] = "user meter"
    meter_key = Key(METER_KEY, meter.id, 0, meter.alloc)
    con = k.console
    con.name("meter", con.hold(meter_key))
    con.name("meter_service", con.hold(Key(NODE, meter.id, 0, meter.alloc)))

    # The prime bank: a domain built by hand from nodes, holding the range keys.
    # Every bank carries one brand, a node nobody else holds a key to.
    brand_node = store.new_node()
    store.labels[brand_node.id] = "bank brand"
    brand = Key(NODE, brand_node.id, 0, brand_node.alloc)
    bank_image = _image_page(k, "spacebank")
    bank = _primordial_domain(k, meter_key, bank_image, "prime bank")
    bank.slots[0] = brand
    keys_node = store.objects[bank.slots[KEYS_NODE].obj]
    regs_node = store.objects[bank.slots[REGS_NODE].obj]
    for reg, key in (
        (spacebank.NODE_RANGE, Key(NODE_RANGE, 0, 0, 0)),
        (spacebank.PAGE_RANGE, Key(PAGE_RANGE, 0, 0, 0)),
        (spacebank.SELF, Key(DOMAIN, bank.id, 0, bank.alloc)),
        (spacebank.DOMTOOL_REG, misc_key(DOMTOOL)),
        (spacebank.BRAND, brand),
        (spacebank.DISCRIM, misc_key(DISCRIM)),
        (spacebank.IMAGE, bank_image),
        (spacebank.KEYBITS_REG, misc_key(KEYBITS)),
    ):
        keys_node.slots[reg] = key
    regs_node.slots[spacebank.NODE_LIMIT] = DK(spacebank.UNLIMITED)
    regs_node.slots[spacebank.PAGE_LIMIT] = DK(spacebank.UNLIMITED)
    con.name("bank", con.hold(Key(START, bank.id, 0, bank.alloc)))
    sbt = _primordial_domain(k, meter_key, _image_page(k, "sbt"), "SBT")
    keys_node = store.objects[sbt.slots[KEYS_NODE].obj]
    keys_node.slots[0] = misc_key(DOMTOOL)
    keys_node.slots[1] = brand
    con.name("sbt", con.hold(Key(START, sbt.id, 0, sbt.alloc)))

    # The domain creator creator: domain code holding the domain tool.
    dc_image = _image_page(k, "dc")
    dcc = _primordial_domain(k, meter_key, _image_page(k, "dcc"), "DCC")
    keys_node = store.objects[dcc.slots[KEYS_NODE].obj]
    keys_node.slots[0] = misc_key(DOMTOOL)
    keys_node.slots[1] = dc_image
    keys_node.slots[2] = Key(DOMAIN, dcc.id, 0, dcc.alloc)
    keys_node.slots[3] = Key(START, sbt.id, 0, sbt.alloc)
    con.name("dcc", con.hold(Key(START, dcc.id, 0, dcc.alloc)))

    # The KID creator, with a DC of its own so that its KIDs recognise each other.
    sbt_key = Key(START, sbt.id, 0, sbt.alloc)
    kid_dc = _primordial_dc(k, meter_key, dc_image, sbt_key, "KIDC's DC")
    kidc = _primordial_domain(k, meter_key, _image_page(k, "kidc"), "KIDC")
    _set_keys(k, kidc, {0: kid_dc, 1: _image_page(k, "kid"), 2: misc_key(DISCRIM), 3: sbt_key})
    kidc_key = Key(START, kidc.id, 0, kidc.alloc)
    con.name("kidc", con.hold(kidc_key))

    # The factory creator creator (fcc.ck): its TOOLS node, shared read-only by
    # every FC and factory, and the two DCs whose brands mark FCs and factories.
    fcc = _primordial_domain(k, meter_key, _image_page(k, "fcc"), "FCC")
    fcc_key = Key(START, fcc.id, 0, fcc.alloc)
    fcdc = _primordial_dc(k, meter_key, dc_image, sbt_key, "FCs' DC")
    fdc = _primordial_dc(k, meter_key, dc_image, sbt_key, "factories' DC")
    tools = store.new_node()
    store.labels[tools.id] = "factory tools"
    for slot, key in (
        (factory.T_FCC, fcc_key),
        (factory.T_FCDC, fcdc),
        (factory.T_KIDC, kidc_key),
        (factory.T_SBT, sbt_key),
        (factory.T_DCC, Key(START, dcc.id, 0, dcc.alloc)),
        (factory.T_FDC, fdc),
        (factory.T_DKC, misc_key(DKC)),
        (factory.T_RETURNER, misc_key(RETURNER)),
        (factory.T_DISCRIM, misc_key(DISCRIM)),
        (factory.T_METER, meter_key),
    ):
        tools.slots[slot] = key
    _set_keys(
        k,
        fcc,
        {
            fork.DOMKEY: Key(DOMAIN, fcc.id, 0, fcc.alloc),
            fork.DC_REG: fcdc,
            fork.TOOLS: Key(FETCH, tools.id, 0, tools.alloc),
            fork.SBT: sbt_key,
            fork.METER: meter_key,
        },
    )
    con.name("fcc", con.hold(fcc_key))


def _image_page(k: _Kernel, name: str) -> Key:
    """A read-only page key to a new page holding program ``name``'s image."""
    page = k.store.new_page()
    page.write(0, image_bytes(name))
    k.store.labels[page.id] = f"{name} image"
    return Key(PAGE, page.id, RO, page.alloc)


def _primordial_dc(k: _Kernel, meter_key: Key, dc_image: Key, sbt: Key, label: str) -> Key:
    """A domain creator built by hand: a start key to it."""
    dc = _primordial_domain(k, meter_key, dc_image, label)
    _set_keys(k, dc, {0: misc_key(DOMTOOL), 2: Key(DOMAIN, dc.id, 0, dc.alloc), 3: sbt})
    return Key(START, dc.id, 0, dc.alloc)


def _set_keys(k: _Kernel, root, keys: dict[int, Key]) -> None:
    keys_node = k.store.objects[root.slots[KEYS_NODE].obj]
    for reg, key in keys.items():
        keys_node.slots[reg] = key


def _primordial_domain(k: _Kernel, meter_key: Key, memory: Key, label: str):
    store = k.store
    root, keys_node, regs_node = store.new_node(), store.new_node(), store.new_node()
    root.slots[METER] = meter_key
    root.slots[3] = memory
    root.slots[KEYS_NODE] = Key(NODE, keys_node.id, 0, keys_node.alloc)
    root.slots[REGS_NODE] = Key(NODE, regs_node.id, 0, regs_node.alloc)
    store.labels[root.id] = label
    return root


#: The class :func:`new_system` makes. ``keykos_lab.views.lab`` sets it to
#: ``keykos_lab.Kernel`` (the booted kernel with its pandas and networkx views),
#: and ``import keykos_lab`` imports the views; until then it is the bare kernel.
#: Recipes here need a fresh system without importing the layer above them
#: (docs/decisions/0012-layering.md).
system_class: type[_Kernel] = _Kernel


def new_system(seed: int | None = None) -> _Kernel:
    """A fresh booted system, of :data:`system_class`.

    >>> import keykos_lab as kl
    >>> type(new_system()) is kl.Kernel
    True
    """
    k = system_class(seed)
    if "bank" not in k.console:
        boot(k)
    return k
