"""The keeper's program: a trap of its process, or an order of the parent's keeper.

Kept apart from :mod:`.keeper` (the calls on files and the helpers every call uses) so
that the modules with the rest of the calls (:mod:`.procs`, :mod:`.threads`,
:mod:`.dirs`) can use those helpers, and this one can use them all.
"""

from __future__ import annotations

from keykos_lab.kernel.oc import Trap
from keykos_lab.kernel.process import program
from keykos_lab.programs.keynix import abi, dirs, procs, threads
from keykos_lab.programs.keynix.keeper import (
    PARENT,
    answer,
    end,
    sys_close,
    sys_dup,
    sys_exit,
    sys_geteuid,
    sys_getpid,
    sys_kill,
    sys_open,
    sys_pipe,
    sys_read,
    sys_run,
    sys_wait,
    sys_write,
)
from keykos_lab.programs.keynix.layout import R_TID


def calls() -> dict:
    """The system calls, by number: this module's, :mod:`.procs`'s, :mod:`.threads`'s and
    :mod:`.dirs`'s."""
    return {
        abi.SYS_GETPID: sys_getpid,
        abi.SYS_EXIT: sys_exit,
        abi.SYS_OPEN: sys_open,
        abi.SYS_CLOSE: sys_close,
        abi.SYS_DUP: sys_dup,
        abi.SYS_READ: sys_read,
        abi.SYS_WRITE: sys_write,
        abi.SYS_PIPE: sys_pipe,
        abi.SYS_WAIT: sys_wait,
        abi.SYS_GETEUID: sys_geteuid,
        abi.SYS_KILL: sys_kill,
        abi.SYS_RUN: sys_run,
        **procs.CALLS,
        **threads.CALLS,
        **dirs.CALLS,
    }


_CALLS: dict = {}
#: Trap codes the kernel sets itself (a fault, not a system call).
_KERNEL_TRAPS = frozenset({Trap.ILLEGAL, Trap.EXCEPTION, Trap.BADKEY, Trap.BADJUMP})


@program("keynix-keeper", system=True)
def keeper(dom, msg):
    """Dispatch: databyte ``PARENT`` is the parent's keeper (:func:`.procs.parent_order`);
    any other is a trap (or a fault) of the process or one of its threads."""
    if msg.databyte == PARENT:
        yield from procs.parent_order(dom, msg)
        return
    if not _CALLS:
        _CALLS.update(calls())
    dom.regs[R_TID] = msg.databyte  # which thread trapped (ukeeperf.c:940, :mod:`.threads`)
    dkey, fault = msg.keys[2], msg.keys[3]
    number = msg.order - Trap.SVC
    if not 0 < number < Trap.SELFCALL - Trap.SVC or msg.order in _KERNEL_TRAPS:
        yield from end(dom, abi.signaled(abi.SIGSEGV))  # a fault, not a system call
        return
    try:
        ints, payload = abi.unpack(msg.data)
    except ValueError:
        yield from answer(dom, dkey, fault, errno=abi.EINVAL)
        return
    handler = _CALLS.get(number)
    if handler is None:
        yield from answer(dom, dkey, fault, errno=abi.ENOSYS)
        return
    yield from handler(dom, dkey, fault, ints, payload)
