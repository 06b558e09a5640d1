"""Analyses over capability graphs: authority, information flow, confinement, take-grant.

Plain functions over the graphs ``k.capability_graph()`` returns (DESIGN.md,
graph schema), networkx style.

>>> import keykos_lab as kl
>>> k = kl.Kernel(); con = k.console
>>> leaky = kl.build_factory(con, "echo", holes={0: con.call(con["bank"], 16).keys[0]})
>>> kl.analysis.confinement(k, leaky.requestor).confined
False
"""

from .authority import Closure, authority, rights_of
from .confinement import Verdict, confinement
from .flow import can_flow, flow_graph, flows
from .sensory import diminish, is_sensory, sensory

__all__ = ["Closure", "Verdict", "authority", "can_flow", "confinement", "diminish",
           "flow_graph", "flows", "is_sensory", "rights_of", "sensory"]
