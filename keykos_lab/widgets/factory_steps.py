"""The factory stepper's logic, without widgets: a factory built and a yield
requested one kernel-level step at a time, with deterministic replay.

Every step is a handful of ordinary CALLs from the console (docs/primer.md#primer-factories), so
its event-log rows and the capability graph after it are exactly what typing
the calls by hand would give. ``back()`` replays from the kernel the walk
started with: the simulator is deterministic, so the replay reproduces the
event log row for row (checked, not assumed).

>>> walk = FactorySteps(components={1: "sensory key", 5: "RW page"})
>>> walk.names()[:5]
['start', 'buy pages', 'build the program segment', 'create the factory', 'install component 0']
>>> while walk.next():
...     pass
>>> s = walk.state
>>> s.discreet, s.confined, s.leaked
(False, False, True)
>>> walk.back(), walk.state.step
(True, 'request a yield')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from keykos_lab import analysis
from keykos_lab.kernel import DK, oc
from keykos_lab.kernel.console import KeyHandle
from keykos_lab.kernel.process import image_bytes
from keykos_lab.programs.examples import COUNTER_ADDRESS, LEAK, LEAK_OFFSET
from keykos_lab.programs.factories.factory import FactoryB, FactoryR
from keykos_lab.programs.factories.fcc import FC
from keykos_lab.scenarios.tso import Recording
from keykos_lab.system.factories import (
    FactoryError,
    build_factory,
    factory_creator,
    trusted_factory,
)
from keykos_lab.system.recipes import build_domain, build_segment, image, start_key
from keykos_lab.views.lab import Kernel

#: What the user may put in a component, and how each goes in
#: (docs/primer.md#primer-factory-builder).
CHOICES: dict[str, str] = {
    "empty": "nothing: the component stays DK(0)",
    "sensory key": "a sense key to a node holding the secret page: installed as sensory "
    "(everything fetched through it is diminished)",
    "data key": "DK(7), a data key: installed as sensory",
    "factory": "the requestor's key of a discreet echo factory: installed as a factory "
    "(its holes, none, join this factory's)",
    "RW page": "the secret page, read-write: a hole",
    "logger": "a start key to a logger domain (a counter): a hole",
}
HOLE_CHOICES = ("RW page", "logger")
#: Components the user may pick: 0 is Discrim (the yield needs it to tell keys
#: apart), 3 is the factory's own copy key (docs/primer.md#primer-factory-components).
PICKABLE = (1, 2, *range(4, 16))
DEFAULT_COMPONENTS = {1: "sensory key", 2: "data key", 4: "factory", 5: "empty", 6: "empty"}
SECRET = b"secret"
#: What the walk's keys designate, for labels (first name wins for one object).
ROLES = {
    "image page": "image page",
    "secret page": "secret page",
    "builder": "factory",
    "logger": "logger",
    "logger page": "logger's page",
    "yield": "yield (trojan)",
}


@dataclass(frozen=True)
class StepperState:
    """Where the walk stands: the step just done and the verdict so far.

    ``discreet`` (the factory's own Compare), ``confined`` (the static analysis)
    and ``leaked`` (what the adversarial yield managed) are None until known.
    """

    step: str
    index: int
    total: int
    verdict: str
    discreet: bool | None = None
    confined: bool | None = None
    leaked: bool | None = None

    def __str__(self) -> str:
        return f"Step {self.index}/{self.total - 1} · {self.step} · verdict: {self.verdict}"


@dataclass(frozen=True)
class PlannedStep:
    name: str
    description: str
    run: Callable[[], None] | None


class FactorySteps:
    """Build a factory with ``components`` (component number → a key of
    :data:`CHOICES`), complete it, check it, request a ``trojan`` yield and let it
    try to leak; one step per :meth:`next`.

    ``kernel`` (default a fresh ``kl.Kernel()``) is copied, never changed: the
    walk runs on :attr:`kernel`, a copy that :meth:`reset` and :meth:`back`
    make anew.

    >>> walk = FactorySteps()
    >>> print(walk.state)
    Step 0/12 · start · verdict: not checked yet
    >>> walk.next(), walk.state.step, len(walk.events())
    (True, 'buy pages', 18)
    """

    def __init__(
        self, kernel: Kernel | None = None, components: Mapping[int, str] | None = None
    ) -> None:
        if kernel is not None and not isinstance(kernel, Kernel):
            raise TypeError(f"kernel must be a keykos_lab.Kernel, not {type(kernel).__name__}")
        chosen = dict(DEFAULT_COMPONENTS if components is None else components)
        for n, choice in chosen.items():
            if n not in PICKABLE:
                raise ValueError(
                    f"component {n!r} cannot be picked: choose from {PICKABLE} "
                    "(0 holds Discrim for the yield, 3 is the factory's copy key)"
                )
            if choice not in CHOICES:
                raise ValueError(f"component {n}: {choice!r} is not one of {list(CHOICES)}")
        self.components = dict(sorted(chosen.items()))
        self._origin = kernel.copy() if kernel is not None else None
        self._plan = self._make_plan()
        self.reset()

    # ----------------------------------------------------------- navigation
    def names(self) -> list[str]:
        """The step names, in order ("start" is the state before any step)."""
        return [p.name for p in self._plan]

    def reset(self) -> None:
        """Back to the start: a fresh copy of the kernel the walk began with."""
        # Kernel.copy() is typed as the bare kernel's; a copy of a booted Kernel is one
        self.kernel = cast(Kernel, self._origin.copy()) if self._origin is not None else Kernel()
        self.con = self.kernel.console
        self.recording = Recording(self.kernel)
        self.keys: dict[str, KeyHandle] = {}
        self.facts: dict[str, Any] = {}
        self.index = 0
        n = len(self.kernel.log)
        self._first_seq, self._end_seq = n, n

    def next(self) -> bool:
        """Do the next step; False (and nothing done) at the end."""
        if self.index + 1 >= len(self._plan):
            return False
        planned = self._plan[self.index + 1]
        assert planned.run is not None, "only the start has nothing to run"
        with self.recording.step(planned.name, planned.description):
            planned.run()
        self.index += 1
        step = self.recording.steps[-1]
        self._first_seq, self._end_seq = step.first_seq, step.end_seq
        return True

    def back(self) -> bool:
        """Undo the last step by replaying the others from the start; False at the
        start. The replayed event log must equal the one being undone."""
        if self.index == 0:
            return False
        target, before = self.index - 1, self.kernel.events()
        self.reset()
        while self.index < target:
            self.next()
        replayed = self.kernel.events()
        if not replayed.equals(before.iloc[: len(replayed)].reset_index(drop=True)):
            raise RuntimeError(
                "replay diverged from the recorded event log: the kernel given "
                "to the stepper was changed behind its back"
            )
        return True

    def goto(self, index: int) -> None:
        """Go to step ``index`` (0 is the start) by replay."""
        if not 0 <= index < len(self._plan):
            raise ValueError(f"step {index} is not between 0 and {len(self._plan) - 1}")
        if index < self.index:
            self.reset()
        while self.index < index:
            self.next()

    # ---------------------------------------------------------------- views
    @property
    def step(self) -> PlannedStep:
        """The step just done (its name and description)."""
        return self._plan[self.index]

    @property
    def state(self) -> StepperState:
        """The current step and the verdict so far."""
        f = self.facts
        return StepperState(
            self.step.name,
            self.index,
            len(self._plan),
            self._verdict(),
            f.get("discreet"),
            f.get("confined"),
            f.get("leaked"),
        )

    def events(self) -> pd.DataFrame:
        """The event-log rows the current step produced."""
        return self.kernel.events().iloc[self._first_seq : self._end_seq]

    def graph(self):
        """The capability graph now (``kl.Kernel.capability_graph``)."""
        return self.kernel.capability_graph()

    def roles(self) -> dict:
        """Vertex → what it is in this walk ("factory", "yield", "secret page" …),
        for labels a reader can follow.

        >>> walk = FactorySteps(); walk.goto(3)
        >>> sorted(walk.roles().values())
        ['factory', 'image page', 'secret page']
        """
        named: dict = {}
        for key, role in ROLES.items():
            handle = self.keys.get(key)
            v = self.con.target(handle) if handle is not None else None
            if v is not None:
                named.setdefault(v, role)
        return named

    def focus(self) -> set:
        """Vertices worth drawing: the console, the factory, the yield, the keys
        offered as components, and every object one key away from them."""
        G = self.graph()
        con = self.con
        centre = {con.root} | {con.target(h) for h in self.keys.values()}
        centre = {v for v in centre if v is not None and v in G}
        around = {w for v in centre - {con.root} for w in G.successors(v)}
        return centre | {v for v in around if G.nodes[v].get("kind") != "misc"}

    # ---------------------------------------------------------------- plan
    def _make_plan(self) -> list[PlannedStep]:
        s = PlannedStep
        plan = [
            s(
                "start",
                "A booted system: the console holds a space bank, a meter, the FCC "
                "and the kernel's misc keys.",
                None,
            ),
            s(
                "buy pages",
                "SB CreatePage twice: a page for the program image and the "
                "builder's secret page (it writes b'secret' at 0).",
                self._buy_pages,
            ),
            s(
                "build the program segment",
                "Write the trojan program's image into its page "
                "and make the read-only page key: a one-page address segment, discreet.",
                self._build_segment,
            ),
            s(
                "create the factory",
                "FC Create(bank) → a builder's key to a new, nascent "
                "factory (the FC is made from the FCC on first use).",
                self._create_factory,
            ),
            s(
                "install component 0",
                "InstallSensory+0 with Discrim: discreet, so accepted; "
                "the yield uses it to tell keys apart.",
                self._install_discrim,
            ),
        ]
        for n, choice in self.components.items():
            if choice != "empty":
                plan.append(
                    s(
                        f"install component {n}",
                        f"{choice}: {CHOICES[choice]}.",
                        self._installer(n, choice),
                    )
                )
        plan += [
            s(
                "install the program",
                "InstallSensory+17 with the program segment (and its start address, 0).",
                self._install_program,
            ),
            s(
                "complete",
                "MakeRequestor → the requestor's and the fetcher key; the factory "
                "is complete and can admit no new holes.",
                self._complete,
            ),
            s(
                "check discretion",
                "Compare through a trusted, hole-free factory of the same "
                "FCC (0: discreet, 1: it has holes), then the static confinement analysis of "
                "the same requestor's key.",
                self._check,
            ),
            s(
                "request a yield",
                "CALL the requestor's key with our bank and meter: the "
                "factory forks a yield that runs the program and answers with a start key "
                "to itself.",
                self._request,
            ),
            s(
                "let the yield try to leak",
                "CALL the yield with LEAK: it tries every key "
                "it can reach (writes every read-write page, sends to every start key). "
                "Did the secret page or the logger change?",
                self._leak,
            ),
        ]
        return plan

    # ---------------------------------------------------------------- steps
    def _ok(self, reply, what: str) -> KeyHandle:
        if reply.rc != 0:
            raise FactoryError(what, reply.rc)
        return reply.keys[0]

    def _buy_pages(self) -> None:
        con = self.con
        self.keys["image page"] = self._ok(con.call(con["bank"], oc.SB.CreatePage), "CreatePage")
        secret = self._ok(con.call(con["bank"], oc.SB.CreatePage), "CreatePage")
        con.call(secret, oc.Page.WriteData, data=SECRET)
        self.keys["secret page"] = secret

    def _build_segment(self) -> None:
        con, page = self.con, self.keys["image page"]
        con.call(page, oc.Page.WriteData, data=image_bytes("trojan"))
        self.keys["program"] = self._ok(con.call(page, oc.Page.MakeReadOnlyKey), "MakeReadOnlyKey")

    def _create_factory(self) -> None:
        con = self.con
        self.keys["builder"] = self._ok(
            con.call(factory_creator(con), FC.Create, con["bank"]), "FC Create"
        )

    def _install(self, order: int, n: int, key: KeyHandle, data: bytes = b"") -> None:
        rc = self.con.call(self.keys["builder"], order + n, key, data=data).rc
        if rc != 0:
            raise FactoryError(f"installing component {n}", rc)

    def _install_discrim(self) -> None:
        self._install(FactoryB.InstallSensory, 0, self.con["discrim"])

    def _installer(self, n: int, choice: str) -> Callable[[], None]:
        def run() -> None:
            key = self._offer(choice)
            order = (
                FactoryB.InstallHole
                if choice in HOLE_CHOICES
                else FactoryB.InstallFactory
                if choice == "factory"
                else FactoryB.InstallSensory
            )
            self._install(order, n, key)

        return run

    def _offer(self, choice: str) -> KeyHandle:
        """The key ``choice`` names, made now with ordinary calls."""
        con = self.con
        if choice == "RW page":
            return self.keys["secret page"]
        if choice == "data key":
            return con.hold(DK(7))
        if choice == "sensory key":
            node = self._ok(con.call(con["bank"], oc.SB.CreateNode), "CreateNode")
            con.call(node, oc.Node.Swap + 0, self.keys["secret page"])
            return self._ok(con.call(node, oc.Node.MakeSenseKey), "MakeSenseKey")
        if choice == "factory":
            requestor = build_factory(con, "echo").requestor
            assert requestor is not None, "build_factory completes the factory"
            return requestor
        if "logger" not in self.keys:  # one logger, however many components name it
            log_page = self._ok(con.call(con["bank"], oc.SB.CreatePage), "CreatePage")
            memory = build_segment(con, [image(con, "counter"), log_page])
            self.keys["logger page"] = log_page
            self.keys["logger"] = start_key(con, build_domain(con, "counter", memory=memory))
        return self.keys["logger"]

    def _install_program(self) -> None:
        self._install(FactoryB.InstallSensory, 17, self.keys["program"], data=bytes(4))

    def _complete(self) -> None:
        r = self.con.call(self.keys["builder"], FactoryB.MakeRequestor)
        self.keys["requestor"] = self._ok(r, "MakeRequestor")
        self.keys["fetcher"] = r.keys[1]

    def _check(self) -> None:
        con = self.con
        rc = con.call(trusted_factory(con), FactoryR.Compare, self.keys["requestor"]).rc
        verdict = analysis.confinement(self.kernel, self.keys["requestor"])
        self.facts.update(
            compare_rc=rc,
            discreet=rc == 0,
            confined=verdict.confined,
            holes=len(verdict.holes),
            analysis=verdict,
        )

    def _request(self) -> None:
        con = self.con
        self.keys["yield"] = self._ok(
            con.call(self.keys["requestor"], 0, con["bank"], con["meter"]), "requesting a yield"
        )

    def _leak(self) -> None:
        con = self.con
        r = con.call(self.keys["yield"], LEAK)
        con.run()  # let the messages it FORKed be delivered
        reached, written, sent = (int.from_bytes(r.data[i : i + 4], "big") for i in (0, 4, 8))
        mark = con.call(
            self.keys["secret page"], oc.Page.ReadData + LEAK_OFFSET, data=(4).to_bytes(4, "big")
        ).data
        calls = 0
        if "logger page" in self.keys:
            raw = con.call(
                self.keys["logger page"],
                oc.Page.ReadData + COUNTER_ADDRESS - 4096,
                data=(8).to_bytes(4, "big"),
            )
            calls = int.from_bytes(raw.data, "big")
        self.facts.update(
            reached=reached,
            written=written,
            sent=sent,
            page_written=mark == b"leak",
            logger_calls=calls,
            leaked=mark == b"leak" or calls > 0,
        )

    # -------------------------------------------------------------- verdict
    def _verdict(self) -> str:
        f = self.facts
        if "leaked" in f:
            if not f["leaked"]:
                return (
                    f"confined: the yield reached {f['reached']} keys and sent "
                    f"{f['sent']} messages, yet wrote no page of ours and called no logger"
                )
            what = [
                w
                for w, hit in (
                    ("wrote the secret page", f["page_written"]),
                    (f"sent the logger {f['logger_calls']} message(s)", f["logger_calls"] > 0),
                )
                if hit
            ]
            return "LEAKED: the yield " + " and ".join(what)
        if "discreet" in f:
            if f["discreet"]:
                return "discreet (Compare 0); the analysis finds it confined"
            return (
                f"not discreet (Compare {f['compare_rc']}); the analysis finds "
                f"{f['holes']} hole(s), {'confined' if f['confined'] else 'not confined'}"
            )
        return "not checked yet"


__all__ = ["CHOICES", "DEFAULT_COMPONENTS", "PICKABLE", "FactorySteps", "StepperState"]
