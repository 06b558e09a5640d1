"""KeyNIX in miniature: a Unix personality on the simulated KeyKOS kernel.

A Unix process is a domain whose system calls *trap* to its domain keeper, the
Unix keeper (KEYKOS.md §3.6, §8.3); files are segments, the directory is a
node tree, a pipe is a page ring the keeper keeps. One idea per module:

============ ==============================================================
``abi``      call numbers, argument encoding, results, errno, memory map
``libc``     the user side: system-call stubs, env/argv, ``unix_program``
``fs``       inodes (red segment nodes), directories, file data, user memory
``pipe``     the page ring
``keeper``   the Unix keeper: processes, fork/exec/spawn/empty child, files
``system``   booting it and the operator's facet (:class:`KeyNIX`)
``commands`` ``echo``, ``cat``, ``sh``, ``secretreader``, ``probe``
``setuid``   privileged commands as factory yields, and the Unix-way contrast
``view``     the analysis view: each process's keeper replaced by what it grants
============ ==============================================================

>>> from keykos_lab.programs.keynix import KeyNIX
>>> knx = KeyNIX()
>>> _ = knx.spawn("/bin/sh", ["sh", "-c", "echo piped through cat | cat"])
>>> knx.run() > 0, knx.tty()
(True, b'piped through cat\\n')
"""

from . import abi, commands, fs, keeper, libc, pipe, setuid, system  # noqa: F401
from .system import KeyNIX, KeyNIXError

# The analysis view of a KeyNIX system (the keeper replaced by what it grants each
# pid) is a graph transformation: it lives with the analyses, keykos_lab.analysis.keynix.

__all__ = ["KeyNIX", "KeyNIXError", "abi", "commands", "fs", "keeper", "libc", "pipe",
           "setuid", "system"]
