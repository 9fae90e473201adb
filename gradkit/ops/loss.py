"""Losses: mse, binary cross-entropy (on probabilities and on logits), nll and
cross-entropy.  Forwards are written not to overflow (logits of +-1000 give
finite losses and gradients); reductions are 'mean', 'sum' or 'none'."""

from __future__ import annotations

import warnings
from typing import Any

from ..autograd.function import Op
from ..autograd.tensor import Tensor

__all__ = [
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "nll_loss",
    "cross_entropy",
]

_REDUCTIONS = ("mean", "sum", "none")
_TINY = 1e-44  # log(_TINY) < -100, and still above zero in float32 (a denormal)


def _reduce(xp, loss, reduction, n=None):
    if reduction == "none":
        return loss
    s = xp.sum(loss)
    return s if reduction == "sum" else s / (n if n is not None else _numel(loss))


def _numel(a) -> int:
    n = 1
    for s in a.shape:
        n *= s
    return n


def _spread(xp, g, shape, reduction, n):
    """The gradient of the reduction, per element of the unreduced loss."""
    if reduction == "none":
        return g
    if reduction == "mean":
        g = g / n
    return xp.broadcast_to(g, shape)


class MseLoss(Op):
    node_name = "MseLossBackward0"

    @staticmethod
    def forward(ctx, a, t, reduction="mean"):
        xp = ctx.xp
        d = a - t
        ctx.reduction = reduction
        ctx.saved = (d,)
        ctx.n = _numel(d)
        return _reduce(xp, d * d, reduction)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved
        gd = 2.0 * d * _spread(ctx.xp, g, d.shape, ctx.reduction, ctx.n)
        return gd, (-gd if ctx.needs_input_grad[1] else None)


class BinaryCrossEntropy(Op):
    node_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, p, y, w=None, reduction="mean"):
        xp = ctx.xp
        # PyTorch clamps the logs at -100; clamping p first also avoids log(0) warnings
        logp = xp.maximum(xp.log(xp.maximum(p, _TINY)), -100.0)
        log1mp = xp.maximum(xp.log(xp.maximum(1.0 - p, _TINY)), -100.0)
        loss = -(y * logp + (1.0 - y) * log1mp)
        if w is not None:
            loss = loss * w
        ctx.reduction, ctx.n = reduction, _numel(loss)
        ctx.saved = (p, y, w, logp, log1mp)
        return _reduce(xp, loss, reduction)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        need_p, need_y = ctx.needs_input_grad[:2]
        p, y, w, logp, log1mp = ctx.saved
        g = _spread(xp, g, p.shape, ctx.reduction, ctx.n)
        if w is not None:
            g = g * w
        gp = gy = None
        if need_p:
            gp = g * (p - y) / xp.maximum((1.0 - p) * p, 1e-12)
        if need_y:
            gy = g * (log1mp - logp)
        return gp, gy, None


class BinaryCrossEntropyWithLogits(Op):
    node_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, y, w=None, pos_weight=None, reduction="mean"):
        xp = ctx.xp
        # softplus(-x) = log(1 + exp(-x)), written so that it never overflows
        sp = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0.0)
        if pos_weight is None:
            loss = (1.0 - y) * x + sp
        else:
            loss = (1.0 - y) * x + (1.0 + (pos_weight - 1.0) * y) * sp
        if w is not None:
            loss = loss * w
        ctx.reduction, ctx.n = reduction, _numel(loss)
        ctx.saved = (x, y, w, pos_weight, sp)
        return _reduce(xp, loss, reduction)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        needs = ctx.needs_input_grad
        x, y, w, pw, sp = ctx.saved
        g = _spread(xp, g, x.shape, ctx.reduction, ctx.n)
        if w is not None:
            g = g * w
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        gx = gy = None
        if needs[0]:
            if pw is None:
                gx = g * (sig - y)
            else:
                gx = g * ((1.0 + (pw - 1.0) * y) * sig - pw * y)
        if needs[1]:
            gy = g * (-x if pw is None else -x + (pw - 1.0) * sp)
        gpw = None
        if pw is not None and needs[3]:
            gpw = g * y * sp
        return gx, gy, None, gpw


class NllLoss(Op):
    node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, logp, target, w=None, reduction="mean", ignore_index=-100):
        xp = ctx.xp
        keep = target != ignore_index
        safe = xp.where(keep, target, xp.zeros_like(target))
        picked = xp.take_along_axis(logp, xp.expand_dims(safe, axis=1), axis=1)[:, 0]
        weight = xp.astype(keep, logp.dtype)
        if w is not None:
            weight = weight * xp.take(w, safe, axis=0)
        loss = -picked * weight
        ctx.reduction, ctx.shape = reduction, logp.shape
        ctx.saved = (safe, weight)
        if reduction == "none":
            return loss
        s = xp.sum(loss)
        if reduction == "sum":
            return s
        ctx.denom = xp.sum(weight)
        return s / ctx.denom

    @staticmethod
    def backward(ctx, g, *_):
        xp = ctx.xp
        safe, weight = ctx.saved
        if ctx.reduction == "mean":
            g = g / ctx.denom
        if ctx.reduction != "none":
            g = xp.broadcast_to(g, weight.shape)
        coef = -(g * weight)
        classes = xp.arange(ctx.shape[1], device=getattr(safe, "device", None))
        onehot = xp.expand_dims(safe, axis=1) == xp.expand_dims(classes, axis=0)
        return xp.where(onehot, xp.expand_dims(coef, axis=1), 0.0), None, None


# -- public functions --
def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{reduction} is not a valid value for reduction; use one of {', '.join(_REDUCTIONS)}"
        )


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """PyTorch's legacy ``size_average``/``reduce`` as a ``reduction``, with its warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
        UserWarning,
        stacklevel=3,
    )
    return ret


def _same_device(what: str, *ts: Any) -> None:
    from ..autograd.function import mixed_device_error

    live = [t for t in ts if isinstance(t, Tensor)]
    if any(t._be is not live[0]._be for t in live):
        raise mixed_device_error(what, tuple(live))


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Mean (or sum) of squared differences."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    _check_reduction(reduction)
    tshape = target._data.shape if target.__class__ is Tensor else tuple(target.shape)
    if tshape != input._data.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    if target.__class__ is not Tensor or target._be is not input._be:
        _same_device("mse_loss", input, target)
    return MseLoss.apply(input, target, reduction=reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """BCE on probabilities in [0, 1]; log terms are clamped at -100, as in PyTorch."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    _same_device("binary_cross_entropy", input, target, weight)
    be, d = input._be, input._data
    if be.is_host and not bool(be.xp.all((d >= 0) & (d <= 1))):  # no sync on a GPU
        raise RuntimeError(
            "all elements of input should be between 0 and 1: binary_cross_entropy takes "
            "probabilities (for logits, use binary_cross_entropy_with_logits)"
        )
    return BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on logits: sigmoid and log in one stable formula."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape}); "
            "reshape one of them (e.g. y.view(-1, 1) or logits.squeeze(1))"
        )
    _same_device("binary_cross_entropy_with_logits", input, target, weight, pos_weight)
    return BinaryCrossEntropyWithLogits.apply(
        input, target, weight, pos_weight, reduction=reduction
    )


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices, from log-probabilities (N, C) or (C,)."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    _check_reduction(reduction)
    if input.ndim == 1:
        out = nll_loss(
            input.unsqueeze(0),
            target.reshape(1),
            weight,
            ignore_index=ignore_index,
            reduction=reduction,
        )
        return out.reshape(()) if reduction == "none" else out
    if input.ndim != 2:
        raise ValueError(f"nll_loss expects input of shape (N, C) or (C,), got {list(input.shape)}")
    if target.dtype.kind != 1:
        raise RuntimeError(
            f"expected scalar type Long but found {target.dtype}: targets must be class indices "
            "(use .long())"
        )
    if target.ndim != 1 or target.shape[0] != input.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 0})."
        )
    _same_device("nll_loss", input, target, weight)
    be = target._be
    if be.is_host and target.numel():
        xp = be.xp
        t = target._data
        bad = (t != ignore_index) & ((t < 0) | (t >= input.shape[1]))
        if be.to_python(xp.any(bad)):
            first = be.to_python(t[xp.argmax(xp.astype(bad, xp.int8))])
            raise IndexError(f"Target {first} is out of bounds for {input.shape[1]} classes.")
    return NllLoss.apply(input, target, weight, reduction=reduction, ignore_index=ignore_index)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log_softmax then nll_loss for class indices; for class probabilities (a float
    target of the input's shape), -sum(target * log_softmax(input)) per sample."""
    from .activation import log_softmax

    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    _check_reduction(reduction)
    dim = 0 if input.ndim == 1 else 1
    logp = log_softmax(input, dim=dim)
    if target.dtype.is_floating_point:
        if tuple(target.shape) != tuple(input.shape):
            if target.ndim == input.ndim and target.shape[0] != input.shape[0]:
                raise ValueError(
                    f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                    f"({target.shape[0]})."
                )
            raise RuntimeError(
                f"cross_entropy: a {target.dtype} target must hold class probabilities in the "
                f"input's shape {list(input.shape)}, got {list(target.shape)}; for class "
                "indices use an int64 target (target.long())"
            )
        terms = logp * target
        if weight is not None:
            terms = terms * (weight if dim == 0 else weight.reshape(1, -1))
        per = -terms.sum(dim=dim)
        if reduction == "none":
            return per
        if reduction == "sum":
            return per.sum()
        return per.mean() if per.ndim else per
    return nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
