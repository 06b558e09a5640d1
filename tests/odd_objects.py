"""Objects of odd classes for hostile programs to yield: each special method the kernel
might run records itself in ``hostile_kit.TOUCHED`` (and most then raise)."""

from __future__ import annotations

from hostile_kit import TOUCHED

from keykos_lab.kernel.keys import Key


def _tattler(name: str):
    def method(self, *args, **kwargs):
        TOUCHED.append(f"{type(self).__name__}.{name}")
        raise RuntimeError(f"the kernel ran {name} of a program's object")

    return method


_DUNDERS = (
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__hash__",
    "__len__",
    "__iter__",
    "__getitem__",
    "__contains__",
    "__index__",
    "__int__",
    "__float__",
    "__bool__",
    "__repr__",
    "__str__",
    "__format__",
    "__bytes__",
    "__add__",
    "__radd__",
    "__and__",
    "__rand__",
    "__or__",
    "__ror__",
    "__mul__",
    "__rmul__",
    "__rshift__",
    "__lshift__",
    "__sub__",
    "__rsub__",
    "__neg__",
)

#: Every special method records that it ran, then raises.
Tattle = type("Tattle", (), {n: _tattler(n) for n in _DUNDERS})


class Liar:
    """Equal to everything, hashes like 0, says it has four elements: records each lie."""

    def __eq__(self, other):
        TOUCHED.append("Liar.__eq__")
        return True

    def __ne__(self, other):
        TOUCHED.append("Liar.__ne__")
        return False

    def __hash__(self):
        TOUCHED.append("Liar.__hash__")
        return 0

    def __len__(self):
        TOUCHED.append("Liar.__len__")
        return 4


class TInt(int):
    """An int that reports every comparison, hash and conversion."""

    def __eq__(self, other):
        TOUCHED.append("TInt.__eq__")
        return int.__eq__(self, other)

    def __ne__(self, other):
        TOUCHED.append("TInt.__ne__")
        return int.__ne__(self, other)

    def __hash__(self):
        TOUCHED.append("TInt.__hash__")
        return int.__hash__(self)

    def __index__(self):
        TOUCHED.append("TInt.__index__")
        return int(self)

    def __and__(self, other):
        TOUCHED.append("TInt.__and__")
        raise RuntimeError("TInt.__and__")


class LyingInt(int):
    """A huge int that claims to be small in every comparison."""

    def __lt__(self, other):
        return True

    def __le__(self, other):
        return True

    def __ge__(self, other):
        return True

    def __gt__(self, other):
        return False


class KeySub(Key):
    """A Key subclass equal to (and hashing like) whatever key it is told to imitate."""

    __slots__ = ()

    def __eq__(self, other):
        TOUCHED.append("KeySub.__eq__")
        return True

    def __ne__(self, other):
        TOUCHED.append("KeySub.__ne__")
        return False

    def __hash__(self):
        TOUCHED.append("KeySub.__hash__")
        return tuple.__hash__(self)


class TupleSub(tuple):
    pass


class BytesSub(bytes):
    pass


class StrSub(str):
    pass


class ListIterLies(list):
    """Iterates as the held keys the first time, as forged keys afterwards."""

    def __iter__(self):
        TOUCHED.append("ListIterLies.__iter__")
        return iter(self.later)


class ListLenLies(list):
    def __len__(self):
        TOUCHED.append("ListLenLies.__len__")
        return 0


class ListGetLies(list):
    def __getitem__(self, i):
        TOUCHED.append("ListGetLies.__getitem__")
        return self.later[0]


class NameMeta(type):
    """A metaclass whose classes have a ``__name__`` that raises."""

    @property
    def __name__(cls):
        TOUCHED.append("NameMeta.__name__")
        raise RuntimeError("the kernel read a program class's __name__")


class OddName(metaclass=NameMeta):
    pass


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("an exception that cannot be printed")


class NotAString(Exception):
    def __str__(self):
        return 42  # type: ignore[return-value]


class NamelessError(Exception, metaclass=type("ErrMeta", (NameMeta,), {})):
    pass


class Hostile(BaseException):
    """Not an Exception: a BaseException of the program's own."""


def key5(key: Key) -> Key:
    return tuple.__new__(Key, (*key, 9))


def key3(key: Key) -> Key:
    return tuple.__new__(Key, tuple(key)[:3])


def released() -> memoryview:
    view = memoryview(b"abc")
    view.release()
    return view
