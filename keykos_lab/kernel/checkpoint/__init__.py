"""Checkpoint and restore: the whole kernel state in one documented, checked file (D5).

A checkpoint can be taken at any moment. At *quiescence* — no domain in the middle
of a handler, the console between calls — it is a **snapshot** of the state (format
version 2, described below). A running handler is a Python generator, and generators
cannot be saved, so mid-flight it is a **checkpoint by replay** (version 3,
:mod:`~keykos_lab.kernel.checkpoint.replay`): the last quiescent state, the inputs
from outside since (:mod:`keykos_lab.kernel.journal`) and the events they made;
restoring runs the inputs again and fails with :class:`CheckpointError` unless the
replay makes exactly the recorded events and state. :func:`checkpoint_every` takes
them periodically (:mod:`~keykos_lab.kernel.checkpoint.periodic`).

A snapshot holds everything as data: pages, nodes (with their
keys, allocation ids included), the allocation counter, every domain's kernel
state (state, pending action, stall queue, borrowed CPU, cached meter chain),
the run queue, parked and meter-stopped domains, the scheduler's random state,
the console's key ring and names, the event log, and the history that
``capability_graph(at=seq)`` rebuilds the past from (checked against the saved state:
:mod:`~keykos_lab.kernel.checkpoint.history`). A restored kernel carries on exactly as
the original would, event for event.

The file
--------

Two parts, both UTF-8 JSON, and nothing in them is ever executed:

1. **Header**, the first line: ``{"format": "keykos_lab-checkpoint", "version":
   1, "length": <bytes of the body>, "sha256": <hex digest, below>,
   "programs": [...], "unbound_images": [...], "counts": {...}, "schemas": {...}}``.
   ``programs`` names every program the system is bound to (program images in
   pages, the program each domain last ran) that was registered when the
   checkpoint was taken: restoring needs them registered again. ``schemas``
   describes every record, field by field (:data:`SCHEMAS`). ``sha256`` is the
   digest of the header's other fields (canonical JSON) and the body, so
   neither can change unnoticed.
2. **Body**: one canonical JSON object (sorted keys, no spaces). Pages are
   sparse: a never-written page has ``null`` data, others the base64 of their
   bytes up to the last nonzero one. Node slots are sparse: only slots that do
   not hold DK(0). A key is ``[type, object, databyte,
   alloc]``. The event log is kept as its packed chunks, base64 of the raw
   little-endian int64 rows.

Writing goes to a temporary file in the same folder, flushed and ``fsync``-ed,
then ``os.replace``-d over the target: a crash at any point leaves the previous
checkpoint intact, and any failure of the file system is a :class:`CheckpointError`
that leaves no temporary file. Reading opens only a regular file (never blocking on a
FIFO), checks the format name, the version, the length, the checksum, every record
against its schema, every reference (object ids and the kind of object each key
names, domains, allocation ids), every integer's range and that the state is one a
quiescent kernel can be in, with memory proportional to the file, then builds a
complete new kernel; anything wrong raises :class:`CheckpointError` saying what, and
the caller never sees a half-loaded kernel. The file may come from a stranger:
docs/reliability.md#reliability-strangers says what is tried and promised.

docs/decisions/0005-checkpoint-at-quiescence.md and
docs/decisions/0014-checkpoint-by-replay.md are the design records;
docs/reliability.md lists the guarantees and how the tests try to break them.

The package
-----------

- :mod:`~keykos_lab.kernel.checkpoint.format`: the version, the limits, the record
  schemas, the checksum, and the encode/decode of every record (pure functions
  between kernel values and JSON data, and the checked readers that turn a file's
  JSON into kernel-owned values or raise :class:`CheckpointError`).
- :mod:`~keykos_lab.kernel.checkpoint.save`: the body built from a quiescent kernel,
  and the atomic write (:func:`save`, :func:`encode`).
- :mod:`~keykos_lab.kernel.checkpoint.load`: the header and body checked and a new
  kernel rebuilt from them (:func:`load`, :func:`decode`, :func:`read_header`).
- :mod:`~keykos_lab.kernel.checkpoint.history`: the kernel's history as a body record,
  and the checks that make a restored past one that ends in the saved present.

>>> import os, tempfile
>>> from keykos_lab.kernel.core import Kernel
>>> k = Kernel()
>>> _ = k.console.call(k.console.dkc, 0, data=b"\\0\\0\\0\\0\\0\\x07")
>>> path = os.path.join(tempfile.mkdtemp(), "k.ckpt")
>>> info = save(k, path)
>>> r = load(path, Kernel)
>>> len(r.log) == len(k.log) and r.store.next_alloc == k.store.next_alloc
True
>>> encode(r) == encode(k)
True
"""

from __future__ import annotations

import os as os  # the crash tests patch os.fsync and os.replace through checkpoint.os

from keykos_lab.kernel.checkpoint.format import (
    FORMAT,
    REPLAY_VERSION,
    SCHEMAS,
    SNAPSHOT_VERSION,
    VERSION,
)

# Not in __all__, but importable from here as before the split: the limits, the checksum
# (tests forge headers with it), and the seams the crash tests replace on this package
# (save._write_atomically looks _open_temp and _discard up here, at call time).
from keykos_lab.kernel.checkpoint.format import MAX_CHUNK_ROWS as MAX_CHUNK_ROWS
from keykos_lab.kernel.checkpoint.format import MAX_DEPTH as MAX_DEPTH
from keykos_lab.kernel.checkpoint.format import MAX_HEADER as MAX_HEADER
from keykos_lab.kernel.checkpoint.format import MAX_OBJECTS as MAX_OBJECTS
from keykos_lab.kernel.checkpoint.format import OBJECTS_FREE as OBJECTS_FREE
from keykos_lab.kernel.checkpoint.format import _digest as _digest
from keykos_lab.kernel.checkpoint.load import CheckpointLoaderBug, decode, read_header
from keykos_lab.kernel.checkpoint.periodic import (
    CheckpointWarning,
    checkpoint_every,
    checkpoints,
    latest,
)
from keykos_lab.kernel.checkpoint.replay import load
from keykos_lab.kernel.checkpoint.save import _discard as _discard
from keykos_lab.kernel.checkpoint.save import _open_temp as _open_temp
from keykos_lab.kernel.checkpoint.save import bound_programs, busy_domains, encode, save
from keykos_lab.kernel.errors import CheckpointError

__all__ = [
    "CheckpointError",
    "CheckpointLoaderBug",
    "FORMAT",
    "VERSION",
    "SNAPSHOT_VERSION",
    "REPLAY_VERSION",
    "SCHEMAS",
    "save",
    "load",
    "encode",
    "decode",
    "read_header",
    "busy_domains",
    "bound_programs",
    "checkpoint_every",
    "checkpoints",
    "latest",
    "CheckpointWarning",
]
