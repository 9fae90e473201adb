"""Seed 002: the BCE example with randn; disabling tracking with no_grad and detach."""

from __future__ import annotations

import gradkit as torch


def test_cells_run_as_written() -> None:
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    assert f"Gradient function for z = {z.grad_fn}".startswith(
        "Gradient function for z = <AddBackward0 object at 0x"
    )
    assert f"{loss.grad_fn}".startswith("<BinaryCrossEntropyWithLogitsBackward0 object at")
    loss.backward()
    assert w.grad.shape == (5, 3) and b.grad.shape == (3,)
    assert (w.grad[0] == b.grad).all()

    z = torch.matmul(x, w) + b
    assert z.requires_grad is True
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    assert z.requires_grad is False

    z = torch.matmul(x, w) + b
    z_det = z.detach()
    assert z_det.requires_grad is False


def test_graph_is_rebuilt_every_pass() -> None:
    w = torch.randn(5, 3, requires_grad=True)
    nodes = set()
    for _ in range(3):
        z = torch.matmul(torch.ones(5), w)
        nodes.add(id(z.grad_fn))
        z.sum().backward()
        del z
    assert w.grad is not None and len(nodes) >= 1
