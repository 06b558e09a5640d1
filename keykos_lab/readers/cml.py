"""Fuchsia component manifests (CML) in: a folder of ``.cml`` files as one capability graph.

A CML file is JSON5 describing one component: its ``children`` (and ``collections`` for
dynamic ones), the capabilities it declares (``capabilities``), uses (``use``), offers down
to children (``offer``) and exposes up to its parent (``expose``), and the ``environments``
its children run in. :func:`read_cml` reads every ``.cml`` manifest under a folder as one
system; :func:`read_cml_text` reads one manifest given as text. JSON5 (comments, trailing
commas, unquoted keys, single-quoted strings, hex numbers) is read by a small parser here
(:func:`parse_json5`); nothing is evaluated. Hostile input is bounded by
:mod:`keykos_lab.readers.limits` (file size, numbers, nesting, include depth, vertices,
edges); in a folder, a symbolic link that leaves the folder and any file that is not a
regular file (a FIFO, a device) are refused before they are read.

Components and their names
--------------------------
* A manifest that no other manifest names as a child is a *root*, named by its file stem
  (``root``). A child declaration ``{name: "core", url: "…#meta/core.cm"}`` in manifest M
  instantiates the manifest whose file stem is the url's last path component without
  ``.cm`` (``core``), named ``<M's name>/<child name>`` (``root/core``), recursively; the
  same manifest may be instantiated more than once.
* A child with no manifest in the folder (``appmgr``, ``archivist`` …), or with several
  manifests of that stem (listed in ``G.graph["ambiguous"]``), is *opaque*: its uses are
  taken to be everything offered to it, and whatever is routed from it is trusted to be
  provided by it (its edges carry ``verified=False``).
* Files named by another manifest's ``include`` (and all ``*.shard.cml``) are shards, not
  components. An include is looked up in the folder by relative path, then by path suffix;
  one not found is recorded in ``G.graph["unresolved_includes"]``, and the component is then
  read as partly opaque (below). Included lists (``use``, ``offer`` …) are appended.

Mapping
-------
The analyses may over-approximate, never under-approximate
(docs/analyses.md#analyses-readers-mapping). The references are pages of the Fuchsia
documentation (``docs/concepts/components/v2/...`` in https://fuchsia.dev); rows marked
**over** give more than Fuchsia would.

+--------------------+--------------------------------------------+--------------------------------+
| CML                | graph                                      | follows                        |
+====================+============================================+================================+
| component          | vertex ``domain`` (``program ""``),        |                                |
|                    | attributes ``manifest``, ``url``,          |                                |
|                    | ``opaque``                                 |                                |
+--------------------+--------------------------------------------+--------------------------------+
| static child       | ``domain`` key parent → child,             | ``realms.md``                  |
|                    | ``key_register`` (**over**: the parent     |                                |
|                    | declares, starts and routes for it)        |                                |
+--------------------+--------------------------------------------+--------------------------------+
| collection         | vertex ``domain``                          | ``collections.md``;            |
|                    | ``<parent>/<collection>``                  | ``capabilities/README.md``     |
|                    | (``collection=True``): one vertex for      | ("any instance in the          |
|                    | every dynamic member, acting freely;       | collection may use the         |
|                    | ``domain`` key parent → it; what is        | capability")                   |
|                    | offered to it is used by it                |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``use`` /          | followed from the user up through          | ``capabilities/README.md``     |
| ``offer`` /        | ``offer``s and down through ``expose``s to | (routing)                      |
| ``expose``         | the component whose ``self`` (or a         |                                |
|                    | collection, ``framework``, ``void``, the   |                                |
|                    | root's ``parent``) ends it; names matched  |                                |
|                    | by target name (``as``) and kind; a route  |                                |
|                    | that fails is listed in                    |                                |
|                    | ``G.graph["dangling"]``, not an edge       |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``protocol``,      | ``start`` key user → provider (calls and   | ``capabilities/protocol.md``,  |
| ``service``        | replies; handles cross both ways)          | ``service.md``                 |
+--------------------+--------------------------------------------+--------------------------------+
| ``directory``      | ``start`` key user → provider: the         | ``capabilities/directory.md``  |
|                    | provider serves it from its outgoing       |                                |
|                    | directory, so every request (paths,        |                                |
|                    | handles) reaches its program, and it can   |                                |
|                    | answer with handles to anything it holds;  |                                |
|                    | the route's ``rights`` bind only a         |                                |
|                    | provider that honours them, kept as        |                                |
|                    | ``dir_rights``                             |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``storage``        | ``start`` key user → the provider of the   | ``capabilities/storage.md``    |
|                    | storage's **backing directory** (the       |                                |
|                    | declaration's ``backing_dir``, routed from |                                |
|                    | its ``from``), with ``storage_owner`` the  |                                |
|                    | declaring component (**over**: each user's |                                |
|                    | data is isolated in its own subdirectory)  |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``runner``         | ``start`` key user → runner (the runner    | ``capabilities/runner.md``,    |
|                    | receives the component's namespace); from  | ``environments.md``            |
|                    | the environment when not offered (``use    |                                |
|                    | runner``, ``program.runner``)              |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``resolver``       | a ``domain`` key resolver → each component | ``capabilities/resolver.md``,  |
|                    | whose URL scheme its environment           | ``environments.md``            |
|                    | registration covers (the resolver supplies |                                |
|                    | its code); explicit ``use``/``offer``:     |                                |
|                    | ``start`` key                              |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``debug`` (``use   | routed through the environment's ``debug`` | ``environments.md``            |
| from: "debug"``)   | registrations                              |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``framework``      | ``domain`` key U → X: component manager    | ``capabilities/event.md``      |
| capability routed  | acts on X's realm for U (``Realm``         | ("the scope of this event will |
| from component X   | controls X's children, ``/hub`` and        | be the offering component's    |
| to another         | introspection open them, events describe   | realm"), ``protocol.md``       |
| component U        | them and carry their handles) (**over**);  |                                |
|                    | used by X itself: ``start`` key to the     |                                |
|                    | ``misc`` vertex ``framework``              |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``event``,         | the ``framework`` row (an event from       | ``capabilities/event.md``      |
| ``event_stream``   | beyond the root has the root's realm as    |                                |
|                    | scope)                                     |                                |
+--------------------+--------------------------------------------+--------------------------------+
| the root's         | vertex ``domain`` ``outside`` (bootsvc and |                                |
| ``parent``         | component manager's built-in capabilities, |                                |
|                    | shared by all their users, e.g. the kernel |                                |
|                    | log: it acts freely, **over**)             |                                |
+--------------------+--------------------------------------------+--------------------------------+
| runners and        | ``start`` key to the ``misc`` vertex       | ``environments.md``            |
| resolvers from the | ``builtin`` (component manager's own ELF   |                                |
| root's environment | runner and resolvers: trusted)             |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``config``         | vertex ``page``                            |                                |
|                    | ``config:<provider>:<name>``: provider     |                                |
|                    | read-write, user read-only (a value set in |                                |
|                    | the manifest)                              |                                |
+--------------------+--------------------------------------------+--------------------------------+
| ``dictionary``     | ``start`` key user → provider (**over**: a |                                |
|                    | dictionary the provider serves)            |                                |
+--------------------+--------------------------------------------+--------------------------------+
| an include the     | the component also uses everything offered |                                |
| reader cannot find | to it, a route it does not expose or offer |                                |
|                    | is trusted to end at it, and a root gets a |                                |
|                    | ``start`` key to ``outside`` for           |                                |
|                    | capability ``"*"`` (**over**)              |                                |
+--------------------+--------------------------------------------+--------------------------------+

Every user edge carries ``capability`` (the name the user sees), ``kind``, ``source_name``
(the provider's name), ``route`` (the components passed) and ``verified``. One edge per
(user, kind, capability).

Errors
------
:class:`FormatError` (path, line, reason), and nothing partially read is returned, for:
bad JSON5 (including a truncated file), a top level that is not an object, an unknown
top-level key (as ``cmc`` does), a section that is not a list, an entry that is not an
object, an entry with no or several capability kinds, a missing or malformed
``from``/``to``, ``as`` with several names, a child without ``name``, a child in an
undeclared environment, duplicate keys, a manifest that contains itself, and routing this
reader does not follow (``from_dictionary``, ``from``/``to`` naming a dictionary path, ``from``
given as a list): refused rather than guessed.

>>> G = read_cml_text('''{
...   children: [{name: "b", url: "#meta/b.cm"}],
...   offer: [{protocol: "p", from: "self", to: ["#b"]}],  // trailing comma ok
... }''', "a")
>>> sorted(G.nodes), [d["key_type"] for _, _, d in G.edges(data=True)]
(['a', 'a/b'], ['domain', 'start'])
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from keykos_lab.readers import limits
from keykos_lab.readers.errors import FormatError
from keykos_lab.readers.limits import Budget, shown
from keykos_lab.views.schema import SchemaGraph

__all__ = ["read_cml", "read_cml_text", "parse_json5"]

# --------------------------------------------------------------------------- JSON5


class _Obj(dict):
    """A JSON5 object remembering the line it starts on and each key's (``key_lines``)."""

    line: int = 0
    key_lines: dict[str, int]


class _Arr(list):
    """A JSON5 array remembering the line it starts on and each element's (``lines``)."""

    line: int = 0
    lines: list[int]


_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(
    r"[+-]?(?:Infinity|NaN|0[xX][0-9a-fA-F]+"
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
)
_ESC = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "0": "\0",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "/": "/",
}


_WS = re.compile("[ \t\r\n\ufeff\u00a0\u2028\u2029]+")
_RUN = {q: re.compile(f"[^{q}\\\\\n]+") for q in "'\""}


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.s, self.path, self.i, self.depth = text, path, 0, 0
        self._at, self._lines = 0, 0  # newlines before position _at

    def line(self, pos: int | None = None) -> int:
        """The line of ``pos`` (default: the current position), counted incrementally:
        the parser asks for positions in order, so the text is scanned once."""
        pos = self.i if pos is None else pos
        if pos < self._at:  # an earlier position: an error, rarely
            return self.s.count("\n", 0, pos) + 1
        self._lines += self.s.count("\n", self._at, pos)
        self._at = pos
        return self._lines + 1

    def fail(self, reason: str, pos: int | None = None) -> FormatError:
        return FormatError(self.path, self.line(pos), reason)

    def skip(self) -> None:
        s = self.s
        while self.i < len(s):
            m = _WS.match(s, self.i)
            if m:
                self.i = m.end()
            elif s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j
            elif s.startswith("/*", self.i):
                j = s.find("*/", self.i + 2)
                if j < 0:
                    raise self.fail("unterminated /* comment")
                self.i = j + 2
            else:
                return

    def peek(self) -> str:
        self.skip()
        if self.i >= len(self.s):
            raise self.fail("unexpected end of input (truncated file?)")
        return self.s[self.i]

    def value(self) -> Any:
        c = self.peek()
        start = self.i
        if c in "{[":
            if self.depth >= limits.MAX_NESTING:
                raise self.fail(
                    f"objects and arrays nested deeper than MAX_NESTING = "
                    f"{limits.MAX_NESTING}: refused"
                )
            self.depth += 1
            value = self.obj() if c == "{" else self.arr()
            self.depth -= 1
            return value
        if c in "\"'":
            return self.string()
        m = _NUMBER.match(self.s, self.i)
        if m:
            t = m.group()
            if len(t) > limits.MAX_NUMBER_CHARS:
                raise self.fail(
                    f"number of {len(t):,} characters (more than "
                    f"MAX_NUMBER_CHARS = {limits.MAX_NUMBER_CHARS}): refused"
                )
            self.i = m.end()
            t = t.lstrip("+")
            if "Infinity" in t or "NaN" in t:
                return float(t)
            if t.lower().lstrip("-").startswith("0x"):
                return int(t, 16)
            return float(t) if any(ch in t for ch in ".eE") else int(t)
        m = _IDENT.match(self.s, self.i)
        if m and m.group() in ("true", "false", "null"):
            self.i = m.end()
            return {"true": True, "false": False, "null": None}[m.group()]
        raise self.fail(f"unexpected {shown(c)}", start)

    def string(self) -> str:
        q, s = self.s[self.i], self.s
        self.i += 1
        out: list[str] = []
        while True:
            if self.i >= len(s):
                raise self.fail("unterminated string (truncated file?)")
            c = s[self.i]
            if c == q:
                self.i += 1
                return "".join(out)
            if c == "\n":
                raise self.fail("newline in string")
            if c == "\\":
                e = s[self.i + 1 : self.i + 2]
                if e == "\n":
                    self.i += 2
                elif e in _ESC:
                    out.append(_ESC[e])
                    self.i += 2
                elif e in ("u", "x"):
                    n = 4 if e == "u" else 2
                    h = s[self.i + 2 : self.i + 2 + n]
                    if len(h) != n or not all(ch in "0123456789abcdefABCDEF" for ch in h):
                        raise self.fail(f"bad \\{e} escape")
                    out.append(chr(int(h, 16)))
                    self.i += 2 + n
                elif e == "":
                    raise self.fail("unterminated string (truncated file?)")
                else:
                    out.append(e)
                    self.i += 2
            else:
                m = _RUN[q].match(s, self.i)  # a run of ordinary characters at once
                assert m is not None
                out.append(m.group())
                self.i = m.end()

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
                    raise self.fail(f"expected a key, found {shown(c)}")
                k, self.i = m.group(), m.end()
            if self.peek() != ":":
                raise self.fail(f"expected ':' after key {shown(k)}")
            self.i += 1
            if k in o:
                raise self.fail(f"duplicate key {shown(k)}", kpos)
            o.key_lines[k] = self.line(kpos)
            o[k] = self.value()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "}":
                raise self.fail(f"expected ',' or '}}', found {shown(c)}")

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
                raise self.fail(f"expected ',' or ']', found {shown(c)}")


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
    with limits.reading(path, p.line):
        if len(text) > limits.MAX_FILE_BYTES:
            raise FormatError(
                path,
                text.count("\n", 0, limits.MAX_FILE_BYTES) + 1,
                f"larger than MAX_FILE_BYTES = {limits.MAX_FILE_BYTES:,}: refused",
            )
        v = p.value()
        p.skip()
        if p.i < len(text):
            raise p.fail("unexpected text after the value")
        return v


# ------------------------------------------------------------------------ manifests

TOP_KEYS = frozenset(
    {
        "include",
        "program",
        "children",
        "collections",
        "environments",
        "capabilities",
        "use",
        "offer",
        "expose",
        "facets",
        "config",
    }
)
KINDS = (
    "protocol",
    "service",
    "runner",
    "resolver",
    "directory",
    "storage",
    "event",
    "event_stream",
    "config",
    "dictionary",
)
_EVENTS = frozenset({"event", "event_stream"})
#: Entry keys that route through dictionaries, which this reader does not follow.
_UNSUPPORTED = ("from_dictionary",)


@dataclass
class _Decl:
    """One routed name of a use/offer/expose entry (or an environment registration)."""

    kind: str
    source: str  # the name at the source
    target: str  # the name after ``as``
    frm: str  # "parent", "self", "framework", "void", "debug", "#x"
    to: tuple  # offer targets ("#x" or "all"); () for use/expose
    rights: tuple | None
    line: int
    path: str
    subdir: str | None = None
    scheme: str | None = None


@dataclass
class _Env:
    """An ``environments`` entry: ``extends`` and its registrations by section."""

    name: str
    extends: str
    line: int
    runners: list = field(default_factory=list)
    resolvers: list = field(default_factory=list)
    debug: list = field(default_factory=list)


@dataclass
class _Manifest:
    path: str
    rel: str
    line: int
    children: list = field(default_factory=list)  # (name, url, environment, line)
    collections: list = field(default_factory=list)  # (name, environment, line)
    use: list = field(default_factory=list)
    offer: list = field(default_factory=list)
    expose: list = field(default_factory=list)
    includes: list = field(default_factory=list)  # (include, line, path)
    environments: dict = field(default_factory=dict)  # name -> _Env
    storage: dict = field(default_factory=dict)  # storage name -> _Decl (backing dir)
    unresolved: bool = False  # an include was not found
    _offers: dict | None = None
    _exposes: dict | None = None

    def offers(self, kind: str, name: str) -> list[_Decl]:
        if self._offers is None:
            self._offers = {}
            for o in self.offer:
                self._offers.setdefault((o.kind, o.target), []).append(o)
        return self._offers.get((kind, name), [])

    def exposed(self, kind: str, name: str) -> _Decl | None:
        if self._exposes is None:
            self._exposes = {}
            for e in self.expose:
                self._exposes.setdefault((e.kind, e.target), e)
        return self._exposes.get((kind, name))


def _names(v: Any, path: str, line: int, what: str) -> list[str]:
    vals = v if isinstance(v, list) else [v]
    if not vals or not all(isinstance(x, str) for x in vals):
        raise FormatError(path, line, f"{what} must be a string or a list of strings")
    return list(vals)


def _entries(data: _Obj, key: str, path: str) -> list[_Obj]:
    sec = data.get(key, [])
    if not isinstance(sec, list):
        raise FormatError(path, getattr(sec, "line", data.line), f"{key!r} must be a list")
    out: list[_Obj] = []
    for n, e in enumerate(sec):
        if not isinstance(e, _Obj):
            raise FormatError(
                path,
                sec.lines[n] if isinstance(sec, _Arr) else data.line,
                f"a {key!r} entry must be an object, not {type(e).__name__}",
            )
        out.append(e)
    return out


def _source(frm: Any, path: str, line: int, section: str) -> str:
    if not isinstance(frm, str) or not frm:
        raise FormatError(path, line, f"a {section!r} entry needs 'from' (a string)")
    if "/" in frm:
        raise FormatError(
            path,
            line,
            f"'from' {shown(frm)} names a dictionary path: routing "
            "through dictionaries is not followed by this reader",
        )
    allowed = ("parent", "self", "framework", "void") + (("debug",) if section == "use" else ())
    if frm not in allowed and not (frm.startswith("#") and len(frm) > 1):
        raise FormatError(
            path, line, f"'from' {shown(frm)} is not parent, self, framework, void or #child"
        )
    return frm


def _decls(e: _Obj, section: str, path: str) -> list[_Decl]:
    line = e.line
    for k in _UNSUPPORTED:
        if k in e:
            raise FormatError(
                path,
                e.key_lines.get(k, line),
                f"{k!r}: routing through dictionaries is not followed by this reader",
            )
    kinds = [k for k in KINDS if k in e]
    if len(kinds) != 1:
        raise FormatError(
            path,
            line,
            f"a {section!r} entry needs exactly one capability kind "
            f"of {', '.join(KINDS)}; found {kinds or 'none'}",
        )
    kind = kinds[0]
    names = _names(e[kind], path, line, kind)
    if "as" in e and (len(names) > 1 or not isinstance(e["as"], str)):
        raise FormatError(path, line, "'as' needs a single capability name")
    frm = _source(e.get("from", "parent" if section == "use" else None), path, line, section)
    to: tuple = ()
    if section == "offer":
        if "to" not in e:
            raise FormatError(path, line, "an 'offer' entry needs 'to'")
        to = tuple(_names(e["to"], path, line, "'to'"))
        for t in to:
            if t != "all" and not (t.startswith("#") and len(t) > 1 and "/" not in t):
                raise FormatError(path, line, f"'to' {shown(t)} is not #child, #collection or all")
    rights = e.get("rights")
    if rights is not None:
        rights = tuple(_names(rights, path, line, "'rights'"))
    subdir = e.get("subdir") if isinstance(e.get("subdir"), str) else None
    return [_Decl(kind, n, e.get("as", n), frm, to, rights, line, path, subdir) for n in names]


def _manifest(text: str, path: str, rel: str) -> tuple[_Manifest, _Obj]:
    data = parse_json5(text, path)
    if not isinstance(data, _Obj):
        raise FormatError(path, 1, "a manifest must be a JSON5 object")
    with limits.reading(path, lambda: data.line):
        for k in data:
            if k not in TOP_KEYS:
                raise FormatError(
                    path,
                    data.key_lines[k],
                    f"unknown top-level key {shown(k)} (known: {', '.join(sorted(TOP_KEYS))})",
                )
        m = _Manifest(path, rel, data.line)
        _fill(m, data, path)
        return m, data


def _env_of(e: _Obj, path: str) -> str | None:
    env = e.get("environment")
    if env is None:
        return None
    if not isinstance(env, str) or not env.startswith("#") or len(env) < 2:
        raise FormatError(path, e.line, f"'environment' {shown(env)} is not #name")
    return env[1:]


def _fill(m: _Manifest, data: _Obj, path: str) -> None:
    """Add one (manifest or shard) object's declarations to ``m``."""
    if "include" in data:
        inc = data["include"]
        line = getattr(inc, "line", data.line)
        m.includes.extend((name, line, path) for name in _names(inc, path, line, "'include'"))
    for e in _entries(data, "children", path):
        if not isinstance(e.get("name"), str) or not isinstance(e.get("url", ""), str):
            raise FormatError(path, e.line, "a child needs a 'name' and a string 'url'")
        m.children.append((e["name"], e.get("url", ""), _env_of(e, path), e.line))
    for e in _entries(data, "collections", path):
        if not isinstance(e.get("name"), str):
            raise FormatError(path, e.line, "a collection needs a 'name'")
        m.collections.append((e["name"], _env_of(e, path), e.line))
    for e in _entries(data, "environments", path):
        _environment(m, e, path)
    for e in _entries(data, "capabilities", path):
        if isinstance(e.get("storage"), str):
            frm = _source(e.get("from"), path, e.line, "storage capability")
            backing = e.get("backing_dir")
            if not isinstance(backing, str):
                raise FormatError(path, e.line, "a storage capability needs 'backing_dir'")
            m.storage[e["storage"]] = _Decl(
                "directory", backing, backing, frm, (), None, e.line, path
            )
    for sec in ("use", "offer", "expose"):
        for e in _entries(data, sec, path):
            getattr(m, sec).extend(_decls(e, sec, path))
    program = data.get("program")
    if isinstance(program, dict) and isinstance(program.get("runner"), str):
        line = (
            program.key_lines.get("runner", program.line)
            if isinstance(program, _Obj)
            else data.line
        )
        m.use.append(
            _Decl("runner", program["runner"], program["runner"], "parent", (), None, line, path)
        )
    m._offers = m._exposes = None


def _environment(m: _Manifest, e: _Obj, path: str) -> None:
    name, extends = e.get("name"), e.get("extends", "none")
    if not isinstance(name, str) or extends not in ("realm", "none"):
        raise FormatError(
            path, e.line, "an environment needs a 'name' and 'extends' of realm or none"
        )
    env = _Env(name, extends, e.line)
    for section, kind in (("runners", "runner"), ("resolvers", "resolver"), ("debug", None)):
        regs = e.get(section, [])
        if not isinstance(regs, list):
            raise FormatError(path, e.line, f"{section!r} must be a list")
        for r in regs:
            if not isinstance(r, _Obj):
                raise FormatError(path, e.line, f"a {section!r} entry must be an object")
            if kind is None:  # debug: any capability kind
                getattr(env, section).extend(_decls(r, "expose", path))
                continue
            if not isinstance(r.get(kind), str):
                raise FormatError(path, r.line, f"a {section!r} entry needs {kind!r}")
            frm = _source(r.get("from"), path, r.line, section)
            scheme = r.get("scheme") if isinstance(r.get("scheme"), str) else None
            getattr(env, section).append(
                _Decl(
                    kind, r[kind], r.get("as", r[kind]), frm, (), None, r.line, path, scheme=scheme
                )
            )
    m.environments[name] = env


def _url_stem(url: str) -> str:
    tail = url.split("#", 1)[-1].rstrip("/").rsplit("/", 1)[-1]
    return tail[:-3] if tail.endswith(".cm") else tail


def _scheme(url: str) -> str | None:
    return url.split("://", 1)[0] if "://" in url else None


# ------------------------------------------------------------------------ the system


@dataclass(eq=False)
class _Inst:
    name: str
    m: _Manifest | None
    parent: _Inst | None = None
    child_name: str = ""
    url: str = ""
    env: tuple | None = None  # (declaring _Inst, _Env) or None: root
    children: dict = field(default_factory=dict)  # child name -> _Inst
    collections: dict = field(default_factory=dict)  # collection name -> (vertex, env)
    depth: int = 0


@dataclass
class _Found:
    """Where a route ends: ``provider`` a vertex (None: dangling, ``reason`` says why),
    ``scope`` the component whose realm a ``framework`` capability covers."""

    provider: str | None
    name: str
    verified: bool = True
    scope: _Inst | None = None
    reason: str = ""
    via_environment: bool = False


class _Builder:
    def __init__(self, path: str) -> None:
        self.g = SchemaGraph()
        self.budget = Budget(path)
        self.dangling: dict[str, None] = {}
        self.ambiguous: dict[str, None] = {}
        self.edges: set = set()
        self.inst_of: dict[str, _Inst] = {}

    def vertex(
        self, name: str, kind: str, line: int | None = None, path: str | None = None, **attrs: Any
    ) -> None:
        if name not in self.g.graph:
            self.budget.vertices(1, line, len(name), path)
            self.g.vertex(name, kind, **attrs)

    def key(
        self, u: str, v: str, key_type: str, line: int | None, path: str | None = None, **attrs: Any
    ) -> None:
        self.budget.edges(1, line, path)  # path: the manifest whose line it is
        self.g.key(u, v, key_type, **attrs)

    # ---- instances
    def instantiate(self, root: _Manifest, name: str, by_stem: dict[str, list[_Manifest]]) -> _Inst:
        """The instance tree under ``root``, iteratively (depth at most ``MAX_NESTING``, and
        the whole system at most ``MAX_VERTICES`` instances)."""
        top = _Inst(name, root)
        self.vertex(name, "domain", manifest=root.rel, url="", opaque=False)
        todo: list[tuple[_Inst, tuple[str, ...]]] = [(top, ())]
        while todo:
            inst, stack = todo.pop()
            m = inst.m
            if m is None:
                continue
            if m.rel in stack:
                raise FormatError(
                    m.path,
                    m.line,
                    f"manifest {shown(m.rel)} contains itself (via {' -> '.join(stack)})",
                )
            if inst.depth >= limits.MAX_NESTING:
                raise FormatError(
                    m.path,
                    m.line,
                    f"components nested deeper than MAX_NESTING = {limits.MAX_NESTING}: refused",
                )
            for cname, curl, cenv, cline in m.children:
                cands = by_stem.get(_url_stem(curl), [])
                if len(cands) > 1:
                    self.ambiguous[
                        f"{inst.name}/{cname}: {len(cands)} manifests named {_url_stem(curl)!r}"
                    ] = None
                sub = cands[0] if len(cands) == 1 else None
                child = _Inst(
                    f"{inst.name}/{cname}",
                    sub,
                    inst,
                    cname,
                    curl,
                    self._env(inst, cenv, m, cline),
                    depth=inst.depth + 1,
                )
                self.vertex(
                    child.name,
                    "domain",
                    cline,
                    m.path,
                    manifest=sub.rel if sub else "",
                    url=curl,
                    opaque=sub is None,
                )
                self.key(inst.name, child.name, "domain", cline, m.path, slot_kind="key_register")
                inst.children[cname] = child
                todo.append((child, (*stack, m.rel)))
            for cname, cenv, cline in m.collections:
                v = f"{inst.name}/{cname}"
                self.vertex(v, "domain", cline, m.path, collection=True)
                self.key(inst.name, v, "domain", cline, m.path, slot_kind="key_register")
                inst.collections[cname] = (v, self._env(inst, cenv, m, cline))
        return top

    @staticmethod
    def _env(inst: _Inst, env: str | None, m: _Manifest, line: int) -> tuple | None:
        if env is None:
            return inst.env
        if env not in m.environments:
            raise FormatError(m.path, line, f"no environment #{shown(env)[1:-1]} in this manifest")
        return (inst, m.environments[env])

    @staticmethod
    def walk(root: _Inst) -> list[_Inst]:
        out, todo = [], [root]
        while todo:
            inst = todo.pop()
            out.append(inst)
            todo.extend(reversed(list(inst.children.values())))
        return out

    # ---- resolution
    def resolve(self, inst: _Inst, d: _Decl, hops: list[str], rights: list[tuple]) -> _Found:
        """Follow ``d.frm`` from ``inst`` to the end of the route (module docstring)."""
        kind = d.kind
        for _ in range(4 * limits.MAX_NESTING + 8):
            frm, name = d.frm, d.source
            if d.rights is not None:
                rights.append(d.rights)
            if frm == "self":
                return _Found(inst.name, name)
            if frm == "framework":
                return _Found("framework", name, scope=inst)
            if frm == "void":
                return _Found("void", name)
            if frm == "debug":
                return self.environment(inst, "debug", kind, name, hops, rights)
            if frm == "parent":
                p = inst.parent
                if p is None:
                    if kind in _EVENTS:  # component manager's events: the whole tree
                        return _Found("framework", name, scope=inst)
                    if kind in ("runner", "resolver"):
                        return _Found("builtin", name, via_environment=True)
                    return _Found("outside", name)
                assert p.m is not None  # only a manifest has children
                hops.append(p.name)
                targets = (f"#{inst.child_name}", "all")
                offer = next(
                    (o for o in p.m.offers(kind, name) if any(t in o.to for t in targets)), None
                )
                if offer is None:
                    if kind == "runner":
                        return self.environment(inst, "runners", kind, name, hops, rights)
                    if p.m.unresolved:
                        return _Found(p.name, name, verified=False)
                    return _Found(
                        None,
                        name,
                        reason=f"{p.name} offers no {kind} {name!r} to #{inst.child_name}",
                    )
                inst, d = p, offer
                continue
            child = frm[1:]
            if child in inst.collections:
                hops.append(inst.collections[child][0])
                return _Found(inst.collections[child][0], name, verified=False)
            c = inst.children.get(child)
            if c is None:
                return _Found(
                    None, name, reason=f"{inst.name} has no child {frm} (routing {kind} {name!r})"
                )
            hops.append(c.name)
            if c.m is None:
                return _Found(c.name, name, verified=False)
            e = c.m.exposed(kind, name)
            if e is None:
                if c.m.unresolved:
                    return _Found(c.name, name, verified=False)
                return _Found(None, name, reason=f"{c.name} exposes no {kind} {name!r}")
            inst, d = c, e
        return _Found(None, d.source, reason=f"route of {kind} {d.source!r} does not end")

    def environment(
        self,
        inst: _Inst,
        section: str,
        kind: str,
        name: str,
        hops: list[str],
        rights: list[tuple],
        scheme: str | None = None,
    ) -> _Found:
        """A runner, resolver (by ``scheme``) or debug capability from ``inst``'s
        environment, up the ``extends: realm`` chain; component manager's built-ins when
        the root's environment is reached."""
        env = inst.env
        while env is not None:
            decl_inst, e = env
            for reg in getattr(e, section):
                if (scheme is not None and reg.scheme == scheme) or (
                    scheme is None and reg.target == name and reg.kind == kind
                ):
                    found = self.resolve(decl_inst, reg, hops, rights)
                    found.via_environment = True
                    return found
            if e.extends == "none":
                if section == "debug":
                    break
                return _Found(
                    None,
                    name,
                    reason=f"environment {e.name!r} of "
                    f"{decl_inst.name} registers no {kind} {name!r}",
                )
            env = decl_inst.env
        if section == "debug":
            return _Found(
                None, name, reason=f"no environment of {inst.name} registers debug {kind} {name!r}"
            )
        return _Found("builtin", name, via_environment=True)

    def use(self, user: str, inst: _Inst, d: _Decl, **extra: Any) -> None:
        key = (user, d.kind, d.target)
        if key in self.edges:
            return
        hops = [user] if user == inst.name else [user, inst.name]
        rights: list[tuple] = []
        found = self.resolve(inst, d, hops, rights)
        owner = found.provider
        if (
            found.provider is not None
            and d.kind == "storage"
            and found.verified
            and found.provider not in ("outside", "framework", "void")
        ):
            found = self.backing(found, hops)
        if found.provider is None:
            self.dangling[f"{user} uses {d.kind} {d.target!r}: {found.reason}"] = None
            return
        if found.provider == "void":
            return
        self.edges.add(key)
        provider = found.provider
        attrs: dict[str, Any] = dict(
            capability=d.target,
            kind=d.kind,
            source_name=found.name,
            route=" -> ".join(hops + ([provider] if provider != hops[-1] else [])),
            verified=found.verified,
            **extra,
        )
        if found.via_environment:
            attrs["via_environment"] = True
        if d.kind == "directory":
            attrs["dir_rights"] = tuple(r for rs in rights for r in rs)
        if d.subdir:
            attrs["subdir"] = d.subdir
        if d.kind == "storage":
            attrs["storage_owner"] = owner
        if provider == "framework" and found.scope is not None and found.scope.name != user:
            self.key(
                user,
                found.scope.name,
                "domain",
                d.line,
                d.path,
                slot_kind="key_register",
                via="framework",
                **attrs,
            )
            return
        if provider == "outside":
            self.vertex("outside", "domain", outside=True)
        elif provider in ("framework", "builtin"):
            self.vertex(provider, "misc")
        if d.kind == "config":
            obj = f"config:{provider}:{found.name}"
            if obj not in self.g.graph:
                self.vertex(obj, "page", provider=provider, capability_kind="config")
                self.key(
                    provider,
                    obj,
                    "page",
                    d.line,
                    d.path,
                    slot_kind="key_register",
                    capability=found.name,
                    kind="config",
                    source_name=found.name,
                    route=provider,
                    verified=True,
                )
            self.key(
                user, obj, "page", d.line, d.path, read_only=True, slot_kind="key_register", **attrs
            )
            return
        self.key(user, provider, "start", d.line, d.path, slot_kind="key_register", **attrs)

    def backing(self, found: _Found, hops: list[str]) -> _Found:
        """A storage route ended at its declaring component: follow the declaration's
        backing directory to the component that serves it."""
        owner = self.inst_of.get(found.provider or "")
        decl = owner.m.storage.get(found.name) if owner is not None and owner.m else None
        if owner is None or decl is None:
            return _Found(found.provider, found.name, verified=False)
        back = self.resolve(owner, decl, hops, [])
        if back.provider is None:
            return _Found(
                None,
                found.name,
                reason=f"backing directory {decl.source!r} of "
                f"storage {found.name!r} in {owner.name}: {back.reason}",
            )
        if back.provider == "framework":
            return _Found(owner.name, found.name, verified=False)
        return _Found(back.provider, found.name, back.verified)

    def route_all(self, roots: list[_Inst]) -> None:
        self.inst_of = {i.name: i for r in roots for i in self.walk(r)}
        star = _Decl("protocol", "*", "*", "parent", (), None, 0, "")
        for root in roots:
            for inst in self.walk(root):
                if inst.parent is not None:
                    self.resolved_by(inst)
                m = inst.m
                if m is None:
                    continue
                for d in m.use:
                    self.use(inst.name, inst, d)
                if m.unresolved and inst.parent is None:  # a child: as opaque ones, below
                    self.use(inst.name, inst, star, unresolved_include=True)
                # opaque children, collections and children with unresolved includes use
                # everything offered to them
                for o in m.offer:
                    for t in o.to:
                        for nm in self._targets(inst, t):
                            tgt = inst.children.get(nm)
                            if tgt is not None and (tgt.m is None or tgt.m.unresolved):
                                self.use(tgt.name, inst, o)
                            elif nm in inst.collections:
                                self.use(inst.collections[nm][0], inst, o)
                for cname, (v, env) in inst.collections.items():
                    member = _Inst(v, None, inst, cname, "", env, depth=inst.depth + 1)
                    for scheme in self.schemes(env):  # members' URLs are not known
                        self.resolved_by(member, scheme)

    def schemes(self, env: tuple | None) -> list[str]:
        """Every URL scheme a resolver is registered for along an environment chain."""
        out: list[str] = []
        while env is not None:
            decl_inst, e = env
            out += [r.scheme for r in e.resolvers if r.scheme and r.scheme not in out]
            env = None if e.extends == "none" else decl_inst.env
        return out

    def resolved_by(self, inst: _Inst, scheme: str | None = None) -> None:
        """The resolver of ``inst``'s URL scheme in its environment supplies its code (a
        relative URL is resolved as its parent's)."""
        src: _Inst | None = inst
        while src is not None and scheme is None:
            scheme = _scheme(src.url)
            src = src.parent
        if scheme is None:
            return
        found = self.environment(inst, "resolvers", "resolver", scheme, [], [], scheme)
        if found.provider is None or found.provider in ("builtin", "void", "framework"):
            return
        if found.provider == "outside":
            self.vertex("outside", "domain", outside=True)
        key = (found.provider, "resolves", inst.name)
        if key not in self.edges and found.provider != inst.name:
            self.edges.add(key)
            self.key(
                found.provider,
                inst.name,
                "domain",
                None,
                slot_kind="key_register",
                kind="resolver",
                scheme=scheme,
                via_environment=True,
                verified=found.verified,
            )

    @staticmethod
    def _targets(inst: _Inst, t: str) -> list[str]:
        if t == "all":
            return list(inst.children) + list(inst.collections)
        return [t[1:]]


def _build(manifests: list[_Manifest], unresolved: list[str], path: str) -> nx.MultiDiGraph:
    by_stem: dict[str, list[_Manifest]] = {}
    for m in manifests:
        by_stem.setdefault(Path(m.rel).name.removesuffix(".cml"), []).append(m)
    named = {
        id(by_stem[_url_stem(u)][0])
        for m in manifests
        for _, u, _, _ in m.children
        if len(by_stem.get(_url_stem(u), ())) == 1
    }
    b = _Builder(path)
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
    G.graph.update(
        source="cml",
        dangling=list(b.dangling),
        ambiguous=list(b.ambiguous),
        unresolved_includes=list(unresolved),
    )
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
    unresolved = [f"{name}:{line}: include {inc!r} not found" for inc, line, _ in m.includes]
    m.unresolved = bool(m.includes)
    with limits.reading(name, lambda: None):
        return _build([m], unresolved, name)


def _folder(root: Path) -> dict[str, Path]:
    """Every ``*.cml`` under ``root`` by its path relative to it, without following a
    directory link; a link that leaves the folder is refused (its target never read)."""
    base = os.path.realpath(root)
    found: dict[str, Path] = {}
    todo = [root]
    while todo:
        d = todo.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            raise FormatError(d, None, f"cannot list: {exc.strerror or exc}") from None
        for entry in entries:
            p = Path(entry.path)
            rel = p.relative_to(root).as_posix()
            if entry.is_symlink():
                target = os.path.realpath(p)
                if os.path.commonpath([base, target]) != base:
                    raise FormatError(p, None, "a symbolic link leaving the folder: refused")
                if entry.name.endswith(".cml"):
                    found[rel] = p
            elif entry.is_dir(follow_symlinks=False):
                todo.append(p)
            elif entry.name.endswith(".cml"):
                found[rel] = p
            if len(found) > limits.MAX_VERTICES:
                raise FormatError(
                    root,
                    None,
                    f"more than MAX_VERTICES = {limits.MAX_VERTICES:,} manifests: refused",
                )
    return dict(sorted(found.items()))


def read_cml(folder: str | os.PathLike[str]) -> nx.MultiDiGraph:
    """Read every ``.cml`` manifest under ``folder`` (recursively) as one system. Only
    regular files are read (a FIFO or a device is refused without blocking), each at most
    ``limits.MAX_FILE_BYTES``, as UTF-8; a symbolic link leaving the folder is refused.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "p.cml").write_text("{children: [{name: 'c', url: '#meta/c.cm'}],"
    ...     "offer: [{directory: '/data', from: 'self', to: '#c', rights: ['rw*']}]}")
    >>> _ = (d / "c.cml").write_text("{use: [{directory: '/data', rights: ['rw*']}]}")
    >>> G = read_cml(d)
    >>> sorted(G.nodes)
    ['p', 'p/c']
    >>> d = G.get_edge_data("p/c", "p")[0]
    >>> d["key_type"], d["kind"], d["dir_rights"]
    ('start', 'directory', ('rw*', 'rw*'))
    """
    root = Path(folder)
    if not root.is_dir():
        raise FormatError(root, None, "not a directory")
    rels = _folder(root)
    if not rels:
        raise FormatError(root, None, "no .cml manifests in the folder")
    parsed: dict[str, tuple[_Manifest, _Obj]] = {}
    for rel, f in rels.items():
        text = limits.decode_utf8(limits.read_file(f), f)
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
        shards.update(x for inc, _, _ in m.includes if (x := find(inc, rel)))
    unresolved: list[str] = []
    manifests = []
    for rel, (m, _) in parsed.items():
        if rel in shards:
            continue
        seen = {rel}
        todo = [(inc, line, ipath, rel, 1) for inc, line, ipath in m.includes]
        while todo:
            inc, line, ipath, src, depth = todo.pop(0)
            if depth > limits.MAX_INCLUDE_DEPTH:
                raise FormatError(
                    ipath,
                    line,
                    f"includes nested deeper than "
                    f"MAX_INCLUDE_DEPTH = {limits.MAX_INCLUDE_DEPTH}: refused",
                )
            x = find(inc, src)
            if x is None:
                unresolved.append(f"{ipath}:{line}: include {inc!r} not found")
                m.unresolved = True
                continue
            if x in seen:
                continue
            seen.add(x)
            sm, sdata = parsed[x]
            before = len(m.includes)
            _fill(m, sdata, sm.path)
            todo.extend((i, ln, p, x, depth + 1) for i, ln, p in m.includes[before:])
        manifests.append(m)
    with limits.reading(root, lambda: None):
        return _build(manifests, unresolved, str(root))
