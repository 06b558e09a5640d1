"""Tests of the seL4 Microkit SDF reader (keykos_lab.readers.microkit).

The real inputs are the 41 ``.system`` files of ``shared/external/sel4-microkit-sdf``
(read-only; see its PROVENANCE.md); the folder is found through ``KEYKOS_LAB_EXTERNAL``
or next to the repository, and the tests that need it are skipped when it is absent. The
second half has one test per row of the mapping table in the module docstring.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from external_data import REASON, root

from keykos_lab import analysis
from keykos_lab.analysis import can_flow
from keykos_lab.readers.errors import FormatError
from keykos_lab.readers.microkit import read_microkit, read_microkit_text

SDF = root("sel4-microkit-sdf")
needs_sdf = pytest.mark.skipif(not SDF.is_dir(), reason=REASON)

# Golden counts, one row per file: vertices by kind (domain, page, misc), then edges by
# key_type (page, misc, domain, meter, start). They were derived WITHOUT the reader, by
# counting elements with regular expressions on the comment-stripped text
# (``_regex_counts`` below, which the test also reruns):
#   domain vertices = <protection_domain> + <virtual_machine> + <io_address_space> (a DMA
#                     device) + 1 for the monitor's fault endpoint (when there is a PD);
#   page vertices   = <memory_region> + <channel> (the channel as declared) + one
#                     notification object per <protection_domain>;
#   misc vertices   = distinct irq numbers + distinct ioport addresses;
#   page edges      = <map> (PD and VM maps) + <iomap> + 2 per <channel> (each end's key to
#                     it) + 1 per PD (its own notification) + 1 per <end> that may notify
#                     (a read-write key to the other PD's notification);
#   misc edges      = <irq> + <ioport>;
#   domain edges    = nested PDs (a <protection_domain> with an ``id``: Microkit requires
#                     one on a child PD and allows it nowhere else) + <virtual_machine>
#                     (its VMM controls it) + <cap_tcb> + <cap_vspace>;
#   meter edges     = <cap_sc>;
#   start edges     = per channel, the ends that may call the other (``pp="true"`` on the
#                     end, Microkit 2.0, or on the other end's <protection_domain>, <= 1.4.1)
#                     + 1 per top-level PD and 1 per passive PD (their caps to the monitor's
#                     fault endpoint) + 1 per child PD (its fault endpoint: the parent's).
# Semantic changes (issue 16) since the first counts: the notification objects (notify caps
# carry Read: a PD that can notify another can wait on its notification), the monitor's
# fault endpoint, a child's fault endpoint, and io_address_space as a domain (misc before).
GOLDEN = [
    # path, V domain, V page, V misc, E page, E misc, E domain, E meter, E start
    ("lionsos/examples/fileio/board/maaxboard/fileio.system", 13, 69, 4, 140, 4, 0, 0, 19),
    ("lionsos/examples/fileio/board/qemu_virt_aarch64/fileio.system", 13, 66, 4, 137, 4, 0, 0, 18),
    ("lionsos/examples/kitty/board/odroidc4/kitty.system", 16, 98, 20, 199, 20, 1, 0, 19),
    ("lionsos/examples/kitty/board/qemu_virt_aarch64/kitty.system", 14, 74, 7, 162, 7, 1, 0, 18),
    ("lionsos/examples/webserver/board/odroidc4/webserver.system", 11, 58, 3, 131, 3, 0, 0, 13),
    (
        "lionsos/examples/webserver/board/qemu_virt_aarch64/webserver.system",
        11,
        57,
        3,
        130,
        3,
        0,
        0,
        13,
    ),
    ("microkit/example/arm_smc/arm_smc.system", 2, 1, 0, 1, 0, 0, 0, 1),
    ("microkit/example/bootinfo/bootinfo.system", 2, 2, 0, 2, 0, 0, 0, 1),
    ("microkit/example/cap_sharing/cap_sharing.system", 3, 3, 0, 6, 0, 2, 2, 2),
    ("microkit/example/domains/domains.system", 3, 3, 0, 5, 0, 0, 0, 2),
    ("microkit/example/ethernet/ethernet.system", 5, 32, 3, 42, 3, 0, 0, 5),
    ("microkit/example/hello/hello.system", 2, 1, 0, 1, 0, 0, 0, 1),
    ("microkit/example/hierarchy/hierarchy.system", 4, 3, 0, 3, 0, 2, 0, 3),
    ("microkit/example/mr_prefill/mr_prefill.system", 2, 2, 0, 2, 0, 0, 0, 1),
    ("microkit/example/passive_server/passive_server.system", 3, 3, 0, 6, 0, 0, 0, 4),
    ("microkit/example/rust/rust.system", 2, 1, 0, 1, 0, 0, 0, 1),
    ("microkit/example/setvar/setvar.system", 2, 5, 0, 2, 0, 0, 0, 1),
    ("microkit/example/timer/timer.system", 2, 2, 1, 2, 1, 0, 0, 1),
    ("microkit/example/x86_64_iommu_dma_test/x86_64_iommu_dma_test.system", 3, 3, 1, 4, 1, 0, 0, 1),
    ("microkit/example/x86_64_ioport/x86_64_ioport.system", 2, 1, 1, 1, 1, 0, 0, 1),
    ("microkit/tests/capfault/capfault.system", 2, 1, 0, 1, 0, 0, 0, 1),
    ("microkit/tests/overlapping_pages/overlapping_pages.system", 2, 3, 0, 3, 0, 0, 0, 1),
    ("microkit/tests/simplemrs/simplemrs.system", 2, 3, 0, 3, 0, 0, 0, 1),
    ("sddf/examples/blk/board/qemu_virt_aarch64/blk.system", 4, 16, 1, 29, 1, 0, 0, 3),
    ("sddf/examples/echo_server/board/imx8mm_evk/echo_server.system", 13, 63, 3, 145, 3, 10, 0, 15),
    ("sddf/examples/echo_server/board/imx8mp_evk/echo_server.system", 13, 63, 3, 145, 3, 10, 0, 15),
    ("sddf/examples/echo_server/board/maaxboard/echo_server.system", 13, 63, 3, 145, 3, 10, 0, 15),
    ("sddf/examples/echo_server/board/odroidc4/echo_server.system", 13, 63, 3, 145, 3, 10, 0, 15),
    (
        "sddf/examples/echo_server/board/qemu_virt_aarch64/echo_server.system",
        13,
        62,
        3,
        144,
        3,
        10,
        0,
        15,
    ),
    ("sddf/examples/gpu/board/qemu_virt_aarch64/gpu.system", 5, 18, 2, 35, 2, 0, 0, 6),
    ("sddf/examples/i2c/board/odroidc4/i2c.system", 6, 22, 3, 45, 3, 0, 0, 11),
    ("sddf/examples/mmc/board/imx8mm_evk/mmc.system", 5, 17, 2, 33, 2, 0, 0, 6),
    ("sddf/examples/mmc/board/maaxboard/mmc.system", 5, 17, 2, 33, 2, 0, 0, 6),
    ("sddf/examples/serial/board/imx8mm_evk/serial.system", 6, 24, 1, 54, 1, 0, 0, 5),
    ("sddf/examples/serial/board/maaxboard/serial.system", 6, 24, 1, 54, 1, 0, 0, 5),
    ("sddf/examples/serial/board/odroidc4/serial.system", 6, 24, 1, 54, 1, 0, 0, 5),
    ("sddf/examples/serial/board/qemu_virt_aarch64/serial.system", 6, 24, 1, 54, 1, 0, 0, 5),
    ("sddf/examples/serial/board/star64/serial.system", 6, 24, 1, 54, 1, 0, 0, 5),
    ("sddf/examples/timer/board/odroidc4/timer.system", 3, 4, 1, 7, 1, 0, 0, 4),
    ("sddf/examples/timer/board/qemu_virt_aarch64/timer.system", 3, 3, 1, 6, 1, 0, 0, 4),
    ("sddf/examples/timer/board/star64/timer.system", 3, 4, 2, 7, 2, 0, 0, 3),
]
KINDS = ("domain", "page", "misc")
KEY_TYPES = ("page", "misc", "domain", "meter", "start")


def _int(s: str) -> int:
    s = s.replace("_", "")
    return int(s, 16) if s.lower().startswith("0x") else int(s)


def _regex_counts(text: str) -> tuple[int, ...]:
    """The golden row of a file, by regular expressions only (see the comment on GOLDEN)."""
    t = re.sub(r"<!--.*?-->", "", text, flags=re.S)

    def n(pat: str) -> int:
        return len(re.findall(pat, t))

    pd_tags = re.findall(r"<protection_domain\b[^>]*>", t)
    pp_pds = {re.search(r'\bname="([^"]+)"', tag).group(1) for tag in pd_tags if 'pp="true"' in tag}
    start = notify = 0
    for body in re.findall(r"<channel>(.*?)</channel>", t, flags=re.S):
        ends = re.findall(r"<end\b([^>]*)>", body)
        pds = [re.search(r'\bpd="([^"]+)"', e).group(1) for e in ends]
        start += sum('pp="true"' in e or pds[1 - i] in pp_pds for i, e in enumerate(ends))
        notify += sum('notify="false"' not in e for e in ends)
    irqs = {_int(x) for x in re.findall(r'<irq\b[^>]*\birq="([^"]+)"', t)}
    ports = {_int(x) for x in re.findall(r'<ioport\b[^>]*\baddr="([^"]+)"', t)}
    n_pd = len(pd_tags)
    children = sum(bool(re.search(r"\bid=", tag)) for tag in pd_tags)
    passive = sum('passive="true"' in tag for tag in pd_tags)
    return (
        n_pd + n(r"<virtual_machine\b") + n(r"<io_address_space\b") + (n_pd > 0),
        n(r"<memory_region\b") + n(r"<channel\b") + n_pd,
        len(irqs) + len(ports),
        n(r"<map\b") + n(r"<iomap\b") + 2 * n(r"<channel\b") + n_pd + notify,
        n(r"<irq\b") + n(r"<ioport\b"),
        children + n(r"<virtual_machine\b") + n(r"<cap_tcb\b") + n(r"<cap_vspace\b"),
        n(r"<cap_sc\b"),
        start + (n_pd - children) + passive + children,
    )


def _counts(G) -> tuple[int, ...]:
    v = Counter(k for _, k in G.nodes(data="kind"))
    e = Counter(k for *_, k in G.edges(data="key_type"))
    assert set(v) <= set(KINDS) and set(e) <= set(KEY_TYPES), (v, e)
    return tuple(v[k] for k in KINDS) + tuple(e[k] for k in KEY_TYPES)


# --- the real files --------------------------------------------------------------------------


@needs_sdf
def test_every_system_file_is_in_the_table_and_parses():
    found = sorted(p.relative_to(SDF).as_posix() for p in SDF.rglob("*.system"))
    assert found == sorted(row[0] for row in GOLDEN)
    assert len(found) == 41  # PROVENANCE.md lists 41 files
    for rel in found:
        G = read_microkit(SDF / rel)
        assert G.number_of_nodes() > 0
        for _, _, d in G.edges(data=True):
            assert {"key_type", "databyte", "slot", "slot_kind", "rights", "sensory"} <= set(d)


@needs_sdf
@pytest.mark.parametrize("row", GOLDEN, ids=[row[0].rsplit("/", 1)[-1] for row in GOLDEN])
def test_golden_counts(row):
    rel, *expected = row
    assert _regex_counts((SDF / rel).read_text()) == tuple(expected)
    assert _counts(read_microkit(SDF / rel)) == tuple(expected)


@needs_sdf
def test_device_regions_are_those_with_a_physical_address():
    G = read_microkit(SDF / "microkit/example/ethernet/ethernet.system")
    devices = {v for v, d in G.nodes(data="device") if d}
    # 5 GPT clocks + 5 GPTs + eth0 + eth1 + eth_clk carry phys_addr
    assert len(devices) == 13
    assert "mr:eth0" in devices and "mr:ring_buffer_inner" not in devices
    assert G.nodes["mr:eth0"]["size"] == 0x10_000
    assert G.nodes["mr:eth0"]["phys_addr"] == 0x5B040000
    assert G.nodes["mr:ring_buffer_inner"]["device"] is False
    d = G.get_edge_data("eth_outer", "mr:eth0")[0]
    assert d["slot_kind"] == "address" and d["cached"] is False and d["vaddr"] == 0x2000000
    assert d["rights"] == {"read", "write"}


@needs_sdf
def test_nested_protection_domains():
    G = read_microkit(SDF / "microkit/example/hierarchy/hierarchy.system")
    for child, cid in (("crasher", 1), ("hello", 2)):
        (d,) = G.get_edge_data("restarter", child).values()
        assert d["key_type"] == "domain" and d["slot"] == cid
        assert d["slot_kind"] == "key_register" and d["rights"] == {"control"}
        (f,) = G.get_edge_data(child, "restarter").values()  # its fault endpoint
        assert (f["key_type"], f["slot"], f["cap"]) == ("start", 2, "fault_ep")
    assert not G.has_edge("crasher", "hello")


@needs_sdf
def test_virtual_machine():
    G = read_microkit(SDF / "lionsos/examples/kitty/board/qemu_virt_aarch64/kitty.system")
    assert G.nodes["linux"]["kind"] == "domain" and G.nodes["linux"]["vm"] is True
    assert G.nodes["linux"]["vcpus"] == 1
    vmm = [u for u, _, k in G.in_edges("linux", data="key_type") if k == "domain"]
    assert len(vmm) == 1
    maps = [v for _, v, k in G.out_edges("linux", data="key_type") if k == "page"]
    assert len(maps) == 8 and "mr:framebuffer_guest_ram" in maps


@needs_sdf
def test_cspace_caps():
    G = read_microkit(SDF / "microkit/example/cap_sharing/cap_sharing.system")
    # Semantic change (issue 16): the caps a <cspace> puts in a PD's CSpace are in
    # key_register slots (held: the PD invokes them); "slot" gave the PD nothing.
    caps = sorted(
        (v, d["cap"], d["key_type"], d["slot"], d["slot_kind"])
        for _, v, d in G.out_edges("primary", data=True)
        if "cap" in d and d["cap"] in ("sc", "tcb", "vspace")
    )
    assert caps == [
        ("primary", "sc", "meter", 3, "key_register"),
        ("primary", "tcb", "domain", 4, "key_register"),
        ("secondary", "sc", "meter", 1, "key_register"),
        ("secondary", "tcb", "domain", 2, "key_register"),
    ]


@needs_sdf
def test_flows_across_a_channel():
    G = read_microkit(SDF / "microkit/example/passive_server/passive_server.system")
    m = analysis.flows(G)
    assert bool(m.loc["client", "server"]) and bool(m.loc["server", "client"])


@needs_sdf
def test_domains_example_one_way_channel_is_two_way_upstream():
    # The SDF gives collector's end notify="false". But the cap emitter holds to
    # collector's notification has Read (builder.rs), and collector holds its own
    # notification with Write: collector signals itself, emitter waits and learns it.
    path = SDF / "microkit/example/domains/domains.system"
    G = read_microkit(path, monitor=False)
    assert can_flow(G, "emitter", "collector")
    assert can_flow(G, "collector", "emitter")
    assert can_flow(G, "collector", "emitter", witness=True) == [
        "collector",
        "notification:collector",
        "emitter",
    ]


@needs_sdf
def test_truncated_real_file(tmp_path):
    text = (SDF / "microkit/example/ethernet/ethernet.system").read_text()
    lines = text.splitlines(keepends=True)
    p = tmp_path / "cut.system"
    p.write_text("".join(lines[:60]) + "    <protection_domain name=")
    with pytest.raises(FormatError) as e:
        read_microkit(p)
    assert e.value.line == 61 and e.value.path == str(p)


# --- small inline systems ---------------------------------------------------------------------


def _starts(G) -> list[tuple[str, str, str]]:
    """The protected procedure calls: start keys with a ``pp_style``."""
    return sorted(
        (u, v, d["pp_style"])
        for u, v, d in G.edges(data=True)
        if d["key_type"] == "start" and "pp_style" in d
    )


def test_pp_on_the_channel_end():  # Microkit 2.0: the end that may call
    G = read_microkit_text("""<system>
      <protection_domain name="server" passive="true" priority="2" />
      <protection_domain name="client" priority="1" />
      <channel><end pd="server" id="3" /><end pd="client" id="5" pp="true" /></channel>
    </system>""")
    assert _starts(G) == [("client", "server", "end")]
    d = one(G, "client", "server", key_type="start")
    assert d["rights"] == {"call"} and d["slot"] == 5
    assert d["channel"] == "channel:server:3-client:5"
    box = G.nodes["channel:server:3-client:5"]
    assert box["kind"] == "page" and box["channel"] is True


def test_pp_on_the_protection_domain():  # Microkit <= 1.4.1: the PD that may be called
    G = read_microkit_text("""<system>
      <protection_domain name="timer" pp="true" passive="true" />
      <protection_domain name="client" />
      <protection_domain name="other" />
      <channel><end pd="timer" id="0" /><end pd="client" id="1" /></channel>
      <channel><end pd="other" id="0" /><end pd="timer" id="1" /></channel>
      <channel><end pd="client" id="2" /><end pd="other" id="1" /></channel>
    </system>""")
    assert _starts(G) == [("client", "timer", "pd"), ("other", "timer", "pd")]


def test_both_pp_styles_give_one_start_key_per_direction():
    G = read_microkit_text("""<system>
      <protection_domain name="s" pp="true" priority="5" /><protection_domain name="c" />
      <channel><end pd="s" id="0" /><end pd="c" id="0" pp="true" /></channel>
    </system>""")
    assert _starts(G) == [("c", "s", "end")]


def test_channel_ends_and_notify():
    G = read_microkit_text("""<system>
      <protection_domain name="a" /><protection_domain name="b" />
      <channel><end pd="a" id="0" /><end pd="b" id="0" notify="false" /></channel>
    </system>""")
    box = "channel:a:0-b:0"
    da, db = one(G, "a", box), one(G, "b", box)
    assert da["key_type"] == db["key_type"] == "page"
    assert da["slot_kind"] == "key_register" and da["rights"] == {"read", "write"}
    assert db["rights"] == {"read"} and db["notify"] is False
    assert one(G, "a", "notification:b")["rights"] == {"read", "write"}
    assert not G.has_edge("b", "notification:a")
    assert _starts(G) == []


def test_irq_map_perms_and_numbers():
    G = read_microkit_text("""<system>
      <memory_region name="uart" size="0x1_000" phys_addr="0x900_0000" />
      <memory_region name="code" size="4096" />
      <protection_domain name="drv" priority="254" budget="1_000">
        <program_image path="drv.elf" />
        <map mr="uart" vaddr="0x2_000_000" perms="rw" cached="false" />
        <map mr="code" vaddr="0x3000000" perms="rx" />
        <map mr="code" vaddr="0x4000000" />
        <irq irq="33" id="1" trigger="edge" />
        <setvar symbol="uart_paddr" region_paddr="uart" />
      </protection_domain>
    </system>""")
    assert G.nodes["drv"]["priority"] == 254 and G.nodes["drv"]["budget"] == 1000
    assert G.nodes["mr:uart"]["device"] is True and G.nodes["mr:code"]["device"] is False
    perms = sorted(
        (d["vaddr"], d["perms"], sorted(d["rights"]))
        for _, _, d in G.out_edges("drv", data=True)
        if "vaddr" in d
    )
    assert perms == [
        (0x2000000, "rw", ["read", "write"]),
        (0x3000000, "rx", ["read"]),
        (0x4000000, "rw", ["read", "write"]),
    ]
    d = one(G, "drv", "irq:33")
    assert d["key_type"] == "misc" and d["slot"] == 1 and d["trigger"] == "edge"
    assert G.nodes["irq:33"]["kind"] == "misc"


def test_forward_references_and_name_spaces():
    # the PD and the region share the name "timer"; the channel names a PD declared later
    G = read_microkit_text("""<system>
      <channel><end pd="a" id="0" /><end pd="timer" id="0" /></channel>
      <protection_domain name="timer"><map mr="timer" vaddr="0x1000" /></protection_domain>
      <protection_domain name="a" />
      <memory_region name="timer" size="0x1000" />
    </system>""")
    assert G.nodes["timer"]["kind"] == "domain" and G.nodes["mr:timer"]["kind"] == "page"
    assert G.has_edge("timer", "mr:timer")


BAD = [
    # (reason, text, line, words in the message)
    ("truncated", '<system>\n  <protection_domain name="a">\n', 3, "XML"),
    ("truncated tag", '<system>\n  <protection_domain name="a"\n', 2, "XML"),
    (
        "not XML",
        '<system>\n<protection_domain name="a"></channel>\n</system>',
        2,
        "XML: mismatched tag",
    ),
    (
        "unknown element",
        '<system>\n\n  <protection_domain name="a">\n    <frobnicate />\n'
        "  </protection_domain>\n</system>",
        4,
        "<frobnicate>",
    ),
    (
        "element in the wrong place",
        '<system>\n  <map mr="x" vaddr="0" />\n</system>',
        2,
        "<map> is not allowed in <system>",
    ),
    ("wrong root", "<sys>\n</sys>", 1, "root element"),
    (
        "missing attribute",
        '<system>\n  <memory_region name="m" size="0x1000" />\n'
        '  <protection_domain name="a">\n    <map vaddr="0x1000" />\n'
        "  </protection_domain>\n</system>",
        4,
        "'mr'",
    ),
    ("missing size", '<system>\n  <memory_region name="m" />\n</system>', 2, "'size'"),
    (
        "unknown PD in a channel end",
        '<system>\n  <protection_domain name="a" />\n'
        '  <channel>\n    <end pd="a" id="0" />\n    <end pd="ghost" id="0" />\n'
        "  </channel>\n</system>",
        5,
        "'ghost'",
    ),
    (
        "unknown region",
        '<system>\n  <protection_domain name="a">\n'
        '    <map mr="nope" vaddr="0x1000" />\n  </protection_domain>\n</system>',
        3,
        "'nope'",
    ),
    (
        "bad number",
        '<system>\n  <memory_region name="m" size="0x1000" />\n'
        '  <protection_domain name="a">\n    <map mr="m" vaddr="0x20zz" />\n'
        "  </protection_domain>\n</system>",
        4,
        "not a number",
    ),
    (
        "negative number",
        '<system>\n  <memory_region name="m" size="-4096" />\n</system>',
        2,
        "not a number",
    ),
    (
        "bad boolean",
        '<system>\n  <protection_domain name="a" passive="yes" />\n</system>',
        2,
        "true or false",
    ),
    (
        "bad perms",
        '<system>\n  <memory_region name="m" size="0x1000" />\n'
        '  <protection_domain name="a">\n    <map mr="m" vaddr="0" perms="rq" />\n'
        "  </protection_domain>\n</system>",
        4,
        "perms",
    ),
    (
        "duplicate PD",
        '<system>\n  <protection_domain name="a" />\n  <protection_domain name="a" />\n</system>',
        3,
        "duplicate",
    ),
    (
        "one-ended channel",
        '<system>\n  <protection_domain name="a" />\n'
        '  <channel><end pd="a" id="0" /></channel>\n</system>',
        3,
        "not 2",
    ),
    (
        "reused channel id",
        '<system>\n  <protection_domain name="a" />\n'
        '  <protection_domain name="b" />\n'
        '  <channel><end pd="a" id="0" /><end pd="b" id="0" /></channel>\n'
        '  <channel><end pd="a" id="0" /><end pd="b" id="1" /></channel>\n</system>',
        5,
        "already used",
    ),
    ("DTD", '<?xml version="1.0"?>\n<!DOCTYPE system [<!ENTITY x "y">]>\n<system />', 2, "DTD"),
]


@pytest.mark.parametrize("reason,text,line,words", BAD, ids=[b[0] for b in BAD])
def test_errors_name_the_line(reason, text, line, words):
    with pytest.raises(FormatError) as e:
        read_microkit_text(text, "bad.system")
    assert e.value.path == "bad.system" and e.value.line == line, str(e.value)
    assert words in e.value.reason, str(e.value)
    assert str(e.value).startswith(f"bad.system:{line}: ")


def test_errors_from_a_file(tmp_path):
    p = tmp_path / "x.system"
    p.write_text(
        '<system>\n  <protection_domain name="a">\n    <oops/>\n  </protection_domain>\n</system>\n'
    )
    with pytest.raises(FormatError) as e:
        read_microkit(p)
    assert (e.value.path, e.value.line) == (str(p), 3)


def test_large_system_is_linear():
    # 4 000 PDs in a ring of channels, each mapping its own region: well under a second
    n = 4000
    parts = ["<system>"]
    parts += [f'<memory_region name="m{i}" size="0x1000" />' for i in range(n)]
    parts += [
        f'<protection_domain name="p{i}"><map mr="m{i}" vaddr="0x1000" /></protection_domain>'
        for i in range(n)
    ]
    parts += [
        f'<channel><end pd="p{i}" id="0" /><end pd="p{(i + 1) % n}" id="1" /></channel>'
        for i in range(n)
    ]
    parts.append("</system>")
    G = read_microkit_text("\n".join(parts))
    # domains: n PDs + the monitor's fault endpoint; pages: n regions, n channels, n
    # notifications; page keys: n maps, 2n channel ends, n own notifications, 2n notify
    # keys; start keys: n (each PD's cap to the monitor's fault endpoint)
    assert _counts(G) == (n + 1, 3 * n, 0, 6 * n, 0, 0, 0, n)


# --- the mapping table, row by row --------------------------------------------------------------
#
# Each test reads a minimal system written for its row. ``monitor=False`` leaves out the
# monitor's fault endpoint (which joins every top-level PD) where a row's flows are tested
# on their own.


def one(G, u, v, **match):
    """The attributes of the single edge u -> v whose attributes include ``match``."""
    found = [
        d
        for d in (G.get_edge_data(u, v) or {}).values()
        if all(d.get(k) == x for k, x in match.items())
    ]
    assert len(found) == 1, (u, v, match, G.get_edge_data(u, v))
    return found[0]


def sdf(body: str, **kw) -> object:
    return read_microkit_text(f"<system>{body}</system>", "row.system", **kw)


def error(body: str) -> FormatError:
    with pytest.raises(FormatError) as e:
        sdf(body)
    return e.value


def test_row_protection_domain():
    G = sdf(
        '<protection_domain name="p" priority="3" budget="5" passive="true" '
        'stack_size="0x2000"><program_image path="p.elf" /></protection_domain>'
    )
    a = G.nodes["p"]
    assert (a["kind"], a["program"], a["priority"], a["budget"], a["passive"], a["image"]) == (
        "domain",
        "",
        3,
        5,
        True,
        "p.elf",
    )


def test_row_notification_object():
    G = sdf('<protection_domain name="p" />', monitor=False)
    assert G.nodes["notification:p"]["kind"] == "page"
    d = one(G, "p", "notification:p")
    assert (d["key_type"], d["rights"], d["slot_kind"]) == (
        "page",
        {"read", "write"},
        "key_register",
    )


def test_row_channel_vertex():
    G = sdf(
        '<protection_domain name="a" /><protection_domain name="b" />'
        '<channel><end pd="a" id="4" /><end pd="b" id="7" notify="false" /></channel>'
    )
    box = "channel:a:4-b:7"
    assert G.nodes[box]["kind"] == "page" and G.nodes[box]["channel"] is True
    assert (one(G, "a", box)["slot"], one(G, "a", box)["rights"]) == (4, {"read", "write"})
    assert (one(G, "b", box)["slot"], one(G, "b", box)["rights"]) == (7, {"read"})


CHANNELS = (
    '<protection_domain name="a" /><protection_domain name="b" />'
    '<protection_domain name="c" />'
    '<channel><end pd="a" id="0" /><end pd="b" id="0" notify="false" /></channel>'
    '<channel><end pd="c" id="0" /><end pd="b" id="1" notify="false" /></channel>'
)


def test_row_notify_caps_read_the_other_pds_notification():
    G = sdf(CHANNELS, monitor=False)
    d = one(G, "a", "notification:b")
    assert (d["key_type"], d["rights"], d["slot"], d["channel"]) == (
        "page",
        {"read", "write"},
        0,
        "channel:a:0-b:0",
    )
    assert not G.has_edge("b", "notification:a")  # b may not notify a
    assert can_flow(G, "a", "b")
    # a and c each notify b only, yet both may wait on b's notification
    assert can_flow(G, "a", "c") and can_flow(G, "c", "a")
    assert can_flow(G, "b", "a")  # b signals its own notification; a waits


def test_row_protected_procedure_calls():
    G = sdf(
        '<protection_domain name="s" priority="9" /><protection_domain name="c" />'
        '<memory_region name="m" size="0x1000" />'
        '<protection_domain name="k"><map mr="m" vaddr="0x1000" /></protection_domain>'
        '<channel><end pd="s" id="0" /><end pd="c" id="0" pp="true" notify="false" />'
        "</channel>",
        monitor=False,
    )
    d = one(G, "c", "s", key_type="start")
    assert (d["slot"], d["pp_style"], d["channel"]) == (0, "end", "channel:s:0-c:0")
    assert can_flow(G, "c", "s") and can_flow(G, "s", "c")  # the call and its reply
    assert not can_flow(G, "k", "c")


def test_row_pp_both_ends_and_priority_refused():
    e = error(
        '<protection_domain name="a" priority="2" /><protection_domain name="b" '
        'priority="1" />\n<channel><end pd="a" id="0" pp="true" /><end pd="b" id="0" '
        'pp="true" /></channel>'
    )
    assert (e.line, "bidirectionally" in e.reason) == (2, True)
    e = error(
        '<protection_domain name="a" priority="2" /><protection_domain name="b" '
        'priority="2" />\n<channel><end pd="a" id="0" pp="true" /><end pd="b" id="0" />'
        "</channel>"
    )
    assert e.line == 2 and "strictly higher priorities" in e.reason


def test_row_channel_and_irq_ids():
    ok = sdf('<protection_domain name="a"><irq irq="5" id="61" /></protection_domain>')
    assert one(ok, "a", "irq:5")["slot"] == 61
    e = error('<protection_domain name="a">\n<irq irq="5" id="62" /></protection_domain>')
    assert e.line == 2 and "must be < 62" in e.reason
    e = error(
        '<protection_domain name="a" /><protection_domain name="b" />\n'
        '<channel><end pd="a" id="62" /><end pd="b" id="0" /></channel>'
    )
    assert e.line == 2 and "must be < 62" in e.reason
    e = error(
        '<protection_domain name="a"><irq irq="5" id="3" /></protection_domain>\n'
        '<protection_domain name="b" />\n'
        '<channel><end pd="a" id="3" /><end pd="b" id="0" /></channel>'
    )
    assert e.line == 3 and "channel id 3" in e.reason  # IRQ and channel ids clash


def test_row_monitor_fault_endpoint():
    body = (
        '<protection_domain name="a" /><protection_domain name="b" />'
        '<protection_domain name="p" passive="true"><protection_domain name="k" id="1" '
        'passive="true" /></protection_domain>'
    )
    G = sdf(body)
    assert G.nodes["monitor:fault_ep"]["kind"] == "domain"
    assert G.nodes["monitor:fault_ep"]["relay"] is True
    assert one(G, "a", "monitor:fault_ep")["slot"] == 2
    assert sorted(d["slot"] for _, v, d in G.edges("p", data=True) if v == "monitor:fault_ep") == [
        2,
        5,
    ]  # top-level, passive
    assert one(G, "k", "monitor:fault_ep")["slot"] == 5  # passive child: slot 5 only
    assert can_flow(G, "a", "b") and can_flow(G, "b", "a")
    H = sdf(body, monitor=False)
    assert "monitor:fault_ep" not in H and not can_flow(H, "a", "b")


def test_row_nested_protection_domain():
    G = sdf(
        '<protection_domain name="p"><protection_domain name="c" id="4" /></protection_domain>',
        monitor=False,
    )
    d = one(G, "p", "c")
    assert (d["key_type"], d["slot"], d["child"]) == ("domain", 4, True)
    f = one(G, "c", "p")
    assert (f["key_type"], f["slot"], f["cap"]) == ("start", 2, "fault_ep")
    assert can_flow(G, "c", "p") and can_flow(G, "p", "c")
    e = error(
        '<protection_domain name="p"><protection_domain name="c" id="4" />\n'
        '<protection_domain name="d" id="4" /></protection_domain>'
    )
    assert e.line == 2 and "duplicate child id 4" in e.reason


def test_row_virtual_machine():
    G = sdf(
        '<memory_region name="ram" size="0x1000" />'
        '<protection_domain name="vmm"><virtual_machine name="vm"><vcpu id="0" />'
        '<map mr="ram" vaddr="0x0" /></virtual_machine></protection_domain>',
        monitor=False,
    )
    assert (G.nodes["vm"]["kind"], G.nodes["vm"]["vm"], G.nodes["vm"]["vcpus"]) == (
        "domain",
        True,
        1,
    )
    assert one(G, "vmm", "vm")["key_type"] == "domain"
    assert can_flow(G, "vm", "vmm") and can_flow(G, "vmm", "mr:ram")
    e = error(
        '<protection_domain name="vmm"><virtual_machine name="vm">\n<vcpu id="62" />'
        "</virtual_machine></protection_domain>"
    )
    assert e.line == 2 and "must be < 62" in e.reason
    e = error(
        '<protection_domain name="vmm"><virtual_machine name="vm"><vcpu id="1" />\n'
        '<vcpu id="1" /></virtual_machine></protection_domain>'
    )
    assert e.line == 2 and "duplicate vcpu id 1" in e.reason


def test_row_memory_region():
    G = sdf(
        '<memory_region name="r" size="0x1000" /><memory_region name="d" size="0x1000" '
        'phys_addr="0x9000000" />'
    )
    assert (G.nodes["mr:r"]["kind"], G.nodes["mr:r"]["device"]) == ("page", False)
    assert G.nodes["mr:d"]["device"] is True


def test_row_map_perms():
    G = sdf(
        '<memory_region name="m" size="0x1000" />'
        '<protection_domain name="w"><map mr="m" vaddr="0x1000" perms="rw" />'
        '</protection_domain><protection_domain name="r"><map mr="m" vaddr="0x1000" '
        'perms="r" /></protection_domain>',
        monitor=False,
    )
    assert one(G, "w", "mr:m")["rights"] == {"read", "write"}
    d = one(G, "r", "mr:m")
    assert (d["rights"], d["slot_kind"]) == ({"read"}, "address")
    assert can_flow(G, "w", "r") and not can_flow(G, "r", "w")
    e = error(
        '<memory_region name="m" size="0x1000" /><protection_domain name="a">\n'
        '<map mr="m" vaddr="0x1000" perms="w" /></protection_domain>'
    )
    assert e.line == 2 and "write-only" in e.reason


def test_row_irq():
    G = sdf(
        '<protection_domain name="a"><irq irq="40" id="2" trigger="level" /></protection_domain>'
    )
    assert G.nodes["irq:40"]["kind"] == "misc"
    assert (one(G, "a", "irq:40")["key_type"], one(G, "a", "irq:40")["slot"]) == ("misc", 2)
    e = error(
        '<protection_domain name="a"><irq irq="40" id="2" /></protection_domain>\n'
        '<protection_domain name="b"><irq irq="40" id="2" /></protection_domain>'
    )
    assert e.line == 2 and "duplicate irq 40" in e.reason


def test_row_cspace_caps():
    G = sdf(
        '<protection_domain name="a"><cspace><cap_tcb slot="1" pd="b" />'
        '<cap_vspace slot="2" pd="b" /><cap_sc slot="3" pd="b" /></cspace>'
        '</protection_domain><protection_domain name="b" />',
        monitor=False,
    )
    kinds = sorted(
        (d["slot"], d["cap"], d["key_type"], d["slot_kind"])
        for _, v, d in G.out_edges("a", data=True)
        if v == "b"
    )
    assert kinds == [
        (1, "tcb", "domain", "key_register"),
        (2, "vspace", "domain", "key_register"),
        (3, "sc", "meter", "key_register"),
    ]
    assert can_flow(G, "a", "b") and can_flow(G, "b", "a")
    e = error(
        '<protection_domain name="a"><cspace>\n<cap_tcb slot="0" pd="b" /></cspace>'
        '</protection_domain><protection_domain name="b" />'
    )
    assert e.line == 2 and "slot=0" in e.reason
    e = error(
        '<protection_domain name="a"><cspace>\n<cap_tcb slot="128" pd="b" /></cspace>'
        '</protection_domain><protection_domain name="b" />'
    )
    assert e.line == 2 and "slot=128" in e.reason


def test_row_ioport():
    G = sdf(
        '<protection_domain name="a"><ioport id="1" addr="0x3f8" size="8" /></protection_domain>'
    )
    assert G.nodes["ioport:0x3f8"]["kind"] == "misc"
    assert one(G, "a", "ioport:0x3f8")["key_type"] == "misc"
    e = error(
        '<protection_domain name="a"><ioport id="1" addr="0x3f8" />\n'
        '<ioport id="1" addr="0x2f8" /></protection_domain>'
    )
    assert e.line == 2 and "duplicate I/O port id 1" in e.reason


def test_row_io_address_space_and_iomap_perms():
    G = sdf(
        '<memory_region name="tx" size="0x1000" /><memory_region name="rx" '
        'size="0x1000" /><memory_region name="w" size="0x1000" />'
        '<io_address_space name="nic" peripheral_id="0:1.0" domain_id="1">'
        '<iomap mr="tx" iovaddr="0x0" perms="r" /><iomap mr="rx" iovaddr="0x1000" />'
        '<iomap mr="w" iovaddr="0x2000" perms="w" /></io_address_space>'
    )
    dev = "io_address_space:nic"
    assert (G.nodes[dev]["kind"], G.nodes[dev]["device"]) == ("domain", True)
    assert one(G, dev, "mr:tx")["rights"] == {"read"}
    assert one(G, dev, "mr:rx")["rights"] == {"read", "write"}
    assert one(G, dev, "mr:w")["rights"] == {"read", "write"}  # no write-only keys
    assert can_flow(G, "mr:tx", "mr:rx") and not can_flow(G, "mr:rx", "mr:tx")
    e = error(
        '<memory_region name="m" size="0x1000" /><io_address_space name="n">\n'
        '<iomap mr="m" iovaddr="0x0" perms="x" /></io_address_space>'
    )
    assert e.line == 2 and "perms" in e.reason


def test_row_no_authority_elements():
    G = sdf(
        '<memory_region name="m" size="0x1000" /><protection_domain name="a">'
        '<program_image path="a.elf" /><setvar symbol="s" region_paddr="m" />'
        "</protection_domain>",
        monitor=False,
    )
    assert sorted(v for _, v in G.out_edges("a")) == ["notification:a"]
