"""Views of a kernel for pandas and networkx: frames, the capability graph, the schema, spill.

============ ===================================================================
``schema``   the graph schema: vertex kinds, key types, slot kinds, rights, the
             sense-key diminish rule, and :class:`SchemaGraph` for readers
``frames``   the event log and the object store as typed DataFrames
``graph``    the capability graph (``networkx.MultiDiGraph``) of a kernel's state
``spill``    the event log spilled to Parquet files for long runs
``lab``      ``keykos_lab.Kernel``: a booted kernel with these views as methods
============ ===================================================================
"""

from keykos_lab.views.frames import events, objects
from keykos_lab.views.graph import capability_graph
from keykos_lab.views.lab import Kernel
from keykos_lab.views.schema import SchemaGraph
from keykos_lab.views.spill import ParquetSpill, spill_events

__all__ = [
    "Kernel",
    "ParquetSpill",
    "SchemaGraph",
    "capability_graph",
    "events",
    "objects",
    "spill_events",
]
