"""Deprecated: the readers moved to :mod:`keykos_lab.readers` (0.2); this alias goes in 0.3.

``keykos_lab.io.X`` and ``keykos_lab.io.capdl`` (and ``cml``, ``microkit``,
``errors``, ``schema``) still work for this release, with a DeprecationWarning.
"""

import sys
import warnings

from keykos_lab import readers as _readers
from keykos_lab.readers import *  # noqa: F403
from keykos_lab.readers import capdl, cml, errors, microkit  # noqa: F401
from keykos_lab.views import schema  # noqa: F401

warnings.warn(
    "keykos_lab.io is now keykos_lab.readers; the old name goes in 0.3",
    DeprecationWarning,
    stacklevel=2,
)

for _name in ("capdl", "cml", "errors", "microkit"):
    sys.modules[f"{__name__}.{_name}"] = getattr(_readers, _name)
sys.modules[f"{__name__}.schema"] = schema

__all__ = _readers.__all__
