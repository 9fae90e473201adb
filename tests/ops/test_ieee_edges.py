"""Ops that make inf or nan from finite inputs do it as PyTorch does: the IEEE
value, silently (no numpy RuntimeWarning pointing at gradkit's own lines),
forward and backward."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradkit

from ..helpers import Backend, host

INF, NAN = math.inf, math.nan

#: (name, fn, input, expected output, expected gradient of output.sum())
EDGES = [
    ("log(0)", lambda x: x.log(), 0.0, -INF, INF),
    ("log(-1)", lambda x: gradkit.log(x), -1.0, NAN, -1.0),
    ("sqrt(0)", lambda x: x.sqrt(), 0.0, 0.0, INF),
    ("sqrt(-1)", lambda x: gradkit.sqrt(x), -1.0, NAN, NAN),
    ("1/x at 0", lambda x: 1 / x, 0.0, INF, -INF),
    ("x/0", lambda x: x / 0, 1.0, INF, INF),
    ("0/0", lambda x: x / x, 0.0, NAN, NAN),
    ("reciprocal(0)", lambda x: x.reciprocal(), 0.0, INF, -INF),
    ("x**-1 at 0", lambda x: x**-1, 0.0, INF, -INF),
    ("x**0.5 at -1", lambda x: x**0.5, -1.0, NAN, NAN),
    ("exp overflow", lambda x: x.exp(), 1000.0, INF, INF),
    ("2**x overflow", lambda x: 2**x, 2000.0, INF, INF),
    ("x**x at 0", lambda x: x**x, 0.0, 1.0, 0.0),  # PyTorch's convention, see below
]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(("name", "fn", "value", "out", "grad"), EDGES, ids=[e[0] for e in EDGES])
def test_inf_nan_silently(name, fn, value, out, grad, bk: Backend) -> None:
    x = bk.t([value, 1.0], requires_grad=True)
    y = fn(x)
    y.sum().backward()
    np.testing.assert_equal(host(y)[0], out)
    np.testing.assert_equal(host(x.grad)[0], grad)


@pytest.mark.filterwarnings("error")
def test_inplace_division_by_zero(bk: Backend) -> None:
    x = bk.t([1.0, 0.0])
    with gradkit.no_grad():
        x /= 0
    np.testing.assert_equal(host(x), [INF, NAN])


@pytest.mark.filterwarnings("error")
def test_pow_tensor_conventions(bk: Backend) -> None:
    """PyTorch's pow formulas where calculus has no answer: d/da a**b is 0 where b
    is 0 (even at a = 0), d/db is 0 at a = 0 with b >= 0, and nan for a < 0."""
    a = bk.t([0.0, 0.0, -2.0, 0.0], requires_grad=True)
    b = bk.t([0.0, 2.0, 2.0, -1.0], requires_grad=True)
    y = a**b
    y.sum().backward()
    np.testing.assert_equal(host(y), [1.0, 0.0, 4.0, INF])
    np.testing.assert_equal(host(a.grad), [0.0, 0.0, -4.0, -INF])
    np.testing.assert_equal(host(b.grad), [0.0, 0.0, NAN, -INF])
    e = bk.t([0.0, -1.0], requires_grad=True)
    (0**e).sum().backward()  # number ** tensor
    np.testing.assert_equal(host(e.grad), [0.0, -INF])
