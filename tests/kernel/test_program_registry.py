"""Program names are one namespace: a second program may not take a name silently."""

import pytest

import keykos_lab as kl
from keykos_lab.kernel.process import PROGRAMS


def test_a_name_taken_by_another_program_is_refused():
    with pytest.raises(ValueError, match="'echo' is already registered .*examples"):

        @kl.program("echo")
        def impostor(dom, msg):
            yield dom.return_(msg.resume)

    assert PROGRAMS["echo"].__module__ == "keykos_lab.programs.examples"


def test_redefining_a_program_where_it_was_defined_replaces_it():
    """A notebook cell run twice defines the same function again: that is allowed."""

    def define(rc):
        @kl.program("registry-test")
        def handler(dom, msg):
            yield dom.return_(msg.resume, rc=rc)

        return handler

    first, second = define(1), define(2)
    assert PROGRAMS["registry-test"] is second is not first


def test_keynix_commands_live_beside_the_kernel_programs():
    assert "unix:echo" in PROGRAMS and PROGRAMS["unix:echo"] is not PROGRAMS["echo"]
