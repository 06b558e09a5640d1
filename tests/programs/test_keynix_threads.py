"""KeyNIX threads: domains sharing one address space, kept by their process's keeper."""

from __future__ import annotations

from keykos_lab.kernel.oc import KT, Domain, Node
from keykos_lab.programs.keynix import abi
from keykos_lab.programs.keynix import libc as c
from keykos_lab.programs.keynix.layout import KK_THREADS
from keykos_lab.system.keynix import KeyNIX

FLAG, REPLY, COUNTER = abi.DATA, abi.DATA + 64, abi.DATA + 128
SPINS = 400  #: how long a thread waits for a flag before it gives up


def _spin_until(dom, address: int, want: bytes, spins: int = SPINS):
    """Read ``address`` until it holds ``want`` (the other thread runs meanwhile)."""
    for _ in range(spins):
        if (yield dom.read(address, len(want))) == want:
            return True
    return False


def _pause(dom, n: int = SPINS // 4):
    """Let the other threads run a while (the kernel is deterministic)."""
    for _ in range(n):
        yield dom.read(FLAG, 1)


def _say(dom, text: str):
    yield from c.write(dom, 1, text + "\n")


def _run(path: str, *args: str, fork: str = "cow"):
    knx = KeyNIX(fork=fork)
    pid = knx.spawn(path, [path.rsplit("/", 1)[1], *args])
    knx.run()
    return knx, pid


# ------------------------------------------------------------ shared memory
@c.unix_program("t-pingpong")
def t_pingpong(dom, argv, forked):
    """Main writes ``ping``, the thread (started before) answers ``pong`` in memory."""
    tid = yield from c.thread_create(dom, 1, 0)
    yield dom.write(FLAG, b"ping")
    got = yield from _spin_until(dom, REPLY, b"pong")
    rc, status = yield from c.thread_join(dom, tid)
    yield from _say(dom, f"main saw pong={got}; joined {rc} status {status}")
    return 0


@c.thread_entry("t-pingpong", 1)
def pong(dom, arg):
    if not (yield from _spin_until(dom, FLAG, b"ping")):
        return 1
    yield dom.write(REPLY, b"pong")
    return 0


def test_two_threads_see_each_others_writes():
    knx, pid = _run("/bin/t-pingpong")
    assert knx.tty() == b"main saw pong=True; joined 1 status 0\n"
    assert knx.status(pid) == ("zombie", abi.exited(0))


# ------------------------------------------------------------ exit and join
@c.unix_program("t-join")
def t_join(dom, argv, forked):
    """Two threads end with statuses of their own; the process goes on after each."""
    a = yield from c.thread_create(dom, 1, 20)
    b = yield from c.thread_create(dom, 1, 22)
    got = []
    for t in (b, a):
        got.append((yield from c.thread_join(dom, t)))
    me = yield from c.thread_self(dom)
    yield from _say(dom, f"{got} main is thread {me}, still running")
    return 4


@c.thread_entry("t-join", 1)
def add_one(dom, arg):
    yield from _say(dom, f"thread {(yield from c.thread_self(dom))} got {arg}")
    return arg + 1


def test_a_threads_exit_does_not_end_the_process_and_join_returns_its_status():
    knx, pid = _run("/bin/t-join")
    lines = knx.tty().decode().splitlines()
    assert sorted(lines[:2]) == ["thread 1 got 20", "thread 2 got 22"]
    assert lines[2:] == ["[(2, 23), (1, 21)] main is thread 0, still running"]
    assert knx.status(pid) == ("zombie", abi.exited(4))


# ------------------------------------------------------------ the process's exit
@c.unix_program("t-exitall")
def t_exitall(dom, argv, forked):
    """Start a thread that joins me, wait for a line, and exit: the thread ends too."""
    yield from c.thread_create(dom, 1, 0)
    yield from _pause(dom)  # its join reaches the keeper
    yield from c.read(dom, 0, 8)
    return 5


@c.thread_entry("t-exitall", 1)
def join_main(dom, arg):
    yield from c.thread_join(dom, 0)  # the main thread ends only with the process
    yield from _say(dom, "the thread survived its process")
    return 0


def test_the_process_exit_ends_its_threads():
    knx, pid = _run("/bin/t-exitall")
    keeper = knx.process(pid)[1]
    node = knx.con.call(keeper, Domain.GetKey + KK_THREADS).keys[0]
    thread = knx.con.call(node, Node.Fetch + 1).keys[0]
    assert knx.con.call(thread, KT).rc == Domain.AKT  # the thread waits in its join
    knx.type("bye\n")
    knx.run()
    assert knx.status(pid) == ("zombie", abi.exited(5))
    assert knx.tty() == b""
    assert knx.con.call(thread, KT).rc != Domain.AKT  # gone with its process's bank


# ------------------------------------------------------------ hostile arguments
def _errno(rc: int) -> str:
    return abi.errno_name(-rc) if rc < 0 else str(rc)


@c.unix_program("t-threadbad")
def t_threadbad(dom, argv, forked):
    """Bad thread ids, joining myself, one thread too many, malformed calls, two
    joiners and a join cycle: an errno each, and the keeper goes on serving."""
    out = []
    for tid in (-1, 0, 5, 99, 2**31 - 1):
        out.append(_errno((yield from c.thread_join(dom, tid))[0]))
    out.append(_errno((yield from c.syscall(dom, abi.SYS_THREAD_CREATE))))
    out.append(_errno((yield from c.syscall(dom, abi.SYS_THREAD_JOIN))))
    tids = []
    for n in range(8):
        tids.append((yield from c.thread_create(dom, 2, n)))
    out.append(",".join(_errno(t) for t in tids))
    yield dom.write(FLAG, b"go")  # the waiters end
    for t in tids[:7]:
        out.append(_errno((yield from c.thread_join(dom, t))[1]))
    out.append(_errno((yield from c.thread_join(dom, tids[0]))[0]))  # joined already
    out.append(_errno((yield from c.thread_create(dom, 3, 0))))  # a free id again
    yield from _spin_until(dom, REPLY, b"done")
    yield from _say(dom, " ".join(out))
    return 0


@c.thread_entry("t-threadbad", 2)
def waiter(dom, arg):
    yield from _spin_until(dom, FLAG, b"go")
    return arg


@c.thread_entry("t-threadbad", 3)
def prober(dom, arg):
    """Join myself; then thread 2 (joined by thread 4 first) and the cycle 3 ↔ 4."""
    me = yield from c.thread_self(dom)
    mine = _errno((yield from c.thread_join(dom, me))[0])
    other = yield from c.thread_create(dom, 4, me)
    yield from _spin_until(dom, FLAG + 8, b"waiting")
    yield from _pause(dom)  # thread 4 waits to join me
    cycle = _errno((yield from c.thread_join(dom, other))[0])
    yield from _say(dom, f"prober {me}: self {mine}, cycle {cycle}")
    return 0


@c.thread_entry("t-threadbad", 4)
def cycler(dom, arg):
    yield dom.write(FLAG + 8, b"waiting")
    rc, _ = yield from c.thread_join(dom, arg)  # waits until the prober ends
    yield dom.write(REPLY, b"done")
    return rc


def test_hostile_thread_arguments_get_an_errno():
    knx, pid = _run("/bin/t-threadbad")
    first, *rest = knx.tty().decode().splitlines()
    assert first == "prober 1: self EDEADLK, cycle EDEADLK"
    assert [line.split() for line in rest] == [
        [
            "ESRCH",  # -1
            "EDEADLK",  # 0: the main thread joining itself
            *["ESRCH"] * 3,  # a free id, out of range
            "EINVAL",  # create without its arguments
            "ESRCH",  # join without one
            "1,2,3,4,5,6,7,EAGAIN",  # at most 7 threads
            *[str(n) for n in range(7)],  # each waiter's status
            "ESRCH",  # joined already
            "1",  # an id is free again
        ]
    ]
    assert knx.status(pid) == ("zombie", abi.exited(0))


@c.unix_program("t-twojoin")
def t_twojoin(dom, argv, forked):
    """Two threads join thread 1: the second gets EINVAL."""
    first = yield from c.thread_create(dom, 1, 0)
    yield from c.thread_create(dom, 2, first)
    yield from _spin_until(dom, FLAG + 8, b"waiting")
    yield from _pause(dom)  # thread 2's join reaches the keeper
    rc, _ = yield from c.thread_join(dom, first)
    yield dom.write(FLAG, b"go")
    yield from _spin_until(dom, REPLY, b"done")
    yield from _say(dom, f"second joiner: {_errno(rc)}")
    return 0


@c.thread_entry("t-twojoin", 1)
def sleeper(dom, arg):
    yield from _spin_until(dom, FLAG, b"go")
    return 9


@c.thread_entry("t-twojoin", 2)
def joiner(dom, arg):
    yield dom.write(FLAG + 8, b"waiting")
    _, status = yield from c.thread_join(dom, arg)
    yield dom.write(REPLY, b"done" if status == 9 else b"bad!")
    return 0


def test_a_second_joiner_gets_einval():
    knx, pid = _run("/bin/t-twojoin")
    assert knx.tty() == b"second joiner: EINVAL\n"
    assert knx.status(pid) == ("zombie", abi.exited(0))


# ------------------------------------------------------------ exec and fork
@c.unix_program("t-threadexec")
def t_threadexec(dom, argv, forked):
    """A counting thread, then exec: the new program runs alone."""
    yield from c.thread_create(dom, 1, 0)
    yield from c.exec_(dom, b"/bin/echo", [b"echo", b"alone"])
    return 1


@c.thread_entry("t-threadexec", 1)
def counting(dom, arg):
    for n in range(1, 3 * SPINS):
        yield dom.write(COUNTER, bytes([n % 255 + 1]))
    yield from _say(dom, "the thread survived exec")
    return 0


def test_exec_ends_the_other_threads():
    knx, pid = _run("/bin/t-threadexec")
    assert knx.tty() == b"alone\n"
    assert knx.status(pid) == ("zombie", abi.exited(0))


FORKED = 31


@c.unix_program("t-threadfork")
def t_threadfork(dom, argv, forked):
    """After a fork, a thread's write goes to its parent's copy, not the child's."""
    if forked == FORKED:
        fd = (yield dom.read(COUNTER, 1))[0]
        yield from c.read(dom, fd, 1)  # the parent has joined the thread by then
        yield from _say(dom, f"child sees {(yield dom.read(REPLY, 6))!r}")
        return 0
    r, w = yield from c.pipe(dom)
    yield dom.write(COUNTER, bytes([r]))
    tid = yield from c.thread_create(dom, 1, 0)
    yield dom.write(REPLY, b"before")
    child = yield from c.fork(dom, FORKED)
    yield dom.write(FLAG, b"go")  # now the thread writes
    yield from c.thread_join(dom, tid)
    yield from _say(dom, f"parent sees {(yield dom.read(REPLY, 6))!r}")
    yield from c.write(dom, w, b"x")
    yield from c.wait(dom, child)
    return 0


@c.thread_entry("t-threadfork", 1)
def late_writer(dom, arg):
    if (yield from _spin_until(dom, FLAG, b"go", spins=20 * SPINS)):  # fork takes a while
        yield dom.write(REPLY, b"thread")
    return 0


def test_a_threads_writes_after_fork_stay_in_the_parent():
    for fork in ("cow", "copy"):
        knx, pid = _run("/bin/t-threadfork", fork=fork)
        assert knx.tty() == b"parent sees b'thread'\nchild sees b'before'\n", fork
        assert knx.status(pid) == ("zombie", abi.exited(0))
