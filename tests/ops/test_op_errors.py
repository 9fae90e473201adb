"""Shape and dtype mistakes in ops raise what PyTorch raises, with its words and
the shapes involved (not the array library's ValueError), and change nothing."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit

from ..helpers import Backend, host

MISMATCH = (
    r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton dimension 0"
)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a + b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        lambda a, b: gradkit.maximum(a, b),
        lambda a, b: gradkit.where(a > 0, a, b),
        lambda a, b: a < b,
        lambda a, b: a == b,
    ],
    ids=["add", "mul", "div", "pow", "maximum", "where", "lt", "eq"],
)
def test_shapes_that_do_not_broadcast(fn, bk: Backend) -> None:
    a = bk.t(np.ones((2, 3)), requires_grad=True)
    b = bk.t(np.ones((3, 3)))
    with pytest.raises(RuntimeError, match=MISMATCH) as info:
        fn(a, b)
    assert "shapes [2, 3] and [3, 3] do not broadcast" in str(info.value)
    assert info.value.__suppress_context__  # no numpy traceback chained to it


def test_loss_of_shapes_that_do_not_broadcast(bk: Backend) -> None:
    a = bk.t(np.ones((2, 3)), requires_grad=True)
    with (
        pytest.warns(UserWarning, match="target size"),
        pytest.raises(RuntimeError, match=MISMATCH),
    ):
        gradkit.nn.functional.mse_loss(a, bk.t(np.ones((3, 3))))


def test_rightmost_mismatch_is_named(bk: Backend) -> None:
    with pytest.raises(
        RuntimeError, match=r"tensor a \(3\) .* tensor b \(2\) at non-singleton dimension 1"
    ):
        bk.t(np.ones((2, 3))) + bk.t(np.ones((3, 2)))


def test_matmul_batch_dims(bk: Backend) -> None:
    with pytest.raises(RuntimeError, match=MISMATCH):
        bk.t(np.ones((2, 2, 3))) @ bk.t(np.ones((3, 3, 1)))


def test_inplace_and_setitem(bk: Backend) -> None:
    x = bk.t(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=MISMATCH):
        x.add_(bk.t(np.ones((3, 3))))
    with pytest.raises(RuntimeError, match="in-place op cannot grow its tensor"):
        x.add_(bk.t(np.ones((2, 2, 3))))
    with pytest.raises(
        RuntimeError,
        match=r"expanded size of the tensor \(2\) must match the existing size \(3\) at "
        r"non-singleton dimension 1.  Target sizes: \[2, 2\].  Tensor sizes: \[3\]",
    ):
        x[:, :2] = bk.t(np.ones(3))
    np.testing.assert_equal(host(x), np.ones((2, 3)))  # nothing was written
    assert x._version == 0


def test_setitem_in_a_graph_keeps_the_graph(bk: Backend) -> None:
    w = bk.t(np.ones((2, 3)), requires_grad=True)
    y = w * 2
    with pytest.raises(RuntimeError, match="expanded size"):
        y[:, :2] = bk.t(np.ones(3), requires_grad=True)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    np.testing.assert_equal(host(w.grad), np.full((2, 3), 2.0))


@pytest.mark.parametrize(
    "fn",
    [lambda m, n: m - m, lambda m, n: m - 1, lambda m, n: 1 - m, lambda m, n: n - m],
    ids=["bool-bool", "bool-int", "int-bool", "float-bool"],
)
def test_bool_subtraction(fn, bk: Backend) -> None:
    m = bk.t([True, False])
    n = bk.t([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"with a bool tensor is not supported.*logical_not"):
        fn(m, n)


def test_bool_pow_bool(bk: Backend) -> None:
    m = bk.t([True, False])
    with pytest.raises(NotImplementedError, match="\"pow\" not implemented for 'Bool'"):
        m**m


def test_bool_negation(bk: Backend) -> None:
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor"):
        -bk.t([True, False])
