"""Analyses over capability graphs: authority, information flow, confinement, take-grant.

Plain functions over the graphs ``k.capability_graph()`` returns
(docs/analyses.md#analyses-graph-schema), networkx style: ``authority`` (what a
domain can come to hold, with witnesses), ``can_flow`` / ``flows`` (overt information flow),
``confinement`` (a verdict with holes, leaks and the covert channels left out), each
taking ``behaviour=`` (what trusted domains do: ``Behaviour``, ``TERMS``), the referee
(``explore``, ``soundness``, ``compare``, ``exhaustive``, ``precision``),
``takegrant`` (the classic model's decision procedures), conversions to
arrays and files (``to_csr``, ``to_pandas_edgelist``, ``write_graphml`` …), and
``keynix.analysis_view`` (a KeyNIX system with its trusted Unix keeper replaced
by what it grants each process).

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> leaky = kl.build_factory(con, "echo", holes={0: con.call(con["bank"], 16).keys[0]})
>>> kl.analysis.confinement(k, leaky.requestor).confined
False
"""

from keykos_lab.analysis import takegrant
from keykos_lab.analysis.authority import Closure, authority
from keykos_lab.analysis.behaviour import TERMS, Behaviour
from keykos_lab.analysis.confinement import Verdict, confinement
from keykos_lab.analysis.convert import (
    CapabilityCSR,
    from_csr,
    read_node_link,
    rights_of,
    to_csr,
    to_pandas_edgelist,
    write_graphml,
    write_node_link,
)
from keykos_lab.analysis.explain import explain
from keykos_lab.analysis.flow import can_flow, flow_graph, flows
from keykos_lab.analysis.generate import random_csr, random_system
from keykos_lab.analysis.referee import (
    Soundness,
    compare,
    exhaustive,
    explore,
    precision,
    soundness,
)
from keykos_lab.analysis.summaries import origin
from keykos_lab.analysis.when import can_reach_at, first_reach, reach_changes
from keykos_lab.views.schema import diminish, is_sensory, sensory

__all__ = [
    "can_reach_at",
    "first_reach",
    "reach_changes",
    "authority",
    "Behaviour",
    "compare",
    "exhaustive",
    "precision",
    "TERMS",
    "can_flow",
    "CapabilityCSR",
    "Closure",
    "confinement",
    "diminish",
    "explain",
    "explore",
    "flow_graph",
    "flows",
    "from_csr",
    "is_sensory",
    "origin",
    "random_csr",
    "random_system",
    "read_node_link",
    "rights_of",
    "sensory",
    "Soundness",
    "soundness",
    "takegrant",
    "to_csr",
    "to_pandas_edgelist",
    "Verdict",
    "write_graphml",
    "write_node_link",
]
