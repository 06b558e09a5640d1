"""Scripted scenarios: recordings of the 2021 debate's questions, run on the kernel.

============ ===================================================================
``tso``      the empty child, the domain key and setuid (Ts'o's questions),
             each a :class:`Recording` of steps with their event rows
``keynix``   fork, spawn and the empty child measured side by side on KeyNIX;
             the setuid contrast attacked both ways
============ ===================================================================
"""

from keykos_lab.scenarios.keynix import process_creation, setuid_contrast
from keykos_lab.scenarios.tso import (
    Recording,
    Step,
    empty_child,
    reachable,
    tso_domain_key,
    tso_setuid,
)

__all__ = [
    "Recording",
    "Step",
    "empty_child",
    "process_creation",
    "reachable",
    "setuid_contrast",
    "tso_domain_key",
    "tso_setuid",
]
