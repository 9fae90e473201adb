"""RMSprop, AdamW and Adagrad against PyTorch's update formulas written out in float64 numpy
(``tests/ops/test_against_torch.py`` runs them against PyTorch itself)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradkit
from gradkit import optim

STEPS = 20
_X = np.random.default_rng(0).standard_normal((6, 4))
_W0 = np.random.default_rng(1).standard_normal((3, 4))


def _grad(w: np.ndarray) -> np.ndarray:
    """d/dw of sum(tanh(x @ w.T)^2), by hand."""
    t = np.tanh(_X @ w.T)
    return (2 * t * (1 - t * t)).T @ _X


def _rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, **kw):
    w = _W0.copy()
    v, gm, buf = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for _ in range(STEPS):
        g = _grad(w)
        g = -g if kw.get("maximize") else g
        g = g + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            gm = gm + (1 - alpha) * (g - gm)
            avg = np.sqrt(v - gm * gm) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            w = w - lr * buf
        else:
            w = w - lr * g / avg
    return w


def _adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, **kw):
    w = _W0.copy()
    b1, b2 = betas
    m, v, vmax = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t in range(1, STEPS + 1):
        g = _grad(w)
        g = -g if kw.get("maximize") else g
        w = w * (1 - lr * weight_decay)
        m = m + (1 - b1) * (g - m)
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2**t) + eps
        w = w - (lr / (1 - b1**t)) * (m / denom)
    return w


def _adagrad(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, **kw):
    w = _W0.copy()
    s = np.full_like(w, initial_accumulator_value)
    for t in range(1, STEPS + 1):
        g = _grad(w)
        g = -g if kw.get("maximize") else g
        g = g + weight_decay * w
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        w = w - clr * g / (np.sqrt(s) + eps)
    return w


CASES = [
    (optim.RMSprop, _rmsprop, {}),
    (optim.RMSprop, _rmsprop, {"lr": 0.01, "momentum": 0.9, "centered": True, "alpha": 0.9}),
    (optim.RMSprop, _rmsprop, {"weight_decay": 0.1, "maximize": True, "momentum": 0.5}),
    (optim.AdamW, _adamw, {}),
    (optim.AdamW, _adamw, {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True}),
    (optim.AdamW, _adamw, {"lr": 0.05, "maximize": True, "betas": (0.8, 0.99)}),
    (optim.Adagrad, _adagrad, {}),
    (optim.Adagrad, _adagrad, {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1}),
    (optim.Adagrad, _adagrad, {"initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
]


def _train(cls, opts: dict, steps: int = STEPS):
    x = gradkit.tensor(_X)
    w = gradkit.tensor(_W0, requires_grad=True)
    opt = cls([w], **opts)
    for _ in range(steps):
        opt.zero_grad()
        (x @ w.T).tanh().pow(2).sum().backward()
        opt.step()
    return w, opt


def _ids(cases: list) -> list[str]:
    return [f"{cls.__name__}-{opts}" for cls, _, opts in cases]


@pytest.mark.parametrize(("cls", "reference", "opts"), CASES, ids=_ids(CASES))
def test_update_matches_pytorch_formula(cls, reference, opts) -> None:
    w, _ = _train(cls, opts)
    np.testing.assert_allclose(w.detach().numpy(), reference(**opts), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("cls", "reference", "opts"), CASES[::3], ids=_ids(CASES[::3]))
def test_state_dict_round_trip_continues_exactly(cls, reference, opts) -> None:
    w, opt = _train(cls, opts, steps=10)
    sd = opt.state_dict()
    assert float(sd["state"][0]["step"].item()) == 10.0
    w2 = gradkit.tensor(w.detach().numpy().copy(), requires_grad=True)
    opt2 = cls([w2], **opts)
    opt2.load_state_dict(sd)
    x = gradkit.tensor(_X)
    for ww, oo in ((w, opt), (w2, opt2)):
        for _ in range(10):
            oo.zero_grad()
            (x @ ww.T).tanh().pow(2).sum().backward()
            oo.step()
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())
    np.testing.assert_allclose(w.detach().numpy(), reference(**opts), rtol=1e-12, atol=1e-14)


def test_state_layout_and_errors() -> None:
    w = gradkit.zeros(3, requires_grad=True)
    assert set(optim.Adagrad([w]).state_dict()["state"][0]) == {"step", "sum"}  # made at init
    with pytest.raises(ValueError, match=r"Invalid alpha value: -0\.5"):
        optim.RMSprop([w], alpha=-0.5)
    with pytest.raises(ValueError, match="Invalid lr_decay value: -1"):
        optim.Adagrad([w], lr_decay=-1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.AdamW([w], lr=-1)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        optim.RMSprop([w], differentiable=True)
