"""Real capability systems in: readers for seL4 capDL, seL4 Microkit and Fuchsia CML.

Each reader turns a specification into a capability graph in the project's
schema (DESIGN.md), so every analysis and plot works on it unchanged. Bad input
raises :class:`FormatError` naming the file, the line and what is wrong; nothing
partially read is returned. Each module's docstring gives its mapping.

>>> from keykos_lab import io
>>> G = io.read_capdl_text("arch arm11\\nobjects {\\n t = tcb\\n f = frame (4k)\\n}\\n"
...                        "caps {\\n t { ipc_buffer_slot: f (RW) }\\n}\\n")
>>> G.nodes["t"]["kind"], G.nodes["f"]["kind"]
('domain', 'page')
"""

from .capdl import read_capdl, read_capdl_text
from .cml import read_cml, read_cml_text
from .errors import FormatError
from .microkit import read_microkit, read_microkit_text
from .schema import SchemaGraph

__all__ = ["FormatError", "SchemaGraph", "read_capdl", "read_capdl_text", "read_cml",
           "read_cml_text", "read_microkit", "read_microkit_text"]
