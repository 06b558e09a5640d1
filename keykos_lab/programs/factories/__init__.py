"""The factory code (``fcc.ck``): the FCC, factory creators, factories and their yields."""

from keykos_lab.programs.factories import factory, fcc  # noqa: F401  (registers the programs)
