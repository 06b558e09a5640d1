"""KeyNIX's more-Unix: ls, wc, grep, sort, pwd/cd, sh redirections and ``;``,
directories of more than 14 entries (keynix.coreutils, dirs, dirtree, shparse)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keykos_lab.kernel.process import image_bytes
from keykos_lab.programs.keynix import abi, coreutils, fs, shparse
from keykos_lab.programs.keynix import libc as c
from keykos_lab.programs.keynix.admin import A_MKDIR
from keykos_lab.system.keynix import KeyNIX, KeyNIXError


def sh(script: str, knx: KeyNIX | None = None, files: dict | None = None):
    """Run ``sh -c script``: ``(tty output, shell status)``."""
    knx = knx or KeyNIX()
    for path, data in (files or {}).items():
        knx.write_file(path, data)
    before = len(knx.tty())
    pid = knx.spawn("/bin/sh", ["sh", "-c", script])
    knx.run()
    state, status = knx.status(pid)
    assert state == "zombie"
    return knx.tty()[before:], abi.shell_status(status)


# ------------------------------------------------------------------ commands
def test_wc_counts_stdin_files_and_a_total():
    out, rc = sh(
        "wc < /tmp/a; wc -l /tmp/a /tmp/b; wc -wc /tmp/b",
        files={"/tmp/a": "one two\nthree\n", "/tmp/b": "x y z"},
    )
    assert out == b"2 3 14\n2 /tmp/a\n0 /tmp/b\n2 total\n3 5 /tmp/b\n" and rc == 0


def test_wc_of_empty_input_and_a_missing_file():
    out, rc = sh("wc /tmp/e; wc /tmp/missing", files={"/tmp/e": ""})
    assert out == b"0 0 0 /tmp/e\nwc: /tmp/missing: ENOENT\n" and rc == 2


def test_grep_fixed_strings_invert_count_and_status():
    files = {"/tmp/f": "a.c\nabc\nx\n", "/tmp/g": "abc\n"}
    assert sh("grep a.c /tmp/f", files=files) == (b"a.c\n", 0)  # fixed: '.' is a dot
    assert sh("grep -v a /tmp/f", files=files) == (b"x\n", 0)
    assert sh("grep -c b /tmp/f /tmp/g", files=files) == (b"/tmp/f:1\n/tmp/g:1\n", 0)
    assert sh("grep zzz /tmp/f", files=files) == (b"", 1)
    assert sh("cat /tmp/f | grep -vc a", files=files) == (b"1\n", 0)


def test_grep_bad_usage_and_missing_file():
    assert sh("grep")[0].startswith(b"usage: grep") and sh("grep")[1] == 2
    assert sh("grep -q x /tmp")[1] == 2
    assert sh("grep x /nope") == (b"grep: /nope: ENOENT\n", 2)


def test_sort_bytewise_reverse_and_without_final_newline():
    files = {"/tmp/s": "pear\nApple\napple\n\nfig"}
    assert sh("sort /tmp/s", files=files)[0] == b"\nApple\napple\nfig\npear\n"
    assert sh("sort -r < /tmp/s", files=files)[0] == b"pear\nfig\napple\nApple\n\n"
    assert sh("sort < /tmp/empty; echo done", files={"/tmp/empty": ""})[0] == b"done\n"


def test_ls_lists_sorted_marks_directories_and_reports_errors():
    knx = KeyNIX()
    knx.write_file("/tmp/b", "x")
    knx.write_file("/tmp/a", "x")
    knx.mkdir("/tmp/d")
    assert sh("ls /tmp", knx) == (b"a\nb\nd\n", 0)
    assert sh("ls -F /tmp", knx)[0] == b"a\nb\nd/\n"
    assert sh("ls /tmp/a", knx)[0] == b"/tmp/a\n"
    assert sh("ls /nope /tmp/a/x", knx) == (b"ls: /nope: ENOENT\nls: /tmp/a/x: ENOTDIR\n", 2)
    assert sh("ls /tmp/d", knx) == (b"", 0)


def test_cd_and_pwd_relative_paths_and_dotdot():
    knx = KeyNIX()
    out, rc = sh(
        "pwd; cd /tmp; pwd; echo hi > f; cat f; cd ..; pwd; ls tmp; cd tmp/../bin; pwd", knx
    )
    assert out == b"/\n/tmp\nhi\n/\nf\n/bin\n" and rc == 0
    assert knx.read_file("/tmp/f") == b"hi\n"
    assert sh("cd /nope; cd /bin/cat; cd ../../..; pwd") == (
        b"sh: cd: /nope: ENOENT\nsh: cd: /bin/cat: ENOTDIR\n/\n",
        0,
    )


def test_cd_into_a_privileged_directory_is_eacces():
    knx = KeyNIX()
    knx._order(A_MKDIR, fs.PRIVILEGED, payload=b"/vault")
    assert sh("cd /vault; ls /vault", knx)[0] == b"sh: cd: /vault: EACCES\nls: /vault: EACCES\n"


# ------------------------------------------------------- sh: ; and redirections
def test_redirections_with_pipelines_and_semicolons():
    out, rc = sh("echo b > /tmp/x; echo a >> /tmp/x; sort < /tmp/x | wc -l; cat /tmp/x")
    assert out == b"2\nb\na\n" and rc == 0


def test_truncate_then_append_and_output_redirect_in_a_pipeline():
    knx = KeyNIX()
    knx.write_file("/tmp/x", "old old old\n")
    out, _ = sh("echo new > /tmp/x; echo z | sort > /tmp/y; cat /tmp/x /tmp/y", knx)
    assert out == b"new\nz\n"


def test_the_keeper_honours_o_append_from_two_writers():
    out, _ = sh("echo 1 >> /tmp/log; echo 2 >> /tmp/log; echo 3 | cat >> /tmp/log; cat /tmp/log")
    assert out == b"1\n2\n3\n"


def test_quotes_and_operators_without_blanks():
    out, _ = sh("echo 'a | b'>/tmp/q;grep \"a | b\" /tmp/q")
    assert out == b"a | b\n"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo a |", b"sh: syntax error: missing command\n"),
        ("echo a >", b"sh: syntax error: > needs a file name\n"),
        ("echo 'open", b"sh: syntax error: unterminated quote at 5\n"),
        ("a;;b", b"sh: syntax error: missing command\n"),
        ("cat < /nope", b"sh: /nope: ENOENT\n"),
        ("echo hi > /tmp", b"sh: /tmp: EISDIR\n"),
        ("echo hi > /bin/cat", b"sh: /bin/cat: EACCES\n"),
        ("nosuchcmd", b"sh: nosuchcmd: ENOENT\n"),
        ("a|b|c|d|e|f|g|h|i|j", b"sh: pipe: EMFILE\n"),
    ],
)
def test_hostile_scripts_get_a_message_and_the_keeper_lives_on(script, message):
    knx = KeyNIX()
    out, rc = sh(script, knx)
    assert out == message and rc != 0
    assert sh("echo alive", knx) == (b"alive\n", 0)


def test_a_name_of_name_max_bytes_works_and_one_more_does_not():
    name = "n" * abi.NAME_MAX
    out, _ = sh(f"echo ok > /tmp/{name}; ls /tmp; cat /tmp/{name}; echo x > /tmp/{name}x")
    assert out == f"{name}\nok\nsh: /tmp/{name}x: ENAMETOOLONG\n".encode()


# ------------------------------------------------------- directories > 14 entries
def test_more_than_14_commands_in_bin_and_the_last_runs():
    knx = KeyNIX()
    before = sh("ls /bin | wc -l", knx)[0]
    for i in range(20):
        knx.write_file(f"/bin/say{i:02d}", image_bytes(c.UNIX_PREFIX + "echo"), mode=fs.READONLY)
    assert int(before) + 20 > abi.FILE_PAGES
    assert sh("say19 the last one", knx) == (b"the last one\n", 0)
    assert sh("ls /bin | wc -l", knx)[0] == f"{int(before) + 20}\n".encode()
    assert sh("ls /bin | grep say0 | wc -l; ls /bin | grep -c sort", knx)[0] == b"10\n1\n"


def test_a_directory_holds_dir_max_entries_listed_in_several_getdents():
    knx = KeyNIX()
    names = [f"{i:03d}" + "x" * 60 for i in range(abi.DIR_MAX)]  # 63 bytes: > a buffer
    for n in names:
        knx.write_file(f"/tmp/{n}", n[:3])
    with pytest.raises(KeyNIXError) as full:
        knx.write_file("/tmp/one-too-many", "x")
    assert full.value.errno == abi.ENOSPC
    assert sh("ls /tmp", knx)[0] == "".join(n + "\n" for n in names).encode()
    assert sh(f"cat /tmp/{names[-1]} /tmp/{names[14]}", knx)[0] == b"195014"
    assert sh("echo x > /tmp/another", knx)[0] == b"sh: /tmp/another: ENOSPC\n"


@c.unix_program("t-getdents")
def t_getdents(dom, argv, forked):
    """Hostile getdents and chdir arguments: one ``name=result`` line each."""
    out = []
    for name, ints, path in [
        ("noints", (), b"/"),
        ("negindex", (-1, abi.BUF, 100), b"/"),
        ("efault", (0, 0, 100), b"/"),
        ("toolong", (0, abi.BUF, abi.BUF_SIZE + 1), b"/"),
        ("tiny", (0, abi.BUF, 2), b"/"),
        ("file", (0, abi.BUF, 100), b"/bin/cat"),
        ("missing", (0, abi.BUF, 100), b"/nope"),
        ("relative", (0, abi.BUF, 100), b"tmp"),
        ("past", (99, abi.BUF, 100), b"/"),
        ("huge", (2**31 - 1, abi.BUF, 100), b"/"),
    ]:
        rc = yield from c.syscall(dom, abi.SYS_GETDENTS, *ints, payload=path)
        out.append(f"{name}={abi.errno_name(-rc) if rc < 0 else rc}")
    rc = yield from c.syscall(dom, abi.SYS_CHDIR, payload=b"/" + b"x" * 2000)
    out.append(f"chdirlong={abi.errno_name(-rc)}")
    yield from c.write(dom, 1, " ".join(out) + "\n")
    return 0


def test_hostile_getdents_and_chdir_arguments_are_errno():
    knx = KeyNIX()
    knx.spawn("/bin/t-getdents", ["t-getdents"])
    knx.run()
    assert knx.tty() == (
        b"noints=EINVAL negindex=EINVAL efault=EFAULT toolong=EFAULT tiny=EINVAL "
        b"file=ENOTDIR missing=ENOENT relative=ENOENT past=0 huge=0 chdirlong=ENAMETOOLONG\n"
    )


# ------------------------------------------------------------- pure functions
@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=30))
def test_sort_lines_equals_python_sorted(lines):
    data = b"".join(line + b"\n" for line in lines)
    assert coreutils.sort_lines(data) == b"".join(x + b"\n" for x in sorted(lines))
    assert coreutils.counts(data)[0] == len(lines)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text("abcXYZ ", max_size=8), min_size=1, max_size=25))
def test_sort_in_keynix_equals_python_sorted(lines):
    data = "".join(line + "\n" for line in lines)
    out, rc = sh("sort /tmp/in", files={"/tmp/in": data})
    assert out == b"".join(x.encode() + b"\n" for x in sorted(lines)) and rc == 0


@given(st.binary(max_size=200))
def test_the_shell_parser_never_raises_anything_but_shell_syntax(text):
    try:
        script = shparse.parse(text)
    except shparse.ShellSyntax:
        return
    assert all(argv for pipeline in script for argv, _ in pipeline)
