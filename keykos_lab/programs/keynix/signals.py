"""Signals, with their default actions, kept by the system domain.

``kill(pid, sig)`` is allowed as Unix allows it: euid 0, or the same euid. Only the
default actions are simulated: SIGCHLD is ignored (a child's end answers a parent
waiting in ``wait``, nothing else), every other signal ends the process, and its parent's
``wait`` reports it in the status (Linux encoding: :func:`.abi.wifsignaled`,
:func:`.abi.wtermsig`). A write to a pipe with no reader sends SIGPIPE to the writer.
Signal 0 only checks that the process exists and may be signalled.

The system domain ends a process itself (:func:`.server.terminate`): it destroys the
process's bank, with its domain and its keeper, whatever they are doing — waiting in a
``read``, computing, or calling the system domain. It never sends to the keeper, which
could be waiting for it (docs/fidelity.md, KeyNIX). The C release's keeper records
SIGCHLD among the signals ignored by default (``ukeeperf.c:237-238``) and answers
``kill`` with success without sending anything (``ukeeperf.c:2746-2754``).

>>> default_action(abi.SIGCHLD), default_action(abi.SIGTERM)
('ignore', 'terminate')
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix import server as s


def default_action(sig: int) -> str:
    """``'ignore'`` or ``'terminate'``: what a signal does to a process with no handler."""
    return "ignore" if sig == abi.SIGCHLD else "terminate"


def deliver(dom, pid: int, sig: int):
    """Deliver ``sig`` to ``pid`` with its default action; True if the process ended."""
    if default_action(sig) == "ignore":
        return False
    yield from s.terminate(dom, pid, abi.signaled(sig))
    return True


def kill(dom, msg, pid: int, ints):
    """``S_KILL(target, sig)`` from ``pid``'s keeper: an errno, or nothing if the
    caller ended itself (its keeper is gone with its bank)."""
    target, sig = (tuple(ints[:2]) + (-1, -1))[:2]
    err = 0
    if not 0 <= sig < abi.NSIG:
        err = abi.EINVAL
    elif not 0 < target <= abi.MAX_PROCS:
        err = abi.ESRCH
    else:
        state, _, teuid, _, _ = yield from s.table_entry(dom, target)
        _, _, euid, _, _ = yield from s.table_entry(dom, pid)
        if state not in (s.EMBRYO, s.RUNNING):
            err = abi.ESRCH
        elif euid != 0 and euid != teuid:
            err = abi.EPERM
    if not err and sig:
        ended = yield from deliver(dom, target, sig)
        if ended and target == pid:
            yield dom.return_(DK0)
            return
    yield dom.return_(msg.resume, err, data=abi.pack())


__all__ = ["default_action", "deliver", "kill"]
