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
    """

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        _boot.boot(self)

    def events(self) -> pd.DataFrame:
        """The event log as a typed DataFrame (one row per kernel event)."""
        return frames.events(self)

    def objects(self) -> pd.DataFrame:
        """One row per live page and node, with kind, label and owning domain."""
        return frames.objects(self)

    def capability_graph(self) -> nx.MultiDiGraph:
        """The capability graph of the current state."""
        return graph.capability_graph(self)

    def checkpoint(self, path: str | os.PathLike) -> dict:
        """Save the whole system to ``path`` at quiescence, atomically; the header written.

        Raises ``kl.CheckpointError`` naming the domains that are mid-flight, or
        saying why the file cannot be written (then no temporary file is left and a
        previous checkpoint at ``path`` is intact). Format and guarantees:
        ``keykos_lab.kernel.checkpoint``.

        >>> import os, tempfile, keykos_lab as kl
        >>> k = kl.Kernel(); path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
        >>> k.checkpoint(path)["counts"]["nodes"] > 10
        True
        """
        return _checkpoint.save(self, path)

    @classmethod
    def restore(cls, path: str | os.PathLike) -> Kernel:
        """The system saved at ``path``, as it was (boot is not re-run).

        Raises ``kl.CheckpointError`` saying what is wrong with the file (any file:
        docs/reliability.md#reliability-strangers); nothing is half-loaded.

        >>> import os, tempfile, keykos_lab as kl
        >>> k = kl.Kernel(); path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
        >>> _ = k.checkpoint(path)
        >>> r = kl.Kernel.restore(path)
        >>> r.events().equals(k.events()), r.console["bank"] is not None
        (True, True)
        """
        return _checkpoint.load(path, cls)


_boot.system_class = Kernel
