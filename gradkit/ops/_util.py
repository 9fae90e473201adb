"""Helpers the op families share: PyTorch's promotion on arrays, and turning arguments
(tensors, Python numbers, dims) into what forwards take."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend import get_default_dtype

__all__ = [
    "is_float",
    "promote",
    "scalar_operand",
    "as_operand",
    "wrap_dim",
    "norm_dims",
    "float_dtype",
    "to_float",
]


def float_dtype(xp: Any) -> Any:
    """The namespace's dtype for the default float (float32 unless changed)."""
    return getattr(xp, get_default_dtype().name)


_FLOAT_CACHE: dict[Any, dict[Any, bool]] = {}


def is_float(xp: Any, dt: Any) -> bool:
    """``xp.isdtype(dt, "real floating")``, cached per namespace (numpy's isdtype costs
    microseconds, and dtypes of different libraries must not be compared)."""
    cache = _FLOAT_CACHE.get(xp)
    if cache is None:
        cache = _FLOAT_CACHE[xp] = {}
    r = cache.get(dt)
    if r is None:
        r = cache[dt] = bool(xp.isdtype(dt, "real floating"))
    return r


def to_float(xp: Any, a: Any) -> Any:
    """``a`` itself if it is floating, else ``a`` in the default float dtype (PyTorch's
    float-valued functions of int and bool tensors: exp, log, sigmoid, ...)."""
    return a if is_float(xp, a.dtype) else xp.astype(a, float_dtype(xp))


def promote(xp: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """Two arrays cast to their PyTorch result dtype: an int with a float gives the float;
    of two floats (or two ints) the wider, unless one is 0-d and the other is not, which
    keeps the other's (float32 * float64 0-d is float32)."""
    da, db = a.dtype, b.dtype
    if da is db or da == db:
        return a, b
    fa, fb = is_float(xp, da), is_float(xp, db)
    if fa != fb:
        t = da if fa else db
    elif da == xp.bool or db == xp.bool:
        t = db if da == xp.bool else da
    elif a.ndim == 0 and b.ndim:  # same kind: a 0-d tensor counts as a number does
        t = db
    elif b.ndim == 0 and a.ndim:
        t = da
    else:
        t = xp.result_type(da, db)
    return (a if da == t else xp.astype(a, t)), (b if db == t else xp.astype(b, t))


def scalar_operand(xp: Any, a: Any, s: Any) -> tuple[Any, Any]:
    """An array and a Python number, made compatible as PyTorch does: the number never
    widens a float array, but a float number turns an int array into the default float."""
    if s.__class__ is float:
        if not is_float(xp, a.dtype):
            a = xp.astype(a, float_dtype(xp))
        return a, s
    if s.__class__ is bool:
        if a.dtype == xp.bool:
            return a, s
        s = int(s)
    if a.dtype == xp.bool:
        a = xp.astype(a, xp.int64)
    return a, s


def operands(xp: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """Promote a pair of forward arguments, either of which may be a Python number."""
    cb = b.__class__
    if cb is float:
        if is_float(xp, a.dtype):
            return a, b
        return scalar_operand(xp, a, b)
    if a.__class__ in _PY_NUMBERS:
        b, a = scalar_operand(xp, b, a)
        return a, b
    if cb in _PY_NUMBERS:
        return scalar_operand(xp, a, b)
    da, db = a.dtype, b.dtype
    if da is db or da == db:
        return a, b
    return promote(xp, a, b)


_PY_NUMBERS = (int, float, bool)


def as_operand(x: Any) -> Any:
    """A Tensor as is; a Python or numpy number as a plain Python number."""
    if isinstance(x, Tensor) or x.__class__ in _PY_NUMBERS:
        return x
    if isinstance(x, float):  # numpy.float64 subclasses float
        return float(x)
    item = getattr(x, "item", None)
    if item is not None and getattr(x, "ndim", 0) == 0 and not hasattr(x, "__array_namespace__"):
        return item()
    raise TypeError(
        f"unsupported operand of type {type(x).__name__}; use a Tensor or a Python number "
        "(wrap arrays with gradkit.tensor())"
    )


def wrap_dim(dim: int, ndim: int) -> int:
    """A dimension index in [0, ndim), PyTorch's IndexError otherwise."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim


def norm_dims(dim: Any, ndim: int) -> tuple[int, ...] | None:
    """``dim`` (None, an int, or a sequence) as a sorted tuple of non-negative dims."""
    if dim is None:
        return None
    if isinstance(dim, int):
        return (wrap_dim(dim, ndim),)
    dims = tuple(sorted({wrap_dim(d, ndim) for d in dim}))
    return dims


def _torch_dtype_name(dt: Any) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}.get(
        dt.name, dt.name.capitalize()
    )


def with_out(fn: Any, name: str) -> Any:
    """``fn`` with PyTorch's ``out=`` keyword: the result written into ``out`` (resized,
    with PyTorch's warning, when its shape differs), ``out`` returned; refused when
    autograd would have to record it."""
    import functools
    import warnings

    from ..autograd.grad_mode import MODE, no_grad

    @functools.wraps(fn)
    def wrapper(*args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
        if out is None:
            return fn(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        if MODE.enabled and any(
            isinstance(a, Tensor) and a.requires_grad for a in (*args, out, *kwargs.values())
        ):
            raise RuntimeError(
                f"{name}(): functions with out=... arguments don't support automatic "
                "differentiation, but one of the arguments requires grad."
            )
        with no_grad():
            res = fn(*args, **kwargs)
        if res._be is not out._be:
            raise RuntimeError(
                f"Expected out tensor to have device {res.device}, but got {out.device} "
                f"instead (in {name}); allocate out on {res.device}"
            )
        if res.dtype.is_floating_point and not out.dtype.is_floating_point:
            raise RuntimeError(
                f"result type {_torch_dtype_name(res.dtype)} can't be cast to the desired output "
                f"type {_torch_dtype_name(out.dtype)}"
            )
        xp = out._be.xp
        data = res._data
        if data.dtype != out._data.dtype:
            data = xp.astype(data, out._data.dtype)
        if tuple(out.shape) == tuple(res.shape):
            out._data[...] = data
        else:
            if out.numel() != 0:
                warnings.warn(
                    f"An output with one or more elements was resized since it had shape "
                    f"{list(out.shape)}, which does not match the required output shape "
                    f"{list(res.shape)}. This behavior is deprecated, and in a future PyTorch "
                    "release outputs will not be resized unless they have zero elements. You "
                    "can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                    "elements with t.resize_(0).",
                    UserWarning,
                    stacklevel=2,
                )
            out._data = out._be.copy(data) if data is res._data else data
        out._bump_version()
        return out

    return wrapper
