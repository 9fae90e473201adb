"""Tensors: creation, dtypes and promotion, conversions, printing, Python protocol."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import gradkit

from ..helpers import Backend, host

_REPRS = json.loads((Path(__file__).parent / "data" / "torch_repr.json").read_text())


# -- creation and dtypes --
def test_default_dtypes() -> None:
    assert gradkit.tensor([1.0, 2.0]).dtype is gradkit.float32
    assert gradkit.tensor([1, 2]).dtype is gradkit.int64
    assert gradkit.tensor([True]).dtype is gradkit.bool
    assert gradkit.tensor([1, 2.5]).dtype is gradkit.float32
    assert gradkit.tensor(np.array([1.0])).dtype is gradkit.float64
    assert gradkit.tensor(np.array([1], dtype=np.int32)).dtype is gradkit.int32
    assert gradkit.scalar_tensor(0).dtype is gradkit.float32
    assert gradkit.zeros(2, 3).dtype is gradkit.float32
    assert gradkit.arange(5).dtype is gradkit.int64
    assert gradkit.arange(0, 1, 0.25).dtype is gradkit.float32
    assert gradkit.float is gradkit.float32 and gradkit.double is gradkit.float64
    assert gradkit.long is gradkit.int64


def test_shapes_given_every_way() -> None:
    for t in (
        gradkit.zeros(2, 3),
        gradkit.zeros((2, 3)),
        gradkit.zeros([2, 3]),
        gradkit.ones(gradkit.zeros(2, 3).shape),
        gradkit.randn(2, 3),
        gradkit.empty(2, 3),
    ):
        assert t.shape == (2, 3)
    assert repr(gradkit.zeros(2, 3).shape) == "gradkit.Size([2, 3])"
    t = gradkit.zeros(2, 3, 4)
    assert t.size(1) == 3 and t.size(-1) == 4 and t.dim() == 3 and t.ndim == 3 and t.numel() == 24


def test_tensor_copies_but_from_numpy_shares() -> None:
    a = np.array([1.0, 2.0], dtype=np.float32)
    t, s = gradkit.tensor(a), gradkit.from_numpy(a)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0] and s.tolist() == [9.0, 2.0]


def test_bad_data_is_refused_clearly() -> None:
    with pytest.raises(
        ValueError, match=r"ragged.*expected sequence of length 2 at dim 1 \(got 3\)"
    ):
        gradkit.tensor([[1, 2], [3, 4, 5]])
    with pytest.raises(TypeError, match="str"):
        gradkit.tensor("1.0")
    with pytest.raises(TypeError, match="str"):
        gradkit.tensor(["a", "b"])
    with pytest.raises(TypeError, match="objects of type NoneType"):
        gradkit.tensor([1.0, None])
    with pytest.raises(TypeError, match=r"numpy\.uint16"):
        gradkit.from_numpy(np.zeros(2, dtype=np.uint16))
    with pytest.raises(RuntimeError, match="negative dimension"):
        gradkit.zeros(2, -1)


def test_manual_seed_is_reproducible(bk: Backend) -> None:
    gradkit.manual_seed(42)
    a = host(gradkit.randn(5, device=bk.device))
    b = host(gradkit.rand(3, device=bk.device))
    gradkit.manual_seed(42)
    np.testing.assert_array_equal(host(gradkit.randn(5, device=bk.device)), a)
    np.testing.assert_array_equal(host(gradkit.rand(3, device=bk.device)), b)
    assert ((b >= 0) & (b < 1)).all()


def test_randperm_and_randint() -> None:
    gradkit.manual_seed(0)
    p = gradkit.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype is gradkit.int64
    r = gradkit.randint(3, 7, (100,))
    assert r.min().item() >= 3 and r.max().item() < 7


# -- promotion (PyTorch's rules, not numpy's) --
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (gradkit.tensor([1, 2]), 2.5, gradkit.float32),
        (gradkit.tensor([1, 2]), 2, gradkit.int64),
        (gradkit.tensor([1.0]), 2, gradkit.float32),
        (gradkit.tensor([1.0]), np.float64(2.0), gradkit.float32),
        (gradkit.tensor([1.0]), gradkit.tensor([1.0], dtype=gradkit.float64), gradkit.float64),
        (gradkit.tensor([1, 2]), gradkit.tensor([1.0]), gradkit.float32),
        (gradkit.tensor([True]), gradkit.tensor([3]), gradkit.int64),
        (gradkit.tensor([True]), 1.5, gradkit.float32),
        # a 0-d tensor of the same kind counts as a number does; of a higher kind, it wins
        (gradkit.tensor([1.0]), gradkit.tensor(2.0, dtype=gradkit.float64), gradkit.float32),
        (gradkit.tensor([1], dtype=gradkit.int32), gradkit.tensor(2), gradkit.int32),
        (gradkit.tensor([1]), gradkit.tensor(2.0, dtype=gradkit.float64), gradkit.float64),
        (gradkit.tensor(1.0), gradkit.tensor(2.0, dtype=gradkit.float64), gradkit.float64),
    ],
)
def test_promotion(a, b, expected) -> None:
    assert (a * b).dtype is expected
    assert (a + b).dtype is expected
    if not isinstance(b, gradkit.Tensor):
        assert (b * a).dtype is expected


def test_float_functions_of_ints_give_the_default_float() -> None:
    """exp, sigmoid, tanh of an int or bool tensor, as in PyTorch (relu keeps ints)."""
    ints = gradkit.tensor([0, 2])
    for out in (ints.exp(), ints.sigmoid(), ints.tanh(), gradkit.tensor([True]).sigmoid()):
        assert out.dtype is gradkit.float32
    np.testing.assert_allclose(ints.tanh().numpy(), np.tanh([0.0, 2.0]), rtol=1e-6)
    assert ints.relu().dtype is gradkit.int64


def test_division_of_ints_is_true_division() -> None:
    out = gradkit.tensor([1, 2]) / 2
    assert out.dtype is gradkit.float32 and out.tolist() == [0.5, 1.0]


# -- host conversion --
def test_item_tolist_numpy() -> None:
    t = gradkit.tensor([[1.5, 2.0]])
    assert t.tolist() == [[1.5, 2.0]]
    assert gradkit.tensor(2.5).item() == 2.5 and isinstance(gradkit.tensor(3).item(), int)
    with pytest.raises(RuntimeError, match="2 elements cannot be converted to Scalar"):
        t.item()
    assert isinstance(t.numpy(), np.ndarray)
    with pytest.raises(RuntimeError, match=r"requires grad.*detach\(\).numpy\(\)"):
        gradkit.ones(2, requires_grad=True).numpy()


def test_numpy_off_the_host_says_cpu_first() -> None:
    pytest.importorskip("array_api_strict")
    t = gradkit.ones(2, device="strict:1")
    with pytest.raises(TypeError, match=r"strict:1 device type tensor to numpy.*\.cpu\(\)"):
        t.numpy()
    assert t.cpu().numpy().tolist() == [1.0, 1.0]


def test_python_protocol() -> None:
    t = gradkit.tensor([1.0, 2.0, 3.0])
    assert len(t) == 3 and [x.item() for x in t] == [1.0, 2.0, 3.0]
    assert bool(gradkit.tensor([1.0])) and float(gradkit.tensor(2.0)) == 2.0
    assert f"{gradkit.tensor(math.pi):.3f}" == "3.142"
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    assert {t: 1}[t] == 1  # hashable by identity


# -- conversions between dtypes and devices --
def test_to_dtype_and_back_keeps_gradients() -> None:
    x = gradkit.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 2
    assert y.dtype is gradkit.float64 and y.grad_fn.next_functions[0][0].name() == "ToCopyBackward0"
    y.sum().backward()
    assert x.grad.dtype is gradkit.float32 and x.grad.tolist() == [2.0, 2.0]
    assert x.to(gradkit.float32) is x
    assert x.long().dtype is gradkit.int64 and not x.long().requires_grad


def test_device_moves_carry_gradients_back() -> None:
    pytest.importorskip("array_api_strict")
    x = gradkit.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("strict:1")
    assert y.device == gradkit.device("strict:1") and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.device.type == "cpu" and x.grad.tolist() == [2.0, 4.0]


# -- printing, exactly as PyTorch prints --
_MAKE = {
    "ints": lambda: gradkit.tensor([1, 2, 3]),
    "bools": lambda: gradkit.tensor([True, False]),
    "int_floats": lambda: gradkit.ones(5),
    "f64": lambda: gradkit.tensor([0.5, 1.25], dtype=gradkit.float64),
    "sci": lambda: gradkit.tensor([1e-5, 1.0, 300.0]),
    "big": lambda: gradkit.tensor([1e9, 2.0]),
    "neg": lambda: gradkit.tensor([-1.5981, -0.8342, 1.3817], requires_grad=True),
    "scalar": lambda: gradkit.tensor(3.1431),
    "empty": lambda: gradkit.tensor([]),
    "empty2d": lambda: gradkit.zeros(0, 3),
    "matrix": lambda: gradkit.tensor([[0.8998, 0.2096, 0.7179], [0.1837, 0.1437, 0.6708]]),
    "3d": lambda: gradkit.arange(8.0).reshape(2, 2, 2),
    "long_row": lambda: gradkit.arange(30.0) / 7,
    "summarized": lambda: gradkit.arange(2000.0),
    "summ2d": lambda: gradkit.arange(2000.0).reshape(40, 50),
    "nan_inf": lambda: gradkit.tensor([float("nan"), float("inf"), 1.0, -2.5]),
    "int_mode_nan": lambda: gradkit.tensor([1.0, float("nan")]),
    "neg_zero": lambda: gradkit.tensor([-0.0, 0.0, 1.5]),
    "f64_grad": lambda: gradkit.tensor([1.0, 2.0], dtype=gradkit.float64, requires_grad=True),
    "int32": lambda: gradkit.tensor([1, 2], dtype=gradkit.int32),
    "empty_int": lambda: gradkit.tensor([], dtype=gradkit.int64),
    "empty_bool2d": lambda: gradkit.zeros(2, 0, dtype=gradkit.bool),
}


@pytest.mark.parametrize("name", sorted(_MAKE))
def test_repr_matches_pytorch(name: str) -> None:
    assert repr(_MAKE[name]()) == _REPRS[name].replace("torch.", "gradkit.")


def test_repr_shows_grad_fn_and_device() -> None:
    x = gradkit.tensor([-1.5981, -0.8342, 1.3817], requires_grad=True)
    assert repr(x + 2) == "tensor([0.4019, 1.1658, 3.3817], grad_fn=<AddBackward0>)"
    pytest.importorskip("array_api_strict")
    assert repr(gradkit.ones(2, device="strict:1")) == "tensor([1., 1.], device='strict:1')"


def test_numpy_scalars_are_host_data() -> None:
    assert gradkit.tensor(np.float64(2.5)).dtype is gradkit.float64
    assert gradkit.tensor(np.float32(2.5), dtype=gradkit.float64).item() == 2.5
    with pytest.raises(TypeError, match=r"expected np\.ndarray"):
        gradkit.from_numpy(np.float64(1.0))
