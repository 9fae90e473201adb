"""Seed 001 (autograd part): z = 10 w^2 + 25 gives 40; Q = 3a^3 - b^2 with an external gradient."""

from __future__ import annotations

import gradkit as torch


def test_dz_dw() -> None:
    w = torch.tensor(2.0, requires_grad=True)
    y = w**2
    z = 10 * y + 25
    z.backward()
    assert str(w.grad) == "tensor(40.)"


def test_external_gradient() -> None:
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    external_grad = torch.tensor([1.0, 1.0])
    Q.backward(gradient=external_grad)
    assert str(a.grad) == "tensor([36., 81.])"
    assert str(b.grad) == "tensor([-12.,  -8.])"
