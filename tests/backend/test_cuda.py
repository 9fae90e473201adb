"""Real cupy on a real GPU: gradcheck and a few training steps (skipped without one)."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not gradkit.cuda.is_available(), reason="cupy or a usable CUDA GPU is missing"
    ),
]


def test_gradcheck_on_cuda() -> None:
    x = gradkit.randn(3, 4, dtype=gradkit.float64, device="cuda", requires_grad=True)
    w = gradkit.randn(4, 2, dtype=gradkit.float64, device="cuda", requires_grad=True)
    assert gradkit.autograd.gradcheck(lambda a, b: a.mm(b).clamp(min=0).sum(), (x, w))


def test_training_steps_on_cuda_match_cpu() -> None:
    gradkit.manual_seed(0)
    host = [gradkit.randn(*s) for s in ((32, 16), (32, 4), (16, 8), (8, 4))]

    def run(dev):
        x, y, w1, w2 = (t.to(dev, copy=True) for t in host)
        w1.requires_grad_()
        w2.requires_grad_()
        losses = []
        for _ in range(5):
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
            losses.append(loss.item())
            loss.backward()
            with gradkit.no_grad():
                w1 -= 1e-3 * w1.grad
                w2 -= 1e-3 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        return losses

    np.testing.assert_allclose(run("cuda"), run("cpu"), rtol=1e-4)
