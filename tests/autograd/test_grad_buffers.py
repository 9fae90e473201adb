"""Gradient buffers: a dropped ``.grad``'s array is written by the next backward (no fresh
400 KB allocation to page-fault each step), never when anything else still holds it;
and the engine copies a gradient only when another node may still hold it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradkit as torch
from gradkit import nn


def _mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(50, 20), nn.ReLU(), nn.Linear(20, 3))
    x, y = torch.randn(8, 50), torch.randn(8, 3)
    return model, x, y


def _step(model, x, y, opt) -> None:
    loss = nn.functional.mse_loss(model(x), y, reduction="sum")
    opt.zero_grad()
    loss.backward()
    opt.step()


def _address(t) -> int:
    return t._data.__array_interface__["data"][0]


def test_backward_copies_no_fresh_gradient(monkeypatch) -> None:
    """The stale-id false positive: a fresh weight gradient whose id() an array freed
    earlier in the same backward had was copied as if another node held it."""
    model, x, y = _mlp()
    be = x._be
    copies: list[tuple] = []
    original = type(be).copy
    monkeypatch.setattr(
        type(be), "copy", lambda self, a: copies.append(a.shape) or original(self, a)
    )
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for _ in range(5):
        _step(model, x, y, opt)
    assert copies == []


def test_shared_gradient_is_still_copied() -> None:
    """``a + b`` hands the same gradient array to both leaves: one must get a copy."""
    a = torch.zeros(3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    (a + b).backward(torch.ones(3))
    assert a.grad._data is not b.grad._data
    a.grad += 1
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("drop", ["optimizer", "module", "assign"])
def test_dropped_gradient_array_is_reused(drop) -> None:
    model, x, y = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    w = model[0].weight
    _step(model, x, y, opt)
    before = _address(w.grad)
    if drop == "optimizer":
        opt.zero_grad()
    elif drop == "module":
        model.zero_grad()
    else:
        w.grad = None
    assert w.grad is None  # PyTorch's semantics: None until the next backward
    assert w._spare is not None and w._spare.__array_interface__["data"][0] == before
    nn.functional.mse_loss(model(x), y, reduction="sum").backward()
    assert _address(w.grad) == before and w._spare is None  # written in place, handed out once
    # the values are this backward's, not the old ones plus the new
    fresh = [p.detach().clone().requires_grad_() for p in model.parameters()]
    h = nn.functional.linear(x, fresh[0], fresh[1]).relu()
    nn.functional.mse_loss(
        nn.functional.linear(h, fresh[2], fresh[3]), y, reduction="sum"
    ).backward()
    np.testing.assert_array_equal(w.grad.numpy(), fresh[0].grad.numpy())


def test_held_gradient_is_never_overwritten() -> None:
    model, x, y = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    w = model[0].weight
    _step(model, x, y, opt)
    held = w.grad
    snapshot = held.numpy().copy()
    arr = model[2].weight.grad.numpy()  # the array alone, through numpy()
    arr_snapshot = arr.copy()
    opt.zero_grad()
    x2 = torch.randn(8, 50)
    nn.functional.mse_loss(model(x2), y, reduction="sum").backward()
    assert w.grad is not held and _address(w.grad) != _address(held)
    np.testing.assert_array_equal(held.numpy(), snapshot)
    np.testing.assert_array_equal(arr, arr_snapshot)


def test_weight_used_twice_gets_the_sum() -> None:
    w = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, 4, dtype=torch.float64)
    (x @ w).sum().backward()
    w.grad = None
    ((x @ w) @ w).sum().backward()
    wn, xn = w.detach().numpy(), x.numpy()
    g = np.ones((3, 4))
    want = (xn @ wn).T @ g + xn.T @ (g @ wn.T)
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=1e-12)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc behaviour")
def test_training_step_does_not_page_fault_under_default_malloc() -> None:
    """The tutorials' two_layer_net_nn step, in a fresh process with glibc's default
    malloc: it page-faulted ~163 times a step (its 400 KB weight gradient unmapped and
    mapped again); with the gradient's array reused, about none."""
    code = textwrap.dedent(
        """
        import resource
        import gradkit as torch
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(1000, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10)
        )
        x, y = torch.randn(64, 1000), torch.randn(64, 10)
        loss_fn = torch.nn.MSELoss(reduction="sum")
        opt = torch.optim.SGD(model.parameters(), lr=1e-4)
        def step():
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        for _ in range(20):
            step()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(100):
            step()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 100)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 20, out.stdout
