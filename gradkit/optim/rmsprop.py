"""``optim.RMSprop``: PyTorch's update, with momentum, centering, weight decay and maximize."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from .optimizer import CountsSteps, signed_decayed

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

    def _prepare(self, group: dict, p: Tensor) -> dict:
        st = self.state.get(p)
        if st is None:
            xp, data = p._be.xp, p._data
            st = self.state[p] = {
                "step": 0,
                "square_avg": self._state_tensor(p, xp.zeros_like(data)),
            }
            if group["momentum"] > 0:
                st["momentum_buffer"] = self._state_tensor(p, xp.zeros_like(data))
            if group["centered"]:
                st["grad_avg"] = self._state_tensor(p, xp.zeros_like(data))
        self._buffers(group, st)  # a KeyError, as in PyTorch, before the step is counted
        st["step"] += 1
        return st

    def _flags(self, group: dict) -> tuple:
        return (
            bool(group["maximize"]),
            group["weight_decay"] != 0,
            bool(group["centered"]),
            group["momentum"] > 0,
        )

    def _scalars(self, group: dict, st: dict) -> tuple:
        alpha, lr = group["alpha"], group["lr"]
        return (group["weight_decay"], alpha, 1 - alpha, group["eps"], group["momentum"], lr, -lr)

    def _buffers(self, group: dict, st: dict) -> tuple:
        bufs = [st["square_avg"]._data]
        if group["momentum"] > 0:
            bufs.append(st["momentum_buffer"]._data)
        if group["centered"]:
            bufs.append(st["grad_avg"]._data)
        return tuple(bufs)

    @staticmethod
    def _kernel(xp: Any, flags: tuple, data: Any, g: Any, bufs: tuple, c: tuple) -> None:
        maximize, decay, centered, momentum = flags
        g = signed_decayed(g, data, maximize, decay, c[0])
        v = bufs[0]
        v *= c[1]
        v += c[2] * g * g
        if centered:
            gm = bufs[-1]
            gm += c[2] * (g - gm)
            avg = xp.sqrt(v - gm * gm)
        else:
            avg = xp.sqrt(v)
        avg += c[3]
        if momentum:
            buf = bufs[1]
            buf *= c[4]
            buf += g / avg
            data -= c[5] * buf
        else:
            data += (c[6] * g) / avg  # addcdiv: (value * g) / avg
