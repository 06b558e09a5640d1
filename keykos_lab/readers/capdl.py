"""Reading seL4 capDL specifications into capability graphs.

:func:`read_capdl` (a file) and :func:`read_capdl_text` (a string) parse the
capDL language accepted by the seL4 capDL-tool -- ``arch``, ``objects { }``,
``caps { }``, ``irq maps { }``, ``cdt { }`` and ``domains { }`` -- and return a
``networkx.MultiDiGraph`` in the project's schema (built with
:class:`~keykos_lab.views.schema.SchemaGraph`, which computes ``rights`` and
``sensory``). Any bad input raises :class:`~keykos_lab.readers.errors.FormatError`
with the file, the line and the construct; nothing partially read is returned.

Syntax supported: ``--`` and nestable ``/* */`` comments; numbers in decimal,
hex (``0x1f``) and octal with an explicit ``0o`` prefix (a leading zero alone is
decimal, as upstream: ``frame_nic1[..030]`` means elements 0..30); arrays
``name[n]``; qualified declarations ``a/b/c = tcb`` (``c`` covered by untyped
``b``, covered by ``a``; undeclared parents are untypeds); nested coverage
``ut { decl-or-ref ... }``; ranges ``[a..b]``, ``[a..]``, ``[..b]``, ``[]``,
lists ``[1, 3..5]`` and descending ranges ``[1..0]``; numbered, symbolic
(TCB: ``cspace`` 0, ``vspace`` 1, ``reply_slot`` 2, ``caller_slot`` 3,
``ipc_buffer_slot`` 4, ``fault_ep_slot`` 5, ``sc_slot`` 6,
``temp_fault_ep_slot`` 7, ``bound_notification_slot`` 8, ``vcpu_slot`` 9; 0, 1, 2
and 4 are confirmed by capDL-tool's ``.right`` outputs, the rest follow its slot
layout from memory) and implicit slots (the slot after the previous entry);
named caps ``n = target``, ``n[] = target[]``, ``n = (container, slot)`` and
copies ``<n>``, ``<n[]>``, ``<n[0]>`` (``masked: R`` intersects the rights);
``- child_of ...`` (read, ignored); special targets ``irq_control``,
``asid_control``, ``sched_control``, ``domain``, ``io_space_master`` ...;
cap parameters: rights letters ``R W G P X`` (``X`` is grant, as upstream),
``badge:``, ``guard:``, ``guard_size:``, ``masked:``, ``reply``,
``master_reply`` and others (kept unread). Dump-style array names
``frame@0x10000000[64] = frame (1M)`` name their elements by address
(``frame@0x10100000`` is element 1), so a dump and capDL-tool's pretty-print of
it give the same vertices. The obsolete dialect (``objects`` without braces,
``page_directory``, ``ioport = ioport``) is rejected.

Mapping (decisions; the schema: docs/analyses.md#analyses-graph-schema):

* ``tcb`` -> kind ``domain`` (a subject). Its own caps: cspace (slot 0) -> key
  type ``node``, slot kind ``key_register``; vspace (1) -> ``segment``,
  read-only unless ``W``, ``address``; IPC buffer (4) -> ``page``, read-only
  unless ``W``, ``address``; fault endpoint (5) and temporal fault endpoint (7)
  -> ``start``, ``keeper``; any other TCB slot -> ``misc``, ``key_register``.
  The edge attribute ``slot_name`` gives the symbolic name.
* ``cnode`` -> kind ``node``; each cap in it: an edge from the CNode, slot kind
  ``slot``, ``slot`` its number. Every non-TCB container (page tables, ASID
  pools, I/O devices) is read the same way.
* ``frame`` -> kind ``page`` (``device=True`` when the spec fixes its physical
  address with ``paddr:``); caps -> ``page``, read-only (databyte 0x80) unless W.
* ``pt``/``pd``/``pud``/``pgd``/``pml4``/``pdpt``/``io_pt`` -> kind ``node``;
  caps and mappings to them -> ``node``, databyte 0.
* ``ep``/``notification`` -> if any cap to it has ``G`` or ``P`` (``X``): kind
  ``domain`` (``program ""``: a relay) and caps ``start``; otherwise kind
  ``page`` (a one-way channel) and caps ``page``, databyte 0 with ``W``
  (send/signal), read-only without (receive/wait, or no rights at all).
* ``ut`` -> kind ``misc``; caps -> ``node_range`` (create authority).
  Coverage is not an edge: the covered object gets the vertex attribute
  ``covered_by`` (the untyped's name).
* caps to a TCB -> ``domain`` (full control), or ``resume`` with ``reply`` /
  ``master_reply``.
* everything else (``irq``, ``asid_pool``, ``io_ports``, ``sc``, ``vcpu``,
  special targets ...) -> kind ``misc``; caps -> ``misc``.
* every vertex has ``source_type`` (its capDL type, or the special target's
  name) and ``size_bits``/``paddr`` when given; ``irq maps`` sets ``irq`` on the
  IRQ objects; edges keep ``capdl_rights`` (the rights as written) and ``badge``,
  ``guard``, ``guard_size`` when given. ``cdt`` and ``domains`` are checked for
  syntax and otherwise ignored (the schema has no derivation tree or scheduler).
  ``G.graph`` holds ``arch`` and ``source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import networkx as nx

from keykos_lab.readers.errors import FormatError
from keykos_lab.views.schema import SchemaGraph

__all__ = ["read_capdl", "read_capdl_text"]

ARCHES = {"ia32", "x86_64", "arm11", "aarch32", "arm_hyp", "aarch64", "riscv", "riscv32",
          "riscv64"}
NODE_TYPES = {"cnode", "pt", "pd", "pud", "pgd", "pml4", "pdpt", "io_pt"}
CHANNEL_TYPES = {"ep", "notification"}
OBJECT_TYPES = NODE_TYPES | CHANNEL_TYPES | {
    "tcb", "frame", "ut", "irq", "asid_pool", "sc", "rtreply", "vcpu", "io_ports", "io_device",
    "arm_io_device", "arm_sgi_signal", "ioapic_irq", "msi_irq", "arm_irq", "arm_sid", "arm_cb",
    "riscv_irq"}
#: Largest ``name[n]`` array the reader expands (each element becomes a vertex);
#: real specifications declare a few thousand at most.
MAX_ARRAY = 1 << 16
SPECIALS = {"irq_control", "asid_control", "sched_control", "domain", "io_space_master",
            "io_port_control", "arm_sid_control", "arm_cb_control"}
TCB_SLOTS = {"cspace": 0, "vspace": 1, "reply_slot": 2, "caller_slot": 3, "ipc_buffer_slot": 4,
             "fault_ep_slot": 5, "sc_slot": 6, "temp_fault_ep_slot": 7,
             "bound_notification_slot": 8, "vcpu_slot": 9}
_ALIASES = {"ipc_buffer": 4, "fault_ep": 5, "sc": 6, "temp_fault_ep": 7,
            "bound_notification": 8, "vcpu": 9, "reply": 2, "caller": 3}
_SLOT_NAME = {n: s for s, n in TCB_SLOTS.items()}
_SECTIONS = ("objects", "caps", "irq", "cdt", "domains")
_TOKEN = re.compile(r"(?P<nl>\n)|(?P<ws>[ \t\r\f\v]+)|(?P<lc>--[^\n]*)|(?P<bc>/\*)"
                    r"|(?P<w>[A-Za-z0-9_@]+(?:\.[A-Za-z0-9_@]+)*)|(?P<p>\.\.|[{}()\[\],:;=<>/-])"
                    r"|(?P<bad>.)")
_COMMENT = re.compile(r"/\*|\*/|\n")
_RIGHTS = re.compile(r"[RWGPX]+")
_SIZE = re.compile(r"(\d+)([kKMG])")
_UNITS = {"k": 10, "K": 10, "M": 20, "G": 30}
_ADDR_NAME = re.compile(r"(.*@)0x([0-9a-fA-F]+)(@\d+)?")


@dataclass(slots=True)
class _Tok:
    kind: str  # "w" word, "p" punctuation, "eof"
    text: str
    line: int


@dataclass
class _Obj:
    type: str | None  # None: an implicit parent untyped not (yet) declared
    line: int
    params: dict = field(default_factory=dict)
    covered_by: str | None = None


@dataclass
class _Cap:
    target: str
    rights: str
    params: dict
    line: int


@dataclass(eq=False)
class _Entry:
    slot: int | None
    expr: tuple  # ("obj", name, sel, line) | ("copy", capname, sel, line)
    params: dict
    line: int
    name: str | None = None


def _tokens(text: str, path: str) -> list[_Tok]:
    out, line, pos, n = [], 1, 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        kind = m.lastgroup
        if kind == "nl":
            line += 1
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
            out.append(_Tok(kind, m.group(), line))
        elif kind == "bad":
            raise FormatError(path, line, f"unexpected character {m.group()!r}")
        pos = m.end()
    out.append(_Tok("eof", "end of file", line))
    return out


def _int(text: str, path: str, line: int) -> int:
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:], 16)
        if text[:2] in ("0o", "0O"):
            return int(text[2:], 8)
        if text.isdigit():
            return int(text, 10)
    except ValueError:
        pass
    raise FormatError(path, line, f"bad number {text!r}")


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.toks = _tokens(text, path)
        self.n = len(self.toks)
        self.i = 0
        self.arch = None
        self.objs: dict[str, _Obj] = {}
        self.arrays: dict[str, list[str]] = {}
        self.covers: list[tuple[str, tuple, int]] = []
        self.entries: dict[str, list[_Entry]] = {}
        self.named: dict[str, tuple] = {}
        self.irqs: list[tuple[int | None, tuple, int]] = []
        self.memo: dict[int, list[_Cap]] = {}
        self.filled: dict[str, dict[int, _Cap]] = {}
        self.busy: set = set()

    # -- tokens ----------------------------------------------------------------------------
    def err(self, reason: str, tok: _Tok | None = None):
        return FormatError(self.path, (tok or self.peek()).line, reason)

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
            raise self.err(f"expected {text!r} {what}, found {t.text!r}")
        return self.next()

    def word(self, what: str) -> _Tok:
        t = self.peek()
        if t.kind != "w":
            if t.kind == "eof":
                raise self.err(f"unexpected end of file: expected {what}")
            raise self.err(f"expected {what}, found {t.text!r}")
        return self.next()

    def num(self, what: str = "a number") -> int:
        t = self.word(what)
        return _int(t.text, self.path, t.line)

    # -- file ------------------------------------------------------------------------------
    def parse(self) -> None:
        t = self.peek()
        if not (t.kind == "w" and t.text == "arch"):
            raise self.err(f"expected 'arch' at the start of the file, found {t.text!r}")
        self.next()
        a = self.word("an architecture name")
        if a.text not in ARCHES:
            raise self.err(f"unknown architecture {a.text!r}", a)
        self.arch = a.text
        seen: set[str] = set()
        while self.peek().kind != "eof":
            t = self.next()
            if t.kind != "w" or t.text not in _SECTIONS:
                raise self.err(f"unknown section keyword {t.text!r} (expected one of objects, "
                               "caps, irq maps, cdt, domains)", t)
            name = t.text
            if name == "irq":
                m = self.word("'maps' after 'irq'")
                if m.text != "maps":
                    raise self.err(f"expected 'irq maps', found 'irq {m.text}'", m)
            if name in seen:
                raise self.err(f"second '{name}' section", t)
            seen.add(name)
            if not self.at("{"):
                raise self.err(f"'{name}' section without '{{' (obsolete capDL dialect, "
                               "or a missing brace)", t)
            self.next()
            getattr(self, f"_sec_{name}")()
            if self.peek().kind == "eof":
                raise self.err(f"unexpected end of file: '{name}' section opened at line "
                               f"{t.line} is not closed")
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
            raise FormatError(self.path, line, f"{name}[{sel[0][0]}]: '{name}' is not an array")
        if not 0 <= sel[0][0] < len(names):
            raise FormatError(self.path, line, f"index {sel[0][0]} out of range for {name}")
        return names[sel[0][0]]

    def _decl(self, parent: str | None) -> str:
        """One declaration ``a/b[i]/c = type (params) { cover }``, covered by ``parent`` if
        given; returns the name of the (first) object it declares."""
        path = self._decl_path()
        eq = self.peek()
        self.expect("=", f"after object name {path[-1][0]!r}")
        tt = self.word("an object type")
        if tt.text not in OBJECT_TYPES:
            raise self.err(f"unknown object type {tt.text!r}", tt)
        params = self._params() if self.at("(") else {}
        for name, sel, line in path[:-1]:
            parent = self._path_untyped(name, sel, line, parent)
        name, sel, line = path[-1]
        names = self._decl_names(name, sel, line, tt.text, params)
        for el in names:
            self._define(el, tt.text, params, line)
            if parent is not None:
                self._cover(parent, el, line)
        if self.at("{"):
            if tt.text != "ut" or len(names) != 1:
                raise self.err(f"only a single 'ut' can cover objects, not {tt.text!r}")
            self._cover_block(names[0], eq)
        return names[0] if names else name

    def _decl_path(self) -> list[tuple]:
        """``a/b[i]/c``: the refs of the components, the declared object last."""
        path = [self._ref("an object name")]
        while self.at("/"):
            self.next()
            path.append(self._ref("an object name after '/'"))
        return path

    def _path_untyped(self, name: str, sel: list | None, line: int, parent: str | None
                      ) -> str:
        """A component before the last of ``a/b/c``: an untyped (implicit until declared),
        covered by ``parent``; it covers the next component."""
        el = self._elem(name, sel, line)
        if el not in self.objs:
            self.objs[el] = _Obj(None, line)
        if parent is not None:
            self._cover(parent, el, line)
        return el

    def _decl_names(self, name: str, sel: list | None, line: int, type_: str, params: dict
                    ) -> list[str]:
        """What the declared name denotes: ``n`` itself, one element ``n[i]`` of a declared
        array, or the elements of a new array ``n[size]``."""
        if sel is None:
            return [name]
        if name in self.arrays:
            return [self._elem(name, sel, line)]
        if len(sel) != 1 or sel[0][0] is None or sel[0][0] != sel[0][1]:
            raise FormatError(self.path, line, f"bad array size in declaration of {name!r}")
        return self._array(name, sel[0][0], type_, params, line)

    def _cover_block(self, ut: str, eq: _Tok) -> None:
        """``{ decl-or-ref ... }`` after the untyped ``ut`` (the ``{`` not yet read): nested
        declarations now, references once every object is declared (``graph``)."""
        self.next()
        while not self.at("}"):
            if self.at(","):
                self.next()
                continue
            if self.peek().kind == "eof":
                raise self.err(f"unexpected end of file: untyped {ut!r} opened "
                               f"at line {eq.line} is not closed")
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
            raise FormatError(self.path, line, f"{name!r} declared twice")
        if size > MAX_ARRAY:
            raise FormatError(self.path, line, f"array {name!r} of {size:,} objects: more "
                              f"than the reader's limit, MAX_ARRAY = {MAX_ARRAY:,}")
        m = _ADDR_NAME.fullmatch(name)
        step = params.get("size_bytes")
        if m and step:
            base = int(m.group(2), 16)
            names = [f"{m.group(1)}0x{base + i * step:x}{m.group(3) or ''}" for i in range(size)]
        else:
            names = [f"{name}[{i}]" for i in range(size)]
        self.arrays[name] = names
        return names

    def _define(self, name: str, type_: str, params: dict, line: int) -> None:
        o = self.objs.get(name)
        if o is None and name in self.arrays and self.arrays[name][0] != name:
            raise FormatError(self.path, line, f"{name!r} declared twice")
        if o is None:
            self.objs[name] = _Obj(type_, line, dict(params))
        elif o.type is None:
            if type_ != "ut":
                raise FormatError(self.path, line, f"{name!r} is an untyped (it covers "
                                  f"objects, line {o.line}) but declared as {type_!r}")
            o.type = type_
            o.params.update(params)
        elif o.type != type_:
            raise FormatError(self.path, line, f"{name!r} redeclared as {type_!r}, "
                              f"declared as {o.type!r} at line {o.line}")
        else:
            o.params.update(params)

    def _cover(self, parent: str, child: str, line: int) -> None:
        o = self.objs[child]
        if o.covered_by is not None and o.covered_by != parent:
            raise FormatError(self.path, line, f"{child!r} covered by both "
                              f"{o.covered_by!r} and {parent!r}")
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
                out[t.text] = self._value(t)
            elif _RIGHTS.fullmatch(t.text):
                out["rights"] = t.text
            elif self.peek().kind == "w" and self.peek().text == "bits":
                self.next()
                out["size_bits"] = _int(t.text, self.path, t.line)
                out["size_bytes"] = 1 << out["size_bits"]
            elif m := _SIZE.fullmatch(t.text):
                out["size_bits"] = _UNITS[m.group(2)] + int(m.group(1)).bit_length() - 1
                out["size_bytes"] = int(m.group(1)) << _UNITS[m.group(2)]
            else:
                out[t.text] = True
        self.next()
        return out

    def _value(self, key: _Tok):
        """A parameter value: a number, a word, or a bracketed group kept as text."""
        if self.at("(") or self.at("["):
            close = {"(": ")", "[": "]"}[self.peek().text]
            parts, depth = [], 0
            while True:
                t = self.next()
                parts.append(t.text)
                if t.text in "([":
                    depth += 1
                elif t.text in ")]":
                    depth -= 1
                    if depth == 0:
                        if t.text != close:
                            raise self.err("mismatched brackets", t)
                        return " ".join(parts)
        t = self.word(f"a value for {key.text!r}")
        if key.text in ("badge", "guard", "guard_size", "paddr"):
            return _int(t.text, self.path, t.line)
        if self.at(":") and key.text not in ("masked",):  # PCI address like 0:0.0
            self.next()
            return f"{t.text}:{self.word('a PCI address').text}"
        return t.text

    # -- caps ------------------------------------------------------------------------------
    def _sec_caps(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            name, sel, line = self._ref("a container object name")
            if self.at("="):
                if sel is not None:
                    raise FormatError(self.path, line, f"bad cap name {name!r}")
                self.next()
                self.expect("(", f"before (container, slot) of cap name {name!r}")
                cref = self._ref("a container object name")
                self.expect(",", "in (container, slot)")
                slot = self._slot_word()
                self.expect(")", "to close (container, slot)")
                self._name_cap(name, ("slot", cref, slot, line), line)
                continue
            if not self.at("{"):
                raise self.err(f"expected '{{' or '=' after {name!r} in the caps section")
            opened = self.next()
            containers = self._select(name, sel, line)
            entries: list[_Entry] = []
            while not self.at("}"):
                if self.peek().kind == "eof":
                    raise self.err(f"unexpected end of file: caps of {name!r} opened at line "
                                   f"{opened.line} not closed")
                if self.at(";") or self.at(","):
                    self.next()
                    continue
                entries.append(self._entry(containers))
            self.next()
            for c in containers:
                self.entries.setdefault(c, []).extend(entries)

    def _slot_word(self) -> int:
        t = self.word("a slot number or name")
        if t.text in TCB_SLOTS or t.text in _ALIASES:
            return TCB_SLOTS.get(t.text, _ALIASES.get(t.text))
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
                raise self.err(f"expected 'child_of' after '-', found {kw.text!r}", kw)
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
        self._cap_ref()
        if self.at("{"):
            self.next()
            while not self.at("}"):
                if self.peek().kind == "eof":
                    raise self.err("unexpected end of file in a cdt tree")
                self._cdt_ref()
            self.next()

    def _sec_cdt(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            self._cdt_ref()

    def _sec_domains(self) -> None:
        while not self.at("}") and self.peek().kind != "eof":
            key = self.word("a domains setting")
            self.expect(":", f"after {key.text!r}")
            self._value(key)

    # -- resolution ------------------------------------------------------------------------
    def _select(self, name: str, sel, line: int) -> list[str]:
        """Objects ``name`` / ``name[sel]`` denotes (specials only without a selection)."""
        if sel is None:
            if name in self.objs:
                return [name]
            if name in self.arrays:
                raise FormatError(self.path, line, f"array {name!r} used without an index")
            if name in SPECIALS:
                return [name]
            raise FormatError(self.path, line, f"undeclared object {name!r}")
        names = self.arrays.get(name)
        if names is None:
            raise FormatError(self.path, line, f"{name!r} is not a declared array")
        return [names[i] for i in _indices(sel, len(names), name, self.path, line)]

    def _resolve(self, e: _Entry) -> list[_Cap]:
        key = id(e)
        if key in self.memo:
            return self.memo[key]
        if key in self.busy:
            raise FormatError(self.path, e.line, "circular cap copy")
        self.busy.add(key)
        kind, name, sel, line = e.expr
        rights = e.params.get("rights", "")
        if kind == "obj":
            caps = [_Cap(t, rights, e.params, line) for t in self._select(name, sel, line)]
        else:
            src = self._named(name, line)
            if sel is not None:
                src = [src[i] for i in _indices(sel, len(src), name, self.path, line)]
            caps = []
            for c in src:
                params = {**c.params, **e.params}
                r = c.rights
                if "masked" in e.params:
                    mask = _grant(str(e.params["masked"]))
                    r = "".join(ch for ch in r if _grant(ch) in mask)
                if "rights" in e.params:
                    r = e.params["rights"]
                params["rights"] = r
                caps.append(_Cap(c.target, r, params, line))
        self.busy.discard(key)
        self.memo[key] = caps
        return caps

    def _named(self, name: str, line: int) -> list[_Cap]:
        how = self.named.get(name)
        if how is None:
            raise FormatError(self.path, line, f"copy of undefined cap name <{name}>")
        if how[0] == "entry":
            return self._resolve(how[1])
        _, (cname, csel, cline), slot, _ = how
        container = self._select(cname, csel, cline)[0]
        cap = self._fill(container).get(slot)
        if cap is None:
            raise FormatError(self.path, line, f"cap name {name!r} refers to empty slot "
                              f"{slot} of {container!r}")
        return [cap]

    def _fill(self, container: str) -> dict[int, _Cap]:
        if container in self.filled:
            return self.filled[container]
        if container in self.busy:
            raise FormatError(self.path, self.entries[container][0].line,
                              f"circular cap reference through {container!r}")
        self.busy.add(container)
        slots: dict[int, _Cap] = {}
        nxt = 0
        for e in self.entries.get(container, ()):
            caps = self._resolve(e)
            start = nxt if e.slot is None else e.slot
            for k, c in enumerate(caps):
                if start + k in slots:
                    raise FormatError(self.path, e.line, f"slot {start + k} of {container!r} "
                                      "filled twice")
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
        granted = self._granted(filled)
        g = SchemaGraph()
        for name, o in self.objs.items():
            self._vertex(g, name, o, irq_of, name in granted)
        for c in sorted(filled):
            tcb = self.objs[c].type == "tcb"
            for slot in sorted(filled[c]):
                self._edge(g, c, slot, filled[c][slot], tcb)
        G = g.graph
        G.graph.update(arch=self.arch, source=self.path)
        return G

    def _resolve_covers(self) -> None:
        """The references in untypeds' covers, now that every object is declared; an
        untyped known only from ``a/b/c`` paths gets its type."""
        for parent, (name, sel, line), _ in self.covers:
            for child in self._select(name, sel, line):
                if child in SPECIALS and child not in self.objs:
                    raise FormatError(self.path, line, f"undeclared object {child!r}")
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
                raise FormatError(self.path, self.entries[c][0].line,
                                  f"caps for undeclared object {c!r}")
        return {c: self._fill(c) for c in self.entries}

    @staticmethod
    def _granted(filled: dict[str, dict[int, _Cap]]) -> set[str]:
        """The objects some cap with grant or grant-reply rights designates."""
        return {cap.target for slots in filled.values() for cap in slots.values()
                if _grant(cap.rights) & set("GP")}

    def _vertex(self, g: SchemaGraph, name: str, o: _Obj, irq_of: dict[str, int],
                granted: bool) -> None:
        """Object ``name``'s vertex (``granted``: some cap to it has grant rights)."""
        assert o.type is not None                   # every object is typed by now
        attrs: dict[str, Any] = {"source_type": o.type}
        for k in ("size_bits", "paddr"):
            if k in o.params:
                attrs[k] = o.params[k]
        if o.covered_by is not None:
            attrs["covered_by"] = o.covered_by
        if name in irq_of:
            attrs["irq"] = irq_of[name]
        g.vertex(name, _kind(o.type, granted), **attrs)
        if o.type == "frame":
            g.graph.nodes[name]["device"] = "paddr" in o.params or "device" in o.params

    def _edge(self, g: SchemaGraph, c: str, slot: int, cap: _Cap, tcb: bool) -> None:
        """The key in ``slot`` of container ``c`` (a special target gets its vertex)."""
        if cap.target not in g.graph:
            g.vertex(cap.target, "misc", source_type=cap.target)
        kt, ro, sk = self._key(cap, tcb, slot, g.graph.nodes[cap.target]["kind"])
        extra: dict[str, Any] = {k: cap.params[k] for k in ("badge", "guard", "guard_size")
                                 if k in cap.params}
        if tcb:
            extra["slot_name"] = _SLOT_NAME.get(slot, str(slot))
        g.key(c, cap.target, kt, read_only=ro, slot=slot, slot_kind=sk,
              capdl_rights=cap.rights, **extra)

    def _key(self, cap: _Cap, tcb: bool, slot: int, kind: str) -> tuple[str, bool, str]:
        w = "W" in cap.rights
        if tcb:
            role = {0: ("node", False, "key_register"), 1: ("segment", not w, "address"),
                    4: ("page", not w, "address"), 5: ("start", False, "keeper"),
                    7: ("start", False, "keeper")}
            return role.get(slot, ("misc", False, "key_register"))
        ttype = self.objs[cap.target].type if cap.target in self.objs else cap.target
        if ttype == "tcb":
            resume = "reply" in cap.params or "master_reply" in cap.params
            return ("resume" if resume else "domain"), False, "slot"
        if ttype == "ut":
            return "node_range", False, "slot"
        if kind == "domain":
            return "start", False, "slot"
        if kind == "page":
            return "page", not w, "slot"
        if kind == "node":
            return "node", False, "slot"
        return "misc", False, "slot"


def _grant(rights: str) -> set[str]:
    return {"G" if ch == "X" else ch for ch in rights}


def _kind(type_: str, granted: bool) -> str:
    if type_ == "tcb":
        return "domain"
    if type_ in NODE_TYPES:
        return "node"
    if type_ == "frame":
        return "page"
    if type_ in CHANNEL_TYPES:
        return "domain" if granted else "page"
    return "misc"


def _indices(sel: list, size: int, name: str, path: str, line: int) -> list[int]:
    out = []
    for lo, hi in sel:
        lo = 0 if lo is None else lo
        hi = size - 1 if hi is None else hi
        rng = range(lo, hi + 1) if lo <= hi else range(lo, hi - 1, -1)
        for i in rng:
            if not 0 <= i < size:
                raise FormatError(path, line, f"index {i} out of range for {name!r} "
                                  f"(size {size})")
            out.append(i)
    return out


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
    p = _Parser(text, str(name))
    p.parse()
    return p.graph()


def read_capdl(path: str | PathLike) -> nx.MultiDiGraph:
    """Read a capDL file into a capability graph (module docstring: the mapping).

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "s.cdl")
    ...     _ = open(p, "w").write("arch ia32 objects { a = tcb  b = ep } caps { a { 5: b } }")
    ...     G = read_capdl(p)
    >>> d = G.get_edge_data("a", "b")[0]
    >>> d["key_type"], d["slot_kind"], d["slot_name"]
    ('start', 'keeper', 'fault_ep_slot')
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(path, None, f"not UTF-8 text: {exc}") from None
    return read_capdl_text(text, str(path))
