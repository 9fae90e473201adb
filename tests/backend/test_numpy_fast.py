"""The cpu backend's fast paths give numpy's exact results for the arguments gradkit passes."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit
from gradkit.backend import numpy_fast as nf

FLOATS = [np.float16, np.float32, np.float64]


def _special(dtype, shape=(50, 70), seed=0):  # big enough for the bit-mask path
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    special = [np.nan, np.inf, -np.inf, -0.0]
    x.flat[: min(4, x.size)] = special[: x.size]
    return x


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("shape", [(50, 70), (3,)])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("zero", [0.0, 0])
def test_where_against_zero_is_bit_exact(dtype, zero, shape, monkeypatch):
    calls = []  # what the bit-mask path returned, each time where() took it
    keep = nf._keep

    def recording_keep(*args, **kwargs):
        calls.append(keep(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(nf, "_keep", recording_keep)
    x = _special(dtype, shape)
    cond = np.random.default_rng(1).standard_normal(x.shape) > 0
    cond.flat[:3] = False  # NaN and inf where the mask drops them: must become +0, not NaN
    assert _same_bits(nf.where(cond, x, zero), np.where(cond, x, zero))
    assert _same_bits(nf.where(cond, zero, x), np.where(cond, zero, x))
    assert not np.isnan(nf.where(cond, x, zero).flat[0])
    # the big case really takes the bit-mask path, both ways round (else this test
    # would only check np.where against itself)
    if x.size >= nf._KEEP_MIN_SIZE:
        assert len(calls) >= 2 and all(out is not None for out in calls)
    else:
        assert calls == []
    assert nf.where(cond, x, zero).base is None  # owns its memory (a leaf's .grad may take it)


@pytest.mark.parametrize(
    "case",
    ["minus_zero", "broadcast_cond", "int_array", "bool_other", "transposed"],
)
def test_where_other_arguments_match_numpy(case):
    x = _special(np.float32)
    cond = np.random.default_rng(2).standard_normal(x.shape) > 0
    args = {
        "minus_zero": (cond, x, -0.0),  # the sign of zero must survive: plain np.where
        "broadcast_cond": (cond[:1], x, 0.0),
        "int_array": (cond, np.arange(x.size).reshape(x.shape), 0),
        "bool_other": (cond, x, False),
        "transposed": (cond.T, x.T, 0.0),
    }[case]
    assert _same_bits(np.ascontiguousarray(nf.where(*args)), np.where(*args))


def test_where_does_not_touch_its_inputs():
    x = _special(np.float32)
    cond = x > 0
    before = x.copy(), cond.copy()
    nf.where(cond, x, 0.0)
    assert _same_bits(x, before[0]) and (cond == before[1]).all()


def test_relu_and_clamp_gradients_drop_nonfinite_upstream_gradients():
    """PyTorch's masks select, they don't multiply: inf * 0 would give NaN."""
    x = gradkit.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    upstream = gradkit.tensor([float("inf"), 1.0, float("nan"), 2.0])
    gradkit.nn.functional.relu(x).backward(upstream)
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 2.0]
    x.grad = None
    x.clamp(min=0).backward(upstream)
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 2.0]


@pytest.mark.parametrize(
    "name,args,kwargs",
    [
        ("sum", (np.arange(24.0).reshape(2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
        ("max", (np.arange(24.0).reshape(2, 3, 4),), {"axis": 1}),
        ("min", (np.arange(24.0).reshape(2, 3, 4),), {"axis": None}),
        ("mean", (np.arange(24.0).reshape(2, 3, 4),), {"axis": (0, 1)}),
        ("broadcast_to", (np.arange(3.0).reshape(3, 1), (2, 3, 4)), {}),
        ("broadcast_to", (np.array(2.5, dtype=np.float32), (4, 2)), {}),
        ("broadcast_to", (np.arange(3.0)[::2], (4, 2)), {}),
        ("expand_dims", (np.arange(6.0).reshape(2, 3),), {"axis": -1}),
        ("ones_like", (np.arange(6.0).reshape(2, 3),), {"dtype": np.float32}),
        ("argmax", (np.array([[1, 5, 2], [7, 0, 7]]),), {"axis": 1}),
    ],
)
def test_fast_paths_match_numpy(name, args, kwargs):
    got = getattr(nf, name)(*args, **kwargs)
    want = getattr(np, name)(*args, **kwargs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if name == "broadcast_to":  # a view, read-only as numpy's: writing would alias elements
        assert not got.flags.writeable and np.shares_memory(got, args[0])
