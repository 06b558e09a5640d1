"""``keykos_lab.Kernel``: the booted kernel with its views for pandas and networkx.

The pure kernel (``keykos_lab.kernel``) knows nothing of pandas or networkx;
this subclass boots the system (``keykos_lab.system.boot``) and adds the one-call
views. It is what ``keykos_lab.system.boot.new_system`` makes once this module is
imported.
"""

from __future__ import annotations

import os

import networkx as nx
import pandas as pd

from keykos_lab.kernel import checkpoint as _checkpoint
from keykos_lab.kernel.core import Kernel as _BareKernel
from keykos_lab.system import boot as _boot
from keykos_lab.views import frames, graph


class Kernel(_BareKernel):
    """A booted KeyKOS system.

    >>> import keykos_lab as kl
    >>> k = kl.Kernel(seed=0)
    >>> sorted(k.console.names())[:3]
    ['bank', 'calclock', 'dcc']
    >>> kl.Kernel(history=False).history is None   # no capability_graph(at=...)
    True
    """

    def __init__(self, seed: int | None = None, *, history: bool = True) -> None:
        """``history=False``: keep no history, so no ``at=`` (``k.history`` is None);
        round trips between domains run about 2.7 times faster (docs/performance.md)."""
        super().__init__(seed)
        _boot.boot(self)
        if not history and self.history is not None:
            self.history.stop()

    def events(self, labels: bool = False) -> pd.DataFrame:
        """The event log as a typed DataFrame (one row per kernel event); ``labels=True``
        adds the name columns ``actor_label``, ``target_label`` and ``order_name``
        (``keykos_lab.views.frames.events``).

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); con = k.console
        >>> _ = con.call(con["bank"], kl.oc.SB.CreatePage)
        >>> k.events(labels=True).order_name.iloc[0]
        'SB.CreatePage'
        """
        return frames.events(self, labels=labels)

    def objects(self, at: int | None = None) -> pd.DataFrame:
        """One row per live page and node, with kind, label and owning domain; ``at=seq``
        as they were when event ``seq`` was logged."""
        return frames.objects(self, at)

    def capability_graph(self, at: int | None = None) -> nx.MultiDiGraph:
        """The capability graph of the current state, or with ``at=seq`` as it was when
        event ``seq`` was logged (rebuilt from the kernel's history, nothing run again;
        what the kernel did after the last event shows in the present graph only).

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); con = k.console; _ = con.call(con.dkc, 0)
        >>> before = len(k.log) - 1
        >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
        >>> oid = con.target(page)
        >>> oid in k.capability_graph(at=before), oid in k.capability_graph()
        (False, True)
        """
        return graph.capability_graph(self, at)

    def checkpoint(self, path: str | os.PathLike) -> dict:
        """Save the whole system to ``path``, atomically, whatever the domains are
        doing; the header written. At quiescence the file is a snapshot; with
        handlers mid-flight, a checkpoint by replay that restoring re-runs and checks
        event by event (``keykos_lab.kernel.checkpoint.replay``).

        Raises ``kl.CheckpointError`` saying why the file cannot be written (then no
        temporary file is left and a previous checkpoint at ``path`` is intact), or
        why the inputs since the last quiescent state cannot be replayed (after an
        interrupt). Format and guarantees: ``keykos_lab.kernel.checkpoint``.

        >>> import os, tempfile, keykos_lab as kl
        >>> k = kl.Kernel(); path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
        >>> k.checkpoint(path)["counts"]["nodes"] > 10
        True
        """
        return _checkpoint.save(self, path)

    def checkpoint_every(
        self, ticks: int, folder: str | os.PathLike, keep: int = 3
    ) -> _checkpoint.periodic.Periodic:
        """Checkpoint into ``folder`` after each input from outside that ends ``ticks``
        or more ticks after the last checkpoint, keeping the newest ``keep``; the
        writer (``.stop()``). ``kl.Kernel.restore_latest(folder)`` restores the newest
        complete one, whatever moment a crash came at.

        >>> import tempfile, keykos_lab as kl
        >>> k = kl.Kernel(); folder = tempfile.mkdtemp()
        >>> every = k.checkpoint_every(5, folder, keep=2)
        >>> for _ in range(5):
        ...     _ = k.console.call(k.console["bank"], kl.oc.SB.CreatePage)
        >>> r = kl.Kernel.restore_latest(folder); r.tick <= k.tick
        True
        """
        return _checkpoint.checkpoint_every(self, ticks, folder, keep)

    @classmethod
    def restore_latest(
        cls, folder: str | os.PathLike, replay_seconds: float | None = None
    ) -> Kernel:
        """The newest complete checkpoint in ``folder`` (``checkpoint_every``), restored."""
        return cls.restore(_checkpoint.latest(folder), replay_seconds)

    @classmethod
    def restore(cls, path: str | os.PathLike, replay_seconds: float | None = None) -> Kernel:
        """The system saved at ``path``, as it was: a snapshot as it is (boot is not
        re-run), a checkpoint by replay re-run from its base and checked event by event
        within ``replay_seconds`` of wall clock.

        Raises ``kl.CheckpointError`` saying what is wrong with the file (any file:
        docs/reliability.md#reliability-strangers), or where a replay left the
        recording; nothing is half-loaded.

        >>> import os, tempfile, keykos_lab as kl
        >>> k = kl.Kernel(); path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
        >>> _ = k.checkpoint(path)
        >>> r = kl.Kernel.restore(path)
        >>> r.events().equals(k.events()), r.console["bank"] is not None
        (True, True)
        """
        return _checkpoint.load(path, cls, replay_seconds)

    def _repr_html_(self) -> str:
        """The system in a notebook: its clock, what is running and waiting, how many
        domains, pages, nodes (every one: those holding the domains' keys and registers
        and the meters too) and events, and the console's names (plain HTML, every
        label escaped: labels come from users).

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); con = k.console
        >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
        >>> con.label(page, "<script>alert(1)</script>"); _ = con.name("diary", page)
        >>> html = k._repr_html_()
        >>> "domains" in html and "&lt;script&gt;" in html and "<script>" not in html
        True
        >>> "nodes (" in html and "hold the keys and registers of domains" in html
        True
        """
        import html

        def esc(text: object) -> str:
            return html.escape(str(text), quote=True)

        objs = frames.objects(self)
        kinds = objs["kind"].value_counts()
        states = objs.loc[objs["kind"] == "domain", ["label", "state"]]
        busy = []
        for state in ("running", "waiting"):
            names = states.loc[states["state"] == state, "label"].astype(str).tolist()
            if names:
                shown = ", ".join(names[:8]) + (
                    f" and {len(names) - 8} more" if len(names) > 8 else ""
                )
                busy.append(f"{esc(state)}: {esc(shown)}")
        kinds_all = ("page", "node", "segment", "meter", "domain", "domain_part")
        n = {kind: int(kinds.get(kind, 0)) for kind in kinds_all}
        # Every node is counted (a domain's root node is the domain itself): the
        # domains' keys and registers nodes, meters and segment nodes among them.
        nodes = n["node"] + n["domain_part"] + n["meter"] + n["segment"]
        among = [
            f"{n['domain_part']} hold the keys and registers of domains",
            *([f"{n['meter']} meters"] if n["meter"] else []),
            *([f"{n['segment']} segment nodes"] if n["segment"] else []),
        ]
        counts = f"{n['domain']} domains, {n['page']} pages, {nodes} nodes"
        counts += f" ({', '.join(among)})" if n["domain_part"] else ""
        return (
            '<div class="keykos-kernel">'
            f"<b>KeyKOS system</b> (seed {esc(self.seed)}, tick {esc(self.tick)}): "
            f"{esc(counts)}, {len(self.log)} events"
            f"<br>{'; '.join(busy) or 'nothing running'}"
            f"{self.console._repr_html_()}</div>"
        )


_boot.system_class = Kernel
