"""KeyNIX in miniature: a Unix personality on the simulated KeyKOS kernel.

A Unix process is a domain whose system calls *trap* to its domain keeper — a keeper
of its own, holding only its process's keys (docs/primer.md#primer-keepers,
docs/primer.md#primer-keynix) — and what processes share (the process table, files,
pipes, the terminal) is kept by one *system domain* the keepers reach through start
keys. Files are segments, the directory is a node tree, a pipe is a page ring. One
idea per module:

================== =========================================================
``abi``            call numbers, argument encoding, results, errno, memory map
``libc``           the user side: system-call stubs, env/argv, cwd, ``unix_program``
``fs``             inodes (red segment nodes), paths, lookup, user memory
``filetree``       a file's pages: a tree under its inode, as deep as its size
``dirtree``        a directory's entries: buckets of 14 past the first 14
``pipe``           the page ring
``layout``         the registers of a process's keeper
``keeper``         a process's keeper: the calls on files, and the helpers all use
``keeper_program`` the keeper's dispatch: a trap, or an order of the parent's keeper
``procs``          fork, exec, spawn, the empty child, ptrace (keeper side)
``cow``            copy-on-write fork: a virtual copy segment each for parent and child
``layers``         the counted banks a process's memory is bought from
``signals``        kill, default actions, SIGCHLD, SIGPIPE (system-domain side)
``threads``        threads: domains sharing their process's address space, one keeper
``dirs``           the directory calls: ``getdents``, ``chdir``
``server``         the system domain: process table, open files, per-pid nodes
``services``       the system domain's handlers, one per order a keeper sends
``admin``          the operator's facet (databyte 0): the orders the console sends
``program``        the system domain's program: an operator order or a keeper's request
``shparse``        the grammar of ``sh -c``: pipelines, ``;``, ``<``, ``>``, ``>>``
``commands``       ``echo``, ``cat``, ``sh``, ``secretreader``, ``probe``
``coreutils``      ``ls``, ``wc``, ``grep``, ``sort``, ``pwd``
``setuid``         privileged commands as factory yields, and the Unix-way contrast
================== =========================================================

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
    coreutils,
    cow,
    dirs,
    dirtree,
    filetree,
    fs,
    keeper,
    keeper_program,
    layers,
    layout,
    libc,
    pipe,
    procs,
    program,
    server,
    services,
    setuid,
    shparse,
    signals,
    threads,
)

# The analysis view of a KeyNIX system (the system domain replaced by what it grants
# each pid) is a graph transformation: it lives with the analyses, keykos_lab.analysis.keynix.

__all__ = [
    "abi",
    "admin",
    "commands",
    "coreutils",
    "cow",
    "dirs",
    "dirtree",
    "filetree",
    "fs",
    "keeper",
    "keeper_program",
    "layers",
    "layout",
    "libc",
    "pipe",
    "procs",
    "program",
    "server",
    "services",
    "setuid",
    "shparse",
    "signals",
    "threads",
]
