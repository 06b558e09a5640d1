"""The CML reader (keykos_lab.readers.cml): the Fuchsia 2020 top-level realms, JSON5, routing,
errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from external_data import REASON, root

from keykos_lab.analysis import authority
from keykos_lab.readers.cml import parse_json5, read_cml, read_cml_text
from keykos_lab.readers.errors import FormatError

EXTERNAL = root("fuchsia-cml")
needs_external = pytest.mark.skipif(not (EXTERNAL / "src").is_dir(), reason=REASON)


@pytest.fixture(scope="module")
def fuchsia():
    if not (EXTERNAL / "src").is_dir():
        pytest.skip(REASON)
    return read_cml(EXTERNAL)


def _edge(G, u, v, capability=None):
    for d in (G.get_edge_data(u, v) or {}).values():
        if capability is None or d.get("capability") == capability:
            return d
    return None


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return folder


# ------------------------------------------------------------------ the external folder


@needs_external
def test_components_golden(fuchsia):
    G = fuchsia
    domains = {n for n, d in G.nodes(data=True) if d["kind"] == "domain"}
    # root.cml is named by no other manifest, so it is the one root, "root". Its children:
    # bootstrap, core, startup (3); bootstrap.cml's: driver_manager, fshost, console,
    # console-launcher, ptysvc, pwrbtn-monitor, shutdown_shim, sysinfo, power_manager (9);
    # core.cml's: appmgr, archivist, test_manager, font_provider, remote-control,
    # debug_serial (6). 1 + 3 + 9 + 6 = 19 components.
    assert len(domains) == 19
    # 9 files in the folder, each instantiated once; the other 10 children have no manifest.
    opaque = {n for n in domains if G.nodes[n]["opaque"]}
    assert len(domains - opaque) == 9 and len(opaque) == 10
    assert {"root", "root/bootstrap/driver_manager", "root/core/appmgr",
            "root/startup"} <= domains
    # The only misc vertices: "outside" (root's parent: bootsvc/component manager) and
    # "framework" (root offers /hub and events from framework).
    assert {n for n, d in G.nodes(data=True) if d["kind"] == "misc"} == {"outside",
                                                                         "framework"}
    assert G.graph["unresolved_includes"] == []


@needs_external
def test_edges_by_key_type_golden(fuchsia):
    G = fuchsia
    by_type = Counter(d["key_type"] for *_, d in G.edges(data=True))
    by_kind = Counter((d["key_type"], d.get("kind")) for *_, d in G.edges(data=True))
    # domain: one per static child, 3 + 9 + 6 (see above).
    assert by_type["domain"] == 18
    # runner: the 6 manifests with a program (console, driver_manager, fshost, ptysvc,
    # pwrbtn-monitor, sysinfo) each use runner "elf"; nobody offers it, so it comes from the
    # environment (component manager's built-in, "outside").
    assert by_kind[("start", "runner")] == 6
    # protocol: the demands are the distinct protocol names in `use` (console 2,
    # driver_manager 37, fshost 7, pwrbtn-monitor 2, sysinfo 1 = 49) plus each distinct
    # (child, name) offered to a child without a manifest (bootstrap 58 to console-launcher,
    # shutdown_shim, power_manager; core 54 to its six children; root 1 to startup = 113),
    # 162 in all; 8 of them dangle (below), so 162 - 8 = 154 start edges.
    assert by_kind[("start", "protocol")] == 154
    assert by_type["start"] == 154 + 6
    # directory: 42 demands (15 by manifests' `use`: driver_manager 11, fshost 2,
    # pwrbtn-monitor 1, sysinfo 1; 27 offered to manifest-less children: bootstrap 11,
    # core 16) - 4 dangling = 38 user edges, plus one provider edge per directory vertex:
    # 11 fshost directories, driver_manager /dev, appmgr /hub, outside /boot,
    # framework /hub = 14 vertices. 38 + 14 = 52.
    assert by_kind[("page", "directory")] == 52
    # events: archivist is offered running/started/stopped/capability_ready from parent,
    # which root offers from framework: 4 user edges + 4 provider edges.
    assert by_kind[("page", "event")] == 8
    # storage: core's "data" offered from self to archivist: 1 user + 1 provider edge.
    assert by_kind[("page", "storage")] == 2
    assert by_type["page"] == 52 + 8 + 2
    assert sum(by_type.values()) == G.number_of_edges() == 240


@needs_external
def test_dangling_golden(fuchsia):
    dangling = fuchsia.graph["dangling"]
    # PROVENANCE.md: 6 offers from #child do not resolve. Four of them are on a traced
    # route (offered to a user): sysmem.Allocator, kernel.MexecBroker (to console-launcher),
    # device.manager.SystemStateTransition (to shutdown_shim), fshost.BlockWatcher (to
    # console-launcher). The other two (/durable, /factory from #fshost to driver_manager)
    # are offered to driver_manager, which does not use them, but bootstrap also exposes
    # them from #fshost and root/core route them to appmgr: 2 more. driver_manager uses
    # amber.Control and devicesettings.DeviceSettingsManager, which bootstrap never offers
    # (2); bootstrap exposes tracing.kernel.Controller/Reader from #driver_manager, which
    # does not expose them, and appmgr is offered them (2); root offers core no /volume and
    # no /install, both offered to appmgr (2). 4 + 2 + 2 + 2 + 2 = 12.
    assert len(dangling) == 12
    kinds = Counter(s.split(" uses ")[1].split()[0] for s in dangling)
    assert kinds == {"protocol": 8, "directory": 4}
    assert ("root/bootstrap/console-launcher uses protocol '/svc/fuchsia.sysmem.Allocator': "
            "root/bootstrap/driver_manager exposes no protocol "
            "'/svc/fuchsia.sysmem.Allocator'") in dangling
    assert any("root offers no directory '/install' to #core" in s for s in dangling)


@needs_external
def test_routes_in_the_realm(fuchsia):
    G = fuchsia
    # pwrbtn-monitor -> (bootstrap offer from #shutdown_shim) -> shutdown_shim (opaque)
    d = _edge(G, "root/bootstrap/pwrbtn-monitor", "root/bootstrap/shutdown_shim",
              "/svc/fuchsia.hardware.power.statecontrol.Admin")
    assert d["key_type"] == "start" and d["slot_kind"] == "key_register"
    assert d["verified"] is False                   # shutdown_shim has no manifest
    # driver_manager uses /minfs as /data rw*; fshost exposes /fs/data as /minfs rw*.
    d = _edge(G, "root/bootstrap/driver_manager", "dir:root/bootstrap/fshost:/fs/data")
    assert d["capability"] == "/data" and "write" in d["rights"] and not d["sensory"]
    # ... /system is rx* at fshost: read-only, hence sensory.
    d = _edge(G, "root/bootstrap/driver_manager", "dir:root/bootstrap/fshost:/fs/system")
    assert d["rights"] == {"read"} and d["sensory"]
    # The provider owns its directory read-write.
    d = _edge(G, "root/bootstrap/fshost", "dir:root/bootstrap/fshost:/fs/data")
    assert "write" in d["rights"]
    # /boot comes from outside the root (bootsvc).
    assert _edge(G, "outside", "dir:outside:/boot") is not None
    assert _edge(G, "root/bootstrap/fshost", "dir:outside:/boot")["rights"] == {"read"}
    # a route across the tree: appmgr (opaque, offered it by core from parent) gets pty.Device
    # from root, which has it from #bootstrap, which exposes it from #ptysvc (self).
    d = _edge(G, "root/core/appmgr", "root/bootstrap/ptysvc",
              "/svc/fuchsia.hardware.pty.Device")
    assert d["route"] == "root/core/appmgr -> root/core -> root -> root/bootstrap -> " \
                         "root/bootstrap/ptysvc"
    assert _edge(G, "root", "root/core")["key_type"] == "domain"


@needs_external
def test_authority_smoke(fuchsia):
    a = authority(fuchsia, "root/bootstrap/pwrbtn-monitor")
    assert len(a) > 0
    assert "root/bootstrap/shutdown_shim" in set(a.target)


# ------------------------------------------------------------------------------ JSON5


def test_json5_features():
    text = """// leading comment
    {
        unquoted: 'single \\'quoted\\'',   /* block
        comment */ "quoted": [1, 2, 0x1F, -3.5e1, +4,],
        nested: {a: null, b: true, c: false,},
    }
    """
    v = parse_json5(text)
    assert v == {"unquoted": "single 'quoted'", "quoted": [1, 2, 31, -35.0, 4],
                 "nested": {"a": None, "b": True, "c": False}}
    assert v.line == 2 and v["quoted"].line == 4


def test_json5_manifest_text():
    G = read_cml_text("""{
        // comment
        use: [ { protocol: ['a', "b",], }, ],
        'expose': [{protocol: "c", from: 'self',}],
    }""", "x")
    assert {d["capability"] for *_, d in G.out_edges("x", data=True)} == {"a", "b"}
    assert G.graph["dangling"] == []


# ------------------------------------------------------------------------------ routing


def test_offer_chain_through_parents(tmp_path):
    _write(tmp_path, {
        "top.cml": """{
            children: [{name: "a", url: "#meta/a.cm"}, {name: "b", url: "#meta/b.cm"}],
            offer: [{protocol: "P", from: "#a", as: "Q", to: ["#b"]},
                    {directory: "/d", from: "#a", to: "#b"}],
        }""",
        "a.cml": """{
            children: [{name: "leaf", url: "fuchsia-pkg://x/leaf#meta/leaf.cm"}],
            expose: [{protocol: "P", from: "#leaf"},
                     {directory: "/d", from: "#leaf"}],
        }""",
        "leaf.cml": """{expose: [{protocol: "P0", from: "self", as: "P"},
                                 {directory: "/d", from: "self", rights: ["rw*"]}]}""",
        "b.cml": """{
            children: [{name: "c", url: "#meta/c.cm"}],
            offer: [{protocol: "Q", from: "parent", to: "#c"},
                    {directory: "/d", from: "parent", to: "#c", rights: ["r*"]}],
        }""",
        "c.cml": """{use: [{protocol: "Q"}, {directory: "/d", rights: ["rw*"]}]}""",
    })
    G = read_cml(tmp_path)
    d = _edge(G, "top/b/c", "top/a/leaf", "Q")
    assert d["key_type"] == "start" and d["source_name"] == "P0" and d["verified"]
    assert d["route"] == "top/b/c -> top/b -> top -> top/a -> top/a/leaf"
    # b narrows /d to r*: read-only although c asks rw* and leaf offers rw*.
    assert _edge(G, "top/b/c", "dir:top/a/leaf:/d")["rights"] == {"read"}
    assert _edge(G, "top", "top/a")["key_type"] == "domain"
    assert G.graph["dangling"] == []


def test_framework_outside_void_collections_all():
    G = read_cml_text("""{
        children: [{name: "k", url: "#meta/k.cm"}],
        collections: [{name: "coll", durability: "transient"}],
        offer: [{protocol: "fuchsia.sys2.Realm", from: "framework", to: "all"},
                {protocol: "gone", from: "void", to: "#coll"},
                {storage: "data", from: "self", to: ["#coll"]},
                {dictionary: "bundle", from: "parent", to: "#k"},
                {config: "cfg", from: "self", to: "#k"},
                {event_stream: "started", from: "parent", to: "#k"},
                {resolver: "r", from: "parent", to: "#k"},
                {service: "s", from: "self", to: "#k"}],
    }""", "p")
    assert G.nodes["p/coll"]["kind"] == "node" and G.nodes["framework"]["kind"] == "misc"
    assert _edge(G, "p", "p/coll")["key_type"] == "node"
    assert _edge(G, "p/k", "framework")["key_type"] == "start"
    assert _edge(G, "p/coll", "framework")["kind"] == "protocol"
    assert "write" in _edge(G, "p/coll", "storage:p:data")["rights"]
    assert _edge(G, "p/k", "dict:outside:bundle")["key_type"] == "node"
    assert _edge(G, "p/k", "config:p:cfg")["rights"] == {"read"}
    assert _edge(G, "p/k", "event:outside:started")["key_type"] == "page"
    assert _edge(G, "p/k", "outside", "r")["kind"] == "resolver"
    assert _edge(G, "p/k", "p", "s")["kind"] == "service"
    assert not any(d.get("capability") == "gone" for *_, d in G.edges(data=True))


def test_dangling_routes_are_reported_not_fatal(tmp_path):
    _write(tmp_path, {
        "r.cml": """{children: [{name: "u", url: "#meta/u.cm"},
                                {name: "s", url: "#meta/s.cm"}],
                    offer: [{protocol: "X", from: "#s", to: "#u"},
                            {protocol: "Y", from: "#nobody", to: "#u"}]}""",
        "s.cml": "{expose: []}",
        "u.cml": "{use: [{protocol: ['X', 'Y', 'Z']}]}",
    })
    G = read_cml(tmp_path)
    assert sorted(G.graph["dangling"]) == [
        "r/u uses protocol 'X': r/s exposes no protocol 'X'",
        "r/u uses protocol 'Y': r has no child #nobody (routing protocol 'Y')",
        "r/u uses protocol 'Z': r offers no protocol 'Z' to #u",
    ]
    assert [d["key_type"] for *_, d in G.out_edges("r/u", data=True)] == []


def test_includes_resolved_and_unresolved(tmp_path):
    _write(tmp_path, {
        "meta/app.cml": """{include: ["shards/log.shard.cml", "missing/x.shard.cml"],
                           use: [{protocol: "A"}]}""",
        "meta/shards/log.shard.cml": "{use: [{protocol: 'fuchsia.logger.LogSink'}]}",
    })
    G = read_cml(tmp_path)
    assert {n for n, d in G.nodes(data=True) if d["kind"] == "domain"} == {"app"}
    assert {d["capability"] for *_, d in G.out_edges("app", data=True)} == {
        "A", "fuchsia.logger.LogSink"}
    [u] = G.graph["unresolved_includes"]
    assert "missing/x.shard.cml" in u and u.endswith("not found")
    G = read_cml_text('{include: ["a.shard.cml"]}', "t")
    assert G.graph["unresolved_includes"] == ["t:1: include 'a.shard.cml' not found"]


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("text, line, words", [
    ("{\n use: [\n  {protocol: 'a'},\n", 4, "unexpected end of input"),
    ("{\n use: [\n  {protocol: 'a}\n]}", 3, "newline in string"),
    ("{\n use: [\n  {protocol: 'a'},\n  'b',\n ]\n}", 4, "'use' entry must be an object"),
    ("{\n program: {},\n frobnicate: [],\n}", 3, "unknown top-level key 'frobnicate'"),
    ("{\n offer: [\n  {protocol: 'a', from: 'self'},\n ]\n}", 3, "needs 'to'"),
    ("{\n use: [{protocol: 'a', directory: 'b'}]\n}", 2, "exactly one capability kind"),
    ("{\n expose: [{protocol: ['a', 'b'], as: 'c', from: 'self'}]\n}", 2, "'as'"),
    ("{\n offer: [{protocol: 'a', from: 'sibling', to: '#x'}]\n}", 2, "'from'"),
    ("{\n use: {protocol: 'a'}\n}", 2, "'use' must be a list"),
    ("{a: 1, a: 2}", 1, "duplicate key"),
    ("[]", 1, "must be a JSON5 object"),
])
def test_errors_have_a_line(text, line, words):
    with pytest.raises(FormatError) as e:
        read_cml_text(text, "bad.cml")
    assert e.value.line == line and words in e.value.reason and e.value.path == "bad.cml"


def test_folder_errors_return_nothing(tmp_path):
    _write(tmp_path, {"good.cml": "{use: [{protocol: 'a'}]}",
                      "sub/bad.cml": "{\n  use: [\n"})
    with pytest.raises(FormatError) as e:
        read_cml(tmp_path)
    assert e.value.path.endswith("bad.cml") and e.value.line == 3
    with pytest.raises(FormatError):
        read_cml(tmp_path / "nowhere")
    _write(tmp_path / "cyc", {"a.cml": "{children: [{name: 'b', url: '#meta/b.cm'}]}",
                              "b.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}"})
    with pytest.raises(FormatError, match="cycle"):
        read_cml(tmp_path / "cyc")
    with pytest.raises(FormatError, match="cycle"):
        read_cml_text("{children: [{name: 'me', url: '#meta/me.cm'}]}", "me")
    # a root whose child contains itself
    _write(tmp_path / "self", {"r.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}",
                               "a.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}"})
    with pytest.raises(FormatError, match="contains itself"):
        read_cml(tmp_path / "self")
