"""The model zoo: twins agree with autograd, every model and Function passes gradcheck."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradkit
from gradkit.autograd import gradcheck
from gradkit.models import LOSSES, MODELS, MyReLU, family_of

N, D_IN, HIDDEN = 7, 5, 6


def _targets(task: str, d_out: int):
    gradkit.manual_seed(3)
    if task == "multiclass":
        return gradkit.randint(0, d_out, (N,))
    if task == "binary":
        return gradkit.randint(0, 2, (N, 1)).double()
    return gradkit.randn(N, d_out, dtype=gradkit.float64)


def _cases():
    yield "logreg", {"dim": D_IN}, "binary", "bce_with_logits", 1
    yield "logreg", {"dim": D_IN, "n_classes": 4}, "multiclass", "cross_entropy", 4
    for loss, task, d_out in [
        ("cross_entropy", "multiclass", 3),
        ("mse", "regression", 2),
        ("sse", "regression", 2),
        ("bce_with_logits", "binary", 1),
    ]:
        for bias in (True, False):
            args = {
                "d_in": D_IN,
                "hidden": HIDDEN,
                "d_out": d_out,
                "task": task,
                "loss": loss,
                "bias": bias,
            }
            yield "mlp", args, task, loss, d_out


CASES = list(_cases())


@pytest.mark.parametrize(
    ("family", "args", "task", "loss", "d_out"),
    CASES,
    ids=[f"{c[0]}-{c[3]}-{c[1].get('bias', True)}-{c[4]}" for c in CASES],
)
def test_twins_agree_with_autograd(family, args, task, loss, d_out) -> None:
    """Same parameters, same batch: every gradient mode gives autograd's gradients."""
    gradkit.manual_seed(0)
    models = {mode: cls(**args).double() for mode, cls in family_of(family).items()}
    ref = models["autograd"].state_dict()
    x = gradkit.randn(N, D_IN, dtype=gradkit.float64)
    y = _targets(task, d_out)
    grads, losses = {}, {}
    for mode, m in models.items():
        m.load_state_dict(ref)
        out = m(x)
        loss_value = m.loss(out, y)
        if m.manual:
            assert not out.requires_grad  # no graph was built
            m.backward(x, out, y)
        else:
            loss_value.backward()
        losses[mode] = loss_value.item()
        grads[mode] = {n: p.grad.numpy() for n, p in m.named_parameters()}
    assert len(models) == (2 if family == "logreg" else 3)
    for mode, g in grads.items():
        assert losses[mode] == pytest.approx(losses["autograd"], rel=1e-12)
        for name, value in g.items():
            np.testing.assert_allclose(
                value, grads["autograd"][name], rtol=0, atol=1e-10, err_msg=f"{mode} {name}"
            )


def test_manual_backward_accumulates_like_autograd() -> None:
    from gradkit.models import ManualMLP

    m = ManualMLP(3, 4, 2, task="regression").double()
    x, y = gradkit.randn(5, 3, dtype=gradkit.float64), gradkit.randn(5, 2, dtype=gradkit.float64)
    m.backward(x, m(x), y)
    once = m.fc1.weight.grad.numpy().copy()
    m.backward(x, m(x), y)
    np.testing.assert_allclose(m.fc1.weight.grad.numpy(), 2 * once)


def test_manual_backward_reuses_the_forward() -> None:
    """As a hand-written layer does, backward uses the activations of the forward of the
    same x instead of recomputing them; without that forward it recomputes; eval keeps none."""
    from gradkit.models import ManualMLP

    m = ManualMLP(3, 4, 2, task="regression").double()
    calls = []
    fc1_forward = m.fc1.forward
    m.fc1.forward = lambda x: calls.append(1) or fc1_forward(x)
    x, y = gradkit.randn(5, 3, dtype=gradkit.float64), gradkit.randn(5, 2, dtype=gradkit.float64)
    out = m(x)
    m.backward(x, out, y)
    assert len(calls) == 1 and m._saved is None
    reused = m.fc1.weight.grad.numpy().copy()
    m.zero_grad()
    m.backward(x.clone(), out, y)  # another x: recomputed, same gradients
    assert len(calls) == 2
    np.testing.assert_allclose(m.fc1.weight.grad.numpy(), reused)
    m.eval()
    m(x)
    assert m._saved is None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_gradcheck(name) -> None:
    cls = MODELS[name]
    if cls.gradients == "manual":
        pytest.skip("manual twins compute gradients without autograd (compared above)")
    gradkit.manual_seed(1)
    model = (cls(D_IN) if cls.family == "logreg" else cls(D_IN, HIDDEN, 3)).double()
    x = gradkit.randn(4, D_IN, dtype=gradkit.float64)
    # gradcheck perturbs its inputs in place, so a closure over the parameters works
    assert gradcheck(lambda *params: model(x), list(model.parameters()))


def test_manual_softmax_logreg_backward_matches_finite_differences() -> None:
    """The hand-derived softmax cross-entropy gradient, (softmax(z) - onehot(y)) / N through
    the linear layer, against central differences of the loss (gradcheck's tolerances)."""
    from gradkit.models import ManualLogisticRegression

    gradkit.manual_seed(2)
    m = ManualLogisticRegression(D_IN, n_classes=4).double()
    x = gradkit.randn(N, D_IN, dtype=gradkit.float64)
    y = gradkit.randint(0, 4, (N,))
    m.backward(x, m(x), y)
    eps = 1e-6
    for name, p in m.named_parameters():
        flat = p.data.numpy().reshape(-1)
        numeric = np.empty_like(flat)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = m.loss(m(x), y).item()
            flat[i] = old - eps
            down = m.loss(m(x), y).item()
            flat[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(
            p.grad.numpy().reshape(-1), numeric, atol=1e-5, rtol=1e-3, err_msg=name
        )


def test_logreg_is_binary_for_two_classes_and_softmax_for_more() -> None:
    from gradkit.models import LogisticRegression

    binary, multi = LogisticRegression(3), LogisticRegression(3, n_classes=5)
    assert (binary.task, binary.loss_name, tuple(binary.linear.weight.shape)) == (
        "binary",
        "bce_with_logits",
        (1, 3),
    )
    assert (multi.task, multi.loss_name, tuple(multi.linear.weight.shape)) == (
        "multiclass",
        "cross_entropy",
        (5, 3),
    )
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2, got 1"):
        LogisticRegression(3, n_classes=1)


def test_custom_relu_function_gradcheck() -> None:
    x = gradkit.tensor([-1.3, -0.2, 0.4, 2.2], dtype=gradkit.float64, requires_grad=True)
    assert gradcheck(MyReLU.apply, (x,))
    assert MyReLU.apply(x).grad_fn.name() == "MyReLUBackward"


def test_registry_declares_task_loss_and_mode() -> None:
    assert set(MODELS) == {"logreg", "manual_logreg", "mlp", "function_mlp", "manual_mlp"}
    assert {m: c.gradients for m, c in MODELS.items()} == {
        "logreg": "autograd",
        "manual_logreg": "manual",
        "mlp": "autograd",
        "function_mlp": "function",
        "manual_mlp": "manual",
    }
    m = MODELS["mlp"](4, 8, 3)
    assert (m.task, m.loss_name) == ("multiclass", "cross_entropy")
    assert MODELS["logreg"](4).loss_name == "bce_with_logits"
    assert all(loss.task in ("binary", "multiclass", "regression") for loss in LOSSES.values())


def test_model_option_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="loss 'mse' is for regression tasks, not multiclass"):
        MODELS["mlp"](4, 8, 3, loss="mse")
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        MODELS["mlp"](4, 8, 3, task="ranking")
    with pytest.raises(ValueError, match="one output"):
        MODELS["mlp"](4, 8, 3, task="binary")
    with pytest.raises(ValueError, match="hidden must be a number of units >= 1, got 0"):
        MODELS["mlp"](4, 0, 3)
    with pytest.raises(TypeError, match=r"autograd: call loss\.backward"):
        MODELS["mlp"](4, 8, 3).backward(None, None, None)


def test_seed004_recipe_model_learns() -> None:
    """MLP(bias=False, init='normal', loss='sse') is seed 004's net: < 1e-3 in 500 steps."""
    gradkit.manual_seed(0)
    model = MODELS["mlp"](1000, 100, 10, task="regression", loss="sse", bias=False, init="normal")
    x, y = gradkit.randn(64, 1000), gradkit.randn(64, 10)
    opt = gradkit.optim.SGD(model.parameters(), lr=1e-6)
    for _ in range(500):
        opt.zero_grad()
        loss = model.loss(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3


def test_family_of_a_name_or_a_class() -> None:
    from gradkit.models import MLP, FunctionMLP, LogisticRegression, ManualMLP

    assert family_of("mlp") == {"autograd": MLP, "function": FunctionMLP, "manual": ManualMLP}
    assert family_of(ManualMLP) == family_of("manual_mlp") == family_of("mlp")
    assert set(family_of(LogisticRegression)) == {"autograd", "manual"}

    class Own(gradkit.nn.Module):  # a user's class: no family, no twins
        pass

    assert family_of(Own) == {}


class _Data:
    """What from_data reads of a dataset."""

    def __init__(self, task: str, n_features: int, n_outputs: int, classes: list) -> None:
        self.name, self.task, self.classes = "d.csv", task, classes
        self.n_features, self.n_outputs = n_features, n_outputs


def test_models_say_what_they_take_from_the_data() -> None:
    from gradkit.errors import ConfigError
    from gradkit.models import MLP, LogisticRegression, ManualMLP, data_kwargs

    three = _Data("multiclass", 5, 3, ["a", "b", "c"])
    assert LogisticRegression.from_data(three, {}, "logreg") == {"dim": 5, "n_classes": 3}
    assert MLP.from_data(three, {"d_in": 5}, "mlp") == {"task": "multiclass", "d_in": 5, "d_out": 3}
    assert data_kwargs(ManualMLP, three, {}, "manual_mlp")["d_out"] == 3
    with pytest.raises(
        ConfigError, match=re.escape("model=logreg needs class labels, but d.csv is a")
    ):
        LogisticRegression.from_data(_Data("regression", 5, 1, []), {}, "logreg")
    with pytest.raises(
        ConfigError, match=re.escape("model.n_classes=2 does not fit the data: d.csv has 3")
    ):
        LogisticRegression.from_data(three, {"n_classes": 2}, "logreg")
    with pytest.raises(
        ConfigError, match=re.escape("model.task=binary but d.csv is a multiclass task")
    ):
        MLP.from_data(three, {"task": "binary"}, "mlp")

    class Own(gradkit.nn.Module):  # a user's class without from_data: sized as MLP is
        pass

    assert data_kwargs(Own, three, {}, "own") == {"task": "multiclass", "d_in": 5, "d_out": 3}
