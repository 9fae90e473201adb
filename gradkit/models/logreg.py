"""Logistic regression, on autograd and with a hand-written backward (seed 001's style)."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn import Linear
from ..nn.init import zeros_
from .base import Model, accumulate_grad
from .losses import LOSSES

__all__ = ["LogisticRegression", "ManualLogisticRegression"]


class LogisticRegression(Model):
    """``logit = x @ w.T + b`` for a binary target; trained on binary cross-entropy."""

    family = "logreg"
    description = "logistic regression (Linear to one logit), gradients by autograd"

    def __init__(self, dim: int, loss: str | None = None, init: str = "default") -> None:
        super().__init__("binary", loss)
        self.linear = Linear(dim, 1)
        if init == "zeros":  # as seed 001 starts
            for p in self.parameters():
                zeros_(p)
        elif init != "default":
            raise ValueError(f"unknown init {init!r}; choose default or zeros")

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x)


class ManualLogisticRegression(LogisticRegression):
    """The same model; ``backward`` writes the gradients from the derived formulas:
    dL/dz = (sigmoid(z) - y) / N, dL/dw = dz.T @ x, dL/db = sum(dz)."""

    gradients = "manual"
    description = "logistic regression with a hand-written backward (no autograd)"

    def forward(self, x: Tensor) -> Tensor:
        with no_grad():
            return self.linear(x)

    def backward(self, x: Tensor, out: Tensor, y: Tensor, scale: float = 1.0) -> None:
        with no_grad():
            dz = LOSSES[self.loss_name].grad(out, y)  # (N, 1)
            if scale != 1.0:
                dz = dz * scale
            accumulate_grad(self.linear.weight, dz.T.mm(x))
            accumulate_grad(self.linear.bias, dz.sum(0))
