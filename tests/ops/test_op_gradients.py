"""Every op in the table: gradcheck in float64, and device1/cupy against float64 results."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit

from ..helpers import DEVICE_BACKENDS, FD_BACKENDS, Backend, host
from .cases import CASES, make_inputs


def _skip_reason(case, bk: Backend) -> str | None:
    for prefix, why in case.skip.items():
        if bk.device.startswith(prefix):
            return why
    return None


@pytest.mark.parametrize("bk", FD_BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_gradcheck(case, bk: Backend) -> None:
    """Finite differences agree with backward (float64 on the host backends)."""
    if why := _skip_reason(case, bk):
        pytest.skip(why)
    fn, inputs = make_inputs(case, bk.device, bk.dtype)
    assert gradkit.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def _forward_and_grads(case, bk: Backend) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    fn, inputs = make_inputs(case, bk.device, bk.dtype)
    out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    diff = [x for x in inputs if x.requires_grad]
    rng = np.random.default_rng(7)
    grads_out = [bk.t(rng.uniform(-1, 1, o.shape)) for o in outs]
    got = gradkit.autograd.grad(outs, diff, grads_out, allow_unused=True)
    return [host(o) for o in outs], [None if g is None else host(g) for g in got]


@pytest.mark.parametrize("bk", DEVICE_BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_float64(case, bk: Backend) -> None:
    """Forward values and gradients on this backend equal the numpy float64 ones."""
    if why := _skip_reason(case, bk):
        pytest.skip(why)
    ref_out, ref_grads = _forward_and_grads(case, Backend("cpu", gradkit.float64, True))
    out, grads = _forward_and_grads(case, bk)
    for o, r in zip(out, ref_out):
        np.testing.assert_allclose(o, r, rtol=1e-4, atol=1e-4)
    for g, r in zip(grads, ref_grads):
        assert (g is None) == (r is None)
        if g is not None:
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_grads_have_input_shape_and_dtype(case, bk: Backend) -> None:
    """Each leaf's .grad has its leaf's shape and dtype (broadcast dims summed back)."""
    if why := _skip_reason(case, bk):
        pytest.skip(why)
    fn, inputs = make_inputs(case, bk.device, bk.dtype)
    out = fn(*inputs)
    out.sum().backward()
    for x in inputs:
        if x.requires_grad:
            assert x.grad is not None
            assert x.grad.shape == x.shape
            assert x.grad.dtype is x.dtype
            assert x.grad.device == x.device
