"""The KeyKOS nanokernel, pure standard library (see docs/decisions/0012-layering.md).

>>> k = Kernel()
>>> k.console.call(k.console.discrim, oc.KT).rc == oc.Discrim.AKT
True
"""

from keykos_lab.kernel import oc
from keykos_lab.kernel.console import Console, KeyHandle, Reply, describe_key
from keykos_lab.kernel.core import Kernel
from keykos_lab.kernel.errors import (
    CheckpointError,
    Deadlock,
    KernelError,
    StepLimitExceeded,
    TimeLimitExceeded,
)
from keykos_lab.kernel.history import HistoryUnavailable
from keykos_lab.kernel.keys import DK, DK0, Key, is_sensory, sensory_version
from keykos_lab.kernel.process import PROGRAMS, Dom, Message, image_bytes, program
from keykos_lab.kernel.segments import format_key_value, window_key_value

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
