"""Where tests find the external specifications: ``keykos_lab.datasets``, never the network.

``root(name)`` is the dataset's folder ($KEYKOS_LAB_EXTERNAL, the shared folder beside the
checkout, or a complete cache), or a path that does not exist, so module-level constants
still work and tests skip with ``REASON``.
"""

from pathlib import Path

from keykos_lab import datasets

REASON = (
    "external specifications not found locally (set $KEYKOS_LAB_EXTERNAL, or run "
    "keykos_lab.datasets.external(name) once online)"
)


def found(name: str) -> Path | None:
    """The local folder of dataset ``name``, or None; never downloads."""
    try:
        return datasets.external(name, download=False)
    except datasets.DatasetError:
        return None


def root(name: str) -> Path:
    """The dataset's folder, or a path that does not exist."""
    return found(name) or Path("/nonexistent-external") / name
