"""The README's examples run as printed."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def block_with(text: str) -> str:
    """The one python block of the README that contains ``text``."""
    (block,) = [b for b in python_blocks() if text in b]
    return block


def test_readme_first_session_runs(capsys):
    first = python_blocks()[0]
    exec(compile(first, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("42 b'ping' page key (rw) → page #")


def test_readme_program_example_runs():
    import keykos_lab as kl

    namespace = {"kl": kl}
    exec(compile(python_blocks()[1], "README.md", "exec"), namespace)
    k = kl.Kernel()
    con = k.console
    page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
    seg = kl.build_segment(con, [kl.image(con, "greeter"), page])
    start = kl.start_key(con, kl.build_domain(con, memory=seg))
    assert con.call(start, 0).data == b"hello #1"
    r = con.call(start, 0)
    assert (r.rc, r.data) == (2, b"hello #2")


def test_readme_factory_example_runs(capsys):
    exec(compile(block_with('build_factory(con, "echo")'), "README.md", "exec"), {})
    assert capsys.readouterr().out == "5 b'hi'\nTrue False\n"


def test_readme_analysis_example_runs(capsys):
    exec(compile(block_with("analysis.confinement(k, leaky.requestor)"), "README.md", "exec"), {})
    assert capsys.readouterr().out == "False 1 True\n['calclock', 'discrim', 'dkc', 'domain']\n"


def test_readme_real_systems_example_runs(capsys):
    exec(compile(block_with("read_microkit_text"), "README.md", "exec"), {})
    assert capsys.readouterr().out == "True True\nTrue False\n"


def test_readme_stepper_example_runs(capsys):
    block = block_with("# Step")
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.strip()
    promised = next(line for line in block.splitlines() if line.startswith("# Step"))
    assert printed == promised.removeprefix("# ")


def test_readme_keynix_example_runs(capsys):
    block = next(b for b in python_blocks() if "KeyNIX()" in b)
    exec(compile(block, "README.md", "exec"), {})
    promised = block.strip().splitlines()[-1].split("# ", 1)[1]
    assert capsys.readouterr().out.strip() == promised


def test_readme_checkpoint_example_runs(capsys):
    block = next(b for b in python_blocks() if "k.checkpoint(path)" in b)
    exec(compile(block, "README.md", "exec"), {})
    promised = block.strip().splitlines()[-1].split("# ", 1)[1]
    assert capsys.readouterr().out.strip() == promised


def test_readme_behaviour_example_runs(capsys):
    block = block_with("confused_deputy")
    exec(compile(block, "README.md", "exec"), {})
    promised = [line.split("# ", 1)[1].split("  ")[0] for line in block.splitlines()[-2:]]
    assert capsys.readouterr().out.splitlines() == promised


def test_readme_precision_table_is_what_precision_says():
    """The README's precision table, row for row, is ``analysis.precision`` now."""
    from keykos_lab import analysis
    from keykos_lab.analysis.referee import BENCHMARK
    from keykos_lab.scenarios.deputy import BENCHMARK as DEPUTY

    text = README.read_text()
    start = text.index("| scenario | static | exact |")
    rows = text[start:].splitlines()[2:]
    table = rows[: next(i for i, line in enumerate(rows) if not line.startswith("|"))]
    df = analysis.precision(benchmark=BENCHMARK | DEPUTY)
    cols = ["scenario", "static", "exact", "precision", "static_flows", "exact_flows"]
    cols += ["flow_precision", "missing", "flow_missing"]
    want = [
        "| " + " | ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in row) + " |"
        for row in df[cols].itertuples(index=False)
    ]
    assert table == want
    assert (df.missing == 0).all() and (df.flow_missing == 0).all()


def test_readme_time_travel_example_runs(capsys):
    exec(compile(block_with("capability_graph(at=before)"), "README.md", "exec"), {})
    assert capsys.readouterr().out.split() == ["False", "True"]
