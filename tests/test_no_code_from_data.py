"""No code from data: nothing in the package can turn bytes read from disk into code.

The package never uses ``pickle``, ``marshal``, ``shelve``, ``eval``, ``exec`` or
``compile`` on anything (so on nothing read from disk either). The check reads the
source's tokens, so a word in a docstring or comment does not count; an import or
a call does.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import pytest

import keykos_lab

PACKAGE = Path(keykos_lab.__file__).parent
FORBIDDEN_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "joblib",
}
FORBIDDEN_NAMES = {"eval", "exec", "compile", "__import__", "execfile"}


def offences(source: str) -> list[str]:
    """Uses of a forbidden module or builtin in ``source`` (attribute names are fine).

    >>> offences("import pickle\\nx = eval('1')\\n# eval in a comment\\n'exec in a string'")
    ['1: pickle', '2: eval']
    >>> offences("re.compile('x')")
    []
    """
    out = []
    prev = ""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and (
            tok.string in FORBIDDEN_MODULES or (tok.string in FORBIDDEN_NAMES and prev != ".")
        ):
            out.append(f"{tok.start[0]}: {tok.string}")
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            prev = tok.string
    return out


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_pickle_marshal_eval_exec(path):
    found = offences(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(PACKAGE)} uses code-from-data facilities: {found}"


def test_the_check_finds_offences():
    assert offences("import pickle as p\n") == ["1: pickle"]
    assert offences("y = exec(s)\n") == ["1: exec"]
    assert offences("getattr(__builtins__, 'eval')\n") == []  # (not a name token)
    assert offences("pattern.compile\n") == []
    assert len(SOURCES) > 20


def test_checkpoints_are_plain_json_and_name_their_programs(tmp_path):
    import json

    k = keykos_lab.Kernel()
    path = tmp_path / "k.ckpt"
    header = k.checkpoint(path)
    head, body = path.read_bytes().split(b"\n", 1)
    assert json.loads(head) == header and isinstance(json.loads(body), dict)
    assert "spacebank" in header["programs"]
