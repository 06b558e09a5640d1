"""Scripted scenarios: recordings of the 2021 debate's questions, run on the kernel.

============ ===================================================================
``tso``      the empty child, the domain key and setuid (Ts'o's questions),
             each a :class:`Recording` of steps with their event rows
``keynix``   fork, spawn and the empty child measured side by side on KeyNIX;
             the setuid contrast attacked both ways
``deputy``   the confused deputy in both designs, with declared behaviour
``threads``  two domains over one address segment (a threads model), and a
             timing channel measured with the system timer
``cow``      a full copy against a virtual copy segment: pages copied, invocations,
             ticks
============ ===================================================================
"""

from keykos_lab.scenarios.cow import copy_vs_cow
from keykos_lab.scenarios.deputy import Deputy, confused_deputy
from keykos_lab.scenarios.keynix import process_creation, setuid_contrast
from keykos_lab.scenarios.threads import (
    address_slots,
    shared_page_events,
    thread_pages,
    timing_channel,
    two_threads,
)
from keykos_lab.scenarios.tso import (
    Recording,
    Step,
    empty_child,
    reachable,
    tso_domain_key,
    tso_setuid,
)

__all__ = [
    "copy_vs_cow",
    "Deputy",
    "confused_deputy",
    "Recording",
    "Step",
    "address_slots",
    "empty_child",
    "process_creation",
    "reachable",
    "setuid_contrast",
    "shared_page_events",
    "thread_pages",
    "two_threads",
    "timing_channel",
    "tso_domain_key",
    "tso_setuid",
]
