"""Layers and losses: gradcheck, PyTorch's values, numerical stability."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit
from gradkit import nn
from gradkit.autograd import gradcheck
from gradkit.nn import functional as F


def _f64(*shape, positive=False):
    gradkit.manual_seed(sum(shape))
    t = (
        gradkit.rand(*shape, dtype=gradkit.float64) * 0.8 + 0.1
        if positive
        else gradkit.randn(*shape, dtype=gradkit.float64)
    )
    return t.requires_grad_()


def test_linear_gradcheck() -> None:
    lin = nn.Linear(4, 3).double()
    x = _f64(5, 4)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), (x, lin.weight, lin.bias))
    assert gradcheck(lin, (x,))


def test_linear_with_no_features_is_pytorchs() -> None:
    """nn.Linear(0, 2) and (3, 0) work as in PyTorch: the init warns that it has nothing
    to fill, the bias of a layer with no inputs is 0, and the shapes come out right."""
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        empty_in = nn.Linear(0, 2)
    assert empty_in.bias.tolist() == [0.0, 0.0]
    assert empty_in(gradkit.ones(5, 0)).tolist() == [[0.0, 0.0]] * 5
    with pytest.warns(UserWarning, match="no-op"):
        assert nn.Linear(3, 0)(gradkit.ones(5, 3)).shape == (5, 0)


@pytest.mark.parametrize(
    "layer",
    [
        nn.ReLU(),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.Softmax(dim=1),
        nn.LogSoftmax(dim=1),
        nn.Identity(),
        nn.Flatten(),
    ],
    ids=lambda m: type(m).__name__,
)
def test_activation_modules_gradcheck(layer) -> None:
    x = _f64(3, 4)
    with gradkit.no_grad():
        x += 0.05 * (x > 0) - 0.05 * (x <= 0)  # keep away from relu's kink
    assert gradcheck(layer, (x,))


def test_sequential_gradcheck() -> None:
    seq = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    assert gradcheck(seq, (_f64(5, 3),))


@pytest.mark.parametrize(
    ("loss", "target"),
    [
        (nn.MSELoss(), lambda: _f64(4, 3)),
        (nn.MSELoss(reduction="sum"), lambda: _f64(4, 3)),
        (nn.BCEWithLogitsLoss(), lambda: _f64(4, 3, positive=True)),
        (
            nn.BCEWithLogitsLoss(pos_weight=gradkit.tensor([1.0, 2.0, 0.5], dtype=gradkit.float64)),
            lambda: _f64(4, 3, positive=True),
        ),
        (nn.CrossEntropyLoss(), lambda: gradkit.tensor([0, 2, 1, 2])),
        (nn.CrossEntropyLoss(reduction="sum"), lambda: gradkit.tensor([0, 2, 1, 2])),
    ],
    ids=["mse", "mse-sum", "bce-logits", "bce-logits-posweight", "ce", "ce-sum"],
)
def test_loss_modules_gradcheck(loss, target) -> None:
    x = _f64(4, 3)
    assert gradcheck(lambda a: loss(a, target()), (x,))


def test_bce_module_gradcheck() -> None:
    p = _f64(4, 3, positive=True)
    y = _f64(4, 3, positive=True).detach()
    assert gradcheck(lambda a: nn.BCELoss()(a, y), (p,))


def test_losses_are_stable_at_extreme_logits() -> None:
    """Logits of +-1000 give finite losses and gradients, with PyTorch's values."""
    x = gradkit.tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    y = gradkit.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert loss.tolist() == [1000.0, 1000.0, 0.0, 0.0]
    loss.sum().backward()
    assert x.grad.tolist() == [1.0, -1.0, 0.0, 0.0]

    z = gradkit.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], requires_grad=True)
    ce = F.cross_entropy(z, gradkit.tensor([0, 0]), reduction="none")
    assert ce.tolist() == [0.0, 2000.0]
    ce.sum().backward()
    assert z.grad.tolist() == [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]]
    assert np.isfinite(F.binary_cross_entropy(F.sigmoid(x), y).item())


def test_loss_values_match_pytorch() -> None:
    """Reference values computed with torch 2.13 on these inputs."""
    x = gradkit.tensor([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])
    t = gradkit.tensor([2, 0])
    assert F.cross_entropy(x, t).item() == pytest.approx(0.30222341418266296, abs=1e-6)
    y = gradkit.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert F.binary_cross_entropy_with_logits(x, y).item() == pytest.approx(
        0.6280290484428406, abs=1e-6
    )
    assert F.mse_loss(x, y).item() == pytest.approx(0.871666669845581, abs=1e-6)
    p = gradkit.tensor([0.0, 1.0, 0.3])
    assert F.binary_cross_entropy(
        p, gradkit.tensor([1.0, 0.0, 1.0]), reduction="none"
    ).tolist() == (pytest.approx([100.0, 100.0, 1.2039728164672852], abs=1e-5))


def test_target_shape_errors() -> None:
    with pytest.raises(ValueError, match="Target size"):
        F.binary_cross_entropy_with_logits(gradkit.zeros(4, 1), gradkit.zeros(4))
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(gradkit.zeros(4, 1), gradkit.zeros(4))
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(gradkit.zeros(2, 3), gradkit.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="expected scalar type Long"):
        F.nll_loss(gradkit.zeros(2, 3), gradkit.tensor([0.0, 1.0]).reshape(2)[:1].expand(2) * 1)


def test_loss_input_errors_are_pytorchs() -> None:
    """Probabilities outside [0, 1] (NaN included) and float targets of the wrong shape
    raise what PyTorch raises, with what to use instead."""
    with pytest.raises(RuntimeError, match=r"between 0 and 1.*binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(gradkit.tensor([1.5, 0.5]), gradkit.ones(2))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(gradkit.tensor([float("nan"), 0.5]), gradkit.ones(2))
    assert (
        F.binary_cross_entropy(gradkit.tensor([1.0, 0.0]), gradkit.tensor([0.0, 1.0])).item() == 100
    )
    with pytest.raises(
        RuntimeError, match=r"for class indices use an int64 target \(target.long\(\)\)"
    ):
        F.cross_entropy(gradkit.ones(4, 3), gradkit.ones(4))
    with pytest.raises(
        ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(3\)"
    ):
        F.cross_entropy(gradkit.ones(4, 3), gradkit.ones(3, 3))
