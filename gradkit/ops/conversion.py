"""Copies and conversions: ``clone``, dtype casts and device moves (``to``, ``cpu``,
``cuda``, ``float``, ...).  All are differentiable: the gradient is cast or
moved back to where the input was."""

from __future__ import annotations

from typing import Any

from ..autograd.function import Op, bind_output, make_node
from ..autograd.grad_mode import MODE
from ..autograd.tensor import Tensor, new_tensor
from ..backend import ArrayBackend, as_dtype, device, dtype, get_backend

__all__ = ["clone"]  # to, cpu, cuda, type_as and cast are methods


class Clone(Op):
    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, a):
        return ctx.xp.asarray(a, copy=True)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Cast(Op):
    """A dtype conversion; the engine casts the gradient back to the input's dtype."""

    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, a, dtype=None):
        return ctx.xp.astype(a, dtype)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class DeviceCopy(Op):
    """A move between devices; backward moves the gradient back."""

    node_name = "ToCopyBackward0"

    @staticmethod
    def backward(ctx, g):
        return (ctx.src.from_host(ctx.dst.to_numpy(g)),)


def clone(input: Tensor) -> Tensor:
    """A copy with its own memory, still in the graph."""
    return Clone.apply(input)


def cast(input: Tensor, d: dtype) -> Tensor:
    """``input`` converted to dtype ``d`` (non-floating results leave the graph)."""
    be = input._be
    if not d.is_floating_point:
        return new_tensor(be.fix(be.xp.astype(input._data, be.native_dtype(d))), be)
    return Cast.apply(input, dtype=be.native_dtype(d))


def _move(t: Tensor, dst: ArrayBackend) -> Tensor:
    src = t._be
    out = new_tensor(dst.from_host(src.to_numpy(t._data)), dst)
    if t._rg and MODE.enabled:
        node = make_node(DeviceCopy, (t,), src.xp)
        node.src, node.dst = src, dst
        bind_output(out, node)
    return out


def to(
    input: Tensor,
    *args: Any,
    device: Any = None,
    dtype: Any = None,
    non_blocking: bool = False,
    copy: bool = False,
) -> Tensor:
    """``input`` on another device and/or dtype: ``to("cuda")``, ``to(gradkit.float64)``,
    ``to(other_tensor)``, ``to(device, dtype)``; returns ``input`` itself when nothing
    changes (unless ``copy=True``)."""
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, _dtype_cls):
            dtype = a
        elif isinstance(a, (str, _device_cls)):
            device = a
        else:
            raise TypeError(
                f"to() received an invalid combination of arguments: {type(a).__name__}; give a "
                "device ('cpu', 'cuda'), a dtype (gradkit.float32) or a tensor"
            )
    out = input
    if dtype is not None:
        d = as_dtype(dtype)
        if d is not out.dtype:
            out = cast(out, d)
    if device is not None:
        dst = get_backend(device)
        if dst is not out._be:
            out = _move(out, dst)
    if copy and out is input:
        out = clone(input)
    return out


_dtype_cls = dtype
_device_cls = device


def cpu(input: Tensor) -> Tensor:
    """``input`` on the cpu (itself if already there)."""
    return to(input, device="cpu")


def cuda(input: Tensor, device: Any = None) -> Tensor:
    """``input`` on a CUDA GPU (``cuda:0`` unless ``device`` is given)."""
    if isinstance(device, int):
        device = f"cuda:{device}"
    return to(input, device=device or "cuda")


def type_as(input: Tensor, other: Tensor) -> Tensor:
    """``input`` cast to ``other``'s dtype."""
    return to(input, dtype=other.dtype)
