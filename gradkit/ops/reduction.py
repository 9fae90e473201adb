"""Reductions: sum, mean, norm, max/min (whole tensor or along a dim, with indices),
argmax/argmin, all/any.  Backward spreads the gradient back over the reduced
dimensions (a broadcast, not a copy)."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

from ..autograd.function import Op
from ..autograd.tensor import Tensor, new_tensor
from ._util import norm_dims, wrap_dim

__all__ = [
    "sum",
    "mean",
    "norm",
    "max",
    "min",
    "argmax",
    "argmin",
    "all",
    "any",
]

return_max = namedtuple("max", ["values", "indices"])
return_min = namedtuple("min", ["values", "indices"])


def _kept_shape(shape: tuple, dims: tuple | None) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _spread(xp, g, shape, dims, keepdim):
    """The gradient of a reduction, broadcast back to the input's shape."""
    if not keepdim and dims is not None and len(shape):  # a full reduction's 0-d g broadcasts as is
        g = xp.reshape(g, _kept_shape(shape, dims))
    return xp.broadcast_to(g, shape)


class Sum(Op):
    node_name = "SumBackward0"

    @staticmethod
    def forward(ctx, a, dims=None, keepdim=False):
        xp = ctx.xp
        if a.dtype == xp.bool:
            a = xp.astype(a, xp.int64)
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        return xp.sum(a, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return (_spread(ctx.xp, g, ctx.shape, ctx.dims, ctx.keepdim),)


class SumDim(Sum):
    node_name = "SumBackward1"


class Mean(Op):
    node_name = "MeanBackward0"

    @staticmethod
    def forward(ctx, a, dims=None, keepdim=False):
        xp = ctx.xp
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        n = 1
        for i, s in enumerate(a.shape):
            if dims is None or i in dims:
                n *= s
        ctx.n = n
        return xp.mean(a, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return (_spread(ctx.xp, g / ctx.n, ctx.shape, ctx.dims, ctx.keepdim),)


class MeanDim(Mean):
    node_name = "MeanBackward1"


class Norm(Op):
    """The p-norm over all elements or along dims: ``sum(|a|**p) ** (1/p)``; p = inf is
    max |a| (ties share the gradient), p = 0 counts non-zeros (no gradient).  The
    gradient is 0 where the norm is 0, as in PyTorch."""

    node_name = "LinalgVectorNormBackward0"
    fp_quiet = True  # |a| ** (p - 2) at a = 0

    @staticmethod
    def forward(ctx, a, p=2.0, dims=None, keepdim=False):
        xp = ctx.xp
        ctx.shape, ctx.dims, ctx.keepdim, ctx.p = a.shape, dims, keepdim, p
        if p == 2:
            out = xp.sqrt(xp.sum(a * a, axis=dims, keepdims=keepdim))
        elif p == 1:
            out = xp.sum(xp.abs(a), axis=dims, keepdims=keepdim)
        elif p == math.inf:
            out = xp.max(xp.abs(a), axis=dims, keepdims=keepdim)
        elif p == -math.inf:
            out = xp.min(xp.abs(a), axis=dims, keepdims=keepdim)
        elif p == 0:
            out = xp.sum(xp.astype(a != 0, a.dtype), axis=dims, keepdims=keepdim)
        else:
            out = xp.sum(xp.abs(a) ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)
        ctx.saved = (a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        a, out = ctx.saved
        p = ctx.p
        if p == 0:
            return (xp.zeros_like(a),)
        g = _spread(xp, g, ctx.shape, ctx.dims, ctx.keepdim)
        out = _spread(xp, out, ctx.shape, ctx.dims, ctx.keepdim)
        if p == 1:
            return (g * xp.sign(a),)
        if p in (math.inf, -math.inf):
            hit = xp.astype(xp.abs(a) == out, a.dtype)
            count = xp.sum(hit, axis=ctx.dims, keepdims=True)
            return (g * xp.sign(a) * hit / count,)
        if p == 2:
            d = a / out
        else:
            d = a * xp.abs(a) ** (p - 2) / out ** (p - 1)
        return (xp.where(out == 0, 0.0, g * d),)


class MaxAll(Op):
    """max over every element; ties share the gradient evenly."""

    node_name = "MaxBackward1"
    largest = True

    @classmethod
    def forward(cls, ctx, a):
        xp = ctx.xp
        out = xp.max(a) if cls.largest else xp.min(a)
        ctx.saved = (a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        a, out = ctx.saved
        mask = a == out
        count = xp.astype(xp.sum(xp.astype(mask, xp.int64)), g.dtype)
        return (xp.where(mask, g / count, 0.0),)


class MinAll(MaxAll):
    node_name = "MinBackward1"
    largest = False


class MaxDim(Op):
    """max along one dim: (values, indices); the gradient goes to the chosen index."""

    node_name = "MaxBackward0"
    largest = True

    @classmethod
    def forward(cls, ctx, a, dim=0, keepdim=False):
        xp = ctx.xp
        pick = xp.argmax if cls.largest else xp.argmin
        idx = pick(a, axis=dim, keepdims=True)
        values = xp.take_along_axis(a, idx, axis=dim)
        if not keepdim:
            values = xp.squeeze(values, axis=dim)
            idx = xp.squeeze(idx, axis=dim)
        ctx.shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
        ctx.saved = (idx,)
        return values, idx

    @staticmethod
    def backward(ctx, g, g_indices=None):
        xp = ctx.xp
        (idx,) = ctx.saved
        dim, shape = ctx.dim, ctx.shape
        if not ctx.keepdim:
            g = xp.expand_dims(g, axis=dim)
            idx = xp.expand_dims(idx, axis=dim)
        pos = xp.arange(shape[dim], device=getattr(idx, "device", None))
        pos = xp.reshape(pos, tuple(shape[dim] if i == dim else 1 for i in range(len(shape))))
        return (xp.where(pos == idx, g, 0.0),)


class MinDim(MaxDim):
    node_name = "MinBackward0"
    largest = False


# -- public functions --
def _dims_arg(dim: Any, ndim: int) -> tuple | None:
    """``dim`` as sorted dims, or None for all of them (``dim=()``, and any valid dim
    of a 0-d tensor, which PyTorch accepts as 0 or -1)."""
    dims = norm_dims(dim, ndim)
    return None if dims is not None and (len(dims) == 0 or ndim == 0) else dims


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum of all elements, or along ``dim`` (an int or a tuple)."""
    if dtype is not None:
        input = input.to(dtype=dtype)
    cls = Sum if dim is None else SumDim  # PyTorch's SumBackward0 / SumBackward1
    return cls.apply(input, dims=_dims_arg(dim, input.ndim), keepdim=keepdim)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean of all elements, or along ``dim``; floating tensors only, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype=dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype}; convert it first with .float()"
        )
    cls = Mean if dim is None else MeanDim
    return cls.apply(input, dims=_dims_arg(dim, input.ndim), keepdim=keepdim)


def norm(
    input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """The p-norm (``"fro"`` and 2 the Euclidean one) of all elements, or along ``dim``."""
    if dtype is not None:
        input = input.to(dtype=dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_TORCH_NAMES.get(input.dtype.name, input.dtype.name)}; convert it first with "
            ".float()"
        )
    if p == "fro" or p is None:
        p = 2.0
    if isinstance(p, str):
        raise NotImplementedError(
            f"norm(p={p!r}) is not supported: gradkit has the vector p-norms (numbers, inf, 'fro')"
        )
    return Norm.apply(input, p=float(p), dims=_dims_arg(dim, input.ndim), keepdim=keepdim)


_TORCH_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}
_TORCH_NAMES["bool"] = "Bool"


def _extreme(input: Tensor, dim: Any, keepdim: bool, largest: bool) -> Any:
    from .elementwise import maximum, minimum

    if isinstance(dim, Tensor):
        return maximum(input, dim) if largest else minimum(input, dim)
    if dim is None:
        if input.numel() == 0:
            name = "max" if largest else "min"
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return (MaxAll if largest else MinAll).apply(input)
    d = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        values = input.clone()
        return (return_max if largest else return_min)(values, _zeros_index(input))
    values, indices = (MaxDim if largest else MinDim).apply(input, dim=d, keepdim=keepdim)
    return (return_max if largest else return_min)(values, indices)


def _zeros_index(t: Tensor) -> Tensor:
    xp = t._be.xp
    return new_tensor(xp.zeros((), dtype=xp.int64, device=t._be.native), t._be)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The largest element; with ``dim``, ``(values, indices)`` along it; with a tensor,
    the elementwise maximum."""
    return _extreme(input, dim, keepdim, True)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The smallest element; with ``dim``, ``(values, indices)`` along it."""
    return _extreme(input, dim, keepdim, False)


def _arg(input: Tensor, dim: Any, keepdim: bool, fn: str) -> Tensor:
    be = input._be
    xp = be.xp
    a = input._data
    if dim is None:
        out = getattr(xp, fn)(xp.reshape(a, (-1,)))
        if keepdim:
            out = xp.reshape(out, (1,) * a.ndim)
    else:
        out = getattr(xp, fn)(a, axis=wrap_dim(dim, a.ndim), keepdims=keepdim)
    return new_tensor(be.fix(xp.astype(out, xp.int64)), be)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when ``dim`` is None)."""
    return _arg(input, dim, keepdim, "argmax")


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (of the flattened tensor when ``dim`` is None)."""
    return _arg(input, dim, keepdim, "argmin")


def _logic(input: Tensor, dim: Any, keepdim: bool, fn: str) -> Tensor:
    be = input._be
    xp = be.xp
    a = input._data
    if a.dtype != xp.bool:
        a = a != 0
    dims = _dims_arg(dim, a.ndim)
    return new_tensor(be.fix(getattr(xp, fn)(a, axis=dims, keepdims=keepdim)), be)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether every element is true (non-zero)."""
    return _logic(input, dim, keepdim, "all")


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether any element is true (non-zero)."""
    return _logic(input, dim, keepdim, "any")
