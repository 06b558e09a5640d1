"""Domain code: programs that run on the simulated kernel and hold only keys.

Importing this package registers every program it ships.
"""

from . import dc, examples, fcc, keynix, kid, spacebank  # noqa: F401  (registers the programs)
