"""The experimenter's side: boot, console recipes, factories and KeyNIX from the console.

Nothing here is domain code: every recipe is a few ordinary CALLs from the
console domain, so the event log and the capability graph show each step.

============== =================================================================
``boot``       the primordial objects and the console's well-known keys
``recipes``    ``image``, ``build_domain``, ``build_segment``, ``start_key``
``factories``  ``build_factory``, ``is_discreet``, ``compare``, ``trusted_factory``
``keynix``     :class:`KeyNIX`, the operator's handle on a booted Unix keeper
``vcs``        ``build_vcsf``, ``build_vcs``: virtual copy segments (``vcsf.ck``)
============== =================================================================
"""

from keykos_lab.system.factories import (
    FactoryError,
    FactoryKeys,
    build_factory,
    compare,
    factory_creator,
    is_discreet,
    trusted_factory,
)
from keykos_lab.system.keynix import KeyNIX, KeyNIXError, Setuid, install_setuid
from keykos_lab.system.recipes import (
    MeterKeys,
    SegmentKeys,
    build_domain,
    build_meter,
    build_red_segment,
    build_segment,
    image,
    start_key,
)
from keykos_lab.system.vcs import VCSKeys, build_vcs, build_vcsf, build_zero_segment

__all__ = [
    "FactoryError",
    "FactoryKeys",
    "KeyNIX",
    "KeyNIXError",
    "MeterKeys",
    "SegmentKeys",
    "build_red_segment",
    "Setuid",
    "build_domain",
    "build_meter",
    "build_factory",
    "build_segment",
    "compare",
    "factory_creator",
    "image",
    "install_setuid",
    "is_discreet",
    "start_key",
    "trusted_factory",
    "VCSKeys",
    "build_vcs",
    "build_vcsf",
    "build_zero_segment",
]
