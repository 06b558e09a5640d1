"""The directory calls, 300–319: ``getdents`` (list a directory) and ``chdir``.

Each call has two halves, as every KeyNIX call that touches shared state does: the
process's keeper (:mod:`.keeper`) checks the arguments and moves bytes to and from
the process's memory (:data:`CALLS`, handlers ``(dom, dkey, fault, ints,
payload)``); the system domain, which keeps the file system (:mod:`.server`),
looks the path up from the process's root (:data:`SERVICES`, handlers ``(dom, msg,
pid, ints, payload)``, orders ``S_GETDENTS`` and ``S_CHDIR``).

* ``getdents(index, address, n; path)`` — KeyNIX's ``open`` refuses
  directories, so this one takes a path: it writes the entries of the
  directory from entry ``index`` on into the process's buffer at ``address``
  (at most ``n`` bytes), each as a kind byte (``fs.FILE``, ``DIR``,
  ``COMMAND``), the name and a NUL; the value is the number of entries
  written, the second value the index to go on from (0 entries: the end;
  EINVAL if not even one entry fits in ``n``).
* ``chdir(; path)`` — the current directory is the process's own data, like
  its environment: the variable ``PWD`` in its ENV page, which ``fork``,
  ``exec`` and ``spawn`` carry with the environment, so no keeper keeps state
  for it. libc makes relative paths absolute with it (``fs.join``); this
  call checks that an absolute path names a directory the process may enter
  (ENOENT, ENOTDIR, EACCES for a ``PRIVILEGED`` one unless euid 0), and the
  libc stub then records it.

>>> entries_record([(1, b"cat"), (2, b"tmp")], 10)
(b'\\x01cat\\x00\\x02tmp\\x00', 2)
>>> entries_record([(1, b"cat"), (2, b"tmp")], 5)
(b'\\x01cat\\x00', 1)
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.programs.keynix import abi, fs

#: The system domain's orders for the two calls (numbered as the calls, apart from
#: the ``S_*`` orders of :mod:`.server`).
S_GETDENTS, S_CHDIR = abi.SYS_GETDENTS, abi.SYS_CHDIR


def entries_record(entries: list[tuple[int, bytes]], n: int) -> tuple[bytes, int]:
    """``(bytes, count)``: as many ``(kind, name)`` entries as fit in ``n`` bytes."""
    out, count = b"", 0
    for kind, name in entries:
        record = bytes([kind]) + name + b"\0"
        if len(out) + len(record) > n:
            break
        out += record
        count += 1
    return out, count


# ------------------------------------------------------- the system domain's half
def _answer(dom, msg, err: int = 0, *ints: int, payload: bytes = b""):
    yield dom.return_(msg.resume, err, data=abi.pack(*ints, payload=payload))


def _directory(dom, pid: int, path: bytes):
    """``(errno, inode)``: the directory at ``path`` as ``pid`` may see it."""
    from keykos_lab.programs.keynix import server as s

    node = yield from s.proc_node(dom, pid)
    root = DK0 if node == DK0 else (yield from s.slot(dom, node, s.P_ROOT))
    euid = (yield from s.table_entry(dom, pid))[2]
    err, inode, _, _ = yield from fs.lookup(dom, root, path, euid)
    if err:
        return err, DK0
    kind, mode, _ = yield from fs.stat(dom, inode)
    if kind != fs.DIR:
        return abi.ENOTDIR, DK0
    if mode & fs.PRIVILEGED and euid != 0:
        return abi.EACCES, DK0
    return 0, inode


def getdents_service(dom, msg, pid, ints, payload):
    """``S_GETDENTS(index, n; path)``: ``(count, next index; entries)``."""
    index, n = (tuple(ints[:2]) + (-1, -1))[:2]
    if index < 0 or not 0 < n <= abi.BUF_SIZE:
        yield from _answer(dom, msg, abi.EINVAL)
        return
    err, inode = yield from _directory(dom, pid, payload)
    if err:
        yield from _answer(dom, msg, err)
        return
    used, total = yield from fs.dir_entries(dom, inode, index)
    entries, upto = [], max(index, total)
    size = 0
    for i, name, child in used:
        size += len(name) + 2
        if size > n:
            upto = i
            break
        kind = (yield from fs.stat(dom, child))[0] if child != DK0 else 0
        entries.append((kind, name))
    data, count = entries_record(entries, n)
    if count == 0 and used:
        yield from _answer(dom, msg, abi.EINVAL)  # not even one entry fits
        return
    yield from _answer(dom, msg, 0, count, upto, payload=data)


def chdir_service(dom, msg, pid, ints, payload):
    """``S_CHDIR(; path)``: 0 if it is a directory ``pid`` may enter, else errno."""
    err, _ = yield from _directory(dom, pid, payload)
    yield from _answer(dom, msg, err)


#: The system domain's handlers, by order (:mod:`.services` adds them to its own).
SERVICES = {S_GETDENTS: getdents_service, S_CHDIR: chdir_service}


# -------------------------------------------------------------- the keeper's half
def sys_getdents(dom, dkey, fault, ints, payload):
    """``getdents(index, address, n; path)``: entries from ``index`` into my buffer."""
    from keykos_lab.programs.keynix import keeper as kp

    if len(ints) < 3:
        yield from kp.answer(dom, dkey, fault, errno=abi.EINVAL)
        return
    index, address, n = ints[:3]
    if not fs.valid_buffer(address, n) or n > abi.BUF_SIZE:
        yield from kp.answer(dom, dkey, fault, errno=abi.EFAULT)
        return
    err, values, data, _ = yield from kp.system(
        dom, S_GETDENTS, index, min(n, kp.CHUNK), payload=payload
    )
    if err or len(values) < 2 or len(data) > n:
        yield from kp.answer(dom, dkey, fault, errno=err or abi.EIO)
        return
    if data:
        yield from fs.mem_write(dom, dom.keys[kp.KK_MEM], address, data)
    yield from kp.answer(dom, dkey, fault, values[0], 0, values[1])


def sys_chdir(dom, dkey, fault, ints, payload):
    """``chdir(; absolute path)``: 0 if it is a directory I may enter, else errno."""
    from keykos_lab.programs.keynix import keeper as kp

    err, _, _, _ = yield from kp.system(dom, S_CHDIR, payload=payload)
    yield from kp.answer(dom, dkey, fault, 0, err)


#: The keeper's handlers, by call number (:func:`.keeper.calls` adds them).
CALLS = {abi.SYS_GETDENTS: sys_getdents, abi.SYS_CHDIR: sys_chdir}
