"""Tests for the capDL reader (keykos_lab.readers.capdl) on the seL4 capDL-tool files, and one
test per row of the mapping table in the module docstring (a minimal hand-written spec: the
edge or vertex the row makes and, where the row is about flow, ``analysis.can_flow``)."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from external_data import REASON, root

from keykos_lab import analysis
from keykos_lab.analysis import can_flow
from keykos_lab.readers.capdl import read_capdl, read_capdl_text
from keykos_lab.readers.errors import FormatError

CAPDL = root("sel4-capdl") / "capDL-tool"
needs_files = pytest.mark.skipif(not CAPDL.is_dir(), reason=REASON)

VALID = [
    "camkes-adder-arm",
    "cap-dist-elf-simpleserver",
    "example-aarch64",
    "example-arm",
    "example-ia32",
    "hello-dump",
]
OBSOLETE = ["example.cdl", "iwana-ia32.cdl"]

# Golden counts: (vertices by kind, number of edges).
#
# Semantic changes (issue 16) since the first counts, each moving these numbers:
# * a thread gets a `page` key (slot_kind "address") to every frame its VSpace maps, with
#   that mapping's rights ("mapped" edges below);
# * a notification is never a relay (notification caps have no Grant right), and an endpoint
#   is a relay only when a cap to it has Grant (GrantReply `P` moves no cap), or in an MCS
#   spec (none of these files is one) when it has a caller;
# * io_device objects (DMA devices) are domains.
GOLDEN = {
    # By hand: cnode, pd1, pt1, cnode2 are nodes; tcb is the one domain (ep is a
    # notification: never a relay); frame[6] and ep are 7 pages; ap (asid_pool) is misc.
    # Edges: cnode 4 (implicit slots 0..3) + ap 1 + pd1 1 + pt1 6 (frame[] = frame[0..5])
    # + cnode2 1 + tcb 3 (cspace, vspace, ipc_buffer_slot) = 16, plus the 6 frames tcb's
    # VSpace (pd1 -> pt1) maps = 22.
    "cap-dist-elf-simpleserver": ({"node": 4, "domain": 1, "page": 7, "misc": 1}, 22),
    # By hand: misc = untypeds rm_ut, something, rm_ut_small[50], rm_ut_big[100], name,
    # name_b and the implicit parents name2, name3 (1+1+50+100+1+1+1+1 = 156) + rm_ap
    # + irq_handler[3] + sgi1 + the special target sched_control = 162.
    # page = frames 64+64+4 = 132 + the channels control, timer (a notification: even with
    # G, never a relay), nic1_notification, y[5], z = 141. domain = tcbs rm_tcb, g, x, a,
    # b = 5. node = rm_cn, rm_pd, linux_pd, test[5], cnode_booter = 9.
    # Edges (slot lines of the .right, ranges expanded): cnode_booter 2, rm_ap 1,
    # rm_cn 356 (5 singles + 41 rm_ut_small + 100 rm_ut_big + 3 irq + 64 + 64 + 4 frames
    # + sgi1, timer, control, 303, 308 + 4 test + 2 rm_cn + 64 <name[]>), rm_tcb 2,
    # test[0] 1, test[1] 3, test[2..4] 3 x 2 = 371; rm_tcb's VSpace rm_pd maps nothing.
    "example-arm": ({"misc": 162, "page": 141, "domain": 5, "node": 9}, 371),
    # As example-arm without the tcbs a and b (no `name/a`, `name/b`); sgi2 for sgi1;
    # linux_pd is a pt (still a node); the caps are the same 371.
    "example-aarch64": ({"misc": 162, "page": 141, "domain": 3, "node": 9}, 371),
    # By hand from example-ia32.right: domain = tcbs a, b, rm_tcb, x + the io_devices nic1,
    # nic2, nic3, iospace = 8; node = cnode_booter, io_pt1..3, linux_pd, rm_cn, rm_pd,
    # some_pt = 8; page = frames 1 + 64 + 64 + 4 + channels timer, control,
    # nic1_notification, y, z = 138; misc = io_ports, irq[3], rm_ap, ut name, name2, name3,
    # name_b, rm_ut, 100 + 50, special io_space_master = 161. Edges: linux_pd 1+1+31+33+1+65
    # = 132, rm_cn 291, cnode_booter, io_pt1..3, nic1 1 each, rm_tcb 2, some_pt 3 = 433,
    # plus nic1's one DMA mapping (io_pt1 -> io_pt2 -> io_pt3 -> frame_nic3[0]) = 434.
    "example-ia32": ({"domain": 8, "node": 8, "page": 138, "misc": 161}, 434),
    # Large files: the counts the parser gives, cross-checked in test_large_cross_check by
    # counting declarations, slot lines and mapped frames with regular expressions.
    # hello-dump: 261 slot lines + 18 frames its one thread's VSpace maps.
    "hello-dump": ({"page": 184, "misc": 49, "node": 3, "domain": 1}, 279),
    # camkes-adder: 106 slot lines + 3 threads x 39 frames (adder_group_bin_pd) + 2 x 30
    # (client_group_bin_pd) = 283. No endpoint has Grant, so none is a relay: 5 domains.
    "camkes-adder-arm": ({"page": 77, "misc": 17, "domain": 5, "node": 8}, 283),
}


def signature(G):
    """Vertices with kinds, and the multiset of (holder, target, key_type, databyte, slot)."""
    return (
        {v: G.nodes[v]["kind"] for v in G},
        Counter((h, t, d["key_type"], d["databyte"], d["slot"]) for h, t, d in G.edges(data=True)),
    )


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
    # By hand: cnode -> tcb (domain), ep RWG (a notification: page, read-write), cnode
    # (node), frame[5] RWG (page); ap -> pd1, pd1 -> pt1, cnode2 -> cnode (node); pt1 -> 6
    # frames RWG (page, writable); tcb: cspace node, vspace segment read-only, ipc buffer
    # page, and the 6 frames its VSpace maps (page, writable).
    types = Counter((d["key_type"], d["databyte"]) for _, _, d in G.edges(data=True))
    assert types == {("domain", 0): 1, ("node", 0): 5, ("page", 0): 15, ("segment", 0x80): 1}
    tcb = {
        d["slot_name"]: (t, d["slot"], d["slot_kind"])
        for _, t, d in G.out_edges("tcb", data=True)
        if not d.get("mapped")
    }
    assert tcb == {
        "cspace": ("cnode2", 0, "key_register"),
        "vspace": ("pd1", 1, "address"),
        "ipc_buffer_slot": ("frame[5]", 4, "address"),
    }
    mapped = sorted(t for _, t, d in G.out_edges("tcb", data=True) if d.get("mapped"))
    assert mapped == [f"frame[{i}]" for i in range(6)]
    assert G.nodes["ap"]["source_type"] == "asid_pool"
    assert G.get_edge_data("cnode", "ep")[0]["capdl_rights"] == "RWG"


def _blocks(text):
    """container -> targets of its slot lines, by regular expressions only."""
    out, current = {}, None
    for line in text.splitlines():
        line = line.split("--")[0].strip()
        m = re.match(r"^([A-Za-z0-9_@]+)\s*\{", line)
        if m:
            current = out.setdefault(m.group(1), [])
            continue
        m = re.match(r"^(?:0x[0-9a-f]+|[a-z_]+):\s*([A-Za-z0-9_@]+)(?:\s*\(([^)]*)\))?", line)
        if m and current is not None:
            current.append((m.group(1), m.group(2) or ""))
        if line.startswith("}"):
            current = None
    return out


@needs_files
@pytest.mark.parametrize("name", ["hello-dump", "camkes-adder-arm"])
def test_large_cross_check(graphs, name):
    """Independent facts from regular expressions over the text (neither file uses arrays
    or ranges, so each declaration is one object and each slot line one cap)."""
    text = (CAPDL / f"{name}.cdl").read_text()
    decls = Counter(
        m.group(1) for m in re.finditer(r"^\s*[A-Za-z0-9_@]+\s*=\s*([a-z_]+)", text, re.M)
    )
    types = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\s*([A-Za-z0-9_@]+)\s*=\s*([a-z_]+)", text, re.M)
    }
    slot_lines = len(re.findall(r"^\s*(?:0x[0-9a-f]+|[a-z_]+):", text, re.M))
    specials = len(set(re.findall(r"^\s*0x[0-9a-f]+:\s*(irq_control|asid_control)\b", text, re.M)))
    # frames each thread's VSpace maps: walk the page-table blocks from its vspace slot
    blocks = _blocks(text)
    mapped = 0
    for tcb in (n for n, t in types.items() if t == "tcb"):
        roots = [t for t, _ in blocks.get(tcb, []) if types.get(t) in ("pd", "pgd", "pt")]
        frames, todo = set(), list(roots)
        while todo:
            for t, _ in blocks.get(todo.pop(), []):
                if types.get(t) == "frame":
                    frames.add(t)
                elif types.get(t) in ("pt", "pd", "pud"):
                    todo.append(t)
        mapped += len(frames)
    G = load(graphs, name)
    kinds_by_type = Counter(d["source_type"] for _, d in G.nodes(data=True))
    for t in ("tcb", "frame", "ut", "cnode", "pd", "pt", "ep"):
        assert kinds_by_type[t] == decls[t], t
    assert G.number_of_nodes() == sum(decls.values()) + specials
    assert sum(not d.get("mapped") for *_, d in G.edges(data=True)) == slot_lines
    assert sum(bool(d.get("mapped")) for *_, d in G.edges(data=True)) == mapped > 0
    kinds = Counter(k for _, k in G.nodes(data="kind"))
    assert kinds["node"] == decls["cnode"] + decls["pd"] + decls["pt"]
    # every tcb is a domain; the other domains are endpoints some cap grants through
    relays = {
        t
        for _, t, d in G.edges(data=True)
        if "G" in d["capdl_rights"] and G.nodes[t]["source_type"] == "ep"
    }
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
    cut = text[: text.index("pd1 { 0: pt1 }")]  # ends inside the caps section
    with pytest.raises(FormatError) as e:
        read_capdl_text(cut, "cut.cdl")
    assert e.value.line == cut.count("\n") + 1
    assert "end of file" in str(e.value) and "caps" in str(e.value)
    with pytest.raises(FormatError, match="end of file") as e:
        read_capdl_text(text[: text.index("(4 bits)") + 3], "cut.cdl")
    assert e.value.line == 11


@needs_files
def test_analysis_on_camkes_adder(graphs):
    G = load(graphs, "camkes-adder-arm")
    client, server = "client_client_0_control_tcb", "adder_adder_a_0000_tcb"
    a = analysis.authority(G, client)
    # p_ep: the client's cap is WP (it calls), the server's R (it receives and replies)
    assert ((a.target == "p_ep") & (a.key_type == "page")).any()
    # Semantic change (issue 16): GrantReply is not Grant. The server's cap has no Grant,
    # so its reply carries no cap: the client can no longer come to hold the server's
    # CNode (before, every G-or-P endpoint was a relay joining both sides' keys).
    assert not (a.target == "adder_cnode").any()
    assert can_flow(G, client, server) and can_flow(G, server, client)  # call and reply
    f = analysis.flows(G)
    assert f.loc[client, server] and f.loc[server, client]


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
    cn = sorted(
        (d["slot"], t, d["key_type"], d["databyte"]) for _, t, d in G.out_edges("cn", data=True)
    )
    assert cn == [
        (10, "f[0]", "page", 128),
        (11, "f[1]", "page", 128),
        (12, "f[6]", "page", 128),
        (13, "f[7]", "page", 128),
        (20, "dev", "page", 128),
        (21, "dev", "page", 128),  # R masked by W: none
        (22, "irq_control", "misc", 0),
        (48, "n", "page", 0),
        (49, "n", "page", 128),
        (50, "f[2]", "page", 128),
        (51, "f[4]", "page", 128),
        (52, "f[4]", "page", 128),
        (53, "e", "start", 0),
        (54, "t", "resume", 0),
    ]
    t = {
        (d["slot"], v): (d["key_type"], d["databyte"], d["slot_kind"])
        for _, v, d in G.out_edges("t", data=True)
    }
    # Semantic changes (issue 16): slot 6 holds a notification, not a scheduling context,
    # so it is read by the target's row (a read-only page key), not a misc key; and the
    # frame pd maps RW is a read-write page key of t's ("address").
    assert t == {
        (0, "cn"): ("node", 0, "key_register"),
        (1, "pd"): ("segment", 128, "address"),
        (1, "f[7]"): ("page", 0, "address"),
        (4, "f[0]"): ("page", 0, "address"),
        (5, "e"): ("start", 0, "keeper"),
        (6, "n"): ("page", 128, "key_register"),
    }
    assert G.get_edge_data("t", "e")[0]["badge"] == 7
    assert G.get_edge_data("t", "cn")[0]["guard_size"] == 54
    d = G.get_edge_data("pd", "f[7]")[0]
    assert (d["databyte"], d["slot_kind"]) == (0, "address")


@pytest.mark.parametrize(
    "text, line, words",
    [
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
        (
            "arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 0: ghost\n} }\n",
            4,
            "undeclared object 'ghost'",
        ),
        # caps for an undeclared container
        (
            "arch arm11\nobjects { c = cnode (2 bits) }\ncaps {\n ghost { 0: c }\n}\n",
            4,
            "undeclared object 'ghost'",
        ),
        # bad numbers
        (
            "arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 0x1g: c\n} }\n",
            4,
            "bad number '0x1g'",
        ),
        ("arch arm11\nobjects {\n c = cnode (0o9 bits) }\n", 3, "bad number '0o9'"),
        # unterminated comment, missing arch, index out of range, copy of unknown name
        ("arch arm11\n/* /* */\nobjects { }\n", 2, "unterminated"),
        ("objects { }\n", 1, "'arch'"),
        (
            "arch arm11\nobjects { f[2] = frame (4k) c = cnode (2 bits) }\n"
            "caps { c {\n f[1..2] } }",
            4,
            "out of range",
        ),
        (
            "arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 1: <nope> } }",
            4,
            "undefined cap name",
        ),
        (
            "arch arm11\nobjects { c = cnode (2 bits) }\ncaps { c {\n 1: c\n 1: c } }",
            5,
            "filled twice",
        ),
    ],
)
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
        return (
            f"arch x86_64\nobjects {{\n  f[{n}] = frame (4k)\n  a = cnode (20 bits)\n"
            f"  b = cnode (20 bits)\n  c = cnode (20 bits)\n}}\ncaps {{\n a {{\n{caps}\n}}"
            f"\n b {{\n{named}\n}}\n c {{\n{copies}\n}}\n}}\n"
        )

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
        for damaged in (text[:cut], text[:cut] + text[cut + 1 :]):
            try:
                read_capdl_text(damaged, "damaged.cdl")
            except FormatError as e:
                assert e.path == "damaged.cdl" and e.line >= 1


# -- the mapping table, row by row ------------------------------------------------------------
#
# Each test reads a minimal specification written for its row: the vertex or edge the row
# makes, and ``can_flow`` where the row is about flow. Names: t, u threads; cn CNodes; e
# endpoints; n notifications; f frames.


def spec(objects: str, caps: str, arch: str = "aarch64") -> str:
    return f"arch {arch}\nobjects {{\n{objects}\n}}\ncaps {{\n{caps}\n}}\n"


def one(G, u, v, **match):
    """The attributes of the single edge u -> v whose attributes include ``match``."""
    found = [
        d
        for d in (G.get_edge_data(u, v) or {}).values()
        if all(d.get(k) == x for k, x in match.items())
    ]
    assert len(found) == 1, (u, v, match, G.get_edge_data(u, v))
    return found[0]


def test_row_tcb_is_a_domain():
    G = read_capdl_text(spec("t = tcb", ""))
    assert G.nodes["t"]["kind"] == "domain" and G.nodes["t"]["program"] == ""


def test_row_cspace_gives_every_cap_below_whatever_its_rights():
    G = read_capdl_text(
        spec(
            "t = tcb\n cn = cnode (2 bits)\n f = frame (4k)",
            "t { cspace: cn (R, guard: 0) }\n cn { 0: f (RW) }",
        )
    )
    d = one(G, "t", "cn")
    assert (d["key_type"], d["databyte"], d["slot_kind"]) == ("node", 0, "key_register")
    assert can_flow(G, "t", "f") and can_flow(G, "f", "t")


VSPACE = (
    "t = tcb\n u = tcb\n pd = pgd\n pt = pt\n f1 = frame (4k)\n f2 = frame (4k)\n f3 = frame (4k)"
)


def test_row_vspace_maps_frames_with_the_mappings_rights():
    # the caps to the VSpace and to the page table carry no W: they do not narrow f1
    G = read_capdl_text(
        spec(VSPACE, "t { vspace: pd (R) }\n pd { 0: pt (R) }\n pt { 0: f1 (RW)  1: f2 (R) }")
    )
    v = one(G, "t", "pd")
    assert (v["key_type"], v["databyte"], v["slot_kind"]) == ("segment", 0x80, "address")
    f1, f2 = one(G, "t", "f1", mapped=True), one(G, "t", "f2", mapped=True)
    assert f1["rights"] == {"read", "write"} and f2["rights"] == {"read"}
    assert f1["slot_kind"] == f2["slot_kind"] == "address" and f1["vspace"] == "pd"
    assert can_flow(G, "t", "f1") and can_flow(G, "f1", "t")
    assert not can_flow(G, "t", "f2") and can_flow(G, "f2", "t")


def test_row_vspace_frames_are_writable_by_every_thread_sharing_it():
    G = read_capdl_text(
        spec(VSPACE, "t { vspace: pd }\n u { vspace: pd }\n pd { 0: pt }\n pt { 0: f1 (RW) }")
    )
    assert can_flow(G, "t", "f1") and can_flow(G, "u", "f1")
    assert can_flow(G, "t", "u") and can_flow(G, "u", "t")


def test_row_frames_side_by_side_do_not_flow_unless_a_thread_maps_both():
    caps = "pd { 0: pt }\n pt { 0: f1 (RW)  1: f2 (RW)  2: f3 (R) }"
    G = read_capdl_text(spec(VSPACE, caps))
    assert one(G, "pt", "f1")["slot_kind"] == "address"
    assert not can_flow(G, "f1", "f2") and not can_flow(G, "f3", "f1")
    G = read_capdl_text(spec(VSPACE, "t { vspace: pd }\n" + caps))
    assert can_flow(G, "f1", "f2") and can_flow(G, "f3", "f1")  # through t
    assert not can_flow(G, "f1", "f3")  # mapped read-only


def test_row_reply_and_caller_slots_are_resume_keys():
    G = read_capdl_text(
        spec("t = tcb\n u = tcb", "t { reply_slot: t (master_reply)\n    caller_slot: u (reply) }")
    )
    d = one(G, "t", "u")
    assert (d["key_type"], d["slot_kind"], d["slot_name"]) == (
        "resume",
        "key_register",
        "caller_slot",
    )
    assert one(G, "t", "t")["key_type"] == "resume"
    assert can_flow(G, "t", "u")  # t can reply to u


def test_row_ipc_buffer_read_only_unless_w():
    G = read_capdl_text(
        spec(
            "t = tcb\n f = frame (4k)\n g = frame (4k)\n u = tcb",
            "t { ipc_buffer_slot: f (R) }\n u { ipc_buffer_slot: g (RW) }",
        )
    )
    d = one(G, "t", "f")
    assert (d["key_type"], d["databyte"], d["slot_kind"]) == ("page", 0x80, "address")
    assert one(G, "u", "g")["databyte"] == 0
    assert can_flow(G, "f", "t") and not can_flow(G, "t", "f")
    assert can_flow(G, "u", "g")


FAULT = "t = tcb\n h = tcb\n e = ep\n cn = cnode (2 bits)"


def test_row_fault_endpoint_one_way_endpoint_flows_both_ways():
    # the handler h only receives (R); t's fault cap is W with GrantReply: a caller
    G = read_capdl_text(
        spec(FAULT, "t { fault_ep_slot: e (WP) }\n h { cspace: cn }\n cn { 0: e (R) }")
    )
    d = one(G, "t", "e")
    assert (d["key_type"], d["rights"], d["slot_kind"]) == (
        "page",
        {"read", "write"},
        "key_register",
    )
    assert can_flow(G, "t", "h") and can_flow(G, "h", "t")  # fault out, reply back


def test_row_fault_endpoint_relay_is_a_keeper():
    G = read_capdl_text(
        spec(FAULT, "t { temp_fault_ep_slot: e (RWG) }\n h { cspace: cn }\n cn { 0: e (R) }")
    )
    d = one(G, "t", "e")
    assert (d["key_type"], d["slot_kind"], d["slot_name"]) == (
        "start",
        "keeper",
        "temp_fault_ep_slot",
    )
    assert can_flow(G, "t", "h") and can_flow(G, "h", "t")


def test_row_sc_slot_is_a_meter():
    G = read_capdl_text(spec("t = tcb\n s = sc", "t { sc_slot: s }"))
    d = one(G, "t", "s")
    assert (d["key_type"], d["slot_kind"]) == ("meter", "meter")
    assert G.nodes["s"]["kind"] == "meter"


def test_row_bound_notification_lets_signals_reach_the_thread():
    G = read_capdl_text(
        spec(
            "t = tcb\n u = tcb\n n = notification\n cn = cnode (2 bits)",
            "t { bound_notification: n (R) }\n u { cspace: cn }\n cn { 0: n (W) }",
        )
    )
    d = one(G, "t", "n")
    assert (d["key_type"], d["databyte"], d["slot"], d["slot_name"]) == (
        "page",
        0x80,
        8,
        "bound_notification",
    )
    assert can_flow(G, "u", "t") and not can_flow(G, "t", "u")
    # the older spelling names the same slot
    H = read_capdl_text(spec("t = tcb\n n = notification", "t { bound_notification_slot: n }"))
    assert one(H, "t", "n")["slot"] == 8


def test_row_bound_vcpu_is_the_threads_state():
    G = read_capdl_text(
        spec(
            "t = tcb\n vmm = tcb\n v = vcpu\n cn = cnode (2 bits)",
            "t { bound_vcpu: v }\n vmm { cspace: cn }\n cn { 0: v }",
        )
    )
    d = one(G, "t", "v")
    assert (d["key_type"], d["databyte"], d["slot"]) == ("page", 0, 9)
    assert G.nodes["v"]["kind"] == "page"
    assert can_flow(G, "vmm", "t") and can_flow(G, "t", "vmm")


def test_row_other_tcb_slots_follow_the_target():
    G = read_capdl_text(spec("t = tcb\n f = frame (4k)", "t { 12: f (RW) }"))
    d = one(G, "t", "f")
    assert (d["key_type"], d["databyte"], d["slot_kind"]) == ("page", 0, "key_register")


def test_row_cnode_slots():
    G = read_capdl_text(spec("cn = cnode (3 bits)\n f = frame (4k)", "cn { 5: f  f }"))
    assert G.nodes["cn"]["kind"] == "node"
    assert sorted((d["slot"], d["slot_kind"]) for *_, d in G.out_edges("cn", data=True)) == [
        (5, "general"),
        (6, "general"),
    ]


EP = "s = tcb\n r = tcb\n e = ep\n cs = cnode (2 bits)\n cr = cnode (2 bits)\n f = frame (4k)"


def test_row_ep_one_way():
    G = read_capdl_text(
        spec(EP, "s { cspace: cs }\n r { cspace: cr }\n cs { 0: e (W) }\n cr { 0: e (R) }")
    )
    assert G.nodes["e"]["kind"] == "page"
    assert one(G, "cs", "e")["rights"] == {"read", "write"}
    assert one(G, "cr", "e")["rights"] == {"read"}
    assert can_flow(G, "s", "r") and not can_flow(G, "r", "s")


def test_row_ep_with_a_caller_the_receiver_replies_but_no_cap_crosses():
    G = read_capdl_text(
        spec(
            EP,
            "s { cspace: cs }\n r { cspace: cr }\n cs { 0: e (WP) }\n cr { 0: e (R)  1: f (RW) }",
        )
    )
    assert G.nodes["e"]["kind"] == "page"
    assert one(G, "cr", "e")["rights"] == {"read", "write"}  # it can reply
    assert can_flow(G, "s", "r") and can_flow(G, "r", "s")
    assert not (analysis.authority(G, "s").target == "f").any()  # GrantReply is not Grant


def test_row_ep_with_grant_is_a_relay():
    G = read_capdl_text(
        spec(
            EP,
            "s { cspace: cs }\n r { cspace: cr }\n cs { 0: e (WG)  1: f (RW) }\n cr { 0: e (R) }",
        )
    )
    assert G.nodes["e"]["kind"] == "domain" and G.nodes["e"]["relay"] is True
    assert one(G, "cr", "e")["key_type"] == one(G, "cs", "e")["key_type"] == "start"
    assert (analysis.authority(G, "r").target == "f").any()  # s sends its caps to r
    assert can_flow(G, "s", "r")


def test_row_ep_mcs_caller_is_a_relay():
    # MCS: reply objects grant by default, so a caller can get caps back
    G = read_capdl_text(
        spec(
            EP + "\n rp = rtreply",
            "s { cspace: cs }\n r { cspace: cr }\n cs { 0: e (WP) }\n cr { 0: e (R) }",
        )
    )
    assert G.nodes["e"]["kind"] == "domain"
    H = read_capdl_text(spec(EP + "\n rp = rtreply", "cs { 0: e (W) }\n cr { 0: e (R) }"))
    assert H.nodes["e"]["kind"] == "page"  # no caller: still one-way


def test_row_grant_reply_is_not_grant():
    G = read_capdl_text(spec(EP, "cs { 0: e (RWP) }\n cr { 0: e (RWP) }"))
    assert G.nodes["e"]["kind"] == "page"
    X = read_capdl_text(spec(EP, "cs { 0: e (RX) }"))
    assert X.nodes["e"]["kind"] == "domain"  # X is Grant


def test_row_notification_is_never_a_relay():
    G = read_capdl_text(
        spec(
            "s = tcb\n r = tcb\n n = notification\n cs = cnode (2 bits)\n cr = cnode (2 bits)",
            "s { cspace: cs }\n r { cspace: cr }\n cs { 0: n (RWG) }\n cr { 0: n (R) }",
        )
    )
    assert G.nodes["n"]["kind"] == "page"
    assert one(G, "cs", "n")["rights"] == {"read", "write"}
    assert one(G, "cr", "n")["rights"] == {"read"}
    assert can_flow(G, "s", "r") and not can_flow(G, "r", "s")


def test_row_frame():
    G = read_capdl_text(
        spec(
            "f = frame (4k)\n d = frame (4k, paddr: 0x1000)\n cn = cnode (2 bits)",
            "cn { 0: f (R)  1: d (RW) }",
        )
    )
    assert G.nodes["f"]["kind"] == "page" and G.nodes["f"]["device"] is False
    assert G.nodes["d"]["device"] is True
    assert one(G, "cn", "f")["databyte"] == 0x80 and one(G, "cn", "d")["databyte"] == 0


def test_row_page_table_caps_are_node_keys():
    # whoever holds a cap to a page table may map it into its own VSpace: its frames
    G = read_capdl_text(
        spec(
            "t = tcb\n cn = cnode (2 bits)\n pt = pt\n f = frame (4k)",
            "t { cspace: cn }\n cn { 0: pt }\n pt { 0: f (RW) }",
        )
    )
    assert G.nodes["pt"]["kind"] == "node"
    assert one(G, "cn", "pt")["key_type"] == "node"
    assert can_flow(G, "t", "f") and can_flow(G, "f", "t")


def test_row_caps_in_page_tables_are_mappings():
    G = read_capdl_text(
        spec("pd = pd\n pt = pt\n f = frame (4k)", "pd { 0: pt }\n pt { 0: f (R) }")
    )
    assert one(G, "pd", "pt")["slot_kind"] == one(G, "pt", "f")["slot_kind"] == "address"
    assert one(G, "pt", "f")["rights"] == {"read"}


def test_row_untyped():
    G = read_capdl_text(spec("u = ut (12 bits) { t = tcb }\n cn = cnode (2 bits)", "cn { 0: u }"))
    assert G.nodes["u"]["kind"] == "misc" and G.nodes["t"]["covered_by"] == "u"
    assert one(G, "cn", "u")["key_type"] == "node_range"


def test_row_caps_to_a_tcb():
    G = read_capdl_text(
        spec(
            "t = tcb\n u = tcb\n cn = cnode (2 bits)\n f = frame (4k)\n cu = cnode (2 bits)",
            "t { cspace: cn }\n u { cspace: cu }\n cu { 0: f (RW) }\n cn { 0: u  1: u (reply) }",
        )
    )
    assert [one(G, "cn", "u", slot=s)["key_type"] for s in (0, 1)] == ["domain", "resume"]
    assert can_flow(G, "u", "t") and can_flow(G, "t", "u")


def test_row_sc_and_vcpu_vertices():
    G = read_capdl_text(spec("s = sc\n v = vcpu\n cn = cnode (2 bits)", "cn { 0: s  1: v }"))
    assert (G.nodes["s"]["kind"], G.nodes["v"]["kind"]) == ("meter", "page")
    assert one(G, "cn", "s")["key_type"] == "meter"
    assert one(G, "cn", "v")["rights"] == {"read", "write"}


def test_row_rtreply_is_a_relay():
    G = read_capdl_text(
        spec(
            "a = tcb\n b = tcb\n rp = rtreply\n ca = cnode (2 bits)\n cb = cnode (2 bits)",
            "a { cspace: ca }\n b { cspace: cb }\n ca { 0: rp }\n cb { 0: rp }",
        )
    )
    assert G.nodes["rp"]["kind"] == "domain" and G.nodes["rp"]["relay"] is True
    assert one(G, "ca", "rp")["key_type"] == "start"
    assert can_flow(G, "a", "b") and can_flow(G, "b", "a")


def test_row_dma_device_reaches_what_its_io_page_tables_map():
    G = read_capdl_text(
        spec(
            "d = io_device (domainID: 1, 0:0.0)\n p1 = io_pt (level: 1)\n"
            " p2 = io_pt (level: 2)\n f = frame (4k)\n g = frame (4k)\n"
            " t = tcb\n cn = cnode (2 bits)",
            "d { 0: p1 }\n p1 { 0: p2 }\n p2 { 0: f (RW)  1: g (R) }\n"
            " t { cspace: cn }\n cn { 0: d }",
            arch="x86_64",
        )
    )
    assert G.nodes["d"]["kind"] == "domain" and G.nodes["d"]["device"] is True
    assert one(G, "d", "f", mapped=True)["rights"] == {"read", "write"}
    assert one(G, "cn", "d")["key_type"] == "domain"
    assert can_flow(G, "g", "f") and not can_flow(G, "f", "g")  # DMA copies g into f
    assert can_flow(G, "t", "f")  # t programs d


def test_row_irq_and_others_are_misc():
    G = read_capdl_text(
        spec("i = irq\n a = asid_pool\n cn = cnode (2 bits)", "cn { 0: i  1: a  2: irq_control }")
    )
    assert {G.nodes[v]["kind"] for v in ("i", "a", "irq_control")} == {"misc"}
    assert {d["key_type"] for *_, d in G.out_edges("cn", data=True)} == {"misc"}


def test_row_copy_applies_only_the_mask():
    G = read_capdl_text(
        spec(
            "f = frame (4k)\n cn = cnode (3 bits)",
            "cn { 0: src = f (RW, badge: 1)\n"
            "     1: <src> (masked: R)\n"  # RW & R = R
            "     2: <src> (masked: R W)\n"  # masks are rights letters
            "     3: ro = f (R)\n"
            "     4: <ro> (RW, badge: 9) }",
        )
    )  # a copy's own rights: ignored
    rights = {d["slot"]: d["capdl_rights"] for *_, d in G.out_edges("cn", data=True)}
    assert rights == {0: "RW", 1: "R", 2: "RW", 3: "R", 4: "R"}
    assert one(G, "cn", "f", slot=4)["rights"] == {"read"}
    assert "badge" not in one(G, "cn", "f", slot=4)
    assert one(G, "cn", "f", slot=1)["badge"] == 1  # the source's parameters


def test_row_rights_parameters_add_up():
    G = read_capdl_text(spec("f = frame (4k)\n cn = cnode (2 bits)", "cn { 0: f (R, W) }"))
    assert one(G, "cn", "f")["rights"] == {"read", "write"}


def test_row_irq_maps():
    G = read_capdl_text("arch arm11 objects { i[2] = irq } irq maps { 7: i[] }")
    assert (G.nodes["i[0]"]["irq"], G.nodes["i[1]"]["irq"]) == (7, 8)


def test_row_cdt_and_domains_are_read_and_ignored():
    G = read_capdl_text(
        spec("cn = cnode (2 bits)", "cn { 0: cn }")
        + "cdt { (cn, 0) { (cn, 1) } } domains { schedule: [(0, 1)] }"
    )
    assert G.number_of_edges() == 1
