"""The Unix keeper's program: one handler per trap or operator order.

Databyte 0 is the operator's facet (:mod:`.admin`); any other databyte is the
pid of a trapped process, whose system call is looked up in :data:`CALLS`
(the keeper's ``sys_*`` handlers, and ``SYS_RUN`` from :mod:`.setuid`).
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import Trap
from keykos_lab.kernel.process import program
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix.admin import admin
from keykos_lab.programs.keynix.keeper import (
    KILLED,
    answer,
    finish,
    sys_close,
    sys_create,
    sys_dup,
    sys_exec,
    sys_exit,
    sys_fork,
    sys_geteuid,
    sys_getpid,
    sys_install_fd,
    sys_install_prog,
    sys_open,
    sys_pipe,
    sys_ptrace,
    sys_read,
    sys_spawn,
    sys_start,
    sys_wait,
    sys_write,
)
from keykos_lab.programs.keynix.setuid import run_command


def sys_run(dom, pid, dkey, fault, ints, payload):
    """``SYS_RUN``: a privileged command as a factory yield (:mod:`.setuid`)."""
    yield from run_command(dom, pid, dkey, fault, payload)


CALLS = {
    abi.SYS_GETPID: sys_getpid,
    abi.SYS_EXIT: sys_exit,
    abi.SYS_OPEN: sys_open,
    abi.SYS_CLOSE: sys_close,
    abi.SYS_DUP: sys_dup,
    abi.SYS_READ: sys_read,
    abi.SYS_WRITE: sys_write,
    abi.SYS_PIPE: sys_pipe,
    abi.SYS_FORK: sys_fork,
    abi.SYS_EXEC: sys_exec,
    abi.SYS_SPAWN: sys_spawn,
    abi.SYS_WAIT: sys_wait,
    abi.SYS_CREATE: sys_create,
    abi.SYS_INSTALL_FD: sys_install_fd,
    abi.SYS_INSTALL_PROG: sys_install_prog,
    abi.SYS_START: sys_start,
    abi.SYS_RUN: sys_run,
    abi.SYS_GETEUID: sys_geteuid,
    abi.SYS_PTRACE: sys_ptrace,
}


@program("keynix", system=True)
def keynix(dom, msg):
    """Dispatch: databyte 0 is the operator, any other the pid of a trapped process."""
    if msg.databyte == 0:
        yield from admin(dom, msg)
        return
    pid, dkey, fault = msg.databyte, msg.keys[2], msg.keys[3]
    number = msg.order - Trap.SVC
    if not 0 < number < 0x100:
        yield from finish(dom, pid, KILLED)  # a fault, not a system call
        yield dom.return_(DK0)
        return
    try:
        ints, payload = abi.unpack(msg.data)
    except ValueError:
        yield from answer(dom, dkey, fault, errno=abi.EINVAL)
        return
    handler = CALLS.get(number)
    if handler is None:
        yield from answer(dom, dkey, fault, errno=abi.ENOSYS)
        return
    yield from handler(dom, pid, dkey, fault, ints, payload)
