"""Elementwise ops: arithmetic, exp/log/log1p/sqrt/abs/sin/cos, clamp, maximum/minimum, where,
and the comparisons (which have no gradient).  Binary ops broadcast; their
backward returns the gradient at the broadcast shape and the engine sums it back
to each input's shape."""

from __future__ import annotations

import math
from typing import Any

from ..autograd.function import Op, mixed_device_error
from ..autograd.tensor import Tensor, new_tensor
from ._util import as_operand, float_dtype, is_float, operands, to_float

__all__ = [
    "add",
    "sub",
    "rsub",
    "mul",
    "div",
    "true_divide",
    "pow",
    "neg",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "sin",
    "cos",
    "abs",
    "reciprocal",
    "clamp",
    "clip",
    "maximum",
    "minimum",
    "where",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "isfinite",
    "isnan",
    "isinf",
    "sign",
]

#: the functions whose ``gradkit.X`` form takes PyTorch's ``out=`` (not the methods)
TAKES_OUT = (
    *("add", "sub", "mul", "div", "true_divide", "pow", "neg", "exp", "log", "log1p", "sqrt"),
    *("abs", "sin", "cos", "clamp", "clip", "maximum", "minimum"),
)


def _shape(x: Any) -> Any:
    return None if x.__class__ in (int, float, bool) else x.shape


# -- arithmetic --
class Add(Op):
    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        if a.__class__ is not b.__class__ or a.dtype != b.dtype:
            a, b = operands(ctx.xp, a, b)
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    @staticmethod
    def backward(ctx, g):
        gb = g if ctx.alpha == 1 else g * ctx.alpha if ctx.needs_input_grad[1] else None
        return g, gb


def _bool_sub_error(xp: Any, a: Any, b: Any) -> RuntimeError | None:
    """PyTorch refuses ``-`` on bool tensors (True - True is no bool); so do we."""
    if getattr(a, "dtype", None) != xp.bool and getattr(b, "dtype", None) != xp.bool:
        return None
    return RuntimeError(
        "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
        "to invert a mask, use the `~` or `logical_not()` operator instead; to count, convert "
        "first (mask.long() or mask.float())."
    )


class Sub(Op):
    node_name = "SubBackward0"

    @classmethod
    def explain(cls, xp, arrays: list, exc: Exception) -> Exception | None:
        return _bool_sub_error(xp, *arrays[:2]) or super().explain(xp, arrays, exc)

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        if a.__class__ is not b.__class__ or a.dtype != b.dtype:
            err = _bool_sub_error(ctx.xp, a, b)
            if err is not None:
                raise err
            a, b = operands(ctx.xp, a, b)
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    @staticmethod
    def backward(ctx, g):
        gb = None
        if ctx.needs_input_grad[1]:
            gb = -g if ctx.alpha == 1 else g * -ctx.alpha
        return g, gb


class Rsub(Sub):
    """``number - tensor``."""

    node_name = "RsubBackward1"


class Mul(Op):
    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        if a.__class__ is not b.__class__ or a.dtype != b.dtype:
            a, b = operands(ctx.xp, a, b)
        ctx.saved = (a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        need_a, need_b = ctx.needs_input_grad
        a, b = ctx.saved
        return (g * b if need_a else None), (g * a if need_b else None)


def _float_pair(xp, a, b):
    a, b = operands(xp, a, b)
    f = float_dtype(xp)
    if _shape(a) is not None and not is_float(xp, a.dtype):
        a = xp.astype(a, f)
    if _shape(b) is not None and not is_float(xp, b.dtype):
        b = xp.astype(b, f)
    if _shape(a) is None and _shape(b) is not None:
        a = float(a)
    if _shape(b) is None and _shape(a) is not None:
        b = float(b)
    return a, b


class Div(Op):
    node_name = "DivBackward0"
    fp_quiet = True  # g / b at b = 0

    @staticmethod
    def forward(ctx, a, b):
        same = a.__class__ is b.__class__ and a.dtype == b.dtype  # two float arrays: as is
        if not (same or b.__class__ is float) or not is_float(ctx.xp, a.dtype):
            a, b = _float_pair(ctx.xp, a, b)
        ctx.saved = (a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        need_a, need_b = ctx.needs_input_grad
        a, b = ctx.saved
        return (g / b if need_a else None), (-g * a / (b * b) if need_b else None)


class Reciprocal(Op):
    node_name = "ReciprocalBackward0"
    fp_quiet = True  # 1 / a at a = 0

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        if not is_float(xp, a.dtype):
            a = xp.astype(a, float_dtype(xp))
        out = 1.0 / a
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return (-g * out * out,)


#: whole exponents up to this one run as multiplications (numpy's generic float power
#: costs ~50x more; PyTorch special-cases 2 and 3 the same way)
_MUL_POW_MAX = 8


def _ipow(a: Any, n: int) -> Any:
    """``a ** n`` for a whole ``n >= 2``: square-and-multiply in place on one fresh array."""
    if n == 3:  # the polynomial tutorials' x ** 3
        out = a * a
        out *= a
        return out
    out = None
    for bit in bin(n)[3:]:  # the bits after the leading 1
        if out is None:
            out = a * a
        else:
            out *= out
        if bit == "1":
            out *= a
    return out


class PowScalar(Op):
    """``tensor ** number``; whole exponents 2..8 on the multiply path, forward and backward."""

    node_name = "PowBackward0"

    @staticmethod
    def forward(ctx, a, p=1):
        if p.__class__ is not int or a.dtype == ctx.xp.bool:  # int p keeps a's dtype
            a, p = operands(ctx.xp, a, p)
        ctx.p = p
        ctx.saved = (a,)
        if p.__class__ is not bool and 2 <= p <= _MUL_POW_MAX and p % 1 == 0:
            return _ipow(a, int(p))
        return a**p

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        p = ctx.p
        if p == 0:
            return (ctx.xp.zeros_like(g),)
        if p == 1:
            return (g,)
        if p == 2:
            return (g * (2.0 * a),)
        if 3 <= p <= _MUL_POW_MAX and p % 1 == 0:
            d = _ipow(a, int(p) - 1)  # a fresh array: scaled in place
            d *= p
            d *= g
            return (d,)
        return (g * (p * a ** (p - 1)),)


class PowScalarQuiet(PowScalar):
    """``tensor ** number`` for exponents that are not whole numbers >= 0, where
    ``a ** (p - 1)`` meets 0 or a negative base (``x ** 2`` stays on the plain op)."""

    node_name = "PowBackward0"
    fp_quiet = True


class PowTensor(Op):
    """``tensor ** tensor`` and ``number ** tensor``."""

    node_name = "PowBackward1"
    fp_quiet = True  # a ** (b - 1) and log(a) at a <= 0

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        if getattr(a, "dtype", None) == xp.bool and getattr(b, "dtype", None) == xp.bool:
            raise NotImplementedError(
                "\"pow\" not implemented for 'Bool' (both tensors are bool); convert one "
                "first, e.g. mask.long() ** other"
            )
        a, b = operands(xp, a, b)
        out = a**b
        ctx.saved = (a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        need_a, need_b = ctx.needs_input_grad
        a, b, out = ctx.saved
        ga = gb = None
        # PyTorch's formulas: 0 where the exponent is 0 (d/da a**0, even at a = 0), and
        # 0 for d/db at a = 0, b >= 0; log of a negative base is nan, as there
        if need_a:
            ga = g * b * a ** (b - 1)
            ga = xp.where(b == 0, xp.zeros_like(ga), ga)
        if need_b:
            if _shape(a) is None:
                log_a = math.log(a) if a > 0 else -math.inf if a == 0 else math.nan
                gb = g * out * log_a
                if a == 0:
                    gb = xp.where(b >= 0, xp.zeros_like(gb), gb)
            else:
                gb = g * out * xp.log(a)
                gb = xp.where((a == 0) & (b >= 0), xp.zeros_like(gb), gb)
        return ga, gb


class Rpow(PowTensor):
    """``number ** tensor``."""

    node_name = "PowBackward2"


class Neg(Op):
    node_name = "NegBackward0"

    @classmethod
    def explain(cls, xp, arrays: list, exc: Exception) -> Exception | None:
        if arrays[0].dtype != xp.bool:
            return None
        return RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead."
        )

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Exp(Op):
    node_name = "ExpBackward0"
    fp_quiet = True  # overflow

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.exp(to_float(ctx.xp, a))
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.saved[0],)


class Log(Op):
    node_name = "LogBackward0"
    fp_quiet = True  # log(0), g / a at a = 0

    @staticmethod
    def forward(ctx, a):
        a = to_float(ctx.xp, a)
        ctx.saved = (a,)
        return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.saved[0],)


class Log1p(Op):
    node_name = "Log1PBackward0"
    fp_quiet = True  # log1p(-1), g / (1 + a) at a = -1

    @staticmethod
    def forward(ctx, a):
        a = to_float(ctx.xp, a)
        ctx.saved = (a,)
        return ctx.xp.log1p(a)

    @staticmethod
    def backward(ctx, g):
        return (g / (ctx.saved[0] + 1.0),)


class Sin(Op):
    node_name = "SinBackward0"

    @staticmethod
    def forward(ctx, a):
        a = to_float(ctx.xp, a)
        ctx.saved = (a,)
        return ctx.xp.sin(a)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.xp.cos(ctx.saved[0]),)


class Cos(Op):
    node_name = "CosBackward0"

    @staticmethod
    def forward(ctx, a):
        a = to_float(ctx.xp, a)
        ctx.saved = (a,)
        return ctx.xp.cos(a)

    @staticmethod
    def backward(ctx, g):
        return (-g * ctx.xp.sin(ctx.saved[0]),)


class Sqrt(Op):
    node_name = "SqrtBackward0"
    fp_quiet = True  # sqrt(-1), g / (2 * out) at out = 0

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.sqrt(to_float(ctx.xp, a))
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g / (2.0 * ctx.saved[0]),)


class Abs(Op):
    node_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.saved = (a,)
        return ctx.xp.abs(a)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.xp.sign(ctx.saved[0]),)


# -- clamp, maximum, minimum, where --
def _clamp_bounds(xp, a, lo, hi):
    if (isinstance(lo, float) or isinstance(hi, float)) and not is_float(xp, a.dtype):
        a = xp.astype(a, float_dtype(xp))
    return a


class ClampMin(Op):
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, lo=None):
        xp = ctx.xp
        a = _clamp_bounds(xp, a, lo, None)
        ctx.saved = (a,)
        ctx.lo = lo
        return xp.maximum(a, lo)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        return (xp.where(ctx.saved[0] >= ctx.lo, g, 0.0),)


class ClampMax(Op):
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, hi=None):
        xp = ctx.xp
        a = _clamp_bounds(xp, a, None, hi)
        ctx.saved = (a,)
        ctx.hi = hi
        return xp.minimum(a, hi)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        return (xp.where(ctx.saved[0] <= ctx.hi, g, 0.0),)


class Clamp(Op):
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        xp = ctx.xp
        a = _clamp_bounds(xp, a, lo, hi)
        ctx.saved = (a,)
        ctx.lo, ctx.hi = lo, hi
        return xp.minimum(xp.maximum(a, lo), hi)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        a = ctx.saved[0]
        return (xp.where((a >= ctx.lo) & (a <= ctx.hi), g, 0.0),)


class Maximum(Op):
    node_name = "MaximumBackward0"
    pick_greater = True

    @classmethod
    def forward(cls, ctx, a, b):
        xp = ctx.xp
        a, b = operands(xp, a, b)
        ctx.saved = (a, b)
        return xp.maximum(a, b) if cls.pick_greater else xp.minimum(a, b)

    @classmethod
    def backward(cls, ctx, g):
        xp = ctx.xp
        a, b = ctx.saved
        wins = a > b if cls.pick_greater else a < b
        ga = xp.where(wins, g, xp.where(a == b, g * 0.5, 0.0))
        return ga, g - ga


class Minimum(Maximum):
    node_name = "MinimumBackward0"
    pick_greater = False


class Where(Op):
    node_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, cond, a, b):
        xp = ctx.xp
        if _shape(a) is None and _shape(b) is None:
            a = xp.asarray(a, device=_device(cond))
        if _shape(a) is None:
            b, a = operands(xp, b, a)
        elif _shape(b) is None:
            a, b = operands(xp, a, b)
        else:
            a, b = operands(xp, a, b)
        ctx.saved = (cond,)
        return xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        _, need_a, need_b = ctx.needs_input_grad
        (cond,) = ctx.saved
        ga = xp.where(cond, g, 0.0) if need_a else None
        gb = xp.where(cond, 0.0, g) if need_b else None
        return None, ga, gb


class MaskedFill(Where):
    """``x.masked_fill(mask, value)``: where(mask, value, x)."""

    node_name = "MaskedFillBackward0"


def _device(a):
    return getattr(a, "device", None)


# -- public functions --
def add(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input + alpha * other``, broadcasting."""
    if other.__class__ is not Tensor:
        other = as_operand(other)
    if alpha != 1:
        return Add.apply(input, other, alpha=alpha)
    return Add.apply(input, other)


def sub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input - alpha * other``, broadcasting."""
    if other.__class__ is not Tensor:
        other = as_operand(other)
    if alpha != 1:
        return Sub.apply(input, other, alpha=alpha)
    return Sub.apply(input, other)


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input`` (what ``2 - x`` calls)."""
    return Rsub.apply(as_operand(other), input, alpha=alpha)


def mul(input: Tensor, other: Any) -> Tensor:
    """``input * other``, broadcasting."""
    if other.__class__ is not Tensor:
        other = as_operand(other)
    return Mul.apply(input, other)


def div(input: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division (ints give floats), broadcasting."""
    if rounding_mode is not None:
        raise NotImplementedError("div(rounding_mode=...) is not supported; use true division")
    if other.__class__ is not Tensor:
        other = as_operand(other)
    return Div.apply(input, other)


true_divide = div


def reciprocal(input: Tensor) -> Tensor:
    """``1 / input``."""
    return Reciprocal.apply(input)


def rdiv(input: Tensor, other: Any) -> Tensor:
    """``other / input`` (what ``2 / x`` calls): reciprocal times ``other``, as PyTorch does."""
    return mul(reciprocal(input), other)


def pow(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent``; either side may be a number."""
    if exponent.__class__ is int and exponent >= 0:  # x ** 3: the common case, first
        return PowScalar.apply(input, p=exponent)
    exponent = as_operand(exponent)
    if isinstance(exponent, Tensor):
        return PowTensor.apply(as_operand(input), exponent)
    whole = exponent.__class__ in (int, float) and exponent >= 0 and exponent % 1 == 0
    return (PowScalar if whole else PowScalarQuiet).apply(input, p=exponent)


def rpow(input: Tensor, other: Any) -> Tensor:
    """``other ** input`` (what ``2 ** x`` calls)."""
    return Rpow.apply(as_operand(other), input)


def neg(input: Tensor) -> Tensor:
    """``-input``."""
    return Neg.apply(input)


def exp(input: Tensor) -> Tensor:
    """e to the power of each element."""
    return Exp.apply(input)


def log(input: Tensor) -> Tensor:
    """Natural logarithm of each element."""
    return Log.apply(input)


def log1p(input: Tensor) -> Tensor:
    """``log(1 + input)``, accurate for small values."""
    return Log1p.apply(input)


def sin(input: Tensor) -> Tensor:
    """Sine of each element (radians)."""
    return Sin.apply(input)


def cos(input: Tensor) -> Tensor:
    """Cosine of each element (radians)."""
    return Cos.apply(input)


def sqrt(input: Tensor) -> Tensor:
    """Square root of each element."""
    return Sqrt.apply(input)


def abs(input: Tensor) -> Tensor:
    """Absolute value of each element (gradient 0 at 0)."""
    return Abs.apply(input)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max]; the gradient passes where min <= x <= max."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    min = as_operand(min) if min is not None else None
    max = as_operand(max) if max is not None else None
    if max is None:
        return ClampMin.apply(input, lo=min)
    if min is None:
        return ClampMax.apply(input, hi=max)
    return Clamp.apply(input, lo=min, hi=max)


clip = clamp


def maximum(input: Tensor, other: Any) -> Tensor:
    """Elementwise larger value; ties split the gradient evenly."""
    return Maximum.apply(as_operand(input), as_operand(other))


def minimum(input: Tensor, other: Any) -> Tensor:
    """Elementwise smaller value; ties split the gradient evenly."""
    return Minimum.apply(as_operand(input), as_operand(other))


def where(condition: Tensor, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` holds, else ``other``."""
    if not isinstance(condition, Tensor) or condition.dtype.kind != 0:
        raise TypeError("where expects a bool tensor as condition (e.g. x > 0)")
    return Where.apply(condition, as_operand(input), as_operand(other))


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is true, else ``input``."""
    if not isinstance(mask, Tensor) or mask.dtype.kind != 0:
        raise TypeError("masked_fill expects a bool tensor as mask (e.g. x > 0)")
    return MaskedFill.apply(mask, as_operand(value), input)


# -- no gradient: comparisons, logic, tests --
def _nograd_binary(a: Any, b: Any, fn: Any, name: str) -> Tensor:
    a, b = as_operand(a), as_operand(b)
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    if ta is not None and tb is not None and ta._be is not tb._be:
        raise mixed_device_error(name, (ta, tb))
    be = (ta if ta is not None else tb)._be
    xp = be.xp
    x, y = operands(xp, a._data if ta is not None else a, b._data if tb is not None else b)
    try:
        out = fn(xp, x, y)
    except ValueError as exc:
        err = Op.explain(xp, [x, y], exc)  # the same words as the ops with a gradient
        if err is None:
            raise
        raise err from None
    return new_tensor(be.fix(out), be)


def eq(input: Tensor, other: Any) -> Tensor:
    """Elementwise ``==`` as a bool tensor."""
    return _nograd_binary(input, other, lambda xp, x, y: x == y, "eq")


def ne(input: Tensor, other: Any) -> Tensor:
    """Elementwise ``!=`` as a bool tensor."""
    return _nograd_binary(input, other, lambda xp, x, y: x != y, "ne")


def lt(input: Tensor, other: Any) -> Tensor:
    """Elementwise ``<`` as a bool tensor."""
    return _nograd_binary(input, other, lambda xp, x, y: x < y, "lt")


def le(input: Tensor, other: Any) -> Tensor:
    """Elementwise ``<=`` as a bool tensor."""
    return _nograd_binary(input, other, lambda xp, x, y: x <= y, "le")


def gt(input: Tensor, other: Any) -> Tensor:
    """Elementwise ``>`` as a bool tensor."""
    return _nograd_binary(input, other, lambda xp, x, y: x > y, "gt")


def ge(input: Tensor, other: Any) -> Tensor:
    """Elementwise ``>=`` as a bool tensor."""
    return _nograd_binary(input, other, lambda xp, x, y: x >= y, "ge")


def logical_and(input: Tensor, other: Any) -> Tensor:
    """Elementwise AND (``mask_a & mask_b``)."""
    return _nograd_binary(input, other, lambda xp, x, y: _bool_op(xp, x, y, "and"), "logical_and")


def logical_or(input: Tensor, other: Any) -> Tensor:
    """Elementwise OR (``mask_a | mask_b``)."""
    return _nograd_binary(input, other, lambda xp, x, y: _bool_op(xp, x, y, "or"), "logical_or")


def logical_xor(input: Tensor, other: Any) -> Tensor:
    """Elementwise XOR (``mask_a ^ mask_b``)."""
    return _nograd_binary(input, other, lambda xp, x, y: _bool_op(xp, x, y, "xor"), "logical_xor")


def _bool(xp, x):
    if x.__class__ in (int, float, bool):
        return bool(x)
    return x if x.dtype == xp.bool else x != 0


def _bool_op(xp, x, y, op):
    x, y = _bool(xp, x), _bool(xp, y)
    if op == "and":
        return x & y
    if op == "or":
        return x | y
    return x ^ y


def logical_not(input: Tensor) -> Tensor:
    """Elementwise NOT of a bool tensor (``~mask``)."""
    xp = input._be.xp
    return new_tensor(input._be.fix(~_bool(xp, input._data)), input._be)


def _unary_test(input: Tensor, name: str) -> Tensor:
    be = input._be
    return new_tensor(be.fix(getattr(be.xp, name)(input._data)), be)


def isfinite(input: Tensor) -> Tensor:
    """Which elements are finite (not inf, not NaN); computed on the tensor's device."""
    return _unary_test(input, "isfinite")


def isnan(input: Tensor) -> Tensor:
    """Which elements are NaN."""
    return _unary_test(input, "isnan")


def isinf(input: Tensor) -> Tensor:
    """Which elements are +-inf."""
    return _unary_test(input, "isinf")


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (no gradient)."""
    return _unary_test(input, "sign")
