"""Widgets for notebooks: ``FactoryStepper``, ``ConfinementExplorer``, ``GraphView`` and
``RunPlayer``.

Each is a thin ipywidgets layer over a controller with no widgets in it
(:class:`~.factory_steps.FactorySteps`, :func:`~.confinement_query.ask`, the
view's and the player's own ``state``), so tests and scripts drive the same logic
without a browser. :class:`~.graphview.GraphView` is the capability graph to zoom,
hover and click (sigma.js, bundled in the package: nothing loaded from the network);
:class:`~.player.RunPlayer` plays a run back event by event.

>>> from keykos_lab.widgets import FactorySteps
>>> FactorySteps().names()[-1]
'let the yield try to leak'
"""

from keykos_lab.widgets.confinement_query import Answer, ask
from keykos_lab.widgets.explorer import ConfinementExplorer
from keykos_lab.widgets.factory_steps import CHOICES, FactorySteps, StepperState
from keykos_lab.widgets.graphview import GraphView
from keykos_lab.widgets.player import RunPlayer
from keykos_lab.widgets.stepper import FactoryStepper

__all__ = [
    "Answer",
    "CHOICES",
    "ConfinementExplorer",
    "FactorySteps",
    "FactoryStepper",
    "GraphView",
    "RunPlayer",
    "StepperState",
    "ask",
]
