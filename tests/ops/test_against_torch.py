"""Differential runs against PyTorch itself (skipped where it is not installed, as in
CI): seeded random programs run on both with ``import ... as torch``, and their
outputs, dtypes, gradients and error types must agree.  Each found real
differences when it was written (0-d dims, broadcast errors, 0-d promotion, int
indices before arrays); the ones left on purpose are listed in ``LENIENT``."""

from __future__ import annotations

import random

import numpy as np
import pytest

import gradkit

torch = pytest.importorskip("torch")

#: programs gradkit runs where PyTorch refuses them (kept: they do the obvious thing)
LENIENT = {
    "maximum(x, number)",  # PyTorch wants a tensor
    "float ** bool tensor",  # PyTorch's backward raises on a bool exponent
}


def _outcome(m, program, *args) -> tuple:
    """What ``program`` does under module ``m``: its values, dtype and gradients, or
    the type of the error it raises."""
    try:
        inputs = [a(m) for a in args]
        out = program(m, *inputs)
        grads = None
        if out.requires_grad:
            (out.sum() if out.ndim else out).backward()
            leaves = [x for x in inputs if isinstance(x, m.Tensor) and x.is_leaf]
            grads = [x.grad.numpy() if x.grad is not None else None for x in leaves]
        dtype = str(out.dtype).rsplit(".", 1)[-1]
        return ("ok", out.detach().numpy(), dtype, grads)
    except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError) as e:
        return ("error", type(e).__name__)


def _assert_same(ours: tuple, theirs: tuple, what: str) -> None:
    assert ours[0] == theirs[0], f"{what}: gradkit {ours}, torch {theirs}"
    if ours[0] == "error":
        assert ours[1] == theirs[1], f"{what}: gradkit raised {ours[1]}, torch {theirs[1]}"
        return
    _, out, dtype, grads = ours
    _, t_out, t_dtype, t_grads = theirs
    assert dtype == t_dtype, f"{what}: dtype {dtype}, torch {t_dtype}"
    assert out.shape == t_out.shape, f"{what}: shape {out.shape}, torch {t_out.shape}"
    np.testing.assert_allclose(out, t_out, rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=what)
    assert (grads is None) == (t_grads is None), what
    for g, tg in zip(grads or (), t_grads or ()):
        assert (g is None) == (tg is None), what
        if g is not None:
            np.testing.assert_allclose(g, tg, rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=what)


def _leaf(arr: np.ndarray, grad: bool = True):
    return lambda m: m.tensor(arr, dtype=m.float64, requires_grad=grad)


# -- chains of unary ops (shapes, reductions, activations, indexing) -------------------------
UNARY = {
    "neg": lambda m, x: -x,
    "exp": lambda m, x: (x * 0.3).exp(),
    "abs": lambda m, x: x.abs(),
    "relu": lambda m, x: x.relu(),
    "sigmoid": lambda m, x: x.sigmoid(),
    "tanh": lambda m, x: x.tanh(),
    "clamp": lambda m, x: x.clamp(min=-0.5, max=0.7),
    "pow3": lambda m, x: x**3,
    "log1p|x|": lambda m, x: (x.abs() + 1).log(),
    "sqrt1p|x|": lambda m, x: (x.abs() + 1).sqrt(),
    "sum(0, keepdim)": lambda m, x: x.sum(0, keepdim=True),
    "mean(-1)": lambda m, x: x.mean(-1),
    "max(dim)": lambda m, x: x.max(x.ndim - 1)[0] if x.ndim else x.max(),
    "min(0)": lambda m, x: x.min(0)[0],
    "max()": lambda m, x: x.max(),
    "t": lambda m, x: x.t() if x.ndim == 2 else x,
    "reshape(-1)": lambda m, x: x.reshape(-1),
    "unsqueeze(0)": lambda m, x: x.unsqueeze(0),
    "softmax(-1)": lambda m, x: m.nn.functional.softmax(x, dim=-1),
    "log_softmax(0)": lambda m, x: m.nn.functional.log_softmax(x, dim=0),
    "x[0]": lambda m, x: x[0],
    "x[1:]": lambda m, x: x[1:],
    "x[x > 0.1]": lambda m, x: x[x > 0.1],
    "x[[0, 0]]": lambda m, x: x[[0, 0]],
    "where": lambda m, x: m.where(x > 0, x, x * 0.1),
    "maximum": lambda m, x: m.maximum(x, x * 0.5),
    "x / (|x| + 1)": lambda m, x: x / (x.abs() + 1),
    "2 - x": lambda m, x: 2 - x,
    "x @ x.T": lambda m, x: x @ x.t() if x.ndim == 2 else x @ x,
    "transpose(0, -1)": lambda m, x: x.transpose(0, -1),
    "squeeze": lambda m, x: x.squeeze(),
    "x * x.detach()": lambda m, x: x * x.detach(),
    "in-place on non-leaf": lambda m, x: (x * 1).mul_(2).add_(1),
    "y[y < 0] = 0.5": lambda m, x: _masked_assign(x * 1),
    "sum(all dims)": lambda m, x: x.sum(dim=tuple(range(x.ndim))),
}


def _masked_assign(y):
    y[y < 0] = 0.5
    return y


def test_unary_chains() -> None:
    rng = random.Random(0)
    names = sorted(UNARY)
    for case in range(400):
        shape = rng.choice([(3,), (2, 3), (3, 2), (4, 4), (2, 3, 2), (1, 3)])
        arr = np.round(np.random.default_rng(case).standard_normal(shape), 1)  # ties
        chain = [rng.choice(names) for _ in range(rng.randint(1, 4))]

        def program(m, x, chain=chain):
            for name in chain:
                x = UNARY[name](m, x)
            return x

        theirs = _outcome(torch, program, _leaf(arr))
        if theirs[0] == "error":
            continue  # chains PyTorch refuses (e.g. x[0] of a 0-d result) test nothing here
        _assert_same(_outcome(gradkit, program, _leaf(arr)), theirs, f"{chain} on {shape}")


# -- binary ops over dtypes and broadcast shapes ----------------------------------------------
BINARY = {
    "a + b": lambda m, a, b: a + b,
    "a - b": lambda m, a, b: a - b,
    "a * b": lambda m, a, b: a * b,
    "a / b": lambda m, a, b: a / b,
    "a ** b": lambda m, a, b: a**b,
    "maximum": lambda m, a, b: m.maximum(a, b),
    "where(a > b, a, b)": lambda m, a, b: m.where(a > b, a, b),
    "a @ b": lambda m, a, b: a @ b,
    "a == b": lambda m, a, b: a == b,
    "a < b": lambda m, a, b: a < b,
}
DTYPES = ["float32", "float64", "int64", "bool", "number"]
SHAPES = [(), (1,), (3,), (2, 3), (2, 1), (1, 3), (3, 3), (2, 1, 3)]


def _operand(kind: str, shape: tuple, seed: int):
    rng = np.random.default_rng(seed)
    if kind == "number":
        return lambda m: 1.5
    if kind == "bool":
        mask = rng.random(shape) > 0.5
        return lambda m: m.tensor(mask)
    if kind == "int64":
        arr = rng.integers(1, 4, shape)
        return lambda m: m.tensor(arr)
    arr = np.round(rng.uniform(0.5, 2, shape), 2)
    return lambda m: m.tensor(arr, dtype=getattr(m, kind), requires_grad=True)


def _lenient(name: str, a: str, b: str) -> bool:
    if name == "maximum" and b == "number":
        return "maximum(x, number)" in LENIENT
    if name == "a ** b" and b == "bool" and a.startswith("float"):
        return "float ** bool tensor" in LENIENT
    return False


def test_binary_ops_dtypes_and_broadcasting() -> None:
    rng = random.Random(1)
    for case in range(600):
        name = rng.choice(sorted(BINARY))
        a, b = rng.choice(DTYPES[:4]), rng.choice(DTYPES)
        sa, sb = rng.choice(SHAPES), rng.choice(SHAPES)
        if _lenient(name, a, b):
            continue
        args = (_operand(a, sa, case), _operand(b, sb, case + 1))
        what = f"{name} with a: {a}{list(sa)}, b: {b}{list(sb)}"
        ours = _outcome(gradkit, BINARY[name], *args)
        _assert_same(ours, _outcome(torch, BINARY[name], *args), what)


# -- reading and writing through random indices ----------------------------------------------
def _random_index(rng: random.Random, shape: tuple, m) -> tuple:
    parts: list = []
    dim = 0
    while dim < len(shape) and rng.random() < 0.8:
        n = shape[dim]
        kind = rng.choice(["int", "slice", "step", "full", "none", "ints", "mask"])
        if kind == "int":
            parts.append(rng.randrange(-n, n))
        elif kind == "slice":
            parts.append(slice(rng.randrange(-n, n), None))
        elif kind == "step":
            parts.append(slice(None, None, rng.choice([1, 2, 3])))
        elif kind == "full":
            parts.append(slice(None))
        elif kind == "none":
            parts.append(None)
            continue
        elif kind == "ints":
            parts.append(m.tensor([rng.randrange(n) for _ in range(rng.randint(1, 3))]))
        else:
            parts.append(m.tensor([rng.random() > 0.4 for _ in range(n)]))
        dim += 1
    return tuple(parts)


def test_indexing_reads_and_writes() -> None:
    rng = random.Random(3)
    for _ in range(400):
        shape = rng.choice([(4,), (3, 4), (2, 3, 4)])
        arr = np.arange(float(np.prod(shape))).reshape(shape) + 1
        state = rng.getstate()
        outcomes = {}
        for m in (gradkit, torch):
            rng.setstate(state)
            index = _random_index(rng, shape, m)

            def read(m, x, index=index):
                return x[index] * 1.5

            def write(m, x, v, index=index):
                y = x * 1
                y[index] = v * 3
                return y * y

            value = _leaf(np.array([7.0]))
            outcomes[m] = (_outcome(m, read, _leaf(arr)), _outcome(m, write, _leaf(arr), value))
        what = f"index {index} of {shape}"
        _assert_same(outcomes[gradkit][0], outcomes[torch][0], f"read {what}")
        _assert_same(outcomes[gradkit][1], outcomes[torch][1], f"write {what}")


# -- printing ----------------------------------------------------------------------------------
def _random_values(rng: np.random.Generator, kind: str, shape: tuple) -> np.ndarray:
    if kind == "int":
        return rng.integers(-1000, 1000, shape)
    if kind == "bool":
        return rng.random(shape) > 0.5
    scale = {"big": 1e9, "small": 1e-7}.get(kind, 1.0)
    arr = rng.standard_normal(shape) * scale
    if kind == "mixed":
        arr = arr * 10.0 ** rng.integers(-6, 6, shape)
    if kind == "nan" and arr.size:
        arr.flat[0], arr.flat[-1] = np.nan, np.inf
    if kind == "intlike":
        arr = np.round(arr * 3)
    return arr


def test_repr() -> None:
    rng = random.Random(4)
    shapes = [(), (1,), (3,), (2, 3), (2, 1, 3), (0,), (2, 0), (1001,), (40, 40), (5, 1200)]
    kinds = ["normal", "int", "bool", "big", "small", "mixed", "nan", "intlike"]
    for case in range(200):
        shape, kind = rng.choice(shapes), rng.choice(kinds)
        arr = _random_values(np.random.default_rng(case), kind, shape)
        dtype = rng.choice(["float32", "float64"]) if arr.dtype.kind == "f" else None
        grad = dtype is not None and rng.random() < 0.3
        op = grad and rng.random() < 0.5
        texts = []
        for m in (gradkit, torch):
            t = m.tensor(arr, dtype=getattr(m, dtype) if dtype else None, requires_grad=grad)
            text = repr(t * 1 if op else t).replace("torch.", "gradkit.")
            # the values exactly; the suffixes (dtype=, grad_fn=) up to where they wrap,
            # which moves with the 2 letters "gradkit." has more than "torch."
            body, _, tail = text.rpartition("]")
            texts.append((body, " ".join(tail.split())))
        assert texts[0] == texts[1], f"{kind} {shape}:\n{texts[0]}\n!=\n{texts[1]}"
