"""How long the fuzz tests run: a few hundred examples in ``make test``, far more in
``make fuzz`` (``$KEYKOS_LAB_FUZZ=1``; ``$KEYKOS_LAB_FUZZ_SCALE`` multiplies, default 50)."""

from __future__ import annotations

import os

LONG = bool(os.environ.get("KEYKOS_LAB_FUZZ"))
SCALE = int(os.environ.get("KEYKOS_LAB_FUZZ_SCALE", "50")) if LONG else 1


def examples(n: int) -> int:
    """Hypothesis examples for a test that runs ``n`` in ``make test``.

    >>> examples(10) >= 10
    True
    """
    return n * SCALE
