"""Fuchsia component manifests (CML) in: a folder of ``.cml`` files as one capability graph.

A CML file is JSON5 describing one component: its ``children`` (and
``collections`` for dynamic ones), the capabilities it uses (``use``), offers
down to children (``offer``) and exposes up to its parent (``expose``).
:func:`read_cml` reads every ``.cml`` manifest under a folder as one system;
:func:`read_cml_text` reads one manifest given as text. JSON5 (comments,
trailing commas, unquoted keys, single-quoted strings, hex numbers) is read by a
small parser here (:func:`parse_json5`); nothing is evaluated.

Components and their names
--------------------------
* A manifest that no other manifest names as a child is a *root*, named by its
  file stem (``root``). A child declaration ``{name: "core", url: "…#meta/core.cm"}``
  in manifest M instantiates the manifest whose file stem is the url's last path
  component without ``.cm`` (``core``), named ``<M's name>/<child name>``
  (``root/core``), recursively; the same manifest may be instantiated more than
  once. When several files share a stem the first in sorted path order is used.
* A child with no manifest in the folder (``appmgr``, ``archivist`` …) is still a
  component, but *opaque*: its uses are taken to be exactly what is offered to it,
  and whatever is routed from it is trusted to be provided by it (its edges carry
  ``verified=False``).
* Files named by another manifest's ``include`` (and all ``*.shard.cml``) are
  shards, not components. An include is looked up in the folder by relative path,
  then by path suffix; one not found is recorded in ``G.graph["unresolved_includes"]``.
  Included lists (``use``, ``offer`` …) are appended, ``program`` dicts merged.

Vertices and edges (the project schema, built with :class:`SchemaGraph`)
---------------------------------------------------------------------------
* component → vertex kind ``domain`` (``program`` ``""``), attributes ``manifest``
  (path relative to the folder, ``""`` for opaque ones), ``url``, ``opaque``.
* parent → static child: key_type ``domain``, slot_kind ``key_register`` (the
  parent creates and controls it). A collection → vertex kind ``node`` named
  ``<parent>/<collection>`` (``collection=True``), parent → it key_type ``node``;
  what is offered to a collection is used by the collection vertex (its future
  members).
* Each use (and each offer to an opaque child or a collection) is resolved by
  following ``offer`` (upward from the user to the parent) and ``expose``
  (downward into a ``#child``) until a ``self``, ``framework``, ``void`` or the
  top (``parent`` of a root). The provider is the component whose ``self`` ends
  the chain; ``framework`` → vertex kind ``misc`` ``framework``; ``parent`` of a
  root → ``misc`` ``outside`` (component manager and bootsvc); ``void`` → no
  edge. Names are matched by target name (``as`` if given) and kind.
* ``protocol``, ``service``, ``runner``, ``resolver`` → edge user → provider,
  key_type ``start`` (calls and replies), slot_kind ``key_register``.
* ``directory`` → vertex kind ``page`` ``dir:<provider>:<name>`` (``name`` as the
  provider declares it), ``storage`` → ``page`` ``storage:<provider>:<name>``;
  edge user → it key_type ``page``, read-only unless every ``rights`` given along
  the route (use, offers, exposes) allows writing (``rw*``, ``w*``, ``rw``,
  ``write_bytes``, ``modify_directory``) and at least one is given; storage is
  writable. The provider holds a read-write ``page`` edge to it.
* ``event``/``event_stream``/``config`` → ``page`` ``event:…``/``config:…``,
  read-only for the user (one-way data from the provider); ``dictionary`` →
  ``node`` ``dict:<provider>:<name>``, user → it key_type ``node`` read-only. The
  provider holds read-write keys to these.
* Every user edge carries ``capability`` (the name the user sees), ``kind``,
  ``source_name`` (the provider's name), ``route`` (the components passed) and
  ``verified``. One edge per (user, kind, capability).
* A runner or resolver with no offer comes from the environment: it is taken to
  be component manager's built-in (``outside``, ``via_environment=True``).

Routes whose source cannot be found (no matching offer in the parent, a child
that does not expose it, an offer from an undeclared child or from a collection)
are reported as readable strings in ``G.graph["dangling"]``, never raised.

Errors
------
:class:`FormatError` (path, line, reason), and nothing partially read is
returned, for: bad JSON5 (including a truncated file), a top level that is not
an object, an unknown top-level key (as ``cmc`` does), a section that is not a
list, an entry that is not an object, an entry with no or several capability
kinds, a missing or malformed ``from``/``to``, ``as`` with several names, a
child without ``name``, duplicate keys, and a manifest that contains itself.

Not supported: ``environments`` beyond the rule above, storage backing
directories, ``availability``, ``from`` given as a list, unused offers are not
checked.

>>> G = read_cml_text('''{
...   children: [{name: "b", url: "#meta/b.cm"}],
...   offer: [{protocol: "p", from: "self", to: ["#b"]}],  // trailing comma ok
... }''', "a")
>>> sorted(G.nodes), [d["key_type"] for _, _, d in G.edges(data=True)]
(['a', 'a/b'], ['domain', 'start'])
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from keykos_lab.readers.errors import FormatError
from keykos_lab.views.schema import SchemaGraph

__all__ = ["read_cml", "read_cml_text", "parse_json5"]

# --------------------------------------------------------------------------- JSON5


class _Obj(dict):
    """A JSON5 object remembering the line it starts on and each key's (``key_lines``)."""

    line: int = 0
    key_lines: dict


class _Arr(list):
    """A JSON5 array remembering the line it starts on and each element's (``lines``)."""

    line: int = 0
    lines: list


_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"[+-]?(?:Infinity|NaN|0[xX][0-9a-fA-F]+"
                     r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_ESC = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0",
        "\\": "\\", "'": "'", '"': '"', "/": "/"}


#: Deepest nesting of objects and arrays accepted; real manifests nest a few levels.
MAX_DEPTH = 256


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.s, self.path, self.i, self.depth = text, path, 0, 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, pos: int | None = None) -> int:
        return bisect.bisect_right(self.starts, self.i if pos is None else pos)

    def fail(self, reason: str, pos: int | None = None):
        raise FormatError(self.path, self.line(pos), reason)

    def skip(self) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n\ufeff\u00a0\u2028\u2029":
                self.i += 1
            elif s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j
            elif s.startswith("/*", self.i):
                j = s.find("*/", self.i + 2)
                if j < 0:
                    self.fail("unterminated /* comment")
                self.i = j + 2
            else:
                return

    def peek(self) -> str:
        self.skip()
        if self.i >= len(self.s):
            self.fail("unexpected end of input (truncated file?)")
        return self.s[self.i]

    def value(self):
        c = self.peek()
        start = self.i
        if c in "{[":
            if self.depth >= MAX_DEPTH:
                self.fail(f"objects and arrays nested deeper than {MAX_DEPTH}")
            self.depth += 1
            value = self.obj() if c == "{" else self.arr()
            self.depth -= 1
            return value
        if c in "\"'":
            return self.string()
        m = _NUMBER.match(self.s, self.i)
        if m:
            self.i = m.end()
            t = m.group().lstrip("+")
            if "Infinity" in t or "NaN" in t:
                return float(t)
            if t.lower().lstrip("-").startswith("0x"):
                return int(t, 16)
            return float(t) if any(ch in t for ch in ".eE") else int(t)
        m = _IDENT.match(self.s, self.i)
        if m and m.group() in ("true", "false", "null"):
            self.i = m.end()
            return {"true": True, "false": False, "null": None}[m.group()]
        self.fail(f"unexpected {c!r}", start)

    def string(self) -> str:
        q, s = self.s[self.i], self.s
        self.i += 1
        out = []
        while True:
            if self.i >= len(s):
                self.fail("unterminated string (truncated file?)")
            c = s[self.i]
            if c == q:
                self.i += 1
                return "".join(out)
            if c == "\n":
                self.fail("newline in string")
            if c == "\\":
                e = s[self.i + 1: self.i + 2]
                if e == "\n":
                    self.i += 2
                elif e in _ESC:
                    out.append(_ESC[e])
                    self.i += 2
                elif e in ("u", "x"):
                    n = 4 if e == "u" else 2
                    h = s[self.i + 2: self.i + 2 + n]
                    if len(h) != n or not all(ch in "0123456789abcdefABCDEF" for ch in h):
                        self.fail(f"bad \\{e} escape")
                    out.append(chr(int(h, 16)))
                    self.i += 2 + n
                elif e == "":
                    self.fail("unterminated string (truncated file?)")
                else:
                    out.append(e)
                    self.i += 2
            else:
                out.append(c)
                self.i += 1

    def obj(self) -> _Obj:
        o = _Obj()
        o.line, o.key_lines = self.line(), {}
        self.i += 1
        while True:
            c = self.peek()
            if c == "}":
                self.i += 1
                return o
            kpos = self.i
            if c in "\"'":
                k = self.string()
            else:
                m = _IDENT.match(self.s, self.i)
                if not m:
                    self.fail(f"expected a key, found {c!r}")
                k, self.i = m.group(), m.end()
            if self.peek() != ":":
                self.fail(f"expected ':' after key {k!r}")
            self.i += 1
            if k in o:
                self.fail(f"duplicate key {k!r}", kpos)
            o.key_lines[k] = self.line(kpos)
            o[k] = self.value()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "}":
                self.fail(f"expected ',' or '}}', found {c!r}")

    def arr(self) -> _Arr:
        a = _Arr()
        a.line, a.lines = self.line(), []
        self.i += 1
        while True:
            if self.peek() == "]":
                self.i += 1
                return a
            a.lines.append(self.line())
            a.append(self.value())
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "]":
                self.fail(f"expected ',' or ']', found {c!r}")


def parse_json5(text: str, path: str = "<text>") -> object:
    """Parse JSON5 text; objects and arrays remember their starting line (``.line``).

    >>> v = parse_json5("{a: 1, 'b': [0x10, 'x',], /* c */ c: true, // d\\n}")
    >>> v, v.line
    ({'a': 1, 'b': [16, 'x'], 'c': True}, 1)
    >>> parse_json5("{a: [1,")
    Traceback (most recent call last):
    ...
    keykos_lab.readers.errors.FormatError: <text>:1: unexpected end of input (truncated file?)
    """
    p = _Parser(text, path)
    v = p.value()
    p.skip()
    if p.i < len(text):
        p.fail("unexpected text after the value")
    return v


# ------------------------------------------------------------------------ manifests

TOP_KEYS = frozenset({"include", "program", "children", "collections", "environments",
                      "capabilities", "use", "offer", "expose", "facets", "config"})
KINDS = ("protocol", "service", "runner", "resolver", "directory", "storage", "event",
         "event_stream", "config", "dictionary")
_LISTS = ("children", "collections", "environments", "capabilities", "use", "offer", "expose")
_WRITE = frozenset({"rw*", "w*", "rw", "w", "write_bytes", "modify_directory"})


@dataclass
class _Decl:
    """One routed name of a use/offer/expose entry."""

    kind: str
    source: str            # the name at the source
    target: str            # the name after ``as``
    frm: str               # "parent", "self", "framework", "void", "#x"
    to: tuple              # offer targets ("#x" or "all"); () for use/expose
    rights: tuple | None
    line: int
    subdir: str | None = None


@dataclass
class _Manifest:
    path: str
    rel: str
    line: int
    children: list = field(default_factory=list)      # (name, url, line)
    collections: list = field(default_factory=list)   # (name, line)
    use: list = field(default_factory=list)
    offer: list = field(default_factory=list)
    expose: list = field(default_factory=list)
    includes: list = field(default_factory=list)      # (include, line)


def _names(v, path, line, what) -> list[str]:
    vals = v if isinstance(v, list) else [v]
    if not vals or not all(isinstance(x, str) for x in vals):
        raise FormatError(path, line, f"{what} must be a string or a list of strings")
    return list(vals)


def _entries(data, key, path):
    sec = data.get(key, [])
    if not isinstance(sec, list):
        raise FormatError(path, getattr(sec, "line", data.line), f"{key!r} must be a list")
    for n, e in enumerate(sec):
        if not isinstance(e, dict):
            raise FormatError(path, sec.lines[n],
                              f"a {key!r} entry must be an object, not {type(e).__name__}")
        yield e


def _decls(e, section: str, path: str) -> list[_Decl]:
    line = e.line
    kinds = [k for k in KINDS if k in e]
    if len(kinds) != 1:
        raise FormatError(path, line, f"a {section!r} entry needs exactly one capability kind "
                          f"of {', '.join(KINDS)}; found {kinds or 'none'}")
    kind = kinds[0]
    names = _names(e[kind], path, line, kind)
    if "as" in e and (len(names) > 1 or not isinstance(e["as"], str)):
        raise FormatError(path, line, "'as' needs a single capability name")
    frm = e.get("from", "parent" if section == "use" else None)
    if not isinstance(frm, str) or not frm:
        raise FormatError(path, line, f"a {section!r} entry needs 'from' (a string)")
    if frm not in ("parent", "self", "framework", "void") and not frm.startswith("#"):
        raise FormatError(path, line, f"'from' {frm!r} is not parent, self, framework, void "
                          "or #child")
    to: tuple = ()
    if section == "offer":
        if "to" not in e:
            raise FormatError(path, line, "an 'offer' entry needs 'to'")
        to = tuple(_names(e["to"], path, line, "'to'"))
        for t in to:
            if t != "all" and not (t.startswith("#") and len(t) > 1):
                raise FormatError(path, line, f"'to' {t!r} is not #child, #collection or all")
    rights = e.get("rights")
    if rights is not None:
        rights = tuple(_names(rights, path, line, "'rights'"))
    subdir = e.get("subdir") if isinstance(e.get("subdir"), str) else None
    return [_Decl(kind, n, e.get("as", n), frm, to, rights, line, subdir) for n in names]


def _manifest(text: str, path: str, rel: str) -> tuple[_Manifest, dict]:
    data = parse_json5(text, path)
    if not isinstance(data, dict):
        raise FormatError(path, 1, "a manifest must be a JSON5 object")
    for k in data:
        if k not in TOP_KEYS:
            raise FormatError(path, data.key_lines[k],
                              f"unknown top-level key {k!r} (known: {', '.join(sorted(TOP_KEYS))})")
    m = _Manifest(path, rel, data.line)
    _fill(m, data, path)
    return m, data


def _fill(m: _Manifest, data: dict, path: str) -> None:
    """Add one (manifest or shard) object's declarations to ``m``."""
    if "include" in data:
        inc = data["include"]
        line = getattr(inc, "line", data.line)
        m.includes.extend((name, line) for name in _names(inc, path, line, "'include'"))
    for e in _entries(data, "children", path):
        if not isinstance(e.get("name"), str) or not isinstance(e.get("url", ""), str):
            raise FormatError(path, e.line, "a child needs a 'name' and a string 'url'")
        m.children.append((e["name"], e.get("url", ""), e.line))
    for e in _entries(data, "collections", path):
        if not isinstance(e.get("name"), str):
            raise FormatError(path, e.line, "a collection needs a 'name'")
        m.collections.append((e["name"], e.line))
    for key in ("capabilities", "environments"):
        for _ in _entries(data, key, path):
            pass
    for sec in ("use", "offer", "expose"):
        for e in _entries(data, sec, path):
            getattr(m, sec).extend(_decls(e, sec, path))


def _url_stem(url: str) -> str:
    tail = url.split("#", 1)[-1].rstrip("/").rsplit("/", 1)[-1]
    return tail[:-3] if tail.endswith(".cm") else tail


# ------------------------------------------------------------------------ the system


@dataclass
class _Inst:
    name: str
    m: _Manifest | None
    parent: _Inst | None = None
    child_name: str = ""
    url: str = ""
    children: dict = field(default_factory=dict)     # child name -> _Inst
    collections: dict = field(default_factory=dict)  # collection name -> vertex name


class _Builder:
    def __init__(self) -> None:
        self.g = SchemaGraph()
        self.dangling: dict[str, None] = {}
        self.edges: set = set()

    # ---- instances
    def instantiate(self, m, name, by_stem, parent=None, child_name="", url="", stack=()):
        if m is not None and m.rel in stack:
            raise FormatError(m.path, m.line, f"manifest {m.rel!r} contains itself "
                              f"(via {' -> '.join(stack)})")
        inst = _Inst(name, m, parent, child_name, url)
        self.g.vertex(name, "domain", manifest=m.rel if m else "", url=url, opaque=m is None)
        if parent is not None:
            self.g.key(parent.name, name, "domain", slot_kind="key_register")
        if m is None:
            return inst
        for cname, curl, _ in m.children:
            sub = by_stem.get(_url_stem(curl))
            inst.children[cname] = self.instantiate(sub, f"{name}/{cname}", by_stem, inst,
                                                    cname, curl, (*stack, m.rel))
        for cname, _ in m.collections:
            v = f"{name}/{cname}"
            self.g.vertex(v, "node", collection=True)
            self.g.key(name, v, "node", slot_kind="key_register")
            inst.collections[cname] = v
        return inst

    def walk(self, inst):
        yield inst
        for c in inst.children.values():
            yield from self.walk(c)

    # ---- resolution
    def resolve(self, inst, d: _Decl, hops: list, rights: list):
        """Follow ``d.frm`` from ``inst``; (provider, name, verified) or (None, reason, _)."""
        frm, kind, name = d.frm, d.kind, d.source
        if d.rights is not None:
            rights.append(d.rights)
        if frm == "self":
            return inst.name, name, True
        if frm == "framework":
            return "framework", name, True
        if frm == "void":
            return "void", name, True
        if frm == "parent":
            p = inst.parent
            if p is None:
                return "outside", name, True
            hops.append(p.name)
            for o in p.m.offer:
                if (o.kind == kind and o.target == name
                        and (f"#{inst.child_name}" in o.to or "all" in o.to)):
                    return self.resolve(p, o, hops, rights)
            if kind in ("runner", "resolver"):
                return "outside", name, "env"
            return None, (f"{p.name} offers no {kind} {name!r} to #{inst.child_name}"), True
        child = frm[1:]
        if child in inst.collections:
            return None, f"{inst.name}: cannot route {kind} {name!r} from collection {frm}", True
        c = inst.children.get(child)
        if c is None:
            return None, f"{inst.name} has no child {frm} (routing {kind} {name!r})", True
        hops.append(c.name)
        if c.m is None:
            return c.name, name, False
        for e in c.m.expose:
            if e.kind == kind and e.target == name:
                return self.resolve(c, e, hops, rights)
        return None, f"{c.name} exposes no {kind} {name!r}", True

    def use(self, user: str, inst, d: _Decl, extra_rights=()):
        hops = [user] if user == inst.name else [user, inst.name]
        rights = [r for r in extra_rights if r is not None]
        provider, name, verified = self.resolve(inst, d, hops, rights)
        if provider is None:
            self.dangling[f"{user} uses {d.kind} {d.target!r}: {name}"] = None
            return
        if provider == "void":
            return
        key = (user, d.kind, d.target)
        if key in self.edges:
            return
        self.edges.add(key)
        for v in ("framework", "outside"):
            if provider == v and v not in self.g.graph:
                self.g.vertex(v, "misc")
        attrs = dict(capability=d.target, kind=d.kind, source_name=name,
                     route=" -> ".join(hops + ([provider] if provider != hops[-1] else [])),
                     verified=verified is not False)
        if verified == "env":
            attrs["via_environment"] = True
        if d.kind in ("protocol", "service", "runner", "resolver"):
            self.g.key(user, provider, "start", slot_kind="key_register", **attrs)
            return
        prefix, vkind, ktype = {"directory": ("dir", "page", "page"),
                                "storage": ("storage", "page", "page"),
                                "event": ("event", "page", "page"),
                                "event_stream": ("event", "page", "page"),
                                "config": ("config", "page", "page"),
                                "dictionary": ("dict", "node", "node")}[d.kind]
        obj = f"{prefix}:{provider}:{name}"
        if obj not in self.g.graph:
            self.g.vertex(obj, vkind, provider=provider, capability_kind=d.kind)
            self.g.key(provider, obj, ktype, slot_kind="key_register", capability=name,
                       kind=d.kind, source_name=name, route=provider, verified=True)
        if d.kind == "storage":
            writable = True
        elif d.kind == "directory":
            writable = bool(rights) and all(set(r) & _WRITE for r in rights)
        else:
            writable = False
        if d.subdir:
            attrs["subdir"] = d.subdir
        self.g.key(user, obj, ktype, read_only=not writable, slot_kind="key_register",
                   **attrs)

    def route_all(self, roots) -> None:
        for root in roots:
            for inst in self.walk(root):
                if inst.m is None:
                    continue
                for d in inst.m.use:
                    self.use(inst.name, inst, d)
                # opaque children and collections use what is offered to them
                for o in inst.m.offer:
                    for t in o.to:
                        for nm in self._targets(inst, t):
                            tgt = inst.children.get(nm)
                            if tgt is not None and tgt.m is None:
                                self.use(tgt.name, inst, o)
                            elif nm in inst.collections:
                                self.use(inst.collections[nm], inst, o)

    @staticmethod
    def _targets(inst, t):
        if t == "all":
            return list(inst.children) + list(inst.collections)
        return [t[1:]]


def _build(manifests: list[_Manifest], unresolved: list[str]) -> nx.MultiDiGraph:
    by_stem: dict[str, _Manifest] = {}
    for m in manifests:
        by_stem.setdefault(Path(m.rel).name.removesuffix(".cml"), m)
    named = {id(by_stem[_url_stem(u)]) for m in manifests for _, u, _ in m.children
             if _url_stem(u) in by_stem}
    b = _Builder()
    roots, used = [], set()
    for m in manifests:
        if id(m) in named:
            continue
        stem = Path(m.rel).name.removesuffix(".cml")
        name = stem if stem not in used else m.rel.removesuffix(".cml")
        used.add(name)
        roots.append(b.instantiate(m, name, by_stem))
    if manifests and not roots:
        m = manifests[0]
        raise FormatError(m.path, m.line, "every manifest is some other's child: a cycle")
    b.route_all(roots)
    G = b.g.graph
    G.graph.update(source="cml", dangling=list(b.dangling),
                   unresolved_includes=list(unresolved))
    return G


def read_cml_text(text: str, name: str) -> nx.MultiDiGraph:
    """Read one manifest given as text; the component is named ``name``. Includes are
    recorded as unresolved; children are opaque.

    >>> G = read_cml_text("{use: [{protocol: 'p'}]}", "leaf")
    >>> G.graph["dangling"], sorted(G.nodes)
    ([], ['leaf', 'outside'])
    >>> read_cml_text("{use: [3]}", "x")
    Traceback (most recent call last):
    ...
    keykos_lab.readers.errors.FormatError: x:1: a 'use' entry must be an object, not int
    """
    m, _ = _manifest(text, name, name)
    unresolved = [f"{name}:{line}: include {inc!r} not found" for inc, line in m.includes]
    return _build([m], unresolved)


def read_cml(folder) -> nx.MultiDiGraph:
    """Read every ``.cml`` manifest under ``folder`` (recursively) as one system.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "p.cml").write_text("{children: [{name: 'c', url: '#meta/c.cm'}],"
    ...     "offer: [{directory: '/data', from: 'self', to: '#c', rights: ['rw*']}]}")
    >>> _ = (d / "c.cml").write_text("{use: [{directory: '/data', rights: ['rw*']}]}")
    >>> G = read_cml(d)
    >>> sorted(G.nodes)
    ['dir:p:/data', 'p', 'p/c']
    >>> sorted(G.get_edge_data("p/c", "dir:p:/data")[0]["rights"])
    ['read', 'write']
    """
    root = Path(folder)
    if not root.is_dir():
        raise FormatError(root, None, "not a directory")
    files = sorted(root.rglob("*.cml"))
    if not files:
        raise FormatError(root, None, "no .cml manifests in the folder")
    rels = {f.relative_to(root).as_posix(): f for f in files}
    parsed: dict[str, tuple[_Manifest, dict]] = {}
    for rel, f in rels.items():
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FormatError(f, None, f"cannot read: {exc}") from exc
        parsed[rel] = _manifest(text, str(f), rel)

    def find(inc: str, frm: str) -> str | None:
        cand = [(Path(frm).parent / inc).as_posix(), inc.lstrip("/")]
        for c in cand:
            if c in rels:
                return c
        hits = [r for r in rels if r.endswith("/" + inc.lstrip("/"))]
        return hits[0] if hits else None

    shards = {r for r in rels if r.endswith(".shard.cml")}
    for rel, (m, _) in parsed.items():
        shards.update(x for inc, _ in m.includes if (x := find(inc, rel)))
    unresolved: list[str] = []
    manifests = []
    for rel, (m, _) in parsed.items():
        if rel in shards:
            continue
        seen, todo = {rel}, list(m.includes)
        src = rel
        while todo:
            inc, line = todo.pop(0)
            x = find(inc, src)
            if x is None:
                unresolved.append(f"{m.path}:{line}: include {inc!r} not found")
                continue
            if x in seen:
                continue
            seen.add(x)
            sm, sdata = parsed[x]
            _fill(m, sdata, sm.path)
            # the shard's own includes were appended to m.includes by _fill
            todo.extend(i for i in sm.includes if i not in todo)
        manifests.append(m)
    return _build(manifests, unresolved)
