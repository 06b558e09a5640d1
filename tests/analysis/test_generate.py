"""Random KeyKOS-like capability systems (keykos_lab.analysis.generate)."""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keykos_lab.analysis.convert import (
    KEY_TYPES,
    SLOT_KINDS,
    VERTEX_KINDS,
    from_csr,
    read_node_link,
    rights_mask,
    sensory_mask,
    to_csr,
    write_node_link,
)
from keykos_lab.analysis.generate import random_csr, random_system

ARRAYS = (
    "vertices",
    "kind",
    "indptr",
    "indices",
    "key_type",
    "databyte",
    "slot",
    "slot_kind",
    "rights",
    "sensory",
)
TARGET_KIND = {
    "page": "page",
    "segment": "segment",
    "node": "node",
    "fetch": "node",
    "sense": "node",
    "meter": "meter",
    "start": "domain",
    "resume": "domain",
    "domain": "domain",
}


def same_arrays(a, b) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ARRAYS)


@pytest.fixture(scope="module")
def csr():
    return random_csr(20_000, 100_000, seed=5)


def test_same_seed_same_arrays():
    assert same_arrays(random_csr(3000, 12_000, seed=9), random_csr(3000, 12_000, seed=9))
    assert not same_arrays(random_csr(3000, 12_000, seed=9), random_csr(3000, 12_000, seed=10))


def test_sizes_and_kinds(csr):
    assert (csr.n_vertices, csr.n_edges) == (20_000, 100_000)
    assert csr.vertices.tolist() == list(range(20_000))
    share = np.bincount(csr.kind, minlength=5) / csr.n_vertices
    assert dict(zip(VERTEX_KINDS, share.round(2))) == {
        "domain": 0.05,
        "node": 0.35,
        "page": 0.55,
        "segment": 0.03,
        "meter": 0.02,
    }
    assert np.bincount(random_csr(1000, 10, n_subjects=100).kind)[0] == 100


def test_schema_is_consistent(csr):
    kt, db = csr.key_type, csr.databyte
    assert set(np.unique(kt)) <= set(range(len(KEY_TYPES)))
    assert set(np.unique(csr.slot_kind)) <= set(range(len(SLOT_KINDS)))
    assert ((db >= 0) & (db <= 255)).all() and ((csr.slot >= 0) & (csr.slot < 16)).all()
    assert np.array_equal(csr.rights, rights_mask(kt, db))
    assert np.array_equal(csr.sensory, sensory_mask(kt, db))
    ro = db[kt == KEY_TYPES.index("page")] == 0x80
    assert 0.3 < ro.mean() < 0.5  # read-only and read-write pages
    for name, kind in TARGET_KIND.items():
        targets = csr.indices[kt == KEY_TYPES.index(name)]
        assert targets.size and (csr.kind[targets] == VERTEX_KINDS.index(kind)).all(), name


def test_holders_and_slots(csr):
    src = csr.sources()
    holder_kind = np.asarray(VERTEX_KINDS)[csr.kind[src]]
    assert "page" not in set(holder_kind)
    domains = holder_kind == "domain"
    assert domains.mean() > 0.1 and (holder_kind == "node").mean() > 0.5
    names = np.asarray(SLOT_KINDS)[csr.slot_kind]
    assert set(names[domains]) == {"key_register", "meter", "address", "keeper"}
    assert set(names[~domains]) == {"slot"}
    where = (src.astype(np.int64) * 32 + csr.slot_kind) * 16 + csr.slot
    assert len(np.unique(where)) == csr.n_edges  # one key a slot
    order = (src.astype(np.int64) * csr.n_vertices + csr.indices) * 16 + csr.slot
    assert (np.diff(order) >= 0).all()  # by holder, target, slot


def test_round_trip_through_networkx():
    small = random_csr(500, 2000, seed=2)
    G = from_csr(small)
    assert same_arrays(to_csr(G), small)
    H = random_system(500, 2000, seed=2)
    assert list(H.edges(keys=True, data=True)) == list(G.edges(keys=True, data=True))


def test_too_many_keys_and_bad_arguments():
    with pytest.raises(ValueError, match="do not fit"):
        random_csr(10, 1000)
    with pytest.raises(ValueError, match="n_subjects"):
        random_csr(10, 5, n_subjects=11)
    with pytest.raises(ValueError, match="non-negative"):
        random_csr(-1, 0)
    assert random_csr(0, 0).n_vertices == 0


def test_large_is_vectorised():
    big = random_csr(200_000, 1_000_000, seed=1)
    assert big.n_edges == 1_000_000 and big.bytes_per_key < 17


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 80), per=st.floats(0, 3), seed=st.integers(0, 2**32 - 1))
def test_random_small_systems_round_trip(n, per, seed):
    csr = random_csr(n, int(n * per), seed=seed)
    G = from_csr(csr)
    assert same_arrays(to_csr(G), csr)
    for *_, d in G.edges(data=True):
        assert d["key_type"] in KEY_TYPES and d["slot_kind"] in SLOT_KINDS
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "g.json")
        write_node_link(G, path)
        H = read_node_link(path)
    assert list(H.nodes(data=True)) == list(G.nodes(data=True))
    assert list(H.edges(keys=True, data=True)) == list(G.edges(keys=True, data=True))
