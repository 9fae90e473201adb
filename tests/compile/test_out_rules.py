"""``out=`` rules: the hot ops write into buffers made once per program, with the same
bits as eagerly, and never into an array something outside the replay still holds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import gradkit
from gradkit import nn

STEPS = 30


def _twin(make: Callable, inputs: Callable[[int], tuple], steps: int = STEPS) -> tuple:
    """Run ``make()``'s step eagerly and compiled; every output and the state after every
    step, as bytes; and the compiled step."""
    runs = []
    compiled = None
    for compile_it in (False, True):
        gradkit.manual_seed(0)
        step, state = make()
        if compile_it:
            step = compiled = gradkit.compile_step(step)
        seen = []
        for k in range(steps):
            out = step(*inputs(k))
            outs = out if isinstance(out, tuple) else (out,)
            seen.append([o.detach().numpy().tobytes() for o in outs if o is not None])
            seen.append([t.detach().numpy().tobytes() for t in state()])
        runs.append(seen)
    assert compiled.reason is None and compiled.counts["replayed"] == steps - 2
    for k, (a, b) in enumerate(zip(*runs)):
        assert a == b, f"differs at record {k}"
    return compiled


def _inputs(shape_x: tuple, shape_y: tuple, nan: bool = False) -> Callable[[int], tuple]:
    rng = np.random.default_rng(1)
    xs = []
    for _ in range(3):
        x = rng.standard_normal(shape_x).astype(np.float32)
        if nan:
            x.flat[::7] = np.nan
            x.flat[3::11] = -0.0
        y = gradkit.tensor(rng.standard_normal(shape_y), dtype="float32")
        xs.append((gradkit.tensor(x), y))
    return lambda k: xs[k % 3]


def _source(step) -> str:
    return "\n".join(p.source for p in step._programs.values())


def _params(*shapes: tuple) -> list:
    rng = np.random.default_rng(2)
    return [
        gradkit.tensor(rng.standard_normal(s) * 0.1, dtype="float32", requires_grad=True)
        for s in shapes
    ]


# sizes on both sides of numpy_fast's where threshold (2048 elements)
SIZES = [(8, 6, 5, 3), (64, 100, 40, 10)]


@pytest.mark.parametrize("sizes", SIZES, ids=["small", "large"])
@pytest.mark.parametrize(
    "act", ["relu", "clamp", "pow2", "pow3", "mul", "add-sub", "sum-mean"], ids=str
)
def test_hot_ops_replay_bit_identical_through_buffers(sizes: tuple, act: str) -> None:
    n, d, h, o = sizes

    def make():
        w1, w2 = _params((d, h), (h, o))

        def f(z):
            if act == "relu":
                return z.relu()
            if act == "clamp":
                return z.clamp(min=0.1)
            if act == "pow2":
                return z.pow(2) * 0.5
            if act == "pow3":
                return z**3
            if act == "mul":
                return z * z * 0.25
            if act == "add-sub":
                return (z + 1.5) - z * 0.5
            return z - z.sum(1, keepdim=True) * 0.1 + z.mean(0) - z.mean(1, keepdim=True)

        def step(x, y):
            loss = (f(x.mm(w1)).mm(w2) - y).pow(2).sum()
            loss.backward()
            with gradkit.no_grad():
                for w in (w1, w2):
                    w.sub_(1e-4 * w.grad)
                    w.grad.zero_()
            return loss

        return step, lambda: [w1, w2, w1.grad, w2.grad]

    step = _twin(make, _inputs((n, d), (n, o), nan=act == "relu"))
    assert "out=" in _source(step)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_linear_module_step_with_grads_written_into_grad(
    bias: bool, set_to_none: bool, opt: str
) -> None:
    """The Trainer's order: zero_grad, forward, backward, step; the weight gradients go
    into the kept spare (set_to_none) or straight into the zeroed .grad."""

    def make():
        model = nn.Sequential(nn.Linear(30, 20, bias=bias), nn.ReLU(), nn.Linear(20, 4, bias=bias))
        ps = list(model.parameters())
        o = gradkit.optim.Adam(ps, lr=1e-2) if opt == "adam" else gradkit.optim.SGD(ps, lr=1e-2)
        loss_fn = nn.MSELoss(reduction="sum")

        def step(x, y):
            o.zero_grad(set_to_none=set_to_none)
            loss = loss_fn(model(x), y)
            loss.backward()
            o.step()
            return loss

        return step, lambda: ps + [p.grad for p in ps]

    step = _twin(make, _inputs((16, 30), (16, 4)))
    src = _source(step)
    assert "matmul" in src and "._grad" in src
    if not set_to_none:  # zeroed by the program just before: the product goes straight in
        assert "out=_cur._data" in src


def test_dead_units_give_the_same_zeros_as_eager() -> None:
    """A weight gradient written straight into a zeroed .grad: eagerly it is 0 + g, which
    turns -0.0 into +0.0; numpy's products never make -0.0, so both agree bit for bit
    (ReLU units that never fire, negative inputs: every product is -0.0 or +0.0)."""

    def make():
        lin = nn.Linear(8, 5)
        with gradkit.no_grad():
            lin.bias.fill_(-100.0)  # every unit dead
        head = nn.Linear(5, 2)
        ps = list(lin.parameters()) + list(head.parameters())
        o = gradkit.optim.SGD(ps, lr=0.0)

        def step(x, y):
            o.zero_grad(set_to_none=False)
            loss = (head(lin(x).relu()) - y).pow(2).sum()
            loss.backward()
            o.step()
            return loss

        return step, lambda: [p.grad for p in ps]

    _twin(make, lambda k: (-gradkit.ones(4, 8).abs(), gradkit.ones(4, 2)))


def test_returned_intermediates_are_not_overwritten_by_the_next_replay() -> None:
    """Values the step returns (and views of them) are fresh arrays every replay: the
    caller may keep them, as eagerly."""
    w = gradkit.randn(6, 6, requires_grad=True)

    def step(x):
        h = x.mm(w).relu()
        z = h * 2.0
        loss = (z + 1.0).sum()
        loss.backward()
        w.grad = None
        return loss, h, z[1:3]

    compiled = gradkit.compile_step(step)
    rng = np.random.default_rng(0)
    xs = [gradkit.tensor(rng.standard_normal((4, 6)), dtype="float32") for _ in range(6)]
    kept = [compiled(x) for x in xs]
    assert compiled.counts["replayed"] == 4
    for x, (_loss, h, zv) in zip(xs, kept):
        ref = (x.detach().numpy() @ w.detach().numpy()).clip(min=0)
        hn = h.detach().numpy()
        assert hn.tobytes() == ref.astype(np.float32).tobytes()
        assert np.array_equal(zv.detach().numpy(), (hn * 2.0)[1:3])
    prog = next(iter(compiled._programs.values()))
    returned = {"v2"}  # h, the relu output: its own array each replay
    assert not returned & set(prog.plan.buffers)
    assert "out=" in prog.source  # the rest still has buffers


def test_a_held_grad_is_left_as_eager_leaves_it() -> None:
    """A caller holding the old .grad: with zero_grad(set_to_none=True) eagerly the next
    backward makes a new array (the held one is not a spare) and the old values stay;
    with set_to_none=False the same .grad is written in place.  Compiled does the same."""
    for set_to_none in (True, False):
        results = []
        for compile_it in (False, True):
            gradkit.manual_seed(0)
            lin = nn.Linear(5, 3)
            opt = gradkit.optim.SGD(lin.parameters(), lr=0.1)

            def step(x, lin=lin, opt=opt, none=set_to_none):
                opt.zero_grad(set_to_none=none)
                loss = lin(x).pow(2).sum()
                loss.backward()
                opt.step()
                return loss

            if compile_it:
                step = gradkit.compile_step(step)
            x = gradkit.ones(4, 5)
            held = []
            for _ in range(5):
                step(x)
                held.append((lin.weight.grad, lin.weight.grad.numpy().copy()))
            same = [g is lin.weight.grad for g, _ in held]
            values = [g.numpy().tobytes() for g, _ in held]
            results.append((same, values))
        assert results[0] == results[1], set_to_none


def test_a_function_passing_its_gradient_on_keeps_it_fresh() -> None:
    """A user Function whose backward returns the incoming gradient itself: the gradient
    is a view of whatever reached it, and the engine copies it into .grad."""

    class PassOn(gradkit.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            return g

    def make():
        (w,) = _params((5, 4))

        def step(x, y):
            loss = (PassOn.apply(x.mm(w)) * y).sum()
            loss.backward()
            with gradkit.no_grad():
                w.sub_(0.01 * w.grad)
            w.grad = None
            return loss

        return step, lambda: [w]

    _twin(make, _inputs((3, 5), (3, 4)))


def test_rules_off_gives_the_generic_program() -> None:
    w = gradkit.randn(4, 4, requires_grad=True)

    def step(x):
        loss = x.mm(w).relu().sum()
        loss.backward()
        w.grad = None
        return loss

    plain = gradkit.compile_step(step, buffers=False)
    x = gradkit.ones(2, 4)
    for _ in range(3):
        plain(x)
    assert "out=" not in _source(plain)


@pytest.mark.parametrize("between", ["nothing", "add_", "backward", "set_none", "hold"])
def test_grads_zeroed_at_the_end_of_a_step_are_written_straight_next_time(between: str) -> None:
    """seed 004's order: the step zeroes its .grad last, and the next replay writes the
    weight gradient straight into it, unless something changed that .grad since (through
    gradkit: an in-place op, another backward) or replaced it."""
    rng = np.random.default_rng(3)
    xs = [gradkit.tensor(rng.standard_normal((8, 6)), dtype="float32") for _ in range(3)]
    ys = [gradkit.tensor(rng.standard_normal((8, 3)), dtype="float32") for _ in range(3)]
    runs = []
    for compile_it in (False, True):
        w1, w2 = _params((6, 5), (5, 3))

        def step(x, y, w1=w1, w2=w2):
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
            loss.backward()
            with gradkit.no_grad():
                w1.sub_(1e-2 * w1.grad)
                w2.sub_(1e-2 * w2.grad)
                w1.grad.zero_()
                w2.grad.zero_()
            return loss

        if compile_it:
            step = gradkit.compile_step(step)
            runs_src = step
        seen = []
        held = []
        for k in range(12):
            seen.append(step(xs[k % 3], ys[k % 3]).detach().numpy().tobytes())
            if between == "add_" and k % 2:
                w1.grad.add_(0.5)
            elif between == "backward" and k % 2:
                (w1 * 2.0).sum().backward()  # an eager backward outside the step
            elif between == "set_none" and k % 3 == 1:
                w1.grad = None
            elif between == "hold":
                held.append(w1.grad)
            g = w1.grad
            seen.append((w1.detach().numpy().tobytes(), None if g is None else g.numpy().tobytes()))
        seen.append([g.numpy().tobytes() for g in held])
        seen.append([g is w1.grad for g in held])
        runs.append(seen)
    assert runs[0] == runs[1]
    assert "zeroed" in _source(runs_src) and runs_src.counts["replayed"] == 10
