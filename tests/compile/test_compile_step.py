"""``compile_step``: replayed steps are bit-identical to eager ones, and steps the recorder
cannot replay fall back to eager with a reason.  (gradcheck-style correctness of the ops
themselves stays with the eager tests: a replay calls the same forward and backward.)"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import gradkit
from gradkit.backend.transfer import count_transfers
from gradkit.models import MODELS

STEPS = 200


def _data(n_batches: int = 4, n: int = 8, d: int = 6, last: int | None = None, task="multi"):
    rng = np.random.default_rng(0)
    sizes = [n] * n_batches + ([last] if last else [])
    out = []
    for m in sizes:
        x = gradkit.tensor(rng.standard_normal((m, d)), dtype=gradkit.float32)
        if task == "multi":
            y = gradkit.tensor(rng.integers(0, 3, m))
        elif task == "binary":
            y = gradkit.tensor(rng.integers(0, 2, (m, 1)), dtype=gradkit.float32)
        else:
            y = gradkit.tensor(rng.standard_normal((m, 3)), dtype=gradkit.float32)
        out.append((x, y))
    return out


def _twin_runs(make: Callable, batches: list, steps: int = STEPS) -> tuple:
    """Run ``make()``'s step eagerly and compiled from the same start; return both
    (losses, final state) and the compiled step."""
    results = []
    compiled = None
    for compile_it in (False, True):
        gradkit.manual_seed(0)
        step, state = make()
        if compile_it:
            step = compiled = gradkit.compile_step(step)
        losses = []
        for k in range(steps):
            out = step(*batches[k % len(batches)])
            losses.append(None if out is None else np.asarray(out.detach().numpy()).copy())
        results.append((losses, [np.asarray(t.detach().numpy()).copy() for t in state()]))
    return results[0], results[1], compiled


def _assert_identical(eager: tuple, comp: tuple) -> None:
    for k, (a, b) in enumerate(zip(eager[0], comp[0])):
        assert (a is None and b is None) or (a.tobytes() == b.tobytes()), f"loss differs at {k}"
    for a, b in zip(eager[1], comp[1]):
        assert a.tobytes() == b.tobytes()


def _trainer_step(name: str, opt_cls: type, **opt_kw) -> Callable:
    """``make(dev)`` -> (the Trainer's step for model ``name``, its state); the step's
    ``optimizer`` attribute is its optimizer."""

    def make(dev: str = "cpu"):
        if name.endswith("logreg"):
            model = MODELS[name](6, n_classes=3)
        else:
            model = MODELS[name](6, 5, 3)
        model = model.to(dev)
        opt = opt_cls(model.parameters(), **opt_kw)

        def step(x, y):
            opt.zero_grad()
            out = model(x)
            loss = model.loss(out, y)
            if model.manual:
                model.backward(x, out, y)
            else:
                loss.backward()
            opt.step()
            return loss

        def state():
            params = list(model.parameters())
            st = [v for s in opt.state.values() for v in s.values() if hasattr(v, "numpy")]
            return params + st

        step.optimizer = opt
        return step, state

    return make


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_replays_bit_identical(name: str) -> None:
    eager, comp, step = _twin_runs(_trainer_step(name, gradkit.optim.SGD, lr=0.1), _data())
    assert step.reason is None and step.counts["replayed"] == STEPS - 2
    _assert_identical(eager, comp)


OPTIMIZERS = [
    ("sgd", gradkit.optim.SGD, {"lr": 0.05}),
    (
        "sgd-momentum-nesterov-wd",
        gradkit.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    ),
    ("adam", gradkit.optim.Adam, {"lr": 0.01}),
    ("adam-amsgrad-wd", gradkit.optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("adamw", gradkit.optim.AdamW, {"lr": 0.01}),
    ("rmsprop", gradkit.optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("adagrad", gradkit.optim.Adagrad, {"lr": 0.05}),
]


@pytest.mark.parametrize(("label", "cls", "kw"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_every_optimizer_replays_bit_identical(label: str, cls: type, kw: dict) -> None:
    eager, comp, step = _twin_runs(_trainer_step("mlp", cls, **kw), _data())
    assert step.reason is None and step.counts["replayed"] == STEPS - 2
    _assert_identical(eager, comp)


def test_adam_step_counter_and_changed_lr_follow_the_replay() -> None:
    """The optimizer's own update runs per parameter: its step count advances, and an lr
    changed between calls (a schedule outside the step, as the Trainer keeps it) is used."""
    batches = _data()
    runs = []
    for compile_it in (False, True):
        gradkit.manual_seed(0)
        model = MODELS["mlp"](6, 5, 3)
        opt = gradkit.optim.Adam(model.parameters(), lr=0.01)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = model.loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        run = gradkit.compile_step(step) if compile_it else step
        losses = []
        for k in range(STEPS):
            opt.param_groups[0]["lr"] = 0.01 / (1 + k // 50)
            losses.append(run(*batches[k % 4]).item())
        runs.append((losses, [s["step"] for s in opt.state.values()]))
    assert run.reason is None and run.counts["replayed"] == STEPS - 2
    assert runs[0] == runs[1] and runs[1][1] == [STEPS] * 4


def test_smaller_last_batch_gets_its_own_program() -> None:
    eager, comp, step = _twin_runs(
        _trainer_step("mlp", gradkit.optim.Adam, lr=0.01), _data(last=5), steps=250
    )
    assert step.reason is None and len(step._programs) == 2
    _assert_identical(eager, comp)


def _seed004(custom_relu: bool = False, retain: bool = False, views: bool = False) -> Callable:
    class Relu(gradkit.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * (a > 0).float()

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            gi = g.clone()
            gi[a < 0] = 0
            return gi

    def make():
        w1 = gradkit.randn(6, 7, requires_grad=True)
        w2 = gradkit.randn(7, 3, requires_grad=True)

        def step(x, y):
            nonlocal w2
            h = x.mm(w1)
            if views:
                h = h.view(-1, 7).t().t()[:, :7]
            a = Relu.apply(h) if custom_relu else h.clamp(min=0)
            y_pred = a.mm(w2)
            loss = (y_pred - y).pow(2).sum()
            if retain:
                loss.backward(retain_graph=True)
                (y_pred.sum() * 0.5).backward()
            else:
                loss.backward()
            with gradkit.no_grad():
                w1.sub_(1e-3 * w1.grad)
                w2 -= 1e-3 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
            return loss

        return step, lambda: [w1, w2]

    return make


@pytest.mark.parametrize(
    "kind", ["seed004", "user-function", "retain-graph", "views"], ids=lambda k: k
)
def test_manual_update_loops_replay_bit_identical(kind: str) -> None:
    make = _seed004(
        custom_relu=kind == "user-function", retain=kind == "retain-graph", views=kind == "views"
    )
    eager, comp, step = _twin_runs(make, _data(task="reg"))
    assert step.reason is None, step.reason
    _assert_identical(eager, comp)


def test_user_function_comparison_is_not_frozen() -> None:
    """``(a > 0).float()`` inside a user Function is recorded, not baked in as a constant:
    the same first two batches, then others, still match eager."""
    data = _data(task="reg")
    batches = [data[0], data[0], *data[1:]]
    eager, comp, step = _twin_runs(_seed004(custom_relu=True), batches, steps=40)
    assert step.reason is None
    _assert_identical(eager, comp)


def test_returned_values_are_correct_on_replay() -> None:
    def make():
        w = gradkit.randn(6, 3, requires_grad=True)
        opt = gradkit.optim.SGD([w], lr=0.01)

        def step(x, y):
            opt.zero_grad()
            out = x.mm(w)
            loss = (out - y).pow(2).mean()
            loss.backward()
            opt.step()
            return loss, {"out": out.detach(), "x": x}

        return step, lambda: [w]

    batches = _data(task="reg")
    gradkit.manual_seed(0)
    step, _ = make()
    compiled = gradkit.compile_step(step)
    for k in range(6):
        loss, extra = compiled(*batches[k % 4])
        assert extra["x"] is batches[k % 4][0]
        assert loss.shape == () and extra["out"].shape == (8, 3)
    gradkit.manual_seed(0)
    step, _ = make()
    want = [step(*batches[k % 4]) for k in range(6)]
    assert loss.item() == want[-1][0].item()
    assert np.array_equal(extra["out"].numpy(), want[-1][1]["out"].numpy())


def test_explain_prints_the_program(capsys) -> None:
    make = _seed004()
    gradkit.manual_seed(0)
    step, _ = make()
    compiled = gradkit.compile_step(step)
    x, y = _data(task="reg")[0]
    text = compiled.explain()
    assert "not captured yet" in text
    for _ in range(3):
        compiled(x, y)
    text = compiled.explain()
    assert "def step(A0, A1)" in text and "out=" in text and "._grad" in text
    assert text in capsys.readouterr().out


def test_replaced_parameter_is_recorded_again() -> None:
    w = gradkit.randn(6, 3, requires_grad=True)

    def step(x, y):
        loss = (x.mm(w) - y).pow(2).sum()
        loss.backward()
        with gradkit.no_grad():
            w.sub_(1e-3 * w.grad)
            w.grad = None
        return loss

    compiled = gradkit.compile_step(step)
    x, y = _data(task="reg")[0]
    for _ in range(3):
        compiled(x, y)
    assert compiled.counts["replayed"] == 1
    w.data = gradkit.randn(6, 3)  # a new array: the program's guard misses
    want = (x.mm(w) - y).pow(2).sum().item()
    assert compiled(x, y).item() == want
    assert compiled.counts["recorded"] == 3


# -- what must fall back to eager, with a reason --
def _fallback(body: Callable) -> tuple:
    w = gradkit.randn(6, 3, requires_grad=True)
    x, y = _data(task="reg")[0]

    def step(x, y):
        loss = body(x, y, w)
        loss.backward()
        with gradkit.no_grad():
            w.sub_(1e-3 * w.grad)
            w.grad = None
        return loss

    compiled = gradkit.compile_step(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [compiled(x, y).item() for _ in range(5)]  # 3 recorded when they differ
    assert compiled.reason is not None and not compiled.captured
    assert compiled.counts["eager"] >= 2
    assert any("running eagerly" in str(c.message) for c in caught)
    return compiled.reason, got


def test_item_inside_the_step_falls_back() -> None:
    def body(x, y, w):
        loss = (x.mm(w) - y).pow(2).sum()
        if loss.item() > 1e9:
            loss = loss * 0.5
        return loss

    reason, _ = _fallback(body)
    assert ".item()" in reason


@pytest.mark.parametrize("what", ["numpy", "bool"])
def test_host_reads_inside_the_step_fall_back(what: str) -> None:
    def body(x, y, w):
        out = x.mm(w)
        if what == "numpy":
            out.detach().numpy()
        else:
            bool((out > 0).any())
        return (out - y).pow(2).sum()

    reason, _ = _fallback(body)
    assert "host" in reason


def test_inplace_on_a_graph_tensor_falls_back() -> None:
    def body(x, y, w):
        h = x.mm(w)
        h += 1.0
        return (h - y).pow(2).sum()

    reason, _ = _fallback(body)
    assert "in-place" in reason and "graph" in reason


def test_setitem_on_a_graph_tensor_falls_back() -> None:
    def body(x, y, w):
        h = x.mm(w)
        h[0] = 0.0
        return (h - y).pow(2).sum()

    reason, _ = _fallback(body)
    assert "setitem" in reason


@pytest.mark.parametrize("how", ["randn", "rand-mask", "normal_"])
def test_random_numbers_inside_the_step_fall_back(how: str) -> None:
    def body(x, y, w):
        h = x.mm(w)
        if how == "randn":
            h = h + gradkit.randn(*h.shape)
        elif how == "rand-mask":
            h = h * (gradkit.rand(*h.shape) > 0.5).float()
        else:
            noise = gradkit.zeros(h.shape)
            noise.normal_()
            h = h + noise
        return (h - y).pow(2).sum()

    reason, _ = _fallback(body)
    assert "random" in reason


def test_a_changing_python_number_falls_back() -> None:
    calls = [0]

    def body(x, y, w):
        calls[0] += 1
        return (x.mm(w) * (1.0 / calls[0]) - y).pow(2).sum()

    reason, _got = _fallback(body)
    assert "not the same from one call to the next" in reason


def test_a_tensor_made_where_the_recorder_cannot_see_falls_back() -> None:
    def body(x, y, w):
        h = x.mm(w)
        mask = ~(h > 0)  # logical_not: not routed through the recorder
        return (h * mask.float() - y).pow(2).sum()

    reason, _ = _fallback(body)
    assert reason


# -- the device path: no host transfer inside a replayed program --
def test_replay_makes_no_host_transfer_on_device1() -> None:
    """The plain replay (``graph=False``; the default off the host is graph-safe, which
    uploads its optimizer's numbers once a step: tests/compile/test_graph.py)."""
    dev = gradkit.device("strict", 1)
    gradkit.manual_seed(0)
    model = MODELS["mlp"](6, 5, 3).to(dev)
    opt = gradkit.optim.Adam(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = model.loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    compiled = gradkit.compile_step(step, graph=False)
    batches = [(x.to(dev), y.to(dev)) for x, y in _data()]
    for k in range(2):
        compiled(*batches[k])
    with count_transfers() as c:
        for k in range(2, 12):
            compiled(*batches[k % 4])
    assert compiled.reason is None and compiled.counts["replayed"] == 10
    assert c.total == 0, c


def test_a_leaf_passed_as_argument_gets_its_own_gradient() -> None:
    """The leaf whose ``.grad`` a step fills is an argument: each call's own tensor."""
    c = gradkit.tensor(np.linspace(0.5, 1.5, 5))

    def step(x):
        y = x
        for _ in range(5):
            y = y * c + 0.01
        y.sum().backward()
        return y

    compiled = gradkit.compile_step(step)
    for k in range(5):
        x = gradkit.tensor(np.full(5, float(k)), requires_grad=True)
        x2 = gradkit.tensor(np.full(5, float(k)), requires_grad=True)
        assert np.array_equal(compiled(x).numpy(force=True), step(x2).numpy(force=True))
        assert np.array_equal(x.grad.numpy(), x2.grad.numpy())
    assert compiled.counts["replayed"] == 3


def test_broadcast_gradient_summed_by_the_engine_replays() -> None:
    """A bias added by broadcasting: the engine sums its gradient back, and so does the
    program (its own sum_to line)."""

    def make():
        w = gradkit.randn(6, 3, requires_grad=True)
        b = gradkit.randn(3, requires_grad=True)
        opt = gradkit.optim.SGD([w, b], lr=0.01)

        def step(x, y):
            opt.zero_grad()
            loss = ((x.mm(w) + b) - y).pow(2).mean()
            loss.backward()
            opt.step()
            return loss

        return step, lambda: [w, b]

    eager, comp, step = _twin_runs(make, _data(task="reg"))
    assert step.reason is None
    _assert_identical(eager, comp)


def test_gradients_summed_where_a_tensor_is_used_twice() -> None:
    def make():
        w = gradkit.randn(6, 3, requires_grad=True)
        opt = gradkit.optim.Adam([w], lr=0.01)

        def step(x, y):
            opt.zero_grad()
            h = x.mm(w)
            loss = (h * h + h - y).pow(2).mean()
            loss.backward()
            opt.step()
            return loss

        return step, lambda: [w]

    eager, comp, step = _twin_runs(make, _data(task="reg"))
    assert step.reason is None
    _assert_identical(eager, comp)


def test_autograd_grad_inside_the_step_falls_back() -> None:
    def body(x, y, w):
        loss = (x.mm(w) - y).pow(2).sum()
        (gw,) = gradkit.autograd.grad(loss, w, retain_graph=True)
        return loss + gw.sum()

    reason, _ = _fallback(body)
    assert "autograd.grad" in reason


class _Twice(gradkit.autograd.function.Op):
    """An op whose backward returns one array, not a tuple (the engine takes both)."""

    @staticmethod
    def forward(ctx, a):
        return a * 2.0

    @staticmethod
    def backward(ctx, g):
        return g * 2.0


def test_bare_array_backward_and_a_cast_gradient_replay() -> None:
    """The engine's own loop runs while recording: an op whose backward returns a bare
    array, a gradient cast to its input's dtype and one summed back from a broadcast
    are each replayed as the engine computed them."""

    def make():
        w = gradkit.randn(6, 3, requires_grad=True)
        b64 = gradkit.randn(1, 3, requires_grad=True, dtype=gradkit.float64)
        opt = gradkit.optim.SGD([w, b64], lr=0.01)

        def step(x, y):
            opt.zero_grad()
            h = _Twice.apply(x.mm(w))
            loss = (h + b64.float() - y).pow(2).mean()
            loss.backward()
            opt.step()
            return loss

        return step, lambda: [w, b64]

    eager, comp, step = _twin_runs(make, _data(task="reg"))
    assert step.reason is None, step.reason
    _assert_identical(eager, comp)
    text = step.explain()
    assert "sum_to" in text and ".astype(" in text
    assert re.search(r"v\d+ = _TwiceBackward_bwd", text)  # one array, not a 1-tuple


def test_the_recorder_has_no_backward_loop_of_its_own() -> None:
    """Issue 16: autograd/ owns the graph's bookkeeping; the recorder swaps the engine's
    module-level calls and lets the engine's own loop run."""
    import inspect

    from gradkit.compile import recorder

    src = inspect.getsource(recorder)
    assert "heappop" not in src and "next_functions" not in src and "_execute" not in src


def test_freezing_a_parameter_after_capture_is_seen() -> None:
    """requires_grad of the tensors a step closes over is guarded: freezing a layer after
    capture (fine-tuning) stops its training, as it does eagerly, and unfreezing resumes it."""

    def run(compiled: bool) -> list:
        gradkit.manual_seed(0)
        m = gradkit.nn.Sequential(
            gradkit.nn.Linear(4, 3), gradkit.nn.ReLU(), gradkit.nn.Linear(3, 1)
        )
        opt = gradkit.optim.SGD(m.parameters(), lr=0.1)
        x, y = gradkit.randn(8, 4), gradkit.randn(8, 1)

        def step(x, y):
            opt.zero_grad()
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        s = gradkit.compile_step(step) if compiled else step
        for i in range(10):
            if i == 4:
                m[0].weight.requires_grad_(False)
            if i == 7:
                m[0].weight.requires_grad_(True)
            s(x, y)
        return [p.detach().numpy().copy() for p in m.parameters()]

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)


def test_negative_zero_argument_gets_its_own_program() -> None:
    x = gradkit.ones(3)
    step = gradkit.compile_step(lambda x, d: x / d)
    for _ in range(3):
        step(x, 0.0)
    assert step(x, -0.0).tolist() == (x / -0.0).tolist() == [-math.inf] * 3
