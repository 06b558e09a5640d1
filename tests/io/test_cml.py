"""The CML reader (keykos_lab.readers.cml): the Fuchsia 2020 top-level realms, JSON5, routing,
errors, and one test per row of the mapping table in the module docstring."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from external_data import REASON, root

from keykos_lab.analysis import authority, can_flow
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
#
# Semantic changes (issue 16) since the first golden counts: directories and storage are
# start keys to the component that serves them (there are no dir:/storage: vertices any
# more); a capability from `framework` routed to another component is a domain key to the
# component whose realm it covers; the root's parent, "outside", is a domain (acting
# freely); runners from the root's environment go to the misc vertex "builtin".


@needs_external
def test_components_golden(fuchsia):
    G = fuchsia
    domains = {n for n, d in G.nodes(data=True) if d["kind"] == "domain"}
    # root.cml is named by no other manifest, so it is the one root, "root". Its children:
    # bootstrap, core, startup (3); bootstrap.cml's: driver_manager, fshost, console,
    # console-launcher, ptysvc, pwrbtn-monitor, shutdown_shim, sysinfo, power_manager (9);
    # core.cml's: appmgr, archivist, test_manager, font_provider, remote-control,
    # debug_serial (6). 1 + 3 + 9 + 6 = 19 components, plus "outside" (root's parent).
    assert len(domains) == 20 and "outside" in domains
    # 9 files in the folder, each instantiated once; the other 10 children have no manifest.
    opaque = {n for n in domains if G.nodes[n].get("opaque")}
    assert len(domains - opaque - {"outside"}) == 9 and len(opaque) == 10
    assert {"root", "root/bootstrap/driver_manager", "root/core/appmgr", "root/startup"} <= domains
    # The only misc vertex: "builtin" (component manager's ELF runner, for the 6 manifests
    # that use runner "elf" and are offered none). Nothing is used from framework by the
    # component that routes it, so there is no "framework" vertex.
    assert {n for n, d in G.nodes(data=True) if d["kind"] == "misc"} == {"builtin"}
    assert G.graph["unresolved_includes"] == [] and G.graph["ambiguous"] == []


@needs_external
def test_edges_by_key_type_golden(fuchsia):
    G = fuchsia
    by_kind = Counter((d["key_type"], d.get("kind")) for *_, d in G.edges(data=True))
    # domain: one per static child, 3 + 9 + 6.
    assert by_kind[("domain", None)] == 18
    # runner: the 6 manifests with a program (console, driver_manager, fshost, ptysvc,
    # pwrbtn-monitor, sysinfo) each use runner "elf"; nobody offers it or registers it in
    # an environment, so it is component manager's built-in.
    assert by_kind[("start", "runner")] == 6
    assert {v for u, v, d in G.edges(data=True) if d.get("kind") == "runner"} == {"builtin"}
    # protocol: the demands are the distinct protocol names in `use` (console 2,
    # driver_manager 37, fshost 7, pwrbtn-monitor 2, sysinfo 1 = 49) plus each distinct
    # (child, name) offered to a child without a manifest (bootstrap 58 to console-launcher,
    # shutdown_shim, power_manager; core 54 to its six children; root 1 to startup = 113),
    # 162 in all; 8 of them dangle (below), so 162 - 8 = 154 start edges.
    assert by_kind[("start", "protocol")] == 154
    # directory: 42 demands (15 by manifests' `use`: driver_manager 11, fshost 2,
    # pwrbtn-monitor 1, sysinfo 1; 27 offered to manifest-less children: bootstrap 11,
    # core 16) - 4 dangling = 38: 36 start keys to the serving component, and 2 domain keys
    # to root for /hub, which root offers from framework (to appmgr and remote-control).
    assert by_kind[("start", "directory")] == 36 and by_kind[("domain", "directory")] == 2
    # events: archivist is offered running/started/stopped/capability_ready, which root
    # offers from framework: 4 domain keys archivist -> root (root's realm is their scope).
    assert by_kind[("domain", "event")] == 4
    # storage: core's "data" offered from self to archivist; its backing directory /minfs
    # comes from root, from #bootstrap, from #fshost: a start key archivist -> fshost.
    assert by_kind[("start", "storage")] == 1
    assert G.number_of_edges() == 18 + 6 + 154 + 38 + 4 + 1 == 221


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
    assert (
        "root/bootstrap/console-launcher uses protocol '/svc/fuchsia.sysmem.Allocator': "
        "root/bootstrap/driver_manager exposes no protocol "
        "'/svc/fuchsia.sysmem.Allocator'"
    ) in dangling
    assert any("root offers no directory '/install' to #core" in s for s in dangling)


@needs_external
def test_routes_in_the_realm(fuchsia):
    G = fuchsia
    # pwrbtn-monitor -> (bootstrap offer from #shutdown_shim) -> shutdown_shim (opaque)
    d = _edge(
        G,
        "root/bootstrap/pwrbtn-monitor",
        "root/bootstrap/shutdown_shim",
        "/svc/fuchsia.hardware.power.statecontrol.Admin",
    )
    assert d["key_type"] == "start" and d["slot_kind"] == "key_register"
    assert d["verified"] is False  # shutdown_shim has no manifest
    # driver_manager uses /minfs as /data rw*; fshost exposes /fs/data as /minfs rw*.
    d = _edge(G, "root/bootstrap/driver_manager", "root/bootstrap/fshost", "/data")
    assert d["key_type"] == "start" and d["source_name"] == "/fs/data"
    assert "rw*" in d["dir_rights"]
    # ... /system is rx*: still a conversation with fshost (requests carry data)
    d = _edge(G, "root/bootstrap/driver_manager", "root/bootstrap/fshost", "/system")
    assert d["key_type"] == "start" and "rx*" in d["dir_rights"]
    # /boot comes from outside the root (bootsvc), a domain that acts freely.
    assert _edge(G, "root/bootstrap/fshost", "outside", "/boot")["kind"] == "directory"
    # a route across the tree: appmgr (opaque, offered it by core from parent) gets pty.Device
    # from root, which has it from #bootstrap, which exposes it from #ptysvc (self).
    d = _edge(G, "root/core/appmgr", "root/bootstrap/ptysvc", "/svc/fuchsia.hardware.pty.Device")
    assert (
        d["route"] == "root/core/appmgr -> root/core -> root -> root/bootstrap -> "
        "root/bootstrap/ptysvc"
    )
    assert _edge(G, "root", "root/core")["key_type"] == "domain"
    # root offers /hub and events from framework: they cover root's realm
    assert _edge(G, "root/core/archivist", "root", "capability_ready")["key_type"] == "domain"


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
    assert v == {
        "unquoted": "single 'quoted'",
        "quoted": [1, 2, 31, -35.0, 4],
        "nested": {"a": None, "b": True, "c": False},
    }
    assert v.line == 2 and v["quoted"].line == 4


def test_json5_manifest_text():
    G = read_cml_text(
        """{
        // comment
        use: [ { protocol: ['a', "b",], }, ],
        'expose': [{protocol: "c", from: 'self',}],
    }""",
        "x",
    )
    assert {d["capability"] for *_, d in G.out_edges("x", data=True)} == {"a", "b"}
    assert G.graph["dangling"] == []


# ------------------------------------------------------------------------------ routing


def test_offer_chain_through_parents(tmp_path):
    _write(
        tmp_path,
        {
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
        },
    )
    G = read_cml(tmp_path)
    d = _edge(G, "top/b/c", "top/a/leaf", "Q")
    assert d["key_type"] == "start" and d["source_name"] == "P0" and d["verified"]
    assert d["route"] == "top/b/c -> top/b -> top -> top/a -> top/a/leaf"
    # b narrows /d to r*: the rights along the route are kept; the key is a start key to
    # leaf, which serves /d (a provider that honours r* still hears every request).
    d = _edge(G, "top/b/c", "top/a/leaf", "/d")
    assert d["key_type"] == "start" and d["dir_rights"] == ("rw*", "r*", "rw*")
    assert _edge(G, "top", "top/a")["key_type"] == "domain"
    assert G.graph["dangling"] == []


def test_framework_outside_void_collections_all():
    G = read_cml_text(
        """{
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
    }""",
        "p",
    )
    assert G.nodes["p/coll"]["kind"] == "domain" and G.nodes["p/coll"]["collection"]
    assert _edge(G, "p", "p/coll")["key_type"] == "domain"
    # Realm from p's framework: control of p's realm, for k and the collection's members
    assert _edge(G, "p/k", "p", "fuchsia.sys2.Realm")["key_type"] == "domain"
    assert _edge(G, "p/coll", "p", "fuchsia.sys2.Realm")["kind"] == "protocol"
    # storage declared nowhere (p has no `capabilities`): trusted to be p's
    d = _edge(G, "p/coll", "p", "data")
    assert (d["key_type"], d["verified"]) == ("start", False)
    assert _edge(G, "p/k", "outside", "bundle")["kind"] == "dictionary"
    assert _edge(G, "p/k", "config:p:cfg")["rights"] == {"read"}
    assert _edge(G, "p/k", "p", "started")["key_type"] == "domain"  # the root's realm
    assert _edge(G, "p/k", "builtin", "r")["kind"] == "resolver"
    assert _edge(G, "p/k", "p", "s")["kind"] == "service"
    assert not any(d.get("capability") == "gone" for *_, d in G.edges(data=True))


def test_dangling_routes_are_reported_not_fatal(tmp_path):
    _write(
        tmp_path,
        {
            "r.cml": """{children: [{name: "u", url: "#meta/u.cm"},
                                {name: "s", url: "#meta/s.cm"}],
                    offer: [{protocol: "X", from: "#s", to: "#u"},
                            {protocol: "Y", from: "#nobody", to: "#u"}]}""",
            "s.cml": "{expose: []}",
            "u.cml": "{use: [{protocol: ['X', 'Y', 'Z']}]}",
        },
    )
    G = read_cml(tmp_path)
    assert sorted(G.graph["dangling"]) == [
        "r/u uses protocol 'X': r/s exposes no protocol 'X'",
        "r/u uses protocol 'Y': r has no child #nobody (routing protocol 'Y')",
        "r/u uses protocol 'Z': r offers no protocol 'Z' to #u",
    ]
    assert [d["key_type"] for *_, d in G.out_edges("r/u", data=True)] == []


def test_includes_resolved_and_unresolved(tmp_path):
    _write(
        tmp_path,
        {
            "meta/app.cml": """{include: ["shards/log.shard.cml", "missing/x.shard.cml"],
                           use: [{protocol: "A"}]}""",
            "meta/shards/log.shard.cml": "{use: [{protocol: 'fuchsia.logger.LogSink'}]}",
        },
    )
    G = read_cml(tmp_path)
    assert {n for n, d in G.nodes(data=True) if d["kind"] == "domain"} == {"app", "outside"}
    # Semantic change (issue 16): the missing shard could use anything from the parent:
    # a root with an unresolved include also holds a key to "outside" for capability "*".
    assert {d["capability"] for *_, d in G.out_edges("app", data=True)} == {
        "A",
        "fuchsia.logger.LogSink",
        "*",
    }
    [u] = G.graph["unresolved_includes"]
    assert "missing/x.shard.cml" in u and u.endswith("not found")
    G = read_cml_text('{include: ["a.shard.cml"]}', "t")
    assert G.graph["unresolved_includes"] == ["t:1: include 'a.shard.cml' not found"]


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, line, words",
    [
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
        # routing this reader does not follow is refused, not guessed
        ("{\n use: [{protocol: 'a',\n  from_dictionary: 'd'}]\n}", 3, "'from_dictionary'"),
        ("{\n use: [{protocol: 'a', from: 'parent/diagnostics'}]\n}", 2, "dictionary path"),
        ("{\n offer: [{protocol: 'a', from: 'self', to: 'self/bundle'}]\n}", 2, "'to'"),
        (
            "{\n children: [{name: 'c', url: '#meta/c.cm', environment: '#env'}]\n}",
            2,
            "no environment #env",
        ),
    ],
)
def test_errors_have_a_line(text, line, words):
    with pytest.raises(FormatError) as e:
        read_cml_text(text, "bad.cml")
    assert e.value.line == line and words in e.value.reason and e.value.path == "bad.cml"


def test_folder_errors_return_nothing(tmp_path):
    _write(tmp_path, {"good.cml": "{use: [{protocol: 'a'}]}", "sub/bad.cml": "{\n  use: [\n"})
    with pytest.raises(FormatError) as e:
        read_cml(tmp_path)
    assert e.value.path.endswith("bad.cml") and e.value.line == 3
    with pytest.raises(FormatError):
        read_cml(tmp_path / "nowhere")
    _write(
        tmp_path / "cyc",
        {
            "a.cml": "{children: [{name: 'b', url: '#meta/b.cm'}]}",
            "b.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}",
        },
    )
    with pytest.raises(FormatError, match="cycle"):
        read_cml(tmp_path / "cyc")
    with pytest.raises(FormatError, match="cycle"):
        read_cml_text("{children: [{name: 'me', url: '#meta/me.cm'}]}", "me")
    # a root whose child contains itself
    _write(
        tmp_path / "self",
        {
            "r.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}",
            "a.cml": "{children: [{name: 'a', url: '#meta/a.cm'}]}",
        },
    )
    with pytest.raises(FormatError, match="contains itself"):
        read_cml(tmp_path / "self")


# -------------------------------------------------------------- the mapping table, row by row
#
# Each test builds a minimal folder (or text) for its row: the vertex or edge the row makes,
# and ``can_flow`` where the row is about flow.


def system(tmp_path: Path, **files: str):
    return read_cml(_write(tmp_path, {f"{name}.cml": text for name, text in files.items()}))


def one(G, u, v, **match):
    found = [
        d
        for d in (G.get_edge_data(u, v) or {}).values()
        if all(d.get(k) == x for k, x in match.items())
    ]
    assert len(found) == 1, (u, v, match, G.get_edge_data(u, v))
    return found[0]


TWO = "{children: [{name: 'a', url: '#meta/a.cm'}, {name: 'b', url: '#meta/b.cm'}], %s}"


def test_row_component():
    G = read_cml_text("{children: [{name: 'c', url: 'fuchsia-pkg://f/c#meta/c.cm'}]}", "r")
    assert (G.nodes["r"]["kind"], G.nodes["r"]["program"], G.nodes["r"]["opaque"]) == (
        "domain",
        "",
        False,
    )
    assert (G.nodes["r/c"]["opaque"], G.nodes["r/c"]["url"]) == (
        True,
        "fuchsia-pkg://f/c#meta/c.cm",
    )


def test_row_static_child():
    G = read_cml_text("{children: [{name: 'c', url: '#meta/c.cm'}]}", "r")
    d = one(G, "r", "r/c")
    assert (d["key_type"], d["slot_kind"]) == ("domain", "key_register")
    assert can_flow(G, "r", "r/c") and can_flow(G, "r/c", "r")


def test_row_collection_members_act_freely(tmp_path):
    G = system(
        tmp_path,
        r="""{
        children: [{name: 'a', url: '#meta/a.cm'}, {name: 'b', url: '#meta/b.cm'}],
        collections: [{name: 'dyn', durability: 'transient'}],
        offer: [{protocol: 'A', from: '#a', to: '#dyn'}, {protocol: 'B', from: '#b', to: '#dyn'}],
    }""",
        a="{expose: [{protocol: 'A', from: 'self'}]}",
        b="{expose: [{protocol: 'B', from: 'self'}]}",
    )
    assert G.nodes["r/dyn"]["kind"] == "domain" and G.nodes["r/dyn"]["collection"] is True
    assert one(G, "r", "r/dyn")["key_type"] == "domain"
    assert one(G, "r/dyn", "r/a")["capability"] == "A"
    assert can_flow(G, "r/a", "r/b")  # through a member that uses both


def test_row_routing_offer_expose_and_dangling(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "offer: [{protocol: 'P', from: '#a', to: '#b'}]",
        a="{expose: [{protocol: 'P', from: 'self'}]}",
        b="{use: [{protocol: 'P'}, {protocol: 'Q'}]}",
    )
    d = one(G, "r/b", "r/a")
    assert d["route"] == "r/b -> r -> r/a" and d["verified"] is True
    assert G.graph["dangling"] == ["r/b uses protocol 'Q': r offers no protocol 'Q' to #b"]


def test_row_protocol_and_service(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "offer: [{protocol: 'P', from: '#a', to: '#b'},"
        "{service: 'S', from: '#a', to: '#b'}]",
        a="{expose: [{protocol: 'P', from: 'self'}, {service: 'S', from: 'self'}]}",
        b="{use: [{protocol: 'P'}, {service: 'S'}]}",
    )
    assert one(G, "r/b", "r/a", kind="protocol")["key_type"] == "start"
    assert one(G, "r/b", "r/a", kind="service")["key_type"] == "start"
    assert can_flow(G, "r/b", "r/a") and can_flow(G, "r/a", "r/b")


def test_row_directory_requests_reach_the_provider(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "offer: [{directory: 'd', from: '#a', to: '#b', rights: ['r*']}]",
        a="{capabilities: [{directory: 'd', rights: ['rw*'], path: '/d'}],"
        " expose: [{directory: 'd', from: 'self'}]}",
        b="{use: [{directory: 'd', rights: ['r*'], path: '/d'}]}",
    )
    d = one(G, "r/b", "r/a")
    assert (d["key_type"], d["kind"], d["dir_rights"]) == ("start", "directory", ("r*", "r*"))
    assert can_flow(G, "r/b", "r/a")  # read-only, yet its requests reach a


def test_row_storage_is_served_by_its_backing_directory(tmp_path):
    G = system(
        tmp_path,
        r="""{
        children: [{name: 'fs', url: '#meta/fs.cm'}, {name: 'u', url: '#meta/u.cm'}],
        capabilities: [{storage: 'data', from: '#fs', backing_dir: 'minfs'}],
        offer: [{storage: 'data', from: 'self', to: '#u'}],
    }""",
        fs="{expose: [{directory: 'minfs', from: 'self'}]}",
        u="{use: [{storage: 'data', path: '/data'}]}",
    )
    d = one(G, "r/u", "r/fs")
    assert (d["key_type"], d["kind"], d["storage_owner"]) == ("start", "storage", "r")
    assert can_flow(G, "r/u", "r/fs") and can_flow(G, "r/fs", "r/u")


def test_row_runner_from_the_environment(tmp_path):
    G = system(
        tmp_path,
        r="""{
        children: [{name: 'run', url: '#meta/run.cm'},
                   {name: 'app', url: '#meta/app.cm', environment: '#env'},
                   {name: 'plain', url: '#meta/plain.cm'}],
        environments: [{name: 'env', extends: 'realm',
                        runners: [{runner: 'dart', from: '#run'}]}],
    }""",
        run="{expose: [{runner: 'dart', from: 'self'}]}",
        app="{program: {runner: 'dart'}}",
        plain="{use: [{runner: 'elf'}]}",
    )
    d = one(G, "r/app", "r/run")
    assert (d["key_type"], d["kind"], d["via_environment"]) == ("start", "runner", True)
    assert can_flow(G, "r/run", "r/app") and can_flow(G, "r/app", "r/run")
    assert one(G, "r/plain", "builtin")["kind"] == "runner"


def test_row_resolver_supplies_its_components_code(tmp_path):
    G = system(
        tmp_path,
        r="""{
        children: [{name: 'res', url: '#meta/res.cm'},
                   {name: 'app', url: 'custom://x#meta/app.cm', environment: '#env'},
                   {name: 'other', url: 'fuchsia-pkg://f/o#meta/o.cm'}],
        environments: [{name: 'env', extends: 'realm',
                        resolvers: [{resolver: 'r', from: '#res', scheme: 'custom'}]}],
    }""",
        res="{expose: [{resolver: 'r', from: 'self'}]}",
    )
    d = one(G, "r/res", "r/app")
    assert (d["key_type"], d["kind"], d["scheme"]) == ("domain", "resolver", "custom")
    assert not G.has_edge("r/res", "r/other")
    assert can_flow(G, "r/res", "r/app")


def test_row_debug_capabilities(tmp_path):
    G = system(
        tmp_path,
        r="""{
        children: [{name: 'dbg', url: '#meta/dbg.cm'},
                   {name: 'app', url: '#meta/app.cm', environment: '#env'}],
        environments: [{name: 'env', extends: 'realm',
                        debug: [{protocol: 'D', from: '#dbg'}]}],
    }""",
        dbg="{expose: [{protocol: 'D', from: 'self'}]}",
        app="{use: [{protocol: 'D', from: 'debug'}]}",
    )
    d = one(G, "r/app", "r/dbg")
    assert (d["key_type"], d["via_environment"]) == ("start", True)


def test_row_framework_capability_routed_to_another_component(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "use: [{protocol: 'fuchsia.component.Realm', "
        "from: 'framework'}], offer: [{protocol: "
        "'fuchsia.component.Realm', from: 'framework', to: '#b'}]",
        a="{}",
        b="{use: [{protocol: 'fuchsia.component.Realm'}]}",
    )
    d = one(G, "r/b", "r")
    assert (d["key_type"], d["via"]) == ("domain", "framework")
    assert one(G, "r", "framework")["key_type"] == "start"  # used by r itself
    assert G.nodes["framework"]["kind"] == "misc"
    assert can_flow(G, "r/a", "r/b")  # b reaches r's realm, a among it


def test_row_events_cover_the_offering_realm(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "offer: [{event: 'started', from: 'framework', to: '#b'},"
        "{event_stream: 'stopped', from: 'framework', to: '#b'}]",
        a="{}",
        b="{use: [{event: 'started'}, {event_stream: 'stopped'}]}",
    )
    assert one(G, "r/b", "r", kind="event")["key_type"] == "domain"
    assert one(G, "r/b", "r", kind="event_stream")["key_type"] == "domain"
    assert can_flow(G, "r/a", "r/b")


def test_row_outside_acts_freely():
    G = read_cml_text(
        "{children: [{name: 'a', url: '#meta/a.cm'}, {name: 'b', url: "
        "'#meta/b.cm'}], offer: [{protocol: 'fuchsia.boot.WriteOnlyLog', from: "
        "'parent', to: '#a'}, {protocol: 'fuchsia.boot.ReadOnlyLog', from: "
        "'parent', to: '#b'}]}",
        "r",
    )
    assert G.nodes["outside"]["kind"] == "domain" and G.nodes["outside"]["outside"] is True
    assert one(G, "r/a", "outside")["key_type"] == "start"
    assert can_flow(G, "r/a", "r/b")  # the kernel log, shared outside


def test_row_builtin_runner():
    G = read_cml_text("{use: [{runner: 'elf'}]}", "r")
    assert G.nodes["builtin"]["kind"] == "misc"
    assert one(G, "r", "builtin")["kind"] == "runner"


def test_row_config_is_one_way(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "offer: [{config: 'c', from: '#a', to: '#b'}]",
        a="{expose: [{config: 'c', from: 'self'}]}",
        b="{use: [{config: 'c'}]}",
    )
    assert G.nodes["config:r/a:c"]["kind"] == "page"
    assert one(G, "r/b", "config:r/a:c")["rights"] == {"read"}
    assert one(G, "r/a", "config:r/a:c")["rights"] == {"read", "write"}
    # alone (siblings also meet through their parent's domain keys, an over-approximation)
    H = read_cml_text("{use: [{config: 'c', key: 'k', type: 'bool'}]}", "r")
    assert one(H, "r", "config:outside:c")["rights"] == {"read"}
    assert can_flow(H, "outside", "r") and not can_flow(H, "r", "outside")


def test_row_dictionary(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "offer: [{dictionary: 'd', from: '#a', to: '#b'}]",
        a="{expose: [{dictionary: 'd', from: 'self'}]}",
        b="{use: [{dictionary: 'd'}]}",
    )
    assert one(G, "r/b", "r/a")["key_type"] == "start"
    assert can_flow(G, "r/a", "r/b") and can_flow(G, "r/b", "r/a")


def test_row_unresolved_include_is_partly_opaque(tmp_path):
    G = system(
        tmp_path,
        r=TWO % "offer: [{protocol: 'P', from: '#a', to: '#b'},"
        "{protocol: 'Q', from: '#b', to: '#a'}]",
        a="{expose: [{protocol: 'P', from: 'self'}], use: [{protocol: 'Q'}]}",
        b="{include: ['gone.shard.cml']}",
    )
    # b's missing shard may use P and expose Q: both are taken as so (unverified)
    assert one(G, "r/b", "r/a")["capability"] == "P"
    assert one(G, "r/a", "r/b")["verified"] is False
    assert can_flow(G, "r/a", "r/b") and can_flow(G, "r/b", "r/a")
    assert len(G.graph["unresolved_includes"]) == 1


def test_row_ambiguous_manifest_is_opaque(tmp_path):
    _write(
        tmp_path,
        {
            "x/c.cml": "{}",
            "y/c.cml": "{use: [{protocol: 'P'}]}",
            "r.cml": "{children: [{name: 'c', url: '#meta/c.cm'}], offer: "
            "[{protocol: 'P', from: 'self', to: '#c'}]}",
        },
    )
    G = read_cml(tmp_path)
    assert G.nodes["r/c"]["opaque"] is True and G.graph["ambiguous"]
    assert one(G, "r/c", "r")["verified"] is True  # uses what is offered to it
