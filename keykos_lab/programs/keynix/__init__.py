"""KeyNIX in miniature: a Unix personality on the simulated KeyKOS kernel.

A Unix process is a domain whose system calls *trap* to its domain keeper, the
Unix keeper (docs/primer.md#primer-keepers, docs/primer.md#primer-keynix); files are segments, the
directory is a
node tree, a pipe is a page ring the keeper keeps. One idea per module:

============ ==============================================================
``abi``      call numbers, argument encoding, results, errno, memory map
``libc``     the user side: system-call stubs, env/argv, ``unix_program``
``fs``       inodes (red segment nodes), directories, file data, user memory
``pipe``     the page ring
``keeper``   the Unix keeper: processes, fork/exec/spawn/empty child, files
``admin``    the operator's facet (databyte 0): the orders the console sends
``program``  the keeper's program: a trap or an operator order, dispatched
``commands`` ``echo``, ``cat``, ``sh``, ``secretreader``, ``probe``
``setuid``   privileged commands as factory yields, and the Unix-way contrast
============ ==============================================================

The operator's handle, :class:`keykos_lab.system.KeyNIX`, boots it from the
console; the analysis view is ``keykos_lab.analysis.keynix``.

>>> from keykos_lab.system import KeyNIX
>>> knx = KeyNIX()
>>> _ = knx.spawn("/bin/sh", ["sh", "-c", "echo piped through cat | cat"])
>>> knx.run() > 0, knx.tty()
(True, b'piped through cat\\n')
"""

from keykos_lab.programs.keynix import (  # noqa: F401  (registers the programs)
    abi,
    admin,
    commands,
    fs,
    keeper,
    libc,
    pipe,
    program,
    setuid,
)

# The analysis view of a KeyNIX system (the keeper replaced by what it grants each
# pid) is a graph transformation: it lives with the analyses, keykos_lab.analysis.keynix.

__all__ = ["abi", "admin", "commands", "fs", "keeper", "libc", "pipe", "program", "setuid"]
