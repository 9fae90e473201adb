"""Differential runs against PyTorch itself (skipped where it is not installed, as in
CI): seeded random programs run on both with ``import ... as torch``, and their
outputs, dtypes, gradients and error types must agree.  Each found real
differences when it was written (0-d dims, broadcast errors, 0-d promotion, int
indices before arrays); the ones left on purpose are listed in ``LENIENT``."""

from __future__ import annotations

import random
import warnings

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


# -- issue 15: the tutorials' missing APIs -----------------------------------------------------
NEW_OPS = {
    "sin": lambda m, x: m.sin(x),
    "cos": lambda m, x: x.cos(),
    "log1p(|x|)": lambda m, x: x.abs().log1p(),
    "log1p(exp(-|x|))": lambda m, x: m.log1p(m.exp(-x.abs())),
    "x ** 3": lambda m, x: x**3,
    "x ** 4": lambda m, x: x**4,
    "x.pow(5)": lambda m, x: x.pow(5),
    "x ** 8": lambda m, x: x**8,
    "x ** 3.0": lambda m, x: x**3.0,
    "norm()": lambda m, x: x.norm(),
    "norm(dim=-1)": lambda m, x: x.norm(dim=-1),
    "norm(p=1)": lambda m, x: x.norm(p=1),
    "norm(3, 0, keepdim)": lambda m, x: m.norm(x, 3, dim=0, keepdim=True),
    "norm(inf)": lambda m, x: x.norm(float("inf")),
    "sin(x) ** 2 + cos(x) ** 2": lambda m, x: x.sin() ** 2 + x.cos() ** 2,
}


@pytest.mark.parametrize("name", sorted(NEW_OPS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_new_ops(name: str, dtype: str) -> None:
    for shape in [(), (5,), (3, 4), (2, 3, 2)]:
        arr = np.random.default_rng(len(shape)).standard_normal(shape) + 0.05

        def leaf(m, arr=arr):
            return m.tensor(arr, dtype=getattr(m, dtype), requires_grad=True)

        ours, theirs = _outcome(gradkit, NEW_OPS[name], leaf), _outcome(torch, NEW_OPS[name], leaf)
        what = f"{name} on {dtype}{list(shape)}"
        if dtype == "float64":
            _assert_same(ours, theirs, what)
            continue
        assert ours[0] == theirs[0] == "ok" and ours[2] == theirs[2], what
        np.testing.assert_allclose(ours[1], theirs[1], rtol=2e-6, atol=1e-6, err_msg=what)
        for g, tg in zip(ours[3], theirs[3]):
            np.testing.assert_allclose(g, tg, rtol=2e-5, atol=1e-5, err_msg=what)


def test_new_ops_grad_fn_names() -> None:
    for m in (gradkit, torch):
        x = m.ones(3, requires_grad=True)
        names = [type(f(m, x).grad_fn).__name__ for f in NEW_OPS.values()]
        if m is gradkit:
            ours = names
    assert ours == names


OPTIMIZERS = [
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True, "betas": (0.8, 0.99)}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
    ("Adam", {"weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
]


def _train(m, name: str, opts: dict) -> tuple:
    rng = np.random.default_rng(0)
    x = m.tensor(rng.standard_normal((6, 4)))
    w = m.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    opt = getattr(m.optim, name)([w], **opts)
    for _ in range(30):
        opt.zero_grad()
        (x @ w.T).tanh().pow(2).sum().backward()
        opt.step()
    return w.detach().numpy(), opt


@pytest.mark.parametrize(("name", "opts"), OPTIMIZERS, ids=lambda v: str(v)[:30])
def test_optimizers(name: str, opts: dict) -> None:
    """30 steps agree to 1e-12 (the gradients themselves differ by an ulp between BLAS
    builds, and a diverging run, such as maximize at lr=1e-2, amplifies that)."""
    ours, our_opt = _train(gradkit, name, opts)
    theirs, their_opt = _train(torch, name, opts)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert repr(our_opt) == repr(their_opt)
    sd, tsd = our_opt.state_dict(), their_opt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sorted(sd["state"][0]) == sorted(tsd["state"][0])
    for k, v in tsd["state"][0].items():
        np.testing.assert_allclose(sd["state"][0][k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)


def _message(fn) -> tuple:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
        except Exception as e:
            return type(e).__name__, str(e)
    return "warning", [str(w.message) for w in caught]


MESSAGES = {
    "loss.data[0] of a 0-d loss": lambda m: m.tensor(2.0).data[0],
    "writing t[0] of a 0-d t": lambda m: m.tensor(2.0).__setitem__(0, 1.0),
    "out= with requires_grad": lambda m: m.matmul(
        m.ones(2, 2, requires_grad=True), m.ones(2, 2), out=m.empty(2, 2)
    ),
    "mul out= of float into long": lambda m: m.mul(
        m.ones(2), m.ones(2), out=m.zeros(2, dtype=m.int64)
    ),
    "MSELoss(size_average=False)": lambda m: m.nn.MSELoss(size_average=False),
    "MSELoss(reduce=False)": lambda m: m.nn.MSELoss(reduce=False),
    "cross_entropy(size_average=True, reduce=True)": lambda m: m.nn.functional.cross_entropy(
        m.ones(2, 3), m.tensor([0, 1]), size_average=True, reduce=True
    ),
    "Variable(volatile=True)": lambda m: m.autograd.Variable(m.ones(2), volatile=True),
    "norm of a long tensor": lambda m: m.tensor([1, 2]).norm(),
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_messages(name: str) -> None:
    """The same exception type and PyTorch's words (gradkit may add what to do after them)."""
    ours = _message(lambda: MESSAGES[name](gradkit))
    theirs = _message(lambda: MESSAGES[name](torch))
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "warning":
        assert ours == theirs
    else:
        assert ours[1].startswith(theirs[1]), (ours, theirs)


def test_legacy_types_and_variable() -> None:
    for m in (gradkit, torch):
        from_var = m.autograd.Variable(m.ones(2), requires_grad=True)
        got = (
            from_var.requires_grad,
            from_var.is_leaf,
            isinstance(m.ones(2), m.autograd.Variable),
            isinstance(m.ones(2), m.FloatTensor),
            isinstance(m.ones(2), m.LongTensor),
            m.FloatTensor(2, 3).shape == (2, 3),
            m.LongTensor([1, 2]).tolist(),
            str(m.ones(2).type(m.LongTensor).dtype).rsplit(".")[-1],
            str(m.get_default_device()),
            m.backends.mps.is_available(),
        )
        if m is gradkit:
            ours = got
    assert ours == got
