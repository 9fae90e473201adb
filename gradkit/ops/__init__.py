"""Every differentiable op, one file per family, forward and backward side by side.

Importing this package binds the ops onto ``Tensor`` (see ``tensor_methods``).
"""

from . import activation, conversion, elementwise, inplace, linalg, loss, reduction, shape
from ._util import with_out
from .activation import log_softmax, relu, sigmoid, softmax, tanh
from .conversion import clone
from .elementwise import (
    abs,
    add,
    clamp,
    clip,
    cos,
    div,
    eq,
    exp,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    reciprocal,
    rsub,
    sign,
    sin,
    sqrt,
    sub,
    true_divide,
    where,
)
from .linalg import dot, linear, matmul, mm, mv
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from .reduction import all, any, argmax, argmin, max, mean, min, norm, sum
from .shape import (
    broadcast_to,
    cat,
    concat,
    expand,
    flatten,
    permute,
    reshape,
    squeeze,
    stack,
    t,
    transpose,
    unsqueeze,
    view,
)
from .tensor_methods import install

install()

# the functions (not the methods, as in PyTorch) take ``out=``
add = with_out(add, "add")
sub = with_out(sub, "sub")
mul = with_out(mul, "mul")
div = with_out(div, "div")
true_divide = with_out(true_divide, "true_divide")
pow = with_out(pow, "pow")
neg = with_out(neg, "neg")
exp = with_out(exp, "exp")
log = with_out(log, "log")
log1p = with_out(log1p, "log1p")
sqrt = with_out(sqrt, "sqrt")
abs = with_out(abs, "abs")
sin = with_out(sin, "sin")
cos = with_out(cos, "cos")
clamp = with_out(clamp, "clamp")
clip = with_out(clip, "clip")
maximum = with_out(maximum, "maximum")
minimum = with_out(minimum, "minimum")
mm = with_out(mm, "mm")
matmul = with_out(matmul, "matmul")
mv = with_out(mv, "mv")

__all__ = [
    "abs",
    "activation",
    "add",
    "all",
    "any",
    "argmax",
    "argmin",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "broadcast_to",
    "cat",
    "clamp",
    "clip",
    "clone",
    "concat",
    "conversion",
    "cos",
    "cross_entropy",
    "div",
    "dot",
    "elementwise",
    "eq",
    "exp",
    "expand",
    "flatten",
    "ge",
    "gt",
    "inplace",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "linalg",
    "linear",
    "log",
    "log1p",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "loss",
    "lt",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "mse_loss",
    "mul",
    "mv",
    "ne",
    "neg",
    "nll_loss",
    "norm",
    "permute",
    "pow",
    "reciprocal",
    "reduction",
    "relu",
    "reshape",
    "rsub",
    "shape",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "t",
    "tanh",
    "transpose",
    "true_divide",
    "unsqueeze",
    "view",
    "where",
]
