"""Kernel fuzzing: random console *and program* operations, invariants after every step.

:class:`FuzzMachine` extends the invariant machine of ``tests/test_invariants.py``
(its operations and its six invariants: no forged key, allocation ids monotonic,
live resume keys only to waiting domains, every slot a well-formed key, the log
only grows, the console runs) with

* program operations: domains running ``t-fuzzer`` execute random instruction
  strings — random order codes, key registers and slot numbers (also past 15),
  strings, memory addresses, traps — so random *domain* code drives the kernel too;
* checkpoint and restore in the middle of a run (a restored kernel equals the
  original, or the checkpoint is refused because a handler is mid-flight);

and two invariants: the banks' accounting balances, and the capability graph is
consistent with the object store. ``make fuzz`` (``KEYKOS_LAB_FUZZ=1``) runs it long.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import programs_for_tests  # noqa: F401  (registers t-fuzzer)
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from test_history import same_but_the_history
from test_invariants import IDX, SCRIPT, Driver, KernelMachine, Watch, apply, setup_script

import keykos_lab as kl
from keykos_lab.kernel import checkpoint as ckpt
from keykos_lab.kernel.keys import DATA, HOOK, MISC, OBJECT_TYPES, TYPE_NAMES
from keykos_lab.kernel.objects import Node, Page
from keykos_lab.kernel.snapshot import misc_vertex
from keykos_lab.programs.primordial import spacebank

oc = kl.oc
MAX_FUZZERS = 3
INSTRUCTIONS = st.binary(min_size=0, max_size=8 * 6)
CHECKED: dict[str, int] = {}  # invariant name -> times checked (reported by the last test)


def _count(name: str) -> None:
    CHECKED[name] = CHECKED.get(name, 0) + 1


# ------------------------------------------------------------------ invariants
def bank_accounting(drv: Driver) -> None:
    """Every bank's counts and limits in range (a limit may be lowered below what is in
    use: sbc.ck's change_limit allows that); the prime bank's page count is every page not
    made at boot (pages come only from banks, and a bank counts its sub-banks')."""
    k = drv.k
    prime = k.console.key(drv.con["bank"]).obj
    boot_pages = drv.boot_pages
    for root, ds in k.domains.items():
        if ds.program != "spacebank" or k.wellformed(ds) is None:
            continue
        regs = k.wellformed(ds)[2].slots
        val = [r.obj if r.type == DATA else 0 for r in regs]
        if ds.proc is None:  # (between a bank's invocations; mid-handler counts move)
            for used, limit, what in (
                (spacebank.NODES, spacebank.NODE_LIMIT, "nodes"),
                (spacebank.PAGES, spacebank.PAGE_LIMIT, "pages"),
            ):
                assert val[used] >= 0 and 0 <= val[limit] < 1 << 48, f"bank #{root} {what}"
        if root == prime and not any(
            d.proc is not None and d.program == "spacebank" for d in k.domains.values()
        ):
            pages = sum(1 for o in k.objs if isinstance(o, Page)) - boot_pages
            assert val[spacebank.PAGES] == pages, (
                f"the prime bank counts {val[spacebank.PAGES]} pages, {pages} exist"
            )


def graph_consistent(drv: Driver) -> None:
    """Vertices are exactly the live objects (domain parts folded into their domain);
    every edge joins two vertices; every key in an unfolded node is an edge."""
    k = drv.k
    G = k.capability_graph()
    live = {o.id for o in k.objs if o is not None}
    ints = {v for v in G if isinstance(v, int)}
    folded: dict[int, int] = {}
    for v in ints:
        assert v in live, f"vertex #{v} is no live object"
        for part in G.nodes[v].get("nodes", ()):
            assert part in live, f"domain #{v} folds in dead node #{part}"
            if part != v:
                folded[part] = v
    assert live == ints | set(folded), f"objects with no vertex: {live - ints - set(folded)}"
    names = set(TYPE_NAMES.values()) | set(kl.kernel.keys.MISC_NAMES.values())
    edges = set()
    for u, v, d in G.edges(data=True):
        assert u in G and v in G and d["key_type"] in names
        edges.add((u, v, d["slot"]))
    for v in ints:
        obj = k.objs[v]
        if type(obj) is not Node or G.nodes[v]["kind"] == "domain":
            continue
        for slot, raw in enumerate(obj.slots):
            key = k.live(raw)
            if key.type in (DATA, HOOK):
                continue
            target = folded.get(key.obj, key.obj) if key.type in OBJECT_TYPES else misc_vertex(key)
            if key.type == MISC or key.type in OBJECT_TYPES:
                assert (v, target, slot) in edges, f"node #{v} slot {slot}: {key!r} no edge"


# ---------------------------------------------------------------- the machine
class FuzzMachine(KernelMachine):
    """The invariant machine, plus random domain code, checkpoints and two invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.drv.boot_pages = sum(1 for o in self.drv.k.objs if isinstance(o, Page))
        self.fuzzers: list[kl.KeyHandle] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="kl-fuzz-"))

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)  # one folder an example: not left behind

    @precondition(lambda self: len(self.fuzzers) < MAX_FUZZERS)
    @rule(keeper=IDX, regs=st.lists(IDX, max_size=4))
    def build_fuzzer(self, keeper, regs):
        drv = self.drv
        keys = {n: drv.pool[i % len(drv.pool)] for n, i in enumerate(regs)}
        keys[15] = drv.con["dkc"]
        gate = drv.pick_gate(keeper) if keeper % 2 else None
        try:
            dom = kl.build_domain(drv.con, "t-fuzzer", keeper=gate, keys=keys)
        except kl.KernelError:
            return  # the bank was busy (a keeper loop); nothing built
        self.fuzzers.append(kl.start_key(drv.con, dom))
        drv._add(self.fuzzers[-1])
        _count("program ops")

    @rule(
        i=IDX,
        code=INSTRUCTIONS,
        order=st.integers(0, 2**32 - 1),
        fork=st.booleans(),
        keys=st.lists(IDX, max_size=3),
    )
    def run_fuzzer(self, i, code, order, fork, keys):
        drv = self.drv
        if not self.fuzzers:
            self.build_fuzzer(i, [i, i + 1, i + 2])
            if not self.fuzzers:
                return
        start = self.fuzzers[i % len(self.fuzzers)]
        try:
            if fork:
                drv.con.fork(start, order, *drv.picks(keys), data=code)
            else:
                drv.con.call(start, order, *drv.picks(keys), data=code)
        except kl.KernelError:
            pass  # random code may never answer: Deadlock / StepLimitExceeded is fine
        drv.con.run(200)
        _count("program ops")

    # (the same rule twice: hypothesis picks rules uniformly, this doubles its share)
    run_fuzzer_again = rule(
        i=IDX,
        code=INSTRUCTIONS,
        order=st.integers(0, 2**32 - 1),
        fork=st.booleans(),
        keys=st.lists(IDX, max_size=3),
    )(lambda self, **kw: FuzzMachine.run_fuzzer(self, **kw))

    @rule()
    def checkpoint_and_restore(self):
        k = self.drv.k
        path = self.tmp / "fuzz.ckpt"
        if ckpt.busy_domains(k):
            # Mid-flight: a checkpoint by replay (issue 19), refused only when the inputs
            # since the last quiescent state cannot be replayed (an interrupt).
            try:
                k.checkpoint(path)
            except kl.CheckpointError as exc:
                assert k.console.journal.broken is not None, exc
                return
            r = kl.Kernel.restore(path)
            assert r.events().equals(k.events())
            assert ckpt.busy_domains(r) == ckpt.busy_domains(k)
            _count("checkpoints by replay")
            return
        k.checkpoint(path)
        r = kl.Kernel.restore(path)
        assert ckpt.encode(r) == ckpt.encode(k)
        assert r.events().equals(k.events())
        _count("checkpoint round trips")

    @invariant()
    def banks_balance(self):
        bank_accounting(self.drv)
        _count("bank accounting")

    @invariant()
    def graph_matches_store(self):
        graph_consistent(self.drv)
        _count("graph consistency")

    @invariant()
    def count_invariants(self):
        _count("kernel invariants (6 each)")


_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))

TestFuzzMachine = FuzzMachine.TestCase
TestFuzzMachine.settings = settings(max_examples=examples(25), stateful_step_count=25, **_SETTINGS)


# --------------------------------------------- restore in the middle of a script
def rebind(drv: Driver, k: kl.Kernel) -> Driver:
    """A driver for ``k`` (a restored copy of ``drv.k``) holding the same ring slots."""
    new = Driver.__new__(Driver)
    new.__dict__.update(drv.__dict__)
    new.k, new.con = k, k.console
    new.pool = [kl.KeyHandle(k.console, h.index) for h in drv.pool]
    new.domains = [
        (p, kl.KeyHandle(k.console, d.index), kl.KeyHandle(k.console, s.index))
        for p, d, s in drv.domains
    ]
    new.obtained = set(drv.obtained)
    new._pooled = set(drv._pooled)
    new.errors, new.messages = [], []
    call = k.console.call

    def tracked_call(key, order=0, *keys, data=b""):
        reply = call(key, order, *keys, data=data)
        for h in reply.keys:
            new.obtained.add(k.console._slot(h.index))
            new._add(h)
        return reply

    k.console.call = tracked_call
    return new


@settings(max_examples=examples(12), **_SETTINGS)
@given(before=SCRIPT, after=SCRIPT, seed=st.sampled_from([None, 5]))
def test_restored_kernel_continues_like_the_original(before, after, seed, tmp_path_factory):
    drv = Driver(seed)
    for op in setup_script() + list(before):
        apply(drv, op)
    if ckpt.busy_domains(drv.k):
        return
    path = tmp_path_factory.mktemp("ck") / "k.ckpt"
    drv.k.checkpoint(path)
    twin = rebind(drv, kl.Kernel.restore(path))
    seen = len(drv.errors)
    watch = Watch(twin)
    for op in after:
        apply(drv, op)
        apply(twin, op)
        watch.all()
    assert twin.k.events().equals(drv.k.events())
    assert drv.errors[seen:] == twin.errors
    if not ckpt.busy_domains(drv.k):
        same_but_the_history(twin.k, drv.k)
    _count("continuations compared")


def test_zz_report_counts(capsys):
    """Prints how much the machine checked (run last in this module)."""
    with capsys.disabled():
        print(f"\nfuzz counts: {dict(sorted(CHECKED.items()))}")
