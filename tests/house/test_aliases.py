"""The names this release moved still work, with a DeprecationWarning, for one release."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest


def _fresh_import(name: str):
    for mod in [m for m in sys.modules if m == "keykos_lab.io" or m.startswith("keykos_lab.io.")]:
        del sys.modules[mod]
    return importlib.import_module(name)


def test_io_is_readers_with_a_warning():
    with pytest.warns(DeprecationWarning, match="keykos_lab.readers"):
        io = _fresh_import("keykos_lab.io")
    from keykos_lab import readers

    assert io.read_capdl is readers.read_capdl and io.FormatError is readers.FormatError


@pytest.mark.parametrize("sub", ["capdl", "cml", "microkit", "errors", "schema"])
def test_io_submodules_still_import(sub):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _fresh_import("keykos_lab.io")
        mod = importlib.import_module(f"keykos_lab.io.{sub}")
    assert mod.__name__.startswith(("keykos_lab.readers.", "keykos_lab.views."))


def test_public_api_unchanged():
    """What the README and the notebooks use from the top of the package."""
    import keykos_lab as kl

    for name in [
        "Kernel",
        "oc",
        "program",
        "image",
        "build_domain",
        "build_segment",
        "start_key",
        "build_factory",
        "is_discreet",
        "Key",
        "DK",
        "DK0",
        "KeyHandle",
        "Reply",
        "Message",
        "Dom",
        "KernelError",
        "Deadlock",
        "StepLimitExceeded",
        "CheckpointError",
        "KeyNIX",
        "analysis",
        "readers",
        "views",
        "system",
        "scenarios",
        "sweep",
    ]:
        assert hasattr(kl, name), name
    k = kl.Kernel()
    assert hasattr(k, "events") and hasattr(k, "capability_graph") and hasattr(k, "objects")
    for name in [
        "authority",
        "can_flow",
        "flows",
        "confinement",
        "takegrant",
        "explore",
        "soundness",
    ]:
        assert hasattr(kl.analysis, name), name
