"""``optim.Adam`` and ``optim.AdamW``: PyTorch's update, with weight decay (added to the
gradient, or decoupled as AdamW does), amsgrad and maximize."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from .optimizer import CountsSteps, signed_decayed

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

    def _prepare(self, group: dict, p: Tensor) -> dict:
        st = self.state.get(p)
        if st is None:
            xp, data = p._be.xp, p._data
            st = self.state[p] = {
                "step": 0,
                "exp_avg": self._state_tensor(p, xp.zeros_like(data)),
                "exp_avg_sq": self._state_tensor(p, xp.zeros_like(data)),
            }
            if group["amsgrad"]:
                st["max_exp_avg_sq"] = self._state_tensor(p, xp.zeros_like(data))
        self._buffers(group, st)  # a KeyError, as in PyTorch, before the step is counted
        st["step"] += 1
        return st

    def _flags(self, group: dict) -> tuple:
        decay = group["weight_decay"] != 0
        return (
            bool(group["maximize"]),
            decay and not group.get("decoupled_weight_decay"),
            decay and bool(group.get("decoupled_weight_decay")),
            bool(group["amsgrad"]),
        )

    def _scalars(self, group: dict, st: dict) -> tuple:
        step = st["step"]
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        return (
            wd,
            1 - lr * wd,
            1 - beta1,
            beta2,
            1 - beta2,
            math.sqrt(1 - beta2**step),  # bias correction 2, as its square root
            group["eps"],
            -lr / (1 - beta1**step),  # -lr / bias correction 1
        )

    def _buffers(self, group: dict, st: dict) -> tuple:
        out = (st["exp_avg"]._data, st["exp_avg_sq"]._data)
        return (*out, st["max_exp_avg_sq"]._data) if group["amsgrad"] else out

    @staticmethod
    def _kernel(xp: Any, flags: tuple, data: Any, g: Any, bufs: tuple, c: tuple) -> None:
        maximize, coupled, decoupled, amsgrad = flags
        g = signed_decayed(g, data, maximize, coupled, c[0])
        if decoupled:
            data *= c[1]
        m, v = bufs[0], bufs[1]
        m += c[2] * (g - m)  # lerp
        v *= c[3]
        v += c[4] * g * g
        if amsgrad:
            vmax = bufs[2]
            vmax[...] = xp.maximum(vmax, v)
            v = vmax
        denom = xp.sqrt(v) / c[5] + c[6]
        data += (c[7] * m) / denom  # addcdiv: (value * m) / denom


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
