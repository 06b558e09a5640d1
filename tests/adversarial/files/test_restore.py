"""Hostile checkpoint files (issue 15): each case builds one file a stranger could hand
over and asserts the documented outcome — ``kl.CheckpointError`` with a message naming
what is wrong, no kernel, no state changed, nothing left behind, no hang.

Most cases forge the body and fix the checksum (an attacker can always do that): the
checksum only catches accidents; every record, reference, range and kind is checked.
docs/reliability.md#reliability-strangers lists what was tried and what is promised.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import keykos_lab as kl
from keykos_lab.kernel import checkpoint as ckpt
from keykos_lab.kernel.domains import A_RETRY, A_SEND, A_START, A_TRAP
from keykos_lab.kernel.eventlog import ROW
from keykos_lab.kernel.keys import (
    DATA,
    DOMAIN,
    FETCH,
    FRONTEND,
    HOOK,
    METER,
    MISC,
    NODE,
    NODE_RANGE,
    PAGE,
    PAGE_RANGE,
    RESUME,
    SEGMENT,
    SENSE,
    START,
)
from keykos_lab.kernel.process import image_bytes
from keykos_lab.programs.primordial.spacebank import SB, UNLIMITED

oc = kl.oc
TIMEOUT = 10  # seconds any single restore may take (a FIFO must not block it)
MEMORY_BOUND = 64 << 20


# ------------------------------------------------------------------ the good file
def _system() -> kl.Kernel:
    """Domains, a factory, a segment with a program image, a sub-bank, a keeper call
    stalled on a busy keeper (a waiting domain with resume keys and a stall queue), a
    pending fork in the run queue, a CPU borrower, a seeded scheduler."""
    k = kl.Kernel(seed=5)
    con = k.console
    echo = kl.start_key(con, kl.build_domain(con, "echo"))
    page = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    con.call(page, oc.Page.WriteData + 100, data=b"hello")
    img = kl.image(con, "counter")
    data = con.call(con["bank"], oc.SB.CreatePage).keys[0]
    counter = kl.start_key(
        con, kl.build_domain(con, "counter", memory=kl.build_segment(con, [img, data]))
    )
    con.call(counter, 0)
    fac = kl.build_factory(con, "echo")
    con.call(fac.requestor, 0, con["bank"], con["meter"])
    sub = con.call(con["bank"], SB.CreateBank).keys[0]
    con.call(sub, SB.ChangeNodeLimit, data=(5 - UNLIMITED).to_bytes(8, "big", signed=True))
    keeper = kl.build_domain(con, "echo")
    faulter = kl.build_domain(con, None, keeper=kl.start_key(con, keeper))
    con.call(keeper, oc.Domain.MakeBusy)
    con.fork(kl.start_key(con, faulter))
    con.run()
    con.fork(echo, 9, page, data=b"queued")
    return k


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    k = _system()
    path = tmp_path_factory.mktemp("good") / "good.ckpt"
    k.checkpoint(path)
    return path.read_bytes()


def _split(blob: bytes) -> tuple[dict, dict]:
    head, _, body = blob.partition(b"\n")
    return json.loads(head), json.loads(body)


def _join(header: dict, body: bytes) -> bytes:
    header = dict(header, length=len(body))
    header["sha256"] = ckpt._digest(header, body)
    return json.dumps(header).encode() + b"\n" + body


def forge(good: bytes, change: Callable[[dict], object]) -> bytes:
    """``good`` with its body changed by ``change`` and the checksum fixed."""
    header, body = _split(good)
    change(body)
    return _join(header, json.dumps(body).encode())


def forge_header(good: bytes, change: Callable[[dict], object]) -> bytes:
    header, body = _split(good)
    change(header)
    raw = good.partition(b"\n")[2]
    return _join(header, raw)


def restore_fails(path: Path, match: str) -> str:
    """Restore ``path`` in a thread (a hang fails the test) and expect CheckpointError."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["kernel"] = kl.Kernel.restore(path)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(TIMEOUT)
    assert not t.is_alive(), f"restore of {path} hangs"
    err = out.get("error")
    assert "kernel" not in out, f"a hostile file was restored: {path}"
    assert isinstance(err, kl.CheckpointError), f"{type(err).__name__}: {err}"
    assert not isinstance(err, ckpt.CheckpointLoaderBug)
    import re

    assert re.search(match, str(err)), f"{match!r} not in {err}"
    return str(err)


# ------------------------------------------------------------------ body helpers
def ds(d: dict, root: int | None = None, *, prog: str | None = None, waiting=False) -> dict:
    """A domain-state record: by root, by program, or the waiting one with resume keys."""
    for r in d["domain_states"]:
        if root is not None and r["root"] == root:
            return r
        if prog is not None and r["program"] == prog:
            return r
        if waiting and r["resume_alloc"]:
            return r
    raise LookupError("no such domain state")


def idx(d: dict, rec: dict) -> int:
    return d["domain_states"].index(rec)


def a_page(d: dict) -> list:
    return next(p for p in d["pages"] if p[2] is not None)


def a_node(d: dict) -> list:
    roots = {r["root"] for r in d["domain_states"]}
    return next(n for n in d["nodes"] if n[0] not in roots and n[2])


def node_of(d: dict, oid: int) -> list:
    return next(n for n in d["nodes"] if n[0] == oid)


def put_key(d: dict, key: list, slot: int = 15) -> None:
    """Put ``key`` in a slot of an ordinary node."""
    node = a_node(d)
    node[2] = [s for s in node[2] if s[0] != slot] + [[slot, *key]]


def page_key(d: dict) -> list:
    p = a_page(d)
    return [PAGE, p[0], 0, p[1]]


def node_key(d: dict, ktype: int = NODE) -> list:
    n = a_node(d)
    return [ktype, n[0], 0, n[1]]


def K(key: list) -> list:
    return ["K", *key]


def B(data: bytes) -> list:
    return ["B", base64.b64encode(data).decode()]


def msg(order=0, keys=None, data=b"", db=0) -> list:
    keys = keys or [[0, 0, 0, 0]] * 4
    return ["M", order, keys, base64.b64encode(data).decode(), db]


def act(kind: int, value) -> list:
    return ["T", [kind, value]]


def keeper_call(d: dict, **kw) -> list:
    """A well-formed saved keeper call, fields replaceable."""
    w = ds(d, waiting=True)
    call = dict(
        keeper=[START, w["root"], 0, node_of(d, w["root"])[1]],
        order=5,
        keys=[[0, 0, 0, 0]] * 3,
        data="",
        flavour=4,
        cause=1,
    )
    call.update(kw)
    return [
        "C",
        call["keeper"],
        call["order"],
        call["keys"],
        call["data"],
        call["flavour"],
        call["cause"],
    ]


def queued(d: dict) -> dict:
    """The domain state in the run queue."""
    return d["domain_states"][d["kernel"]["runq"][0]]


def idle(d: dict) -> dict:
    """An available domain (not the console, nothing pending)."""
    return ds(d, prog="counter")


def rows(d: dict, change: Callable[[list[int]], None], at: int = 0) -> None:
    """Rewrite row ``at`` of the event log's current chunk."""
    raw = bytearray(base64.b64decode(d["log"]["current"]))
    row = list(ROW.unpack_from(raw, at * ROW.size))
    change(row)
    ROW.pack_into(raw, at * ROW.size, *row)
    d["log"]["current"] = base64.b64encode(bytes(raw)).decode()


def setrow(field: int, value: int, at: int = 0):
    def change(d):
        rows(d, lambda r: r.__setitem__(field, value), at)

    return change


def both(*changes):
    def change(d):
        for c in changes:
            c(d)

    return change


def kr(**fields):
    return lambda d: d["kernel"].update(fields)


def rng(i, v):
    return lambda d: d["kernel"]["rng"].__setitem__(i, v)


def rng_word(i, v):
    return lambda d: d["kernel"]["rng"][1].__setitem__(i, v)


def console(**fields):
    return lambda d: d["console"].update(fields)


def log(**fields):
    return lambda d: d["log"].update(fields)


def on(pick, **fields):
    """Change fields of the domain-state record ``pick(d)`` returns."""
    return lambda d: pick(d).update({k: (v(d) if callable(v) else v) for k, v in fields.items()})


def keyput(make):
    return lambda d: put_key(d, make(d))


def no_program(d: dict) -> dict:
    """A registered domain whose memory holds no program image."""
    return next(
        r
        for r in d["domain_states"]
        if r["registered"] and r["image"] is not None and r["image"][1][2] is None
    )


def first_key_of_ring(d):
    return d["console"]["where"][0][0]


# ------------------------------------------------------------------ the cases
# (id, change to the body, a fragment of the error message)
BODY: list[tuple[str, Callable[[dict], object], str]] = [
    # -- the body's shape
    ("body-is-list", lambda d: d.clear() or d.update({"x": []}), r"the body has records"),
    ("body-missing-log", lambda d: d.pop("log"), r"the body has records"),
    ("body-extra-record", lambda d: d.update(extra=1), r"the body has records"),
    ("kernel-missing-field", lambda d: d["kernel"].pop("tick"), r"kernel has fields"),
    ("kernel-extra-field", kr(evil=1), r"kernel has fields"),
    ("kernel-not-object", lambda d: d.update(kernel=[1]), r"kernel is not an object"),
    # -- integers: ids, counters, the clock, epochs
    ("n_objects-10e12", kr(n_objects=10**12), r"kernel.n_objects"),
    ("n_objects-over-file-size", kr(n_objects=ckpt.OBJECTS_FREE + 400_000), r"n_objects"),
    ("n_objects-zero", kr(n_objects=0), r"kernel.n_objects"),
    ("n_objects-float", kr(n_objects=89.0), r"kernel.n_objects"),
    ("n_objects-bool", kr(n_objects=True), r"kernel.n_objects"),
    ("n_objects-below-ids", kr(n_objects=10), r"id is \d+, not an int in \[1, 10\)"),
    ("next_alloc-2e63", kr(next_alloc=1 << 63), r"kernel.next_alloc"),
    ("next_alloc-zero", kr(next_alloc=0), r"kernel.next_alloc"),
    ("next_alloc-below-allocs", kr(next_alloc=3), r"alloc"),
    ("tick-negative", kr(tick=-1), r"kernel.tick"),
    ("tick-2e63", kr(tick=1 << 63), r"kernel.tick"),
    ("tick-string", kr(tick="5"), r"kernel.tick"),
    ("node_epoch-negative", kr(node_epoch=-1), r"kernel.node_epoch"),
    ("page_epoch-huge", kr(page_epoch=1 << 70), r"kernel.page_epoch"),
    ("seed-float", kr(seed=5.0), r"kernel.seed"),
    ("seed-2000-bits", kr(seed=1 << 2000), r"kernel.seed"),
    # -- the scheduler's random state
    ("rng-missing-for-seed", kr(rng=None), r"kernel.rng is missing"),
    ("rng-for-unseeded", kr(seed=None), r"without a seed"),
    ("rng-version-2", rng(0, 2), r"kernel.rng's version"),
    ("rng-version-bool", rng(0, True), r"kernel.rng's version"),
    ("rng-624-words", lambda d: d["kernel"]["rng"][1].pop(), r"kernel.rng's state"),
    ("rng-word-2e32", rng_word(7, 1 << 32), r"kernel.rng's state"),
    ("rng-word-negative", rng_word(0, -1), r"kernel.rng's state"),
    ("rng-word-float", rng_word(3, 1.5), r"kernel.rng's state"),
    ("rng-index-625", rng_word(624, 625), r"kernel.rng's index"),
    ("rng-all-zero", lambda d: d["kernel"]["rng"].__setitem__(1, [0] * 624 + [624]), r"all zero"),
    ("rng-gauss-text", rng(2, "x"), r"gauss_next"),
    ("rng-gauss-int", rng(2, 1), r"gauss_next"),
    ("rng-not-list", kr(rng={"a": 1}), r"kernel.rng"),
    # -- the prime meter and the queues
    (
        "prime-meter-a-page",
        lambda d: d["kernel"].update(prime_meter=a_page(d)[0]),
        r"prime meter #\d+ dangles",
    ),
    ("prime-meter-zero", kr(prime_meter=0), r"the prime meter"),
    (
        "runq-duplicate",
        lambda d: d["kernel"]["runq"].append(d["kernel"]["runq"][0]),
        r"kernel.runq names domain state \d+ twice",
    ),
    ("runq-out-of-range", lambda d: d["kernel"]["runq"].append(10**5), r"run queue entry"),
    ("runq-negative", lambda d: d["kernel"]["runq"].append(-1), r"run queue entry"),
    (
        "runq-idle-domain",
        lambda d: d["kernel"]["runq"].append(idx(d, idle(d))),
        r"in the run queue with nothing to do",
    ),
    (
        "runq-the-console",
        lambda d: d["kernel"]["runq"].append(idx(d, ds(d, prog="console"))),
        r"in the run queue with nothing to do",
    ),
    ("parked-duplicate", kr(parked=[1, 1]), r"kernel.parked names domain state 1 twice"),
    ("borrowers-duplicate", kr(borrowers=[0, 0]), r"kernel.borrowers names"),
    ("borrowers-not-list", kr(borrowers=5), r"kernel.borrowers is not a list"),
    # -- meter-stopped domains
    (
        "meter-stopped-duplicate-meter",
        lambda d: d["kernel"].update(
            meter_stopped=[[d["kernel"]["prime_meter"], []], [d["kernel"]["prime_meter"], []]]
        ),
        r"in kernel.meter_stopped twice",
    ),
    (
        "meter-stopped-page",
        lambda d: d["kernel"].update(meter_stopped=[[a_page(d)[0], []]]),
        r"stopped meter #\d+ dangles",
    ),
    ("meter-stopped-never-made", kr(meter_stopped=[[10**6, []]]), r"a stopped meter"),
    (
        "meter-stopped-same-int",
        lambda d: d["kernel"].update(
            meter_stopped=[
                [
                    d["kernel"]["prime_meter"],
                    [[idx(d, ds(d, waiting=True)), ds(d, waiting=True)["on_resume"], 1]],
                ]
            ]
        ),
        r"'same' flag",
    ),
    (
        "meter-stopped-same-text",
        lambda d: d["kernel"].update(
            meter_stopped=[
                [
                    d["kernel"]["prime_meter"],
                    [[idx(d, ds(d, waiting=True)), ds(d, waiting=True)["on_resume"], "yes"]],
                ]
            ]
        ),
        r"'same' flag",
    ),
    (
        "meter-stopped-same-but-differs",
        lambda d: d["kernel"].update(
            meter_stopped=[
                [
                    d["kernel"]["prime_meter"],
                    [[idx(d, ds(d, waiting=True)), act(A_START, msg(order=77)), True]],
                ]
            ]
        ),
        r"not its on_resume",
    ),
    (
        "meter-stopped-same-no-on-resume",
        lambda d: d["kernel"].update(
            meter_stopped=[
                [d["kernel"]["prime_meter"], [[idx(d, idle(d)), act(A_START, msg()), True]]]
            ]
        ),
        r"not its on_resume",
    ),
    (
        "meter-stopped-no-action",
        lambda d: d["kernel"].update(
            meter_stopped=[[d["kernel"]["prime_meter"], [[idx(d, idle(d)), None, False]]]]
        ),
        r"with no action",
    ),
    # -- pages, nodes, labels
    ("page-saved-twice", lambda d: d["pages"].append(list(a_page(d))), r"saved twice"),
    ("page-and-node-same-id", lambda d: d["pages"].append([a_node(d)[0], 1, None]), r"saved twice"),
    ("page-id-zero", lambda d: d["pages"].append([0, 1, None]), r"a page id"),
    ("page-id-past-n_objects", lambda d: d["pages"].append([10**4, 1, None]), r"a page id"),
    ("page-alloc-zero", lambda d: a_page(d).__setitem__(1, 0), r"alloc"),
    ("page-alloc-unissued", lambda d: a_page(d).__setitem__(1, 10**9), r"alloc"),
    (
        "page-data-4097-bytes",
        lambda d: a_page(d).__setitem__(2, B(b"x" * 4097)[1]),
        r"holds 4097 bytes, more than 4096",
    ),
    (
        "page-data-5000-bytes",
        lambda d: a_page(d).__setitem__(2, B(b"x" * 5000)[1]),
        r"base64 of at most 4096",
    ),
    ("page-data-bad-base64", lambda d: a_page(d).__setitem__(2, "!!!!"), r"not valid base64"),
    ("page-data-not-ascii", lambda d: a_page(d).__setitem__(2, "ééé="), r"not valid base64"),
    ("page-data-int", lambda d: a_page(d).__setitem__(2, 5), r"not base64"),
    ("page-record-short", lambda d: d["pages"].append([3, 1]), r"a page record is not a list of 3"),
    ("page-record-dict", lambda d: d["pages"].append({"id": 3}), r"a page record"),
    ("node-slot-16", lambda d: a_node(d)[2].append([16, 0, 5, 0, 0]), r"slot number"),
    ("node-slot-twice", lambda d: a_node(d)[2].append(list(a_node(d)[2][0])), r"saved twice"),
    ("node-slot-short", lambda d: a_node(d)[2].append([1, 0, 5, 0]), r"a slot of node"),
    ("node-slots-not-list", lambda d: a_node(d).__setitem__(2, {}), r"slots is not a list"),
    ("label-twice", lambda d: d["labels"].append(list(d["labels"][0])), r"label is saved twice"),
    ("label-object-zero", lambda d: d["labels"].append([0, "x"]), r"a label's object"),
    ("label-text-int", lambda d: d["labels"].append([3, 7]), r"a label is not text"),
    # -- keys: types, fields, ranges, and the kind of object each names
    ("key-unknown-type", keyput(lambda d: [13, 0, 0, 0]), r"unknown key type 13"),
    ("key-type-negative", keyput(lambda d: [-1, 0, 0, 0]), r"unknown key type"),
    (
        "key-databyte-256",
        keyput(lambda d: [NODE, a_node(d)[0], 256, a_node(d)[1]]),
        r"databyte 256",
    ),
    (
        "key-databyte-negative",
        keyput(lambda d: [PAGE, a_page(d)[0], -1, a_page(d)[1]]),
        r"databyte -1",
    ),
    ("datakey-2e88", keyput(lambda d: [DATA, 1 << 88, 0, 0]), r"not a valid data key"),
    ("datakey-databyte", keyput(lambda d: [DATA, 5, 1, 0]), r"not a valid data key"),
    ("datakey-alloc", keyput(lambda d: [DATA, 5, 0, 9]), r"not a valid data key"),
    ("misc-unknown", keyput(lambda d: [MISC, 9, 0, 0]), r"unknown misc key 9"),
    ("misc-databyte", keyput(lambda d: [MISC, 3, 7, 0]), r"a misc key has databyte 0"),
    ("misc-alloc", keyput(lambda d: [MISC, 3, 0, 7]), r"a misc key has databyte 0"),
    ("node-range-object", keyput(lambda d: [NODE_RANGE, 5, 0, 0]), r"node_range key is"),
    ("page-range-databyte", keyput(lambda d: [PAGE_RANGE, 0, 1, 0]), r"page_range key is"),
    ("hook-alloc", keyput(lambda d: [HOOK, 0, 0, 4]), r"hook key is"),
    ("page-key-to-node", keyput(lambda d: node_key(d, PAGE)), r"page key names node"),
    ("node-key-to-page", keyput(lambda d: [NODE, *page_key(d)[1:]]), r"node key names page"),
    ("start-key-to-page", keyput(lambda d: [START, *page_key(d)[1:]]), r"start key names page"),
    ("resume-key-to-page", keyput(lambda d: [RESUME, *page_key(d)[1:]]), r"resume key names page"),
    ("domain-key-to-page", keyput(lambda d: [DOMAIN, *page_key(d)[1:]]), r"domain key names page"),
    ("meter-key-to-page", keyput(lambda d: [METER, *page_key(d)[1:]]), r"meter key names page"),
    ("fetch-key-to-page", keyput(lambda d: [FETCH, *page_key(d)[1:]]), r"fetch key names page"),
    (
        "segment-key-to-page",
        keyput(lambda d: [SEGMENT, *page_key(d)[1:]]),
        r"segment key names page",
    ),
    ("sense-key-to-page", keyput(lambda d: [SENSE, *page_key(d)[1:]]), r"sense key names page"),
    (
        "frontend-key-to-page",
        keyput(lambda d: [FRONTEND, *page_key(d)[1:]]),
        r"frontend key names page",
    ),
    ("key-object-never-made", keyput(lambda d: [NODE, 10**4, 0, 1]), r"was never made"),
    ("key-object-zero", keyput(lambda d: [PAGE, 0, 0, 1]), r"object #0 was never made"),
    (
        "key-alloc-unissued",
        keyput(lambda d: [NODE, a_node(d)[0], 0, 10**9]),
        r"alloc id \d+ was never issued",
    ),
    (
        "key-alloc-zero",
        keyput(lambda d: [RESUME, ds(d, waiting=True)["root"], 0, 0]),
        r"alloc id 0 was never issued",
    ),
    ("key-field-float", keyput(lambda d: [NODE, float(a_node(d)[0]), 0, 1]), r"four ints"),
    ("key-field-bool", keyput(lambda d: [DATA, True, 0, 0]), r"four ints"),
    ("key-five-fields", lambda d: a_node(d)[2].append([2, 0, 5, 0, 0, 0]), r"a slot of node"),
    (
        "key-in-held-to-page",
        on(idle, held=lambda d: [[START, *page_key(d)[1:]]]),
        r"start key names page",
    ),
    (
        "key-in-message-to-page",
        on(
            queued,
            next=lambda d: act(A_START, msg(keys=[[NODE, *page_key(d)[1:]]] + [[0, 0, 0, 0]] * 3)),
        ),
        r"node key names page",
    ),
    (
        "key-in-ring-index-to-page",
        lambda d: d["console"]["where"].append([[METER, *page_key(d)[1:]], 0]),
        r"meter key names page",
    ),
    # -- domain states
    ("domain-states-not-list", lambda d: d.update(domain_states={}), r"domain_states"),
    ("domain-record-missing-field", lambda d: idle(d).pop("cpu"), r"has fields"),
    ("domain-record-extra-field", on(idle, proc="evil"), r"has fields"),
    ("registered-int", on(idle, registered=1), r"'registered'.*not true or false"),
    ("registered-twice", lambda d: d["domain_states"].append(dict(idle(d))), r"registered twice"),
    ("domain-root-zero", on(idle, root=0), r"root"),
    ("domain-root-a-page", on(idle, root=lambda d: a_page(d)[0]), r"a domain root #\d+ dangles"),
    ("domain-state-4", on(idle, state=4), r"state is 4"),
    ("domain-state-0", on(idle, state=0), r"state is 0"),
    ("resume-alloc-unissued", on(idle, resume_alloc=10**9), r"resume_alloc"),
    ("resume-keys-but-available", on(idle, resume_alloc=3), r"has resume keys .* not waiting"),
    (
        "resume-keys-but-running",
        lambda d: ds(d, waiting=True).update(state=2),
        r"has resume keys .* not waiting",
    ),
    ("held-twice", on(idle, held=lambda d: [page_key(d), page_key(d)]), r"holds .* twice"),
    ("held-dangling", on(idle, held=[[PAGE, 10**4, 0, 1]]), r"never made"),
    (
        "cpu-free-ticks",
        on(lambda d: d["domain_states"][d["kernel"]["borrowers"][0]], cpu=10**9),
        r"cpu \(ticks borrowed\)",
    ),
    ("cpu-without-borrowing", on(idle, cpu=5), r"holds 5 borrowed ticks but is no borrower"),
    ("cpu-float", on(idle, cpu=0.5), r"cpu"),
    (
        "chain-epoch-future",
        lambda d: idle(d).update(chain_epoch=d["kernel"]["node_epoch"] + 1),
        r"chain_epoch",
    ),
    ("chain-epoch-below-minus-one", on(idle, chain_epoch=-2), r"chain_epoch"),
    (
        "chain-current-but-wrong",
        lambda d: idle(d).update(
            chain_epoch=d["kernel"]["node_epoch"], chain=[[a_node(d)[0], a_node(d)[1], True]]
        ),
        r"cached meter chain is current .* not the chain",
    ),
    (
        "chain-current-but-none",
        lambda d: idle(d).update(chain_epoch=d["kernel"]["node_epoch"], chain=None),
        r"cached meter chain is current",
    ),
    (
        "chain-live-flag-int",
        lambda d: idle(d).update(chain=[[d["kernel"]["prime_meter"], 1, 1]]),
        r"live flag",
    ),
    (
        "chain-live-alloc-mismatch",
        lambda d: idle(d).update(chain=[[d["kernel"]["prime_meter"], 99, True]]),
        r"is live with alloc",
    ),
    (
        "chain-standin-for-live-node",
        lambda d: idle(d).update(chain=[[d["kernel"]["prime_meter"], 1, False]]),
        r"destroyed, but it is live",
    ),
    (
        "chain-21-meters",
        lambda d: idle(d).update(chain=[[d["kernel"]["prime_meter"], 1, True]] * 21),
        r"at most 20",
    ),
    (
        "chain-node-a-page",
        lambda d: idle(d).update(chain=[[a_page(d)[0], 1, True]]),
        r"meter chain node #\d+ dangles",
    ),
    (
        "borrowed-from-a-key",
        both(
            lambda d: put_key(d, page_key(d), slot=3),
            lambda d: d["domain_states"][d["kernel"]["borrowers"][0]].update(
                chain=[[a_node(d)[0], a_node(d)[1], True]]
            ),
        ),
        r"borrowed from node #\d+, whose slot 3 is no meter counter",
    ),
    (
        "image-future-epoch",
        lambda d: idle(d).update(image=["T", [d["kernel"]["page_epoch"] + 1, 0, ["S", "echo"]]]),
        r"image cache's page epoch",
    ),
    (
        "image-picks-a-program",
        lambda d: idle(d).update(
            image=["T", [d["kernel"]["page_epoch"], d["kernel"]["node_epoch"], ["S", "spacebank"]]]
        ),
        r"image cache names program 'spacebank', but its memory holds 'counter'",
    ),
    (
        "image-current-names-no-image",
        lambda d: no_program(d).update(
            image=["T", [d["kernel"]["page_epoch"], d["kernel"]["node_epoch"], ["S", "echo"]]]
        ),
        r"image cache names program 'echo', but its memory holds None",
    ),
    (
        "image-current-on-malformed",
        both(
            lambda d: node_of(d, idle(d)["root"])[2].clear(),
            lambda d: idle(d).update(
                image=[
                    "T",
                    [d["kernel"]["page_epoch"], d["kernel"]["node_epoch"], ["S", "counter"]],
                ]
            ),
        ),
        r"image cache is current, but the domain is malformed",
    ),
    ("image-two-fields", on(idle, image=["T", [1, 2]]), r"image cache is not"),
    ("image-name-int", on(idle, image=["T", [1, 2, 3]]), r"image cache is not"),
    ("image-a-key", on(idle, image=["K", 0, 5, 0, 0]), r"image cache is not"),
    ("stalled-on-out-of-range", on(idle, stalled_on=10**6), r"stalled_on"),
    ("woken-by-text", on(idle, woken_by="x"), r"woken_by"),
    ("parked-int", on(idle, parked=3), r"parked reason is not text"),
    ("program-int", on(idle, program=3), r"program is not text"),
    ("error-list", on(idle, error=[]), r"error is not text"),
    # -- actions and the values inside them
    ("action-unknown-kind", on(queued, next=act(7, None)), r"unknown kind 7"),
    ("action-not-pair", on(queued, next=["T", [A_START]]), r"not an action"),
    ("action-start-bytes", on(queued, next=act(A_START, B(b"x"))), r"not a message"),
    (
        "action-send-key",
        on(idle, next=act(A_SEND, K([DATA, 5, 0, 0]))),
        r"resumes a handler with Key",
    ),
    (
        "action-trap-negative-code",
        on(queued, next=act(A_TRAP, ["T", [-1, None]])),
        r"traps with no",
    ),
    (
        "action-trap-code-2e32",
        on(queued, next=act(A_TRAP, ["T", [1 << 32, None]])),
        r"traps with no",
    ),
    (
        "action-nested-too-deep",
        on(queued, next=json.loads('["T", [' * 40 + "1" + "]]" * 40)),
        r"nested too deeply",
    ),
    ("value-unknown-tag", on(queued, next=["X", 1]), r"unknown tag 'X'"),
    ("value-int-over-64-bits", on(queued, next=act(A_START, 1 << 70)), r"more than 64 bits"),
    ("value-empty-list", on(queued, next=[]), r"not a saved value"),
    ("message-order-2e63", on(queued, next=act(A_START, msg(order=1 << 63))), r"message|order"),
    ("message-databyte-256", on(queued, next=act(A_START, msg(db=256))), r"databyte"),
    (
        "message-string-4097",
        on(queued, next=act(A_START, msg(data=b"x" * 4097))),
        r"string holds 4097 bytes, more than 4096",
    ),
    (
        "message-string-2MiB",
        on(queued, next=act(A_START, msg(data=b"x" * (2 << 20)))),
        r"base64 of at most 4096",
    ),
    (
        "message-three-keys",
        on(queued, next=act(A_START, ["M", 0, [[0, 0, 0, 0]] * 3, "", 0])),
        r"not a list of 4",
    ),
    (
        "read-result-over-1MiB",
        on(idle, next=act(A_SEND, B(b"x" * ((1 << 20) + 3)))),
        r"base64 of at most 1048576",
    ),
    (
        "runq-resumes-a-handler",
        on(queued, next=act(A_SEND, None)),
        r"next action resumes a handler",
    ),
    (
        "runq-retries-a-program-op",
        on(queued, next=act(A_RETRY, ["T", [1, K([DATA, 0, 0, 0]), 0, ["T", []], B(b"")]])),
        r"next action resumes a handler",
    ),
    (
        "runq-retries-garbage-op",
        on(queued, next=act(A_RETRY, ["T", [99, 1]])),
        r"not an op the kernel could have kept",
    ),
    (
        "on-resume-sends",
        on(idle, on_resume=act(A_SEND, None)),
        r"on_resume action resumes a handler",
    ),
    (
        "on-resume-trap-then-sends",
        on(idle, on_resume=act(A_TRAP, ["T", [5, ["T", [A_SEND, None]]]])),
        r"on_resume action resumes a handler",
    ),
    (
        "stall-a-program-op",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(
            1, ["T", [2, K([DATA, 0, 0, 0]), 0, ["T", []], B(b"")]]
        ),
        r"stall queue retries a program's op",
    ),
    (
        "stall-garbage-op",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(1, ["S", "x"]),
        r"stalled op is not an op",
    ),
    (
        "stall-invoker-out-of-range",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(0, 10**6),
        r"stalled invoker",
    ),
    (
        "stall-entry-short",
        lambda d: ds(d, waiting=True)["stall"].append([0]),
        r"stall entry is not a list of 2",
    ),
    (
        "keeper-call-flavour-3",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(1, keeper_call(d, flavour=3)),
        r"is not one of \[0, 4\]",
    ),
    (
        "keeper-call-cause-99",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(1, keeper_call(d, cause=99)),
        r"is not one of",
    ),
    (
        "keeper-call-order-2e32",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(1, keeper_call(d, order=1 << 32)),
        r"not an int in \[0, 4294967296\)",
    ),
    (
        "keeper-call-two-keys",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(
            1, keeper_call(d, keys=[[0, 0, 0, 0]] * 2)
        ),
        r"not a list of 3",
    ),
    (
        "keeper-call-string-4097",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(
            1, keeper_call(d, data=base64.b64encode(b"x" * 4097).decode())
        ),
        r"holds 4097 bytes, more than 4096",
    ),
    (
        "keeper-call-keeper-to-page",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(
            1, keeper_call(d, keeper=[START, *page_key(d)[1:]])
        ),
        r"start key names page",
    ),
    (
        "legacy-keeper-call-bad",
        lambda d: ds(d, waiting=True)["stall"][0].__setitem__(1, ["T", [100, 1, 2, 3, 4, 5, 6]]),
        r"is not a list of 4",
    ),
    # -- the event log
    ("log-chunk-rows-zero", log(chunk_rows=0), r"log.chunk_rows"),
    ("log-chunk-rows-2e40", log(chunk_rows=1 << 40), r"log.chunk_rows"),
    (
        "log-capacity-256MiB",
        log(chunk_rows=1 << 22, capacity=ROW.size << 22),
        r"log.capacity is \d+ bytes for \d+ bytes of rows",
    ),
    ("log-capacity-odd", log(capacity=65536 + 3), r"log.capacity"),
    ("log-capacity-below-first", log(capacity=64), r"log.capacity"),
    (
        "log-current-not-rows",
        lambda d: d["log"].update(
            current=base64.b64encode(base64.b64decode(d["log"]["current"]) + b"xyz").decode()
        ),
        r"not whole rows|does not|holds",
    ),
    (
        "log-current-over-capacity",
        lambda d: d["log"].update(capacity=ROW.size * 256),
        r"log.current is not base64",
    ),
    (
        "log-full-chunk-short",
        lambda d: d["log"].update(full=[B(bytes(64))[1]]),
        r"event-log chunk 0 holds 64 bytes",
    ),
    ("log-full-chunk-bad-base64", log(full=["@@@@"]), r"event-log chunk 0"),
    ("log-full-not-list", log(full="x"), r"log.full is not a list"),
    ("log-rows-mismatch", log(rows=1), r"the record says 1"),
    ("log-enabled-int", log(enabled=1), r"log.enabled"),
    ("log-huge-base64", log(current="A" * (3 << 20)), r"log.current is not base64"),
    ("row-event-15", setrow(1, 15), r"event, jump, state or cause code"),
    ("row-jump-9", setrow(1, 9 << 4), r"event, jump, state or cause code"),
    ("row-state-7", setrow(1, 7 << 8), r"event, jump, state or cause code"),
    ("row-cause-99", setrow(1, 99 << 16), r"event, jump, state or cause code"),
    ("row-kind-negative", setrow(1, -5), r"event, jump, state or cause code"),
    ("row-key-type-200", setrow(3, 200), r"key type, databyte or key count"),
    ("row-databyte-400", setrow(3, 401 << 8), r"key type, databyte or key count"),
    ("row-actor-past-objects", setrow(2, 10**6), r"a row's actor"),
    ("row-actor-minus-2", setrow(2, -2), r"a row's actor"),
    ("row-tick-backwards", setrow(0, 10**6, at=0), r"ticks go backwards or past"),
    ("row-tick-negative", setrow(0, -1, at=0), r"ticks go backwards"),
    ("row-string-len-negative", setrow(7, -1), r"string length"),
    ("row-string-len-huge", setrow(7, 1 << 40), r"string length"),
    # -- the console
    (
        "console-root-unregistered",
        lambda d: d["console"].update(root=a_node(d)[0]),
        r"not a registered domain",
    ),
    (
        "console-state-other-domain",
        lambda d: d["console"].update(state=idx(d, idle(d))),
        r"not a registered domain",
    ),
    (
        "console-waiting",
        lambda d: ds(d, prog="console").update(state=3),
        r"console is not running and idle",
    ),
    (
        "console-ring-reordered",
        lambda d: d["console"]["ring"].reverse(),
        r"not the node the console's root links to",
    ),
    (
        "console-ring-extra-node",
        lambda d: d["console"]["ring"].append(a_node(d)[0]),
        r"console.ring has",
    ),
    (
        "console-ring-a-page",
        lambda d: d["console"]["ring"].__setitem__(0, a_page(d)[0]),
        r"key-ring node #\d+ dangles",
    ),
    (
        "console-ring-foreign-node",
        lambda d: d["console"]["ring"].__setitem__(1, a_node(d)[0]),
        r"is not the node",
    ),
    (
        "console-count-past-ring",
        lambda d: d["console"].update(count=10**3),
        r"console.ring has \d+ nodes for 1000 keys",
    ),
    (
        "console-where-twice",
        lambda d: d["console"]["where"].append(list(d["console"]["where"][0])),
        r"console.where lists .* twice",
    ),
    (
        "console-where-past-count",
        lambda d: d["console"]["where"].__setitem__(0, [first_key_of_ring(d), 10**6]),
        r"a ring index",
    ),
    (
        "console-name-twice",
        lambda d: d["console"]["names"].append(list(d["console"]["names"][0])),
        r"saved twice",
    ),
    (
        "console-name-empty",
        lambda d: d["console"]["names"].append(["", 0]),
        r"not a non-empty string",
    ),
    (
        "console-name-past-count",
        lambda d: d["console"]["names"].append(["x", 10**6]),
        r"ring index",
    ),
    ("console-woken-int", console(woken=0), r"console.woken"),
    ("console-result-key", console(result=K([DATA, 1, 0, 0])), r"console.result is Key"),
    ("console-step-limit-negative", console(step_limit=-1), r"step_limit"),
    ("console-step-limit-2e63", console(step_limit=1 << 63), r"step_limit"),
    ("console-missing-field", lambda d: d["console"].pop("names"), r"console has fields"),
]


@pytest.mark.parametrize("name, change, match", BODY, ids=[c[0] for c in BODY])
def test_forged_body_is_refused(good, tmp_path, name, change, match):
    path = tmp_path / "hostile.ckpt"
    path.write_bytes(forge(good, change))
    restore_fails(path, match)
    assert os.listdir(tmp_path) == ["hostile.ckpt"]


# ------------------------------------------------------------------ file-level attacks
def _raw_body(good: bytes) -> bytes:
    return good.partition(b"\n")[2]


FILES: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("empty", lambda g: b"", r"empty file"),
    ("only-newline", lambda g: b"\n", r"header is not valid JSON"),
    ("no-newline", lambda g: g.partition(b"\n")[0], r"no header line"),
    ("header-not-json", lambda g: b"{nope\n" + _raw_body(g), r"header is not valid JSON"),
    ("header-a-list", lambda g: b"[1]\n", r"not a keykos_lab checkpoint"),
    ("header-over-1MiB", lambda g: b"{" + b" " * (ckpt.MAX_HEADER + 5) + b"}\n", r"no header line"),
    ("header-nested-deep", lambda g: b"[" * 200_000 + b"\n", r"header is not valid JSON"),
    (
        "header-repeats-version",
        lambda g: g.replace(b'"version":', b'"version":1,"version":', 1),
        r"the header repeats the field 'version'",
    ),
    ("header-nan", lambda g: g.replace(b'"version":', b'"x":NaN,"version":', 1), r"holds NaN"),
    (
        "format-missing",
        lambda g: forge_header(g, lambda h: h.pop("format")),
        r"format name missing",
    ),
    (
        "format-other",
        lambda g: forge_header(g, lambda h: h.update(format="zip")),
        r"not a keykos_lab checkpoint",
    ),
    (
        "version-text",
        lambda g: forge_header(g, lambda h: h.update(version="2")),
        r"unknown checkpoint format version",
    ),
    (
        "version-zero",
        lambda g: forge_header(g, lambda h: h.update(version=0)),
        r"unknown checkpoint format version",
    ),
    (
        "version-bool",
        lambda g: forge_header(g, lambda h: h.update(version=True)),
        r"unknown checkpoint format version",
    ),
    (
        "version-newer",
        lambda g: forge_header(g, lambda h: h.update(version=99)),
        r"version 99 was written by a newer",
    ),
    (
        "length-negative",
        lambda g: (
            forge_header(g, lambda h: h.update(length=-1))
            if False
            else json.dumps(dict(_split(g)[0], length=-1)).encode() + b"\n" + _raw_body(g)
        ),
        r"no valid length",
    ),
    (
        "length-huge",
        lambda g: json.dumps(dict(_split(g)[0], length=1 << 50)).encode() + b"\n" + _raw_body(g),
        r"truncated: the body should hold",
    ),
    (
        "sha256-missing",
        lambda g: (
            json.dumps({k: v for k, v in _split(g)[0].items() if k != "sha256"}).encode()
            + b"\n"
            + _raw_body(g)
        ),
        r"no valid length and sha256",
    ),
    (
        "programs-not-list",
        lambda g: forge_header(g, lambda h: h.update(programs="echo")),
        r"'programs' is not a list",
    ),
    (
        "programs-int",
        lambda g: forge_header(g, lambda h: h.update(programs=[1])),
        r"'programs' is not a list",
    ),
    (
        "unbound-missing",
        lambda g: forge_header(g, lambda h: h.pop("unbound_images")),
        r"'unbound_images'",
    ),
    (
        "program-unregistered",
        lambda g: forge_header(g, lambda h: h["programs"].append("nope")),
        r"not registered here: nope",
    ),
    (
        "program-hidden-from-header",
        lambda g: forge_header(
            g, lambda h: h.update(programs=[p for p in h["programs"] if p != "counter"])
        ),
        r"binds programs its header does not name: counter",
    ),
    (
        "image-of-unnamed-program",
        lambda g: forge(
            g, lambda d: a_page(d).__setitem__(2, base64.b64encode(image_bytes("pager")).decode())
        ),
        r"binds programs its header does not name: pager",
    ),
    ("trailing-bytes", lambda g: g + b"x", r"trailing bytes"),
    ("truncated-body", lambda g: g[:-10], r"truncated"),
    ("body-byte-flipped", lambda g: g[:-5] + bytes([g[-5] ^ 1]) + g[-4:], r"checksum mismatch"),
    (
        "header-field-changed",
        lambda g: json.dumps(dict(_split(g)[0], counts={})).encode() + b"\n" + _raw_body(g),
        r"checksum mismatch",
    ),
    ("body-not-json", lambda g: _join(_split(g)[0], b"{nope"), r"body is not valid JSON"),
    (
        "body-nested-deep",
        lambda g: _join(_split(g)[0], b"[" * 100_000 + b"]" * 100_000),
        r"body is not valid JSON",
    ),
    (
        "body-repeats-field",
        lambda g: _join(_split(g)[0], _raw_body(g).replace(b'"tick":', b'"tick":0,"tick":', 1)),
        r"the body repeats the field 'tick'",
    ),
    (
        "body-infinity",
        lambda g: _join(
            _split(g)[0], _raw_body(g).replace(b'"tick":', b'"evil":Infinity,"tick":', 1)
        ),
        r"holds Infinity",
    ),
    (
        "body-5000-digit-int",
        lambda g: _join(
            _split(g)[0], _raw_body(g).replace(b'"tick":', b'"tick":' + b"9" * 5000 + b',"x":', 1)
        ),
        r"body is not valid JSON",
    ),
    ("body-not-utf8", lambda g: _join(_split(g)[0], b'{"\xff":1}'), r"body is not valid JSON"),
]


@pytest.mark.parametrize("name, make, match", FILES, ids=[c[0] for c in FILES])
def test_hostile_file_is_refused(good, tmp_path, name, make, match):
    path = tmp_path / "hostile.ckpt"
    path.write_bytes(make(good))
    restore_fails(path, match)
    assert os.listdir(tmp_path) == ["hostile.ckpt"]


# ------------------------------------------------------------------ not regular files
def _fifo(tmp: Path) -> Path:
    path = tmp / "fifo.ckpt"
    os.mkfifo(path)
    return path


def _fifo_with_writer(tmp: Path) -> Path:
    """A FIFO with a writer feeding it a valid-looking header: still refused."""
    path = _fifo(tmp)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    os.write(fd, b'{"format":"keykos_lab-checkpoint"}\n')
    return path


def _symlink_to_fifo(tmp: Path) -> Path:
    target = _fifo(tmp)
    link = tmp / "link.ckpt"
    link.symlink_to(target)
    return link


def _socket(tmp: Path) -> Path:
    path = tmp / "s.ckpt"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    return path


def _folder(tmp: Path) -> Path:
    path = tmp / "dir.ckpt"
    path.mkdir()
    return path


SPECIAL: list[tuple[str, Callable[[Path], Path], str]] = [
    ("fifo", _fifo, r"a FIFO, not a regular file"),
    ("fifo-with-writer", _fifo_with_writer, r"a FIFO, not a regular file"),
    ("symlink-to-fifo", _symlink_to_fifo, r"a FIFO, not a regular file"),
    ("unix-socket", _socket, r"cannot open|a socket"),
    ("folder", _folder, r"a folder, not a regular file"),
    ("dev-zero", lambda tmp: Path("/dev/zero"), r"a character device"),
    ("dev-null", lambda tmp: Path("/dev/null"), r"a character device"),
    ("missing", lambda tmp: tmp / "nope.ckpt", r"cannot open the checkpoint"),
    ("nul-in-path", lambda tmp: Path(str(tmp / "a\0b")), r"cannot open the checkpoint"),
    (
        "dangling-symlink",
        lambda tmp: (tmp / "l").symlink_to(tmp / "gone") or tmp / "l",
        r"cannot open the checkpoint",
    ),
    ("proc-file", lambda tmp: Path("/proc/self/status"), r"truncated|header|not a keykos_lab"),
]


@pytest.mark.parametrize("name, make, match", SPECIAL, ids=[c[0] for c in SPECIAL])
def test_special_files_are_refused_without_blocking(tmp_path, name, make, match):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = make(tmp_path)
    restore_fails(path, match)
    if name != "proc-file" and "nul" not in name:
        with pytest.raises(kl.CheckpointError):
            ckpt.read_header(path)


# ------------------------------------------------------------------ memory and state
HUGE = [
    ("n_objects-max", kr(n_objects=ckpt.MAX_OBJECTS)),
    ("log-chunk-capacity", log(chunk_rows=ckpt.MAX_CHUNK_ROWS, capacity=ROW.size << 22)),
    ("many-empty-pages", lambda d: d["pages"].extend([[i, 1, None] for i in range(10**4)])),
]


@pytest.mark.parametrize("name, change", HUGE, ids=[c[0] for c in HUGE])
def test_huge_claims_stay_proportional_to_the_file(good, tmp_path, name, change):
    path = tmp_path / "huge.ckpt"
    blob = forge(good, change)
    path.write_bytes(blob)
    tracemalloc.start()
    try:
        with pytest.raises(kl.CheckpointError):
            kl.Kernel.restore(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < max(MEMORY_BOUND, 40 * len(blob)), f"{name}: {peak >> 20} MiB"


def test_a_kernel_with_many_destroyed_objects_saves_and_restores(tmp_path):
    """The object-id bound never refuses a real checkpoint: save pads a body that
    would claim more ids than it has bytes."""
    k = kl.Kernel()
    for _ in range(ckpt.OBJECTS_FREE // 1000 + 1):
        k.store.objects.extend([None] * 1000)  # as if made and destroyed, log off
    path = tmp_path / "k.ckpt"
    k.checkpoint(path)
    r = kl.Kernel.restore(path)
    assert len(r.objs) == len(k.objs) and ckpt.encode(r) == ckpt.encode(k)


def test_a_refused_file_changes_nothing(good, tmp_path):
    from keykos_lab.kernel.process import PROGRAMS

    k = _system()
    before, programs = ckpt.encode(k), dict(PROGRAMS)
    path = tmp_path / "bad.ckpt"
    path.write_bytes(forge(good, on(idle, image=["T", [1, 2]])))
    restore_fails(path, r"image cache")
    assert ckpt.encode(k) == before and PROGRAMS == programs
    assert sorted(os.listdir(tmp_path)) == ["bad.ckpt"]


def test_the_good_file_restores(good, tmp_path):
    path = tmp_path / "good.ckpt"
    path.write_bytes(good)
    r = kl.Kernel.restore(path)
    assert r.console.call(r.console["dkc"], 0).rc == 0


# ------------------------------------------------------------------ loader bugs
def test_a_loader_bug_is_not_called_an_invalid_file(good, tmp_path, monkeypatch):
    load_module = importlib.import_module("keykos_lab.kernel.checkpoint.load")

    def broken(self, k, states):
        raise TypeError("'NoneType' object is not subscriptable")

    monkeypatch.setattr(load_module._Decoder, "_consistent", broken)
    path = tmp_path / "good.ckpt"
    path.write_bytes(good)
    with pytest.raises(ckpt.CheckpointLoaderBug, match=r"loader failed \(a bug.*TypeError") as info:
        kl.Kernel.restore(path)
    assert not isinstance(info.value, kl.CheckpointError)
    assert isinstance(info.value, kl.KernelError)
    assert isinstance(info.value.__cause__, TypeError)


def test_data_errors_stay_checkpoint_errors(good):
    """decode() on Python data (no file) reports the data, never a loader bug."""
    header, body = _split(good)
    for change in (
        kr(tick=None),
        on(idle, cpu=None),
        log(full=None),
        console(ring=None),
        lambda d: d["nodes"].__setitem__(0, None),
    ):
        _, fresh = _split(good)
        change(fresh)
        with pytest.raises(kl.CheckpointError) as info:
            ckpt.decode(fresh)
        assert not isinstance(info.value, ckpt.CheckpointLoaderBug)


# ------------------------------------------------------------------ writing
def _previous(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "k.ckpt"
    kl.Kernel().checkpoint(path)
    return path, path.read_bytes()


class _Full:
    """A temporary file whose writes fail as on a full disk."""

    def __init__(self, fd):
        self.f = os.fdopen(fd, "wb")
        self.n = 0

    def write(self, b):
        self.n += len(b)
        if self.n > 1000:
            raise OSError(28, "No space left on device")
        return self.f.write(b)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _raise(exc):
    def f(*a, **kw):
        raise exc

    return f


WRITES: list[tuple[str, Callable, str]] = [
    (
        "disk-full",
        lambda mp, tmp: (mp.setattr(ckpt, "_open_temp", _Full), tmp / "k.ckpt"),
        r"No space left",
    ),
    (
        "unwritable-folder",
        lambda mp, tmp: (
            mp.setattr("tempfile.mkstemp", _raise(PermissionError(13, "Permission denied"))),
            tmp / "k.ckpt",
        ),
        r"Permission denied",
    ),
    (
        "fsync-fails",
        lambda mp, tmp: (mp.setattr(ckpt.os, "fsync", _raise(OSError(5, "EIO"))), tmp / "k.ckpt"),
        r"EIO",
    ),
    (
        "rename-fails",
        lambda mp, tmp: (
            mp.setattr(ckpt.os, "replace", _raise(OSError(18, "cross-device"))),
            tmp / "k.ckpt",
        ),
        r"cross-device",
    ),
    ("path-is-a-folder", lambda mp, tmp: (None, tmp), r"is a folder"),
    ("missing-folder", lambda mp, tmp: (None, tmp / "no" / "k.ckpt"), r"cannot write"),
    ("file-as-folder", lambda mp, tmp: (None, tmp / "k.ckpt" / "x.ckpt"), r"cannot write"),
    ("nul-in-path", lambda mp, tmp: (None, str(tmp / "a\0b.ckpt")), r"cannot write"),
    ("name-too-long", lambda mp, tmp: (None, tmp / ("x" * 300)), r"cannot write"),
    ("path-not-a-path", lambda mp, tmp: (None, 3.5), r"a str or os.PathLike"),
]


@pytest.mark.parametrize("name, setup, match", WRITES, ids=[c[0] for c in WRITES])
def test_failed_writes_raise_checkpoint_error_and_leave_nothing(
    tmp_path, monkeypatch, name, setup, match
):
    path, before = _previous(tmp_path)
    _, target = setup(monkeypatch, tmp_path)
    k = _system()
    with pytest.raises(kl.CheckpointError, match=match):
        k.checkpoint(target)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["k.ckpt"], "a temporary file was left"


# ------------------------------------------------------------------ determinism
def test_saved_files_are_byte_identical_across_runs(tmp_path):
    """Same operations, fresh interpreters with different hash seeds: same bytes."""
    script = textwrap.dedent("""
        import random, sys, keykos_lab as kl
        sys.path.insert(0, sys.argv[2])
        from test_restore import _system
        from keykos_lab.kernel.domains import DomainState
        k = _system()
        # CPU borrowers the queues reach only through the set: stale states (a domain
        # destroyed while it borrowed), which a set iterates in memory-address order
        nodes = [o.id for o in k.objs if o is not None and o.kind == "node"][-12:]
        random.Random(sys.argv[3]).shuffle(nodes)     # made in another order each run,
        junk = [[] for _ in range(int(sys.argv[3]) * 997)]   # at other addresses
        k._borrowers.update(DomainState(root) for root in nodes)
        k.checkpoint(sys.argv[1])
        kl.Kernel.restore(sys.argv[1]).checkpoint(sys.argv[1] + ".again")
    """)
    blobs = []
    for seed in ("1", "2", "3"):
        out = tmp_path / f"{seed}.ckpt"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run(
            [sys.executable, "-c", script, str(out), str(Path(__file__).parent), seed],
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        blobs.append(out.read_bytes())
        assert Path(f"{out}.again").read_bytes() == blobs[-1]
    assert blobs[0] == blobs[1] == blobs[2]


def test_kind_rules_cover_every_object_key_type():
    from keykos_lab.kernel.checkpoint.format import NODE_KEYS, PAGE_KEYS
    from keykos_lab.kernel.keys import OBJECT_TYPES

    assert NODE_KEYS | PAGE_KEYS == OBJECT_TYPES and not NODE_KEYS & PAGE_KEYS
    assert struct.calcsize("<8q") == ROW.size
