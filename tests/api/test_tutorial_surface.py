"""Issue 15: the PyTorch-tutorial APIs gradkit lacked, each run as tutorial-shaped code with
``import gradkit as torch`` and checked against numbers computed independently (numpy,
by hand).  ``tests/ops/test_against_torch.py`` checks the same against PyTorch itself."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradkit
import gradkit as torch
from gradkit import nn, optim


# -- torch.sin / cos / pow: "Learning PyTorch with Examples", polynomial_autograd ------------
def _poly_reference(a, b, c, d, x, y, lr, steps):
    """The polynomial fit's gradient descent, by hand in float64 numpy."""
    for _ in range(steps):
        err = 2.0 * (a + b * x + c * x**2 + d * x**3 - y)
        ga, gb, gc, gd = err.sum(), (err * x).sum(), (err * x**2).sum(), (err * x**3).sum()
        a, b, c, d = a - lr * ga, b - lr * gb, c - lr * gc, d - lr * gd
    return np.array([a, b, c, d])


def test_polynomial_autograd_tutorial() -> None:
    dtype = torch.float64
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    init = [0.3, -0.2, 0.5, 0.1]
    a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in init)
    lr = 1e-6
    for _ in range(200):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    xs = np.linspace(-math.pi, math.pi, 2000)
    want = _poly_reference(*init, xs, np.sin(xs), lr, 200)
    got = np.array([a.item(), b.item(), c.item(), d.item()])
    np.testing.assert_allclose(got, want, rtol=1e-11)


def test_sin_cos_values_and_gradients() -> None:
    x = torch.tensor([0.0, 0.5, -1.25, math.pi / 2], dtype=torch.float64, requires_grad=True)
    (x.sin() * 2 + torch.cos(x) * 3).sum().backward()
    xs = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xs) - 3 * np.sin(xs), rtol=1e-15)
    assert torch.sin(torch.tensor([math.pi / 2])).item() == 1.0
    assert torch.cos(torch.tensor(0.0)).item() == 1.0
    assert torch.sin(torch.tensor([1, 2])).dtype == torch.float32  # ints give floats
    assert x.sin().grad_fn.name() == "SinBackward0"
    assert x.cos().grad_fn.name() == "CosBackward0"


@pytest.mark.parametrize("p", [2, 3, 4, 5, 6, 7, 8, 3.0])
def test_small_integer_powers_take_the_multiply_path(p, monkeypatch) -> None:
    from gradkit.ops import elementwise

    calls = []
    ipow = elementwise._ipow
    monkeypatch.setattr(elementwise, "_ipow", lambda a, n: calls.append(n) or ipow(a, n))
    xs = np.array([-1.5, -0.3, 0.0, 0.7, 2.0])
    x = torch.tensor(xs, requires_grad=True)
    y = x**p
    y.sum().backward()
    # forward a ** p and backward a ** (p - 1) both multiply (p = 2's backward is 2 * a)
    assert calls == ([2] if p == 2 else [int(p), int(p) - 1])
    calls.clear()
    x**2.5
    x**9
    assert calls == []
    np.testing.assert_allclose(y.detach().numpy(), xs**p, rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), p * xs ** (p - 1), rtol=1e-14)
    assert y.grad_fn.name() == "PowBackward0"
    # x ** 3 is x * x * x bit for bit (PyTorch's special case), in float32 too
    x32 = torch.tensor(xs.astype(np.float32))
    x3 = (x32**3).numpy()
    if p == 3:
        np.testing.assert_array_equal(x3, xs.astype(np.float32) ** 2 * xs.astype(np.float32))


def test_integer_power_of_int_tensor_stays_int() -> None:
    t = torch.tensor([1, -2, 3]) ** 3
    assert t.dtype == torch.int64
    assert t.tolist() == [1, -8, 27]


# -- log1p: the stable BCE form log1p(exp(-|z|)) ---------------------------------------------
def test_log1p_stable_bce() -> None:
    z = torch.tensor([-30.0, -1.0, 0.25, 2.0, 40.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    loss = (z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()
    loss.backward()
    zs, ys = z.detach().numpy(), y.numpy()
    want = np.mean(np.maximum(zs, 0) - zs * ys + np.log1p(np.exp(-np.abs(zs))))
    assert loss.item() == pytest.approx(want, rel=1e-15)
    sig = 1 / (1 + np.exp(-zs))
    np.testing.assert_allclose(z.grad.numpy(), (sig - ys) / 5, rtol=1e-12, atol=1e-300)
    tiny = torch.tensor([1e-10], dtype=torch.float64)
    assert tiny.log1p().item() == pytest.approx(1e-10 - 5e-21, rel=1e-15)  # log(1 + x) loses it
    assert torch.tensor(-1.0).log1p().item() == -math.inf
    assert z.log1p().grad_fn.name() == "Log1PBackward0"


# -- Tensor.norm -----------------------------------------------------------------------------
def test_norm_values_and_gradients() -> None:
    a = np.array([[3.0, -4.0, 0.0], [1.0, 2.0, -2.0]])
    x = torch.tensor(a, requires_grad=True)
    n = x.norm()
    assert n.item() == pytest.approx(math.sqrt(34), rel=1e-15)
    n.backward()
    np.testing.assert_allclose(x.grad.numpy(), a / math.sqrt(34), rtol=1e-15)
    assert n.grad_fn.name() == "LinalgVectorNormBackward0"
    np.testing.assert_allclose(x.norm(dim=1).detach().numpy(), [5.0, 3.0])
    np.testing.assert_allclose(torch.norm(x, p=1, dim=0).detach().numpy(), [4.0, 6.0, 2.0])
    assert x.norm(p=float("inf")).item() == 4.0
    assert x.norm(dim=1, keepdim=True).shape == (2, 1)
    assert x.norm(p=3).item() == pytest.approx(np.sum(np.abs(a) ** 3) ** (1 / 3), rel=1e-15)
    z = torch.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]  # 0 at the origin, as PyTorch (not nan)
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor"):
        torch.tensor([1, 2]).norm()


# -- torch.autograd.Variable and the typed constructors: two_layer_net_variable ---------------
def test_variable_tutorial() -> None:
    from gradkit.autograd import Variable

    torch.manual_seed(0)
    dtype = torch.FloatTensor
    N, D_in, H, D_out = 8, 5, 4, 3
    x = Variable(torch.randn(N, D_in).type(dtype), requires_grad=False)
    y = Variable(torch.randn(N, D_out).type(dtype), requires_grad=False)
    w1 = Variable(torch.randn(D_in, H).type(dtype), requires_grad=True)
    w2 = Variable(torch.randn(H, D_out).type(dtype), requires_grad=True)
    w1_0, w2_0 = w1.detach().numpy().copy(), w2.detach().numpy().copy()
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    # the hand-written backward of the same net (the tutorial's numpy version)
    xn, yn = x.numpy(), y.numpy()
    h = xn @ w1_0
    hr = np.maximum(h, 0)
    g = 2 * (hr @ w2_0 - yn)
    gw2 = hr.T @ g
    gh = g @ w2_0.T
    gh[h < 0] = 0
    np.testing.assert_allclose(w2.grad.numpy(), gw2, rtol=1e-5)
    np.testing.assert_allclose(w1.grad.numpy(), xn.T @ gh, rtol=1e-5)
    assert isinstance(w1, Variable) and isinstance(loss, torch.FloatTensor)
    assert w1.is_leaf and w1.requires_grad and not x.requires_grad
    with pytest.raises(IndexError) as e:  # PyTorch 0.3's loss.data[0]
        loss.data[0]
    assert str(e.value) == (
        "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
        "in C++ to convert a 0-dim tensor to a number"
    )


def test_variable_shares_storage_and_warns_on_volatile() -> None:
    from gradkit.autograd import Variable

    t = torch.zeros(3)
    v = Variable(t, requires_grad=True)
    assert v is not t and v.requires_grad and not t.requires_grad
    with torch.no_grad():
        v[0] = 5.0
    assert t[0].item() == 5.0
    with pytest.warns(UserWarning, match=r"volatile was removed and now has no effect"):
        Variable(t, volatile=True)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1.0, 2.0])


def test_typed_constructors() -> None:
    assert torch.FloatTensor(2, 3).shape == (2, 3)
    assert torch.FloatTensor(2, 3).dtype == torch.float32
    assert torch.LongTensor([1, 2]).tolist() == [1, 2]
    assert torch.LongTensor([1, 2]).dtype == torch.int64
    assert torch.DoubleTensor([0.5]).dtype == torch.float64
    assert isinstance(torch.ones(2), torch.FloatTensor)
    assert not isinstance(torch.ones(2), torch.LongTensor)
    assert not isinstance([1.0], torch.FloatTensor)
    assert torch.ones(2).type(torch.LongTensor).dtype == torch.int64
    assert torch.ones(2).type("torch.DoubleTensor").dtype == torch.float64
    assert torch.ones(2, dtype=torch.int64).type() == "gradkit.LongTensor"
    with pytest.raises(ValueError, match="invalid type"):
        torch.ones(2).type("torch.HalfTensor")


def test_zero_dim_index_write_says_item() -> None:
    with pytest.raises(IndexError, match=r"invalid index of a 0-dim tensor\. Use `tensor.item"):
        torch.tensor(1.0)[0] = 2.0
    assert torch.tensor(2.0)[None].shape == (1,)  # None and ... still index a 0-d tensor


# -- set_default_device / get_default_device -------------------------------------------------
@pytest.fixture
def default_device():
    yield
    torch.set_default_device(None)


def test_set_default_device(default_device) -> None:
    assert torch.get_default_device() == torch.device("cpu")
    torch.set_default_device("strict:1")  # the GPU stand-in
    assert torch.get_default_device() == torch.device("strict:1")
    for t in (torch.zeros(2), torch.randn(2), torch.tensor([1.0]), torch.arange(3)):
        assert t.device == torch.device("strict:1")
    layer = nn.Linear(3, 2)
    assert layer.weight.device == torch.device("strict:1")
    assert layer(torch.ones(4, 3)).shape == (4, 2)
    assert torch.from_numpy(np.zeros(2)).device.type == "cpu"  # shares numpy memory: cpu
    assert torch.zeros(2, device="cpu").device.type == "cpu"
    torch.set_default_device(None)
    assert torch.zeros(2).device.type == "cpu"


# -- accelerator and backends ----------------------------------------------------------------
def test_accelerator_and_backends_answer_truthfully() -> None:
    assert torch.accelerator.is_available() == torch.cuda.is_available()
    assert torch.accelerator.device_count() == torch.cuda.device_count()
    # the quickstart tutorial's line
    device = (
        torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    )
    assert torch.zeros(1, device=device).device.type == device
    if not torch.cuda.is_available():
        assert torch.accelerator.current_accelerator(check_available=True) is None
        assert torch.accelerator.current_device_index() == -1
    assert torch.backends.mps.is_available() is False
    assert torch.backends.mps.is_built() is False
    assert torch.backends.cudnn.is_available() is False
    assert torch.backends.cuda.is_available() == torch.cuda.is_available()
    torch.backends.cudnn.benchmark = True  # tutorials set it; it changes nothing


# -- size_average / reduce -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "reduction"),
    [
        ({"size_average": False}, "sum"),
        ({"size_average": True}, "mean"),
        ({"reduce": False}, "none"),
        ({"size_average": False, "reduce": True}, "sum"),
    ],
)
def test_legacy_size_average_and_reduce(kwargs, reduction) -> None:
    x = torch.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
    y = torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    msg = f"size_average and reduce args will be deprecated, please use reduction='{reduction}'"
    with pytest.warns(UserWarning, match=msg):
        loss_fn = nn.MSELoss(**kwargs)
    assert loss_fn.reduction == reduction
    out = loss_fn(x, y)
    want = {"sum": 21.0, "mean": 5.25, "none": [[1.0, 0.0], [4.0, 16.0]]}[reduction]
    assert out.tolist() == want
    with pytest.warns(UserWarning, match=msg):
        assert nn.functional.mse_loss(x, y, **kwargs).tolist() == want
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.MSELoss(reduction="sum")  # no warning without the legacy arguments


def test_legacy_arguments_on_every_loss() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    target = torch.tensor([0, 2])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        ce = nn.CrossEntropyLoss(size_average=False)
    assert ce(logits, target).item() == pytest.approx(
        nn.CrossEntropyLoss(reduction="sum")(logits, target).item()
    )
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.NLLLoss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.BCELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.BCEWithLogitsLoss(size_average=False).reduction == "sum"


# -- out= ------------------------------------------------------------------------------------
def test_out_argument() -> None:
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[0.5, 0.0], [1.0, -1.0]])
    out = torch.empty(2, 2)
    r = torch.matmul(a, b, out=out)
    assert r is out and out.tolist() == [[2.5, -2.0], [5.5, -4.0]]
    assert torch.mul(a, b, out=out) is out and out.tolist() == [[0.5, 0.0], [3.0, -4.0]]
    assert torch.mm(a, b, out=out).tolist() == [[2.5, -2.0], [5.5, -4.0]]
    assert torch.add(a, 1, out=out).tolist() == [[2.0, 3.0], [4.0, 5.0]]
    assert torch.sin(torch.zeros(2, 2), out=out).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.warns(UserWarning, match=r"An output with one or more elements was resized"):
        small = torch.zeros(3)
        torch.matmul(a, b, out=small)
    assert small.shape == (2, 2)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired"):
        torch.mul(a, b, out=torch.zeros(2, 2, dtype=torch.int64))
    w = torch.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        torch.matmul(a, w, out=out)
    assert str(e.value) == (
        "matmul(): functions with out=... arguments don't support automatic differentiation, "
        "but one of the arguments requires grad."
    )
    with torch.no_grad():
        torch.matmul(a, w, out=out)  # fine without autograd
    assert out.tolist() == [[3.0, 3.0], [7.0, 7.0]]


# -- optimizers: repr as PyTorch prints it ---------------------------------------------------
def test_optimizer_repr_matches_pytorch() -> None:
    p = [nn.Parameter(torch.zeros(2))]
    assert repr(optim.SGD(p, lr=0.1)) == (
        "SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
        "    foreach: None\n    fused: None\n    lr: 0.1\n    maximize: False\n"
        "    momentum: 0\n    nesterov: False\n    weight_decay: 0\n)"
    )
    assert repr(optim.RMSprop(p)) == (
        "RMSprop (\nParameter Group 0\n    alpha: 0.99\n    capturable: False\n"
        "    centered: False\n    differentiable: False\n    eps: 1e-08\n    foreach: None\n"
        "    lr: 0.01\n    maximize: False\n    momentum: 0\n    weight_decay: 0\n)"
    )
    assert "decoupled_weight_decay: True\n" in repr(optim.AdamW(p))
    assert "    weight_decay: 0.01\n" in repr(optim.AdamW(p))
    assert "initial_accumulator_value: 0\n" in repr(optim.Adagrad(p))
    with pytest.raises(RuntimeError, match="fused=True is not supported"):
        optim.Adam(p, fused=True)


# -- gradkit's module __getattr__ no longer undoes a monkeypatch -----------------------------
def test_monkeypatch_survives_failed_lookups(monkeypatch) -> None:
    def fake(*size, **kw):
        return "patched"

    monkeypatch.setattr(gradkit, "randn", fake)
    assert not hasattr(gradkit, "no_such_name")
    assert gradkit.randn(2) == "patched"
    with pytest.raises(AttributeError, match="module 'gradkit' has no attribute 'nope'"):
        gradkit.nope


# -- out of scope: convolutions, pooling, recurrent layers -----------------------------------
@pytest.mark.parametrize("name", ["Conv2d", "Conv1d", "MaxPool2d", "LSTM", "GRU", "RNN"])
def test_out_of_scope_layers_say_so(name) -> None:
    layer = getattr(nn, name)
    with pytest.raises(NotImplementedError, match=f"nn.{name}: .* outside gradkit's scope"):
        layer(3, 4)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = layer(1, 6, 5)

    with pytest.raises(NotImplementedError, match="outside gradkit's scope"):
        Net()


def test_out_of_scope_functions_say_so() -> None:
    from gradkit.nn.functional import conv2d, max_pool2d

    for fn in (conv2d, max_pool2d):
        with pytest.raises(NotImplementedError, match="outside gradkit's scope"):
            fn(torch.zeros(1, 1, 4, 4), 2)
