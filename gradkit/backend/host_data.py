"""Checking and converting Python data (numbers, nested lists, numpy arrays) on the host.

``gradkit.tensor(data)`` lands here before the one upload to its device, so
that ragged lists, strings and objects fail with a message that says where.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import DTYPES, dtype, get_default_dtype

__all__ = ["host_array", "is_numpy_array", "numpy_dtype", "SUPPORTED_NUMPY"]

SUPPORTED_NUMPY = ", ".join(f"numpy.{n}" for n in ("float64", "float32", "int64", "int32", "bool"))


def is_numpy_array(x: Any) -> bool:
    return isinstance(x, np.ndarray)


def is_host_value(x: Any) -> bool:
    """A numpy array or numpy scalar: host data, whatever ``__array_namespace__`` says."""
    return isinstance(x, (np.ndarray, np.generic))


def numpy_dtype(arr: np.ndarray) -> dtype:
    """The gradkit dtype of a numpy array, or PyTorch's TypeError for unsupported ones."""
    if arr.dtype.name in DTYPES:
        return DTYPES[arr.dtype.name]
    raise TypeError(
        f"can't convert np.ndarray of type numpy.{arr.dtype.name}. The only supported types "
        f"are: {SUPPORTED_NUMPY}."
    )


def _ragged_message(data: Any) -> str:
    """Where nested lists stop being rectangular, in PyTorch's words."""
    shape: list[int] = []
    probe = data
    while isinstance(probe, (list, tuple)):
        shape.append(len(probe))
        probe = probe[0] if len(probe) else None

    def walk(seq: Any, dim: int) -> str | None:
        if dim >= len(shape):
            if isinstance(seq, (list, tuple)):
                return f"expected a number at dim {dim} but got a sequence of length {len(seq)}"
            return None
        if not isinstance(seq, (list, tuple)):
            return f"expected a sequence at dim {dim} but got a number ({seq!r})"
        if len(seq) != shape[dim]:
            return f"expected sequence of length {shape[dim]} at dim {dim} (got {len(seq)})"
        for item in seq:
            r = walk(item, dim + 1)
            if r:
                return r
        return None

    return walk(data, 0) or "the nested sequences are not rectangular"


def host_array(data: Any, d: dtype | None) -> tuple[np.ndarray, dtype]:
    """Python data or a numpy array as a checked numpy array, and the dtype it will have.

    Python floats give the default dtype, ints int64, bools bool; numpy
    arrays keep their dtype.
    """
    if isinstance(data, np.ndarray):
        return data, d if d is not None else numpy_dtype(data)
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type 'str' ({data!r}); tensors hold numbers")
    try:
        arr = np.asarray(data)
    except ValueError as e:
        msg = str(e)
        if "inhomogeneous" in msg or "sequence" in msg:
            raise ValueError(
                f"can't make a tensor from ragged data: {_ragged_message(data)}"
            ) from None
        raise
    kind = arr.dtype.kind
    if kind in "USa":
        raise TypeError(
            "new(): invalid data type 'str': tensors hold numbers; convert the strings first"
        )
    if kind == "O":
        bad = next(
            (x for x in arr.reshape(-1) if not isinstance(x, (int, float, bool))), arr.flat[0]
        )
        raise TypeError(
            f"can't make a tensor from objects of type {type(bad).__name__} ({bad!r}); give "
            "numbers, nested lists of numbers, or arrays"
        )
    if kind == "c":
        raise TypeError("complex numbers are not supported")
    if d is None:
        if kind == "f":
            d = get_default_dtype() if not isinstance(data, np.generic) else numpy_dtype(arr)
        elif kind == "b":
            d = DTYPES["bool"]
        elif kind in "iu":
            d = DTYPES["int64"]
        else:
            d = numpy_dtype(arr)
    return arr, d
