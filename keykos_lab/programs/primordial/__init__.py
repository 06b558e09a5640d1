"""The primordial system programs: space bank and SBT, domain creators, key-identity sets."""

from keykos_lab.programs.primordial import dc, kid, spacebank  # noqa: F401  (registers the programs)
