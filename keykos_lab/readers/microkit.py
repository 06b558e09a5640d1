"""Reading seL4 Microkit System Description Files (SDF, ``*.system``) as capability graphs.

An SDF is an XML document with root ``<system>`` (format: the chapter "System Description
File" of the seL4 Microkit manual, ``docs/manual.md`` in https://github.com/seL4/microkit;
its checks: ``tool/microkit/src/sdf.rs``; the capabilities each element becomes:
``tool/microkit/src/capdl/builder.rs``). The reader parses it with the standard library's
expat as UTF-8 (the Microkit tool reads UTF-8 only), every element with its line; DTDs and
entity declarations are refused. It checks that each element is one the SDF allows where it
stands, then resolves names in a second linear pass, so that an element may name one
declared later in the file. Bad input of any kind raises :class:`FormatError` with the file,
the line and the reason, and nothing partially read is returned. Hostile input is bounded by
:mod:`keykos_lab.readers.limits` (file size, numbers, nesting depth, elements, vertices,
edges).

Mapping
-------
The analyses may over-approximate, never under-approximate
(docs/analyses.md#analyses-readers-mapping). "builder" is ``tool/microkit/src/capdl/
builder.rs``, "sdf" ``tool/microkit/src/sdf.rs``; rows marked **over** give more than the
system allows.

+--------------------------+--------------------------------------+--------------------------------+
| SDF                      | graph                                | follows                        |
+==========================+======================================+================================+
| ``<protection_domain>``  | vertex ``domain`` (``program ""``:   |                                |
|                          | it acts freely), id the PD's name;   |                                |
|                          | attributes ``priority``, ``budget``, |                                |
|                          | ``period``, ``passive``,             |                                |
|                          | ``stack_size``, ``cpu``,             |                                |
|                          | ``sched_domain``, ``pp``, ``image``, |                                |
|                          | ``child_id``                         |                                |
+--------------------------+--------------------------------------+--------------------------------+
| the PD's notification    | vertex ``page``                      | builder step 3-7 (made with    |
| object                   | ``notification:<pd>``; the PD's      | read and write)                |
|                          | read-write ``page`` key to it (bound |                                |
|                          | to its TCB: it waits on it)          |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<channel>``            | vertex ``page``                      |                                |
|                          | ``channel:<A>:<i>-<B>:<j>``          |                                |
|                          | (``channel=True``): the channel as   |                                |
|                          | the SDF declares it; each end's      |                                |
|                          | ``page`` key to it, ``slot`` the     |                                |
|                          | end's id, read-write when that end   |                                |
|                          | may notify, read-only otherwise. On  |                                |
|                          | its own this would under-approximate |                                |
|                          | (next row); it names the channel     |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<channel>`` end with   | read-write ``page`` key that end's   | builder step 4 (the notify cap |
| ``notify`` (default      | PD → ``notification:<other PD>``,    | is made with read and write)   |
| true)                    | ``slot`` the end's id, ``channel``   |                                |
|                          | the channel's name: the cap has      |                                |
|                          | **Read** as well as Write, so a PD   |                                |
|                          | that can notify another can also     |                                |
|                          | wait on its notification and take    |                                |
|                          | the signals every other PD and IRQ   |                                |
|                          | sends it                             |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<end pp="true">``      | ``start`` key caller → callee,       | builder step 4 (read, write    |
| (Microkit 2.0) /         | ``slot`` the caller's id,            | and grant)                     |
| ``<protection_domain     | ``pp_style`` ``end`` or ``pd``       |                                |
| pp="true">`` (<= 1.4.1)  | (calls and replies; the endpoint cap |                                |
|                          | is Read-Write-Grant, so caps cross   |                                |
|                          | both ways: the start key's link)     |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``pp="true"`` on both    | refused                              | sdf ("cannot ppc               |
| ends, a PPC to a PD of   |                                      | bidirectionally"; "PPCs must   |
| equal or lower priority  |                                      | be to protection domains of    |
|                          |                                      | strictly higher priorities")   |
+--------------------------+--------------------------------------+--------------------------------+
| channel and IRQ ``id``   | 0 to 61 (``PD_MAX_ID``; the manual   | sdf ``PD_MAX_ID``, "duplicate  |
|                          | says "less than 63", the tool        | channel id"                    |
|                          | refuses 62), one id space per PD     |                                |
|                          | shared by channels and IRQs          |                                |
+--------------------------+--------------------------------------+--------------------------------+
| the monitor's fault      | vertex ``domain``                    | builder steps 3-5, 3-6         |
| endpoint                 | ``monitor:fault_ep``                 | (``PD_FAULT_EP_CAP_IDX``,      |
|                          | (``relay=True``); a ``start`` key    | ``PD_MONITOR_EP_CAP_IDX``)     |
|                          | from every top-level PD (its CSpace  |                                |
|                          | slot 2 holds a Read-Write-Grant cap  |                                |
|                          | to it) and from every passive PD     |                                |
|                          | (slot 5): through it a PD can        |                                |
|                          | receive another's faults and send it |                                |
|                          | caps (**over** for Microkit <= 2.0,  |                                |
|                          | where only passive PDs held it;      |                                |
|                          | faults still went there).            |                                |
|                          | ``monitor=False`` leaves it out --   |                                |
|                          | unsound, for studying the channels   |                                |
|                          | the SDF itself declares              |                                |
+--------------------------+--------------------------------------+--------------------------------+
| a                        | ``domain`` key parent → child        | builder step 3-5               |
| ``<protection_domain>``  | (``slot`` the child's ``id``; the    |                                |
| inside another           | parent holds its TCB cap and handles |                                |
|                          | its faults) and ``start`` key child  |                                |
|                          | → parent (slot 2: the child's fault  |                                |
|                          | endpoint is the parent's endpoint,   |                                |
|                          | Read-Write-Grant)                    |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<virtual_machine>``    | vertex ``domain`` with ``vm=True``,  | sdf ``VCPU_MAX_ID``, builder   |
|                          | ``vcpus``; ``domain`` key from the   | step 3-11                      |
|                          | PD it sits in (its VMM); vCPU ids 0  |                                |
|                          | to 61, unique, not a child PD's id   |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<memory_region>``      | vertex ``page`` ``mr:<name>``,       |                                |
|                          | ``device=True`` iff ``phys_addr``    |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<map>`` (in a PD or a  | ``page`` key holder → region,        | sdf ``SysMap::from_xml``       |
| VM)                      | ``slot_kind`` ``address``, read-only |                                |
|                          | unless ``perms`` (default ``rw``)    |                                |
|                          | has ``w``; ``perms="w"`` refused (no |                                |
|                          | write-only mappings)                 |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<irq irq= id=>``       | vertex ``misc`` ``irq:<number>``;    | sdf ("duplicate irq")          |
|                          | ``misc`` key PD → IRQ; an IRQ number |                                |
|                          | held by two PDs refused              |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<cspace>``:            | ``domain`` key PD → named PD         | sdf ``CapMap::from_xml``,      |
| ``<cap_tcb>``,           | (**over** for ``cap_vspace``: a      | builder step 6                 |
| ``<cap_vspace>``         | VSpace cap alone maps nothing);      |                                |
|                          | ``<cap_sc>`` → ``meter`` key;        |                                |
|                          | ``slot_kind`` ``key_register`` (the  |                                |
|                          | PD invokes what its CSpace holds),   |                                |
|                          | ``slot`` the given slot, 1 to 127    |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<ioport>`` (x86)       | vertex ``misc`` ``ioport:<addr>``;   |                                |
|                          | ``misc`` key PD → port; ids unique   |                                |
|                          | per PD                               |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<io_address_space>``   | vertex ``domain``                    |                                |
|                          | ``io_address_space:<name>`` with     |                                |
|                          | ``device=True``: a DMA device does   |                                |
|                          | what its driver programs it to do    |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<iomap perms>``        | ``page`` key device → region,        | sdf ``SysIOMapPerms``          |
|                          | ``address``; ``r`` read-only, ``w``  |                                |
|                          | or ``rw`` read-write (**over** for   |                                |
|                          | ``w``: there are no write-only keys) |                                |
+--------------------------+--------------------------------------+--------------------------------+
| ``<program_image>``,     | no edges (``setvar region_paddr``    |                                |
| ``<setvar>``,            | must name a region)                  |                                |
| ``<domains>`` ...        |                                      |                                |
+--------------------------+--------------------------------------+--------------------------------+

The text must be UTF-8, and an XML declaration naming another encoding is refused (the
Microkit tool reads UTF-8 only; no codec is ever looked up by name). Numbers are decimal or
``0x`` hexadecimal with optional ``_`` separators and must fit 64
bits; booleans are ``true`` / ``false``. Attributes the reader does not use are ignored;
unknown elements, missing required attributes, bad numbers, duplicate names or ids and
references to undeclared PDs or regions are errors. Not supported: x86 IRQs given by
``pin`` or ``pcidev`` (refused, not guessed).

>>> G = read_microkit_text('''<system>
...   <memory_region name="buf" size="0x1_000" />
...   <protection_domain name="a"><map mr="buf" vaddr="0x2000000" perms="r" /></protection_domain>
... </system>''')
>>> sorted(G.nodes(data="kind"))
[('a', 'domain'), ('monitor:fault_ep', 'domain'), ('mr:buf', 'page'), ('notification:a', 'page')]
>>> d = G.get_edge_data("a", "mr:buf")[0]
>>> d["key_type"], sorted(d["rights"]), d["vaddr"], d["slot_kind"]
('page', ['read'], 33554432, 'address')
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from xml.parsers import expat

import networkx as nx

from keykos_lab.readers import limits
from keykos_lab.readers.errors import FormatError
from keykos_lab.readers.limits import Budget, shown
from keykos_lab.views.schema import SchemaGraph

__all__ = ["read_microkit", "read_microkit_text"]

#: A file name as the readers take it (only ever shown in messages).
_Path = str | os.PathLike[str]

#: Channel, IRQ, I/O port and vCPU ids run from 0 to this (sdf.rs ``PD_MAX_ID``).
PD_MAX_ID = 61
#: Slots of ``<cspace>`` caps run from 1 to this minus one (sdf.rs ``CAP_MAP_MAX_SLOT``).
CAP_MAP_MAX_SLOT = 128
#: The vertex of the monitor's fault endpoint.
MONITOR = "monitor:fault_ep"

_LEAF: frozenset[str] = frozenset()
#: Which child elements each element may have (the root is ``system``).
_CHILDREN: dict[str, frozenset[str]] = {
    "system": frozenset(
        {"memory_region", "protection_domain", "channel", "domains", "io_address_space"}
    ),
    "protection_domain": frozenset(
        {
            "program_image",
            "map",
            "irq",
            "setvar",
            "ioport",
            "protection_domain",
            "virtual_machine",
            "cspace",
        }
    ),
    "virtual_machine": frozenset({"vcpu", "map"}),
    "channel": frozenset({"end"}),
    "cspace": frozenset({"cap_tcb", "cap_sc", "cap_vspace"}),
    "domains": frozenset({"domain", "domain_schedule"}),
    "domain_schedule": frozenset({"schedule_entry", "schedule_end_marker"}),
    "io_address_space": frozenset({"iomap"}),
    **{
        leaf: _LEAF
        for leaf in (
            "memory_region",
            "program_image",
            "map",
            "irq",
            "setvar",
            "ioport",
            "vcpu",
            "end",
            "cap_tcb",
            "cap_sc",
            "cap_vspace",
            "domain",
            "schedule_entry",
            "schedule_end_marker",
            "iomap",
        )
    },
}
#: Attributes an element must have.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "memory_region": ("name",),
    "protection_domain": ("name",),
    "program_image": ("path",),
    "map": ("mr", "vaddr"),
    "irq": ("id",),
    "setvar": ("symbol",),
    "ioport": ("id", "addr"),
    "virtual_machine": ("name",),
    "vcpu": ("id",),
    "end": ("pd", "id"),
    "cap_tcb": ("slot", "pd"),
    "cap_sc": ("slot", "pd"),
    "cap_vspace": ("slot", "pd"),
    "domain": ("name",),
    "schedule_entry": ("domain", "duration"),
    "io_address_space": ("name",),
    "iomap": ("mr", "iovaddr"),
}
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]*[0-9a-fA-F][0-9a-fA-F_]*|[0-9][0-9_]*")
_CAPS = {
    "cap_tcb": ("domain", "tcb"),
    "cap_vspace": ("domain", "vspace"),
    "cap_sc": ("meter", "sc"),
}


class _Elem:
    """One parsed element: tag, attributes, line, children."""

    __slots__ = ("tag", "attrs", "line", "children")

    def __init__(self, tag: str, attrs: dict[str, str], line: int) -> None:
        self.tag, self.attrs, self.line = tag, attrs, line
        self.children: list[_Elem] = []


def read_microkit(path: str | os.PathLike[str], *, monitor: bool = True) -> nx.MultiDiGraph:
    """Read the SDF file at ``path`` into a capability graph (mapping: module docstring).
    Only a regular file is read (a FIFO or a device is refused without blocking), at most
    ``limits.MAX_FILE_BYTES``, as UTF-8.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "hello.system")
    ...     _ = p.write_text('<system><protection_domain name="hello">'
    ...                      '<program_image path="hello.elf" /></protection_domain></system>')
    ...     G = read_microkit(p)
    >>> dict(G.nodes["hello"])
    {'kind': 'domain', 'label': 'hello', 'image': 'hello.elf', 'program': ''}
    """
    text = limits.decode_utf8(limits.read_file(path), path)
    return _read(text, path, monitor)


def read_microkit_text(
    text: str, name: str = "<string>", *, monitor: bool = True
) -> nx.MultiDiGraph:
    """Read an SDF given as text; ``name`` stands for the file in error messages.

    >>> G = read_microkit_text('''<system>
    ...   <protection_domain name="server" passive="true" priority="2" />
    ...   <protection_domain name="client" priority="1" />
    ...   <channel><end pd="server" id="0" /><end pd="client" id="0" pp="true" /></channel>
    ... </system>''', monitor=False)
    >>> sorted((u, v, k) for u, v, k in G.edges(data="key_type"))
    [('client', 'channel:server:0-client:0', 'page'), ('client', 'notification:client', 'page'),
     ('client', 'notification:server', 'page'), ('client', 'server', 'start'),
     ('server', 'channel:server:0-client:0', 'page'), ('server', 'notification:client', 'page'),
     ('server', 'notification:server', 'page')]
    >>> read_microkit_text('<system><bogus /></system>', "x.system")
    Traceback (most recent call last):
    ...
    keykos_lab.readers.errors.FormatError: x.system:1: element <bogus> is not allowed in <system>
    """
    return _read(text, name, monitor)


_DECLARED = re.compile(r"""\A\ufeff?<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


def _read(text: str, path: _Path, monitor: bool) -> nx.MultiDiGraph:
    parser, stack = _parser(path)
    with limits.reading(path, lambda: parser.CurrentLineNumber):
        if len(text) > limits.MAX_FILE_BYTES:
            raise FormatError(
                path,
                text.count("\n", 0, limits.MAX_FILE_BYTES) + 1,
                f"larger than MAX_FILE_BYTES = {limits.MAX_FILE_BYTES:,}: refused",
            )
        declared = _DECLARED.match(text[:512])
        if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise FormatError(
                path,
                1,
                f"encoding {shown(declared.group(1))} declared: the Microkit tool reads UTF-8 only",
            )
        try:
            parser.Parse(text, True)
        except expat.ExpatError as e:
            raise FormatError(path, e.lineno, f"XML: {expat.errors.messages[e.code]}") from None
        except UnicodeEncodeError as e:  # lone surrogates: text that is not Unicode
            line = text.count("\n", 0, e.start) + 1
            raise FormatError(path, line, f"not valid Unicode text ({e.reason})") from None
        return _Builder(path, _root(path, stack), monitor).build()


# --- parsing -------------------------------------------------------------------------------


def _parser(path: _Path) -> tuple[expat.XMLParserType, list[_Elem]]:
    """An expat parser that builds ``_Elem``s; the stack's bottom is a sentinel. The text is
    read as UTF-8 whatever its declaration says (no codec is ever looked up by name)."""
    parser = expat.ParserCreate(encoding="UTF-8")
    top = _Elem("#document", {}, 0)
    stack = [top]
    count = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        parent = stack[-1]
        if parent is top:
            if tag != "system" or parent.children:
                raise FormatError(
                    path, line, f"the root element must be <system>, not <{shown(tag)[1:-1]}>"
                )
        elif tag not in _CHILDREN[parent.tag]:
            raise FormatError(
                path, line, f"element <{shown(tag)[1:-1]}> is not allowed in <{parent.tag}>"
            )
        if len(stack) > limits.MAX_NESTING:
            raise FormatError(
                path,
                line,
                f"elements nested deeper than MAX_NESTING = {limits.MAX_NESTING}: refused",
            )
        count[0] += 1
        if count[0] > limits.MAX_EDGES:
            raise FormatError(
                path, line, f"more than MAX_EDGES = {limits.MAX_EDGES:,} elements: refused"
            )
        for a in _REQUIRED.get(tag, ()):
            if a not in attrs:
                raise FormatError(path, line, f"<{tag}> needs the attribute {a!r}")
        e = _Elem(tag, attrs, line)
        parent.children.append(e)
        stack.append(e)

    def end(tag: str) -> None:
        stack.pop()

    def no_dtd(*args: object) -> None:
        raise FormatError(path, parser.CurrentLineNumber, "DTDs and entities are not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    return parser, stack


def _root(path: _Path, stack: list[_Elem]) -> _Elem:
    if len(stack) != 1 or not stack[0].children:
        raise FormatError(path, None, "no <system> element")
    return stack[0].children[0]


def _number(path: _Path, e: _Elem, attr: str) -> int:
    s = e.attrs[attr].strip()
    if len(s) > limits.MAX_NUMBER_CHARS:
        raise FormatError(
            path,
            e.line,
            f"<{e.tag}> {attr}= has {len(s):,} characters (more "
            f"than MAX_NUMBER_CHARS = {limits.MAX_NUMBER_CHARS}): refused",
        )
    if not _NUMBER.fullmatch(s):
        raise FormatError(path, e.line, f"<{e.tag}> {attr}={shown(s)} is not a number")
    s = s.replace("_", "")
    value = int(s[2:], 16) if s[:2] in ("0x", "0X") else int(s)
    if value >= 1 << 64:
        raise FormatError(path, e.line, f"<{e.tag}> {attr}={shown(s)} does not fit 64 bits")
    return value


def _bool(path: _Path, e: _Elem, attr: str, default: bool) -> bool:
    s = e.attrs.get(attr)
    if s is None:
        return default
    if s not in ("true", "false"):
        raise FormatError(path, e.line, f"<{e.tag}> {attr}={shown(s)} is not true or false")
    return s == "true"


# --- building ------------------------------------------------------------------------------

#: A ``<protection_domain>`` or ``<virtual_machine>`` and the PD element it sits in.
_Placed = tuple[_Elem, _Elem | None]
#: A channel ``<end>``: the element, its PD's name, its channel id.
_End = tuple[_Elem, str, int]


class _Builder:
    """Builds one SDF's capability graph: a method per element kind (mapping: the module
    docstring). ``build`` calls them in a fixed order, which also fixes the error a file with
    several faults reports.

    ``g`` is the graph being built; ``taken`` maps the vertex ids of PDs, VMs and regions to
    the line declaring them, ``pd_names`` a PD or VM name to its element, ``regions`` holds
    the declared region names, ``ids`` maps (PD, channel or IRQ id) to its line and ``irqs``
    an IRQ number to its line.
    """

    def __init__(self, path: _Path, system: _Elem, monitor: bool) -> None:
        self.path, self.system, self.monitor = path, system, monitor
        self.g = SchemaGraph()
        self.budget = Budget(path)
        self.taken: dict[str, int] = {}
        self.pd_names: dict[str, _Elem] = {}
        self.regions: set[str] = set()
        self.ids: dict[tuple[str, int], int] = {}
        self.irqs: dict[int, int] = {}
        self.ioport_ids: dict[tuple[str, int], int] = {}
        self.vcpu_ids: dict[str, dict[int, int]] = {}
        #: What a PD or VM may hold, by child element; other children convey no authority.
        self.held: dict[str, Callable[[str, _Elem], None]] = {
            "map": self.map,
            "irq": self.irq,
            "setvar": self.setvar,
            "ioport": self.ioport,
            "cspace": self.cspace,
        }

    def vertex(self, vid: str, kind: str, line: int | None, *args: Any, **attrs: Any) -> None:
        self.budget.vertices(1, line)
        self.g.vertex(vid, kind, *args, **attrs)

    def key(self, u: str, v: str, key_type: str, line: int | None, **attrs: Any) -> None:
        self.budget.edges(1, line)
        self.g.key(u, v, key_type, **attrs)

    def build(self) -> nx.MultiDiGraph:
        # Pass 1: every PD and VM (any depth) and every region, so references may point
        # forward.
        pds = self.pds_and_vms()
        for e, _ in pds:
            self.new_vertex(e.attrs["name"], e, "protection domain or virtual machine name")
            self.pd_names[e.attrs["name"]] = e
        for e in self.top("memory_region"):
            self.memory_region(e)
        # Pass 2: the vertices of PDs and VMs, then what each holds.
        for e, _ in pds:
            if e.tag == "virtual_machine":
                self.virtual_machine(e)
            else:
                self.protection_domain(e)
        if self.monitor and any(e.tag == "protection_domain" for e, _ in pds):
            self.misc_vertex(MONITOR, self.system, kind="domain", relay=True)
        for e, parent in pds:
            self.holdings(e, parent)
        for ch in self.top("channel"):
            self.channel(ch)
        for sp in self.top("io_address_space"):  # IOMMU address spaces (x86 DMA)
            self.io_address_space(sp)
        return self.g.graph

    # ---- names and vertices
    def top(self, tag: str) -> Iterator[_Elem]:
        """The children of ``<system>`` with this tag, in file order."""
        return (e for e in self.system.children if e.tag == tag)

    def pds_and_vms(self) -> list[_Placed]:
        """Every PD and VM at any depth, with the PD it sits in, sorted by line (elements
        on one line keep the order of this depth-first walk, which visits the last first)."""
        pds: list[_Placed] = []
        todo: list[_Placed] = [(c, None) for c in self.top("protection_domain")]
        while todo:
            e, parent = todo.pop()
            pds.append((e, parent))
            todo.extend(
                (c, e) for c in e.children if c.tag in ("protection_domain", "virtual_machine")
            )
        pds.sort(key=lambda p: p[0].line)
        return pds

    def new_vertex(self, vid: str, e: _Elem, what: str) -> None:
        if vid in self.taken:
            raise FormatError(
                self.path,
                e.line,
                f"duplicate {what} {shown(vid)} (first on line {self.taken[vid]})",
            )
        self.taken[vid] = e.line

    def misc_vertex(self, vid: str, e: _Elem, kind: str = "misc", **attrs: Any) -> None:
        if vid in self.pd_names:
            raise FormatError(self.path, e.line, f"vertex {shown(vid)} clashes with a PD name")
        if vid not in self.g.graph:
            self.vertex(vid, kind, e.line, **attrs)

    def region_ref(self, e: _Elem, attr: str = "mr") -> str:
        """The vertex of the region ``e``'s ``attr`` names, which must be declared."""
        name = e.attrs[attr]
        if name not in self.regions:
            raise FormatError(
                self.path, e.line, f"<{e.tag}> names no declared memory region {shown(name)}"
            )
        return "mr:" + name

    def pd_ref(self, e: _Elem, attr: str = "pd") -> str:
        """The PD ``e``'s ``attr`` names, which must be a PD (not a VM)."""
        name = e.attrs[attr]
        if name not in self.pd_names or self.pd_names[name].tag != "protection_domain":
            raise FormatError(
                self.path, e.line, f"<{e.tag}> names no protection domain {shown(name)}"
            )
        return name

    def channel_id(self, e: _Elem, pd: str, attr: str = "id") -> int:
        """An ``id`` (channel or IRQ) of ``pd``: 0 to ``PD_MAX_ID``, not used before by that PD
        (channels and IRQs share one id space: sdf.rs, "duplicate channel id")."""
        cid = _number(self.path, e, attr)
        if cid > PD_MAX_ID:
            raise FormatError(self.path, e.line, f"<{e.tag}> id={cid}: must be < {PD_MAX_ID + 1}")
        if (pd, cid) in self.ids:
            raise FormatError(
                self.path,
                e.line,
                f"channel id {cid} of {shown(pd)} already used on line {self.ids[pd, cid]}",
            )
        self.ids[pd, cid] = e.line
        return cid

    # ---- elements that make vertices
    def memory_region(self, e: _Elem) -> None:
        attrs: dict[str, Any] = {"device": "phys_addr" in e.attrs}
        for a in ("size", "page_size", "phys_addr"):
            if a in e.attrs:
                attrs[a] = _number(self.path, e, a)
        if "size" not in e.attrs and not (
            "prefill_path" in e.attrs or "prefill_bootinfo" in e.attrs
        ):
            raise FormatError(self.path, e.line, "<memory_region> needs the attribute 'size'")
        vid = "mr:" + e.attrs["name"]
        self.new_vertex(vid, e, "memory region")
        self.vertex(vid, "page", e.line, e.attrs["name"], **attrs)
        self.regions.add(e.attrs["name"])

    def virtual_machine(self, e: _Elem) -> None:
        name = e.attrs["name"]
        vcpus: dict[int, int] = {}
        for c in e.children:
            if c.tag == "vcpu":
                vid = _number(self.path, c, "id")
                if vid > PD_MAX_ID:
                    raise FormatError(
                        self.path, c.line, f"<vcpu> id={vid}: must be < {PD_MAX_ID + 1}"
                    )
                if vid in vcpus:
                    raise FormatError(
                        self.path, c.line, f"duplicate vcpu id {vid} (first on line {vcpus[vid]})"
                    )
                vcpus[vid] = c.line
        self.vertex(name, "domain", e.line, name, vm=True, vcpus=len(vcpus))
        self.vcpu_ids[name] = vcpus

    def protection_domain(self, e: _Elem) -> None:
        attrs: dict[str, Any] = {}
        for a in ("priority", "budget", "period", "stack_size", "cpu"):
            if a in e.attrs:
                attrs[a] = _number(self.path, e, a)
        for a in ("passive", "pp"):
            if a in e.attrs:
                attrs[a] = _bool(self.path, e, a, False)
        if "domain" in e.attrs:
            attrs["sched_domain"] = e.attrs["domain"]
        if "id" in e.attrs:
            attrs["child_id"] = _number(self.path, e, "id")
        images = [c for c in e.children if c.tag == "program_image"]
        if len(images) > 1:
            raise FormatError(self.path, images[1].line, "a second <program_image>")
        if images:
            attrs["image"] = images[0].attrs["path"]
        name = e.attrs["name"]
        if name == MONITOR or name.startswith("notification:"):
            raise FormatError(self.path, e.line, f"the PD name {shown(name)} is reserved")
        self.vertex(name, "domain", e.line, name, **attrs)
        ntfn = "notification:" + name
        self.misc_vertex(ntfn, e, kind="page", notification=True)
        self.key(name, ntfn, "page", e.line, slot=-1, cap="notification")

    # ---- what a PD or VM holds
    def holdings(self, e: _Elem, parent: _Elem | None) -> None:
        """The keys of PD or VM ``e``: its parent's key to it, its fault endpoint, then its
        children's."""
        name = e.attrs["name"]
        if parent is not None:
            self.nested(parent, e)
        elif self.monitor and e.tag == "protection_domain":
            self.key(name, MONITOR, "start", e.line, slot=2, cap="fault_ep")
        if self.monitor and e.tag == "protection_domain" and _bool(self.path, e, "passive", False):
            self.key(name, MONITOR, "start", e.line, slot=5, cap="monitor_ep")
        for c in e.children:
            handle = self.held.get(c.tag)
            if handle is not None:
                handle(name, c)

    def nested(self, parent: _Elem, e: _Elem) -> None:
        """A PD or VM inside PD ``parent``: the parent controls it; a child PD's fault
        endpoint, in its own CSpace, is the parent's endpoint."""
        slot = _number(self.path, e, "id") if "id" in e.attrs else -1
        pname, name = parent.attrs["name"], e.attrs["name"]
        if e.tag == "protection_domain":
            siblings = [
                c
                for c in parent.children
                if c.tag == "protection_domain"
                and c is not e
                and c.line < e.line
                and "id" in c.attrs
            ]
            if slot >= 0 and any(_number(self.path, c, "id") == slot for c in siblings):
                raise FormatError(self.path, e.line, f"duplicate child id {slot} in {shown(pname)}")
            vms = [c.attrs["name"] for c in parent.children if c.tag == "virtual_machine"]
            if any(slot in self.vcpu_ids.get(vm, {}) for vm in vms):
                raise FormatError(
                    self.path, e.line, f"child id {slot} clashes with a vCPU id of {shown(pname)}"
                )
        self.key(pname, name, "domain", e.line, slot=slot, child=e.tag == "protection_domain")
        if e.tag == "protection_domain":
            self.key(name, pname, "start", e.line, slot=2, cap="fault_ep")

    def map(self, holder: str, m: _Elem) -> None:
        perms = m.attrs.get("perms", "rw")
        if set(perms) - set("rwx"):
            raise FormatError(
                self.path, m.line, f"<map> perms={shown(perms)}: must be made of 'r', 'w' and 'x'"
            )
        if set(perms) == {"w"}:
            raise FormatError(
                self.path, m.line, "<map> perms='w': write-only mappings are not allowed"
            )
        self.key(
            holder,
            self.region_ref(m),
            "page",
            m.line,
            read_only="w" not in perms,
            slot_kind="address",
            vaddr=_number(self.path, m, "vaddr"),
            perms=perms,
            cached=_bool(self.path, m, "cached", True),
        )

    def irq(self, holder: str, c: _Elem) -> None:
        if "irq" not in c.attrs:
            raise FormatError(
                self.path,
                c.line,
                "<irq> needs the attribute 'irq' (x86 pin/vector IRQs are not supported)",
            )
        n = _number(self.path, c, "irq")
        cid = self.channel_id(c, holder)
        if n in self.irqs:
            raise FormatError(
                self.path, c.line, f"duplicate irq {n} (first on line {self.irqs[n]})"
            )
        self.irqs[n] = c.line
        self.misc_vertex(f"irq:{n}", c, irq=n)
        extra: dict[str, Any] = {"trigger": c.attrs["trigger"]} if "trigger" in c.attrs else {}
        self.key(holder, f"irq:{n}", "misc", c.line, slot=cid, **extra)

    def setvar(self, holder: str, c: _Elem) -> None:
        """No key; a ``region_paddr`` must name a declared region."""
        if "region_paddr" in c.attrs:
            self.region_ref(c, "region_paddr")

    def ioport(self, holder: str, c: _Elem) -> None:
        addr = _number(self.path, c, "addr")
        size = _number(self.path, c, "size") if "size" in c.attrs else 1
        pid = _number(self.path, c, "id")
        if pid > PD_MAX_ID:
            raise FormatError(self.path, c.line, f"<ioport> id={pid}: must be < {PD_MAX_ID + 1}")
        if (holder, pid) in self.ioport_ids:
            raise FormatError(
                self.path,
                c.line,
                f"duplicate I/O port id {pid} (first on line {self.ioport_ids[holder, pid]})",
            )
        self.ioport_ids[holder, pid] = c.line
        self.misc_vertex(f"ioport:{addr:#x}", c, addr=addr, size=size)
        self.key(holder, f"ioport:{addr:#x}", "misc", c.line, slot=pid)

    def cspace(self, holder: str, c: _Elem) -> None:
        for cap in c.children:
            key_type, what = _CAPS[cap.tag]
            slot = _number(self.path, cap, "slot")
            if not 0 < slot < CAP_MAP_MAX_SLOT:
                raise FormatError(
                    self.path,
                    cap.line,
                    f"<{cap.tag}> slot={slot}: must be 1 to {CAP_MAP_MAX_SLOT - 1}",
                )
            self.key(
                holder,
                self.pd_ref(cap),
                key_type,
                cap.line,
                slot=slot,
                slot_kind="key_register",
                cap=what,
            )  # in its CSpace: it invokes them

    # ---- channels
    def channel(self, ch: _Elem) -> None:
        if len(ch.children) != 2:
            raise FormatError(self.path, ch.line, f"<channel> has {len(ch.children)} <end>s, not 2")
        ends = [self.channel_end(end) for end in ch.children]
        (ea, a, ia), (eb, b, ib) = ends
        if _bool(self.path, ea, "pp", False) and _bool(self.path, eb, "pp", False):
            raise FormatError(
                self.path, ch.line, 'pp="true" on both ends: cannot ppc bidirectionally'
            )
        name = f"channel:{a}:{ia}-{b}:{ib}"
        if name in self.pd_names:
            raise FormatError(self.path, ch.line, f"vertex {shown(name)} clashes with a PD name")
        self.vertex(name, "page", ch.line, name, channel=True)
        pairs = ((ends[0], ends[1]), (ends[1], ends[0]))
        calls: dict[tuple[str, str, int], str] = {}
        for (e, me, my_id), (_, other, _) in pairs:
            notify = _bool(self.path, e, "notify", True)
            pp = _bool(self.path, e, "pp", False)
            self.key(
                me, name, "page", e.line, read_only=not notify, slot=my_id, notify=notify, pp=pp
            )
            if notify:
                self.key(
                    me,
                    "notification:" + other,
                    "page",
                    e.line,
                    slot=my_id,
                    channel=name,
                    notify=True,
                )
            if _bool(self.path, e, "pp", False):
                self.check_priority(e, me, other)
                calls.setdefault((me, other, my_id), "end")
            if _bool(self.path, self.pd_names[other], "pp", False):  # Microkit <= 1.4.1
                calls.setdefault((me, other, my_id), "pd")
        for (caller, callee, cid), style in calls.items():
            self.key(caller, callee, "start", ch.line, slot=cid, channel=name, pp_style=style)

    def check_priority(self, e: _Elem, caller: str, callee: str) -> None:
        """A PPC must go to a PD of strictly higher priority (sdf.rs)."""

        def prio(pd: str) -> int:
            el = self.pd_names[pd]
            return _number(self.path, el, "priority") if "priority" in el.attrs else 0

        if prio(callee) <= prio(caller):
            raise FormatError(
                self.path,
                e.line,
                f"PPCs must be to protection domains of "
                f"strictly higher priorities: {shown(caller)} ({prio(caller)}) "
                f"to {shown(callee)} ({prio(callee)})",
            )

    def channel_end(self, end: _Elem) -> _End:
        """An ``<end>``'s PD and channel id, which that PD must not have used already."""
        pd = self.pd_ref(end)
        return end, pd, self.channel_id(end, pd)

    # ---- IOMMU address spaces
    def io_address_space(self, sp: _Elem) -> None:
        vid = "io_address_space:" + sp.attrs["name"]
        if vid in self.g.graph:
            raise FormatError(self.path, sp.line, f"duplicate name {shown(sp.attrs['name'])}")
        self.misc_vertex(
            vid,
            sp,
            kind="domain",
            device=True,
            **{k: v for k, v in sp.attrs.items() if k != "name"},
        )
        for m in sp.children:
            perms = m.attrs.get("perms", "rw")
            if not perms or set(perms) - set("rw"):
                raise FormatError(
                    self.path, m.line, f"<iomap> perms={shown(perms)}: must be 'r', 'w' or 'rw'"
                )
            self.key(
                vid,
                self.region_ref(m),
                "page",
                m.line,
                read_only="w" not in perms,
                slot_kind="address",
                vaddr=_number(self.path, m, "iovaddr"),
                perms=perms,
            )
