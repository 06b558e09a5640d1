"""Widgets for notebooks: ``FactoryStepper`` and ``ConfinementExplorer``.

Each is a thin ipywidgets layer over a controller with no widgets in it
(:class:`~.factory_steps.FactorySteps`, :func:`~.confinement_query.ask`), so
tests and scripts drive the same logic without a browser.

>>> from keykos_lab.widgets import FactorySteps
>>> FactorySteps().names()[-1]
'let the yield try to leak'
"""

from keykos_lab.widgets.confinement_query import Answer, ask
from keykos_lab.widgets.explorer import ConfinementExplorer
from keykos_lab.widgets.factory_steps import CHOICES, FactorySteps, StepperState
from keykos_lab.widgets.stepper import FactoryStepper

__all__ = [
    "Answer",
    "CHOICES",
    "ConfinementExplorer",
    "FactorySteps",
    "FactoryStepper",
    "StepperState",
    "ask",
]
