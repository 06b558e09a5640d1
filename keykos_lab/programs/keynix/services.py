"""The system domain's services: one handler per order a process's keeper sends.

A keeper calls the system domain (:mod:`.server`) through its facet (databyte = its
pid) with an ``S_*`` order, integers and a payload packed as :func:`.abi.pack` packs a
trap, and the keys the order names. The answer's rc is an errno (0: done); values come
back in the string, packed the same way. Open files travel as node keys the keeper keeps
in its fd table and passes back; each is checked (:func:`.server.valid_of`) before use.

``S_READ`` of an empty pipe and ``S_WAIT`` with no child ended yet do not answer: the
system domain keeps the keeper's resume key and answers it later (a writer's
``S_WRITE``, a child's ``S_EXIT``, a signal) — the keeper waits, holding its process's
fault key.

>>> sorted(h for h in HANDLERS if h < 300) == list(range(19))
True
"""

from __future__ import annotations

from keykos_lab.kernel.keys import DK0
from keykos_lab.kernel.oc import Node
from keykos_lab.kernel.process import parse_image
from keykos_lab.programs.keynix import abi, fs, layers, pipe
from keykos_lab.programs.keynix import server as s


def _answer(dom, msg, err: int = 0, *ints: int, keys=(), payload: bytes = b""):
    yield dom.return_(msg.resume, err, keys=keys, data=abi.pack(*ints, payload=payload))


def open_(dom, msg, pid, ints, payload):
    """``S_OPEN(flags; path)``: an open file (key 0) or an errno. The flags are checked
    once (:func:`.abi.open_mode`) and the open file keeps the checked value. A new name
    goes only in a directory the caller may add to (``fs.PUBLIC``, or euid 0: EACCES);
    the inode bought for it is sold back if the name cannot be added."""
    err, flags = abi.open_mode(ints[0] if ints else 0)
    if err:
        yield from _answer(dom, msg, err)
        return
    node = yield from s.proc_node(dom, pid)
    _, _, euid, _, _ = yield from s.table_entry(dom, pid)
    root = yield from s.slot(dom, node, s.P_ROOT)
    err, inode, parent, name = yield from fs.lookup(dom, root, payload, euid)
    if err == abi.ENOENT and flags & abi.O_CREAT and parent != DK0:
        err = 0 if (yield from fs.may_add(dom, parent, euid)) else abi.EACCES
        if not err:
            err, inode = yield from fs.create(
                dom, dom.keys[s.K_BANK], dom.keys[s.K_FORMAT], parent, name
            )
    if not err:
        kind, mode, _ = yield from fs.stat(dom, inode)
        if kind == fs.DIR:
            err = abi.EISDIR
        elif mode & fs.PRIVILEGED and euid != 0:
            err = abi.EACCES
        elif abi.writes(flags) and (mode & fs.READONLY or kind != fs.FILE):
            err = abi.EACCES
    if err:
        yield from _answer(dom, msg, err)
        return
    if flags & abi.O_TRUNC:
        yield from fs.truncate(dom, inode)
    of = yield from s.new_open_file(dom, inode, s.OF_FILE, flags)
    yield from _answer(dom, msg, abi.ENOSPC if of == DK0 else 0, keys=(of,))


def _on_open_file(dom, msg, action):
    """Run ``action(dom, of)`` on the open file whose token the keeper passed (checked:
    ``EBADF`` for anything else), then answer."""
    fields, of = yield from s.valid_of(dom, msg.keys[0])
    if fields is None:
        yield from _answer(dom, msg, abi.EBADF)
        return
    yield from action(dom, of)
    yield from _answer(dom, msg)


def release(dom, msg, pid, ints, payload):
    """``S_RELEASE(; of)``: a descriptor closed."""
    yield from _on_open_file(dom, msg, s.release)


def add_ref(dom, msg, pid, ints, payload):
    """``S_ADDREF(; of)``: one more descriptor (``dup``, ``fork``) shares it."""
    yield from _on_open_file(dom, msg, s.add_ref)


def read(dom, msg, pid, ints, payload):
    """``S_READ(n; of)``: up to ``n`` bytes in the answer's payload; an empty pipe with a
    writer keeps the caller waiting (its resume key in its per-pid node)."""
    n = ints[0] if ints else -1
    fields, of = yield from s.valid_of(dom, msg.keys[0])
    if fields is None or fields[0] == s.OF_PIPE_W or not abi.reads(fields[1]):
        yield from _answer(dom, msg, abi.EBADF)
        return
    if not 0 <= n <= abi.BUF_SIZE:
        yield from _answer(dom, msg, abi.EINVAL)
        return
    kind, _, _, offset = fields
    obj = yield from s.slot(dom, of, s.OF_OBJ)
    if kind == s.OF_FILE:
        data = yield from fs.file_read(dom, obj, offset, n)
        yield from s.of_set(dom, of, 3, offset + len(data))
        yield from _answer(dom, msg, payload=data)
        return
    head = yield from pipe.header(dom, obj)
    if head[1] == 0 and head[3] > 0:  # empty, a writer is open: wait
        if (yield from pipe.waiter(dom, obj)) != DK0:  # another reader waits (a live one)
            yield from _answer(dom, msg, abi.EAGAIN)
            return
        yield dom.call(obj, Node.Swap + pipe.WAITER, msg.resume)
        page = yield from pipe.ring(dom, obj)
        yield from fs.put_ints(dom, page, pipe.WPID, pid, 0, n)
        yield dom.return_(DK0)
        return
    yield from _answer(dom, msg, payload=(yield from pipe.take(dom, obj, n)))


def write(dom, msg, pid, ints, payload):
    """``S_WRITE(; of, data)``: the count written (int 0). A pipe with no reader: the
    writer gets SIGPIPE, whose default action ends it (:mod:`.signals`)."""
    from keykos_lab.programs.keynix import signals

    fields, of = yield from s.valid_of(dom, msg.keys[0])
    if fields is None or fields[0] == s.OF_PIPE_R or not abi.writes(fields[1]):
        yield from _answer(dom, msg, abi.EBADF)
        return
    kind, flags, _, offset = fields
    obj = yield from s.slot(dom, of, s.OF_OBJ)
    if kind == s.OF_FILE:
        _, mode, size = yield from fs.stat(dom, obj)
        if mode & fs.READONLY:  # made READONLY since it was opened: no process writes it
            yield from _answer(dom, msg, abi.EACCES)
            return
        if flags & abi.O_APPEND:
            offset = size
        rc = yield from fs.file_write(dom, obj, dom.keys[s.K_BANK], offset, payload)
        if rc > 0:
            yield from s.of_set(dom, of, 3, offset + rc)
    else:
        rc = yield from pipe.put(dom, obj, payload)
        if rc == -abi.EPIPE:
            ended = yield from signals.deliver(dom, pid, abi.SIGPIPE)
            if ended:
                yield dom.return_(DK0)  # the caller is gone with its bank
                return
        if rc > 0:
            yield from s.wake_reader(dom, obj)
    yield from _answer(dom, msg, -rc if rc < 0 else 0, max(rc, 0))


def pipe_(dom, msg, pid, ints, payload):
    """``S_PIPE``: a read end and a write end (keys 0 and 1)."""
    bank = dom.keys[s.K_BANK]
    p = yield from pipe.new_pipe(dom, bank)
    r = DK0 if p == DK0 else (yield from s.new_open_file(dom, p, s.OF_PIPE_R, abi.O_RDONLY))
    w = DK0 if r == DK0 else (yield from s.new_open_file(dom, p, s.OF_PIPE_W, abi.O_WRONLY))
    if w == DK0:  # no room: sell what was made
        if r != DK0:
            yield from s.release(dom, (yield from s.valid_of(dom, r))[1])
        elif p != DK0:
            yield from pipe.free_pipe(dom, bank, p)
        yield from _answer(dom, msg, abi.ENOSPC)
        return
    yield from _answer(dom, msg, keys=(r, w))


def newproc(dom, msg, pid, ints, payload):
    """``S_NEWPROC(root)``: an embryo child of the caller (same euid; the caller's root
    directory if ``root`` is 1, none for an empty child): its pid (int 0) and a start
    key to its keeper's parent facet (key 0)."""
    cpid = yield from s.alloc_pid(dom)
    _, _, euid, _, _ = yield from s.table_entry(dom, pid)
    err, parent = (
        (abi.EAGAIN, DK0) if not cpid else (yield from s.new_process(dom, cpid, pid, euid))
    )
    if not err and ints and ints[0] == 1:
        root = yield from s.slot(dom, (yield from s.proc_node(dom, pid)), s.P_ROOT)
        yield dom.call((yield from s.proc_node(dom, cpid)), Node.Swap + s.P_ROOT, root)
    yield from _answer(dom, msg, err, cpid, keys=(parent,))


def program_text(dom, root, path: bytes, euid: int = 0):
    """``(errno, read-only page key, mode)`` of the program file at ``path``, as ``euid``
    may run it: a PRIVILEGED file (or one behind a PRIVILEGED directory) only for euid 0.
    The mode's SETUID bit is kept only with READONLY: a file no process can have written
    since the operator set its bits (``fs.READONLY``)."""
    err, inode, _, _ = yield from fs.lookup(dom, root, path, euid)
    if err:
        return err, DK0, 0
    kind, mode, _ = yield from fs.stat(dom, inode)
    if kind == fs.DIR or mode & fs.PRIVILEGED and euid != 0:
        return abi.EACCES, DK0, 0
    page = yield from s.slot(dom, inode, 0)
    if kind != fs.FILE or page == DK0:
        return abi.ENOEXEC, DK0, 0
    head = yield from fs.read_page(dom, page, 0, 64)
    if parse_image(head) is None:
        return abi.ENOEXEC, DK0, 0
    from keykos_lab.kernel.oc import Page

    if not mode & fs.READONLY:
        mode &= ~fs.SETUID
    return 0, (yield dom.call(page, Page.MakeReadOnlyKey)).keys[0], mode


def text(dom, msg, pid, ints, payload):
    """``S_TEXT(; path)``: a read-only key to a program's image (key 0), its mode (int 0)."""
    root = yield from s.slot(dom, (yield from s.proc_node(dom, pid)), s.P_ROOT)
    _, _, euid, _, _ = yield from s.table_entry(dom, pid)
    err, page, mode = yield from program_text(dom, root, payload, euid)
    yield from _answer(dom, msg, err, mode, keys=(page,))


def started(dom, msg, pid, ints, payload):
    """``S_STARTED(cpid)``: the caller's embryo child is running."""
    cpid = ints[0] if ints else 0
    st, ppid, euid = s.FREE, 0, 0
    if 0 < cpid <= abi.MAX_PROCS:
        st, ppid, euid, _, _ = yield from s.table_entry(dom, cpid)
    if st != s.EMBRYO or ppid != pid:
        yield from _answer(dom, msg, abi.ESRCH)
        return
    yield from s.set_entry(dom, cpid, s.RUNNING, ppid, euid)
    yield from _answer(dom, msg)


def wait(dom, msg, pid, ints, payload):
    """``S_WAIT(pid or -1)``: ``(pid, status)`` of an ended child, now or when one ends."""
    want = ints[0] if ints else -1
    raw = yield from fs.read_page(dom, dom.keys[s.K_TABLE], 0, abi.PAGE)
    children = [
        c
        for c in range(1, abi.MAX_PROCS + 1)
        if raw[c * 16] != s.FREE and raw[c * 16 + 1] == pid and want in (-1, c)
    ]
    for c in children:
        if raw[c * 16] == s.ZOMBIE:
            status = int.from_bytes(raw[c * 16 + 4 : c * 16 + 8], "big", signed=True)
            yield from s.set_entry(dom, c, s.FREE, 0, 0)
            yield from _answer(dom, msg, 0, c, status)
            return
    if not children:
        yield from _answer(dom, msg, abi.ECHILD)
        return
    node = yield from s.proc_node(dom, pid)
    yield dom.call(node, Node.Swap + s.P_WAITKEY, msg.resume)
    state, ppid, euid, status, _ = yield from s.table_entry(dom, pid)
    yield from s.set_entry(dom, pid, state, ppid, euid, status, s.WAIT_ANY if want < 0 else want)
    yield dom.return_(DK0)


def exit_(dom, msg, pid, ints, payload):
    """``S_EXIT(status)``: the caller's process ends (wait status ``status``); the caller
    itself is destroyed with the process's bank, so nothing answers."""
    yield from s.terminate(dom, pid, ints[0] if ints else 0)
    yield dom.return_(DK0)


def geteuid(dom, msg, pid, ints, payload):
    yield from _answer(dom, msg, 0, (yield from s.table_entry(dom, pid))[2])


def seteuid0(dom, msg, pid, ints, payload):
    """``S_SETEUID0``: exec of a ``SETUID`` file (the Unix way, for the contrast)."""
    state, ppid, _, status, waitfor = yield from s.table_entry(dom, pid)
    yield from s.set_entry(dom, pid, state, ppid, 0, status, waitfor)
    yield from _answer(dom, msg)


def run(dom, msg, pid, ints, payload):
    """``S_RUN(; path, arg; bank, meter)``: a setuid command (:mod:`.setuid`)."""
    from keykos_lab.programs.keynix.setuid import run_command

    yield from run_command(dom, msg, pid, payload)


def kill(dom, msg, pid, ints, payload):
    """``S_KILL(pid, sig)``: :func:`.signals.kill`."""
    from keykos_lab.programs.keynix import signals

    yield from signals.kill(dom, msg, pid, ints)


def state(dom, msg, pid, ints, payload):
    """``S_STATE(pid)``: ``(state, ppid, euid)`` of a pid (0s if out of range)."""
    target = ints[0] if ints else 0
    if not 0 < target <= abi.MAX_PROCS:
        yield from _answer(dom, msg, 0, s.FREE, 0, 0)
        return
    st, ppid, euid, _, _ = yield from s.table_entry(dom, target)
    yield from _answer(dom, msg, 0, st, ppid, euid)


def fstat(dom, msg, pid, ints, payload):
    """``S_FSTAT(; of)``: kind, flags of an open file (checked)."""
    fields, _ = yield from s.valid_of(dom, msg.keys[0])
    yield from _answer(dom, msg, abi.EBADF if fields is None else 0, *(fields or ()))


def cow_fork(dom, msg, pid, ints, payload):
    """``S_COWFORK(cpid, how)``: :func:`.cow.cow_fork`."""
    from keykos_lab.programs.keynix import cow

    yield from cow.cow_fork(dom, msg, pid, ints, payload)


def new_layer(dom, msg, pid, ints, payload):
    """``S_NEWLAYER``: ``exec``'s fresh memory: the caller's layer is released (gone
    unless a copy-on-write child still reads it) and a new one made, its bank (key 0)
    for the keeper to buy the new address space from (:mod:`.layers`)."""
    node = yield from s.proc_node(dom, pid)
    layer, bank = yield from layers.new_layer(dom, dom.keys[s.K_BANK])
    if node == DK0 or layer == DK0:
        yield from layers.release(dom, dom.keys[s.K_BANK], layer)
        yield from _answer(dom, msg, abi.ENOMEM)
        return
    old = yield from s.slot(dom, node, s.P_LAYER)
    yield dom.call(node, Node.Swap + s.P_LAYER, layer)
    yield from layers.release(dom, dom.keys[s.K_BANK], old)
    yield from _answer(dom, msg, keys=(bank,))


HANDLERS = {
    s.S_COWFORK: cow_fork,
    s.S_NEWLAYER: new_layer,
    s.S_OPEN: open_,
    s.S_RELEASE: release,
    s.S_ADDREF: add_ref,
    s.S_READ: read,
    s.S_WRITE: write,
    s.S_PIPE: pipe_,
    s.S_NEWPROC: newproc,
    s.S_TEXT: text,
    s.S_STARTED: started,
    s.S_WAIT: wait,
    s.S_EXIT: exit_,
    s.S_GETEUID: geteuid,
    s.S_SETEUID0: seteuid0,
    s.S_RUN: run,
    s.S_KILL: kill,
    s.S_STATE: state,
    s.S_FSTAT: fstat,
}


def _dirs() -> dict:
    from keykos_lab.programs.keynix import dirs

    return dict(dirs.SERVICES)


HANDLERS.update(_dirs())


def _threads() -> dict:
    from keykos_lab.programs.keynix import threads

    return dict(threads.SERVICES)


HANDLERS.update(_threads())
