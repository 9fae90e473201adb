"""Activations: relu, sigmoid, tanh, softmax, log_softmax — each with the
numerically stable forward and the backward written from its output."""

from __future__ import annotations

from ..autograd.function import Op
from ..autograd.tensor import Tensor
from ._util import to_float, wrap_dim

__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax"]


class Relu(Op):
    node_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.maximum(a, 0)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        return (ctx.xp.where(ctx.saved[0] > 0, g, 0.0),)


class Sigmoid(Op):
    node_name = "SigmoidBackward0"
    fp_quiet = True  # exp(-a) overflows to inf for a < -88 (float32): 1 / inf is 0, exact

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        e = xp.exp(-to_float(xp, a))  # PyTorch's formula; 3 passes (the where form took 9)
        e += 1.0
        out = 1.0 / e
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        out = ctx.saved[0]
        return (g * out * (1.0 - out),)


class Tanh(Op):
    node_name = "TanhBackward0"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.tanh(to_float(ctx.xp, a))
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        out = ctx.saved[0]
        return (g * (1.0 - out * out),)


class Softmax(Op):
    node_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, a, dim=None):
        xp = ctx.xp
        e = xp.exp(a - xp.max(a, axis=dim, keepdims=True))
        out = e / xp.sum(e, axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        out = ctx.saved[0]
        return (out * (g - xp.sum(g * out, axis=ctx.dim, keepdims=True)),)


class LogSoftmax(Op):
    node_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, a, dim=None):
        xp = ctx.xp
        shifted = a - xp.max(a, axis=dim, keepdims=True)
        out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        out = ctx.saved[0]
        return (g - xp.exp(out) * xp.sum(g, axis=ctx.dim, keepdims=True),)


def _float_input(input: Tensor, name: str) -> None:
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"{name}: expected a floating point tensor, got {input.dtype}; convert it with .float()"
        )


def relu(input: Tensor) -> Tensor:
    """max(x, 0); the gradient is 0 where the output is 0."""
    return Relu.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh.apply(input)


def _softmax_dim(input: Tensor, dim: int | None, name: str) -> int:
    if dim is None:
        import warnings

        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            UserWarning,
            stacklevel=3,
        )
    return wrap_dim(dim, input.ndim)


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (shifted by the max, so it never overflows)."""
    _float_input(input, "softmax")
    d = _softmax_dim(input, dim, "softmax")
    if input.ndim == 0:
        return Softmax.apply(input.reshape(1), dim=0).reshape(())
    return Softmax.apply(input, dim=d)


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed as x - logsumexp(x)."""
    _float_input(input, "log_softmax")
    d = _softmax_dim(input, dim, "log_softmax")
    if input.ndim == 0:
        return LogSoftmax.apply(input.reshape(1), dim=0).reshape(())
    return LogSoftmax.apply(input, dim=d)
