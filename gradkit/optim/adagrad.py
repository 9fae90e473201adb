"""``optim.Adagrad``: PyTorch's update, with learning-rate decay, weight decay and maximize."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from .optimizer import CountsSteps, signed_decayed
from .rmsprop import _check_nonneg

__all__ = ["Adagrad"]


class Adagrad(CountsSteps):
    """Adagrad (Duchi et al.), as PyTorch computes it, step t counted from 1::

    g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g                      (s starts at initial_accumulator_value)
    p = p - clr * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_nonneg("lr_decay", lr_decay)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("initial_accumulator_value", initial_accumulator_value)
        _check_nonneg("epsilon", eps)
        super().__init__(
            params,
            {
                "lr": lr,
                "lr_decay": lr_decay,
                "eps": eps,
                "weight_decay": weight_decay,
                "initial_accumulator_value": initial_accumulator_value,
                "maximize": maximize,
                **self._impl_flags(foreach, differentiable, fused),
            },
        )
        # PyTorch makes the state when the optimizer is built, not at the first step
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(group, p)

    def _init_state(self, group: dict, p: Tensor) -> dict:
        xp = p._be.xp
        acc = xp.full_like(p._data, group["initial_accumulator_value"])
        st = self.state[p] = {"step": 0, "sum": self._state_tensor(p, acc)}
        return st

    def _prepare(self, group: dict, p: Tensor) -> dict:
        st = self.state.get(p) or self._init_state(group, p)
        st["step"] += 1
        return st

    def _flags(self, group: dict) -> tuple:
        return (bool(group["maximize"]), group["weight_decay"] != 0)

    def _scalars(self, group: dict, st: dict) -> tuple:
        clr = group["lr"] / (1 + (st["step"] - 1) * group["lr_decay"])
        return (group["weight_decay"], group["eps"], -clr)

    def _buffers(self, group: dict, st: dict) -> tuple:
        return (st["sum"]._data,)

    @staticmethod
    def _kernel(xp: Any, flags: tuple, data: Any, g: Any, bufs: tuple, c: tuple) -> None:
        g = signed_decayed(g, data, *flags, c[0])
        s = bufs[0]
        s += g * g
        std = xp.sqrt(s)
        std += c[1]
        data += (c[2] * g) / std  # addcdiv: (value * g) / std
