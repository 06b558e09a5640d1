"""Hostile files against the three readers: every case is one attack.

The promise under test (keykos_lab.readers.limits; docs/reliability.md, "Readers under
hostile input"): a reader given any file either returns a graph or raises
:class:`FormatError` naming the file and the line (no line only for a file refused as a
whole: a FIFO, a device, a directory, a symbolic link leaving a CML folder) -- never
``RecursionError``, ``MemoryError``, ``ValueError``, ``LookupError``, ``UnicodeError`` --
within a bounded time and memory, because every limit is per file, not per construct. A
FIFO is refused without blocking; a symbolic link that leaves a CML folder is refused and
what it points to is never read, so never echoed.

Each case builds its input (text, or files under ``tmp_path``), reads it on a worker thread
under ``tracemalloc``, and checks: the exception is a ``FormatError``, its path and line are
the expected ones, its message has the expected words and is short (input is quoted cut
to ``limits.MAX_ECHO``), the read finished within ``TIME_BOUND`` seconds and allocated at
most ``MEMORY_BOUND`` bytes at its peak. Cases that attack a total (vertices, edges,
tokens, file size) lower that limit first, as a caller may: the check that fires is the
same, the test stays small.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from keykos_lab.readers import limits
from keykos_lab.readers.capdl import read_capdl, read_capdl_text
from keykos_lab.readers.cml import read_cml, read_cml_text
from keykos_lab.readers.errors import FormatError
from keykos_lab.readers.microkit import read_microkit, read_microkit_text

MEMORY_BOUND = 64 * 1024 * 1024  # bytes a hostile input may make a reader allocate
TIME_BOUND = 20.0  # seconds (tracemalloc slows reading several times)
MESSAGE_BOUND = 400  # characters of an error message
SECRET = "TOP-SECRET-CONTENT-0xC0FFEE"


@dataclass
class Case:
    """One attack: ``run(tmp_path)`` reads the hostile input; the error must name ``path``
    (a callable of tmp_path, or a fixed name) at ``line``, with ``words`` in its reason."""

    name: str
    run: Callable[[Path], Any]
    path: Callable[[Path], str] | str
    line: int | None
    words: str
    limits: dict[str, int] = field(default_factory=dict)


CASES: list[Case] = []


def case(
    name: str,
    run: Callable[[Path], Any],
    path: Callable[[Path], str] | str,
    line: int | None,
    words: str,
    **lim: int,
) -> None:
    CASES.append(Case(name, run, path, line, words, lim))


def text(
    reader: Callable[..., Any], body: str | Callable[[], str], name: str
) -> Callable[[Path], Any]:
    """Read ``body`` (built lazily, inside the measured thread) as text named ``name``."""
    return lambda tmp: reader(body() if callable(body) else body, name)


def file(
    reader: Callable[..., Any], data: bytes | Callable[[], bytes], name: str
) -> Callable[[Path], Any]:
    def run(tmp: Path) -> Any:
        p = tmp / name
        p.write_bytes(data() if callable(data) else data)
        return reader(p)

    return run


def at(name: str) -> Callable[[Path], str]:
    return lambda tmp: str(tmp / name)


def fifo(reader: Callable[..., Any], name: str) -> Callable[[Path], Any]:
    def run(tmp: Path) -> Any:
        os.mkfifo(tmp / name)
        return reader(tmp / name)

    return run


def folder(
    files: dict[str, bytes | str], links: dict[str, str] | None = None, fifos: tuple[str, ...] = ()
) -> Callable[[Path], Any]:
    """A CML folder ``tmp/sys``: files, symbolic links (name -> target, ``{out}`` the
    directory beside it, holding the secret) and FIFOs."""

    def run(tmp: Path) -> Any:
        root, out = tmp / "sys", tmp / "out"
        out.mkdir()
        (out / "secret.cml").write_text("{use: [{protocol: '" + SECRET + "'}]}")
        (out / "sub").mkdir()
        (out / "sub" / "x.cml").write_text("{" + SECRET + ": 1}")
        for rel, data in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data.encode() if isinstance(data, str) else data)
        root.mkdir(exist_ok=True)
        for rel, target in (links or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target.format(out=out, root=root), root / rel)
        for rel in fifos:
            os.mkfifo(root / rel)
        return read_cml(root)

    return run


CDL = "bad.cdl"
SDF = "bad.system"
CMLN = "bad.cml"


def cdl(body: str | Callable[[], str]) -> Callable[[Path], Any]:
    return text(read_capdl_text, body, CDL)


def sdf(body: str | Callable[[], str]) -> Callable[[Path], Any]:
    return text(read_microkit_text, body, SDF)


def cml(body: str | Callable[[], str]) -> Callable[[Path], Any]:
    return text(read_cml_text, body, CMLN)


HEAD = "arch aarch64\nobjects {\n"

# ------------------------------------------------------------------------------ capDL
case(
    "capdl: a decimal literal of a million digits as a slot",
    cdl(lambda: HEAD + "c = cnode (2 bits) }\ncaps { c {\n" + "9" * 10**6 + ": c } }"),
    CDL,
    5,
    "MAX_NUMBER_CHARS",
)
case(
    "capdl: 5000 digits, past Python's int() limit, as a badge",
    cdl(HEAD + "e = ep c = cnode (2 bits) }\ncaps { c { 0: e (badge: " + "7" * 5000 + ") } }"),
    CDL,
    4,
    "MAX_NUMBER_CHARS",
)
case(
    "capdl: a hex literal of 100 000 digits as a guard",
    cdl(HEAD + "c = cnode (2 bits) }\ncaps { c { 0: c (guard: 0x" + "f" * 10**5 + ") } }"),
    CDL,
    4,
    "MAX_NUMBER_CHARS",
)
case(
    "capdl: CNode size bits of a million digits",
    cdl(lambda: HEAD + "c = cnode (" + "1" * 10**6 + " bits) }"),
    CDL,
    3,
    "MAX_NUMBER_CHARS",
)
case("capdl: a CNode of 65 size bits", cdl(HEAD + "c = cnode (65 bits) }"), CDL, 3, "MAX_SIZE_BITS")
case(
    "capdl: a CNode of 1 000 000 000 size bits (1 << n would be 125 MB)",
    cdl(HEAD + "c = cnode (1000000000 bits) }"),
    CDL,
    3,
    "MAX_SIZE_BITS",
)
case(
    "capdl: a frame of 2**70 bytes written as 99999999999999999999G",
    cdl(HEAD + "f = frame (99999999999999999999G) }"),
    CDL,
    3,
    "64-bit word",
)
case(
    "capdl: a frame of 2**70 bytes written as 1099511627776G",
    cdl(HEAD + "f = frame (1099511627776G) }"),
    CDL,
    3,
    "2**64",
)
case(
    "capdl: a size in k of 5000 digits",
    cdl(HEAD + "f = frame (" + "9" * 5000 + "k) }"),
    CDL,
    3,
    "MAX_NUMBER_CHARS",
)
case("capdl: an array of a billion TCBs", cdl(HEAD + "t[1000000000] = tcb }"), CDL, 3, "MAX_ARRAY")
case(
    "capdl: an array size past 2**64",
    cdl(HEAD + "t[99999999999999999999999] = tcb }"),
    CDL,
    3,
    "64-bit word",
)
case(
    "capdl: arrays whose cells add up past the vertex limit",
    cdl("".join([HEAD] + [f"a{i}[600] = frame (4k)\n" for i in range(10)] + ["}"])),
    CDL,
    4,
    "MAX_VERTICES",
    MAX_VERTICES=1000,
)
case(
    "capdl: single objects past the vertex limit",
    cdl(lambda: HEAD + "".join(f"o{i} = ep\n" for i in range(3000)) + "}"),
    CDL,
    2 + 1001,
    "MAX_VERTICES",
    MAX_VERTICES=1000,
)
case(
    "capdl: a selection naming the whole array 10 000 times",
    cdl(
        HEAD
        + "f[65536] = frame (4k)\n c = cnode (20 bits) }\ncaps { c {\n f["
        + ",".join(["0..65535"] * 10000)
        + "] } }"
    ),
    CDL,
    6,
    "MAX_EDGES",
)
case(
    "capdl: every CNode of an array filled with the whole frame array",
    cdl(HEAD + "f[65536] = frame (4k)\n c[64] = cnode (20 bits) }\ncaps {\n c[] { f[] } }"),
    CDL,
    6,
    "MAX_EDGES",
    MAX_EDGES=200_000,
)
case(
    "capdl: a container selection repeating one CNode",
    cdl(
        HEAD
        + "c[2] = cnode (20 bits) e = ep }\ncaps {\n c["
        + ",".join(["0..1"] * 20000)
        + "] { e } }"
    ),
    CDL,
    5,
    "MAX_EDGES",
    MAX_EDGES=10_000,
)
case(
    "capdl: cap entries past the edge limit",
    cdl(lambda: HEAD + "e = ep c = cnode (30 bits) }\ncaps { c {\n" + "e\n" * 3000 + "} }"),
    CDL,
    4,
    "MAX_EDGES",
    MAX_EDGES=1000,
)
case(
    "capdl: threads sharing a VSpace, mapped frames past the edge limit",
    cdl(
        HEAD + "t[50] = tcb\n pd = pgd\n pt = pt\n f[100] = frame (4k) }\ncaps {\n"
        " t[] { vspace: pd }\n pd { 0: pt }\n pt { f[] (RW) } }"
    ),
    CDL,
    3,
    "MAX_EDGES",
    MAX_EDGES=3000,
)
case(
    "capdl: untypeds nested 30 000 deep",
    cdl(lambda: HEAD + "".join(f"u{i} = ut {{ " for i in range(30000)) + "}" * 30000 + "}"),
    CDL,
    3,
    "MAX_NESTING",
)
case(
    "capdl: a CDT tree 30 000 deep",
    cdl(lambda: HEAD + "c = cnode (2 bits) }\ncdt {\n" + "(c, 0) { " * 30000 + "} }"),
    CDL,
    5,
    "MAX_NESTING",
)
case(
    "capdl: a chain of 5000 cap copies, each naming the next",
    cdl(
        lambda: (
            HEAD
            + "f = frame (4k) c = cnode (20 bits) }\ncaps { c {\n"
            + "".join(f"c{n} = <c{n - 1}>\n" for n in range(5000, 0, -1))
            + "c0 = f } }"
        )
    ),
    CDL,
    5 + 64,
    "MAX_NESTING",
)
case(
    "capdl: a copy that names itself",
    cdl(HEAD + "c = cnode (2 bits) }\ncaps { c {\n x = <x> } }"),
    CDL,
    5,
    "circular",
)
case(
    "capdl: two containers whose named slots copy each other",
    cdl(
        HEAD + "a = cnode (2 bits) b = cnode (2 bits) }\ncaps {\n na = (a, 0)\n nb = (b, 0)\n"
        " a { 0: <nb> }\n b { 0: <na> } }"
    ),
    CDL,
    7,
    "circular",
)
case(
    "capdl: 100 000 nested block comments never closed",
    cdl(lambda: "arch aarch64\n" + "/*" * 10**5),
    CDL,
    2,
    "unterminated",
)
case(
    "capdl: a NUL byte",
    cdl("arch aarch64\nobjects {\n t = tcb \x00 }"),
    CDL,
    3,
    "unexpected character",
)
case(
    "capdl: a lone surrogate",
    cdl("arch aarch64\nobjects {\n t = tcb \ud800 }"),
    CDL,
    3,
    "unexpected character",
)
case(
    "capdl: a byte that is not UTF-8, in a file",
    file(read_capdl, b"arch aarch64\nobjects {\n t = tcb \xff }", CDL),
    at(CDL),
    3,
    "not UTF-8",
)
case(
    "capdl: a UTF-16 file",
    file(read_capdl, "arch aarch64 objects { }".encode("utf-16"), CDL),
    at(CDL),
    1,
    "not UTF-8",
)
case(
    "capdl: tokens past the token limit",
    cdl(lambda: HEAD + ",\n" * 5000),
    CDL,
    3 + 1000 - 4,
    "MAX_TOKENS",
    MAX_TOKENS=1000,
)
case(
    "capdl: a file past the size limit",
    file(read_capdl, lambda: b"arch aarch64\n" + b"-- padding\n" * 2000, CDL),
    at(CDL),
    2 + (1000 - 13) // 11,
    "MAX_FILE_BYTES",
    MAX_FILE_BYTES=1000,
)
case("capdl: a FIFO instead of a file", fifo(read_capdl, "spec.cdl"), at("spec.cdl"), None, "FIFO")
case(
    "capdl: a directory instead of a file",
    lambda tmp: read_capdl(tmp),
    lambda tmp: str(tmp),
    None,
    "directory",
)
case(
    "capdl: the character device /dev/zero",
    lambda tmp: read_capdl("/dev/zero"),
    "/dev/zero",
    None,
    "device",
)
case(
    "capdl: a megabyte-long object type name (the message quotes a bounded piece)",
    cdl(lambda: HEAD + "t = " + "x" * 10**6 + " }"),
    CDL,
    3,
    "unknown object type",
)
case(
    "capdl: a megabyte-long undeclared name",
    cdl(lambda: HEAD + "c = cnode (2 bits) }\ncaps { c {\n 0: " + "n" * 10**6 + " } }"),
    CDL,
    5,
    "undeclared object",
)
case(
    "capdl: an array of 4096 elements named by a 100 000-character name",
    cdl(lambda: HEAD + "frame@0x" + "f" * 10**5 + "[4096] = frame (4k)\n bogus }"),
    CDL,
    3,
    "MAX_NAME_CHARS",
)
case(
    "capdl: an index past 2**64",
    cdl(HEAD + "f[2] = frame (4k) c = cnode (2 bits) }\ncaps { c {\n f[18446744073709551616] } }"),
    CDL,
    5,
    "64-bit word",
)
case(
    "capdl: an IRQ number of 100 000 digits",
    cdl(lambda: HEAD + "i = irq }\nirq maps {\n" + "4" * 10**5 + ": i }"),
    CDL,
    5,
    "MAX_NUMBER_CHARS",
)
case(
    "capdl: a parameter value opening 100 000 brackets",
    cdl(lambda: HEAD + "t = tcb (init: " + "[" * 10**5 + ") }"),
    CDL,
    3,
    "end of file",
)
case(
    "capdl: masked with no rights",
    cdl(HEAD + "f = frame (4k) c = cnode (2 bits) }\ncaps { c {\n s = f\n <s> (masked: 3) } }"),
    CDL,
    6,
    "rights letters",
)
case(
    "capdl: a second objects section",
    cdl("arch aarch64\nobjects { }\nobjects { }"),
    CDL,
    3,
    "second 'objects'",
)
case(
    "capdl: slot numbers that overflow a 64-bit word",
    cdl(HEAD + "c = cnode (2 bits) }\ncaps { c {\n 0xffffffffffffffffff: c } }"),
    CDL,
    5,
    "64-bit word",
)

# --------------------------------------------------------------------------- Microkit
LAUGHS = (
    "<?xml version='1.0'?>\n<!DOCTYPE system [<!ENTITY a 'xxxxxxxxxx'>"
    + "".join(f"<!ENTITY {chr(98 + i)} '{('&' + chr(97 + i) + ';') * 10}'>" for i in range(8))
    + "]>\n<system><protection_domain name='&i;' /></system>"
)
PD = '<protection_domain name="a" />'
case("microkit: billion laughs (entity expansion)", sdf(LAUGHS), SDF, 2, "DTD")
case(
    "microkit: an external entity naming a local file",
    sdf(
        '<?xml version="1.0"?>\n<!DOCTYPE system [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "\n<system>&x;</system>"
    ),
    SDF,
    2,
    "DTD",
)
case(
    "microkit: an external DTD",
    sdf(
        '<?xml version="1.0"?>\n<!DOCTYPE system SYSTEM "http://example.invalid/x.dtd">\n<system />'
    ),
    SDF,
    2,
    "DTD",
)
for enc in ("bogus-enc", "utf-7", "rot13", "idna", "base64", "utf-16", "mbcs"):
    case(
        f"microkit: an XML declaration naming encoding {enc}",
        file(
            read_microkit,
            f'<?xml version="1.0" encoding="{enc}"?>\n<system>{PD}</system>'.encode(),
            SDF,
        ),
        at(SDF),
        1,
        "UTF-8",
    )
case(
    "microkit: a byte that is not UTF-8",
    file(read_microkit, b"<system>\n<protection_domain name='\xff' />\n</system>", SDF),
    at(SDF),
    2,
    "not UTF-8",
)
case(
    "microkit: a UTF-16 file with its byte order mark",
    file(read_microkit, "<system />".encode("utf-16"), SDF),
    at(SDF),
    1,
    "not UTF-8",
)
case(
    "microkit: a lone surrogate in text",
    sdf("<system>\n<protection_domain name='\udfff' />\n</system>"),
    SDF,
    2,
    "Unicode",
)
case(
    "microkit: elements nested 100 000 deep",
    sdf(lambda: "<system>\n" + "<protection_domain name='a'>" * 10**5),
    SDF,
    2,
    "MAX_NESTING",
)
case(
    "microkit: elements past the element limit",
    sdf(lambda: "<system>\n" + "<memory_region name='m' size='1' />\n" * 3000 + "</system>"),
    SDF,
    1 + 1000,
    "MAX_EDGES",
    MAX_EDGES=1000,
)
case(
    "microkit: protection domains past the vertex limit",
    sdf(
        lambda: (
            "<system>\n"
            + "".join(f"<protection_domain name='p{i}' />\n" for i in range(600))
            + "</system>"
        )
    ),
    SDF,
    2 + 500,
    "MAX_VERTICES",
    MAX_VERTICES=1000,
)
case(
    "microkit: channels past the edge limit",
    sdf(
        lambda: (
            "<system><protection_domain name='a' /><protection_domain name='b' />\n"
            + "".join(
                f"<channel><end pd='a' id='{i}' /><end pd='b' id='{i}' /></channel>\n"
                for i in range(60)
            )
            + "</system>"
        )
    ),
    SDF,
    2 + 49,
    "MAX_EDGES",
    MAX_EDGES=200,
)
case(
    "microkit: a number of a million digits",
    sdf(lambda: "<system>\n<memory_region name='m' size='" + "9" * 10**6 + "' />\n</system>"),
    SDF,
    2,
    "MAX_NUMBER_CHARS",
)
case(
    "microkit: 5000 digits, past Python's int() limit",
    sdf("<system>\n<memory_region name='m' size='" + "9" * 5000 + "' />\n</system>"),
    SDF,
    2,
    "MAX_NUMBER_CHARS",
)
case(
    "microkit: a number past 2**64",
    sdf("<system>\n<memory_region name='m' size='0x1_0000_0000_0000_0000' />\n</system>"),
    SDF,
    2,
    "64 bits",
)
case(
    "microkit: a FIFO instead of a file",
    fifo(read_microkit, "x.system"),
    at("x.system"),
    None,
    "FIFO",
)
case(
    "microkit: a directory instead of a file",
    lambda tmp: read_microkit(tmp),
    lambda tmp: str(tmp),
    None,
    "directory",
)
case(
    "microkit: the character device /dev/zero",
    lambda tmp: read_microkit("/dev/zero"),
    "/dev/zero",
    None,
    "device",
)
case(
    "microkit: a file past the size limit",
    file(read_microkit, lambda: b"<system>\n" + b"<!-- pad -->\n" * 200 + b"</system>", SDF),
    at(SDF),
    1 + 1000 // 13 + 1,
    "MAX_FILE_BYTES",
    MAX_FILE_BYTES=1000,
)
case(
    "microkit: a megabyte-long element name",
    sdf(lambda: "<system>\n<" + "x" * 10**6 + " />\n</system>"),
    SDF,
    2,
    "not allowed",
)
case(
    "microkit: a megabyte-long duplicate PD name",
    sdf(
        lambda: (
            "<system>\n<protection_domain name='" + "n" * 10**6 + "' />\n"
            "<protection_domain name='" + "n" * 10**6 + "' />\n</system>"
        )
    ),
    SDF,
    3,
    "duplicate",
)
case(
    "microkit: a NUL character reference",
    sdf("<system>\n<protection_domain name='&#0;' />\n</system>"),
    SDF,
    2,
    "XML",
)
case(
    "microkit: a channel id of 62",
    sdf(
        f"<system>{PD}<protection_domain name='b' />\n"
        "<channel><end pd='a' id='62' /><end pd='b' id='0' />"
        "</channel></system>"
    ),
    SDF,
    2,
    "must be < 62",
)
case(
    "microkit: an id past 2**64",
    sdf(
        f"<system>{PD}<protection_domain name='b' />\n"
        "<channel><end pd='a' id='99999999999999999999999' />"
        "<end pd='b' id='0' /></channel></system>"
    ),
    SDF,
    2,
    "64 bits",
)
case(
    "microkit: a negative id",
    sdf(
        "<system><protection_domain name='a'>\n<irq irq='3' id='-1' /></protection_domain></system>"
    ),
    SDF,
    2,
    "not a number",
)
case(
    "microkit: an IRQ number claimed by two PDs",
    sdf(
        "<system><protection_domain name='a'><irq irq='3' id='0' /></protection_domain>\n"
        "<protection_domain name='b'><irq irq='3' id='0' /></protection_domain></system>"
    ),
    SDF,
    2,
    "duplicate irq",
)
case(
    "microkit: a write-only mapping",
    sdf(
        "<system><memory_region name='m' size='0x1000' /><protection_domain name='a'>\n"
        "<map mr='m' vaddr='0x1000' perms='w' /></protection_domain></system>"
    ),
    SDF,
    2,
    "write-only",
)
case(
    "microkit: pp on both ends of a channel",
    sdf(
        f"<system>{PD}<protection_domain name='b' />\n<channel><end pd='a' id='0' pp='true'"
        " /><end pd='b' id='0' pp='true' /></channel></system>"
    ),
    SDF,
    2,
    "bidirectionally",
)
case(
    "microkit: ten thousand channels between the same two ids",
    sdf(
        lambda: (
            f"<system>{PD}<protection_domain name='b' />\n"
            + "<channel><end pd='a' id='0' /><end pd='b' id='0' /></channel>\n" * 10**4
            + "</system>"
        )
    ),
    SDF,
    3,
    "already used",
)
case(
    "microkit: a truncated file ending inside an attribute",
    sdf("<system>\n<protection_domain name='a"),
    SDF,
    2,
    "XML",
)

# ------------------------------------------------------------------------------- CML
case(
    "cml: arrays nested 100 000 deep",
    cml(lambda: "[" * 10**5 + "]" * 10**5),
    CMLN,
    1,
    "MAX_NESTING",
)
case(
    "cml: objects nested 100 000 deep",
    cml(lambda: "{a:" * 10**5 + "1" + "}" * 10**5),
    CMLN,
    1,
    "MAX_NESTING",
)
case(
    "cml: nesting inside program, 1000 deep",
    cml(lambda: "{\nprogram: " + "{a: " * 1000 + "1" + "}" * 1000 + "}"),
    CMLN,
    2,
    "MAX_NESTING",
)
case(
    "cml: an integer of a million digits",
    cml(lambda: "{\nuse: [" + "1" * 10**6 + "]}"),
    CMLN,
    2,
    "MAX_NUMBER_CHARS",
)
case(
    "cml: an integer of 5000 digits, past Python's int() limit",
    cml("{\nfacets: {n: " + "7" * 5000 + "}}"),
    CMLN,
    2,
    "MAX_NUMBER_CHARS",
)
case(
    "cml: a float exponent of a million digits",
    cml(lambda: "{\nfacets: {n: 1e" + "9" * 10**6 + "}}"),
    CMLN,
    2,
    "MAX_NUMBER_CHARS",
)
case(
    "cml: a lone surrogate escape in a key",
    cml("{\n'\\ud800': 1}"),
    CMLN,
    2,
    "unknown top-level key",
)
case(
    "cml: a megabyte-long unknown key",
    cml(lambda: "{\n" + "k" * 10**6 + ": 1}"),
    CMLN,
    2,
    "unknown top-level key",
)
case(
    "cml: a string of 60 000 backslashes, unterminated",
    cml(lambda: "'" + "\\" * 60000),
    CMLN,
    1,
    "unterminated",
)
case(
    "cml: a four-megabyte string, then an unknown key",
    cml(lambda: "{facets: {s: '" + "x" * (4 << 20) + "'},\nbogus: 1}"),
    CMLN,
    2,
    "unknown top-level key",
)
case("cml: a NUL character", cml("{\n\x00}"), CMLN, 2, "expected a key")
case("cml: duplicate keys", cml("{use: [],\nuse: []}"), CMLN, 2, "duplicate key")
case(
    "cml: 'from' naming a dictionary path",
    cml("{use: [\n{protocol: 'p', from: 'parent/diagnostics'}]}"),
    CMLN,
    2,
    "dictionary",
)
case(
    "cml: from_dictionary",
    cml("{use: [{protocol: 'p',\nfrom_dictionary: 'd'}]}"),
    CMLN,
    2,
    "from_dictionary",
)
case(
    "cml: uses past the edge limit",
    cml(lambda: "{use: [\n" + "".join(f"{{protocol: 'p{i}'}},\n" for i in range(300)) + "]}"),
    CMLN,
    2 + 100,
    "MAX_EDGES",
    MAX_EDGES=100,
)
case(
    "cml: a file past the size limit (in a folder)",
    folder({"big.cml": "{facets: {s: '" + "x" * 2000 + "'}}"}),
    at("sys/big.cml"),
    1,
    "MAX_FILE_BYTES",
    MAX_FILE_BYTES=1000,
)
case(
    "cml: a byte that is not UTF-8 (in a folder)",
    folder({"a.cml": b"{\nuse: [{protocol: '\xc3\x28'}]}"}),
    at("sys/a.cml"),
    2,
    "not UTF-8",
)
case(
    "cml: a symbolic link to a manifest outside the folder",
    folder({"a.cml": "{}"}, {"evil.cml": "{out}/secret.cml"}),
    at("sys/evil.cml"),
    None,
    "leaving the folder",
)
case(
    "cml: a symbolic link to a directory outside the folder",
    folder({"a.cml": "{}"}, {"meta": "{out}/sub"}),
    at("sys/meta"),
    None,
    "leaving the folder",
)
case(
    "cml: a symbolic link to /etc/passwd",
    folder({"a.cml": "{}"}, {"passwd.cml": "/etc/passwd"}),
    at("sys/passwd.cml"),
    None,
    "leaving the folder",
)
case(
    "cml: a symbolic link to /dev/zero",
    folder({"a.cml": "{}"}, {"zero.cml": "/dev/zero"}),
    at("sys/zero.cml"),
    None,
    "leaving the folder",
)
case(
    "cml: a symbolic link escaping through ..",
    folder({"a.cml": "{}"}, {"d/up.cml": "../../out/secret.cml"}),
    at("sys/d/up.cml"),
    None,
    "leaving the folder",
)
case(
    "cml: a symbolic link that points at itself",
    folder({"a.cml": "{}"}, {"loop.cml": "{root}/loop.cml"}),
    at("sys/loop.cml"),
    None,
    "cannot open",
)
case(
    "cml: a FIFO named like a manifest",
    folder({"a.cml": "{}"}, fifos=("pipe.cml",)),
    at("sys/pipe.cml"),
    None,
    "FIFO",
)
case(
    "cml: a FIFO given as the folder",
    lambda tmp: (os.mkfifo(tmp / "p"), read_cml(tmp / "p")),
    at("p"),
    None,
    "not a directory",
)
case(
    "cml: includes nested past the include depth",
    folder(
        {
            "app.cml": "{include: ['s0.shard.cml']}",
            **{f"s{i}.shard.cml": f"{{include: ['s{i + 1}.shard.cml']}}" for i in range(40)},
        }
    ),
    at(f"sys/s{limits.MAX_INCLUDE_DEPTH - 1}.shard.cml"),
    1,
    "MAX_INCLUDE_DEPTH",
)
case(
    "cml: components nested past the nesting limit",
    folder(
        {
            f"c{i}.cml": f"{{children: [{{name: 'x', url: '#meta/c{i + 1}.cm'}}]}}"
            for i in range(100)
        }
    ),
    at(f"sys/c{limits.MAX_NESTING}.cml"),
    1,
    "MAX_NESTING",
)
case(
    "cml: children doubling at every level (2**30 instances)",
    folder(
        {
            f"c{i}.cml": f"{{children: [{{name: 'x', url: '#meta/c{i + 1}.cm'}},\n"
            f"{{name: 'y', url: '#meta/c{i + 1}.cm'}}]}}"
            for i in range(30)
        }
    ),
    at("sys/c28.cml"),
    2,
    "MAX_VERTICES",
    MAX_VERTICES=2000,
)
case(
    "cml: manifests past the vertex limit",
    folder({f"m{i}.cml": "{}" for i in range(20)}),
    at("sys"),
    None,
    "MAX_VERTICES",
    MAX_VERTICES=10,
)
case(
    "cml: a manifest that contains itself",
    folder(
        {
            "r.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}",
            "a.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}",
        }
    ),
    at("sys/a.cml"),
    1,
    "contains itself",
)
case(
    "cml: a child in an undeclared environment",
    cml("{children: [\n{name: 'c', url: '#meta/c.cm', environment: '#nope'}]}"),
    CMLN,
    2,
    "no environment",
)
case("cml: a top level that is an array", cml("[1, 2]"), CMLN, 1, "JSON5 object")
case("cml: text after the value", cml("{}\n{}"), CMLN, 2, "after the value")
case("cml: an unterminated block comment", cml("{\n/* never"), CMLN, 2, "unterminated")


def _read(c: Case, tmp: Path) -> tuple[BaseException | None, float, int]:
    """Run the case on a worker thread under tracemalloc: (what it raised, seconds, peak
    bytes); a read that has not returned after TIME_BOUND is a failure (no blocking)."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            c.run(tmp)
            box["exc"] = None
        except BaseException as exc:  # the test inspects whatever it was
            box["exc"] = exc

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(TIME_BOUND)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not worker.is_alive(), f"{c.name}: still reading after {TIME_BOUND} s (blocked?)"
    return box["exc"], elapsed, peak


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_hostile_input(c: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in c.limits.items():
        monkeypatch.setattr(limits, name, value)
    exc, elapsed, peak = _read(c, tmp_path)
    assert exc is not None, f"{c.name}: read without an error"
    assert type(exc) is FormatError, f"{c.name}: {type(exc).__name__}: {exc}"
    path = c.path(tmp_path) if callable(c.path) else c.path
    assert exc.path == path, (exc.path, path)
    assert exc.line == c.line, f"{c.name}: line {exc.line}, expected {c.line}: {exc}"
    assert c.words in exc.reason, f"{c.name}: {exc}"
    assert len(str(exc)) < MESSAGE_BOUND + len(path), f"{c.name}: a {len(str(exc))}-char message"
    assert SECRET not in str(exc)
    assert elapsed < TIME_BOUND and peak < MEMORY_BOUND, (c.name, elapsed, peak >> 20)


def test_there_are_enough_distinct_attacks():
    assert len({c.name for c in CASES}) == len(CASES) >= 80
    by_reader = {
        r: sum(c.name.startswith(r + ":") for c in CASES) for r in ("capdl", "microkit", "cml")
    }
    assert min(by_reader.values()) >= 25, by_reader


def test_a_link_inside_the_folder_is_read(tmp_path: Path) -> None:
    """The refusal is for links that leave: a link to a manifest inside is a manifest."""
    root = tmp_path / "sys"
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "real.cml").write_text("{use: [{protocol: 'p'}]}")
    os.symlink(root / "meta" / "real.cml", root / "alias.cml")
    G = read_cml(root)
    assert {"real", "alias"} <= set(G.nodes)


def test_limits_can_be_raised_for_a_larger_system(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = HEAD + "".join(f"o{i} = ep\n" for i in range(50)) + "}"
    monkeypatch.setattr(limits, "MAX_VERTICES", 10)
    with pytest.raises(FormatError, match="MAX_VERTICES"):
        read_capdl_text(spec)
    monkeypatch.setattr(limits, "MAX_VERTICES", 100)
    assert read_capdl_text(spec).number_of_nodes() == 50
