"""Real capability systems in: readers for seL4 capDL, seL4 Microkit and Fuchsia CML.

Each reader turns a specification into a capability graph in the project's
schema (DESIGN.md), so every analysis and plot works on it unchanged. Bad input
raises :class:`FormatError` naming the file, the line and what is wrong; nothing
partially read is returned.
"""

from .errors import FormatError
from .schema import SchemaGraph

__all__ = ["FormatError", "SchemaGraph"]
