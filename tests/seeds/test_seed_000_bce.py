"""Seed 000: z = x @ w + b, BCE with logits, grad_fn names, backward, no_grad."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradkit as torch


def test_cells_run_as_written() -> None:
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.rand(5, 3, requires_grad=True)
    b = torch.rand(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    assert str(x) == "tensor([1., 1., 1., 1., 1.])"
    assert repr(z.grad_fn).startswith("<AddBackward0 object at 0x")
    assert repr(loss.grad_fn).startswith("<BinaryCrossEntropyWithLogitsBackward0 object at 0x")
    assert w.grad is None
    loss.backward()
    # every row of w.grad is sigmoid(z) / 3, and b.grad equals a row
    expected = 1 / (1 + np.exp(-z.detach().numpy())) / 3
    np.testing.assert_allclose(w.grad.numpy(), np.tile(expected, (5, 1)), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), expected, rtol=1e-6)
    z = torch.matmul(x, w) + b
    assert z.requires_grad
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    assert not z.requires_grad


def test_printed_numbers_are_reproduced() -> None:
    """With the w the notebook printed, and the b its gradients imply, loss is 3.1431."""
    w = torch.tensor(
        [
            [0.8998, 0.2096, 0.7179],
            [0.1837, 0.1437, 0.6708],
            [0.0515, 0.2548, 0.9957],
            [0.2768, 0.9083, 0.8156],
            [0.3747, 0.4235, 0.3415],
        ],
        requires_grad=True,
    )
    # the notebook printed w rounded to 4 decimals, so sums agree to about 1e-4
    np.testing.assert_allclose(
        torch.matmul(torch.ones(5), w).detach().numpy(), [1.7865, 1.9400, 3.5415], atol=2e-4
    )
    sig = 3 * np.array([0.3061, 0.3041, 0.3296])  # printed grads are sigmoid(z) / 3
    z_target = np.log(sig / (1 - sig))
    b = torch.tensor(
        z_target - torch.matmul(torch.ones(5), w).detach().numpy(),
        dtype=torch.float32,
        requires_grad=True,
    )
    z = torch.matmul(torch.ones(5), w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.zeros(3))
    assert loss.item() == pytest.approx(3.1431, abs=2e-3)
    loss.backward()
    np.testing.assert_allclose(b.grad.numpy(), [0.3061, 0.3041, 0.3296], atol=1e-4)
    assert w.grad.tolist()[4] == pytest.approx([0.3061, 0.3041, 0.3296], abs=1e-4)
    assert math.isclose(loss.item(), float(np.mean(np.log1p(np.exp(z_target)))), rel_tol=1e-5)
