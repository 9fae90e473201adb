"""Property test (MyGrad's approach): broadcastable shapes and values drawn by Hypothesis.

For every binary op, gradkit's forward must equal numpy's, its gradients must
equal central finite differences of the *numpy reference*, inputs must come
back unchanged, and no gradient may share memory with an input or another
gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

import gradkit

_ANY = st.floats(-3, 3, allow_nan=False, width=64)
_POS = st.floats(0.5, 3, allow_nan=False, width=64)
_AWAY0 = st.one_of(st.floats(-3, -0.5, width=64), st.floats(0.5, 3, width=64))

# name: (gradkit op, numpy reference, elements of a, elements of b)
BINARY = {
    "add": (lambda a, b: a + b, np.add, _ANY, _ANY),
    "sub": (lambda a, b: a - b, np.subtract, _ANY, _ANY),
    "mul": (lambda a, b: a * b, np.multiply, _ANY, _ANY),
    "div": (lambda a, b: a / b, np.divide, _ANY, _AWAY0),
    "pow": (lambda a, b: a**b, np.power, _POS, _ANY),
    "maximum": (gradkit.maximum, np.maximum, _ANY, _ANY),
    "minimum": (gradkit.minimum, np.minimum, _ANY, _ANY),
    "where": (
        lambda a, b: gradkit.where(a > 0, a, b),
        lambda a, b: np.where(a > 0, a, b),
        _AWAY0,
        _ANY,
    ),
}


def _numerical_grad(ref, a, b, w, which: int, eps: float = 1e-6) -> np.ndarray:
    x = (a, b)[which].copy()
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        args_p = (plus, b) if which == 0 else (a, plus)
        args_m = (minus, b) if which == 0 else (a, minus)
        g[i] = ((ref(*args_p) - ref(*args_m)) * w).sum() / (2 * eps)
    return g


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_binary_op_broadcasting_gradients(name: str, data) -> None:
    op, ref, ea, eb = BINARY[name]
    shapes = data.draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    sa, sb = shapes.input_shapes
    a = data.draw(arrays(np.float64, sa, elements=ea), label="a")
    b = data.draw(arrays(np.float64, sb, elements=eb), label="b")
    if name in ("maximum", "minimum"):
        assume(np.all(np.abs(np.subtract(a, b)) > 1e-3))  # no ties: not differentiable there
    a0, b0 = a.copy(), b.copy()
    ta = gradkit.tensor(a, requires_grad=True)
    tb = gradkit.tensor(b, requires_grad=True)

    out = op(ta, tb)
    expected = ref(a, b)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)

    w = data.draw(arrays(np.float64, expected.shape, elements=_ANY), label="upstream")
    (out * gradkit.tensor(w)).sum().backward()

    for which, t in enumerate((ta, tb)):
        num = _numerical_grad(ref, a, b, w, which)
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.numpy(), num, rtol=1e-4, atol=1e-5)

    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(ta.detach().numpy(), a0)
    np.testing.assert_array_equal(tb.detach().numpy(), b0)
    ga, gb = ta.grad.numpy(), tb.grad.numpy()
    for g in (ga, gb):
        for x in (ta.detach().numpy(), tb.detach().numpy()):
            assert not np.shares_memory(g, x)
    assert not np.shares_memory(ga, gb)
