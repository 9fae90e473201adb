"""SGD and Adam: PyTorch's formulas exactly, zero_grad semantics, state_dict, no graph."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradkit
from gradkit import optim
from gradkit.backend.transfer import count_transfers

STEPS = 20
_X = np.random.default_rng(0).standard_normal((6, 4))
_W0 = np.random.default_rng(1).standard_normal((3, 4))


def _loss_and_grad(w: np.ndarray) -> np.ndarray:
    """d/dw of sum(tanh(x @ w.T)^2), by hand."""
    z = _X @ w.T
    t = np.tanh(z)
    return (2 * t * (1 - t * t)).T @ _X


def _reference(kind: str, opts: dict) -> np.ndarray:
    """PyTorch's update formulas written out in float64 numpy."""
    w = _W0.copy()
    buf = m = v = vmax = None
    for step in range(1, STEPS + 1):
        g = _loss_and_grad(w)
        if opts.get("maximize"):
            g = -g
        g = g + opts.get("weight_decay", 0.0) * w
        if kind == "sgd":
            mom = opts.get("momentum", 0.0)
            if mom:
                buf = g.copy() if buf is None else mom * buf + (1 - opts.get("dampening", 0.0)) * g
                g = g + mom * buf if opts.get("nesterov") else buf
            w = w - opts["lr"] * g
        else:
            b1, b2 = opts.get("betas", (0.9, 0.999))
            m = np.zeros_like(w) if m is None else m
            v = np.zeros_like(w) if v is None else v
            m = m + (1 - b1) * (g - m)
            v = b2 * v + (1 - b2) * g * g
            if opts.get("amsgrad"):
                vmax = v.copy() if vmax is None else np.maximum(vmax, v)
                vv = vmax
            else:
                vv = v
            denom = np.sqrt(vv) / math.sqrt(1 - b2**step) + opts.get("eps", 1e-8)
            w = w - (opts["lr"] / (1 - b1**step)) * (m / denom)
    return w


def _run(cls, opts: dict, device: str = "cpu", steps: int = STEPS, w=None, opt=None, x=None):
    x = x if x is not None else gradkit.tensor(_X, dtype=gradkit.float64, device=device)
    w = w if w is not None else gradkit.tensor(_W0, device=device, requires_grad=True)
    opt = opt if opt is not None else cls([w], **opts)
    for _ in range(steps):
        opt.zero_grad()
        (x.mm(w.T).tanh() ** 2).sum().backward()
        opt.step()
    return w, opt


CONFIGS = [
    ("sgd", optim.SGD, {"lr": 0.05}),
    ("sgd", optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    ("sgd", optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd", optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", optim.SGD, {"lr": 0.05, "maximize": True}),
    ("adam", optim.Adam, {"lr": 0.01}),
    ("adam", optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adam", optim.Adam, {"lr": 0.01, "amsgrad": True}),
]


@pytest.mark.parametrize(("kind", "cls", "opts"), CONFIGS, ids=lambda v: str(v))
def test_trajectory_equals_pytorchs_formulas(kind, cls, opts) -> None:
    w, _ = _run(cls, opts)
    np.testing.assert_allclose(w.detach().numpy(), _reference(kind, opts), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kind", "cls", "opts"), CONFIGS, ids=lambda v: str(v))
def test_trajectory_equals_pytorch_itself(kind, cls, opts) -> None:
    torch = pytest.importorskip("torch")
    w, _ = _run(cls, opts)
    wt = torch.tensor(_W0, requires_grad=True)
    ot = getattr(torch.optim, cls.__name__)([wt], **opts)
    xt = torch.tensor(_X)
    for _ in range(STEPS):
        ot.zero_grad()
        (xt.mm(wt.T).tanh() ** 2).sum().backward()
        ot.step()
    np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_updates_are_in_place_and_build_no_graph() -> None:
    w = gradkit.tensor(_W0, requires_grad=True)
    storage = w._data
    _run(optim.Adam, {"lr": 0.01}, w=w, steps=3)
    assert w._data is storage and w.is_leaf and w.grad_fn is None and w.requires_grad


def test_a_step_on_device1_makes_no_transfers() -> None:
    pytest.importorskip("array_api_strict")
    w = gradkit.tensor(_W0, device="strict:1", requires_grad=True)
    x = gradkit.tensor(_X, device="strict:1")
    for cls, opts in ((optim.SGD, {"lr": 0.1, "momentum": 0.9}), (optim.Adam, {"lr": 0.1})):
        opt = cls([w], **opts)
        _run(cls, opts, steps=1, w=w, opt=opt, x=x)
        with count_transfers() as c:
            _run(cls, opts, steps=3, w=w, opt=opt, x=x)
        assert c.total == 0, c


def test_zero_grad_none_zeros_and_accumulation() -> None:
    w = gradkit.ones(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    (w * 3).sum().backward()  # no zero_grad: gradients add up
    assert w.grad.tolist() == [6.0, 6.0]
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # a parameter without a gradient is left alone
    assert w.tolist() == [1.0, 1.0]


def test_state_dict_layout_and_resume() -> None:
    w, opt = _run(optim.Adam, {"lr": 0.01}, steps=10)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][0]["lr"] == 0.01
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"].item() == 10.0
    # a fresh optimizer loaded from the state continues exactly as the original
    w2 = gradkit.tensor(w.detach().numpy().copy(), requires_grad=True)
    opt2 = optim.Adam([w2], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01
    _run(optim.Adam, {}, w=w, opt=opt, steps=10)
    _run(optim.Adam, {}, w=w2, opt=opt2, steps=10)
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())
    np.testing.assert_allclose(w.detach().numpy(), _reference("adam", {"lr": 0.01}), rtol=1e-12)


def test_sgd_momentum_state_dict() -> None:
    _, opt = _run(optim.SGD, {"lr": 0.1, "momentum": 0.9}, steps=2)
    sd = opt.state_dict()
    assert set(sd["state"][0]) == {"momentum_buffer"}
    assert set(sd["param_groups"][0]) == {
        "lr",
        "momentum",
        "dampening",
        "weight_decay",
        "nesterov",
        "maximize",
        "foreach",
        "differentiable",
        "fused",
        "params",
    }


def test_param_groups_and_errors() -> None:
    a = gradkit.ones(2, requires_grad=True)
    b = gradkit.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([a], lr=-1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Invalid betas: \[0.9\] \(expected two numbers"):
        optim.Adam([a], betas=(0.9,))
    with pytest.raises(ValueError, match=r"Invalid beta parameter at index 1: 1\.0"):
        optim.Adam([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        optim.SGD([a], lr=0.1, momentum=-1)


@pytest.mark.parametrize(
    ("cls", "option", "value", "missing"),
    [
        (gradkit.optim.Adam, "amsgrad", True, "max_exp_avg_sq"),
        (gradkit.optim.RMSprop, "centered", True, "grad_avg"),
        (gradkit.optim.RMSprop, "momentum", 0.5, "momentum_buffer"),
    ],
)
def test_an_option_turned_on_after_the_first_step_is_a_key_error_as_in_pytorch(
    cls, option, value, missing
) -> None:
    """PyTorch makes these buffers at the first step only, and a later step that needs
    one raises KeyError naming it (never another buffer used in its place)."""
    w = gradkit.randn(3, requires_grad=True)
    opt = cls([w], lr=0.1)
    w.grad = gradkit.ones(3)
    opt.step()
    opt.param_groups[0][option] = value
    before = w.detach().numpy().copy()
    with pytest.raises(KeyError, match=missing):
        opt.step()
    assert np.array_equal(w.detach().numpy(), before)
    assert opt.state[w]["step"] == 1
