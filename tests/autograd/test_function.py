"""Custom ``autograd.Function``s: PyTorch's contract, checked by gradcheck, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit
from gradkit.autograd import Function, gradcheck
from gradkit.models.mlp import MyReLU  # seed 004's custom ReLU

from ..helpers import Backend, host


class ScaledSquare(Function):
    """Two inputs, a non-tensor argument, the output saved, needs_input_grad honoured."""

    @staticmethod
    def forward(ctx, x, w, scale):
        out = x * x * w * scale
        ctx.save_for_backward(x, w)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = g * 2 * x * w * ctx.scale if ctx.needs_input_grad[0] else None
        gw = g * x * x * ctx.scale if ctx.needs_input_grad[1] else None
        return gx, gw, None


class SortedPair(Function):
    """Two outputs, one of them not differentiable."""

    @staticmethod
    def forward(ctx, x):
        values, idx = x.max(0)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.n = x.shape[0]
        return values * 2, idx

    @staticmethod
    def backward(ctx, g, g_idx):
        (idx,) = ctx.saved_tensors
        out = gradkit.zeros(ctx.n, *g.shape, dtype=g.dtype, device=g.device)
        for j in range(g.shape[0]):
            out[idx[j].item(), j] = g[j] * 2
        return out


def test_myrelu_gradcheck(bk: Backend) -> None:
    if not bk.fd:
        pytest.skip("finite differences run in float64 on the host")
    x = bk.t(np.array([-1.5, -0.4, 0.3, 2.0]), requires_grad=True)
    assert gradcheck(MyReLU.apply, (x,))


def test_myrelu_names_and_values(bk: Backend) -> None:
    x = bk.t([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    y = MyReLU.apply(x)
    assert y.grad_fn.name() == "MyReLUBackward"
    assert repr(y.grad_fn).startswith("<MyReLUBackward object at 0x")
    (y * bk.t([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_allclose(host(x.grad), [0.0, 2.0, 0.0, 4.0])


def test_two_inputs_and_a_constant(bk: Backend) -> None:
    if bk.fd:
        x = bk.t([0.5, -1.0, 2.0], requires_grad=True)
        w = bk.t([1.5, 0.2, -0.7], requires_grad=True)
        assert gradcheck(lambda a, b: ScaledSquare.apply(a, b, 3.0), (x, w))
    x = bk.t([0.5, -1.0], requires_grad=True)
    w = bk.t([1.5, 0.2])
    ScaledSquare.apply(x, w, 2.0).sum().backward()
    np.testing.assert_allclose(host(x.grad), [2 * 2 * 0.5 * 1.5, 2 * 2 * -1.0 * 0.2], rtol=1e-6)
    assert w.grad is None


def test_non_differentiable_output(bk: Backend) -> None:
    x = bk.t(np.array([[1.0, 5.0], [3.0, 2.0]]), requires_grad=True)
    values, idx = SortedPair.apply(x)
    assert values.requires_grad and not idx.requires_grad
    values.sum().backward()
    np.testing.assert_allclose(host(x.grad), [[0.0, 2.0], [2.0, 0.0]])


def test_forward_runs_without_recording() -> None:
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen["enabled"] = gradkit.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Probe.apply(gradkit.ones(2, requires_grad=True))
    assert seen["enabled"] is False


def test_wrong_number_of_gradients() -> None:
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = gradkit.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"BadBackward returned an incorrect number of gradients"
    ):
        Bad.apply(x).sum().backward()


def test_broadcast_gradient_is_summed_as_in_pytorch() -> None:
    """A backward may return its gradient at the broadcast shape: the engine sums it back
    to the input's shape, as PyTorch's validate_outputs does (and as the built-in ops rely on)."""

    class Unreduced(Function):
        @staticmethod
        def forward(ctx, x, w):
            return x.expand(3, 2) * w

        @staticmethod
        def backward(ctx, g):
            return g * 2.0, g  # (3, 2) for inputs of shapes (2,) and (3, 1)

    x = gradkit.ones(2, requires_grad=True)
    w = gradkit.ones(3, 1, requires_grad=True)
    out = Unreduced.apply(x, w)
    out.backward(gradkit.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    assert x.grad.tolist() == [18.0, 24.0]  # 2 * column sums
    assert w.grad.tolist() == [[3.0], [7.0], [11.0]]  # row sums
    assert x.grad.shape == (2,) and w.grad.shape == (3, 1)


def test_gradient_of_an_incompatible_shape_is_caught() -> None:
    """A gradient that is not the input's shape nor one it broadcasts to fails loudly."""

    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return gradkit.ones(3)  # shape (3,) for an input of shape (2,)

    x = gradkit.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"WrongBackward returned an invalid gradient.*\[3\].*\[2\]"
    ):
        Wrong.apply(x).sum().backward()


def test_wrong_gradient_type_is_caught() -> None:
    class Numbers(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return 2.0

    with pytest.raises(TypeError, match="expected a Tensor or None"):
        Numbers.apply(gradkit.ones(2, requires_grad=True)).sum().backward()


def test_saved_tensors_are_freed_after_backward() -> None:
    x = gradkit.tensor([-1.0, 2.0], requires_grad=True)
    y = MyReLU.apply(x)
    node = y.grad_fn
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        node.saved_tensors


def test_inplace_change_of_saved_input_is_caught() -> None:
    x = gradkit.tensor([-1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = MyReLU.apply(h)
    with gradkit.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_save_for_backward_rejects_non_tensors() -> None:
    class Saver(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="can only save tensors"):
        Saver.apply(gradkit.ones(1, requires_grad=True))
