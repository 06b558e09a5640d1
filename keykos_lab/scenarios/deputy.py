"""The confused deputy in both designs, built, attacked and analysed
(docs/analyses.md#analyses-deputy, ``programs/deputy.py``).

A user who may write only its own output file asks a compiler that may also write the
billing page. In the design of Hardy's story the user *names* the output file and the
compiler writes it with its own authority, so the name ``BILL`` overwrites the bill. In the
capability design the user passes a key to the output file, and the compiler writes the
output only through it.

Without a declaration, the analyses assume the compiler does anything its keys allow, and
say the same of both: the user can have the billing page written. Declaring what each
compiler does (:data:`DECLARED`) separates them, for the right reason, and the referee
checks each declaration against the compiler's code.

>>> by_name, by_key = confused_deputy("by_name"), confused_deputy("by_key")
>>> by_name.user_writes_bill(), by_key.user_writes_bill()
(True, False)
>>> by_name.user_writes_bill(declared=False), by_key.user_writes_bill(declared=False)
(True, True)
>>> from keykos_lab.programs.deputy import OBJECT_CODE
>>> by_name.attack()[0] == OBJECT_CODE[:8], by_key.attack()[0] == OBJECT_CODE[:8]
(True, False)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import partial

import networkx as nx

from keykos_lab import system
from keykos_lab.analysis.authority import authority
from keykos_lab.analysis.behaviour import Behaviour
from keykos_lab.kernel import oc
from keykos_lab.kernel.console import KeyHandle
from keykos_lab.programs.deputy import BILL_REG, DIRECTORY_REG
from keykos_lab.views.lab import Kernel

#: What each compiler does, in the vocabulary of :mod:`keykos_lab.analysis.behaviour`.
DECLARED: dict[str, Behaviour] = {
    "by_name": Behaviour.parse("keeps_keys"),
    "by_key": Behaviour.parse(("keeps_keys", "caller_keys"), own=[BILL_REG]),
}
DESIGNS = tuple(DECLARED)


@dataclass
class Deputy:
    """One design, built: the kernel, the console's keys (``keys``) and the vertices of
    the user, the compiler, the billing page and the user's output page."""

    design: str
    kernel: Kernel
    keys: dict[str, KeyHandle]
    user: Hashable
    compiler: Hashable
    bill: Hashable
    out: Hashable

    @property
    def behaviour(self) -> dict[Hashable, Behaviour]:
        """The declaration for this design: ``{compiler: behaviour}``."""
        return {self.compiler: DECLARED[self.design]}

    def graph(self) -> nx.MultiDiGraph:
        """The capability graph without the console (the experimenter who built it)."""
        G = self.kernel.capability_graph()
        G.remove_node(self.kernel.console.root)
        return G

    def user_writes_bill(self, declared: bool = True) -> bool:
        """Whether ``authority`` says the user can write the billing page, directly or by
        having a deputy do it (with the declaration, or without: every domain free)."""
        a = authority(self.graph(), self.user, behaviour=self.behaviour if declared else None)
        rows = a[(a.target == self.bill) & (a.key_type == "page")]
        return bool(rows.rights.map(lambda r: "write" in r).any())

    def attack(self, name: bytes = b"BILL") -> tuple[bytes, int]:
        """The user asks for output to ``name``; the first 8 bytes of the billing page
        after, and the compiler's return code, from a copy of the kernel."""
        k = self.kernel.copy()
        con = k.console
        user = KeyHandle(con, self.keys["user"].index)
        bill = KeyHandle(con, self.keys["bill"].index)
        rc = con.call(user, 0, data=name).rc
        return con.call(bill, oc.Page.ReadData, data=(8).to_bytes(4, "big")).data, rc


def confused_deputy(design: str) -> Deputy:
    """Build one design: ``"by_name"`` (Hardy's) or ``"by_key"`` (capabilities)."""
    if design not in DECLARED:
        raise ValueError(f"design is one of {', '.join(DESIGNS)}, not {design!r}")
    k = Kernel()
    con = k.console
    bank = con["bank"]
    bill = con.name("BILL", con.call(bank, oc.SB.CreatePage).keys[0])
    out = con.name("out", con.call(bank, oc.SB.CreatePage).keys[0])
    regs = {BILL_REG: bill}
    if design == "by_name":
        directory = con.name("directory", con.call(bank, oc.SB.CreateNode).keys[0])
        con.call(directory, oc.Node.Swap + 0, out)
        con.call(directory, oc.Node.Swap + 1, bill)
        regs[DIRECTORY_REG] = directory
    compiler_dom = system.build_domain(con, f"compiler_{design}", keys=regs)
    compiler = con.name("compiler", system.start_key(con, compiler_dom))
    user_keys = {0: compiler} | ({1: out} if design == "by_key" else {})
    user_dom = system.build_domain(con, "deputy_user", keys=user_keys)
    user = con.name("user", system.start_key(con, user_dom))
    keys = {"user": user, "compiler": compiler, "bill": bill, "out": out}
    return Deputy(
        design, k, keys, con.target(user), con.target(compiler), con.target(bill), con.target(out)
    )


def _system(design: str, declared: bool) -> tuple[Kernel, Hashable, dict[Hashable, Behaviour]]:
    d = confused_deputy(design)
    return d.kernel, d.user, d.behaviour if declared else {}


#: The confused deputy for :func:`keykos_lab.analysis.precision` (``benchmark=``): the user
#: as subject, each design with and without its declaration.
BENCHMARK = {
    f"deputy {design.replace('_', ' ')}{', declared' if declared else ''}": partial(
        _system, design, declared
    )
    for design in DESIGNS
    for declared in (False, True)
}
