"""Hand-written capability graphs in the schema the readers write, for the analysis tests."""

import networkx as nx

from keykos_lab.analysis import is_sensory, rights_of


def schema(*edges, domains=()):
    """Edges (holder, target, key_type, databyte, slot, slot_kind); ``domains`` are domains,
    vertices named ``p…`` pages, the others nodes."""
    G = nx.MultiDiGraph()
    for x in domains:
        G.add_node(x, kind="domain", program="", label=x)
    for u, t, kt, db, slot, sk in edges:
        for x in (u, t):
            if x not in G:
                G.add_node(x, kind="page" if x.startswith("p") else "node", label=x)
        G.add_edge(
            u,
            t,
            key_type=kt,
            databyte=db,
            slot=slot,
            slot_kind=sk,
            rights=rights_of(kt, db),
            sensory=is_sensory(kt, db),
        )
    return G
