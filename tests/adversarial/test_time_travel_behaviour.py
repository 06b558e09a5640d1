"""Red team: recording the history must not change what the kernel does
(``kernel/history.py``'s recording subclasses swapped into the kernel's containers)."""

from __future__ import annotations

import json
import pickle

import pytest

import keykos_lab as kl
from keykos_lab import scenarios
from keykos_lab.kernel.checkpoint.load import _read

oc = kl.oc


def _script(k: kl.Kernel) -> None:
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.label(page, "diary")
    memory = kl.build_segment(con, [kl.image(con, "counter"), page])
    counter = kl.start_key(con, kl.build_domain(con, "counter", memory=memory))
    for i in range(4):
        con.call(counter, i)
    scenarios.two_threads(rounds=2, kernel=k)
    con.call(con["bank"], oc.SB.SeverPage, page)


def _pair(seed):
    with_history, without = kl.Kernel(seed=seed), kl.Kernel(seed=seed)
    without.history.stop()
    return with_history, without


@pytest.mark.parametrize("seed", [None, 5])
def test_the_history_changes_no_event_and_no_checkpoint(tmp_path, seed):
    """Holds: the same script, with the history recording and with it stopped right
    after construction, logs the same events, and checkpoints to the same body but for
    the ``history`` record (null without one)."""
    a, b = _pair(seed)
    _script(a)
    _script(b)
    assert a.history is not None and b.history is None
    assert a.events().equals(b.events())
    bodies = []
    for name, k in (("a", a), ("b", b)):
        k.checkpoint(tmp_path / f"{name}.ckpt")
        bodies.append(json.loads(_read(tmp_path / f"{name}.ckpt")[1]))
    assert bodies[0].pop("history") is not None and bodies[1].pop("history") is None
    assert bodies[0] == bodies[1]


def test_a_kernel_with_a_history_survives_pickling_as_one_without():
    """Found by the red team: a kernel pickles and unpickles with its history stopped, not with it
    on: ``pickle.loads`` raises ``AttributeError: 'RecordedPage' object has no attribute
    'hist'``. Unpickling a slotted object sets its slots with ``setattr`` in slot order;
    ``RecordedPage.__setattr__`` (and ``RecordedDomainState.__setattr__``) read ``self.hist``
    before that slot is set. Anything that ships a kernel by pickling (a Dask sweep whose ``fn``
    captures a prepared kernel: cloudpickle) breaks only when the history is on.
    ``copy.deepcopy`` works because ``__deepcopy__`` is defined; ``__reduce_ex__`` (or
    ``__setstate__``) is not."""
    on, off = _pair(None)
    for k in (on, off):
        con = k.console
        page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
        con.call(page, oc.Page.WriteData, data=b"x")
    pickle.loads(pickle.dumps(off))  # fine
    twin = pickle.loads(pickle.dumps(on))
    con = twin.console
    con.call(con["bank"], oc.SB.CreateNode)
    assert twin.history is not None and twin.history.kernel is twin
    last = len(twin.log) - 1
    assert twin.capability_graph(at=last).number_of_nodes() > 0
