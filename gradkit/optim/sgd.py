"""``optim.SGD``: PyTorch's update, with momentum, dampening, weight decay and Nesterov."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent.

    For each parameter p with gradient g (PyTorch's formulas)::

        g = g + weight_decay * p
        buf = g                                   (first step)
        buf = momentum * buf + (1 - dampening) * g  (later steps)
        g = g + momentum * buf  if nesterov else buf
        p = p - lr * g
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum} (expected a number >= 0)")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay} (expected a number >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
                **self._impl_flags(foreach, differentiable, fused),
            },
        )

    def _update(self, group: dict, p: Tensor, g: Any) -> None:
        data = p._data
        if group["maximize"]:
            g = -g
        wd = group["weight_decay"]
        if wd != 0:
            g = g + wd * data
        momentum = group["momentum"]
        if momentum != 0:
            st = self.state.setdefault(p, {})
            buf = st.get("momentum_buffer")
            if buf is None:
                buf = st["momentum_buffer"] = self._state_tensor(p, p._be.copy(g))
            else:
                b = buf._data
                b *= momentum
                b += (1 - group["dampening"]) * g
            g = g + momentum * buf._data if group["nesterov"] else buf._data
        data -= group["lr"] * g
