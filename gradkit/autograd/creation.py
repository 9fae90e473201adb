"""Creating tensors: ``tensor``, ``zeros``, ``randn``, ``arange``, ``from_numpy``, ...

Python data is checked on the host by ``backend/host_data.py``, then uploaded
once to the requested device; everything else is made on the device itself.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from ..backend import (
    DTYPES,
    ArrayBackend,
    as_dtype,
    backend_of_array,
    dtype,
    get_backend,
    get_default_dtype,
)
from ..backend.host_data import host_array, is_host_value, is_numpy_array, numpy_dtype
from .tensor import Tensor, new_tensor

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "scalar_tensor",
    "zeros",
    "ones",
    "empty",
    "full",
    "eye",
    "rand",
    "randn",
    "randint",
    "randperm",
    "arange",
    "linspace",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "rand_like",
    "randn_like",
]


def _finish(data: Any, be: ArrayBackend, requires_grad: bool) -> Tensor:
    t = new_tensor(data, be)
    if requires_grad:
        t.requires_grad = True  # checks the dtype
    return t


def _shape(size: tuple) -> tuple[int, ...]:
    """``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros([2, 3])`` and ``zeros(x.shape)`` alike."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        try:
            if isinstance(s, bool):
                raise TypeError
            s = operator.index(s)
        except TypeError:
            raise TypeError(
                f"sizes must be integers, got {s!r} ({type(s).__name__}) in size {size!r}"
            ) from None
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(s)
    return tuple(out)


def tensor(
    data: Any,
    dtype: dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays or tensors).

    Python floats give the default dtype (float32), ints int64, bools bool; a
    numpy array keeps its dtype.
    """
    dt = as_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        src = data.detach()
        be = get_backend(device) if device is not None else src._be
        out = src.to(device=be.device, dtype=dt or src.dtype, copy=True)
        return _finish(out._data, be, requires_grad)
    if not is_host_value(data) and (
        hasattr(data, "__array_namespace__") or type(data).__module__.startswith("cupy")
    ):
        src_be = backend_of_array(data)
        t = new_tensor(data, src_be)
        be = get_backend(device) if device is not None else src_be
        out = t.to(device=be.device, dtype=dt or src_be.dtype_of(data), copy=True)
        return _finish(out._data, be, requires_grad)
    be = get_backend(device)
    host, dt = host_array(data, dt)
    if host.dtype.name != dt.name or not is_numpy_array(data):
        host = host.astype(dt.name)
    else:
        host = host.copy()
    return _finish(be.from_host(host, dt), be, requires_grad)


def as_tensor(data: Any, dtype: dtype | None = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is one of the right kind."""
    if isinstance(data, Tensor):
        if (dtype is None or as_dtype(dtype) is data.dtype) and (
            device is None or get_backend(device) is data._be
        ):
            return data
        return data.to(device=device or data.device, dtype=dtype or data.dtype)
    if is_numpy_array(data) and device in (None, "cpu") and dtype is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: Any) -> Tensor:
    """A cpu tensor sharing memory with ``ndarray`` (changes show in both)."""
    if not is_numpy_array(ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    numpy_dtype(ndarray)  # raises for unsupported dtypes
    return new_tensor(ndarray, get_backend("cpu"))


def scalar_tensor(
    s: Any, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A 0-d tensor of the number ``s`` (float32 unless ``dtype`` says otherwise)."""
    if isinstance(s, Tensor):
        s = s.item()
    return tensor(
        float(s) if dtype is None else s, dtype=dtype, device=device, requires_grad=requires_grad
    )


def _filled(
    kind: str, size: tuple, dtype: Any, device: Any, requires_grad: bool, value: Any = None
) -> Tensor:
    shape = _shape(size)
    be = get_backend(device)
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    if kind == "zeros":
        data = be.zeros(shape, dt)
    elif kind == "ones":
        data = be.ones(shape, dt)
    elif kind == "empty":
        data = be.empty(shape, dt)
    else:
        data = be.full(shape, value, dt)
    return _finish(data, be, requires_grad)


def zeros(
    *size: Any, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros of the given shape."""
    return _filled("zeros", size, dtype, device, requires_grad)


def ones(
    *size: Any, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones of the given shape."""
    return _filled("ones", size, dtype, device, requires_grad)


def empty(
    *size: Any, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor of the given shape."""
    return _filled("empty", size, dtype, device, requires_grad)


def full(
    size: Sequence[int],
    fill_value: Any,
    dtype: dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``fill_value``; its dtype follows the value when not given."""
    if dtype is None:
        dtype = (
            DTYPES["bool"]
            if isinstance(fill_value, bool)
            else DTYPES["int64"]
            if isinstance(fill_value, int)
            else get_default_dtype()
        )
    return _filled("full", (tuple(size),), dtype, device, requires_grad, fill_value)


def eye(
    n: int,
    m: int | None = None,
    dtype: dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The identity matrix (n x m)."""
    be = get_backend(device)
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    data = be.xp.eye(n, m, dtype=be.native_dtype(dt), device=be.native)
    return _finish(data, be, requires_grad)


def _float_dtype(dtype: Any, what: str) -> dtype:
    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    if not dt.is_floating_point:
        raise TypeError(f"{what} supports floating dtypes only, got {dt}")
    return dt


def rand(
    *size: Any, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uniform random numbers in [0, 1) from the device's seeded generator."""
    be = get_backend(device)
    return _finish(be.uniform(_shape(size), _float_dtype(dtype, "rand")), be, requires_grad)


def randn(
    *size: Any, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal random numbers from the device's seeded generator."""
    be = get_backend(device)
    return _finish(
        be.standard_normal(_shape(size), _float_dtype(dtype, "randn")), be, requires_grad
    )


def randint(
    low: int,
    high: int | None = None,
    size: Sequence[int] = (),
    *,
    dtype: dtype | None = None,
    device: Any = None,
) -> Tensor:
    """Random integers in [low, high) (``randint(high, size)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    be = get_backend(device)
    data = be.integers(int(low), int(high), _shape((tuple(size),)))
    t = new_tensor(data, be)
    return t.to(dtype=as_dtype(dtype)) if dtype is not None else t


def randperm(n: int, *, dtype: dtype | None = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n-1."""
    be = get_backend(device)
    t = new_tensor(be.permutation(int(n)), be)
    return t.to(dtype=as_dtype(dtype)) if dtype is not None else t


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 if all are ints."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if dtype is None:
        dt = DTYPES["int64"] if all(isinstance(v, int) for v in vals) else get_default_dtype()
    else:
        dt = as_dtype(dtype)
    if vals[2] == 0:
        raise RuntimeError("arange: step must be nonzero")
    be = get_backend(device)
    return _finish(be.arange(vals[0], vals[1], vals[2], dt), be, requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    be = get_backend(device)
    dt = _float_dtype(dtype, "linspace")
    data = be.xp.linspace(start, end, steps, dtype=be.native_dtype(dt), device=be.native)
    return _finish(data, be, requires_grad)


def _like(
    kind: str, t: Tensor, dtype: Any, device: Any, requires_grad: bool, value: Any = None
) -> Tensor:
    dt = as_dtype(dtype) if dtype is not None else t.dtype
    dev = device if device is not None else t.device
    if kind == "rand":
        return rand(*t.shape, dtype=dt, device=dev, requires_grad=requires_grad)
    if kind == "randn":
        return randn(*t.shape, dtype=dt, device=dev, requires_grad=requires_grad)
    return _filled(kind, (tuple(t.shape),), dt, dev, requires_grad, value)


def zeros_like(
    input: Tensor, *, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Zeros with the shape (and by default dtype and device) of ``input``."""
    return _like("zeros", input, dtype, device, requires_grad)


def ones_like(
    input: Tensor, *, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Ones with the shape (and by default dtype and device) of ``input``."""
    return _like("ones", input, dtype, device, requires_grad)


def empty_like(
    input: Tensor, *, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor shaped like ``input``."""
    return _like("empty", input, dtype, device, requires_grad)


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` everywhere, shaped like ``input``."""
    return _like("full", input, dtype, device, requires_grad, fill_value)


def rand_like(
    input: Tensor, *, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uniform random numbers shaped like ``input``."""
    return _like("rand", input, dtype, device, requires_grad)


def randn_like(
    input: Tensor, *, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal random numbers shaped like ``input``."""
    return _like("randn", input, dtype, device, requires_grad)
