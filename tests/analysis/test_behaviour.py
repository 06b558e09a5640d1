"""Declared behaviour (issue 16): the vocabulary, its rules, and the referee that checks a
declaration against the program it describes (docs/analyses.md#analyses-declared-behaviour).

Each rule is tried both ways: on a hand-written graph, where the answer can be read off, and
on a running kernel, where :func:`~keykos_lab.analysis.soundness` must find nothing the static
answer misses under a true declaration — and, under a false one, must name the violation.
"""

import networkx as nx
import pytest

import keykos_lab as kl
from keykos_lab import oc
from keykos_lab.analysis import (
    Behaviour,
    authority,
    can_flow,
    confinement,
    explain,
    explore,
    flows,
    soundness,
    to_csr,
)
from keykos_lab.analysis.watch import Watch, changes, strings
from keykos_lab.kernel.keys import DOMAIN, NODE, PAGE, SENSE, START, Key
from keykos_lab.kernel.process import program
from keykos_lab.programs.deputy import OBJECT_CODE
from keykos_lab.scenarios.deputy import DECLARED, confused_deputy


@program("test_gives_own_key")
def gives_own_key(dom, msg):
    """Answers every message with the key in its key register 1."""
    yield dom.return_(msg.resume, rc=0, keys=(dom.keys[1],))


# ------------------------------------------------------------------ graphs by hand
def graph(*edges, pages=("P", "Q")):
    """Domains s, s2, d, d2, e, o and pages; ``edges``: (holder, target, key_type, slot)."""
    G = nx.MultiDiGraph()
    for v in ("s", "s2", "d", "d2", "e", "o"):
        G.add_node(v, kind="domain", label=v)
    for p in pages:
        G.add_node(p, kind="page", label=p)
    for u, v, kt, slot in edges:
        G.add_edge(u, v, key_type=kt, databyte=0, slot=slot, slot_kind="key_register")
    return G


def rows(G, s, **kw):
    a = authority(G, s, **kw)
    assert all(t is None or t in G for t in a.through)
    return {(t, kt, through) for t, kt, through in zip(a.target, a.key_type, a.through)}


DEPUTY = [("s", "d", "start", 0), ("d", "P", "page", 5)]


def test_a_free_deputy_shares_everything_with_its_caller():
    assert ("P", "page", None) in rows(graph(*DEPUTY), "s")


def test_keeps_keys_the_caller_can_have_it_write_but_holds_nothing():
    got = rows(graph(*DEPUTY), "s", behaviour={"d": "keeps_keys"})
    assert ("P", "page", None) not in got
    assert ("P", "page", "d") in got  # what it can have the deputy do is authority too


def test_caller_keys_the_caller_cannot_have_it_write_its_own_keys():
    got = rows(graph(*DEPUTY), "s", behaviour={"d": ("keeps_keys", "caller_keys")})
    assert not {r for r in got if r[0] == "P"}


def test_caller_keys_own_registers_are_flows_not_authority():
    G = graph(*DEPUTY)
    own = {"d": Behaviour.parse(("keeps_keys", "caller_keys"), own=[5])}
    bare = {"d": ("keeps_keys", "caller_keys")}
    assert not {r for r in rows(G, "s", behaviour=own) if r[0] == "P"}
    assert can_flow(G, "s", "P", behaviour=own)  # its bill records the caller's use
    assert not can_flow(G, "s", "P", behaviour=bare)
    assert can_flow(G, "s", "P")  # free: of course


def test_passes_received_forwards_the_callers_keys_not_its_own():
    G = graph(*DEPUTY, ("s", "Q", "page", 1), ("d", "e", "start", 2), ("s2", "d", "start", 0))
    b = {"d": "passes_received"}
    e, s2 = rows(G, "e", behaviour=b), rows(G, "s2", behaviour=b)
    assert ("Q", "page", None) in e and ("P", "page", None) not in e
    assert ("P", "page", None) not in s2
    assert ("P", "page", "d") in s2  # it still acts for its callers with its page key
    # Over-approximated: what d received from any caller may go to e, s2's resume key
    # with s's page among it, so s2 is said to reach Q through e.
    assert ("Q", "page", None) in s2


@pytest.mark.parametrize("spec", ["passes_received", "data_only"])
def test_a_deputy_can_pass_its_callers_resume_key_on(spec):
    """A CALL gives the deputy a resume key to its caller, received in that message: it
    may pass it on to e, who can then answer the caller with anything e holds."""
    G = graph(("s", "d", "start", 0), ("d", "e", "start", 2), ("e", "P", "page", 3))
    b = {"d": spec}
    assert ("s", "resume", None) in rows(G, "e", behaviour=b)
    assert ("P", "page", None) in rows(G, "s", behaviour=b)
    assert ("P", "page", None) not in rows(G, "s", behaviour={"d": "keeps_keys"})


def test_a_deputy_stores_only_what_it_may_pass_on():
    """d holds a node key to N, which o reads through a fetch key: what d may store in N
    is what o gets. A keeps_keys deputy stores nothing; a passes_received one only what it
    received (s's page Q), never its own page P."""
    G = graph(*DEPUTY, ("s", "Q", "page", 1), ("d", "N", "node", 2), ("o", "N", "fetch", 0))
    G.add_node("N", kind="node", label="N")
    free = rows(G, "o")
    assert ("P", "page", None) in free and ("Q", "page", None) in free
    kept = rows(G, "o", behaviour={"d": "keeps_keys"})
    assert ("P", "page", None) not in kept and ("Q", "page", None) not in kept
    passed = rows(G, "o", behaviour={"d": "passes_received"})
    assert ("P", "page", None) not in passed and ("Q", "page", None) in passed


def test_data_only_answers_without_keys():
    b = {"d": "data_only"}
    assert ("P", "page", None) not in rows(graph(*DEPUTY), "s", behaviour=b)


def test_data_only_may_pass_its_keys_and_its_callers_resume_key_on_in_calls():
    """A data_only deputy may call e passing its page and the resume key to its caller, and
    e may answer the caller with the page: data_only alone does not keep the page from s."""
    G = graph(*DEPUTY, ("d", "e", "start", 2))
    b = {"d": "data_only"}
    assert ("P", "page", None) in rows(G, "e", behaviour=b)
    a = authority(G, "s", behaviour=b)
    via = a[(a.target == "P") & a.through.isna()].via.iloc[0]
    assert "e" in {step[0] for step in via}


def test_deputies_of_deputies_are_followed():
    G = graph(("s", "d", "start", 0), ("d", "d2", "start", 1), ("d2", "P", "page", 5))
    b = {"d": "keeps_keys", "d2": "keeps_keys"}
    assert ("P", "page", "d2") in rows(G, "s", behaviour=b)
    b["d2"] = ("keeps_keys", "caller_keys")
    assert not {r for r in rows(G, "s", behaviour=b) if r[0] == "P"}


def test_confinement_and_flows_take_the_declaration():
    # s may talk to the logger d; d holds a page the outsider o reads.
    G = graph(("s", "d", "start", 0), ("d", "P", "page", 5), ("o", "P", "page", 0))
    assert not confinement(G, "s", allowed={"d"}).confined
    logger = {"d": ("keeps_keys", "caller_keys")}
    assert confinement(G, "s", allowed={"d"}, behaviour=logger).confined
    m = flows(G, ["s", "o"], behaviour=logger)
    assert not m.loc["s", "o"]


def test_labels_reach_the_authority_table():
    a = authority(graph(*DEPUTY), "s", behaviour={"d": "keeps_keys"})
    assert set(a.label) >= {"P", "d"}


# ------------------------------------------------------------------ hostile declarations
@pytest.mark.parametrize(
    "spec, error",
    [
        ("nonsense", ValueError),
        (("keeps_keys", 3), ValueError),
        ((), ValueError),
        (None, TypeError),
        (b"keeps_keys", TypeError),
        ({"keeps_keys": 1}, TypeError),
        (7, TypeError),
    ],
)
def test_a_malformed_term_is_refused(spec, error):
    with pytest.raises(error):
        authority(graph(*DEPUTY), "s", behaviour={"d": spec})


@pytest.mark.parametrize("own", [[16], [-1], [True], ["5"], [5.0]])
def test_a_malformed_own_register_is_refused(own):
    with pytest.raises(ValueError, match="key register number"):
        Behaviour.parse("caller_keys", own=own)


def test_own_registers_need_caller_keys():
    with pytest.raises(ValueError, match="caller_keys"):
        Behaviour.parse("keeps_keys", own=[5])


@pytest.mark.parametrize("vertex", ["P", "nowhere", ("x",)])
def test_a_declaration_for_a_non_domain_is_refused(vertex):
    with pytest.raises(ValueError):
        authority(graph(*DEPUTY), "s", behaviour={vertex: "keeps_keys"})


def test_system_programs_and_the_fast_engine_refuse_declarations():
    k = kl.Kernel()
    con = k.console
    G = k.capability_graph()
    with pytest.raises(ValueError, match="system program"):
        authority(G, con.root, behaviour={con.target(con["bank"]): "keeps_keys"})
    H = graph(*DEPUTY)
    csr = to_csr(H)
    with pytest.raises(ValueError, match="reference engine"):
        authority(csr, "s", behaviour={"d": "keeps_keys"})
    with pytest.raises(ValueError, match="reference engine"):
        flows(csr, behaviour={"d": "keeps_keys"})
    with pytest.raises(TypeError, match="mapping"):
        authority(H, "s", behaviour=[("d", "keeps_keys")])


def test_an_empty_declaration_changes_nothing():
    G = graph(*DEPUTY, ("d", "e", "start", 2))
    assert rows(G, "s", behaviour={}) == rows(G, "s")


# ------------------------------------------------------------------ the running kernel
def server(con, name, keys=None):
    dom = kl.build_domain(con, name, keys=keys)
    return dom, kl.start_key(con, dom)


def system(program_name):
    """A client holding a start key to a server running ``program_name``; the server holds
    a read-write page in key register 1. (kernel, client, server, page)."""
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    other = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    _, start = server(con, program_name, keys={1: page})
    client, _ = server(con, "echo", keys={0: start, 1: other})
    return k, con.target(client), con.target(start), con.target(page)


@pytest.mark.parametrize(
    "program_name, spec",
    [
        ("echo", "passes_received"),
        ("holder", ("keeps_keys", "data_only")),
        ("test_gives_own_key", Behaviour.parse("caller_keys")),
        ("compiler_by_key", Behaviour.parse(("keeps_keys", "caller_keys"), own=[5])),
    ],
)
def test_a_true_declaration_is_sound_and_unviolated(program_name, spec):
    k, client, srv, _ = system(program_name)
    r = soundness(k, client, 2, console=False, behaviour={srv: spec})
    assert r["violations"] == []
    assert r["missing"] == [] and r["flow_missing"] == []


@pytest.mark.parametrize(
    "program_name, spec, term",
    [
        ("echo", "keeps_keys", "keeps_keys"),  # it answers with what it was sent
        ("echo", "data_only", "data_only"),
        ("test_gives_own_key", "passes_received", "passes_received"),
        ("test_gives_own_key", "keeps_keys", "keeps_keys"),
        ("svc_user", "caller_keys", "caller_keys"),  # it traps to its keeper
    ],
)
def test_a_false_declaration_is_caught(program_name, spec, term):
    k, client, srv, page = system(program_name)
    r = soundness(k, client, 2, console=False, behaviour={srv: spec})
    assert term in {v["term"] for v in r["violations"]}
    assert all(v["domain"] == srv for v in r["violations"])


def test_a_false_declaration_shows_what_it_hid():
    """The leaky server hands out its page: declared as keeping keys, the static answer
    misses the page, and the referee shows both the miss and the violation."""
    k, client, srv, page = system("test_gives_own_key")
    r = soundness(k, client, 2, console=False, behaviour={srv: "keeps_keys"})
    assert page in {m["target"] for m in r["missing"]}
    assert r["violations"]


def test_the_referee_does_not_act_as_a_described_domain():
    k, client, srv, _ = system("echo")
    assert srv in explore(k, client, 1).attrs["actors"]
    found = explore(k, client, 1, behaviour={srv: "passes_received"})
    assert srv not in found.attrs["actors"]
    assert found.attrs["violations"] == []


def test_a_described_program_is_sent_the_strings_of_its_code():
    assert {b"out", b"BILL"} <= set(strings("compiler_by_name"))
    assert strings("no such program") == []
    d = confused_deputy("by_name")
    wrong = {d.compiler: DECLARED["by_key"]}
    found = explore(d.kernel, d.user, 1, behaviour=wrong)
    actions = [v["action"] for v in found.attrs["violations"]]
    assert any("chose what it does with its own registers [5]" in a for a in actions)
    assert any(a.startswith("called a key it did not receive") for a in actions)


@program("test_always_bills_by_name")
def always_bills_by_name(dom, msg):
    """compiler_by_name, but billing for every message, before looking the name up."""
    yield dom.call(dom.keys[5], oc.Page.WriteData + 64, data=b"billed!!")
    slot = {b"out": 0, b"BILL": 1}.get(bytes(msg.data))
    if slot is not None:
        out = (yield dom.call(dom.keys[6], oc.Node.Fetch + slot)).keys[0]
        yield dom.call(out, oc.Page.WriteData, data=b"object code")
    yield dom.return_(msg.resume, rc=0)


def test_a_deputy_that_always_bills_is_caught_writing_the_bill_by_name():
    """Directory with BILL only: the write through the fetched key equals register 5's
    key, so only the comparison across strings can catch it — the BILL string makes it
    write twice through register 5, other strings once."""
    k = kl.Kernel()
    con = k.console
    bill = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    directory = con.call(con["bank"], oc.SB.CreateNode).keys[0]
    con.call(directory, oc.Node.Swap + 1, bill)
    compiler = kl.start_key(
        con, kl.build_domain(con, "test_always_bills_by_name", keys={5: bill, 6: directory})
    )
    user = kl.build_domain(con, "echo", keys={0: compiler})
    wrong = {con.target(compiler): DECLARED["by_key"]}
    found = explore(k, con.target(user), 1, behaviour=wrong)
    actions = [v["action"] for v in found.attrs["violations"]]
    assert any("chose what it does with its own registers [5]" in a for a in actions)


def test_a_watched_run_is_event_for_event_the_same():
    """The wrapper forwards every op and value: the event log of a run with a watched
    domain equals the log without (the kernel's hook changes nothing else)."""

    def run(watch: bool):
        k = kl.Kernel()
        con = k.console
        page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
        svc, svc_start = server(con, "svc_user")
        _, keeper = server(con, "svc_keeper")
        con.call(svc, oc.Domain.SwapKeeper, keeper)
        _, echo = server(con, "echo")
        if watch:
            w = Watch(
                {
                    con.target(echo): Behaviour.parse("passes_received"),
                    con.target(svc_start): Behaviour.parse("caller_keys"),
                },
                str,
            )
            k.handler_wrapper = lambda ds, msg, proc: w.wrap(k, ds, msg, proc)
        for n in range(3):
            assert con.call(echo, n, page, data=b"x" * n).rc == n
            con.call(svc_start, 0, page, data=b"y")
        if watch:
            assert {v["term"] for v in w.finish()} == {"caller_keys"}  # it traps
        return k.events()

    assert run(True).equals(run(False))


@pytest.mark.parametrize(
    "key_type, order, changing",
    [
        (PAGE, oc.Page.WriteData + 9, True),
        (PAGE, oc.Page.ReadData, False),
        (PAGE, oc.Page.Clear, True),
        (NODE, oc.Node.Swap + 3, True),
        (NODE, oc.Node.MakeSenseKey, False),
        (SENSE, oc.Node.Fetch, False),
        (START, 0, True),
        (START, oc.KT, False),
        (DOMAIN, oc.Domain.SwapKeeper, True),
    ],
)
def test_what_counts_as_acting(key_type, order, changing):
    assert changes(Key(key_type, 5, 0, 1), order) is changing


# ------------------------------------------------------------------ the confused deputy
@pytest.mark.parametrize("design", ["by_name", "by_key"])
def test_the_confused_deputy_verdicts_match_the_kernel(design):
    d = confused_deputy(design)
    written, _ = d.attack()
    overwritten = written == OBJECT_CODE[:8]
    assert d.user_writes_bill() is overwritten  # the verdict is what running it shows
    assert d.user_writes_bill(declared=False)  # without declarations: both "can"
    r = soundness(d.kernel, d.user, 2, console=False, behaviour=d.behaviour)
    assert r["violations"] == [] and r["missing"] == [] and r["flow_missing"] == []
    G = d.graph()
    assert can_flow(G, d.user, d.bill, behaviour=d.behaviour)  # the bill counts its use


def test_the_confused_deputy_refuses_an_unknown_design():
    with pytest.raises(ValueError, match="design"):
        confused_deputy("by_ambient_authority")


def test_witnesses_read_with_the_researchers_labels():
    d = confused_deputy("by_name")
    G = d.graph()
    a = authority(G, d.user, behaviour=d.behaviour)
    row = a[(a.target == d.bill) & (a.key_type == "page") & (a.databyte == 0)].iloc[0]
    assert row.through == d.compiler and row.label == "BILL"
    text = explain(G, row.via)
    assert "compiler holds a page key to BILL" in text and "user" in text
    path = can_flow(G, d.user, d.bill, witness=True, behaviour=d.behaviour)
    assert explain(G, path).startswith("user → compiler")


#: The system programs the vocabulary describes, as docs/analyses.md says.
MODELLED = {
    "sbt": Behaviour.parse(("keeps_keys", "caller_keys")),
    "kid": Behaviour.parse(("passes_received", "data_only")),
}


def test_the_system_programs_behave_as_the_vocabulary_describes_them():
    """The SBT and every KID run watched through a workload that uses them: factories
    with holes checked against other factories (KIDs made, unions, inclusion tests), bank
    verification; none does what its description in the vocabulary does not allow."""
    k = kl.Kernel()
    con = k.console
    w = Watch({}, str, programs=MODELLED)
    k.handler_wrapper = lambda ds, msg, proc: w.wrap(k, ds, msg, proc)
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    leaky = kl.build_factory(con, "echo", holes={0: page})
    tight = kl.build_factory(con, "echo")
    outer = kl.build_factory(con, "echo", holes={1: leaky.requestor, 2: tight.requestor})
    assert outer.requestor is not None
    for key in (con["bank"], page, leaky.requestor):
        con.call(con["sbt"], kl.oc.SBT.Verify, key)
    assert kl.is_discreet(con, tight.requestor) and not kl.is_discreet(con, leaky.requestor)
    ran = {ds.program for ds in k.domains.values()}
    assert {"sbt", "kid"} <= ran
    assert w.finish() == []


def test_the_subjects_own_declaration_is_not_used():
    """authority and can_flow answer what the subject can do as it likes."""
    G = graph(*DEPUTY, ("s", "d2", "start", 1), ("d2", "Q", "page", 0))
    assert rows(G, "d", behaviour={"d": "keeps_keys"}) == rows(G, "d")
    assert can_flow(G, "d", "P", behaviour={"d": "caller_keys"})


def test_an_endless_iterator_is_refused_not_read():
    """A declaration from a stranger: a generator of terms or registers could be endless,
    so only finite containers are read."""
    import itertools

    with pytest.raises(TypeError, match="list, tuple or set"):
        Behaviour.parse(itertools.repeat("keeps_keys"))
    with pytest.raises(TypeError, match="list, tuple or set"):
        Behaviour.parse("caller_keys", own=itertools.count())


def test_the_variants_sent_to_a_described_program_count_against_max_calls():
    d = confused_deputy("by_name")
    found = explore(d.kernel, d.user, 2, max_calls=4, behaviour=d.behaviour)
    assert found.attrs["calls"] + found.attrs["acts"] <= 4
    assert found.attrs["branches"] <= 4  # each variant runs in a branch of its own
    assert found.attrs["truncated"] > 0
