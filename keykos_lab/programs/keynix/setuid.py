"""setuid the capability way — NOT DONE YET: ``SYS_RUN`` answers ``ENOSYS``.

Planned (issue 7): a command inode (``fs.COMMAND``) holds a factory's
requestor key; ``run`` asks the factory for a yield with the process's bank
and meter and passes only the argument, so nothing of the requestor's
environment (``LD_PRELOAD``), memory or keys reaches the privileged program;
the contrast is a ``fs.SETUID`` program file, which ``exec`` runs with euid 0
inside the caller's process (the keeper already implements that half).
"""

from __future__ import annotations

from . import abi


def run_command(dom, pid, dkey, fault, payload):
    """The ``SYS_RUN`` handler: ``ENOSYS`` for now (a sub-generator of the keeper)."""
    from .keeper import answer
    yield from answer(dom, dkey, fault, errno=abi.ENOSYS)
