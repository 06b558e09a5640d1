"""keykos_lab: a research kit for the KeyKOS nanokernel and its capability model.

>>> import keykos_lab as kl
>>> k = kl.Kernel()
>>> con = k.console
>>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
>>> con.call(page, kl.oc.Page.WriteData, data=b"hello").rc
0
>>> con.call(page, kl.oc.Page.ReadData, data=(5).to_bytes(4, "big")).data
b'hello'
"""

from keykos_lab import (  # noqa: F401  (programs: registers the shipped programs)
    analysis,
    programs,
    readers,
    scenarios,
    sweep,
    system,
    views,
)
from keykos_lab.kernel import (
    DK,
    DK0,
    CheckpointError,
    Deadlock,
    Dom,
    HistoryUnavailable,
    KernelError,
    Key,
    KeyHandle,
    Message,
    Reply,
    StepLimitExceeded,
    TimeLimitExceeded,
    format_key_value,
    oc,
    program,
    window_key_value,
)
from keykos_lab.kernel import native as _native
from keykos_lab.system import (
    FactoryError,
    FactoryKeys,
    KeyNIX,
    build_domain,
    build_factory,
    build_meter,
    build_red_segment,
    build_segment,
    build_vcs,
    build_vcsf,
    image,
    is_discreet,
    start_key,
)
from keykos_lab.views import Kernel

# The one place the version is written: pyproject.toml reads it from here (hatchling,
# dynamic = ["version"]); CITATION.cff and docs/datasets.md repeat it (a test checks).
__version__ = "0.2.0.dev0"

#: True when the kernel runs compiled by mypyc (the same source; ``kernel/native.py`` says
#: when and why not: ``keykos_lab.kernel.native.STATUS``).
compiled: bool = _native.in_use()

__all__ = [
    "Kernel",
    "compiled",
    "oc",
    "program",
    "image",
    "build_domain",
    "build_meter",
    "build_red_segment",
    "build_segment",
    "start_key",
    "Key",
    "DK",
    "DK0",
    "KeyHandle",
    "Reply",
    "Message",
    "Dom",
    "KernelError",
    "Deadlock",
    "StepLimitExceeded",
    "TimeLimitExceeded",
    "format_key_value",
    "window_key_value",
    "build_factory",
    "build_vcs",
    "build_vcsf",
    "is_discreet",
    "FactoryKeys",
    "FactoryError",
    "CheckpointError",
    "HistoryUnavailable",
    "KeyNIX",
    "analysis",
    "readers",
    "scenarios",
    "system",
    "views",
]
