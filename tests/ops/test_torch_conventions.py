"""Where numpy and PyTorch differ, gradkit does what PyTorch does: 0-d tensors take
dim 0 or -1 in a reduction and 0-d bool masks; Python ints index before array
indices; an assigned value drops its leading size-1 dims."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit

from ..helpers import Backend, host


@pytest.mark.parametrize(
    ("name", "fn", "node"),
    [
        ("sum(0)", lambda x: x.sum(0), "SumBackward1"),
        ("sum(-1, keepdim)", lambda x: x.sum(-1, keepdim=True), "SumBackward1"),
        ("sum((0,))", lambda x: x.sum((0,)), "SumBackward1"),
        ("mean(-1)", lambda x: x.mean(-1), "MeanBackward1"),
        ("max(0)", lambda x: x.max(0)[0], None),
        ("min(-1)", lambda x: x.min(-1)[0], None),
    ],
)
def test_reduction_over_dim_of_a_scalar(name, fn, node, bk: Backend) -> None:
    x = bk.t(2.5, requires_grad=True)
    y = fn(x)
    y.backward()
    assert y.shape == ()
    assert float(host(y)) == 2.5
    assert float(host(x.grad)) == 1.0
    if node:
        assert y.grad_fn.name() == node


def test_scalar_dim_out_of_range(bk: Backend) -> None:
    x = bk.t(2.5, requires_grad=True)
    with pytest.raises(IndexError, match=r"range of \[-1, 0\], but got 1"):
        x.sum(1)


@pytest.mark.parametrize(("value", "kept"), [(2.5, [2.5]), (-1.0, [])])
def test_bool_mask_of_a_scalar(value, kept, bk: Backend) -> None:
    if bk.device.startswith("strict"):
        pytest.skip("array-api-strict has no 0-d boolean index")
    x = bk.t(value, requires_grad=True)
    y = x[x > 0]
    assert host(y).tolist() == kept
    y.sum().backward()
    assert float(host(x.grad)) == len(kept)


def test_bool_masks_use_their_own_dims(bk: Backend) -> None:
    """A mask consumes as many dims as it has: y[mask2d, None] is fine, a 3-d mask on a
    2-d tensor is too many indices."""
    y = bk.t([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    mask = y > 1.5
    out = y[mask]
    out.sum().backward()
    np.testing.assert_equal(host(out), [2.0, 3.0, 4.0])
    np.testing.assert_equal(host(y.grad), [[0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        y[mask[None]]


def test_ints_apply_before_array_indices(bk: Backend) -> None:
    """x[0, :, [1, 2]] is x[0][:, [1, 2]] in PyTorch, shape (3, 2); numpy's rule would
    move the indexed dim first, (2, 3). Reading and writing follow PyTorch's."""
    x = bk.t(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    idx = bk.t([1, 2], dtype=gradkit.int64)
    y = x[0, :, idx]
    np.testing.assert_equal(host(y), [[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]])
    (y * bk.t([[1.0, 2.0]])).sum().backward()
    expected = np.zeros((2, 3, 4))
    expected[0, :, 1], expected[0, :, 2] = 1.0, 2.0
    np.testing.assert_equal(host(x.grad), expected)
    if bk.device.startswith("strict"):
        return  # no assignment through integer arrays there
    z = x.detach().clone()
    z[0, :, idx] = bk.t([[10.0], [20.0], [30.0]])  # (3, 1) into the (3, 2) selection
    np.testing.assert_equal(host(z)[0, :, 1:3], [[10.0, 10.0], [20.0, 20.0], [30.0, 30.0]])


def test_setitem_value_with_leading_ones(bk: Backend) -> None:
    """A value's leading size-1 dims are dropped, as PyTorch does: x[0] = t of shape (1,)."""
    x = bk.t([1.0, 2.0, 3.0], requires_grad=True)
    v = bk.t([7.0], requires_grad=True)
    y = x * 1
    y[0] = v * 2
    y.sum().backward()
    np.testing.assert_equal(host(y), [14.0, 2.0, 3.0])
    np.testing.assert_equal(host(v.grad), [2.0])
    np.testing.assert_equal(host(x.grad), [0.0, 1.0, 1.0])
