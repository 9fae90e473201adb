"""gradkit's dtypes and the default floating dtype.

A ``dtype`` is a small named value; each array namespace maps it to its own
dtype object (``ArrayBackend.native_dtype``).  PyTorch's promotion rules are
applied where ops meet their arrays, in ``gradkit/ops/``.
"""

from __future__ import annotations

import builtins

__all__ = [
    "dtype",
    "float32",
    "float64",
    "int64",
    "int32",
    "bool_",
    "get_default_dtype",
    "set_default_dtype",
    "DTYPES",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type (``gradkit.float32``, ``gradkit.int64``, ...)."""

    __slots__ = ("itemsize", "kind", "name")

    def __init__(self, name: str, kind: int, itemsize: int) -> None:
        self.name = name
        self.kind = kind
        self.itemsize = itemsize

    @property
    def is_floating_point(self) -> builtins.bool:
        return self.kind == _FLOAT

    def __repr__(self) -> str:
        return f"gradkit.{self.name}"

    def __reduce__(self):  # pickle as the module-level singleton
        return (_by_name, (self.name,))


float32 = dtype("float32", _FLOAT, 4)
float64 = dtype("float64", _FLOAT, 8)
int64 = dtype("int64", _INT, 8)
int32 = dtype("int32", _INT, 4)
bool_ = dtype("bool", _BOOL, 1)

DTYPES: dict[str, dtype] = {d.name: d for d in (float32, float64, int64, int32, bool_)}

_ALIASES = {
    "float": float32,
    "double": float64,
    "long": int64,
    "int": int32,
    "float32": float32,
    "float64": float64,
    "int64": int64,
    "int32": int32,
    "bool": bool_,
}


def _by_name(name: str) -> dtype:
    return DTYPES[name]


class _Default:
    float_dtype = float32


def get_default_dtype() -> dtype:
    """The dtype of floating tensors made from Python floats (float32 unless changed)."""
    return _Default.float_dtype


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float32 or float64), as ``torch.set_default_dtype``."""
    d = as_dtype(d)
    if d.kind != _FLOAT:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _Default.float_dtype = d


def as_dtype(d) -> dtype:
    """Accept a gradkit dtype, a name (``"float32"``) or a Python type (``float``)."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return get_default_dtype()
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    if isinstance(d, str) and d in _ALIASES:
        return _ALIASES[d]
    raise TypeError(
        f"unknown dtype {d!r}; use one of gradkit.float32, gradkit.float64, "
        "gradkit.int64, gradkit.int32, gradkit.bool"
    )
