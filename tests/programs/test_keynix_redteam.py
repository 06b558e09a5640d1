"""KeyNIX red team 2: one regression test per finding (``rtNN``), each the finding's
reproduction turned into an assertion of the fixed behaviour."""

from __future__ import annotations

from keykos_lab import analysis
from keykos_lab.analysis.keynix import analysis_view, processes, register_target, slot_target
from keykos_lab.kernel import oc
from keykos_lab.kernel.process import image_bytes
from keykos_lab.programs.keynix import abi, fs
from keykos_lab.programs.keynix import libc as c
from keykos_lab.programs.keynix.keeper import KK_MEM
from keykos_lab.scenarios.keynix import SECRET
from keykos_lab.system.keynix import KeyNIX, install_setuid


def _link(knx, name, mode=fs.READONLY):
    knx.write_file(f"/bin/{name}", image_bytes(c.UNIX_PREFIX + name), mode=mode)


def _sanity(knx):
    before = knx.tty()
    pid = knx.spawn("/bin/sh", ["sh", "-c", "echo ok | cat"])
    knx.run()
    return knx.tty()[len(before) :], knx.status(pid)


def _bank(knx):
    """(nodes, pages) KeyNIX's bank has sold and not had back."""
    out = []
    for order in (oc.SB.QueryNodeStatistics, oc.SB.QueryPageStatistics):
        d = knx.con.call(knx.bank, order).data
        out.append(int.from_bytes(d[:4], "big") - int.from_bytes(d[4:8], "big"))
    return tuple(out)


def _procs(knx, G):
    return {p: (d, k) for p, d, k in processes(G, knx.con.target(knx.system))}


def _memory_holds(knx, G, keeper, data):
    store = knx.kernel.store.objects
    space = register_target(G, keeper, KK_MEM)
    pages = (slot_target(G, space, n) for n in range(1, abi.SPACE_PAGES))
    return any(p is not None and data in store[p].read(0, abi.PAGE) for p in pages)


# ------------------------------------------------------------------ rt01, rt02
@c.unix_program("trt-rowrite")
def _rowrite(dom, argv, forked):
    results = []
    for flags in (3 | abi.O_TRUNC, 3, abi.O_WRONLY, abi.O_RDWR | abi.O_TRUNC):
        fd = yield from c.open_(dom, "/bin/cat", flags)
        w = (yield from c.write(dom, fd, b"owned")) if fd >= 0 else fd
        results.append(f"{fd},{w}")
    fd = yield from c.open_(dom, "/tmp/w", abi.O_CREAT | 3)
    results.append(str(fd))
    yield from c.write(dom, 1, " ".join(results) + "\n")
    return 0


def test_rt01_access_mode_3_does_not_write_a_readonly_file():
    """rt01: ``open`` tested ``flags & 3 in (O_WRONLY, O_RDWR)``, so access mode 3 passed
    the READONLY check while ``O_TRUNC`` and ``write`` took it for writing: a euid-100
    process overwrote ``/bin/cat``. Access mode 3 is now EINVAL, for every file."""
    knx = KeyNIX()
    cat = knx.read_file("/bin/cat")
    _link(knx, "trt-rowrite")
    knx.spawn("/bin/trt-rowrite", ["trt-rowrite"], euid=100)
    knx.run()
    einval, eacces = -abi.EINVAL, -abi.EACCES
    expect = f"{einval},{einval} {einval},{einval} {eacces},{eacces} {eacces},{eacces} {einval}\n"
    assert knx.tty().decode() == expect
    assert knx.read_file("/bin/cat") == cat
    assert _sanity(knx) == (b"ok\n", ("zombie", 0))


@c.unix_program("trt-root")
def _trt_root(dom, argv, forked):
    if len(argv) > 1 and argv[1] == b"stage2":
        euid = yield from c.syscall(dom, abi.SYS_GETEUID)
        yield from c.write(dom, 1, f"stage2 euid={euid}\n")
        return 0
    fd = yield from c.open_(dom, "/sbin/checkpw", 3 | abi.O_TRUNC)
    if fd < 0:
        fd = yield from c.open_(dom, "/sbin/checkpw", abi.O_WRONLY | abi.O_TRUNC)
    yield from c.write(dom, 1, f"open={fd}\n")
    if fd >= 0:
        yield from c.write(dom, fd, image_bytes("unix:trt-root"))
        yield from c.close(dom, fd)
    yield from c.exec_(dom, "/sbin/checkpw", [b"checkpw", b"stage2"])
    return 1


@c.unix_program("trt-setuid-tmp")
def _trt_setuid_tmp(dom, argv, forked):
    euid = yield from c.syscall(dom, abi.SYS_GETEUID)
    yield from c.write(dom, 1, f"euid={euid}\n")
    return 0


def test_rt02_setuid_needs_a_readonly_file_no_process_can_change():
    """rt02: with rt01 a euid-100 process overwrote the READONLY|SETUID ``/sbin/checkpw``
    with its own image and exec'd it: euid 0 for the attacker's code. The file cannot be
    written now, and SETUID is honoured only together with READONLY (bits only the
    operator sets): a SETUID file a process could write never gives euid 0."""
    knx = KeyNIX()
    install_setuid(knx)
    _link(knx, "trt-root")
    knx.spawn("/bin/trt-root", ["trt-root"], euid=100)
    knx.run()
    out = knx.tty().decode()
    assert "stage2" not in out and f"open={-abi.EACCES}" in out
    # a SETUID file that is not READONLY: its text may be anyone's
    knx = KeyNIX()
    knx.write_file("/tmp/su", image_bytes("unix:trt-setuid-tmp"), mode=fs.SETUID)
    knx.spawn("/bin/sh", ["sh", "-c", "/tmp/su"], euid=100)
    knx.run()
    assert knx.tty() == b"euid=100\n"


# ------------------------------------------------------------------------ rt14
@c.unix_program("trt-plant")
def _trt_plant(dom, argv, forked):
    mode = argv[1] if len(argv) > 1 else b""
    if mode == b"plant":
        for path in ("/bin/newtool", "/etc/x", "/dev/x", "/tmp/x", "/home/x"):
            fd = yield from c.open_(dom, path, abi.O_CREAT | abi.O_WRONLY)
            yield from c.write(dom, 1, f"{path}={fd}\n")
        return 0
    if mode == b"swap":
        fd = yield from c.open_(dom, "/bin/newtool", abi.O_WRONLY | abi.O_TRUNC)
        yield from c.write(dom, 1, f"swap={fd}\n")
        return 0
    yield from c.write(dom, 1, b"attacker's code\n")
    return 0


@c.unix_program("trt-tool")
def _trt_tool(dom, argv, forked):
    yield from c.write(dom, 1, b"the real tool\n")
    return 0


def test_rt14_no_user_plants_a_program_root_runs():
    """rt14: every directory took ``O_CREAT`` from any user, and the operator's
    ``write_file`` on an existing path kept the old inode's mode: a euid-100 user made
    ``/bin/newtool``, the operator "linked" it READONLY, the user overwrote it and root
    ran the user's code. /bin, /dev, /etc (and /sbin) now take new names from euid 0
    only (EACCES), and ``write_file`` sets the mode of an existing file too."""
    knx = KeyNIX()
    _link(knx, "trt-plant")
    knx.spawn("/bin/trt-plant", ["trt-plant", "plant"], euid=100)
    knx.run()
    made = dict(line.split("=") for line in knx.tty().decode().split())
    assert made == {
        "/bin/newtool": str(-abi.EACCES),
        "/etc/x": str(-abi.EACCES),
        "/dev/x": str(-abi.EACCES),
        "/tmp/x": "3",
        "/home/x": "4",
    }
    # the operator's write_file on a file a user made: the mode is the operator's
    knx.write_file("/tmp/x", image_bytes("unix:trt-tool"), mode=fs.READONLY)
    before = knx.tty()
    knx.spawn("/bin/sh", ["sh", "-c", "echo x > /tmp/x"], euid=100)
    knx.run()
    assert knx.read_file("/tmp/x") == image_bytes("unix:trt-tool"), knx.tty()[len(before) :]
    # and root can still make files anywhere
    knx.spawn("/bin/trt-plant", ["trt-plant", "plant"], euid=0)
    knx.run()
    knx.write_file("/bin/newtool", image_bytes("unix:trt-tool"), mode=fs.READONLY)
    before = knx.tty()
    knx.spawn("/bin/trt-plant", ["trt-plant", "swap"], euid=100)
    knx.run()
    knx.spawn("/bin/newtool", ["newtool"], euid=0)
    knx.run()
    assert knx.tty()[len(before) :] == f"swap={-abi.EACCES}\nthe real tool\n".encode()


# ------------------------------------------------------------------------ rt07
@c.unix_program("trt-victim")
def _victim(dom, argv, forked):
    r, w = yield from c.pipe(dom)
    cat = yield from c.spawn(dom, "/bin/cat", [b"cat"], {0: r, 1: 1})
    yield from c.read(dom, 0, 64)
    yield from c.kill(dom, cat, abi.SIGTERM)
    yield from c.wait(dom, cat)
    yield from c.read(dom, 0, 64)
    yield from c.write(dom, w, b"victim's secret 42")
    yield from c.read(dom, 0, 64)
    return 0


@c.unix_program("trt-thief")
def _thief(dom, argv, forked):
    r, w = yield from c.pipe(dom)
    n, data = yield from c.read(dom, r)
    yield from c.write(dom, 1, f"thief read {n}: ".encode() + data + b"\n")
    return 0


def test_rt07_a_reused_pid_does_not_get_a_dead_readers_pipe_data():
    """rt07: a pipe remembered its waiting reader by pid; a killed reader's pid was
    reused by another user's process, whose next blocking read was answered with the
    old pipe's data. The pipe now keeps the waiting reader's resume key itself."""
    knx = KeyNIX()
    _link(knx, "trt-victim")
    _link(knx, "trt-thief")
    knx.spawn("/bin/trt-victim", ["trt-victim"], euid=100)
    knx.run()
    knx.type("go\n")
    knx.run()
    t = knx.spawn("/bin/trt-thief", ["trt-thief"], euid=200)
    knx.run()
    assert t == 2  # the killed cat's pid
    knx.type("go\n")
    knx.run()
    assert b"secret" not in knx.tty()
    assert knx.status(t)[0] == "running"  # still waiting on its own pipe


# ------------------------------------------------------------- rt03, rt12, rt08
@c.unix_program("trt-pparent")
def _pparent(dom, argv, forked):
    fd = yield from c.open_(dom, "/home/secret")
    _, data = yield from c.read(dom, fd)
    yield from c.close(dom, fd)
    r, w = yield from c.pipe(dom)
    pid = yield from c.create(dom)
    yield from c.install_fd(dom, pid, 0, r)
    yield from c.install_program(dom, pid, "/bin/trt-pchild")
    yield from c.start(dom, pid, [b"trt-pchild"])
    yield from c.write(dom, w, data)
    yield dom.write(abi.DATA, bytes(abi.PAGE))
    yield from c.wait(dom, pid)
    return 0


@c.unix_program("trt-pchild")
def _pchild(dom, argv, forked):
    n, data = yield from c.read(dom, 0)
    yield dom.write(abi.DATA, data)
    yield from c.read(dom, 0)
    return 0


def _the_view_sees_the_secret_reach_the_child(parent: str, child_program: str) -> KeyNIX:
    """Run ``parent`` (which hands the secret to an empty child running
    ``child_program``), check the child's keeper really holds the secret in the child's
    memory, and that the view lets it flow from the secret's page to the child."""
    knx = KeyNIX()
    knx.write_file("/home/secret", SECRET)
    _link(knx, parent)
    _link(knx, child_program)
    ppid = knx.spawn(f"/bin/{parent}", [parent])
    knx.run()
    G = knx.kernel.capability_graph()
    child, keeper = _procs(knx, G)[ppid + 1]
    assert _memory_holds(knx, G, keeper, SECRET)
    V = analysis_view(knx, G)
    page = slot_target(G, knx.con.target(knx.inode("/home/secret")), 0)
    assert analysis.can_flow(V, page, child)
    return knx


def test_rt03_the_view_sees_pipes():
    """rt03: the analysis view dropped every pipe (its ring page is held by the system
    domain alone): an empty child read the secret from a pipe, yet
    ``can_flow(view, secret page, child)`` was False. A descriptor now grants its
    keeper the pipe's ring page (read end: read; write end: write only)."""
    _the_view_sees_the_secret_reach_the_child("trt-pparent", "trt-pchild")


@c.unix_program("trt-fparent")
def _fparent(dom, argv, forked):
    fd = yield from c.open_(dom, "/home/secret")
    pid = yield from c.create(dom)
    yield from c.install_fd(dom, pid, 0, 0)
    yield from c.install_fd(dom, pid, 3, fd)
    yield from c.close(dom, fd)
    yield from c.install_program(dom, pid, "/bin/trt-fchild")
    yield from c.start(dom, pid, [b"trt-fchild"])
    yield from c.wait(dom, pid)
    return 0


@c.unix_program("trt-fchild")
def _fchild(dom, argv, forked):
    n, data = yield from c.read(dom, 3)
    yield dom.write(abi.DATA, data)
    yield from c.read(dom, 0, 8)
    return 0


def test_rt12_the_view_sees_descriptors_passed_to_an_empty_child():
    """rt12: the view granted files only along a process's root directory; an empty
    child (no root) given a descriptor of ``/home/secret`` read it, yet
    ``can_flow(view, secret page, child)`` was False. Every descriptor in a keeper's fd
    table now grants its file, as its flags allow."""
    knx = _the_view_sees_the_secret_reach_the_child("trt-fparent", "trt-fchild")
    knx.type("x\n")
    knx.run()


@c.unix_program("trt-ro8")
def _ro8(dom, argv, forked):
    yield from c.read(dom, 0, 8)
    fd = yield from c.open_(dom, "/bin/cat", int(argv[1]))
    yield from c.write(dom, fd, b"ATTACKER WAS HERE")
    return 0


def test_rt08_the_view_agrees_with_the_kernel_on_readonly_files():
    """rt08: the view gave every keeper a read-only key to a READONLY file, yet the
    kernel let a euid-100 process write one (rt01). Checked for each access mode: where
    the kernel lets the bytes reach the file, the view must say they can flow."""
    for flags in (3, abi.O_WRONLY, abi.O_RDWR):
        for euid in (100, 0):
            knx = KeyNIX()
            _link(knx, "trt-ro8")
            pid = knx.spawn("/bin/trt-ro8", ["trt-ro8", str(flags)], euid=euid)
            knx.run()
            G = knx.kernel.capability_graph()
            V = analysis_view(knx, G)
            attacker = _procs(knx, G)[pid][0]
            cat_page = slot_target(G, knx.con.target(knx.inode("/bin/cat")), 0)
            view = analysis.can_flow(V, attacker, cat_page)
            knx.type("go\n")
            knx.run()
            written = knx.read_file("/bin/cat").startswith(b"ATTACKER")
            assert view or not written, (flags, euid)


# ------------------------------------------------------------------------ rt11
def test_rt11_one_exit_does_not_close_the_terminal():
    """rt11: each operator spawn opened a read end on the terminal's pipe without
    counting it, while its close lowered the count: after any one terminal process
    ended, typing failed with EPIPE though a cat waited for input."""
    knx = KeyNIX()
    knx.spawn("/bin/echo", ["echo", "first"])
    knx.run()
    cat = knx.spawn("/bin/cat", ["cat"])
    knx.run()
    knx.type("hello\n")
    knx.run()
    assert knx.tty() == b"first\nhello\n"
    knx.eof()
    knx.run()
    assert knx.status(cat) == ("zombie", 0)


# ------------------------------------------------------------------ rt04, rt09
@c.unix_program("trt-oc")
def _trt_oc(dom, argv, forked):
    n, what = int(argv[1]), argv[2]
    for i in range(n):
        if what == b"open":
            fd = yield from c.open_(dom, "/bin/cat")
            yield from c.close(dom, fd)
        elif what == b"pipe":
            r, w = yield from c.pipe(dom)
            yield from c.write(dom, w, b"x")
            yield from c.close(dom, r)
            yield from c.close(dom, w)
        else:
            fd = yield from c.open_(dom, f"/tmp/{what.decode()}{i}", abi.O_CREAT | abi.O_WRONLY)
            if fd >= 0:
                yield from c.close(dom, fd)
    return 0


def _growth(knx, what, n):
    before = _bank(knx)
    knx.spawn("/bin/trt-oc", ["trt-oc", str(n), what])
    knx.run()
    after = _bank(knx)
    return after[0] - before[0], after[1] - before[1]


def test_rt04_open_close_and_pipe_close_do_not_leak():
    """rt04: every open and pipe bought nodes and a page from the shared bank that close
    never sold back: an open/close loop (or a pipe/close loop) grew it without bound.
    The last close now sells the open file, and a pipe with no end left."""
    knx = KeyNIX()
    _link(knx, "trt-oc")
    for what in ("open", "pipe"):
        _growth(knx, what, 0)  # per-pid nodes and the like, bought once
        assert _growth(knx, what, 12) == _growth(knx, what, 0), what
    assert _sanity(knx) == (b"ok\n", ("zombie", 0))


def test_rt09_a_failed_creat_does_not_leak_its_inode():
    """rt09: ``open(O_CREAT)`` bought the new inode before adding its name; once the
    directory was full each ENOSPC kept the inode it bought."""
    knx = KeyNIX()
    _link(knx, "trt-oc")
    knx.spawn("/bin/trt-oc", ["trt-oc", "14", "f"])  # fills /tmp's 14 slots
    knx.run()
    _growth(knx, "new", 0)
    assert _growth(knx, "new", 10) == _growth(knx, "new", 0)


# ------------------------------------------------------------------ rt06, rt10
@c.unix_program("trt-orphan")
def _trt_orphan(dom, argv, forked):
    if forked == 5:
        for _ in range(3):
            r, w = yield from c.pipe(dom)
            if r < 0 or (yield from c.spawn(dom, "/bin/cat", [b"cat"], {0: r})) < 0:
                break
            yield from c.close(dom, r)
        return 0
    for _ in range(int(argv[1])):
        pid = yield from c.fork(dom, 5)
        if pid < 0:
            break
        yield from c.wait(dom, pid)
    return 0


def test_rt06_orphans_are_reaped_when_they_end():
    """rt06: a process that outlived its parent became, when it ended, a zombie nobody
    could reap; a user leaked one pid per orphan until no process could be made. Orphans
    are now reaped when they end, as init would."""
    knx = KeyNIX()
    _link(knx, "trt-orphan")
    pid = knx.spawn("/bin/trt-orphan", ["trt-orphan", "4"])
    knx.run()
    assert knx.status(pid) == ("zombie", 0)
    left = [p for p in range(1, 40) if p != pid and knx.status(p)[0] != "free"]
    assert left == []
    assert _sanity(knx) == (b"ok\n", ("zombie", 0))


@c.unix_program("trt-embryos")
def _trt_embryos(dom, argv, forked):
    for _ in range(int(argv[1])):
        yield from c.create(dom)
    return 0


def test_rt10_orphaned_embryos_are_destroyed():
    """rt10: empty children whose parent ended before starting them stayed embryos for
    ever, with their banks, keepers and memory: each round leaked pids and storage. They
    are now destroyed when their parent ends."""
    knx = KeyNIX()
    _link(knx, "trt-embryos")
    growth = []
    for n in (0, 5, 5):
        before = _bank(knx)
        knx.spawn("/bin/trt-embryos", ["trt-embryos", str(n)])
        knx.run()
        after = _bank(knx)
        growth.append((after[0] - before[0], after[1] - before[1]))
        assert not [p for p in range(1, 40) if knx.status(p)[0] == "embryo"]
    # at most a per-pid node for each pid not used before (kept for reuse), and no page
    # (the first round buys the tables' nodes once)
    assert all(nodes <= 6 and pages == 0 for nodes, pages in growth[1:]), growth


@c.unix_program("trt-grow")
def _trt_grow(dom, argv, forked):
    if forked is None:  # the parent: fork (copy-on-write, or not at all) and report
        if argv[1] == b"fork":
            pid = yield from c.fork(dom, 9)
            _, status = yield from c.wait(dom, pid)
            yield from c.write(dom, 1, f"{abi.shell_status(status)}\n")
            return 0
    for i in range(100):
        yield dom.write((i + 1) * (1 << 24), b"x")  # 16 MiB apart, far past the pages
    r, _ = yield from c.pipe(dom)
    yield from c.read(dom, r, 8)  # (if it got here) hold it all: block on my own pipe
    return 0


def _live_objects(knx):
    return sum(1 for o in knx.kernel.store.objects if o is not None)


def test_rt13_a_forked_process_is_bounded_like_an_unforked_one():
    """rt13: after a copy-on-write fork a process's memory was a virtual copy segment
    that grew to any address written, buying from an unlimited sub-bank (100 writes
    16 MiB apart: ~500 kernel objects), where a never-forked process gets SIGSEGV past
    its ``SPACE_PAGES`` pages. A forked process's address space is now the same size:
    the first write past it is SIGSEGV (139), and nothing is bought."""
    knx = KeyNIX()
    _link(knx, "trt-grow")
    knx.spawn("/bin/trt-grow", ["trt-grow", "plain"])
    knx.run()
    assert knx.tty() == b""  # the unforked one: SIGSEGV, nothing written
    before = _live_objects(knx)
    pid = knx.spawn("/bin/trt-grow", ["trt-grow", "fork"])
    knx.run()
    assert knx.tty() == b"139\n"  # the forked child: SIGSEGV, as the unforked one
    assert knx.status(pid)[0] != "running"
    assert _live_objects(knx) - before < 20


@c.unix_program("trt-deep")
def _trt_deep(dom, argv, forked):
    if forked is None:
        pid = yield from c.fork(dom, 4)
        _, status = yield from c.wait(dom, pid)
        yield from c.write(dom, 1, f"{abi.shell_status(status)}\n")
        return 0
    if forked == 4:  # the child, its memory a virtual copy: once more, so both layers
        pid = yield from c.fork(dom, 5)
        yield from c.wait(dom, pid)
        if argv[1] == b"deep":
            yield dom.write(1 << 24, b"x")  # would grow (deepen) the VCS's tree
        yield dom.write(abi.BUF, b"hello via BUF\n")
        a = yield from c.syscall(dom, abi.SYS_WRITE, 1, abi.BUF, 14)
        fd = yield from c.open_(dom, "/home/secret")
        b = yield from c.syscall(dom, abi.SYS_READ, fd, abi.DATA, 10)
        got = yield dom.read(abi.DATA, 10)
        yield from c.write(dom, 1, f"write rc={a}; read rc={b}, DATA={bytes(got)!r}\n")
    return 0


def test_rt15_io_after_a_write_past_a_forked_space_is_not_silently_lost():
    """rt15: once a forked process wrote past its pages, its VCS tree deepened and the
    keeper, taking slot n of the memory node for page n (``fs.mem_read``/``mem_write``,
    ``procs.copy_space``), moved nothing for ``write(2)``/``read(2)`` while reporting
    success. The write past the pages is now SIGSEGV (the tree never deepens), and the
    keeper's reads and writes refuse a layout that is not flat (``fs.NotFlat``,
    ``fs.space_fault``) rather than drop data."""
    knx = KeyNIX()
    knx.write_file("/home/secret", b"SECRET-XYZ")
    _link(knx, "trt-deep")
    knx.spawn("/bin/trt-deep", ["trt-deep", "shallow"])
    knx.run()
    assert knx.tty() == b"hello via BUF\nwrite rc=14; read rc=10, DATA=b'SECRET-XYZ'\n0\n"
    knx = KeyNIX()
    knx.write_file("/home/secret", b"SECRET-XYZ")
    _link(knx, "trt-deep")
    knx.spawn("/bin/trt-deep", ["trt-deep", "deep"])
    knx.run()
    assert knx.tty() == b"139\n"
