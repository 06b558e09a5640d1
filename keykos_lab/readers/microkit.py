"""Reading seL4 Microkit System Description Files (SDF, ``*.system``) as capability graphs.

An SDF is an XML document with root ``<system>`` (format: the chapter "System Description
File" of the seL4 Microkit manual, ``docs/manual.md`` in https://github.com/seL4/microkit;
the project's overview: docs/analyses.md#analyses-real-systems). The reader parses it with the
standard library's expat (streaming, every element with its line; DTDs and entity
declarations are refused), checks that each element is one the SDF allows where it
stands, then resolves names in a second linear pass, so that an element may name one
declared later in the file. Bad input of any kind raises :class:`FormatError` with the
file, the line and the reason, and nothing partially read is returned.

Mapping onto the schema (:mod:`keykos_lab.views.schema`, rights and sensory computed there):

* ``<protection_domain>`` → vertex kind ``"domain"`` (``program ""``: it acts freely),
  id and label the PD's name; attributes ``priority``, ``budget``, ``period``,
  ``passive``, ``stack_size``, ``cpu``, ``sched_domain``, ``pp``, ``image``
  (the program image path) and ``child_id`` when given.
* ``<virtual_machine>`` → vertex kind ``"domain"`` with ``vm=True`` (same name space as
  the PDs), ``vcpus`` its number of ``<vcpu>``; the PD it sits in (its VMM) gets a
  ``"domain"`` key to it (the VMM controls the vCPUs and handles their faults).
* ``<memory_region>`` → vertex ``mr:<name>`` kind ``"page"``, ``device=True`` iff it has
  a ``phys_addr`` (the SDF cannot tell device registers from pinned RAM otherwise),
  ``size`` / ``page_size`` / ``phys_addr`` when given.
* ``<map>`` (in a PD or a VM) → key holder → region, type ``"page"``, read-only unless
  ``perms`` (default ``"rw"``) contains ``w``, ``slot_kind "address"``, attributes
  ``vaddr``, ``perms``, ``cached`` (default true).
* ``<channel>`` → a mailbox vertex ``channel:<pdA>:<idA>-<pdB>:<idB>`` kind ``"page"``;
  each end's PD gets a ``"page"`` key to it in ``slot_kind "key_register"``, ``slot`` the
  end's channel id: read-write, except read-only when that end says ``notify="false"``
  (it may then be signalled but not signal). Protected procedure calls: the Microkit 2.0
  ``pp="true"`` on an ``<end>`` lets *that end* call the other end; the Microkit <= 1.4.1
  ``pp="true"`` on a ``<protection_domain>`` means "every channel peer may call me",
  i.e. it lets the *other* end call the PD that carries it. Each calling direction of a
  channel gives one ``"start"`` key caller → callee (``slot`` the caller's channel id;
  the flow analysis treats a start key as the call and its reply: both ways), with
  ``pp_style`` ``"end"`` or ``"pd"``.
* ``<irq irq= id=>`` → vertex ``irq:<number>`` kind ``"misc"``; key PD → IRQ of type
  ``"misc"``, ``slot`` the id, ``trigger`` when given.
* a ``<protection_domain>`` inside another → key parent → child of type ``"domain"``
  (thread control and fault handling), ``slot_kind "key_register"``, ``slot`` the child's
  ``id`` (-1 if absent).
* ``<cspace>``: ``<cap_tcb>`` and ``<cap_vspace>`` → ``"domain"`` key PD → named PD
  (a thread or an address space is control of that PD), ``<cap_sc>`` → ``"meter"`` key
  (a scheduling context is CPU time); ``slot_kind "slot"``, ``slot`` the given slot.
* ``<ioport id addr size>`` (x86) → vertex ``ioport:<addr>`` kind ``"misc"``, key PD →
  port of type ``"misc"``.
* ``<io_address_space name>`` (an IOMMU domain of a DMA device) → vertex
  ``io_address_space:<name>`` kind ``"misc"``; each ``<iomap mr iovaddr>`` a read-write
  ``"page"`` key device → region (``slot_kind "address"``). No domain holds the device.
* ``<program_image>``, ``<setvar>`` (symbol patching; a ``region_paddr`` must name a
  region) and the scheduling elements ``<domains>``, ``<domain>``, ``<domain_schedule>``,
  ``<schedule_entry>``, ``<schedule_end_marker>`` convey no authority: checked, no edges.

Numbers are decimal or ``0x`` hexadecimal with optional ``_`` separators; booleans are
``true`` / ``false``. Attributes the reader does not use are ignored; unknown elements,
missing required attributes, bad numbers, duplicate names or channel ids and references
to undeclared PDs or regions are errors. A missing file raises ``OSError`` as usual.

>>> G = read_microkit_text('''<system>
...   <memory_region name="buf" size="0x1_000" />
...   <protection_domain name="a"><map mr="buf" vaddr="0x2000000" perms="r" /></protection_domain>
... </system>''')
>>> sorted(G.nodes(data="kind"))
[('a', 'domain'), ('mr:buf', 'page')]
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

from keykos_lab.readers.errors import FormatError
from keykos_lab.views.schema import SchemaGraph

__all__ = ["read_microkit", "read_microkit_text"]

#: A file name as the readers take it (only ever shown in messages).
_Path = str | os.PathLike[str]

_LEAF: frozenset[str] = frozenset()
#: Which child elements each element may have (the root is ``system``).
_CHILDREN: dict[str, frozenset[str]] = {
    "system": frozenset({"memory_region", "protection_domain", "channel", "domains",
                         "io_address_space"}),
    "protection_domain": frozenset({"program_image", "map", "irq", "setvar", "ioport",
                                    "protection_domain", "virtual_machine", "cspace"}),
    "virtual_machine": frozenset({"vcpu", "map"}),
    "channel": frozenset({"end"}),
    "cspace": frozenset({"cap_tcb", "cap_sc", "cap_vspace"}),
    "domains": frozenset({"domain", "domain_schedule"}),
    "domain_schedule": frozenset({"schedule_entry", "schedule_end_marker"}),
    "io_address_space": frozenset({"iomap"}),
    **{leaf: _LEAF for leaf in ("memory_region", "program_image", "map", "irq", "setvar",
                                "ioport", "vcpu", "end", "cap_tcb", "cap_sc", "cap_vspace",
                                "domain", "schedule_entry", "schedule_end_marker", "iomap")},
}
#: Attributes an element must have.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "memory_region": ("name",), "protection_domain": ("name",), "program_image": ("path",),
    "map": ("mr", "vaddr"), "irq": ("id",), "setvar": ("symbol",), "ioport": ("id", "addr"),
    "virtual_machine": ("name",), "vcpu": ("id",), "end": ("pd", "id"),
    "cap_tcb": ("slot", "pd"), "cap_sc": ("slot", "pd"), "cap_vspace": ("slot", "pd"),
    "domain": ("name",), "schedule_entry": ("domain", "duration"),
    "io_address_space": ("name",), "iomap": ("mr", "iovaddr"),
}
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]*[0-9a-fA-F][0-9a-fA-F_]*|[0-9][0-9_]*")
_CAPS = {"cap_tcb": ("domain", "tcb"), "cap_vspace": ("domain", "vspace"),
         "cap_sc": ("meter", "sc")}


class _Elem:
    """One parsed element: tag, attributes, line, children."""

    __slots__ = ("tag", "attrs", "line", "children")

    def __init__(self, tag: str, attrs: dict[str, str], line: int) -> None:
        self.tag, self.attrs, self.line = tag, attrs, line
        self.children: list[_Elem] = []


def read_microkit(path: str | os.PathLike[str]) -> nx.MultiDiGraph:
    """Read the SDF file at ``path`` into a capability graph (mapping: module docstring).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "hello.system")
    ...     _ = p.write_text('<system><protection_domain name="hello">'
    ...                      '<program_image path="hello.elf" /></protection_domain></system>')
    ...     G = read_microkit(p)
    >>> dict(G.nodes["hello"])
    {'kind': 'domain', 'label': 'hello', 'image': 'hello.elf', 'program': ''}
    """
    parser, stack = _parser(path)
    with open(path, "rb") as f:
        try:
            parser.ParseFile(f)
        except expat.ExpatError as e:
            raise FormatError(path, e.lineno, f"XML: {expat.errors.messages[e.code]}") from None
    return _Builder(path, _root(path, stack)).build()


def read_microkit_text(text: str, name: str = "<string>") -> nx.MultiDiGraph:
    """Read an SDF given as text; ``name`` stands for the file in error messages.

    >>> G = read_microkit_text('''<system>
    ...   <protection_domain name="server" passive="true" />
    ...   <protection_domain name="client" />
    ...   <channel><end pd="server" id="0" /><end pd="client" id="0" pp="true" /></channel>
    ... </system>''')
    >>> sorted((u, v, k) for u, v, k in G.edges(data="key_type"))
    [('client', 'channel:server:0-client:0', 'page'), ('client', 'server', 'start'),
     ('server', 'channel:server:0-client:0', 'page')]
    >>> read_microkit_text('<system><bogus /></system>', "x.system")
    Traceback (most recent call last):
    ...
    keykos_lab.readers.errors.FormatError: x.system:1: element <bogus> is not allowed in <system>
    """
    parser, stack = _parser(name)
    try:
        parser.Parse(text, True)
    except expat.ExpatError as e:
        raise FormatError(name, e.lineno, f"XML: {expat.errors.messages[e.code]}") from None
    except UnicodeEncodeError as e:          # lone surrogates: text that is not Unicode
        line = text.count("\n", 0, e.start) + 1
        raise FormatError(name, line, f"not valid Unicode text ({e.reason})") from None
    return _Builder(name, _root(name, stack)).build()


# --- parsing -------------------------------------------------------------------------------

def _parser(path: _Path) -> tuple[expat.XMLParserType, list[_Elem]]:
    """An expat parser that builds ``_Elem``s; the stack's bottom is a sentinel."""
    parser = expat.ParserCreate()
    top = _Elem("#document", {}, 0)
    stack = [top]

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        parent = stack[-1]
        if parent is top:
            if tag != "system" or parent.children:
                raise FormatError(path, line, f"the root element must be <system>, not <{tag}>")
        elif tag not in _CHILDREN[parent.tag]:
            raise FormatError(path, line, f"element <{tag}> is not allowed in <{parent.tag}>")
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
    if not _NUMBER.fullmatch(s):
        raise FormatError(path, e.line, f"<{e.tag}> {attr}={s!r} is not a number")
    s = s.replace("_", "")
    return int(s[2:], 16) if s[:2] in ("0x", "0X") else int(s)


def _bool(path: _Path, e: _Elem, attr: str, default: bool) -> bool:
    s = e.attrs.get(attr)
    if s is None:
        return default
    if s not in ("true", "false"):
        raise FormatError(path, e.line, f"<{e.tag}> {attr}={s!r} is not true or false")
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
    the declared region names and ``channel_ids`` maps (PD, channel id) to its end's line.
    """

    def __init__(self, path: _Path, system: _Elem) -> None:
        self.path, self.system = path, system
        self.g = SchemaGraph()
        self.taken: dict[str, int] = {}
        self.pd_names: dict[str, _Elem] = {}
        self.regions: set[str] = set()
        self.channel_ids: dict[tuple[str, int], int] = {}
        #: What a PD or VM may hold, by child element; other children convey no authority.
        self.held: dict[str, Callable[[str, _Elem], None]] = {
            "map": self.map, "irq": self.irq, "setvar": self.setvar, "ioport": self.ioport,
            "cspace": self.cspace}

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
        for e, parent in pds:
            self.holdings(e, parent)
        for ch in self.top("channel"):
            self.channel(ch)
        for sp in self.top("io_address_space"):        # IOMMU address spaces (x86 DMA)
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
            todo.extend((c, e) for c in e.children if c.tag in ("protection_domain",
                                                                 "virtual_machine"))
        pds.sort(key=lambda p: p[0].line)
        return pds

    def new_vertex(self, vid: str, e: _Elem, what: str) -> None:
        if vid in self.taken:
            raise FormatError(self.path, e.line, f"duplicate {what} {vid!r} (first on line "
                              f"{self.taken[vid]})")
        self.taken[vid] = e.line

    def misc_vertex(self, vid: str, e: _Elem, **attrs: Any) -> None:
        if vid in self.pd_names:
            raise FormatError(self.path, e.line, f"vertex {vid!r} clashes with a PD name")
        if vid not in self.g.graph:
            self.g.vertex(vid, "misc", **attrs)

    def region_ref(self, e: _Elem, attr: str = "mr") -> str:
        """The vertex of the region ``e``'s ``attr`` names, which must be declared."""
        name = e.attrs[attr]
        if name not in self.regions:
            raise FormatError(self.path, e.line, f"<{e.tag}> names no declared memory region "
                              f"{name!r}")
        return "mr:" + name

    def pd_ref(self, e: _Elem, attr: str = "pd") -> str:
        """The PD ``e``'s ``attr`` names, which must be a PD (not a VM)."""
        name = e.attrs[attr]
        if name not in self.pd_names or self.pd_names[name].tag != "protection_domain":
            raise FormatError(self.path, e.line, f"<{e.tag}> names no protection domain "
                              f"{name!r}")
        return name

    # ---- elements that make vertices
    def memory_region(self, e: _Elem) -> None:
        attrs: dict[str, Any] = {"device": "phys_addr" in e.attrs}
        for a in ("size", "page_size", "phys_addr"):
            if a in e.attrs:
                attrs[a] = _number(self.path, e, a)
        if "size" not in e.attrs and not ("prefill_path" in e.attrs
                                          or "prefill_bootinfo" in e.attrs):
            raise FormatError(self.path, e.line, "<memory_region> needs the attribute 'size'")
        vid = "mr:" + e.attrs["name"]
        self.new_vertex(vid, e, "memory region")
        self.g.vertex(vid, "page", e.attrs["name"], **attrs)
        self.regions.add(e.attrs["name"])

    def virtual_machine(self, e: _Elem) -> None:
        name = e.attrs["name"]
        self.g.vertex(name, "domain", name, vm=True,
                      vcpus=sum(c.tag == "vcpu" for c in e.children))
        for c in e.children:
            if c.tag == "vcpu":
                _number(self.path, c, "id")

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
        self.g.vertex(e.attrs["name"], "domain", e.attrs["name"], **attrs)

    # ---- what a PD or VM holds
    def holdings(self, e: _Elem, parent: _Elem | None) -> None:
        """The keys of PD or VM ``e``: its parent's key to it, then its children's."""
        name = e.attrs["name"]
        if parent is not None:
            self.nested(parent, e)
        for c in e.children:
            handle = self.held.get(c.tag)
            if handle is not None:
                handle(name, c)

    def nested(self, parent: _Elem, e: _Elem) -> None:
        """A PD or VM inside PD ``parent``: the parent controls it."""
        slot = _number(self.path, e, "id") if "id" in e.attrs else -1
        self.g.key(parent.attrs["name"], e.attrs["name"], "domain", slot=slot,
                   child=e.tag == "protection_domain")

    def map(self, holder: str, m: _Elem) -> None:
        perms = m.attrs.get("perms", "rw")
        if not perms or set(perms) - set("rwx") or len(set(perms)) != len(perms):
            raise FormatError(self.path, m.line, f"<map> perms={perms!r} is not made of r, w, x")
        self.g.key(holder, self.region_ref(m), "page", read_only="w" not in perms,
                   slot_kind="address", vaddr=_number(self.path, m, "vaddr"), perms=perms,
                   cached=_bool(self.path, m, "cached", True))

    def irq(self, holder: str, c: _Elem) -> None:
        if "irq" not in c.attrs:
            raise FormatError(self.path, c.line, "<irq> needs the attribute 'irq' "
                              "(x86 pin/vector IRQs are not supported)")
        n = _number(self.path, c, "irq")
        self.misc_vertex(f"irq:{n}", c, irq=n)
        extra: dict[str, Any] = {"trigger": c.attrs["trigger"]} if "trigger" in c.attrs else {}
        self.g.key(holder, f"irq:{n}", "misc", slot=_number(self.path, c, "id"), **extra)

    def setvar(self, holder: str, c: _Elem) -> None:
        """No key; a ``region_paddr`` must name a declared region."""
        if "region_paddr" in c.attrs:
            self.region_ref(c, "region_paddr")

    def ioport(self, holder: str, c: _Elem) -> None:
        addr = _number(self.path, c, "addr")
        size = _number(self.path, c, "size") if "size" in c.attrs else 1
        self.misc_vertex(f"ioport:{addr:#x}", c, addr=addr, size=size)
        self.g.key(holder, f"ioport:{addr:#x}", "misc", slot=_number(self.path, c, "id"))

    def cspace(self, holder: str, c: _Elem) -> None:
        for cap in c.children:
            key_type, what = _CAPS[cap.tag]
            self.g.key(holder, self.pd_ref(cap), key_type,
                       slot=_number(self.path, cap, "slot"), slot_kind="slot", cap=what)

    # ---- channels
    def channel(self, ch: _Elem) -> None:
        if len(ch.children) != 2:
            raise FormatError(self.path, ch.line, f"<channel> has {len(ch.children)} <end>s, "
                              "not 2")
        ends = [self.channel_end(end) for end in ch.children]
        (_, a, ia), (_, b, ib) = ends
        box = f"channel:{a}:{ia}-{b}:{ib}"
        if box in self.pd_names:
            raise FormatError(self.path, ch.line, f"vertex {box!r} clashes with a PD name")
        self.g.vertex(box, "page", box, channel=True)
        pairs = ((ends[0], ends[1]), (ends[1], ends[0]))
        calls = self.mailbox_keys(box, pairs)
        for (_e, me, my_id), (_, other, _) in pairs:
            if _bool(self.path, self.pd_names[other], "pp", False):   # Microkit <= 1.4.1
                calls.setdefault((me, other, my_id), "pd")
        for (caller, callee, cid), style in calls.items():
            self.g.key(caller, callee, "start", slot=cid, channel=box, pp_style=style)

    def channel_end(self, end: _Elem) -> _End:
        """An ``<end>``'s PD and channel id, which that PD must not have used already."""
        pd, cid = self.pd_ref(end), _number(self.path, end, "id")
        if (pd, cid) in self.channel_ids:
            raise FormatError(self.path, end.line, f"channel id {cid} of {pd!r} already used "
                              f"on line {self.channel_ids[pd, cid]}")
        self.channel_ids[pd, cid] = end.line
        return end, pd, cid

    def mailbox_keys(self, box: str, pairs: tuple[tuple[_End, _End], ...]
                     ) -> dict[tuple[str, str, int], str]:
        """Each end's key to the mailbox; the calls (caller, callee, caller's channel id)
        that the ends' own ``pp`` allows, with their style ``"end"``."""
        calls: dict[tuple[str, str, int], str] = {}
        for (e, me, my_id), (_, other, _) in pairs:
            notify = _bool(self.path, e, "notify", True)
            pp = _bool(self.path, e, "pp", False)
            self.g.key(me, box, "page", read_only=not notify, slot=my_id, notify=notify, pp=pp)
            if pp:
                calls.setdefault((me, other, my_id), "end")
        return calls

    # ---- IOMMU address spaces
    def io_address_space(self, sp: _Elem) -> None:
        vid = "io_address_space:" + sp.attrs["name"]
        self.misc_vertex(vid, sp, **{k: v for k, v in sp.attrs.items() if k != "name"})
        for m in sp.children:
            self.g.key(vid, self.region_ref(m), "page", slot_kind="address",
                       vaddr=_number(self.path, m, "iovaddr"), perms="rw")
