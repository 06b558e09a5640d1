"""The KeyKOS nanokernel, pure standard library (see docs/decisions/0012-layering.md).

>>> k = Kernel()
>>> k.console.call(k.console.discrim, oc.KT).rc == oc.Discrim.AKT
True
"""

from keykos_lab.kernel import native

native.choose()  # before any other kernel module: the compiled build, or the source (.native)

from keykos_lab.kernel import oc  # noqa: E402
from keykos_lab.kernel.console import Console, KeyHandle, Reply, describe_key  # noqa: E402
from keykos_lab.kernel.core import Kernel  # noqa: E402
from keykos_lab.kernel.errors import (  # noqa: E402
    CheckpointError,
    Deadlock,
    KernelError,
    StepLimitExceeded,
    TimeLimitExceeded,
)
from keykos_lab.kernel.history import HistoryUnavailable  # noqa: E402
from keykos_lab.kernel.keys import DK, DK0, Key, is_sensory, sensory_version  # noqa: E402
from keykos_lab.kernel.process import PROGRAMS, Dom, Message, image_bytes, program  # noqa: E402
from keykos_lab.kernel.segments import format_key_value, window_key_value  # noqa: E402

__all__ = [
    "Kernel",
    "Console",
    "KeyHandle",
    "Reply",
    "KernelError",
    "Deadlock",
    "TimeLimitExceeded",
    "StepLimitExceeded",
    "Key",
    "DK",
    "DK0",
    "sensory_version",
    "is_sensory",
    "program",
    "PROGRAMS",
    "Dom",
    "Message",
    "image_bytes",
    "format_key_value",
    "window_key_value",
    "oc",
    "describe_key",
    "CheckpointError",
    "HistoryUnavailable",
]
