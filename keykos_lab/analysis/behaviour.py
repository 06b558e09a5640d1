"""What a trusted domain does: the vocabulary of declared behaviours
(docs/analyses.md#analyses-declared-behaviour).

Every domain is treated as acting as freely as its keys allow, unless the researcher says
otherwise. A declaration narrows what the analyses assume a domain does with its keys,
in the spirit of SCOLL and Scollar (Spiessens, *Patterns of Safe Collaboration*, 2007),
where a program's behaviour is a small set of rules about what it passes on and uses. The
terms, combinable:

``keeps_keys``
    never passes a key on: no message it sends carries a key, none is stored anywhere
    (a CALL's resume key, which the kernel makes, is not one it passes);
``passes_received``
    passes on only keys it received in the message it is serving;
``data_only``
    answers only with data: a message through a resume key carries no key;
``caller_keys``
    acts for its callers only through keys they supplied in the message it is serving,
    and through the keys in its ``own`` key registers, which it uses on its own account
    (a compiler's billing file): any other invocation that could change something (a
    write, a store, a call to a program) — or a write to its own memory — is not allowed.
    The caller's data choosing *which* of its ``own`` keys is written counts as a
    violation too.

A declaration is checked, not trusted: :func:`.referee.explore` runs the real program
with ``behaviour=`` and reports every action the declaration does not allow (its
``attrs["violations"]``).

>>> b = Behaviour.parse(("keeps_keys", "caller_keys"), own=[5])
>>> sorted(b.terms), sorted(b.own)
(['caller_keys', 'keeps_keys'], [5])
>>> Behaviour.parse("data_only").answers_with_keys
False
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

#: The terms, each with the sentence the docs give it.
TERMS: dict[str, str] = {
    "keeps_keys": "never passes keys on",
    "passes_received": "passes on only keys it received in the same message",
    "data_only": "answers only with data",
    "caller_keys": "writes only through keys its caller supplied (and its own registers)",
}
KEY_REGISTERS = 16
#: What a list of terms or registers may be: finite containers, never an iterator (an endless
#: generator would hang the parse).
_CONTAINERS = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class Behaviour:
    """A declared behaviour: a set of :data:`TERMS` and, for ``caller_keys``, the key
    registers (0–15) whose keys the domain uses on its own account.

    >>> Behaviour.parse(["passes_received"]).passes_any
    False
    >>> Behaviour.parse("nonsense")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown behaviour term 'nonsense'; the terms are caller_keys, data_only, ...
    """

    terms: frozenset[str]
    own: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """A behaviour made directly is checked as :meth:`parse` checks one."""
        if type(self.terms) is not frozenset or type(self.own) is not frozenset:
            raise TypeError(
                "Behaviour(terms, own) takes two frozensets; Behaviour.parse takes terms"
            )
        _check_terms(list(self.terms))
        _registers(self.own)
        if self.own and "caller_keys" not in self.terms:
            raise ValueError("own registers mean something only with 'caller_keys'")

    @classmethod
    def parse(cls, spec: object, *, own: Iterable[int] = ()) -> Behaviour:
        """A behaviour from a term, a list, tuple or set of terms, or a :class:`Behaviour`
        (whose ``own`` registers are kept, with ``own`` added)."""
        if isinstance(spec, Behaviour):
            return cls(spec.terms, spec.own | _registers(own))
        if isinstance(spec, str):
            names: list[object] = [spec]
        elif isinstance(spec, _CONTAINERS):  # never a generator: it could be endless
            names = list(spec)
        else:
            raise TypeError(
                "a behaviour is a term, a list, tuple or set of terms, or a Behaviour, "
                f"not {type(spec).__name__}"
            )
        _check_terms(names)
        return cls(frozenset(str(n) for n in names), _registers(own))

    @property
    def passes_any(self) -> bool:
        """Whether messages it sends (calls and stores) may carry keys it did not receive
        in the message it is serving."""
        return not self.terms & {"keeps_keys", "passes_received"}

    @property
    def passes_received(self) -> bool:
        """Whether it may pass on keys it received in the message it is serving."""
        return "keeps_keys" not in self.terms

    @property
    def answers_with_keys(self) -> bool:
        """Whether an answer (through a resume key) may carry a key at all."""
        return not self.terms & {"keeps_keys", "data_only"}

    @property
    def acts_for_callers(self) -> bool:
        """Whether a caller can have it use its own keys (no ``caller_keys``)."""
        return "caller_keys" not in self.terms


def _check_terms(names: list[object]) -> None:
    for name in names:
        if not isinstance(name, str) or name not in TERMS:
            raise ValueError(
                f"unknown behaviour term {name!r}; the terms are {', '.join(sorted(TERMS))}"
            )
    if not names:
        raise ValueError("a behaviour names at least one term (none: leave the domain out)")


def _registers(own: Iterable[int]) -> frozenset[int]:
    if not isinstance(own, _CONTAINERS):
        raise TypeError(
            f"own is a list, tuple or set of key register numbers, not {type(own).__name__}"
        )
    out = set()
    for r in own:
        if type(r) is not int or not 0 <= r < KEY_REGISTERS:
            raise ValueError(f"an own register is a key register number 0-15, not {r!r}")
        out.add(r)
    return frozenset(out)


def declared(
    G: nx.MultiDiGraph, behaviour: Mapping[Hashable, object] | None
) -> dict[Hashable, Behaviour]:
    """Parse ``{vertex: spec}`` once into :class:`Behaviour` values, checking that every
    vertex is a domain of ``G`` that runs its own code (not a system program, whose
    behaviour is modelled already).

    >>> G = nx.MultiDiGraph(); G.add_node("d", kind="domain"); G.add_node(3, kind="page")
    >>> declared(G, {"d": "keeps_keys"})["d"].terms
    frozenset({'keeps_keys'})
    >>> declared(G, {3: "keeps_keys"})
    Traceback (most recent call last):
    ...
    ValueError: behaviour is declared for domains; 3 is a page
    """
    if not behaviour:
        return {}
    if not isinstance(behaviour, Mapping):
        raise TypeError(f"behaviour is a mapping {{vertex: terms}}, not {type(behaviour).__name__}")
    from keykos_lab.analysis.model import behaviour as role

    out: dict[Hashable, Behaviour] = {}
    for v, spec in behaviour.items():
        if isinstance(v, bool):
            raise ValueError(f"behaviour declared for {v!r}: a vertex, not a truth value")
        if isinstance(v, numbers.Integral) and not isinstance(v, int):
            v = int(v)  # a numpy integer, as read from a frame: the graph's own int
        if v not in G:
            raise ValueError(f"behaviour declared for {v!r}, which is not a vertex of the graph")
        kind = G.nodes[v].get("kind")
        if kind != "domain":
            raise ValueError(f"behaviour is declared for domains; {v!r} is a {kind or 'vertex'}")
        if role(G, v) != "free":
            raise ValueError(
                f"{v!r} runs a system program, whose behaviour the analyses model already"
            )
        out[v] = Behaviour.parse(spec)
    return out


def without(
    behaviour: Mapping[Hashable, object] | None, subject: Hashable
) -> dict[Hashable, object]:
    """``behaviour`` less the declaration for ``subject``: the analyses ask what a subject
    can do as it likes.

    >>> without({"a": "keeps_keys", "b": "data_only"}, "a")
    {'b': 'data_only'}
    """
    if behaviour is None:
        return {}
    if not isinstance(behaviour, Mapping):
        raise TypeError(f"behaviour is a mapping {{vertex: terms}}, not {type(behaviour).__name__}")
    return {v: b for v, b in behaviour.items() if v != subject}
