"""Shared fixtures: a fresh booted kernel and its console."""

import pytest

import keykos_lab as kl


@pytest.fixture
def k():
    return kl.Kernel()


@pytest.fixture
def con(k):
    return k.console
