"""Threads and time: two domains over one address segment, and a timing channel.

*The KeyKOS Nanokernel Architecture* (1992) notes that KeyKOS needs no threads of its
own: two domains whose address slots hold the same segment key run the same program over
the same memory, and that is a threads model. :func:`two_threads` builds one: two domains,
one red segment (the program image at 0, a shared data page at 4096), the same segment
key in both address slots (root slot 3). They take turns incrementing a counter in the
shared page, each spinning on a ``turn`` word the other writes: what one writes the other
reads, with no key between them. What the paper calls a thread *waiting* for work is, in
KeyKOS terms, a domain in the *available* state (docs/glossary.md); these two never wait
that way, they spin, and the scheduler's quantum hands the CPU from one to the other.

:func:`timing_channel` measures what the confinement analysis does not claim to cover: a
discreet factory's yield, holding nothing it could send with, modulates how long it
computes, and a receiver holding the system timer (``kl.oc.Systimer``) reads the secret
from the durations it measures.

>>> rec = two_threads(rounds=3)
>>> rec.answers["counter"], rec.answers["turns"]
(6, [0, 1, 0, 1, 0, 1])
>>> rec.answers["one segment node"]
True
"""

from __future__ import annotations

import math
from typing import cast

import pandas as pd

from keykos_lab import system
from keykos_lab.analysis.authority import authority
from keykos_lab.analysis.confinement import Verdict, confinement
from keykos_lab.kernel import oc
from keykos_lab.kernel.process import program
from keykos_lab.scenarios.tso import Recording, _ok
from keykos_lab.views.lab import Kernel

#: The shared data page's layout (page 1 of the segment, address 4096).
SHARED = 4096
TURN = SHARED  #: 8 bytes: whose turn it is (0 or 1)
COUNTER = SHARED + 8  #: 8 bytes: increments so far
TRAIL = SHARED + 16  #: one byte per increment: the thread that made it
WORD = 8
THREAD_IDS = (0, 1)


@program("thread_worker")
def thread_worker(dom, msg):
    """One thread: ``msg.order`` is its id (0 or 1), the string's first 4 bytes the rounds.

    Each round it spins until the ``turn`` word names it, then reads the counter, notes
    its id in the trail at that index, writes the counter + 1 and gives the turn to the
    other thread. It replies with how many times it spun.
    """
    me = msg.order
    rounds = int.from_bytes(msg.data[:4], "big")
    spins = 0
    for _ in range(rounds):
        while int.from_bytes((yield dom.read(TURN, WORD)), "big") != me:
            spins += 1
        n = int.from_bytes((yield dom.read(COUNTER, WORD)), "big")
        yield dom.write(TRAIL + n, bytes([me]))
        yield dom.write(COUNTER, (n + 1).to_bytes(WORD, "big"))
        yield dom.write(TURN, (1 - me).to_bytes(WORD, "big"))
    yield dom.return_(msg.resume, rc=0, data=spins.to_bytes(WORD, "big"))


def two_threads(rounds: int = 4, kernel: Kernel | None = None) -> Recording:
    """Two threads over one address segment (module docstring), recorded step by step.

    ``keys``: ``segment`` (the one segment key), ``shared page``, ``thread 0``,
    ``thread 1`` (domain keys). ``answers``: ``counter`` (2 × rounds), ``turns`` (who made
    each increment, read back from the shared page: they alternate), ``spins`` (each
    thread's reads of ``turn`` that were not its turn), ``one segment node`` (both
    address slots designate the same node), ``roots`` (the two domains' graph vertices),
    ``segment node`` and ``shared page id``.

    >>> rec = two_threads(rounds=2)
    >>> [s.name for s in rec.steps]
    ['shared segment', 'two threads', 'run']
    >>> len(shared_page_events(rec).actor.unique())
    2
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 0 < rounds <= SHARED // 2:
        raise ValueError(f"rounds is an int in [1, {SHARED // 2}], not {rounds!r}")
    k = kernel or Kernel()
    con = k.console
    rec = Recording(k)
    with rec.step(
        "shared segment",
        "a red segment node: the program image (read-only) at 0, a data page at 4096",
    ):
        page = _ok(con.call(con["bank"], oc.SB.CreatePage), "CreatePage")
        segment = system.build_segment(con, [system.image(con, "thread_worker"), page])
    with rec.step(
        "two threads",
        "two domains, each with the same segment key in its address slot (root slot 3)",
    ):
        doms = [system.build_domain(con, memory=segment) for _ in THREAD_IDS]
        starts = [system.start_key(con, d) for d in doms]
    with rec.step("run", "FORK thread 0, CALL thread 1: they take turns through the shared page"):
        data = rounds.to_bytes(4, "big")
        con.fork(starts[0], THREAD_IDS[0], data=data)
        r1 = con.call(starts[1], THREAD_IDS[1], data=data)
        con.run()
    rec.keys.update(
        {"segment": segment, "shared page": page, "thread 0": doms[0], "thread 1": doms[1]}
    )
    memory = [con.call(d, oc.Domain.GetMemory).keys[0] for d in doms]
    raw = con.call(page, oc.Page.ReadData, data=(SHARED).to_bytes(4, "big")).data
    counter = int.from_bytes(raw[COUNTER - SHARED : COUNTER - SHARED + WORD], "big")
    roots = [con.target(d) for d in doms]
    spins0 = _spins_of(k, roots[0])
    rec.answers.update(
        {
            "counter": counter,
            "turns": list(raw[TRAIL - SHARED : TRAIL - SHARED + counter]),
            "spins": (spins0, int.from_bytes(r1.data, "big")),
            "one segment node": len({con.target(m) for m in memory}) == 1
            and con.target(memory[0]) == con.target(segment),
            "roots": roots,
            "segment node": con.target(segment),
            "shared page id": con.target(page),
        }
    )
    return rec


def _spins_of(k: Kernel, root: int | None) -> int:
    """Thread 0 replied to no one (it was forked): count its reads of ``turn`` that lost."""
    ev = k.events()
    mine = ev[ev.actor == root]
    reads, writes = (int((mine.event == e).sum()) for e in ("read", "write"))
    return reads - 2 * (writes // 3)  # a round: two reads that win, three writes


def _roots(rec: Recording) -> list[int]:
    """The two threads' graph vertices (their root nodes)."""
    return list(cast("list[int]", rec.answers["roots"]))


def shared_page_events(rec: Recording) -> pd.DataFrame:
    """The event-log rows of both threads reading and writing the shared page: ``seq``,
    ``tick``, ``event``, ``thread`` (0 or 1), ``actor``, ``target``.

    >>> ev = shared_page_events(two_threads(rounds=1))
    >>> sorted(set(ev.event.astype(str))), sorted(set(ev.thread))
    (['read', 'write'], [0, 1])
    """
    ev = rec.kernel.events()
    roots = _roots(rec)
    rows = ev[ev.event.isin(["read", "write"]) & (ev.target == rec.answers["shared page id"])]
    rows = rows[rows.actor.isin(roots)][["seq", "tick", "event", "actor", "target"]].copy()
    rows.insert(3, "thread", rows.actor.map({r: i for i, r in enumerate(roots)}))
    return rows.reset_index(drop=True)


def address_slots(rec: Recording) -> pd.DataFrame:
    """The capability-graph edges in the two threads' address slots: one row per thread,
    ``holder``, ``target`` (the same segment node for both), ``key_type``, ``rights``.

    >>> a = address_slots(two_threads(rounds=1))
    >>> len(a), a.target.nunique(), set(a.key_type)
    (2, 1, {'segment'})
    """
    G = rec.kernel.capability_graph()
    rows = [
        {
            "thread": i,
            "holder": root,
            "target": v,
            "target_kind": G.nodes[v]["kind"],
            "key_type": d["key_type"],
            "rights": sorted(d["rights"]),
        }
        for i, root in enumerate(_roots(rec))
        for _, v, d in G.out_edges(root, data=True)
        if d["slot_kind"] == "address"
    ]
    return pd.DataFrame(rows)


def thread_pages(rec: Recording) -> pd.DataFrame:
    """What ``analysis.authority`` says each thread reaches with its own keys: one row per
    (thread, page), ``rights`` and the witness ``via`` (the path through the address
    space). The console is left out of the graph: it holds start keys to both threads
    and, acting freely in the analysis, could send them any key it holds.

    >>> p = thread_pages(two_threads(rounds=1))
    >>> p.groupby("page").thread.nunique().tolist()  # both threads reach both pages
    [2, 2]
    >>> sorted(map(tuple, p.rights.drop_duplicates()))
    [('read',), ('read', 'write')]
    """
    G = rec.kernel.capability_graph()
    G.remove_node(rec.kernel.console.root)
    frames = []
    for i, root in enumerate(_roots(rec)):
        a = authority(G, root)
        pages = a[a.key_type == "page"].copy()
        pages.insert(0, "thread", i)
        frames.append(pages)
    out = pd.concat(frames, ignore_index=True).rename(columns={"target": "page"})
    out["rights"] = out.rights.map(sorted)
    return out[["thread", "page", "rights", "via"]].sort_values(
        ["thread", "page"], ignore_index=True
    )


# ------------------------------------------------------------------ timing channel
#: Memory reads the sender makes for a 1 bit (0 for a 0 bit), and the receiver for each
#: measurement: both more than a quantum (64 operations), so that they interleave.
BUSY, WORK = 200, 100
#: The receiver reads a 1 when a measurement is more than SLACK ticks over the shortest.
SLACK = 4
KILO = 1000
SECRET_REG, READY_REG = 1, 2  # the sender's data registers
SELF_REG = 3  # a yield's own domain key (docs/primer.md#primer-factory-yields)


@program("timing_sender")
def timing_sender(dom, msg):
    """A factory yield holding a secret. Its first message (from the requestor) carries
    the secret in 8 bytes: it keeps it in a data register and answers with a start key to
    itself. Every later message, order ``i``: compute ``BUSY`` memory reads if bit ``i`` of
    the secret is 1, nothing if it is 0; then reply. It holds no key it could send with."""
    if not dom.regs[READY_REG]:
        dom.regs[SECRET_REG] = int.from_bytes(msg.data[:WORD], "big")
        dom.regs[READY_REG] = 1
        r = yield dom.call(dom.keys[SELF_REG], oc.Domain.MakeStart, data=b"\0")
        yield dom.return_(msg.resume, rc=0, keys=(r.keys[0],))
        return
    if dom.regs[SECRET_REG] >> msg.order & 1:
        for _ in range(BUSY):
            yield dom.read(0, 1)
    yield dom.return_(msg.resume)


@program("timing_receiver")
def timing_receiver(dom, msg):
    """Holds the system timer (key register 0): reads it, makes ``WORK`` memory reads of
    its own, reads it again; replies with both readings (16 bytes)."""
    t0 = (yield dom.call(dom.keys[0], oc.Systimer.ReadSystemTime)).data
    for _ in range(WORK):
        yield dom.read(0, 1)
    t1 = (yield dom.call(dom.keys[0], oc.Systimer.ReadSystemTime)).data
    yield dom.return_(msg.resume, rc=0, data=t0 + t1)


def timing_channel(secret: int, bits: int = 16, seed: int | None = None) -> dict:
    """Send ``bits`` bits of ``secret`` from a confined yield to a timer holder.

    The console stands for the passing of time: for each bit ``i`` it FORKs the sender
    (order ``i``), then CALLs the receiver, which measures ``WORK`` operations of its own
    with the system timer; a sender computing for bit 1 takes a quantum of them. The
    receiver reads 1 when a measurement is more than ``SLACK`` ticks over the shortest.
    ``seed`` picks a kernel with seeded random scheduling: then the sender's quantum does
    not always fall inside the measurement, and some 1s are read as 0s.

    Returns ``sent``, ``durations`` (ticks), ``received``, ``errors``,
    ``p_one_given_one`` and ``p_one_given_zero`` (how often a sent 1, or 0, is read as 1),
    ``capacity_bits_per_use`` (:func:`channel_capacity` of those), ``ticks`` (for the
    whole transmission), ``bits_per_kilotick`` (bits sent per 1000 ticks),
    ``capacity_per_kilotick`` (bits of information per 1000 ticks), ``confined`` (the
    confinement verdict on the sender's factory: a
    :class:`~keykos_lab.analysis.confinement.Verdict`) and ``discreet`` (what the factory
    itself says).

    >>> out = timing_channel(0b1011, bits=4)
    >>> out["sent"] == out["received"], out["confined"].confined, out["discreet"]
    (True, True, True)
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 0 < bits <= WORD * 8:
        raise ValueError(f"bits is an int in [1, 64], not {bits!r}")
    if not isinstance(secret, int) or not 0 <= secret < 1 << bits:
        raise ValueError(f"secret is an int of at most {bits} bits, not {secret!r}")
    k = Kernel(seed=seed)
    con = k.console
    requestor = system.build_factory(con, "timing_sender").requestor
    assert requestor is not None  # a completed factory has one
    verdict: Verdict = confinement(k, requestor)
    discreet = system.is_discreet(con, requestor)
    meter = system.build_meter(con, 10**9).key
    r = con.call(requestor, 0, con["bank"], meter, data=secret.to_bytes(WORD, "big"))
    sender = _ok(r, "the sender's yield")
    receiver = system.start_key(
        con, system.build_domain(con, "timing_receiver", keys={0: con["systimer"]})
    )
    start = k.tick
    durations = []
    for i in range(bits):
        con.fork(sender, i)
        d = con.call(receiver, 0).data
        durations.append(int.from_bytes(d[WORD:], "big") - int.from_bytes(d[:WORD], "big"))
        con.run()
    ticks = k.tick - start
    received = [int(d - min(durations) > SLACK) for d in durations]
    sent = [secret >> i & 1 for i in range(bits)]
    ones = [r for r, b in zip(received, sent, strict=True) if b]
    zeros = [r for r, b in zip(received, sent, strict=True) if not b]
    p11 = sum(ones) / len(ones) if ones else 1.0
    p10 = sum(zeros) / len(zeros) if zeros else 0.0
    capacity = channel_capacity(p11, p10)
    return {
        "sent": sent,
        "durations": durations,
        "received": received,
        "errors": sum(a != b for a, b in zip(sent, received, strict=True)),
        "p_one_given_one": p11,
        "p_one_given_zero": p10,
        "capacity_bits_per_use": capacity,
        "ticks": ticks,
        "bits_per_kilotick": KILO * bits / ticks,
        "capacity_per_kilotick": KILO * capacity * bits / ticks,
        "confined": verdict,
        "discreet": discreet,
    }


def _h(p: float) -> float:
    """Binary entropy, in bits."""
    return 0.0 if p <= 0 or p >= 1 else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def channel_capacity(p11: float, p10: float, steps: int = 1000) -> float:
    """The capacity, in bits per use, of a binary channel that reads a sent 1 as 1 with
    probability ``p11`` and a sent 0 as 1 with ``p10``: the mutual information maximised
    over the share of 1s sent (a grid of ``steps``).

    >>> round(channel_capacity(1.0, 0.0), 3), round(channel_capacity(0.5, 0.5), 3)
    (1.0, 0.0)
    >>> round(channel_capacity(0.5, 0.0), 3)  # a Z-channel that loses half the 1s
    0.322
    """
    best = 0.0
    for i in range(steps + 1):
        q = i / steps
        mutual = _h(q * p11 + (1 - q) * p10) - q * _h(p11) - (1 - q) * _h(p10)
        best = max(best, mutual)
    return best


__all__ = [
    "address_slots",
    "channel_capacity",
    "shared_page_events",
    "thread_pages",
    "thread_worker",
    "two_threads",
    "timing_channel",
    "timing_receiver",
    "timing_sender",
]
