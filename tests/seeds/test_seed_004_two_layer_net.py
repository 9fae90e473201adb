"""Seed 004: the 2-layer ReLU net trained 500 steps by hand, with clamp and with MyReLU.

The loss must fall as the seed's does, and match the same loop written in plain
numpy with a hand-written backward, step for step, from the same initial values.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradkit as torch

N, H, D_in, D_out = 64, 100, 1000, 10
lr = 1e-6


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


def _data(seed: int):
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.randn(N, D_in, device=device, dtype=torch.float)
    y = torch.randn(N, D_out, device=device, dtype=torch.float)
    w1 = torch.randn(D_in, H, device=device, dtype=torch.float, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, dtype=torch.float, requires_grad=True)
    return x, y, w1, w2


def _train(x, y, w1, w2, relu=None, steps=500):
    losses = []
    for _t in range(steps):
        if relu is None:
            y_pred = x.mm(w1).clamp(min=0).mm(w2)
        else:
            y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


def _numpy_floor(x, y, w1, w2, steps=500):
    """The same loop in numpy with the hand-written backward (PyTorch's numpy tutorial)."""
    x, y, w1, w2 = (a.detach().numpy().copy() for a in (x, y, w1, w2))
    losses = []
    for _t in range(steps):
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        losses.append(float(np.square(y_pred - y).sum()))
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_h[h < 0] = 0
        grad_w1 = x.T.dot(grad_h)
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
    return losses


@pytest.mark.parametrize("use_custom_relu", [False, True], ids=["clamp", "MyReLU"])
def test_loss_falls_as_in_the_seed(use_custom_relu: bool) -> None:
    x, y, w1, w2 = _data(0)
    losses = _train(x, y, w1, w2, MyReLU.apply if use_custom_relu else None)
    assert 1e6 < losses[0] < 1e9  # the seed starts at 2.8e7 and 3.2e7
    assert losses[-1] < 1e-3  # and ends near 1e-4
    assert all(b < a for a, b in zip(losses[:300:10], losses[10:300:10]))


def test_matches_the_numpy_hand_written_loop() -> None:
    x, y, w1, w2 = _data(1)
    expected = _numpy_floor(x, y, w1, w2, steps=100)
    got = _train(x, y, w1, w2, steps=100)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    x, y, w1, w2 = _data(1)
    got_custom = _train(x, y, w1, w2, MyReLU.apply, steps=100)
    np.testing.assert_allclose(got_custom, expected, rtol=1e-5)


def test_custom_function_graph() -> None:
    x, _y, w1, w2 = _data(2)
    y_pred = MyReLU.apply(x.mm(w1)).mm(w2)
    assert y_pred.grad_fn.name() == "MmBackward0"
    relu_node, _ = y_pred.grad_fn.next_functions[0]
    assert relu_node.name() == "MyReLUBackward"
    assert relu_node.next_functions[0][0].name() == "MmBackward0"
