"""Tests of the seL4 Microkit SDF reader (keykos_lab.readers.microkit).

The real inputs are the 41 ``.system`` files of ``shared/external/sel4-microkit-sdf``
(read-only; see its PROVENANCE.md); the folder is found through ``KEYKOS_LAB_EXTERNAL``
or next to the repository, and the tests that need it are skipped when it is absent.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from external_data import REASON, root

from keykos_lab.readers.errors import FormatError
from keykos_lab.readers.microkit import read_microkit, read_microkit_text

SDF = root("sel4-microkit-sdf")
needs_sdf = pytest.mark.skipif(not SDF.is_dir(), reason=REASON)

# Golden counts, one row per file: vertices by kind (domain, page, misc), then edges by
# key_type (page, misc, domain, meter, start). They were derived WITHOUT the reader, by
# counting elements with regular expressions on the comment-stripped text
# (``_regex_counts`` below, which the test also reruns):
#   domain vertices = <protection_domain> + <virtual_machine> elements;
#   page vertices   = <memory_region> + <channel> (one mailbox per channel);
#   misc vertices   = distinct irq numbers + distinct ioport addresses + <io_address_space>;
#   page edges      = <map> (PD and VM maps) + <iomap> + 2 per <channel> (one per end);
#   misc edges      = <irq> + <ioport>;
#   domain edges    = nested PDs (a <protection_domain> with an ``id``: Microkit requires
#                     one on a child PD and allows it nowhere else) + <virtual_machine>
#                     (its VMM controls it) + <cap_tcb> + <cap_vspace>;
#   meter edges     = <cap_sc>;
#   start edges     = per channel, the ends that may call the other: ``pp="true"`` on the
#                     end (Microkit 2.0) or on the other end's <protection_domain> (<= 1.4.1).
GOLDEN = [
    # path, V domain, V page, V misc, E page, E misc, E domain, E meter, E start
    ("lionsos/examples/fileio/board/maaxboard/fileio.system",
     12, 57, 4, 100, 4, 0, 0, 6),
    ("lionsos/examples/fileio/board/qemu_virt_aarch64/fileio.system",
     12, 54, 4, 99, 4, 0, 0, 5),
    ("lionsos/examples/kitty/board/odroidc4/kitty.system",
     15, 84, 20, 147, 20, 1, 0, 4),
    ("lionsos/examples/kitty/board/qemu_virt_aarch64/kitty.system",
     13, 62, 7, 116, 7, 1, 0, 5),
    ("lionsos/examples/webserver/board/odroidc4/webserver.system",
     10, 48, 3, 93, 3, 0, 0, 2),
    ("lionsos/examples/webserver/board/qemu_virt_aarch64/webserver.system",
     10, 47, 3, 92, 3, 0, 0, 2),
    ("microkit/example/arm_smc/arm_smc.system",
     1, 0, 0, 0, 0, 0, 0, 0),
    ("microkit/example/bootinfo/bootinfo.system",
     1, 1, 0, 1, 0, 0, 0, 0),
    ("microkit/example/cap_sharing/cap_sharing.system",
     2, 1, 0, 2, 0, 2, 2, 0),
    ("microkit/example/domains/domains.system",
     2, 1, 0, 2, 0, 0, 0, 0),
    ("microkit/example/ethernet/ethernet.system",
     4, 28, 3, 28, 3, 0, 0, 1),
    ("microkit/example/hello/hello.system",
     1, 0, 0, 0, 0, 0, 0, 0),
    ("microkit/example/hierarchy/hierarchy.system",
     3, 0, 0, 0, 0, 2, 0, 0),
    ("microkit/example/mr_prefill/mr_prefill.system",
     1, 1, 0, 1, 0, 0, 0, 0),
    ("microkit/example/passive_server/passive_server.system",
     2, 1, 0, 2, 0, 0, 0, 1),
    ("microkit/example/rust/rust.system",
     1, 0, 0, 0, 0, 0, 0, 0),
    ("microkit/example/setvar/setvar.system",
     1, 4, 0, 1, 0, 0, 0, 0),
    ("microkit/example/timer/timer.system",
     1, 1, 1, 1, 1, 0, 0, 0),
    ("microkit/example/x86_64_iommu_dma_test/x86_64_iommu_dma_test.system",
     1, 2, 2, 3, 1, 0, 0, 0),
    ("microkit/example/x86_64_ioport/x86_64_ioport.system",
     1, 0, 1, 0, 1, 0, 0, 0),
    ("microkit/tests/capfault/capfault.system",
     1, 0, 0, 0, 0, 0, 0, 0),
    ("microkit/tests/overlapping_pages/overlapping_pages.system",
     1, 2, 0, 2, 0, 0, 0, 0),
    ("microkit/tests/simplemrs/simplemrs.system",
     1, 2, 0, 2, 0, 0, 0, 0),
    ("sddf/examples/blk/board/qemu_virt_aarch64/blk.system",
     3, 13, 1, 22, 1, 0, 0, 0),
    ("sddf/examples/echo_server/board/imx8mm_evk/echo_server.system",
     12, 51, 3, 99, 3, 10, 0, 2),
    ("sddf/examples/echo_server/board/imx8mp_evk/echo_server.system",
     12, 51, 3, 99, 3, 10, 0, 2),
    ("sddf/examples/echo_server/board/maaxboard/echo_server.system",
     12, 51, 3, 99, 3, 10, 0, 2),
    ("sddf/examples/echo_server/board/odroidc4/echo_server.system",
     12, 51, 3, 99, 3, 10, 0, 2),
    ("sddf/examples/echo_server/board/qemu_virt_aarch64/echo_server.system",
     12, 50, 3, 98, 3, 10, 0, 2),
    ("sddf/examples/gpu/board/qemu_virt_aarch64/gpu.system",
     4, 14, 2, 25, 2, 0, 0, 1),
    ("sddf/examples/i2c/board/odroidc4/i2c.system",
     5, 17, 3, 30, 3, 0, 0, 5),
    ("sddf/examples/mmc/board/imx8mm_evk/mmc.system",
     4, 13, 2, 23, 2, 0, 0, 1),
    ("sddf/examples/mmc/board/maaxboard/mmc.system",
     4, 13, 2, 23, 2, 0, 0, 1),
    ("sddf/examples/serial/board/imx8mm_evk/serial.system",
     5, 19, 1, 37, 1, 0, 0, 0),
    ("sddf/examples/serial/board/maaxboard/serial.system",
     5, 19, 1, 37, 1, 0, 0, 0),
    ("sddf/examples/serial/board/odroidc4/serial.system",
     5, 19, 1, 37, 1, 0, 0, 0),
    ("sddf/examples/serial/board/qemu_virt_aarch64/serial.system",
     5, 19, 1, 37, 1, 0, 0, 0),
    ("sddf/examples/serial/board/star64/serial.system",
     5, 19, 1, 37, 1, 0, 0, 0),
    ("sddf/examples/timer/board/odroidc4/timer.system",
     2, 2, 1, 3, 1, 0, 0, 1),
    ("sddf/examples/timer/board/qemu_virt_aarch64/timer.system",
     2, 1, 1, 2, 1, 0, 0, 1),
    ("sddf/examples/timer/board/star64/timer.system",
     2, 2, 2, 3, 2, 0, 0, 1),
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

    pp_pds = set()
    for tag in re.findall(r"<protection_domain\b[^>]*>", t):
        if 'pp="true"' in tag:
            pp_pds.add(re.search(r'\bname="([^"]+)"', tag).group(1))
    start = 0
    for body in re.findall(r"<channel>(.*?)</channel>", t, flags=re.S):
        ends = re.findall(r"<end\b([^>]*)>", body)
        pds = [re.search(r'\bpd="([^"]+)"', e).group(1) for e in ends]
        start += sum('pp="true"' in e or pds[1 - i] in pp_pds for i, e in enumerate(ends))
    irqs = {_int(x) for x in re.findall(r'<irq\b[^>]*\birq="([^"]+)"', t)}
    ports = {_int(x) for x in re.findall(r'<ioport\b[^>]*\baddr="([^"]+)"', t)}
    return (n(r"<protection_domain\b") + n(r"<virtual_machine\b"),
            n(r"<memory_region\b") + n(r"<channel\b"),
            len(irqs) + len(ports) + n(r"<io_address_space\b"),
            n(r"<map\b") + n(r"<iomap\b") + 2 * n(r"<channel\b"),
            n(r"<irq\b") + n(r"<ioport\b"),
            n(r"<protection_domain\b[^>]*\bid=") + n(r"<virtual_machine\b")
            + n(r"<cap_tcb\b") + n(r"<cap_vspace\b"),
            n(r"<cap_sc\b"),
            start)


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
    assert len(found) == 41      # PROVENANCE.md lists 41 files
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
    assert not G.has_edge("crasher", "restarter")


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
    caps = sorted((v, d["cap"], d["key_type"], d["slot"], d["slot_kind"])
                  for _, v, d in G.out_edges("primary", data=True) if "cap" in d)
    assert caps == [("primary", "sc", "meter", 3, "slot"), ("primary", "tcb", "domain", 4, "slot"),
                    ("secondary", "sc", "meter", 1, "slot"),
                    ("secondary", "tcb", "domain", 2, "slot")]


@needs_sdf
def test_flows_across_a_channel():
    from keykos_lab.analysis import flows
    G = read_microkit(SDF / "microkit/example/passive_server/passive_server.system")
    m = flows(G)
    assert bool(m.loc["client", "server"]) and bool(m.loc["server", "client"])


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
    return sorted((u, v, d["pp_style"]) for u, v, d in G.edges(data=True)
                  if d["key_type"] == "start")


def test_pp_on_the_channel_end():      # Microkit 2.0: the end that may call
    G = read_microkit_text("""<system>
      <protection_domain name="server" passive="true" />
      <protection_domain name="client" />
      <channel><end pd="server" id="3" /><end pd="client" id="5" pp="true" /></channel>
    </system>""")
    assert _starts(G) == [("client", "server", "end")]
    (d,) = G.get_edge_data("client", "server").values()
    assert d["rights"] == {"call"} and d["slot"] == 5
    assert d["channel"] == "channel:server:3-client:5"
    box = G.nodes["channel:server:3-client:5"]
    assert box["kind"] == "page" and box["channel"] is True


def test_pp_on_the_protection_domain():     # Microkit <= 1.4.1: the PD that may be called
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
      <protection_domain name="s" pp="true" /><protection_domain name="c" />
      <channel><end pd="s" id="0" /><end pd="c" id="0" pp="true" /></channel>
    </system>""")
    assert _starts(G) == [("c", "s", "end")]


def test_channel_ends_and_notify():
    G = read_microkit_text("""<system>
      <protection_domain name="a" /><protection_domain name="b" />
      <channel><end pd="a" id="0" /><end pd="b" id="0" notify="false" /></channel>
    </system>""")
    box = "channel:a:0-b:0"
    (da,) = G.get_edge_data("a", box).values()
    (db,) = G.get_edge_data("b", box).values()
    assert da["key_type"] == db["key_type"] == "page"
    assert da["slot_kind"] == "key_register" and da["rights"] == {"read", "write"}
    assert db["rights"] == {"read"} and db["notify"] is False
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
    perms = sorted((d["vaddr"], d["perms"], sorted(d["rights"]))
                   for _, _, d in G.out_edges("drv", data=True) if d["key_type"] == "page")
    assert perms == [(0x2000000, "rw", ["read", "write"]), (0x3000000, "rx", ["read"]),
                     (0x4000000, "rw", ["read", "write"])]
    (d,) = G.get_edge_data("drv", "irq:33").values()
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
    ("not XML", '<system>\n<protection_domain name="a"></channel>\n</system>', 2,
     "XML: mismatched tag"),
    ("unknown element", '<system>\n\n  <protection_domain name="a">\n    <frobnicate />\n'
     "  </protection_domain>\n</system>", 4, "<frobnicate>"),
    ("element in the wrong place", '<system>\n  <map mr="x" vaddr="0" />\n</system>', 2,
     "<map> is not allowed in <system>"),
    ("wrong root", '<sys>\n</sys>', 1, "root element"),
    ("missing attribute", '<system>\n  <memory_region name="m" size="0x1000" />\n'
     '  <protection_domain name="a">\n    <map vaddr="0x1000" />\n'
     "  </protection_domain>\n</system>", 4, "'mr'"),
    ("missing size", '<system>\n  <memory_region name="m" />\n</system>', 2, "'size'"),
    ("unknown PD in a channel end", '<system>\n  <protection_domain name="a" />\n'
     '  <channel>\n    <end pd="a" id="0" />\n    <end pd="ghost" id="0" />\n'
     "  </channel>\n</system>", 5, "'ghost'"),
    ("unknown region", '<system>\n  <protection_domain name="a">\n'
     '    <map mr="nope" vaddr="0x1000" />\n  </protection_domain>\n</system>', 3, "'nope'"),
    ("bad number", '<system>\n  <memory_region name="m" size="0x1000" />\n'
     '  <protection_domain name="a">\n    <map mr="m" vaddr="0x20zz" />\n'
     "  </protection_domain>\n</system>", 4, "not a number"),
    ("negative number", '<system>\n  <memory_region name="m" size="-4096" />\n</system>', 2,
     "not a number"),
    ("bad boolean", '<system>\n  <protection_domain name="a" passive="yes" />\n</system>', 2,
     "true or false"),
    ("bad perms", '<system>\n  <memory_region name="m" size="0x1000" />\n'
     '  <protection_domain name="a">\n    <map mr="m" vaddr="0" perms="rq" />\n'
     "  </protection_domain>\n</system>", 4, "perms"),
    ("duplicate PD", '<system>\n  <protection_domain name="a" />\n'
     '  <protection_domain name="a" />\n</system>', 3, "duplicate"),
    ("one-ended channel", '<system>\n  <protection_domain name="a" />\n'
     '  <channel><end pd="a" id="0" /></channel>\n</system>', 3, "not 2"),
    ("reused channel id", '<system>\n  <protection_domain name="a" />\n'
     '  <protection_domain name="b" />\n'
     '  <channel><end pd="a" id="0" /><end pd="b" id="0" /></channel>\n'
     '  <channel><end pd="a" id="0" /><end pd="b" id="1" /></channel>\n</system>', 5,
     "already used"),
    ("DTD", '<?xml version="1.0"?>\n<!DOCTYPE system [<!ENTITY x "y">]>\n<system />', 2,
     "DTD"),
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
    p.write_text('<system>\n  <protection_domain name="a">\n    <oops/>\n'
                 "  </protection_domain>\n</system>\n")
    with pytest.raises(FormatError) as e:
        read_microkit(p)
    assert (e.value.path, e.value.line) == (str(p), 3)


def test_large_system_is_linear():
    # 4 000 PDs in a ring of channels, each mapping its own region: well under a second
    n = 4000
    parts = ["<system>"]
    parts += [f'<memory_region name="m{i}" size="0x1000" />' for i in range(n)]
    parts += [f'<protection_domain name="p{i}"><map mr="m{i}" vaddr="0x1000" />'
              "</protection_domain>" for i in range(n)]
    parts += [f'<channel><end pd="p{i}" id="0" /><end pd="p{(i + 1) % n}" id="1" /></channel>'
              for i in range(n)]
    parts.append("</system>")
    G = read_microkit_text("\n".join(parts))
    assert _counts(G) == (n, 2 * n, 0, 3 * n, 0, 0, 0, 0)
