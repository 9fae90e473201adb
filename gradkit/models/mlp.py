"""The 2-layer ReLU MLP three ways: autograd, autograd through a custom ReLU
``Function`` (seed 004's ``MyReLU``), and a hand-written backward."""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn import Linear, ReLU, init
from .base import Model, accumulate_grad
from .losses import LOSSES

__all__ = ["MLP", "FunctionMLP", "ManualMLP", "MyReLU"]

INITS = ("default", "normal")


class MyReLU(Function):
    """Seed 004's custom ReLU: saves its input, zeroes the gradient where it was negative."""

    @staticmethod
    def forward(ctx: Any, input: Tensor) -> Tensor:
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class MLP(Model):
    """``fc2(relu(fc1(x)))``: d_in -> hidden -> d_out.

    ``init="normal"`` draws every weight from N(0, 1) as seed 004 does (use it
    with ``bias=False`` and ``loss="sse"`` to reproduce the seed); ``"default"``
    is PyTorch's Linear initialisation.
    """

    family = "mlp"
    description = "2-layer ReLU MLP, gradients by autograd"

    def __init__(
        self,
        d_in: int,
        hidden: int,
        d_out: int,
        task: str = "multiclass",
        loss: str | None = None,
        bias: bool = True,
        init: str = "default",
    ) -> None:
        super().__init__(task, loss)
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be a number of units >= 1, got {hidden!r}")
        if task == "binary" and d_out != 1:
            raise ValueError(f"a binary MLP has one output (d_out=1), not {d_out}")
        self.hparams = {
            "d_in": d_in,
            "hidden": hidden,
            "d_out": d_out,
            "task": task,
            "loss": self.loss_name,
            "bias": bias,
            "init": init,
        }
        self.fc1 = Linear(d_in, hidden, bias=bias)
        self.act = ReLU()
        self.fc2 = Linear(hidden, d_out, bias=bias)
        if init == "normal":
            for p in self.parameters():
                _normal(p)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


def _normal(p: Tensor) -> None:
    init.normal_(p, 0.0, 1.0)


class FunctionMLP(MLP):
    """The MLP with its ReLU as a user-style custom ``autograd.Function``."""

    gradients = "function"
    description = "2-layer MLP whose ReLU is a custom autograd.Function (MyReLU)"

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(MyReLU.apply(self.fc1(x)))


class ManualMLP(MLP):
    """The MLP with a hand-written backward::

    dout = dL/d(out)                    (from the loss)
    dW2 = dout.T @ a, db2 = sum(dout)   where a = relu(h), h = x @ W1.T + b1
    da = dout @ W2, dh = da * (h > 0)
    dW1 = dh.T @ x, db1 = sum(dh)
    """

    gradients = "manual"
    description = "2-layer MLP with a hand-written backward (no autograd)"

    #: (x, h, a) of the last forward, which backward reuses as a hand-written layer does
    _saved: tuple | None = None

    def forward(self, x: Tensor) -> Tensor:
        with no_grad():
            h = self.fc1(x)
            a = self.act(h)
            self._saved = (x, h, a) if self.training else None
            return self.fc2(a)

    def backward(self, x: Tensor, out: Tensor, y: Tensor, scale: float = 1.0) -> None:
        with no_grad():
            saved, self._saved = self._saved, None
            if saved is not None and saved[0] is x:
                _, h, a = saved
            else:  # called without the forward of this x: recompute it
                h = self.fc1(x)
                a = h.clamp(min=0)
            dout = LOSSES[self.loss_name].grad(out, y)
            if scale != 1.0:
                dout = dout * scale
            accumulate_grad(self.fc2.weight, dout.T.mm(a))
            da = dout.mm(self.fc2.weight)
            dh = da * (h > 0)
            accumulate_grad(self.fc1.weight, dh.T.mm(x))
            if self.fc2.bias is not None:
                accumulate_grad(self.fc2.bias, dout.sum(0))
                accumulate_grad(self.fc1.bias, dh.sum(0))
