"""The cyclic garbage collector paused for a block that makes many objects and frees none.

Building a capability graph, or the body of a checkpoint, makes millions of small dicts,
lists and keys in one go, none of them garbage yet. Each few hundred made would start a
collection, and the full ones walk the whole heap (the kernel's objects too) and find
nothing: a third of the graph's time at 10,000 domains, more than half of a large save or
restore, measured for issue 22 (docs/performance.md).

>>> import gc
>>> with gc_paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The collector off for the block, then as it was before it (on, or left off).

    >>> gc.disable()
    >>> with gc_paused():
    ...     pass
    >>> gc.isenabled()
    False
    >>> gc.enable()
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
