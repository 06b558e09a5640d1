"""The KeyKOS nanokernel, pure standard library (see DESIGN.md, "The flow").

>>> k = Kernel()
>>> k.console.call(k.console.discrim, oc.KT).rc == oc.Discrim.AKT
True
"""

from . import oc
from .console import Console, KeyHandle, Reply, describe_key
from .core import Kernel
from .errors import CheckpointError, Deadlock, KernelError, StepLimitExceeded
from .keys import DK, DK0, Key, is_sensory, sensory_version
from .process import PROGRAMS, Dom, Message, image_bytes, program
from .segments import format_key_value

__all__ = ["Kernel", "Console", "KeyHandle", "Reply", "KernelError", "Deadlock",
           "StepLimitExceeded", "Key", "DK", "DK0", "sensory_version", "is_sensory",
           "program", "PROGRAMS", "Dom", "Message", "image_bytes", "format_key_value", "oc",
           "describe_key", "CheckpointError"]
