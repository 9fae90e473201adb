"""Seed 003: y = x + 2, z = y*y*2, mean, backward(v), ways to stop tracking, accumulation."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit as torch


def test_mean_backward_with_the_printed_x() -> None:
    x = torch.tensor([-1.5981, -0.8342, 1.3817], requires_grad=True)
    y = x + 2
    assert str(y) == "tensor([0.4019, 1.1658, 3.3817], grad_fn=<AddBackward0>)"
    z = y * y * 2
    # x was printed rounded to 4 decimals: what follows from it agrees to ~1e-3
    assert repr(z).endswith("grad_fn=<MulBackward0>)")
    np.testing.assert_allclose(z.detach().numpy(), [0.3230, 2.7184, 22.8725], atol=1e-3)
    z = z.mean()
    assert repr(z).endswith("grad_fn=<MeanBackward0>)")
    assert z.item() == pytest.approx(8.6379, abs=1e-3)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5358, 1.5545, 4.5090], atol=1e-4)


def test_vector_jacobian_product_with_the_printed_x() -> None:
    x = torch.tensor([-0.1240, -0.8386, 0.2818], requires_grad=True)
    y = x + 2
    z = y * y * 2
    np.testing.assert_allclose(z.detach().numpy(), [7.0389, 2.6977, 10.4135], atol=1e-3)
    v = torch.tensor([0.1, 1.0, 0.001], dtype=torch.float32)
    z.backward(v)
    np.testing.assert_allclose(x.grad.numpy(), [0.7504, 4.6456, 0.0091], atol=1e-4)


def test_three_ways_to_stop_tracking() -> None:
    x = torch.randn(3, requires_grad=True)
    assert "requires_grad=True" in str(x)
    x.requires_grad_(False)
    assert "requires_grad" not in str(x)

    x = torch.randn(3, requires_grad=True)
    x.detach()
    assert "requires_grad=True" in str(x)
    assert "requires_grad" not in str(x.detach())

    x = torch.randn(3, requires_grad=True)
    assert "grad_fn=<AddBackward0>" in str(x + 2)
    with torch.no_grad():
        assert "grad_fn" not in str(x + 2)


def test_gradients_accumulate_until_zeroed() -> None:
    weights = torch.ones(4, requires_grad=True)
    printed = []
    for _epoch in range(3):
        model_output = (weights * 3).sum()
        model_output.backward()
        printed.append(str(weights.grad))
    assert printed == [
        "tensor([3., 3., 3., 3.])",
        "tensor([6., 6., 6., 6.])",
        "tensor([9., 9., 9., 9.])",
    ]

    weights = torch.ones(4, requires_grad=True)
    printed = []
    for _epoch in range(3):
        (weights * 3).sum().backward()
        printed.append(str(weights.grad))
        weights.grad.zero_()
    assert printed == ["tensor([3., 3., 3., 3.])"] * 3
    np.testing.assert_array_equal(weights.grad.numpy(), np.zeros(4))
