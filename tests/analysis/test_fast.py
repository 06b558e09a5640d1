"""The fast engine equals the reference: authority and flows, on generated systems."""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import keykos_lab as kl
from keykos_lab import analysis
from keykos_lab.analysis.convert import KEY_TYPES, to_csr
from keykos_lab.analysis.fast import FastAuthority

CODE = {name: i for i, name in enumerate(KEY_TYPES)}


def reference_keys(closure, csr, subject):
    return {(csr.index_of(t), CODE[kt], db) for t, kt, db in closure.held(subject)}


systems = st.tuples(
    # (density ≤ 5 keys an object: 6 does not always fit a small system's slots)
    st.integers(10, 120),
    st.integers(1, 5),
    st.integers(0, 10_000),
    st.integers(1, 12),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems)
@example((38, 1, 476, 8))  # two groups fetching from one that holds no start key: not joined
def test_authority_equals_the_reference(params):
    n, density, seed, subjects = params
    G = analysis.random_system(n, n * density, seed=seed, n_subjects=min(subjects, n // 2))
    csr = to_csr(G)
    closure = analysis.Closure(G)
    engine = FastAuthority(csr)
    for s in (v for v in G if G.nodes[v]["kind"] == "domain"):
        fast = {tuple(row) for row in engine.authority(csr.index_of(s)).tolist()}
        assert fast == reference_keys(closure, csr, s), (seed, s)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems)
def test_flows_equal_the_reference(params):
    n, density, seed, subjects = params
    G = analysis.random_system(n, n * density, seed=seed, n_subjects=min(subjects, n // 2))
    domains = [v for v in G if G.nodes[v]["kind"] == "domain"]
    reference = analysis.flows(G, domains, engine="reference")
    fast = analysis.flows(to_csr(G), domains)
    assert reference.equals(fast)


def test_frames_through_the_public_api():
    G = analysis.random_system(300, 1_200, seed=4)
    csr = to_csr(G)
    s = next(v for v in G if G.nodes[v]["kind"] == "domain")
    ref = analysis.authority(G, s)
    fast = analysis.authority(csr, s)  # auto: arrays go to the fast engine
    assert analysis.authority(G, s, engine="csr").shape == fast.shape
    key = ["target", "key_type", "databyte"]
    assert set(map(tuple, ref[key].astype({"key_type": str}).to_numpy().tolist())) == set(
        map(tuple, fast[key].astype({"key_type": str}).to_numpy().tolist())
    )
    merged = ref.merge(fast.astype({"key_type": str}), on=key)
    assert (merged.rights_x == merged.rights_y).all() and (
        merged.sensory_x == merged.sensory_y
    ).all()
    assert fast.via.isna().all() and ref.via.map(len).gt(0).all()
    with pytest.raises(ValueError, match="engine"):
        analysis.authority(G, s, engine="quick")


def test_the_free_engine_refuses_system_programs_and_the_api_picks_the_booted_one():
    k = kl.Kernel()
    G = k.capability_graph()
    with pytest.raises(ValueError, match="BootedAuthority"):
        FastAuthority(to_csr(G))
    a = analysis.authority(G, k.console.root, engine="csr")  # fast_booted.BootedAuthority
    assert (a.target == ("new", k.console.target(k.console["bank"]), k.console.root)).any()
    with pytest.raises(ValueError, match="networkx"):
        analysis.authority(to_csr(analysis.random_system(50, 100)), 0, engine="reference")


def test_a_large_system_in_seconds():
    csr = analysis.random_csr(100_000, 500_000, seed=2)
    engine = FastAuthority(csr)
    domains = np.flatnonzero(csr.kind == 0)
    keys = engine.authority(int(domains[0]))
    m = engine.flows(domains[:20])
    assert len(keys) > 0 and m.shape == (20, 20) and m.diagonal().all()
