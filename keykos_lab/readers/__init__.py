"""Real capability systems in: readers for seL4 capDL, seL4 Microkit and Fuchsia CML.

Each reader turns a specification into a capability graph in the project's
schema (``keykos_lab.views.schema``), so every analysis and plot works on it unchanged. Bad input
raises :class:`FormatError` naming the file, the line and what is wrong; nothing
partially read is returned. Each module's docstring gives its mapping as a table, checked
against the upstream sources: the graphs may over-approximate what a system can do, never
under-approximate it. A hostile file is bounded by per-file limits
(``keykos_lab.readers.limits``): size, numeric literals, nesting, vertices and edges.

>>> from keykos_lab import readers
>>> G = readers.read_capdl_text("arch arm11\\nobjects {\\n t = tcb\\n f = frame (4k)\\n}\\n"
...                             "caps {\\n t { ipc_buffer_slot: f (RW) }\\n}\\n")
>>> G.nodes["t"]["kind"], G.nodes["f"]["kind"]
('domain', 'page')
"""

from keykos_lab.readers.capdl import read_capdl, read_capdl_text
from keykos_lab.readers.cml import read_cml, read_cml_text
from keykos_lab.readers.errors import FormatError
from keykos_lab.readers.microkit import read_microkit, read_microkit_text
from keykos_lab.views.schema import SchemaGraph

__all__ = [
    "FormatError",
    "SchemaGraph",
    "read_capdl",
    "read_capdl_text",
    "read_cml",
    "read_cml_text",
    "read_microkit",
    "read_microkit_text",
]
