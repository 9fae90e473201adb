"""``optim.RMSprop``: PyTorch's update, with momentum, centering, weight decay and maximize."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from .optimizer import CountsSteps

__all__ = ["RMSprop"]


def _check_nonneg(what: str, value: float) -> None:
    if not value >= 0.0:
        raise ValueError(f"Invalid {what} value: {value} (expected a number >= 0)")


class RMSprop(CountsSteps):
    """RMSprop (Hinton), as PyTorch computes it::

    g = g + weight_decay * p
    v = alpha * v + (1 - alpha) * g * g
    avg = sqrt(v - gm * gm) + eps   with gm = gm + (1 - alpha) * (g - gm)  (centered)
    avg = sqrt(v) + eps             (otherwise)
    buf = momentum * buf + g / avg;  p = p - lr * buf      (momentum > 0)
    p = p - lr * g / avg                                    (otherwise)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonneg("epsilon", eps)
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("alpha", alpha)
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "alpha": alpha,
                "eps": eps,
                "centered": centered,
                "weight_decay": weight_decay,
                "maximize": maximize,
                **self._impl_flags(
                    foreach, differentiable, with_fused=False, capturable=capturable
                ),
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
                "square_avg": self._state_tensor(p, xp.zeros_like(data)),
            }
            if group["momentum"] > 0:
                st["momentum_buffer"] = self._state_tensor(p, xp.zeros_like(data))
            if group["centered"]:
                st["grad_avg"] = self._state_tensor(p, xp.zeros_like(data))
        st["step"] += 1
        wd = group["weight_decay"]
        if wd != 0:
            g = g + wd * data
        alpha = group["alpha"]
        v = st["square_avg"]._data
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            gm = st["grad_avg"]._data
            gm += (1 - alpha) * (g - gm)
            avg = xp.sqrt(v - gm * gm)
        else:
            avg = xp.sqrt(v)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = st["momentum_buffer"]._data
            buf *= group["momentum"]
            buf += g / avg
            data -= group["lr"] * buf
        else:
            data += (-group["lr"] * g) / avg  # addcdiv: (value * g) / avg
