"""gradcheck itself: it passes correct gradients and catches wrong ones, clearly."""

from __future__ import annotations

import pytest

import gradkit
from gradkit.autograd import Function, GradcheckError, gradcheck


class WrongSquare(Function):
    """x**2 with a planted bug: the backward forgets the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


def _x():
    return gradkit.tensor([0.5, -1.25, 2.0], dtype=gradkit.float64, requires_grad=True)


def test_passes_a_correct_function() -> None:
    assert gradcheck(lambda x: (x * x).sum(), (_x(),))


def test_catches_a_planted_wrong_backward() -> None:
    with pytest.raises(
        GradcheckError,
        match=r"output 0 with respect to input 0.*element 2.*numerical 4.*analytical 2",
    ):
        gradcheck(WrongSquare.apply, (_x(),))


def test_returns_false_when_asked_not_to_raise() -> None:
    assert gradcheck(WrongSquare.apply, (_x(),), raise_exception=False) is False


def test_warns_outside_float64() -> None:
    x = gradkit.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        assert gradcheck(lambda t: t * 3, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_needs_an_input_that_requires_grad() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda t: t * 2, (gradkit.ones(2, dtype=gradkit.float64),))


def test_catches_a_function_that_changes_its_input() -> None:
    def sneaky(t):
        out = t * 2
        t.data.add_(1.0)
        return out

    with pytest.raises(GradcheckError, match="changed input 0 in place"):
        gradcheck(sneaky, (_x(),))
