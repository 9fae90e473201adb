"""``optim.Adam`` and ``optim.AdamW``: PyTorch's update, with weight decay (added to the
gradient, or decoupled as AdamW does), amsgrad and maximize."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from .optimizer import CountsSteps

__all__ = ["Adam", "AdamW"]


class Adam(CountsSteps):
    """Adam (Kingma & Ba), as PyTorch computes it, step t counted from 1::

    p = p * (1 - lr * weight_decay)          (decoupled_weight_decay, AdamW)
    g = g + weight_decay * p                 (otherwise)
    m = m + (1 - beta1) * (g - m)            (lerp)
    v = beta2 * v + (1 - beta2) * g * g
    denom = sqrt(v) / sqrt(1 - beta2**t) + eps
    p = p - (lr / (1 - beta1**t)) * (m / denom)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps} (expected a number >= 0)")
        betas = tuple(betas)
        if len(betas) != 2:
            raise ValueError(
                f"Invalid betas: {list(betas)} (expected two numbers, (beta1, beta2), e.g. "
                "(0.9, 0.999))"
            )
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(
                    f"Invalid beta parameter at index {i}: {b} (expected 0 <= beta < 1)"
                )
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay} (expected a number >= 0)")
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
                "maximize": maximize,
                **self._impl_flags(foreach, differentiable, fused, capturable=capturable),
                "decoupled_weight_decay": decoupled_weight_decay,
            },
        )

    def _update(self, group: dict, p: Tensor, g: Any) -> None:
        xp = p._be.xp
        data = p._data
        if group["maximize"]:
            g = -g
        st = self.state.get(p)
        if st is None:
            st = self.state[p] = {
                "step": 0,
                "exp_avg": self._state_tensor(p, xp.zeros_like(data)),
                "exp_avg_sq": self._state_tensor(p, xp.zeros_like(data)),
            }
            if group["amsgrad"]:
                st["max_exp_avg_sq"] = self._state_tensor(p, xp.zeros_like(data))
        st["step"] += 1
        step = st["step"]
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        if wd != 0:
            if group.get("decoupled_weight_decay"):
                data *= 1 - group["lr"] * wd
            else:
                g = g + wd * data
        m, v = st["exp_avg"]._data, st["exp_avg_sq"]._data
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        bias1 = 1 - beta1**step
        bias2_sqrt = math.sqrt(1 - beta2**step)
        if group["amsgrad"]:
            vmax = st["max_exp_avg_sq"]._data
            vmax[...] = xp.maximum(vmax, v)
            v = vmax
        denom = xp.sqrt(v) / bias2_sqrt + group["eps"]
        data += ((-group["lr"] / bias1) * m) / denom  # addcdiv: (value * m) / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay``
    before the Adam step; PyTorch's default ``weight_decay=1e-2``."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
