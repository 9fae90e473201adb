"""Logistic regression, on autograd and with a hand-written backward (seed 001's style):
binary (one logit, sigmoid) for two classes, multinomial (softmax) for more."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import ConfigError
from ..nn import Linear
from ..nn.init import zeros_
from .base import DataInfo, Model, accumulate_grad, fit_to_data
from .losses import LOSSES

__all__ = ["LogisticRegression", "ManualLogisticRegression"]


class LogisticRegression(Model):
    """``logits = x @ w.T + b``: one logit and binary cross-entropy for 2 classes, one
    logit per class and softmax cross-entropy (multinomial) for more."""

    family = "logreg"
    description = "logistic regression (binary or softmax), gradients by autograd"

    def __init__(
        self, dim: int, loss: str | None = None, init: str = "default", n_classes: int = 2
    ) -> None:
        if not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        super().__init__("binary" if n_classes == 2 else "multiclass", loss)
        self.n_classes = n_classes
        self.hparams = {"dim": dim, "n_classes": n_classes, "loss": self.loss_name, "init": init}
        self.linear = Linear(dim, 1 if n_classes == 2 else n_classes)
        if init == "zeros":  # as seed 001 starts
            for p in self.parameters():
                zeros_(p)
        elif init != "default":
            raise ValueError(f"unknown init {init!r}; choose default or zeros")

    @classmethod
    def from_data(cls, ds: DataInfo, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        """``dim`` (features) and ``n_classes`` from the data, which must have class labels."""
        if ds.task == "regression":
            raise ConfigError(
                f"model={name} needs class labels, but {ds.name} is a regression task; "
                "use model=mlp"
            )
        return {
            "dim": fit_to_data(config, "dim", ds.n_features, "features", ds.name),
            "n_classes": fit_to_data(config, "n_classes", len(ds.classes), "classes", ds.name),
        }

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x)


class ManualLogisticRegression(LogisticRegression):
    """The same model; ``backward`` writes the gradients from the derived formulas:
    dL/dz = (sigmoid(z) - y) / N (binary) or (softmax(z) - onehot(y)) / N (multiclass),
    dL/dw = dz.T @ x, dL/db = sum(dz)."""

    gradients = "manual"
    description = "logistic regression with a hand-written backward (no autograd)"

    def forward(self, x: Tensor) -> Tensor:
        with no_grad():
            return self.linear(x)

    def backward(self, x: Tensor, out: Tensor, y: Tensor, scale: float = 1.0) -> None:
        with no_grad():
            dz = LOSSES[self.loss_name].grad(out, y)  # (N, 1) or (N, classes)
            if scale != 1.0:
                dz = dz * scale
            accumulate_grad(self.linear.weight, dz.T.mm(x))
            accumulate_grad(self.linear.bias, dz.sum(0))
