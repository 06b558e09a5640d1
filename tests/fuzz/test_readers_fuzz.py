"""Readers under attack: capDL, Microkit and CML readers, and checkpoint restore, fed
mutated inputs. Only ``FormatError`` (``CheckpointError`` for restore) may escape, and
pathological inputs stay within a memory bound."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from budget import examples
from external_data import REASON, found
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab.kernel import checkpoint as ckpt
from keykos_lab.readers import FormatError
from keykos_lab.readers.capdl import read_capdl_text
from keykos_lab.readers.cml import read_cml_text
from keykos_lab.readers.microkit import read_microkit_text

MAX_INPUT = 64 * 1024  # bytes of input a fuzz example may use
MEMORY_BOUND = 64 * 1024 * 1024  # bytes a pathological input may make a reader allocate
_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))

INLINE = {
    "capdl": [
        "arch arm11\nobjects { t = tcb  cn = cnode (2 bits)  e = ep  f = frame (4k) }\n"
        "caps { t { cspace: cn  ipc_buffer_slot: f (RW) }\n cn { e (R)  e (W, badge: 3) } }",
        "arch ia32 objects { a = tcb  b = ep  c[4] = frame (4k) } caps { a { 5: b } }",
    ],
    "microkit": [
        '<system><protection_domain name="server" passive="true" />'
        '<protection_domain name="client" priority="3"><program_image path="c.elf"/>'
        '<map mr="buf" vaddr="0x4000000" perms="rw"/></protection_domain>'
        '<memory_region name="buf" size="0x1000"/>'
        '<channel><end pd="server" id="0" /><end pd="client" id="0" pp="true" />'
        "</channel></system>"
    ],
    "cml": [
        "{use: [{protocol: 'p'}], expose: [{directory: '/d', from: 'self', rights: ['r*']}]}",
        "{children: [{name: 'c', url: '#meta/c.cm'}], offer: [{protocol: ['a', 'b'], "
        "from: 'parent', to: '#c'}], capabilities: [{protocol: 'x'}], include: ['y.shard']}",
    ],
}
READERS = {
    "capdl": lambda t: read_capdl_text(t, "fuzz.cdl"),
    "microkit": lambda t: read_microkit_text(t, "fuzz.system"),
    "cml": lambda t: read_cml_text(t, "fuzz"),
}
EXTERNAL = {
    "capdl": ("sel4-capdl", "*.cdl"),
    "microkit": ("sel4-microkit-sdf", "*.system"),
    "cml": ("fuchsia-cml", "*.cml"),
}


def corpus(kind: str) -> list[str]:
    """The inline examples, plus the real files of the external dataset where present."""
    texts = list(INLINE[kind])
    name, pattern = EXTERNAL[kind]
    root = found(name)
    if root is not None:
        for p in sorted(root.rglob(pattern))[:12]:
            text = p.read_text(encoding="utf-8", errors="replace")
            if len(text) <= MAX_INPUT:
                texts.append(text)
    return texts


TOKENS = [
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "/>",
    "</",
    "=",
    ":",
    ",",
    "'",
    '"',
    "\\",
    "0x",
    "-1",
    "99999999999999999999",
    "4G",
    "64 bits",
    "\0",
    "\n",
    "&#0;",
    "&amp;",
    "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
    "&a;",
    "--",
    "/*",
    "*/",
    "NaN",
    "Infinity",
    "\ud800",
    "é",
    "tcb",
    "cnode",
    "frame",
    "ep",
    "name=",
    "protection_domain",
    "use",
    "offer",
    "from",
    "to",
    "#",
    "include",
    "[1000000000]",
    "..",
    "@",
    "badge:",
]


@st.composite
def mutated(draw, kind: str):
    """A corpus text with a few random edits: cut, duplicate, insert tokens or bytes."""
    texts = corpus(kind)
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 6))):
        n = len(text)
        at = draw(st.integers(0, n))
        edit = draw(st.integers(0, 4))
        if edit == 0 and n:
            end = draw(st.integers(at, min(n, at + 200)))
            text = text[:at] + text[end:]
        elif edit == 1 and n:
            end = draw(st.integers(at, min(n, at + 500)))
            text = text[:at] + text[at:end] * draw(st.integers(2, 20)) + text[at:]
        elif edit == 2:
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif edit == 3:
            text = text[:at] + draw(st.text(max_size=20)) + text[at:]
        else:
            text = text[at:] + text[:at]
        text = text[:MAX_INPUT]
    return text


def _only_format_errors(kind: str, text: str) -> None:
    try:
        READERS[kind](text)
    except FormatError:
        pass


@pytest.mark.parametrize("kind", sorted(READERS))
def test_corpus_reads(kind):
    name = EXTERNAL[kind][0]
    if found(name) is None:
        pytest.skip(f"{name}: {REASON}")
    for text in corpus(kind):
        _only_format_errors(kind, text)


@pytest.mark.parametrize("kind", sorted(READERS))
def test_mutated_specs_raise_only_format_errors(kind):
    @settings(max_examples=examples(60), **_SETTINGS)
    @given(text=mutated(kind))
    def check(text):
        _only_format_errors(kind, text)

    check()


@pytest.mark.parametrize("kind", sorted(READERS))
def test_arbitrary_text_raises_only_format_errors(kind):
    @settings(max_examples=examples(20), **_SETTINGS)
    @given(text=st.text(max_size=300) | st.sampled_from(TOKENS).map(lambda t: t * 50))
    def check(text):
        _only_format_errors(kind, text)

    check()


PATHOLOGICAL = {
    "capdl": [
        "arch arm11 objects { " + "x" * 10 + "[1000000000] = tcb }",
        "arch arm11 objects { c = cnode (64 bits) } caps { c { 0xffffffffffff: c } }",
        "arch arm11 objects { f = frame (4G) }",
        "arch arm11 objects { " + "a = tcb " * 20000 + "}",
        "arch arm11 objects { x = tcb { " * 5000 + "}" * 5000 + " }",
        "/*" * 50000,
        # issue 15: limits per file, not per construct
        "arch arm11 objects { " + "u = ut { " * 20000 + "}" * 20000 + " }",
        "arch arm11 objects { c = cnode (" + "9" * 5000 + " bits) }",
        "arch arm11 objects { frame@0x" + "f" * 20000 + "[4096] = frame (4k) }",
        "arch arm11 objects { f[65536] = frame (4k) c[64] = cnode (20 bits) } caps { c[] { f[] } }",
    ],
    "microkit": [
        "<system>" + "<protection_domain name='a'>" * 20000 + "</system>",
        "<!DOCTYPE s [<!ENTITY a 'xxxxxxxxxx'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>"
        "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;'>"
        "<!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;'><!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;'>]>"
        "<system><protection_domain name='&f;&f;&f;&f;&f;&f;&f;&f;' /></system>",
        "<system><memory_region name='m' size='0xffffffffffffffffffff' /></system>",
        "<system>" + "<channel>" * 30000,
        "<?xml version='1.0' encoding='bogus-enc'?><system />",
        "<system><memory_region name='m' size='" + "9" * 5000 + "' /></system>",
    ],
    "cml": [
        "[" * 100000 + "]" * 100000,
        "{a:" * 50000 + "1" + "}" * 50000,
        "{use: [" + "{protocol: 'p'}, " * 20000 + "]}",
        "{children: [{name: 'c', url: '" + "x" * 60000 + "'}]}",
        "'" + "\\" * 60000,
        "{facets: {n: " + "7" * 5000 + "}}",
        "\n" * 200000 + "{a: [1,",
    ],
}


@pytest.mark.parametrize(
    "kind, i", [(k, i) for k in sorted(PATHOLOGICAL) for i in range(len(PATHOLOGICAL[k]))]
)
def test_pathological_inputs_stay_in_memory_bounds(kind, i):
    text = PATHOLOGICAL[kind][i]
    tracemalloc.start()
    try:
        _only_format_errors(kind, text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"{kind} input {i} made the reader allocate {peak >> 20} MiB"


# ------------------------------------------------------------- restore fuzzing
@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> bytes:
    k = kl.Kernel(seed=2)
    con = k.console
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    con.call(page, kl.oc.Page.WriteData, data=b"data")
    con.fork(echo, 3)
    path = tmp_path_factory.mktemp("ck") / "good.ckpt"
    k.checkpoint(path)
    return path.read_bytes()


def _restore_only_checkpoint_errors(tmp: Path, blob: bytes):
    path = tmp / "fuzz.ckpt"
    path.write_bytes(blob)
    try:
        return kl.Kernel.restore(path)
    except kl.CheckpointError:
        return None


@settings(max_examples=examples(40), **_SETTINGS)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 3), st.binary(max_size=8)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_checkpoint_bytes(good_checkpoint, tmp_path_factory, edits):
    blob = bytearray(good_checkpoint)
    for at, how, data in edits:
        at %= len(blob) + 1
        if how == 0:
            del blob[at : at + 1 + len(data)]
        elif how == 1:
            blob[at:at] = data
        elif how == 2 and at < len(blob):
            blob[at] ^= (data[0] if data else 1) or 1
        else:
            del blob[at:]
    if bytes(blob) == good_checkpoint:
        return
    r = _restore_only_checkpoint_errors(tmp_path_factory.mktemp("f"), bytes(blob))
    if r is not None:  # only the header's free text changed (the body is checksummed)
        assert bytes(blob).split(b"\n", 1)[1] == good_checkpoint.split(b"\n", 1)[1]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for key, v in doc.items():
            yield from _paths(v, prefix + (key,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:6]):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=examples(60), **_SETTINGS)
@given(data=st.data())
def test_forged_checkpoints_with_valid_checksums(good_checkpoint, tmp_path_factory, data):
    """An attacker who fixes the checksum: every record is still checked."""
    head, body = good_checkpoint.split(b"\n", 1)
    doc = json.loads(body)
    paths = [p for p in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = data.draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    new_body = json.dumps(doc).encode()
    header = json.loads(head)
    header.update(length=len(new_body))
    header["sha256"] = ckpt._digest(header, new_body)
    blob = json.dumps(header).encode() + b"\n" + new_body
    r = _restore_only_checkpoint_errors(tmp_path_factory.mktemp("f"), blob)
    if r is not None:  # a harmless change: the kernel must still be sound
        for obj in r.objs:
            if obj is not None and obj.kind == "node":
                assert all(type(key) is kl.Key and len(key) == 4 for key in obj.slots)
        assert ckpt.encode(r)  # and it can be saved again


def test_restore_of_huge_claims_stays_in_memory_bounds(good_checkpoint, tmp_path):
    head, body = good_checkpoint.split(b"\n", 1)
    doc = json.loads(body)
    doc["kernel"]["n_objects"] = ckpt.MAX_OBJECTS + 1
    doc["log"]["chunk_rows"] = 1 << 40
    for change in ({"length": 1 << 50}, {}):
        new = json.dumps(doc).encode()
        header = dict(json.loads(head), length=len(new))
        header["sha256"] = ckpt._digest(header, new)
        header.update(change)
        tracemalloc.start()
        try:
            with pytest.raises(kl.CheckpointError):
                (tmp_path / "h.ckpt").write_bytes(json.dumps(header).encode() + b"\n" + new)
                kl.Kernel.restore(tmp_path / "h.ckpt")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < MEMORY_BOUND


@pytest.mark.parametrize("kind", sorted(PATHOLOGICAL))
def test_text_that_is_not_unicode_is_a_format_error(kind):
    """Hypothesis found it: lone surrogates made the Microkit reader's XML parser
    raise UnicodeEncodeError."""
    _only_format_errors(kind, "\ud800" * 50)
    _only_format_errors(kind, "<system>\udfff</system>")


KEY_FIELDS = st.one_of(
    st.integers(-2, 20),
    st.integers(0, 200),
    st.just(2**63),
    st.just(2**88),
    st.integers(-(2**70), 2**70),
)


@settings(max_examples=examples(60), **_SETTINGS)
@given(data=st.data())
def test_forged_keys_name_objects_of_their_kind(good_checkpoint, tmp_path_factory, data):
    """Keys of any type, object, databyte and alloc, put in node slots with the checksum
    fixed: refused with CheckpointError (never a loader bug), or, when restored, each names
    an object of the kind its type designates."""
    from keykos_lab.kernel.checkpoint.format import NODE_KEYS, PAGE_KEYS

    head, body = good_checkpoint.split(b"\n", 1)
    doc = json.loads(body)
    ids = [rec[0] for rec in doc["pages"] + doc["nodes"]]
    allocs = [rec[1] for rec in doc["pages"] + doc["nodes"]]
    for _ in range(data.draw(st.integers(1, 3))):
        node = data.draw(st.sampled_from(doc["nodes"]))
        key = [
            data.draw(st.integers(0, 19)),
            data.draw(st.sampled_from(ids) | KEY_FIELDS),
            data.draw(st.integers(0, 255) | KEY_FIELDS),
            data.draw(st.sampled_from(allocs) | KEY_FIELDS),
        ]
        node[2].append([data.draw(st.integers(0, 15)), *key])
    new_body = json.dumps(doc).encode()
    header = json.loads(head)
    header.update(length=len(new_body))
    header["sha256"] = ckpt._digest(header, new_body)
    r = _restore_only_checkpoint_errors(
        tmp_path_factory.mktemp("f"), json.dumps(header).encode() + b"\n" + new_body
    )
    if r is not None:
        for obj in r.objs:
            if obj is not None and obj.kind == "node":
                for key in obj.slots:
                    target = r.objs[key.obj] if key.type in NODE_KEYS | PAGE_KEYS else None
                    if target is not None:
                        assert target.kind == ("page" if key.type in PAGE_KEYS else "node")
