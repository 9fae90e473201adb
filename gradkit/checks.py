"""The gradcheck catalog: every built-in op, layer, loss and custom Function, and the
models, each with the shapes and value domains of its inputs.

Each case is declared once (as Chainer's ``FunctionTestCase`` does); ``gradkit
gradcheck`` runs them all, and the test suite derives its checks from them:
finite differences in float64 on the host backends, float32 results on the
GPU stand-in compared with float64 ones.  Domains keep samples away from kinks
and poles (ANCHORS #9).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import gradkit
from gradkit.nn import functional as F

__all__ = ["Arg", "Case", "CASES", "CheckResult", "case", "make_inputs", "check"]


@dataclass(frozen=True)
class Arg:
    """One argument: its shape, where its values come from, and whether it gets a gradient."""

    shape: tuple
    domain: str = "any"  # any | pos | away0 | unit | distinct | classes:C | mask | int:N
    grad: bool = True

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        shape, d = self.shape, self.domain
        if d == "any":
            return rng.uniform(-2.0, 2.0, shape)
        if d == "pos":
            return rng.uniform(0.5, 2.0, shape)
        if d == "away0":
            return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        if d == "unit":
            return rng.uniform(0.1, 0.9, shape)
        if d == "distinct":
            n = int(np.prod(shape))
            return (rng.permutation(n).reshape(shape) - n / 2) * 0.37
        if d == "mask":
            return rng.uniform(size=shape) > 0.5
        if d.startswith("classes:"):
            return rng.integers(0, int(d.split(":")[1]), shape).astype(np.int64)
        if d.startswith("int:"):
            return rng.integers(0, int(d.split(":")[1]), shape).astype(np.int64)
        raise ValueError(d)


@dataclass(frozen=True)
class Case:
    """One check: ``fn`` applied to inputs drawn as ``args`` describe."""

    name: str
    fn: Callable
    args: tuple
    #: op, layer, loss, function or model
    kind: str = "op"
    #: backends (by device prefix) the case cannot run on, with the reason
    skip: dict = field(default_factory=dict)
    #: builds (fn, inputs) itself, for checks over a model's parameters
    setup: Callable | None = None

    def __str__(self) -> str:
        return self.name

    def shapes(self) -> str:
        return " ".join("x".join(map(str, a.shape)) or "scalar" for a in self.args)


def case(name: str, fn: Callable, *args: Arg, skip: dict | None = None, kind: str = "op") -> Case:
    """A case for a function of tensors: ``fn`` on inputs drawn as ``args`` describe."""
    return Case(name, fn, args, kind, skip or {})


def _loss(name: str, fn: Callable, *args: Arg) -> Case:
    """A case for a loss function (``gradkit gradcheck --kind loss`` lists them)."""
    return case(name, fn, *args, kind="loss")


_BROADCAST = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)), ((5,), ())]
_UNARY_SHAPES = [(4,), (3, 4), (2, 3, 2), ()]

CASES: list[Case] = []

for sa, sb in _BROADCAST:
    tag = f"{sa}x{sb}"
    CASES += [
        case(f"add {tag}", lambda a, b: a + b, Arg(sa), Arg(sb)),
        case(f"add_alpha {tag}", lambda a, b: gradkit.add(a, b, alpha=-0.5), Arg(sa), Arg(sb)),
        case(f"sub {tag}", lambda a, b: a - b, Arg(sa), Arg(sb)),
        case(f"mul {tag}", lambda a, b: a * b, Arg(sa), Arg(sb)),
        case(f"div {tag}", lambda a, b: a / b, Arg(sa), Arg(sb, "away0")),
        case(f"pow {tag}", lambda a, b: a**b, Arg(sa, "pos"), Arg(sb)),
        case(f"maximum {tag}", gradkit.maximum, Arg(sa, "distinct"), Arg(sb, "distinct")),
        case(f"minimum {tag}", gradkit.minimum, Arg(sa, "distinct"), Arg(sb, "distinct")),
        case(
            f"where {tag}",
            lambda m, a, b: gradkit.where(m, a, b),
            Arg(sa, "mask", False),
            Arg(sa),
            Arg(sb),
        ),
    ]

for s in _UNARY_SHAPES:
    CASES += [
        case(f"neg {s}", lambda a: -a, Arg(s)),
        case(f"scalar_add {s}", lambda a: a + 1.5, Arg(s)),
        case(f"scalar_rsub {s}", lambda a: 2 - a, Arg(s)),
        case(f"scalar_mul {s}", lambda a: 3 * a, Arg(s)),
        case(f"scalar_div {s}", lambda a: a / 4, Arg(s)),
        case(f"scalar_rdiv {s}", lambda a: 2 / a, Arg(s, "away0")),
        case(f"rpow {s}", lambda a: 2.0**a, Arg(s)),
        case(f"pow2 {s}", lambda a: a.pow(2), Arg(s)),
        case(f"pow3 {s}", lambda a: a**3, Arg(s)),
        case(f"pow_half {s}", lambda a: a**0.5, Arg(s, "pos")),
        case(f"pow_neg1 {s}", lambda a: a**-1, Arg(s, "away0")),
        case(f"pow0 {s}", lambda a: a**0, Arg(s)),
        case(f"exp {s}", gradkit.exp, Arg(s)),
        case(f"sin {s}", gradkit.sin, Arg(s)),
        case(f"cos {s}", gradkit.cos, Arg(s)),
        case(f"log1p {s}", gradkit.log1p, Arg(s, "unit")),
        case(f"pow4 {s}", lambda a: a**4, Arg(s)),
        case(f"pow5 {s}", lambda a: a.pow(5.0), Arg(s)),
        case(f"pow8 {s}", lambda a: a**8, Arg(s)),
        case(f"norm {s}", lambda a: a.norm(), Arg(s, "away0")),
        case(f"norm_p1 {s}", lambda a: a.norm(p=1), Arg(s, "away0")),
        case(f"norm_p3 {s}", lambda a: gradkit.norm(a, p=3), Arg(s, "away0")),
        case(f"norm_inf {s}", lambda a: a.norm(p=float("inf")), Arg(s, "distinct")),
        case(f"log {s}", gradkit.log, Arg(s, "pos")),
        case(f"sqrt {s}", gradkit.sqrt, Arg(s, "pos")),
        case(f"abs {s}", gradkit.abs, Arg(s, "away0")),
        case(f"reciprocal {s}", gradkit.reciprocal, Arg(s, "away0")),
        case(f"clamp_min {s}", lambda a: a.clamp(min=0), Arg(s, "away0")),
        case(f"clamp_max {s}", lambda a: a.clamp(max=0), Arg(s, "away0")),
        case(f"clamp {s}", lambda a: a.clamp(-0.2, 0.2) + 0 * a, Arg(s, "away0")),
        case(f"relu {s}", gradkit.relu, Arg(s, "away0")),
        case(f"sigmoid {s}", gradkit.sigmoid, Arg(s)),
        case(f"tanh {s}", gradkit.tanh, Arg(s)),
        case(f"sum {s}", lambda a: a.sum(), Arg(s)),
        case(f"mean {s}", lambda a: a.mean(), Arg(s)),
        case(f"max {s}", lambda a: a.max(), Arg(s, "distinct")),
        case(f"min {s}", lambda a: a.min(), Arg(s, "distinct")),
        case(f"clone {s}", lambda a: a.clone() * 2, Arg(s)),
        case(f"to_double {s}", lambda a: a.to(gradkit.float64) * 2, Arg(s)),
        case(f"masked_fill {s}", lambda a, m: a.masked_fill(m, 0.5), Arg(s), Arg(s, "mask", False)),
        case(f"inplace_mul_nonleaf {s}", lambda a, b: (a * 1.0).mul_(b), Arg(s), Arg(s)),
        case(f"inplace_add_nonleaf {s}", lambda a, b: (a * 2.0).add_(b, alpha=3), Arg(s), Arg(s)),
    ]

CASES += [
    # reductions along dims
    case("sum dim1", lambda a: a.sum(1), Arg((3, 4))),
    case("sum dim-1 keepdim", lambda a: a.sum(-1, keepdim=True), Arg((2, 3, 4))),
    case("sum dims(0,2)", lambda a: a.sum((0, 2)), Arg((2, 3, 4))),
    case("mean dim0", lambda a: a.mean(0), Arg((3, 4))),
    case("mean dims keepdim", lambda a: a.mean((1, 2), keepdim=True), Arg((2, 3, 4))),
    case("max dim1 values", lambda a: a.max(1).values, Arg((3, 4), "distinct")),
    case("max dim0 keepdim", lambda a: a.max(0, keepdim=True)[0], Arg((3, 4), "distinct")),
    case("min dim-1", lambda a: a.min(-1).values, Arg((2, 3, 4), "distinct")),
    case("norm dim1", lambda a: a.norm(dim=1), Arg((3, 4), "away0")),
    case("norm dims keepdim", lambda a: a.norm(dim=(0, 2), keepdim=True), Arg((2, 3, 4), "away0")),
    case("norm p1.5 dim-1", lambda a: a.norm(1.5, dim=-1), Arg((3, 4), "away0")),
    case("norm inf dim0", lambda a: a.norm(float("inf"), dim=0), Arg((3, 4), "distinct")),
    # linear algebra
    case("mm", gradkit.mm, Arg((3, 4)), Arg((4, 2))),
    case("matmul 1dx1d", gradkit.matmul, Arg((4,)), Arg((4,))),
    case("matmul 2dx1d", gradkit.matmul, Arg((3, 4)), Arg((4,))),
    case("matmul 1dx2d", gradkit.matmul, Arg((4,)), Arg((4, 2))),
    case("matmul 3dx2d", gradkit.matmul, Arg((2, 3, 4)), Arg((4, 2))),
    case("matmul 2dx3d", gradkit.matmul, Arg((3, 4)), Arg((2, 4, 2))),
    case("matmul batch-broadcast", gradkit.matmul, Arg((1, 3, 4)), Arg((2, 4, 2))),
    case("matmul 3dx1d", gradkit.matmul, Arg((2, 3, 4)), Arg((4,))),
    case("linear", F.linear, Arg((3, 4)), Arg((2, 4)), Arg((2,))),
    case("linear nobias", F.linear, Arg((3, 4)), Arg((2, 4))),
    case("linear 1d", F.linear, Arg((4,)), Arg((2, 4)), Arg((2,))),
    case("linear 3d", F.linear, Arg((2, 3, 4)), Arg((2, 4)), Arg((2,))),
    # activations over a dim
    case("softmax dim1", lambda a: F.softmax(a, dim=1), Arg((3, 4))),
    case("softmax dim0", lambda a: F.softmax(a, dim=0), Arg((3, 4))),
    case("softmax 1d", lambda a: F.softmax(a, dim=0), Arg((5,))),
    case("log_softmax dim1", lambda a: F.log_softmax(a, dim=1), Arg((3, 4))),
    case("log_softmax dim-1 3d", lambda a: F.log_softmax(a, dim=-1), Arg((2, 3, 4))),
    # shapes
    case("reshape", lambda a: a.reshape(4, 3), Arg((3, 4))),
    case("view -1", lambda a: a.view(-1, 2), Arg((3, 4))),
    case("transpose", lambda a: a.transpose(0, 2), Arg((2, 3, 4))),
    case("t", lambda a: a.t(), Arg((3, 4))),
    case("T", lambda a: a.T, Arg((3, 4))),
    case("mT", lambda a: a.mT, Arg((2, 3, 4))),
    case("permute", lambda a: a.permute(2, 0, 1), Arg((2, 3, 4))),
    case("unsqueeze", lambda a: a.unsqueeze(1), Arg((3, 4))),
    case("squeeze all", lambda a: a.squeeze(), Arg((3, 1, 4, 1))),
    case("squeeze dim", lambda a: a.squeeze(1), Arg((3, 1, 4))),
    case("squeeze dims", lambda a: a.squeeze((1, 3)), Arg((3, 1, 4, 1))),
    case("index None", lambda a: a[:, None], Arg((3, 4))),
    case("flatten", lambda a: a.flatten(1), Arg((2, 3, 4))),
    case("expand", lambda a: a.expand(3, 4), Arg((4,))),
    case("expand -1", lambda a: a.expand(2, -1, 4), Arg((3, 1))),
    case("cat dim0", lambda a, b: gradkit.cat([a, b]), Arg((2, 3)), Arg((4, 3))),
    case("cat dim1", lambda a, b: gradkit.cat([a, b], dim=1), Arg((2, 3)), Arg((2, 1))),
    case("stack dim1", lambda a, b: gradkit.stack([a, b], dim=1), Arg((2, 3)), Arg((2, 3))),
    # indexing
    case("index int", lambda a: a[1], Arg((3, 4))),
    case("index slice", lambda a: a[1:3], Arg((4, 3))),
    case("index [:, 1]", lambda a: a[:, 1], Arg((3, 4))),
    case("index step", lambda a: a[::2, 1:], Arg((5, 4))),
    case("index ellipsis", lambda a: a[..., 0], Arg((2, 3, 4))),
    case("index None", lambda a: a[None, 1], Arg((3, 4))),
    case("index negative", lambda a: a[-1], Arg((3, 4))),
    case("index mask", lambda a, m: a[m], Arg((3, 4)), Arg((3, 4), "mask", False)),
    case("index row mask", lambda a, m: a[m], Arg((3, 4)), Arg((3,), "mask", False)),
    case("index ints repeated", lambda a, i: a[i], Arg((4, 3)), Arg((6,), "int:4", False), skip={}),
    case(
        "index two int arrays",
        lambda a, i, j: a[i, j],
        Arg((4, 3)),
        Arg((5,), "int:4", False),
        Arg((5,), "int:3", False),
    ),
    case("index ints and slice", lambda a, i: a[:, i], Arg((4, 3)), Arg((5,), "int:3", False)),
    case(
        "index int, slice, ints",  # PyTorch's order: a[1][:, i], shape (3, 5)
        lambda a, i: a[1, :, i],
        Arg((2, 3, 4)),
        Arg((5,), "int:4", False),
    ),
    case("setitem value", lambda a, v: _setitem(a, v), Arg((3, 4)), Arg((4,))),
    case("setitem mask", lambda a, m: _setitem_mask(a, m), Arg((3, 4)), Arg((3, 4), "mask", False)),
    case("copy_ broadcast", lambda a, b: (a * 1.0).copy_(b) * a, Arg((3, 4)), Arg((4,))),
    case("fill_", lambda a: (a * 1.0).fill_(2.0) * a, Arg((3, 4))),
    case("zero_", lambda a: (a * 1.0).zero_() + a, Arg((3, 4))),
    # losses
    _loss("mse mean", F.mse_loss, Arg((3, 4)), Arg((3, 4))),
    _loss("mse sum", lambda a, b: F.mse_loss(a, b, reduction="sum"), Arg((5,)), Arg((5,))),
    _loss("mse none", lambda a, b: F.mse_loss(a, b, reduction="none"), Arg((2, 3)), Arg((2, 3))),
    _loss("bce", F.binary_cross_entropy, Arg((3, 2), "unit"), Arg((3, 2), "unit")),
    _loss(
        "bce weight sum",
        lambda p, y, w: F.binary_cross_entropy(p, y, w, reduction="sum"),
        Arg((4,), "unit"),
        Arg((4,), "unit", False),
        Arg((4,), "pos", False),
    ),
    _loss("bce logits", F.binary_cross_entropy_with_logits, Arg((3, 2)), Arg((3, 2), "unit")),
    _loss(
        "bce logits pos_weight none",
        lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none"),
        Arg((3, 2)),
        Arg((3, 2), "unit"),
        Arg((2,), "pos"),
    ),
    _loss(
        "bce logits weight",
        lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, w),
        Arg((4,)),
        Arg((4,), "unit"),
        Arg((4,), "pos", False),
    ),
    _loss("nll", F.nll_loss, Arg((4, 3)), Arg((4,), "classes:3", False)),
    _loss(
        "nll sum weight",
        lambda x, t, w: F.nll_loss(x, t, w, reduction="sum"),
        Arg((4, 3)),
        Arg((4,), "classes:3", False),
        Arg((3,), "pos", False),
    ),
    _loss("cross_entropy", F.cross_entropy, Arg((5, 3)), Arg((5,), "classes:3", False)),
    _loss(
        "cross_entropy none",
        lambda x, t: F.cross_entropy(x, t, reduction="none"),
        Arg((5, 3)),
        Arg((5,), "classes:3", False),
    ),
    _loss("cross_entropy 1d", F.cross_entropy, Arg((3,)), Arg((), "classes:3", False)),
    _loss("cross_entropy probs", F.cross_entropy, Arg((4, 3)), Arg((4, 3), "unit")),
    _loss(
        "cross_entropy weight",
        lambda x, t, w: F.cross_entropy(x, t, w),
        Arg((5, 3)),
        Arg((5,), "classes:3", False),
        Arg((3,), "pos", False),
    ),
]


def _setitem(a: gradkit.Tensor, v: gradkit.Tensor) -> gradkit.Tensor:
    out = a * 1.0
    out[1] = v
    return out


def _setitem_mask(a: gradkit.Tensor, m: gradkit.Tensor) -> gradkit.Tensor:
    out = a * 2.0
    out[m] = 0.0
    return out


CASES += [
    case("index slice past the end", lambda a: a[2:10], Arg((4, 3))),
    case("index slice before the start", lambda a: a[-10:2, 1:], Arg((4, 3))),
]


# -- layers, losses, custom Functions and models --------------------------------------------
def _layer(name: str, make: Callable[[], Any], *args: Arg, kind: str = "layer") -> Case:
    """A case for a Module: its parameters are inputs too (gradcheck perturbs them in place)."""

    def setup(device: Any, dtype: Any, seed: int) -> tuple[Callable, list]:
        gradkit.manual_seed(seed)
        module = make().to(device=device, dtype=dtype)
        rng = np.random.default_rng(seed)
        xs = [_tensor(a.sample(rng), device, dtype, a.grad) for a in args]
        params = list(module.parameters())
        n = len(xs)
        return (lambda *ins: module(*ins[:n])), xs + params

    return Case(name, None, args, kind, {}, setup)


CASES += [
    _layer("nn.Linear", lambda: gradkit.nn.Linear(4, 3), Arg((5, 4))),
    _layer("nn.Linear no bias", lambda: gradkit.nn.Linear(4, 3, bias=False), Arg((5, 4))),
    _layer("nn.ReLU", lambda: gradkit.nn.ReLU(), Arg((3, 4), "away0")),
    _layer("nn.Sigmoid", lambda: gradkit.nn.Sigmoid(), Arg((3, 4))),
    _layer("nn.Tanh", lambda: gradkit.nn.Tanh(), Arg((3, 4))),
    _layer("nn.Softmax", lambda: gradkit.nn.Softmax(dim=1), Arg((3, 4))),
    _layer(
        "nn.Sequential",
        lambda: gradkit.nn.Sequential(
            gradkit.nn.Linear(3, 4), gradkit.nn.Tanh(), gradkit.nn.Linear(4, 2)
        ),
        Arg((5, 3)),
    ),
    _layer("nn.MSELoss", lambda: gradkit.nn.MSELoss(), Arg((4, 3)), Arg((4, 3)), kind="loss"),
    _layer(
        "nn.BCEWithLogitsLoss",
        lambda: gradkit.nn.BCEWithLogitsLoss(),
        Arg((4, 3)),
        Arg((4, 3), "unit", False),
        kind="loss",
    ),
    _layer(
        "nn.BCELoss",
        lambda: gradkit.nn.BCELoss(),
        Arg((4, 3), "unit"),
        Arg((4, 3), "unit", False),
        kind="loss",
    ),
    _layer(
        "nn.CrossEntropyLoss",
        lambda: gradkit.nn.CrossEntropyLoss(),
        Arg((5, 3)),
        Arg((5,), "classes:3", False),
        kind="loss",
    ),
    _layer(
        "nn.NLLLoss",
        lambda: gradkit.nn.NLLLoss(),
        Arg((5, 3)),
        Arg((5,), "classes:3", False),
        kind="loss",
    ),
    case(
        "models.MyReLU (custom Function)",
        lambda a: gradkit.models.MyReLU.apply(a),
        Arg((3, 4), "away0"),
        kind="function",
    ),
    _layer(
        "models.LogisticRegression",
        lambda: gradkit.models.LogisticRegression(4),
        Arg((5, 4)),
        kind="model",
    ),
    _layer(
        "models.LogisticRegression softmax",
        lambda: gradkit.models.LogisticRegression(4, n_classes=3),
        Arg((5, 4)),
        kind="model",
    ),
    _layer("models.MLP", lambda: gradkit.models.MLP(4, 6, 3), Arg((5, 4)), kind="model"),
    _layer(
        "models.FunctionMLP", lambda: gradkit.models.FunctionMLP(4, 6, 3), Arg((5, 4)), kind="model"
    ),
]


def _tensor(v: np.ndarray, device: Any, dtype: Any, grad: bool) -> Any:
    if v.dtype.kind == "f":
        return gradkit.tensor(v, dtype=dtype, device=device, requires_grad=grad)
    return gradkit.tensor(v, device=device)


def make_inputs(
    case: Case, device: Any = "cpu", dtype: Any = None, seed: int = 0
) -> tuple[Callable, list]:
    """The function to check and its inputs on ``device``; float inputs in ``dtype``
    (float64 by default) and requiring grad where the case says so."""
    dtype = dtype or gradkit.float64
    if case.setup is not None:
        return case.setup(device, dtype, seed)
    rng = np.random.default_rng(seed)
    return case.fn, [_tensor(a.sample(rng), device, dtype, a.grad) for a in case.args]


@dataclass
class CheckResult:
    name: str
    kind: str
    shapes: str
    max_abs_error: float
    passed: bool
    seconds: float
    message: str = ""


def check(
    case: Case, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, device: Any = "cpu"
) -> CheckResult:
    """gradcheck one case in float64: the largest Jacobian error and whether it passes."""
    from gradkit.autograd.gradcheck import GradcheckError, jacobians

    t0 = time.perf_counter()
    fn, inputs = make_inputs(case, device)
    try:
        pairs = jacobians(fn, inputs, eps)
    except GradcheckError as e:
        return CheckResult(
            case.name,
            case.kind,
            case.shapes(),
            float("nan"),
            False,
            time.perf_counter() - t0,
            str(e),
        )
    err = max((p.max_abs_error() for p in pairs), default=0.0)
    bad = [p for p in pairs if not p.allclose(atol, rtol)]
    msg = ""
    if bad:
        p = bad[0]
        i, j = p.worst()
        msg = (
            f"output {p.output_index} vs input {p.input_index}: element {i} of the input, "
            f"{j} of the output"
        )
    return CheckResult(
        case.name, case.kind, case.shapes(), err, not bad, time.perf_counter() - t0, msg
    )
