"""Tests for the capDL reader (keykos_lab.readers.capdl) on the seL4 capDL-tool files."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from external_data import REASON, root

from keykos_lab import analysis
from keykos_lab.readers.capdl import read_capdl, read_capdl_text
from keykos_lab.readers.errors import FormatError

CAPDL = root("sel4-capdl") / "capDL-tool"
needs_files = pytest.mark.skipif(not CAPDL.is_dir(), reason=REASON)

VALID = ["camkes-adder-arm", "cap-dist-elf-simpleserver", "example-aarch64", "example-arm",
         "example-ia32", "hello-dump"]
OBSOLETE = ["example.cdl", "iwana-ia32.cdl"]

# Golden counts: (vertices by kind, number of edges).
GOLDEN = {
    # By hand: cnode, pd1, pt1, cnode2 are nodes; tcb and ep (a notification given RWG in
    # `cnode`, so a relay) are domains; frame[6] are 6 pages; ap (asid_pool) is misc -> 13.
    # Edges: cnode 4 (implicit slots 0..3) + ap 1 + pd1 1 + pt1 6 (frame[] = frame[0..5])
    # + cnode2 1 + tcb 3 (cspace, vspace, ipc_buffer_slot) = 16.
    "cap-dist-elf-simpleserver": ({"node": 4, "domain": 2, "page": 6, "misc": 1}, 16),
    # By hand: misc = untypeds rm_ut, something, rm_ut_small[50], rm_ut_big[100], name,
    # name_b and the implicit parents name2, name3 (1+1+50+100+1+1+1+1 = 156) + rm_ap
    # + irq_handler[3] + sgi1 + the special target sched_control = 162.
    # page = frames 64+64+4 = 132 + the channels no cap grants through: control,
    # nic1_notification, y[5], z = 140. domain = tcbs rm_tcb, g, x, a, b + timer (held
    # with G) = 6. node = rm_cn, rm_pd, linux_pd, test[5], cnode_booter = 9.
    # Edges (slot lines of the .right, ranges expanded): cnode_booter 2, rm_ap 1,
    # rm_cn 356 (5 singles + 41 rm_ut_small + 100 rm_ut_big + 3 irq + 64 + 64 + 4 frames
    # + sgi1, timer, control, 303, 308 + 4 test + 2 rm_cn + 64 <name[]>), rm_tcb 2,
    # test[0] 1, test[1] 3, test[2..4] 3 x 2 = 371.
    "example-arm": ({"misc": 162, "page": 140, "domain": 6, "node": 9}, 371),
    # As example-arm without the tcbs a and b (no `name/a`, `name/b`); sgi2 for sgi1;
    # linux_pd is a pt (still a node); the caps are the same 371.
    "example-aarch64": ({"misc": 162, "page": 140, "domain": 4, "node": 9}, 371),
    # By hand from example-ia32.right: domain = tcbs a, b, rm_tcb, x + timer (G) = 5;
    # node = cnode_booter, io_pt1..3, linux_pd, rm_cn, rm_pd, some_pt = 8; page = frames
    # 1 + 64 + 64 + 4 + channels control, nic1_notification, y, z = 137; misc = io_ports,
    # iospace, irq[3], nic1..3, rm_ap, ut name, name2, name3, name_b, rm_ut, 100 + 50,
    # special io_space_master = 165. Edges: linux_pd 1+1+31+33+1+65 = 132, rm_cn 291,
    # cnode_booter, io_pt1..3, nic1 1 each, rm_tcb 2, some_pt 3 = 433.
    "example-ia32": ({"domain": 5, "node": 8, "page": 137, "misc": 165}, 433),
    # Large files: the counts the parser gives, cross-checked in test_large_cross_check by
    # counting declarations and slot lines with regular expressions.
    "hello-dump": ({"page": 184, "misc": 49, "node": 3, "domain": 1}, 261),
    "camkes-adder-arm": ({"page": 74, "misc": 17, "domain": 8, "node": 8}, 106),
}


def signature(G):
    """Vertices with kinds, and the multiset of (holder, target, key_type, databyte, slot)."""
    return ({v: G.nodes[v]["kind"] for v in G},
            Counter((h, t, d["key_type"], d["databyte"], d["slot"])
                    for h, t, d in G.edges(data=True)))


@pytest.fixture(scope="module")
def graphs():
    return {}


def load(graphs, name, ext=".cdl"):
    if (name, ext) not in graphs:
        graphs[name, ext] = read_capdl(CAPDL / f"{name}{ext}")
    return graphs[name, ext]


@needs_files
@pytest.mark.parametrize("name", VALID)
def test_golden_counts(graphs, name):
    G = load(graphs, name)
    kinds, n_edges = GOLDEN[name]
    assert Counter(k for _, k in G.nodes(data="kind")) == kinds
    assert G.number_of_nodes() == sum(kinds.values())
    assert G.number_of_edges() == n_edges
    assert all(d["source_type"] for _, d in G.nodes(data=True))


@needs_files
@pytest.mark.parametrize("name", VALID)
def test_cdl_equals_right(graphs, name):
    assert signature(load(graphs, name)) == signature(load(graphs, name, ".right"))


@needs_files
def test_simpleserver_key_types(graphs):
    G = load(graphs, "cap-dist-elf-simpleserver")
    # By hand: cnode -> tcb (domain), ep RWG (start), cnode (node), frame[5] RWG (page);
    # ap -> pd1, pd1 -> pt1, cnode2 -> cnode (node); pt1 -> 6 frames RWG (page, writable);
    # tcb: cspace node, vspace segment read-only (no W), ipc buffer page RWG.
    types = Counter((d["key_type"], d["databyte"]) for _, _, d in G.edges(data=True))
    assert types == {("domain", 0): 1, ("start", 0): 1, ("node", 0): 5, ("page", 0): 8,
                     ("segment", 0x80): 1}
    tcb = {d["slot_name"]: (t, d["slot"], d["slot_kind"])
           for _, t, d in G.out_edges("tcb", data=True)}
    assert tcb == {"cspace": ("cnode2", 0, "key_register"),
                   "vspace": ("pd1", 1, "address"),
                   "ipc_buffer_slot": ("frame[5]", 4, "address")}
    assert G.nodes["ap"]["source_type"] == "asid_pool"
    assert G.get_edge_data("cnode", "ep")[0]["capdl_rights"] == "RWG"


@needs_files
@pytest.mark.parametrize("name", ["hello-dump", "camkes-adder-arm"])
def test_large_cross_check(graphs, name):
    """Independent facts from regular expressions over the text (neither file uses arrays
    or ranges, so each declaration is one object and each slot line one cap)."""
    text = (CAPDL / f"{name}.cdl").read_text()
    decls = Counter(m.group(1) for m in
                    re.finditer(r"^\s*[A-Za-z0-9_@]+\s*=\s*([a-z_]+)", text, re.M))
    slot_lines = len(re.findall(r"^\s*(?:0x[0-9a-f]+|[a-z_]+):", text, re.M))
    specials = len(set(re.findall(r"^\s*0x[0-9a-f]+:\s*(irq_control|asid_control)\b",
                                  text, re.M)))
    G = load(graphs, name)
    types = Counter(d["source_type"] for _, d in G.nodes(data=True))
    for t in ("tcb", "frame", "ut", "cnode", "pd", "pt", "ep"):
        assert types[t] == decls[t], t
    assert G.number_of_nodes() == sum(decls.values()) + specials
    assert G.number_of_edges() == slot_lines
    kinds = Counter(k for _, k in G.nodes(data="kind"))
    assert kinds["node"] == decls["cnode"] + decls["pd"] + decls["pt"]
    # every tcb is a domain; the other domains are endpoints some cap grants through
    relays = {t for _, t, d in G.edges(data=True)
              if set(d["capdl_rights"]) & set("GPX") and
              G.nodes[t]["source_type"] in ("ep", "notification")}
    assert kinds["domain"] == decls["tcb"] + len(relays)


@needs_files
def test_hello_dump_array_names_by_address(graphs):
    G = load(graphs, "hello-dump", ".right")
    assert "frame@0x10100000" in G and "untyped@0xf0001000@12" in G
    assert "frame@0x10000000[1]" not in G


@needs_files
@pytest.mark.parametrize("name", OBSOLETE)
def test_obsolete_dialect_rejected(name):
    with pytest.raises(FormatError) as e:
        read_capdl(CAPDL / name)
    assert e.value.line == 9  # `objects` with no `{` on line 9 of both files
    assert e.value.path.endswith(name)
    msg = str(e.value)
    assert name in msg and ":9:" in msg and "'objects'" in msg and "obsolete" in msg


@needs_files
def test_truncated_file():
    text = (CAPDL / "cap-dist-elf-simpleserver.cdl").read_text()
    cut = text[:text.index("pd1 { 0: pt1 }")]  # ends inside the caps section
    with pytest.raises(FormatError) as e:
        read_capdl_text(cut, "cut.cdl")
    assert e.value.line == cut.count("\n") + 1
    assert "end of file" in str(e.value) and "caps" in str(e.value)
    with pytest.raises(FormatError, match="end of file") as e:
        read_capdl_text(text[:text.index("(4 bits)") + 3], "cut.cdl")
    assert e.value.line == 11


@needs_files
def test_analysis_on_camkes_adder(graphs):
    G = load(graphs, "camkes-adder-arm")
    client, server = "client_client_0_control_tcb", "adder_adder_a_0000_tcb"
    a = analysis.authority(G, client)
    assert ((a.target == "p_ep") & (a.key_type == "start")).any()
    # the server may hand its keys back through the grant-reply relay: an over-approximation
    assert ((a.target == "adder_cnode") & (a.key_type == "node")).any()
    f = analysis.flows(G)
    assert f.loc[client, "p_ep"] and f.loc["p_ep", server]
    assert f.loc[client, server]


# -- inline specifications ------------------------------------------------------------------

SPEC = """arch aarch64  -- comment
/* a /* nested */ comment */
objects {
  top = ut (20 bits) {
    t = tcb (prio: 0x10, init: [1, 2])
    cn = cnode (0o12 bits)
    f[8] = frame (4k)
  }
  top/sub/u = ut (12 bits)
  dev = frame (4k, paddr: 0x8000000)
  e = ep
  n = notification
  pd = pgd
  i[2] = irq
}
caps {
  t {
    cspace: cn (guard: 0, guard_size: 54)
    vspace: pd
    ipc_buffer_slot: f[0] (RW)
    fault_ep_slot: e (badge: 7)
    sc_slot: n (R)
  }
  cn {
    010: f[..1]
    f[6..]
    020: mine = dev (R)
    <mine> (masked: W)
    irq_control
    0x30: n (W)
    n (R) - child_of (cn, 0x30)
    fs[] = f[2, 4]
    <fs[1]>
    e (RWG)
    t (reply)
  }
  pd { 0: f[7] (RW) }
  alias = (t, cspace)
} irq maps { 5: i[] } cdt { (cn, 0x30) { (cn, 0x31) } } domains { schedule: [(0, 1)] }
"""


def test_inline_features():
    G = read_capdl_text(SPEC)
    assert G.graph["arch"] == "aarch64"
    assert G.nodes["cn"]["size_bits"] == 10  # 0o12
    assert G.nodes["dev"]["device"] is True and G.nodes["f[0]"]["device"] is False
    assert G.nodes["u"]["covered_by"] == "sub" and G.nodes["sub"]["covered_by"] == "top"
    assert G.nodes["sub"]["source_type"] == "ut" and G.nodes["t"]["covered_by"] == "top"
    assert (G.nodes["i[0]"]["irq"], G.nodes["i[1]"]["irq"]) == (5, 6)
    assert G.nodes["e"]["kind"] == "domain" and G.nodes["n"]["kind"] == "page"
    assert G.nodes["irq_control"]["kind"] == "misc"
    cn = sorted((d["slot"], t, d["key_type"], d["databyte"])
                for _, t, d in G.out_edges("cn", data=True))
    assert cn == [(10, "f[0]", "page", 128), (11, "f[1]", "page", 128),
                  (12, "f[6]", "page", 128), (13, "f[7]", "page", 128),
                  (20, "dev", "page", 128), (21, "dev", "page", 128),  # R masked by W: none
                  (22, "irq_control", "misc", 0), (48, "n", "page", 0),
                  (49, "n", "page", 128), (50, "f[2]", "page", 128), (51, "f[4]", "page", 128),
                  (52, "f[4]", "page", 128), (53, "e", "start", 0), (54, "t", "resume", 0)]
    t = {d["slot"]: (v, d["key_type"], d["databyte"], d["slot_kind"])
         for _, v, d in G.out_edges("t", data=True)}
    assert t == {0: ("cn", "node", 0, "key_register"), 1: ("pd", "segment", 128, "address"),
                 4: ("f[0]", "page", 0, "address"), 5: ("e", "start", 0, "keeper"),
                 6: ("n", "misc", 0, "key_register")}
    assert G.get_edge_data("t", "e")[0]["badge"] == 7
    assert G.get_edge_data("t", "cn")[0]["guard_size"] == 54
    assert G.get_edge_data("pd", "f[7]")[0]["databyte"] == 0


@pytest.mark.parametrize("text, line, words", [
    # unknown keyword (section)
    ("arch arm11\nobjects { a = ep }\nfrobnicate { }\n", 3, "unknown section keyword"),
    # unknown object type
    ("arch arm11\nobjects {\n  a = page_directory\n}\n", 3, "unknown object type"),
    # wrong nesting: a caps section inside objects
    ("arch arm11\nobjects {\n  a = ep\n  caps {\n  }\n}\n", 4, "expected '='"),
    # wrong nesting: a cap outside any container
    ("arch arm11\nobjects { a = ep }\ncaps {\n  0: a\n}\n", 4, "expected '{' or '='"),
    # wrong nesting: unbalanced close
    ("arch arm11\nobjects { a = ep }\n}\n", 3, "unknown section keyword '}'"),
    # a cap to an undeclared object
    ("arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 0: ghost\n} }\n", 4,
     "undeclared object 'ghost'"),
    # caps for an undeclared container
    ("arch arm11\nobjects { c = cnode (2 bits) }\ncaps {\n ghost { 0: c }\n}\n", 4,
     "undeclared object 'ghost'"),
    # bad numbers
    ("arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 0x1g: c\n} }\n", 4,
     "bad number '0x1g'"),
    ("arch arm11\nobjects {\n c = cnode (0o9 bits) }\n", 3, "bad number '0o9'"),
    # unterminated comment, missing arch, index out of range, copy of unknown name
    ("arch arm11\n/* /* */\nobjects { }\n", 2, "unterminated"),
    ("objects { }\n", 1, "'arch'"),
    ("arch arm11\nobjects { f[2] = frame (4k) c = cnode (2 bits) }\ncaps { c {\n f[1..2] } }",
     4, "out of range"),
    ("arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 1: <nope> } }", 4,
     "undefined cap name"),
    ("arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 1: c\n 1: c } }", 5,
     "filled twice"),
])
def test_errors(text, line, words):
    with pytest.raises(FormatError) as e:
        read_capdl_text(text, "bad.cdl")
    assert e.value.line == line and e.value.path == "bad.cdl"
    assert words in str(e.value) and str(e.value).startswith(f"bad.cdl:{line}:")


def test_linear_on_large_input():
    def spec(n):
        caps = "\n".join(f"  f[{i}] (RW)" for i in range(n))
        copies = "\n".join(f"  <c{i}>" for i in range(0, n, 2))
        named = "\n".join(f"  c{i} = f[{i}]" for i in range(0, n, 2))
        return (f"arch x86_64\nobjects {{\n  f[{n}] = frame (4k)\n  a = cnode (20 bits)\n"
                f"  b = cnode (20 bits)\n  c = cnode (20 bits)\n}}\ncaps {{\n a {{\n{caps}\n}}"
                f"\n b {{\n{named}\n}}\n c {{\n{copies}\n}}\n}}\n")

    small, big = spec(2_000), spec(16_000)
    t0 = time.perf_counter()
    G = read_capdl_text(small)
    t1 = time.perf_counter()
    H = read_capdl_text(big)
    t2 = time.perf_counter()
    assert G.number_of_edges() == 2_000 + 1_000 + 1_000
    assert H.number_of_edges() == 16_000 + 8_000 + 8_000
    assert t2 - t1 < 8 * 3 * max(t1 - t0, 0.05)  # 8x the input: far from 64x


@needs_files
def test_damaged_files_raise_only_format_error():
    """Cut, or drop a character from, a valid file at many places: the reader either
    reads it or raises FormatError (never another exception)."""
    text = (CAPDL / "example-ia32.cdl").read_text()
    for cut in range(0, len(text), 41):
        for damaged in (text[:cut], text[:cut] + text[cut + 1:]):
            try:
                read_capdl_text(damaged, "damaged.cdl")
            except FormatError as e:
                assert e.path == "damaged.cdl" and e.line >= 1
