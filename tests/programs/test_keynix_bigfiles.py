"""KeyNIX files past a page chain: the page tree under an inode (keynix.filetree)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keykos_lab.kernel import oc
from keykos_lab.kernel.process import program
from keykos_lab.kernel.segments import Fault, translate
from keykos_lab.programs.keynix import abi, filetree, fs
from keykos_lab.programs.keynix import libc as c
from keykos_lab.system.keynix import KeyNIX
from keykos_lab.system.recipes import build_domain, start_key

PAGES_0 = abi.FILE_PAGES * abi.PAGE  # 56 KiB: the most a depth-0 file holds
PAGES_1 = filetree.capacity(1)  # 896 KiB


def pattern(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


@c.unix_program("t-fill")
def t_fill(dom, argv, forked):
    """``t-fill path n seed chunk``: write ``pattern(n, seed)`` in writes of
    ``chunk`` bytes, read it back through fd reads; one line: written, equal."""
    path, n, seed, chunk = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    data = pattern(n, seed)
    fd = yield from c.open_(dom, path, abi.O_CREAT | abi.O_WRONLY | abi.O_TRUNC)
    done = 0
    while done < n:
        rc = yield from c.write(dom, fd, data[done : done + chunk])
        if rc <= 0:
            break
        done += rc
    yield from c.close(dom, fd)
    fd = yield from c.open_(dom, path)
    _, back = yield from c.read_all(dom, fd)
    yield from c.write(dom, 1, f"{done} {back == data}\n")
    return 0


@program("t-fs-write")
def t_fs_write(dom, msg):
    """Runs ``fs.file_write`` (keys: an inode, a bank; data: offset, bytes) and
    answers the result in 4 signed bytes: the sub-generator alone, any offset."""
    (offset,), data = abi.unpack(msg.data)
    rc = yield from fs.file_write(dom, msg.keys[0], msg.keys[1], offset, data)
    yield dom.return_(msg.resume, 0, data=rc.to_bytes(4, "big", signed=True))


def fill(knx: KeyNIX, path: str, n: int, seed: int = 1, chunk: int = abi.PAGE) -> bytes:
    before = len(knx.tty())
    knx.spawn("/bin/t-fill", ["t-fill", path, str(n), str(seed), str(chunk)])
    knx.run()
    return knx.tty()[before:]


def mapped(knx: KeyNIX, path: str, address: int):
    """The byte at ``address`` of the segment ``MakeSegmentKey`` on the inode maps
    (a Fault if the address is not mapped)."""
    con = knx.con
    seg = con.call(knx.inode(path), oc.Node.MakeSegmentKey, data=bytes([0])).keys[0]
    got = translate(knx.kernel.store.objects, con.key(seg), address, False)
    return got if isinstance(got, Fault) else got[0].read(got[1], 1)


@pytest.mark.parametrize(
    "n",
    [0, 1, abi.PAGE, PAGES_0 - 1, PAGES_0, PAGES_0 + 1, 16 * abi.PAGE, PAGES_1, PAGES_1 + 1],
)
def test_a_file_at_each_boundary_reads_back_and_maps_as_one_segment(n):
    knx = KeyNIX()
    assert fill(knx, "/tmp/big", n) == f"{n} True\n".encode()
    data = pattern(n)
    assert knx.read_file("/tmp/big") == data
    for address in {0, n // 2, n - 1, PAGES_0 - 1, PAGES_0} & set(range(n)):
        assert mapped(knx, "/tmp/big", address) == data[address : address + 1], address
    depth = filetree.depth_for(n)
    meta = knx.con.call(knx.inode("/tmp/big"), oc.Node.Fetch + fs.META).keys[0]
    assert (
        knx.con.call(meta, oc.Page.ReadData + filetree.H_DEPTH, data=b"\0\0\0\1").data[0] == depth
    )


def test_depth_grows_exactly_past_each_capacity():
    assert [filetree.depth_for(x) for x in (PAGES_0, PAGES_0 + 1, PAGES_1, PAGES_1 + 1)] == [
        0,
        1,
        1,
        2,
    ]
    assert abi.FILE_MAX == filetree.capacity(abi.FILE_DEPTH) >= 1 << 20


def test_unaligned_writes_across_pages_and_levels():
    knx = KeyNIX()
    n = PAGES_0 + 3 * abi.PAGE + 17
    assert fill(knx, "/tmp/u", n, seed=7, chunk=1000) == f"{n} True\n".encode()
    assert knx.read_file("/tmp/u") == pattern(n, 7)


def _fs_writer(knx: KeyNIX):
    return start_key(knx.con, build_domain(knx.con, "t-fs-write"))


def _fs_write(knx: KeyNIX, writer, path: str, offset: int, data: bytes) -> int:
    r = knx.con.call(writer, 0, knx.inode(path), knx.bank, data=abi.pack(offset, payload=data))
    return int.from_bytes(r.data, "big", signed=True)


def test_a_hole_reads_as_zeros_and_the_size_follows_the_last_write():
    knx = KeyNIX()
    knx.write_file("/tmp/h", b"head")
    writer = _fs_writer(knx)
    far = PAGES_1 + 5 * abi.PAGE + 3  # depth 2 in one write
    assert _fs_write(knx, writer, "/tmp/h", far, b"tail") == 4
    data = knx.read_file("/tmp/h")
    assert len(data) == far + 4
    assert data[:4] == b"head" and data[far:] == b"tail" and not data[4:far].strip(b"\0")
    assert mapped(knx, "/tmp/h", far + 3) == b"l" and mapped(knx, "/tmp/h", 2) == b"a"
    assert mapped(knx, "/tmp/h", PAGES_0 + 1) != b"x"  # a hole: unmapped (a fault)


def test_the_size_limit_and_hostile_offsets_are_errno():
    knx = KeyNIX()
    knx.write_file("/tmp/f", b"x")
    writer = _fs_writer(knx)
    assert _fs_write(knx, writer, "/tmp/f", abi.FILE_MAX, b"y") == -abi.EFBIG
    assert _fs_write(knx, writer, "/tmp/f", -1, b"y") == -abi.EINVAL
    assert _fs_write(knx, writer, "/tmp/f", abi.FILE_MAX - 2, b"abcd") == 2  # what fits
    data = knx.read_file("/tmp/f")[-2:]
    assert data == b"ab" and mapped(knx, "/tmp/f", abi.FILE_MAX - 1) == b"b"
    assert isinstance(mapped(knx, "/tmp/f", abi.FILE_MAX), Fault)


def test_truncating_a_big_file_clears_it():
    knx = KeyNIX()
    fill(knx, "/tmp/t", PAGES_0 + 100)
    knx.write_file("/tmp/t", b"small")  # the operator's write truncates first
    assert knx.read_file("/tmp/t") == b"small"
    assert mapped(knx, "/tmp/t", PAGES_0 + 50) == b"\0"  # the old bytes are gone
    assert mapped(knx, "/tmp/t", 5) == b"\0"


def test_exec_of_a_big_file_is_enoexec_and_the_keeper_lives_on():
    knx = KeyNIX()
    fill(knx, "/tmp/prog", PAGES_0 + 1)
    knx.spawn("/bin/sh", ["sh", "-c", "/tmp/prog; echo still"])
    knx.run()
    assert knx.tty().endswith(b"sh: /tmp/prog: ENOEXEC\nstill\n")


def test_wc_counts_a_file_of_several_hundred_kib():
    knx = KeyNIX()
    n = 300 * 1024
    fill(knx, "/tmp/w", n)
    knx.spawn("/bin/sh", ["sh", "-c", "wc -c /tmp/w; cat /tmp/w | wc -c"])
    knx.run()
    assert knx.tty().endswith(f"{n} /tmp/w\n{n}\n".encode())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 320 * 1024),
    chunk=st.sampled_from([1, 777, abi.PAGE - 1, abi.PAGE]),
    seed=st.integers(0, 2**16),
)
def test_random_bytes_of_random_length_read_back_equal(n, chunk, seed):
    if chunk == 1:
        n = min(n, 3000)  # a trap a byte: keep it short
    knx = KeyNIX()
    assert fill(knx, "/tmp/r", n, seed, chunk) == f"{n} True\n".encode()
    assert knx.read_file("/tmp/r") == pattern(n, seed)
