"""``optim.SGD``: PyTorch's update, with momentum, dampening, weight decay and Nesterov."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd.tensor import Tensor
from .optimizer import Optimizer, runs_kernel, signed_decayed

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

    @runs_kernel
    def _update(self, group: dict, p: Tensor, g: Any) -> None:
        bufs: tuple = ()
        if group["momentum"] != 0:  # plain SGD keeps no state (and looks none up)
            st = self.state.setdefault(p, {})
            if st.get("momentum_buffer") is None:
                self._first_momentum_step(group, p, g, st)
                return
            bufs = (st["momentum_buffer"]._data,)
        c = self._scalars(group, {})
        self._kernel(p._be.xp, self._flags(group), p._data, g, bufs, c)

    def _first_momentum_step(self, group: dict, p: Tensor, g: Any, st: dict) -> None:
        """The first step with momentum: the buffer starts as the (decayed) gradient."""
        wd = group["weight_decay"]
        g = signed_decayed(g, p._data, group["maximize"], wd != 0, wd)
        buf = st["momentum_buffer"] = self._state_tensor(p, p._be.copy(g))
        g = g + group["momentum"] * buf._data if group["nesterov"] else buf._data
        p._data -= group["lr"] * g

    def _prepare(self, group: dict, p: Tensor) -> dict:
        if group["momentum"] == 0:
            return self.state.get(p) or {}
        return self.state.setdefault(p, {})

    def _flags(self, group: dict) -> tuple:
        return (
            bool(group["maximize"]),
            group["weight_decay"] != 0,
            group["momentum"] != 0,
            bool(group["nesterov"]),
        )

    def _scalars(self, group: dict, st: dict) -> tuple:
        return (group["weight_decay"], group["momentum"], 1 - group["dampening"], group["lr"])

    def _buffers(self, group: dict, st: dict) -> tuple:
        if group["momentum"] == 0:
            return ()
        buf = st.get("momentum_buffer")
        if buf is None:  # reset by the user: the next eager step starts it again
            raise KeyError("momentum_buffer")
        return (buf._data,)

    @staticmethod
    def _kernel(xp: Any, flags: tuple, data: Any, g: Any, bufs: tuple, c: tuple) -> None:
        maximize, decay, momentum, nesterov = flags
        g = signed_decayed(g, data, maximize, decay, c[0])
        if momentum:
            b = bufs[0]
            b *= c[1]
            b += c[2] * g
            g = g + c[1] * b if nesterov else b
        data -= c[3] * g
