"""Reading seL4 capDL specifications into capability graphs.

:func:`read_capdl` (a file) and :func:`read_capdl_text` (a string) parse the capDL language
accepted by the seL4 capDL-tool (``capDL-tool/CapDL/ParserUtils.hs`` and ``MakeModel.hs`` in
https://github.com/seL4/capdl) -- ``arch``, ``objects { }``, ``caps { }``, ``irq maps { }``,
``cdt { }`` and ``domains { }`` -- and return a ``networkx.MultiDiGraph`` in the project's
schema (built with :class:`~keykos_lab.views.schema.SchemaGraph`, which computes ``rights``
and ``sensory``). Any bad input raises :class:`~keykos_lab.readers.errors.FormatError` with
the file, the line and the construct; nothing partially read is returned. Hostile input is
bounded by :mod:`keykos_lab.readers.limits` (file size, numeric literals, nesting, tokens,
vertices, edges) and by ``MAX_ARRAY`` (one array) and ``MAX_SIZE_BITS`` here.

Syntax supported: ``--`` and nestable ``/* */`` comments; numbers in decimal, hex (``0x1f``)
and octal with an explicit ``0o`` prefix (a leading zero alone is decimal, as upstream:
``frame_nic1[..030]`` means elements 0..30); arrays ``name[n]``; qualified declarations
``a/b/c = tcb`` (``c`` covered by untyped ``b``, covered by ``a``; undeclared parents are
untypeds); nested coverage ``ut { decl-or-ref ... }``; ranges ``[a..b]``, ``[a..]``,
``[..b]``, ``[]``, lists ``[1, 3..5]`` and descending ranges ``[1..0]``; numbered, symbolic
(``symbolic_slot`` in ParserUtils.hs: ``cspace`` 0, ``vspace`` 1, ``reply_slot`` 2,
``caller_slot`` 3, ``ipc_buffer_slot`` 4, ``fault_ep_slot`` 5, ``sc_slot`` 6,
``temp_fault_ep_slot`` 7, ``bound_notification`` 8, ``bound_vcpu`` 9; the reader also takes
the older spellings ``bound_notification_slot`` and ``vcpu_slot``) and implicit slots (the
slot after the previous entry); named caps ``n = target``, ``n[] = target[]``,
``n = (container, slot)`` and copies ``<n>``, ``<n[]>``, ``<n[0]>``; ``- child_of ...``
(read, ignored); special targets ``irq_control``, ``asid_control``, ``sched_control``,
``domain``, ``io_space_master`` ...; cap parameters: rights ``R W G P X`` (``X`` is grant,
as upstream; several rights parameters add up, ``getRights``), ``badge:``, ``guard:``,
``guard_size:``, ``masked:``, ``reply``, ``master_reply`` and others (kept unread).
Dump-style array names ``frame@0x10000000[64] = frame (1M)`` name their elements by address
(``frame@0x10100000`` is element 1), so a dump and capDL-tool's pretty-print of it give the
same vertices. The obsolete dialect (``objects`` without braces, ``page_directory``,
``ioport = ioport``) is rejected.

Mapping
-------
The analyses may over-approximate what a system can do, never under-approximate it
(docs/analyses.md#analyses-readers-mapping). Each row names the upstream semantics it
follows: files of https://github.com/seL4/seL4 (``src/...``) and of capDL-tool. Rows marked
**over** deliberately give more than seL4 would.

+------------------------+----------------------------------------+--------------------------------+
| capDL                  | graph                                  | follows                        |
+========================+========================================+================================+
| ``tcb``                | vertex ``domain`` (a thread acts       |                                |
|                        | freely)                                |                                |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 0 ``cspace``  | ``node`` key, databyte 0,              | ``src/kernel/cspace.c``        |
|                        | ``key_register``: the thread invokes   | (lookups ignore CNode cap      |
|                        | every cap below, whatever the guard or | rights); capDL CNode caps      |
|                        | rights of this cap                     | carry no rights                |
|                        |                                        | (``validCapPars``)             |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 1 ``vspace``  | read-only ``segment`` key, ``address`` | ``maskVMRights`` in            |
|                        | (no flow by itself) **plus** one       | ``src/arch/*/kernel/vspace.c`` |
|                        | ``page`` key thread → every frame its  | (access comes from the frame   |
|                        | VSpace maps, ``address``, read-only    | cap used to map); page-table   |
|                        | unless *that mapping's* cap has ``W``; | caps take no rights            |
|                        | the rights of the caps to the VSpace   | (``validCapPars``)             |
|                        | and page tables never narrow it        |                                |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 2             | a cap to a TCB with ``reply`` or       | ``src/object/tcb.c``           |
| ``reply_slot``, 3      | ``master_reply``: ``resume`` key,      | ``setupCallerCap``             |
| ``caller_slot``        | ``key_register`` (the thread can       |                                |
|                        | reply)                                 |                                |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 4             | ``page`` key, ``address``, read-only   | ``lookupIPCBuffer``            |
| ``ipc_buffer_slot``    | unless ``W`` (the kernel writes a      |                                |
|                        | receiver's buffer only through a       |                                |
|                        | read-write cap)                        |                                |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 5             | to a relay endpoint: ``start`` key,    | ``src/kernel/faulthandler.c``  |
| ``fault_ep_slot``, 7   | ``keeper`` (trapping gives the relay   | ``sendFaultIPC``               |
| ``temp_fault_ep_slot`` | control, as a KeyKOS keeper); to a     |                                |
|                        | one-way endpoint: read-write ``page``  |                                |
|                        | key, ``key_register`` (the fault       |                                |
|                        | message goes out, the reply comes      |                                |
|                        | back)                                  |                                |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 6 ``sc_slot`` | ``meter`` key, ``meter``               | MCS scheduling contexts        |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 8             | read-only ``page`` key,                | ``src/object/tcb.c``           |
| ``bound_notification`` | ``key_register``: signals reach the    | ``decodeBindNotification``     |
|                        | thread                                 | (needs Read), ``receiveIPC``   |
+------------------------+----------------------------------------+--------------------------------+
| TCB slot 9             | read-write ``page`` key,               | ``src/arch/arm/object/vcpu.c`` |
| ``bound_vcpu``         | ``key_register`` (the vCPU state is    |                                |
|                        | the thread's)                          |                                |
+------------------------+----------------------------------------+--------------------------------+
| any other TCB slot     | the key the target's row gives,        |                                |
|                        | ``key_register``                       |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``cnode`` (and every   | vertex ``node``; each cap an edge from |                                |
| other container)       | it, ``slot`` its number, ``slot_kind`` |                                |
|                        | ``general``: a CNode is not memory, so |                                |
|                        | the KeyKOS rule that a node's page     |                                |
|                        | slots form an address space            |                                |
|                        | (``slot_kind`` ``slot``) does not      |                                |
|                        | apply                                  |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``ep``                 | one-way channel: vertex ``page``; a    | ``src/object/endpoint.c``      |
|                        | cap with ``W`` is read-write (sends),  | ``sendIPC``, ``receiveIPC``,   |
|                        | a cap with only ``R`` read-only --     | ``src/kernel/thread.c``        |
|                        | read-write when some cap to it has     | ``doNormalTransfer``;          |
|                        | ``W`` with ``G`` or ``P`` (a caller:   | ``src/object/objecttype.c``    |
|                        | the receiver can reply). A **relay**   | (``cap_reply_cap_new(...,      |
|                        | when caps can cross it: some cap has   | true)``)                       |
|                        | ``G`` (only the sender's Grant         |                                |
|                        | transfers caps; a reply carries caps   |                                |
|                        | when the receiver's cap has Grant),    |                                |
|                        | or, in an MCS spec (one with           |                                |
|                        | ``rtreply`` objects), it has a caller  |                                |
|                        | (MCS reply caps grant by default):     |                                |
|                        | vertex ``domain``, every cap a         |                                |
|                        | ``start`` key (**over**: every holder  |                                |
|                        | both sends and receives)               |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``P`` (GrantReply)     | not Grant: lets ``seL4_Call`` create a | ``sendIPC``                    |
|                        | reply cap, moves no cap                |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``notification``       | vertex ``page`` always (notification   | ``src/object/objecttype.c``    |
|                        | caps have no Grant right); ``W``       | ``maskCapRights``              |
|                        | read-write (signal), else read-only    | (notification)                 |
|                        | (wait)                                 |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``frame``              | vertex ``page`` (``device=True`` with  |                                |
|                        | ``paddr:``); a cap in a CNode:         |                                |
|                        | ``page`` key, read-only unless ``W``   |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``pt``, ``pd``,        | vertex ``node``; caps to them ``node`` |                                |
| ``pud``, ``pgd``,      | keys (**over**: whoever holds one may  |                                |
| ``pml4``, ``pdpt``,    | map the table into its own VSpace and  |                                |
| ``io_pt``              | use the frames in it)                  |                                |
+------------------------+----------------------------------------+--------------------------------+
| a cap in a page table  | ``page`` (frame) or ``node`` (table)   |                                |
|                        | key, ``slot_kind`` ``address``: a      |                                |
|                        | mapping, not a slot the table's holder |                                |
|                        | reads through; frames mapped side by   |                                |
|                        | side do not flow into each other       |                                |
|                        | unless a thread maps both              |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``ut``                 | vertex ``misc``; caps ``node_range``   |                                |
|                        | (create authority); coverage is the    |                                |
|                        | vertex attribute ``covered_by``        |                                |
+------------------------+----------------------------------------+--------------------------------+
| caps to a ``tcb``      | ``domain`` (full control, **over**: a  |                                |
|                        | TCB cap cannot read the thread's       |                                |
|                        | caps); ``resume`` with ``reply`` or    |                                |
|                        | ``master_reply``                       |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``sc``                 | vertex ``meter``; caps ``meter``       |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``vcpu``               | vertex ``page`` (register state); caps |                                |
|                        | read-write ``page``                    |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``rtreply``            | vertex ``domain`` (relay: whoever      | MCS                            |
|                        | holds it can reply, with caps, to the  | ``performInvocation_Reply``    |
|                        | thread that called the holder); caps   |                                |
|                        | ``start`` (**over**)                   |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``io_device``,         | vertex ``domain``, ``device=True`` (a  |                                |
| ``arm_io_device``,     | DMA device does what it is programmed  |                                |
| ``arm_cb``             | to do); ``page`` keys, ``address``,    |                                |
|                        | device → each frame its I/O page       |                                |
|                        | tables map (slot 0); caps to it        |                                |
|                        | ``domain`` (**over**: the holder       |                                |
|                        | decides what it can reach)             |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``irq``,               | vertex ``misc``; caps ``misc``         |                                |
| ``asid_pool``,         |                                        |                                |
| ``io_ports``,          |                                        |                                |
| ``arm_sid`` ...,       |                                        |                                |
| special targets        |                                        |                                |
+------------------------+----------------------------------------+--------------------------------+
| copy ``<n>``           | the named cap with only ``masked:``    | ``MakeModel.hs``               |
|                        | applied (rights intersected; rights,   | ``copyCapParams``,             |
|                        | badge and other parameters on the copy | ``getMasked``                  |
|                        | are ignored)                           |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``irq maps``           | vertex attribute ``irq``               |                                |
+------------------------+----------------------------------------+--------------------------------+
| ``cdt``, ``domains``   | checked, ignored (the schema has no    |                                |
|                        | derivation tree or scheduler)          |                                |
+------------------------+----------------------------------------+--------------------------------+

Every vertex has ``source_type`` (its capDL type, or the special target's name) and
``size_bits``/``paddr`` when given; relays have ``relay=True``; edges keep ``capdl_rights``
(the effective rights, letters in the order ``RWGP``) and ``badge``, ``guard``,
``guard_size`` when given; a TCB's edges have ``slot_name``. ``G.graph`` holds ``arch`` and
``source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import networkx as nx

from keykos_lab.readers import limits
from keykos_lab.readers.errors import FormatError
from keykos_lab.readers.limits import Budget, shown
from keykos_lab.views.schema import SchemaGraph

__all__ = ["read_capdl", "read_capdl_text"]

ARCHES = {"ia32", "x86_64", "arm11", "aarch32", "arm_hyp", "aarch64", "riscv", "riscv32", "riscv64"}
#: Page-table object types (a VSpace is a tree of them).
PT_TYPES = {"pt", "pd", "pud", "pgd", "pml4", "pdpt", "io_pt"}
NODE_TYPES = {"cnode"} | PT_TYPES
CHANNEL_TYPES = {"ep", "notification"}
DEVICE_TYPES = {"io_device", "arm_io_device", "arm_cb"}
OBJECT_TYPES = (
    NODE_TYPES
    | CHANNEL_TYPES
    | DEVICE_TYPES
    | {
        "tcb",
        "frame",
        "ut",
        "irq",
        "asid_pool",
        "sc",
        "rtreply",
        "vcpu",
        "io_ports",
        "arm_sgi_signal",
        "ioapic_irq",
        "msi_irq",
        "arm_irq",
        "arm_sid",
        "riscv_irq",
        "streamid",
        "contextbank",
        "smc",
    }
)
#: Largest ``name[n]`` array the reader expands (each element becomes a vertex);
#: real specifications declare a few thousand at most.
MAX_ARRAY = 1 << 16
#: Largest ``(n bits)`` or ``4G``-style size (2**64 bytes): a CNode of more slots than a
#: 64-bit word can count is refused, not computed.
MAX_SIZE_BITS = 64
SPECIALS = {
    "irq_control",
    "asid_control",
    "sched_control",
    "domain",
    "io_space_master",
    "io_port_control",
    "arm_sid_control",
    "arm_cb_control",
}
TCB_SLOTS = {
    "cspace": 0,
    "vspace": 1,
    "reply_slot": 2,
    "caller_slot": 3,
    "ipc_buffer_slot": 4,
    "fault_ep_slot": 5,
    "sc_slot": 6,
    "temp_fault_ep_slot": 7,
    "bound_notification": 8,
    "bound_vcpu": 9,
}
_ALIASES = {
    "ipc_buffer": 4,
    "fault_ep": 5,
    "sc": 6,
    "temp_fault_ep": 7,
    "bound_notification_slot": 8,
    "vcpu_slot": 9,
    "vcpu": 9,
    "reply": 2,
    "caller": 3,
}
_SLOT_NAME = {n: s for s, n in TCB_SLOTS.items()}
_SECTIONS = ("objects", "caps", "irq", "cdt", "domains")
_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\f\v\n]+)|(?P<lc>--[^\n]*)|(?P<bc>/\*)"
    r"|(?P<w>[A-Za-z0-9_@]+(?:\.[A-Za-z0-9_@]+)*)|(?P<p>\.\.|[{}()\[\],:;=<>/-])"
    r"|(?P<bad>.)",
    re.S,
)
_COMMENT = re.compile(r"/\*|\*/|\n")
_RIGHTS = re.compile(r"[RWGPX]+")
_SIZE = re.compile(r"(\d+)([kKMG])")
_UNITS = {"k": 10, "K": 10, "M": 20, "G": 30}
_ADDR_NAME = re.compile(r"(.*@)0x([0-9a-fA-F]{1,16})(@\d{1,4})?")
_ORDER = "RWGP"


def _rights(text: str) -> frozenset[str]:
    """Rights letters as a set of R, W, G (``X`` is Grant, as upstream) and P."""
    return frozenset("G" if ch == "X" else ch for ch in text)


def _letters(rights: frozenset[str]) -> str:
    return "".join(ch for ch in _ORDER if ch in rights)


@dataclass(slots=True)
class _Tok:
    kind: str  # "w" word, "p" punctuation, "eof"
    text: str
    line: int


@dataclass(slots=True)
class _Obj:
    type: str | None  # None: an implicit parent untyped not (yet) declared
    line: int
    params: dict = field(default_factory=dict)
    covered_by: str | None = None


@dataclass(slots=True)
class _Cap:
    target: str
    rights: frozenset[str]
    params: dict
    line: int


@dataclass(eq=False, slots=True)
class _Entry:
    slot: int | None
    expr: tuple  # ("obj", name, sel, line) | ("copy", capname, sel, line)
    params: dict
    line: int
    name: str | None = None


def _tokens(text: str, path: str) -> list[_Tok]:
    out: list[_Tok] = []
    line, pos, n = 1, 0, len(text)
    seen: dict[str, str] = {}  # one string object per distinct word
    while pos < n:
        m = _TOKEN.match(text, pos)
        assert m is not None  # the last alternative matches anything
        kind = m.lastgroup
        if kind == "ws":
            line += text.count("\n", pos, m.end())
        elif kind == "bc":
            depth, start = 1, line
            for c in _COMMENT.finditer(text, m.end()):
                t = c.group()
                if t == "\n":
                    line += 1
                else:
                    depth += 1 if t == "/*" else -1
                    if depth == 0:
                        pos = c.end()
                        break
            else:
                raise FormatError(path, start, "unterminated /* comment")
            continue
        elif kind in ("w", "p"):
            if len(out) >= limits.MAX_TOKENS:
                raise FormatError(
                    path,
                    line,
                    f"more than MAX_TOKENS = {limits.MAX_TOKENS:,} words and symbols: refused",
                )
            word = m.group()
            out.append(_Tok(kind, seen.setdefault(word, word), line))
        elif kind == "bad":
            raise FormatError(path, line, f"unexpected character {shown(m.group())}")
        pos = m.end()
    out.append(_Tok("eof", "end of file", line))
    return out


def _int(text: str, path: str, line: int) -> int:
    """A capDL number: decimal, ``0x`` hex or ``0o`` octal, below 2**64."""
    if len(text) > limits.MAX_NUMBER_CHARS:
        raise FormatError(
            path,
            line,
            f"number of {len(text):,} characters (more than "
            f"MAX_NUMBER_CHARS = {limits.MAX_NUMBER_CHARS}): refused",
        )
    value = None
    if (
        text[:2] in ("0x", "0X")
        and len(text) > 2
        and all(c in "0123456789abcdefABCDEF" for c in text[2:])
    ):
        value = int(text[2:], 16)
    elif text[:2] in ("0o", "0O") and len(text) > 2 and all(c in "01234567" for c in text[2:]):
        value = int(text[2:], 8)
    elif text.isascii() and text.isdigit():
        value = int(text, 10)
    if value is None:
        raise FormatError(path, line, f"bad number {shown(text)}")
    if value >= 1 << 64:
        raise FormatError(path, line, f"number {shown(text)} does not fit a 64-bit word")
    return value


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.i = 0
        self.toks = _tokens(text, path)
        self.n = len(self.toks)
        self.arch: str | None = None
        self.objs: dict[str, _Obj] = {}
        self.arrays: dict[str, list[str]] = {}
        self.covers: list[tuple[str, tuple, int]] = []
        self.entries: dict[str, list[_Entry]] = {}
        self.named: dict[str, tuple] = {}
        self.irqs: list[tuple[int | None, tuple, int]] = []
        self.memo: dict[int, list[_Cap]] = {}
        self.filled: dict[str, dict[int, _Cap]] = {}
        self.busy: set = set()
        self.depth = 0  # nesting: covers, CDT trees, copy chains
        self.budget = Budget(path)
        self.n_entries = 0  # cap entries across all containers

    # -- tokens ----------------------------------------------------------------------------
    def err(self, reason: str, tok: _Tok | None = None) -> FormatError:
        return FormatError(self.path, (tok or self.peek()).line, reason)

    def line(self) -> int:
        """The line being read (for the net in :func:`limits.reading`)."""
        return self.peek().line

    def peek(self, k: int = 0) -> _Tok:
        j = self.i + k
        return self.toks[j] if j < self.n else self.toks[-1]

    def next(self) -> _Tok:
        t = self.peek()
        if t.kind == "eof":
            raise self.err("unexpected end of file (truncated input?)")
        self.i += 1
        return t

    def at(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind == "p" and t.text == text

    def expect(self, text: str, what: str) -> _Tok:
        t = self.peek()
        if t.kind != "p" or t.text != text:
            if t.kind == "eof":
                raise self.err(f"unexpected end of file: expected {text!r} {what}")
            raise self.err(f"expected {text!r} {what}, found {shown(t.text)}")
        return self.next()

    def word(self, what: str) -> _Tok:
        t = self.peek()
        if t.kind != "w":
            if t.kind == "eof":
                raise self.err(f"unexpected end of file: expected {what}")
            raise self.err(f"expected {what}, found {shown(t.text)}")
        return self.next()

    def num(self, what: str = "a number") -> int:
        t = self.word(what)
        return _int(t.text, self.path, t.line)

    def nest(self, line: int, what: str) -> None:
        """One level deeper (a cover block, a CDT subtree, a cap copy): at most
        ``MAX_NESTING``."""
        self.depth += 1
        if self.depth > limits.MAX_NESTING:
            raise FormatError(
                self.path,
                line,
                f"{what} nested deeper than MAX_NESTING = {limits.MAX_NESTING}: refused",
            )

    # -- file ------------------------------------------------------------------------------
    def parse(self) -> None:
        t = self.peek()
        if not (t.kind == "w" and t.text == "arch"):
            raise self.err(f"expected 'arch' at the start of the file, found {shown(t.text)}")
        self.next()
        a = self.word("an architecture name")
        if a.text not in ARCHES:
            raise self.err(f"unknown architecture {shown(a.text)}", a)
        self.arch = a.text
        seen: set[str] = set()
        while self.peek().kind != "eof":
            t = self.next()
            if t.kind != "w" or t.text not in _SECTIONS:
                raise self.err(
                    f"unknown section keyword {shown(t.text)} (expected one of "
                    "objects, caps, irq maps, cdt, domains)",
                    t,
                )
            name = t.text
            if name == "irq":
                m = self.word("'maps' after 'irq'")
                if m.text != "maps":
                    raise self.err(f"expected 'irq maps', found 'irq {shown(m.text)}'", m)
            if name in seen:
                raise self.err(f"second '{name}' section", t)
            seen.add(name)
            if not self.at("{"):
                raise self.err(
                    f"'{name}' section without '{{' (obsolete capDL dialect, or a missing brace)", t
                )
            self.next()
            getattr(self, f"_sec_{name}")()
            if self.peek().kind == "eof":
                raise self.err(
                    f"unexpected end of file: '{name}' section opened at line "
                    f"{t.line} is not closed"
                )
            self.expect("}", f"to close the '{name}' section opened at line {t.line}")

    # -- objects ---------------------------------------------------------------------------
    def _sec_objects(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            self._decl(None)

    def _ref(self, what: str) -> tuple:
        """``name`` or ``name[sel]``: (name, selection or None, line)."""
        t = self.word(what)
        sel = None
        if self.at("["):
            self.next()
            sel = self._ranges()
        return t.text, sel, t.line

    def _ranges(self) -> list:
        """Inside ``[...]`` (opening bracket read): a list of (lo, hi) with None = open."""
        out = []
        if self.at("]"):
            self.next()
            return [(None, None)]
        while True:
            lo = hi = None
            if not self.at(".."):
                lo = self.num("an index")
            if self.at(".."):
                self.next()
                if not (self.at(",") or self.at("]")):
                    hi = self.num("an index")
                out.append((lo, hi))
            else:
                out.append((lo, lo))
            if self.at(","):
                self.next()
                continue
            self.expect("]", "to close an index range")
            return out

    def _elem(self, name: str, sel, line: int) -> str:
        """The object a declaration's ``name`` or ``name[i]`` path component denotes."""
        if sel is None:
            return name
        if len(sel) != 1 or sel[0][0] is None or sel[0][0] != sel[0][1]:
            raise self.err("expected a single index", self.toks[self.i - 1])
        names = self.arrays.get(name)
        if names is None:
            raise FormatError(
                self.path, line, f"{shown(name)}[{sel[0][0]}]: {shown(name)} is not an array"
            )
        if not 0 <= sel[0][0] < len(names):
            raise FormatError(self.path, line, f"index {sel[0][0]} out of range for {shown(name)}")
        return names[sel[0][0]]

    def _decl(self, parent: str | None) -> str:
        """One declaration ``a/b[i]/c = type (params) { cover }``, covered by ``parent`` if
        given; returns the name of the (first) object it declares."""
        path = self._decl_path()
        eq = self.peek()
        self.expect("=", f"after object name {shown(path[-1][0])}")
        tt = self.word("an object type")
        if tt.text not in OBJECT_TYPES:
            raise self.err(f"unknown object type {shown(tt.text)}", tt)
        params = self._params() if self.at("(") else {}
        for name, sel, line in path[:-1]:
            parent = self._path_untyped(name, sel, line, parent)
        name, sel, line = path[-1]
        names, counted = self._decl_names(name, sel, line, tt.text, params)
        for el in names:
            self._define(el, tt.text, params, line, counted)
            if parent is not None:
                self._cover(parent, el, line)
        if self.at("{"):
            if tt.text != "ut" or len(names) != 1:
                raise self.err(f"only a single 'ut' can cover objects, not {shown(tt.text)}")
            self.nest(eq.line, "untyped covers")
            self._cover_block(names[0], eq)
            self.depth -= 1
        return names[0] if names else name

    def _decl_path(self) -> list[tuple]:
        """``a/b[i]/c``: the refs of the components, the declared object last."""
        path = [self._ref("an object name")]
        while self.at("/"):
            self.next()
            path.append(self._ref("an object name after '/'"))
        return path

    def _path_untyped(self, name: str, sel: list | None, line: int, parent: str | None) -> str:
        """A component before the last of ``a/b/c``: an untyped (implicit until declared),
        covered by ``parent``; it covers the next component."""
        el = self._elem(name, sel, line)
        if el not in self.objs:
            self.budget.vertices(1, line)
            self.objs[el] = _Obj(None, line)
        if parent is not None:
            self._cover(parent, el, line)
        return el

    def _decl_names(
        self, name: str, sel: list | None, line: int, type_: str, params: dict
    ) -> tuple[list[str], bool]:
        """What the declared name denotes: ``n`` itself, one element ``n[i]`` of a declared
        array, or the elements of a new array ``n[size]``; and whether they are already
        counted against ``MAX_VERTICES`` (array elements are, as the array is made)."""
        if sel is None:
            return [name], False
        if name in self.arrays:
            return [self._elem(name, sel, line)], True
        if len(sel) != 1 or sel[0][0] is None or sel[0][0] != sel[0][1]:
            raise FormatError(self.path, line, f"bad array size in declaration of {shown(name)}")
        return self._array(name, sel[0][0], type_, params, line), True

    def _cover_block(self, ut: str, eq: _Tok) -> None:
        """``{ decl-or-ref ... }`` after the untyped ``ut`` (the ``{`` not yet read): nested
        declarations now, references once every object is declared (``graph``)."""
        self.next()
        while not self.at("}"):
            if self.at(","):
                self.next()
                continue
            if self.peek().kind == "eof":
                raise self.err(
                    f"unexpected end of file: untyped {shown(ut)} opened "
                    f"at line {eq.line} is not closed"
                )
            j = self.i
            ref = self._ref("an object in an untyped's cover")
            if self.at("=") or self.at("/"):
                self.i = j
                self._decl(ut)
            else:
                self.covers.append((ut, ref, ref[2]))
        self.next()

    def _array(self, name: str, size: int, type_: str, params: dict, line: int) -> list[str]:
        if name in self.objs:
            raise FormatError(self.path, line, f"{shown(name)} declared twice")
        if size > MAX_ARRAY:
            raise FormatError(
                self.path,
                line,
                f"array {shown(name)} of {size:,} objects: "
                f"more than the reader's limit, MAX_ARRAY = {MAX_ARRAY:,}",
            )
        self.budget.vertices(size, line, size * (len(name) + 8))  # before a name is made
        m = _ADDR_NAME.fullmatch(name)
        step = params.get("size_bytes")
        if m and step:
            base = int(m.group(2), 16)
            names = [f"{m.group(1)}0x{base + i * step:x}{m.group(3) or ''}" for i in range(size)]
        else:
            names = [f"{name}[{i}]" for i in range(size)]
        self.arrays[name] = names
        return names

    def _define(self, name: str, type_: str, params: dict, line: int, counted: bool) -> None:
        o = self.objs.get(name)
        if o is None and name in self.arrays and self.arrays[name][0] != name:
            raise FormatError(self.path, line, f"{shown(name)} declared twice")
        if o is None:
            if not counted:
                self.budget.vertices(1, line, len(name))
            self.objs[name] = _Obj(type_, line, params)  # elements share one params dict
        elif o.type is None:
            if type_ != "ut":
                raise FormatError(
                    self.path,
                    line,
                    f"{shown(name)} is an untyped (it covers "
                    f"objects, line {o.line}) but declared as {type_!r}",
                )
            o.type = type_
            o.params = {**o.params, **params}
        elif o.type != type_:
            raise FormatError(
                self.path,
                line,
                f"{shown(name)} redeclared as {type_!r}, declared as {o.type!r} at line {o.line}",
            )
        else:
            o.params = {**o.params, **params}

    def _cover(self, parent: str, child: str, line: int) -> None:
        o = self.objs[child]
        if o.covered_by is not None and o.covered_by != parent:
            raise FormatError(
                self.path,
                line,
                f"{shown(child)} covered by both {shown(o.covered_by)} and {shown(parent)}",
            )
        o.covered_by = parent

    def _params(self) -> dict:
        """``( item, ... )``: rights letters, flags, ``n bits``, ``4k``, ``key: value``."""
        open_ = self.expect("(", "to open parameters")
        out: dict = {}
        while not self.at(")"):
            if self.peek().kind == "eof":
                raise self.err(f"unexpected end of file: '(' at line {open_.line} not closed")
            if self.at(","):
                self.next()
                continue
            t = self.word("a parameter")
            if self.at(":"):
                self.next()
                value = self._value(t)
                if t.text == "masked":  # several masks intersect (getMasked)
                    value = value & out.get("masked", value)
                out[t.text] = value
            elif _RIGHTS.fullmatch(t.text):  # several rights add up (getRights)
                out["rights"] = out.get("rights", frozenset()) | _rights(t.text)
            elif self.peek().kind == "w" and self.peek().text == "bits":
                self.next()
                bits = _int(t.text, self.path, t.line)
                if bits > MAX_SIZE_BITS:
                    raise FormatError(
                        self.path,
                        t.line,
                        f"size of {bits:,} bits (more than "
                        f"MAX_SIZE_BITS = {MAX_SIZE_BITS}): refused",
                    )
                out["size_bits"] = bits
                out["size_bytes"] = 1 << bits
            elif m := _SIZE.fullmatch(t.text):
                count = _int(m.group(1), self.path, t.line)
                bits = _UNITS[m.group(2)] + max(count.bit_length() - 1, 0)
                if bits > MAX_SIZE_BITS:
                    raise FormatError(
                        self.path,
                        t.line,
                        f"size {shown(t.text)} is more than 2**{MAX_SIZE_BITS} bytes: refused",
                    )
                out["size_bits"] = bits
                out["size_bytes"] = count << _UNITS[m.group(2)]
            else:
                out[t.text] = True
        self.next()
        return out

    def _value(self, key: _Tok) -> Any:
        """A parameter value: a number, a word, a bracketed group kept as text, or (for
        ``masked``) rights letters."""
        if key.text == "masked":
            rights: frozenset[str] = frozenset()
            while self.peek().kind == "w" and _RIGHTS.fullmatch(self.peek().text):
                rights |= _rights(self.next().text)
            if not rights:
                raise self.err("expected rights letters after 'masked:'")
            return rights
        if self.at("(") or self.at("["):
            close = {"(": ")", "[": "]"}[self.peek().text]
            parts, depth = [], 0
            while True:
                t = self.next()
                parts.append(t.text)
                if t.text in ("(", "["):
                    depth += 1
                elif t.text in (")", "]"):
                    depth -= 1
                    if depth == 0:
                        if t.text != close:
                            raise self.err("mismatched brackets", t)
                        return " ".join(parts)
        t = self.word(f"a value for {shown(key.text)}")
        if key.text in ("badge", "guard", "guard_size", "paddr"):
            return _int(t.text, self.path, t.line)
        if self.at(":"):  # PCI address like 0:0.0
            self.next()
            return f"{t.text}:{self.word('a PCI address').text}"
        return t.text

    # -- caps ------------------------------------------------------------------------------
    def _sec_caps(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            name, sel, line = self._ref("a container object name")
            if self.at("="):
                if sel is not None:
                    raise FormatError(self.path, line, f"bad cap name {shown(name)}")
                self.next()
                self.expect("(", f"before (container, slot) of cap name {shown(name)}")
                cref = self._ref("a container object name")
                self.expect(",", "in (container, slot)")
                slot = self._slot_word()
                self.expect(")", "to close (container, slot)")
                self._name_cap(name, ("slot", cref, slot, line), line)
                continue
            if not self.at("{"):
                raise self.err(f"expected '{{' or '=' after {shown(name)} in the caps section")
            opened = self.next()
            containers = self._select(name, sel, line)
            entries: list[_Entry] = []
            while not self.at("}"):
                if self.peek().kind == "eof":
                    raise self.err(
                        f"unexpected end of file: caps of {shown(name)} opened at "
                        f"line {opened.line} not closed"
                    )
                if self.at(";") or self.at(","):
                    self.next()
                    continue
                entries.append(self._entry(containers))
            self.next()
            self.n_entries += len(entries) * len(containers)
            if self.n_entries > limits.MAX_EDGES:
                raise FormatError(
                    self.path,
                    line,
                    f"more than MAX_EDGES = {limits.MAX_EDGES:,} cap entries: refused",
                )
            for c in containers:
                self.entries.setdefault(c, []).extend(entries)

    def _slot_word(self) -> int:
        t = self.word("a slot number or name")
        if t.text in TCB_SLOTS:
            return TCB_SLOTS[t.text]
        if t.text in _ALIASES:
            return _ALIASES[t.text]
        return _int(t.text, self.path, t.line)

    def _entry(self, containers: list[str]) -> _Entry:
        line = self.peek().line
        slot = None
        if self.peek().kind == "w" and self.at(":", 1):
            slot = self._slot_word()
            self.next()
        capname = None
        expr = self._expr()
        if self.at("="):
            if expr[0] != "obj" or (expr[2] is not None and expr[2] != [(None, None)]):
                raise self.err("bad cap name before '='")
            capname = expr[1]
            self.next()
            expr = self._expr()
        params = self._params() if self.at("(") else {}
        if self.at("-"):
            self.next()
            kw = self.word("'child_of'")
            if kw.text != "child_of":
                raise self.err(f"expected 'child_of' after '-', found {shown(kw.text)}", kw)
            self._cap_ref()
        e = _Entry(slot, expr, params, line, capname)
        if capname is not None:
            self._name_cap(capname, ("entry", e), line)
        return e

    def _expr(self) -> tuple:
        if self.at("<"):
            self.next()
            name, sel, line = self._ref("a cap name")
            self.expect(">", "to close a cap copy '<...>'")
            return ("copy", name, sel, line)
        name, sel, line = self._ref("a cap target")
        return ("obj", name, sel, line)

    def _name_cap(self, name: str, how: tuple, line: int) -> None:
        self.named.setdefault(name, how)

    # -- other sections (checked, mostly ignored) ------------------------------------------
    def _sec_irq(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            if self.at(",") or self.at(";"):
                self.next()
                continue
            num = None
            if self.peek().kind == "w" and self.at(":", 1):
                num = self.num("an IRQ number")
                self.next()
            ref = self._ref("an irq object")
            self.irqs.append((num, ref, ref[2]))

    def _cap_ref(self) -> None:
        """A cap named by ``(container, slot)`` or by its name (checked, not kept)."""
        if self.at("("):
            self.next()
            self._ref("a container object name")
            self.expect(",", "in (container, slot)")
            self._slot_word()
            self.expect(")", "to close (container, slot)")
        else:
            self.word("a cap name or (container, slot)")

    def _cdt_ref(self) -> None:
        """A CDT entry and its subtree, iteratively (depth at most ``MAX_NESTING``)."""
        opened: list[int] = []
        self._cap_ref()
        while True:
            if self.at("{"):
                opened.append(self.next().line)
                self.nest(opened[-1], "cdt trees")
            if not opened:
                return
            if self.at("}"):
                self.next()
                opened.pop()
                self.depth -= 1
                if not opened:
                    return
                continue
            if self.peek().kind == "eof":
                raise self.err("unexpected end of file in a cdt tree")
            self._cap_ref()

    def _sec_cdt(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            self._cdt_ref()

    def _sec_domains(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            key = self.word("a domains setting")
            self.expect(":", f"after {shown(key.text)}")
            self._value(key)

    # -- resolution ------------------------------------------------------------------------
    def _select(self, name: str, sel, line: int) -> list[str]:
        """Objects ``name`` / ``name[sel]`` denotes (specials only without a selection)."""
        if sel is None:
            if name in self.objs:
                return [name]
            if name in self.arrays:
                raise FormatError(self.path, line, f"array {shown(name)} used without an index")
            if name in SPECIALS:
                return [name]
            raise FormatError(self.path, line, f"undeclared object {shown(name)}")
        names = self.arrays.get(name)
        if names is None:
            raise FormatError(self.path, line, f"{shown(name)} is not a declared array")
        return [names[i] for i in self._indices(sel, len(names), name, line)]

    def _indices(self, sel: list, size: int, name: str, line: int) -> list[int]:
        """The indices a selection names, each checked; at most the edges still allowed
        (``[0..65535, 0..65535, ...]`` is refused before it is expanded)."""
        budget = max(self.budget.left(), 1)
        out: list[int] = []
        for lo, hi in sel:
            lo = 0 if lo is None else lo
            hi = size - 1 if hi is None else hi
            for end in (lo, hi):
                if not 0 <= end < size:
                    raise FormatError(
                        self.path, line, f"index {end} out of range for {shown(name)} (size {size})"
                    )
            if len(out) + abs(hi - lo) + 1 > budget:  # checked before it is expanded
                raise FormatError(
                    self.path,
                    line,
                    f"selection of more than {budget:,} "
                    f"elements: more than MAX_EDGES = {limits.MAX_EDGES:,} "
                    "allows",
                )
            out.extend(range(lo, hi + 1) if lo <= hi else range(lo, hi - 1, -1))
        return out

    def _resolve(self, e: _Entry) -> list[_Cap]:
        key = id(e)
        if key in self.memo:
            return self.memo[key]
        if key in self.busy:
            raise FormatError(self.path, e.line, "circular cap copy")
        self.busy.add(key)
        self.nest(e.line, "cap copies")
        kind, name, sel, line = e.expr
        rights = e.params.get("rights", frozenset())
        if kind == "obj":
            caps = [_Cap(t, rights, e.params, line) for t in self._select(name, sel, line)]
        else:
            src = self._named(name, line)
            if sel is not None:
                src = [src[i] for i in self._indices(sel, len(src), name, line)]
            mask = e.params.get("masked")
            caps = []
            for c in src:  # a copy keeps the source's parameters, masked (MakeModel.hs)
                r = c.rights if mask is None else c.rights & mask
                caps.append(_Cap(c.target, r, c.params, line))
        self.depth -= 1
        self.busy.discard(key)
        self.memo[key] = caps
        return caps

    def _named(self, name: str, line: int) -> list[_Cap]:
        how = self.named.get(name)
        if how is None:
            raise FormatError(self.path, line, f"copy of undefined cap name <{shown(name)}>")
        if how[0] == "entry":
            return self._resolve(how[1])
        _, (cname, csel, cline), slot, _ = how
        container = self._select(cname, csel, cline)[0]
        cap = self._fill(container).get(slot)
        if cap is None:
            raise FormatError(
                self.path,
                line,
                f"cap name {shown(name)} refers to empty slot {slot} of {shown(container)}",
            )
        return [cap]

    def _fill(self, container: str) -> dict[int, _Cap]:
        if container in self.filled:
            return self.filled[container]
        if container in self.busy:
            raise FormatError(
                self.path,
                self.entries[container][0].line,
                f"circular cap reference through {shown(container)}",
            )
        self.busy.add(container)
        slots: dict[int, _Cap] = {}
        nxt = 0
        for e in self.entries.get(container, ()):
            caps = self._resolve(e)
            self.budget.edges(len(caps), e.line)  # before the slots are filled
            start = nxt if e.slot is None else e.slot
            for k, c in enumerate(caps):
                if start + k in slots:
                    raise FormatError(
                        self.path, e.line, f"slot {start + k} of {shown(container)} filled twice"
                    )
                slots[start + k] = c
            nxt = start + len(caps)
        self.busy.discard(container)
        self.filled[container] = slots
        return slots

    def graph(self) -> nx.MultiDiGraph:
        """The capability graph of what ``parse`` read (mapping: the module docstring)."""
        self._resolve_covers()
        irq_of = self._irq_numbers()
        filled = self._fill_all()
        self.relays, self.callers = self._channels(filled)
        g = SchemaGraph()
        specials = {
            cap.target
            for slots in filled.values()
            for cap in slots.values()
            if cap.target not in self.objs
        }
        self.budget.vertices(len(specials), None)
        for name, o in self.objs.items():
            self._vertex(g, name, o, irq_of)
        for c in sorted(filled):
            for slot in sorted(filled[c]):
                self._edge(g, c, slot, filled[c][slot])
        self._mappings(g, filled)
        G = g.graph
        G.graph.update(arch=self.arch, source=self.path)
        return G

    def _resolve_covers(self) -> None:
        """The references in untypeds' covers, now that every object is declared; an
        untyped known only from ``a/b/c`` paths gets its type."""
        for parent, (name, sel, line), _ in self.covers:
            for child in self._select(name, sel, line):
                if child in SPECIALS and child not in self.objs:
                    raise FormatError(self.path, line, f"undeclared object {shown(child)}")
                self._cover(parent, child, line)
        for o in self.objs.values():
            if o.type is None:
                o.type = "ut"

    def _irq_numbers(self) -> dict[str, int]:
        """The ``irq maps`` section: IRQ object → number (implicit: the one after the last)."""
        irq_of: dict[str, int] = {}
        nxt = 0
        for num, (name, sel, line), _ in self.irqs:
            first = nxt if num is None else num
            objs = self._select(name, sel, line)
            for k, v in enumerate(objs):
                irq_of[v] = first + k
            nxt = first + len(objs)
        return irq_of

    def _fill_all(self) -> dict[str, dict[int, _Cap]]:
        """Every container's slots (a special target may hold caps only if declared)."""
        for c in self.entries:
            if c in SPECIALS and c not in self.objs:
                raise FormatError(
                    self.path, self.entries[c][0].line, f"caps for undeclared object {shown(c)}"
                )
        total = 0  # every slot, counted before any container is filled
        for entries in self.entries.values():
            for e in entries:
                total += len(self._resolve(e))
                if total > limits.MAX_EDGES:
                    raise FormatError(
                        self.path,
                        e.line,
                        f"more than MAX_EDGES = {limits.MAX_EDGES:,} caps in one file: refused",
                    )
        return {c: self._fill(c) for c in self.entries}

    def _type(self, name: str) -> str:
        o = self.objs.get(name)
        return name if o is None or o.type is None else o.type

    def _channels(self, filled: dict[str, dict[int, _Cap]]) -> tuple[set[str], set[str]]:
        """Endpoints that caps can cross (relays) and endpoints with a caller: some cap with
        ``W`` and ``G`` or ``P`` (module docstring, row ``ep``)."""
        mcs = any(o.type == "rtreply" for o in self.objs.values())
        granting, callers = set(), set()
        for slots in filled.values():
            for cap in slots.values():
                if self._type(cap.target) != "ep":
                    continue
                if "G" in cap.rights:
                    granting.add(cap.target)
                if "W" in cap.rights and cap.rights & {"G", "P"}:
                    callers.add(cap.target)
        return granting | (callers if mcs else set()), callers

    def _vertex(self, g: SchemaGraph, name: str, o: _Obj, irq_of: dict[str, int]) -> None:
        assert o.type is not None  # every object is typed by now
        attrs: dict[str, Any] = {"source_type": o.type}
        for k in ("size_bits", "paddr"):
            if k in o.params:
                attrs[k] = o.params[k]
        if o.covered_by is not None:
            attrs["covered_by"] = o.covered_by
        if name in irq_of:
            attrs["irq"] = irq_of[name]
        kind = _KINDS.get(o.type, "misc")
        if (o.type == "ep" and name in self.relays) or o.type == "rtreply":
            kind, attrs["relay"] = "domain", True
        if o.type == "frame" or o.type in DEVICE_TYPES:
            attrs["device"] = o.type in DEVICE_TYPES or "paddr" in o.params or "device" in o.params
        g.vertex(name, kind, **attrs)

    def _edge(self, g: SchemaGraph, c: str, slot: int, cap: _Cap) -> None:
        """The key in ``slot`` of container ``c`` (a special target gets its vertex)."""
        if cap.target not in g.graph:
            g.vertex(cap.target, "misc", source_type=cap.target)
        ctype = self._type(c)
        if ctype == "tcb":
            kt, ro, sk = self._tcb_key(cap, slot)
        elif ctype in PT_TYPES and self._type(cap.target) in PT_TYPES | {"frame"}:
            (kt, ro), sk = self._key(cap), "address"  # a mapping, not a slot read through
        else:  # a CNode is not memory: "general", never a memory tree
            (kt, ro), sk = self._key(cap), "general"
        extra: dict[str, Any] = {
            k: cap.params[k] for k in ("badge", "guard", "guard_size") if k in cap.params
        }
        if ctype == "tcb":
            extra["slot_name"] = _SLOT_NAME.get(slot, str(slot))
        g.key(
            c,
            cap.target,
            kt,
            read_only=ro,
            slot=slot,
            slot_kind=sk,
            capdl_rights=_letters(cap.rights),
            **extra,
        )

    def _tcb_key(self, cap: _Cap, slot: int) -> tuple[str, bool, str]:
        """A TCB's own slots (module docstring: the TCB rows)."""
        ttype, w = self._type(cap.target), "W" in cap.rights
        if slot == 0 and ttype == "cnode":
            return "node", False, "key_register"
        if slot == 1 and ttype in PT_TYPES:
            return "segment", True, "address"
        if slot == 4 and ttype == "frame":
            return "page", not w, "address"
        if slot in (5, 7) and ttype == "ep":
            if cap.target in self.relays:
                return "start", False, "keeper"
            return "page", False, "key_register"
        if slot == 6 and ttype == "sc":
            return "meter", False, "meter"
        if slot == 8 and ttype == "notification":
            return "page", True, "key_register"
        if slot == 9 and ttype == "vcpu":
            return "page", False, "key_register"
        kt, ro = self._key(cap)
        return kt, ro, "key_register"

    def _key(self, cap: _Cap) -> tuple[str, bool]:
        """The key a cap is, by its target's type (module docstring: the table)."""
        ttype, w = self._type(cap.target), "W" in cap.rights
        if ttype == "tcb":
            resume = "reply" in cap.params or "master_reply" in cap.params
            return ("resume" if resume else "domain"), False
        if ttype == "ut":
            return "node_range", False
        if ttype == "frame":
            return "page", not w
        if ttype in NODE_TYPES:
            return "node", False
        if ttype == "ep":
            if cap.target in self.relays:
                return "start", False
            reads_replies = "R" in cap.rights and cap.target in self.callers
            return "page", not (w or reads_replies)
        if ttype == "notification":
            return "page", not w
        if ttype == "sc":
            return "meter", False
        if ttype == "vcpu":
            return "page", False
        if ttype == "rtreply":
            return "start", False
        if ttype in DEVICE_TYPES:
            return "domain", False
        return "misc", False

    def _mappings(self, g: SchemaGraph, filled: dict[str, dict[int, _Cap]]) -> None:
        """A thread's keys to the frames its VSpace maps, and a DMA device's to the frames
        its I/O page tables map (module docstring: the ``vspace`` row)."""
        trees: dict[str, dict[str, bool]] = {}
        roots: list[tuple[str, int, str]] = []
        for c in sorted(filled):
            ctype = self._type(c)
            slot = 1 if ctype == "tcb" else 0 if ctype in DEVICE_TYPES else None
            cap = filled[c].get(slot) if slot is not None else None
            if slot is not None and cap is not None and self._type(cap.target) in PT_TYPES:
                roots.append((c, slot, cap.target))
        for holder, slot, root in roots:
            if root not in trees:
                trees[root] = self._frames(root, filled)
            frames = trees[root]
            self.budget.edges(len(frames), self.objs[holder].line)
            for frame, writable in sorted(frames.items()):
                g.key(
                    holder,
                    frame,
                    "page",
                    read_only=not writable,
                    slot=slot,
                    slot_kind="address",
                    vspace=root,
                    mapped=True,
                    capdl_rights="RW" if writable else "R",
                )

    def _frames(self, root: str, filled: dict[str, dict[int, _Cap]]) -> dict[str, bool]:
        """Frames mapped anywhere below page table ``root``: frame → writable (by any of
        its mappings)."""
        out: dict[str, bool] = {}
        seen, todo = {root}, [root]
        while todo:
            for cap in filled.get(todo.pop(), {}).values():
                ttype = self._type(cap.target)
                if ttype == "frame":
                    out[cap.target] = out.get(cap.target, False) or "W" in cap.rights
                elif ttype in PT_TYPES and cap.target not in seen:
                    seen.add(cap.target)
                    todo.append(cap.target)
        return out


_KINDS = {
    "tcb": "domain",
    "frame": "page",
    "ep": "page",
    "notification": "page",
    "sc": "meter",
    "vcpu": "page",
    "rtreply": "domain",
    **{t: "node" for t in NODE_TYPES},
    **{t: "domain" for t in DEVICE_TYPES},
}


def read_capdl_text(text: str, name: str = "<string>") -> nx.MultiDiGraph:
    """Read a capDL specification from a string (``name`` is used in errors).

    >>> G = read_capdl_text('''arch arm11
    ... objects { t = tcb  cn = cnode (2 bits)  e = ep  f = frame (4k) }
    ... caps { t { cspace: cn  ipc_buffer_slot: f (RW) }
    ...        cn { e (R)  e (W, badge: 3) } }''')
    >>> G.nodes["t"]["kind"], G.nodes["e"]["kind"], G.nodes["f"]["kind"]
    ('domain', 'page', 'page')
    >>> sorted((h, t, d["key_type"], d["databyte"], d["slot"])
    ...        for h, t, d in G.edges(data=True))
    [('cn', 'e', 'page', 0, 1), ('cn', 'e', 'page', 128, 0),
     ('t', 'cn', 'node', 0, 0), ('t', 'f', 'page', 0, 4)]
    >>> read_capdl_text("arch arm11 objects { x = foo }")
    Traceback (most recent call last):
    ...
    keykos_lab.readers.errors.FormatError: <string>:1: unknown object type 'foo'
    """
    path = str(name)
    box: list[_Parser] = []
    with limits.reading(path, lambda: box[0].line() if box else None):
        if len(text) > limits.MAX_FILE_BYTES:
            raise FormatError(
                path,
                text.count("\n", 0, limits.MAX_FILE_BYTES) + 1,
                f"larger than MAX_FILE_BYTES = {limits.MAX_FILE_BYTES:,}: refused",
            )
        box.append(_Parser(text, path))
        box[0].parse()
        return box[0].graph()


def read_capdl(path: str | PathLike[str]) -> nx.MultiDiGraph:
    """Read a capDL file into a capability graph (module docstring: the mapping). Only a
    regular file is read (a FIFO or a device is refused without blocking), at most
    ``limits.MAX_FILE_BYTES``, and it must be UTF-8.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "s.cdl")
    ...     _ = open(p, "w").write("arch ia32 objects { a = tcb  b = ep } caps { a { 5: b } }")
    ...     G = read_capdl(p)
    >>> d = G.get_edge_data("a", "b")[0]
    >>> d["key_type"], d["slot_kind"], d["slot_name"]
    ('page', 'key_register', 'fault_ep_slot')
    """
    text = limits.decode_utf8(limits.read_file(path), path)
    return read_capdl_text(text, str(path))
