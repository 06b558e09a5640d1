"""Scripted scenarios: the empty child of the 2021 debate, step by step, and
Ts'o's questions (docs/primer.md#primer-tso-answers) answered by running them.

Each scenario drives a kernel through the console with ordinary invocations
and records which event-log rows each step produced, so a notebook can show a
step with its events and the capability graph after it.

>>> rec = empty_child()
>>> [s.name for s in rec.steps][:3]
['domain creator', 'empty domain', 'address segment']
>>> rec.answers["count after first call"]
2
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from keykos_lab import system
from keykos_lab.kernel import oc
from keykos_lab.kernel.console import KeyHandle
from keykos_lab.programs.examples import COUNTER_ADDRESS
from keykos_lab.programs.primordial.dc import DC, DCC
from keykos_lab.system.factories import build_factory, is_discreet
from keykos_lab.views.lab import Kernel


@dataclass
class Step:
    """One step of a scenario: what was done and the event rows it produced."""

    name: str
    description: str
    first_seq: int
    end_seq: int  # one past the last row

    def events(self, kernel: Kernel) -> pd.DataFrame:
        ev = kernel.events()
        return ev.iloc[self.first_seq : self.end_seq]


@dataclass
class Recording:
    """A scenario's kernel, its steps, the keys it made and the facts it found."""

    kernel: Kernel
    steps: list[Step] = field(default_factory=list)
    keys: dict[str, KeyHandle] = field(default_factory=dict)
    answers: dict[str, object] = field(default_factory=dict)

    def step(self, name: str, description: str):
        """Context manager recording the event rows of one step."""
        return _StepRecorder(self, name, description)

    def table(self) -> pd.DataFrame:
        """One row per step: name, description, event rows."""
        return pd.DataFrame(
            [
                {"step": s.name, "description": s.description, "events": s.end_seq - s.first_seq}
                for s in self.steps
            ]
        )


class _StepRecorder:
    def __init__(self, rec: Recording, name: str, description: str) -> None:
        self.rec, self.name, self.description = rec, name, description

    def __enter__(self):
        self.start = len(self.rec.kernel.log)
        return self

    def __exit__(self, *exc) -> None:
        self.rec.steps.append(
            Step(self.name, self.description, self.start, len(self.rec.kernel.log))
        )


def _ok(reply, what: str) -> KeyHandle:
    if reply.rc != 0:
        raise RuntimeError(f"{what} failed with rc {reply.rc:#x}")
    return reply.keys[0]


def empty_child(kernel: Kernel | None = None) -> Recording:
    """Warkentin's third primitive, the KeyKOS way (docs/primer.md#primer-tso-answers,
    docs/primer.md#primer-fork-routine).

    The parent (the console) gets a domain creator, has it make an empty domain
    from the bank, builds the child's address segment from a node and two pages,
    installs memory and meter through the domain key, holds the child with
    MakeBusy and starts it by FORKing the fault key. The child runs ``counter``
    once on its own; then the parent makes a start key and calls it. Answers:
    ``count after first call`` (2: the child's own start counted once), and
    ``child key registers`` (how many keys the child holds in them: 0).
    """
    k = kernel or Kernel()
    con = k.console
    rec = Recording(k)
    with rec.step("domain creator", "DCC Create(bank, meter) → a DC of our own"):
        dc = _ok(con.call(con["dcc"], DCC.Create, con["bank"], con["meter"]), "DCC Create")
    with rec.step(
        "empty domain",
        "DC CreateDomain(bank) → a domain key; the child is "
        "available, with no memory, meter or keys",
    ):
        child = _ok(con.call(dc, DC.CreateDomain, con["bank"]), "CreateDomain")
    with rec.step(
        "address segment",
        "buy a node and two pages; write the program image; "
        "a red node maps the image at 0 and a data page at 4096",
    ):
        data_page = _ok(con.call(con["bank"], oc.SB.CreatePage), "CreatePage")
        segment = system.build_segment(con, [system.image(con, "counter"), data_page])
    with rec.step("install", "SwapMemory and SwapMeter through the domain key"):
        con.call(child, oc.Domain.SwapMemory, segment)
        con.call(child, oc.Domain.SwapMeter, con["meter"])
    with rec.step("hold", "MakeBusy → a fault key; the child waits, nothing runs yet"):
        fault = con.call(child, oc.Domain.MakeBusy).keys[0]
    with rec.step(
        "start", "FORK the fault key: the child runs its program once and becomes available"
    ):
        con.fork(fault, 0)
        con.run()
    with rec.step("call", "MakeStart, then CALL the child through its start key"):
        start = system.start_key(con, child)
        reply = con.call(start, 0)
    rec.keys.update(dc=dc, child=child, segment=segment, data_page=data_page, start=start)
    rec.answers["count after first call"] = int.from_bytes(reply.data, "big")
    held = [con.call(child, oc.Domain.GetKey + n).keys[0] for n in range(16)]
    rec.answers["child key registers"] = sum(con.key(h).type != 0 for h in held)
    rec.answers["counter address"] = COUNTER_ADDRESS
    return rec


def tso_domain_key(kernel: Kernel | None = None) -> Recording:
    """Ts'o: "only before the child runs?" and "only for children?" — answered by running.

    After the empty child has run, the parent still changes it through the
    domain key (``after start``). Then the parent gives the domain key to an
    unrelated domain (a ``proxy``), which uses it with exactly the same effect
    (``non-parent``): the kernel knows no parent, only keys.
    """
    rec = empty_child(kernel)
    k = rec.kernel
    con = k.console
    child, start = rec.keys["child"], rec.keys["start"]
    with rec.step("after start", "the parent swaps key register 5 of the running child"):
        con.call(child, oc.Domain.SwapKey + 5, con["discrim"])
        got = con.call(child, oc.Domain.GetKey + 5).keys[0]
    rec.answers["after start"] = con.key(got) == con.key(con["discrim"])
    with rec.step(
        "non-parent",
        "an unrelated domain holding the domain key makes a start key to the child through it",
    ):
        stranger = system.build_domain(con, "proxy", keys={0: child})
        made = con.call(system.start_key(con, stranger), oc.Domain.MakeStart).keys[0]
        count = int.from_bytes(con.call(made, 0).data, "big")
    rec.keys["stranger"] = stranger
    rec.answers["non-parent"] = count == int.from_bytes(con.call(start, 0).data, "big") - 1
    return rec


#: Key types through which a holder can reach further keys (docs/analyses.md#analyses-graph-schema).
_REACHING = {"node", "fetch", "sense", "segment", "domain"}


def reachable(G, subject) -> set[tuple[object, str]]:
    """(vertex, key type) for every key ``subject`` holds or can fetch: a plain
    closure through node, fetch, sense, segment and domain keys, never through a
    start key (which only sends). A first cut; ``keykos_lab.analysis`` refines it.

    >>> k = Kernel(); G = k.capability_graph()
    >>> (k.console.root, "domain") in reachable(G, k.console.root)
    False
    """
    seen: set[tuple[object, str]] = set()
    todo, visited = [subject], {subject}
    while todo:
        vertex = todo.pop()
        for _, target, d in G.out_edges(vertex, data=True):
            seen.add((target, d["key_type"]))
            if d["key_type"] in _REACHING and target not in visited:
                visited.add(target)
                todo.append(target)
    return seen


def tso_setuid(kernel: Kernel | None = None) -> Recording:
    """Ts'o: "what about setuid?" — a privileged program as a factory yield.

    An administrator (the console) keeps a password in a page and builds a
    factory whose program, ``password_checker``, gets that page as a *hole*. A
    user — a separate domain holding only the requestor's key, a bank of its own
    and a meter — asks the factory for a yield per check, the way a Unix user
    runs a setuid binary. The yield has the privilege; the user pays for it and
    talks to it, but cannot reach its domain, memory, registers or the page.
    Answers: ``wrong``/``right`` (the checker's rc, 1 and 0), ``changed``
    (rc of a password change), ``page`` (what the page holds afterwards),
    ``user reaches the page`` / ``user reaches memory or a domain`` (False, from
    the capability graph: the user holds start keys and a meter, no page, node,
    segment or domain key but its own), ``discreet`` (False: the page is a
    hole), ``bank after`` (nodes the user's bank has sold and not had back: 0,
    since each yield exits).
    """
    k = kernel or Kernel()
    con = k.console
    rec = Recording(k)
    with rec.step("secret", "the administrator buys a page and writes the password"):
        page = _ok(con.call(con["bank"], oc.SB.CreatePage), "CreatePage")
        con.call(page, oc.Page.WriteData, data=(7).to_bytes(4, "big") + b"hunter2")
    with rec.step(
        "factory",
        "a factory with password_checker as its program and the "
        "page as a hole: every yield will hold it",
    ):
        factory = build_factory(con, "password_checker", holes={0: page})
    with rec.step(
        "user",
        "a user domain holding the requestor's key, a bank of its own and the meter — nothing else",
    ):
        user_bank = _ok(con.call(con["bank"], oc.SB.CreateBank), "CreateBank")
        user = system.build_domain(
            con, "client", keys={0: factory.requestor, 1: user_bank, 2: con["meter"]}
        )
        as_user = system.start_key(con, user)
    with rec.step("wrong", "the user runs the checker with a wrong password"):
        wrong = con.call(as_user, 0, data=b"guess").rc
    with rec.step("right", "and with the right one"):
        right = con.call(as_user, 0, data=b"hunter2").rc
    with rec.step("change", "the user changes the password through the privileged yield"):
        changed = con.call(as_user, 1, data=b"hunter2\0correct horse").rc
    with rec.step("authority", "what the user can reach, from the capability graph"):
        G = k.capability_graph()
        held = reachable(G, con.target(user))
        own = {con.target(user)} | {
            t for _, t, d in G.out_edges(con.target(user), data=True) if d["slot_kind"] == "address"
        }  # its program image
    length = int.from_bytes(
        con.call(page, oc.Page.ReadData, data=(4).to_bytes(4, "big")).data, "big"
    )
    rec.answers.update(
        wrong=wrong,
        right=right,
        changed=changed,
        page=con.call(page, oc.Page.ReadData + 4, data=length.to_bytes(4, "big")).data,
        discreet=is_discreet(con, factory.requestor),
        **{
            "user reaches the page": any(t == con.target(page) for t, _ in held),
            "user reaches memory or a domain": any(
                kind in _REACHING | {"page"} and t not in own for t, kind in held
            ),
            "bank after": _nodes_in_use(con, user_bank),
        },
    )
    rec.keys.update(page=page, requestor=factory.requestor, user=user, user_bank=user_bank)
    return rec


def _nodes_in_use(con, bank) -> int:
    """Nodes a bank has sold and not had back: QueryStatistics's node creates less its
    node destroys (sbc.ck:820-838, 8 bytes each).

    >>> con = Kernel().console
    >>> _nodes_in_use(con, con["bank"])
    0
    """
    stats = con.call(bank, oc.SB.QueryStatistics).data
    return int.from_bytes(stats[0:8], "big") - int.from_bytes(stats[8:16], "big")
