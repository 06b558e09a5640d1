"""Conformance to the KeyKOS C release, order code by order code (issue 18).

One module per key type, as ``keykos_lab/kernel/orders/`` and the C release's
``Base/j*.c`` have; every test names the C file and line it checks, or the row of
docs/fidelity.md that declares the simulator's departure. (A package, so that its
modules' names do not clash with tests/kernel's.)
"""
