"""What a recorded line refers to: a value made inside the program (``V``), an array that
lives outside it (``E``: a parameter, a tensor of the enclosing scope), or a constant
baked into it (``C``); and how two recordings of the same step are compared."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["V", "E", "C", "A", "LITERALS", "same", "describe", "params_of"]

#: values written into a program as they are (``repr`` gives them back exactly)
LITERALS = (int, float, bool, str, type(None))


class V:
    """An array made by an earlier line of the program (or an argument's array)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


class E:
    """An array that lives outside the step (a parameter's, or a tensor the step closes
    over), read by reference: its tensor, when the same one was seen twice, is guarded."""

    __slots__ = ("array", "index", "tensor")

    def __init__(self, index: int, array: Any, tensor: Any) -> None:
        self.index = index
        self.array = array
        self.tensor = tensor

    def __repr__(self) -> str:
        return f"e{self.index}"


class C:
    """A constant baked into the program: a Python object, or an array made inside the
    step by a creation function (``zeros``, ``tensor``, the ones that seed backward)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"C({self.value!r})"


class A:
    """One of the step's tensor arguments itself (e.g. a leaf whose ``.grad`` it fills)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"A{self.index}"


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    shape = getattr(a, "shape", None)
    if shape is not None and hasattr(a, "dtype"):
        if shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            ha, hb = _host(a), _host(b)
            return bool(np.array_equal(ha, hb, equal_nan=ha.dtype.kind in "fc"))
        except Exception:
            return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _host(a: Any) -> Any:
    """A numpy view or copy of an array of any backend (only while recording)."""
    if isinstance(a, np.ndarray):
        return a
    if type(a).__module__.startswith("cupy"):
        return a.get()
    inner = getattr(a, "_array", None)  # array-api-strict keeps a numpy array
    return inner if isinstance(inner, np.ndarray) else np.asarray(a)


def same(a: Any, b: Any) -> bool:
    """Whether two recorded values mean the same thing (structure, names, constants)."""
    if a.__class__ is not b.__class__:
        return False
    if isinstance(a, V):
        return a.name == b.name
    if isinstance(a, A):
        return a.index == b.index
    if isinstance(a, E):
        return a.index == b.index and a.array is b.array
    if isinstance(a, C):
        return _same_value(a.value, b.value)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, slice):
        return same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    return _same_value(a, b)


def describe(x: Any) -> str:
    """A short description of a recorded value, for a reason given to the user."""
    if isinstance(x, C):
        v = x.value
        shape = getattr(v, "shape", None)
        if shape is not None:
            return f"a constant array of shape {list(shape)}"
        return f"the constant {v!r}"[:80]
    return repr(x)[:80]


def params_of(obj: Any) -> list:
    """The tensors ``obj.zero_grad()`` zeroes (an optimizer's or a module's parameters)."""
    groups = getattr(obj, "param_groups", None)
    if groups is not None:
        return [t for g in groups for t in g["params"]]
    params = getattr(obj, "parameters", None)
    return list(params()) if params is not None else []
