"""0-d tensors, as PyTorch treats them: a reduction takes dim 0 or -1 (and
reduces nothing), and a 0-d bool mask selects the value or nothing."""

from __future__ import annotations

import numpy as np
import pytest

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
