"""The losses models train with: each has its value (autograd ops) and its gradient
with respect to the model's output, derived by hand (for the manual twins)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..autograd.tensor import Tensor
from ..nn import functional as F

__all__ = ["TaskLoss", "LOSSES", "TASKS"]

TASKS = ("binary", "multiclass", "regression")


def _onehot(y: Tensor, classes: int, like: Tensor) -> Tensor:
    from ..autograd.creation import arange

    return (arange(classes, device=y.device) == y.unsqueeze(1)).to(like.dtype)


@dataclass(frozen=True)
class TaskLoss:
    """A loss for one task: ``value(out, y)`` builds a graph; ``grad(out, y)`` is dL/d(out)."""

    name: str
    task: str
    description: str
    value: Callable[[Tensor, Tensor], Tensor]
    grad: Callable[[Tensor, Tensor], Tensor]


LOSSES: dict[str, TaskLoss] = {
    "bce_with_logits": TaskLoss(
        "bce_with_logits",
        "binary",
        "binary cross-entropy on logits, mean over elements",
        lambda out, y: F.binary_cross_entropy_with_logits(out, y),
        lambda out, y: (F.sigmoid(out) - y) / out.numel(),
    ),
    "cross_entropy": TaskLoss(
        "cross_entropy",
        "multiclass",
        "softmax cross-entropy on class indices, mean over samples",
        lambda out, y: F.cross_entropy(out, y),
        lambda out, y: (F.softmax(out, dim=1) - _onehot(y, out.shape[1], out)) / out.shape[0],
    ),
    "mse": TaskLoss(
        "mse",
        "regression",
        "mean squared error",
        lambda out, y: F.mse_loss(out, y),
        lambda out, y: 2.0 * (out - y) / out.numel(),
    ),
    "sse": TaskLoss(
        "sse",
        "regression",
        "sum of squared errors, (y_pred - y).pow(2).sum() as in seed 004",
        lambda out, y: (out - y).pow(2).sum(),
        lambda out, y: 2.0 * (out - y),
    ),
}

#: the loss a task uses unless the config names another
DEFAULT_LOSS = {"binary": "bce_with_logits", "multiclass": "cross_entropy", "regression": "mse"}
