"""Plot tests draw on the Agg backend (no display) and close every figure they open."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import keykos_lab as kl  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def factory_run():
    """A kernel after one factory request: (kernel, factory keys, first seq of the request)."""
    k = kl.Kernel()
    con = k.console
    f = kl.build_factory(con, "echo")
    first = len(k.events())
    r = con.call(f.requestor, 7, con["bank"], con["meter"], data=b"hi")
    assert r.rc == 7
    return k, f, first
