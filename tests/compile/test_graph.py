"""Graph-safe programs (``compile_step(graph=True)``, the default on CUDA): bit-identical
to eager on numpy and on array-api-strict's ``device1`` (where any host transfer inside
the device half raises, as CUDA stream capture does), with every number that changes
per step read from device arrays, and a reason wherever a step cannot be one."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

import gradkit
from gradkit.autograd.tensor import Tensor
from gradkit.backend.capture import HostTransfer, no_host_transfers
from gradkit.backend.transfer import count_transfers
from gradkit.models import MODELS
from gradkit.nn import Module
from gradkit.optim import Optimizer

from .test_compile_step import OPTIMIZERS, _data, _seed004
from .test_compile_step import _trainer_step as _trainer

STEPS = 120
DEVICES = ["cpu", "strict:1"]
xs = pytest.importorskip("array_api_strict")

EXTRA = [
    ("adam-maximize", gradkit.optim.Adam, {"lr": 0.01, "maximize": True}),
    (
        "sgd-momentum-dampening-maximize",
        gradkit.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "maximize": True},
    ),
    (
        "adagrad-lr-decay-wd",
        gradkit.optim.Adagrad,
        {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.1},
    ),
    ("rmsprop-plain", gradkit.optim.RMSprop, {"lr": 0.01}),
]


def _host(t: Tensor) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy()).copy()


def _twins(make: Callable, dev: str, steps: int = STEPS, schedule: bool = False) -> tuple:
    """``make(dev)`` -> (step, state): eager, then graph-safe, from the same start; the
    step's optimizer's lr changes every step when ``schedule`` (as a schedule would)."""
    batches = [(x.to(dev), y.to(dev)) for x, y in _data()]
    runs = []
    for graph in (False, True):
        gradkit.manual_seed(0)
        step, state = make(dev)
        run = gradkit.compile_step(step, graph=True) if graph else step
        losses = []
        for k in range(steps):
            if schedule:
                for g in step.optimizer.param_groups:
                    g["lr"] = 0.01 * (0.97**k)
            losses.append(_host(run(*batches[k % len(batches)])).tobytes())
        runs.append((losses, [_host(t).tobytes() for t in state()], run))
    (le, se, _), (lg, sg, compiled) = runs
    assert compiled.reason is None and compiled.graph_reason is None, compiled.graph_reason
    assert compiled.counts["replayed"] == steps - 2
    assert le == lg, "a loss differs"
    assert se == sg, "a parameter or optimizer state differs"
    return compiled


def _program(step) -> object:
    (prog,) = step._programs.values()
    return prog


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_is_bit_identical_as_a_graph_safe_program(name: str, dev: str) -> None:
    step = _twins(_trainer(name, gradkit.optim.SGD, lr=0.1), dev)
    kind = _program(step).runner.kind
    assert kind.startswith("Python, no host transfers" if dev != "cpu" else "Python")


ALL_OPT = OPTIMIZERS + EXTRA


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize(("label", "cls", "kw"), ALL_OPT, ids=[o[0] for o in ALL_OPT])
def test_every_optimizer_follows_a_schedule_from_device_scalars(
    label: str, cls: type, kw: dict, dev: str
) -> None:
    """lr changes every step and Adam's bias corrections with it: a captured update that
    baked any of these numbers in would drift from eager at the third step."""
    step = _twins(_trainer("mlp", cls, **kw), dev, schedule=True)
    prog = _program(step)
    (buf,) = prog.opt.buffers.values()
    assert buf.shape[0] >= 4 * 3  # 4 parameters, their numbers on the device


def test_the_device_half_holds_no_host_state() -> None:
    """What a CUDA graph bakes in is what ``body`` closes over: arrays, the ops' ctx
    objects, functions and constants, never a tensor, an optimizer, a module, its
    param_groups or a Python float that a schedule may change."""
    step = _twins(_trainer("mlp", gradkit.optim.Adam, lr=0.01), "cpu", steps=5)
    body = _program(step).runner.body
    kinds = set()
    for cell in body.__closure__:
        v = cell.cell_contents
        assert not isinstance(v, (Tensor, Optimizer, Module, dict, list, float)), type(v)
        kinds.add(type(v).__name__)
    assert "ndarray" in kinds and "tuple" in kinds  # parameters; the 0-d scalar views


def test_manual_update_loops_are_bit_identical_on_device1() -> None:
    """Seed 004's loop: .grad read back, a no-grad update of the weights in place, the
    gradients zeroed last (so the next step adds to a .grad: copied into a buffer)."""
    for kind in ("seed004", "user-function", "retain-graph", "views"):
        make4 = _seed004(
            custom_relu=kind == "user-function",
            retain=kind == "retain-graph",
            views=kind == "views",
        )

        def make(dev, make4=make4):
            gradkit.set_default_device(dev)
            try:
                step, state = make4()
            finally:
                gradkit.set_default_device(None)
            return step, state

        batches = _data(task="reg")
        for dev in DEVICES:
            runs = []
            for graph in (False, True):
                gradkit.manual_seed(0)
                step, state = make(dev)
                run = gradkit.compile_step(step, graph=True) if graph else step
                data = [(x.to(dev), y.to(dev)) for x, y in batches]
                losses = [_host(run(*data[k % 4])).tobytes() for k in range(60)]
                runs.append((losses, [_host(t).tobytes() for t in state()]))
            assert run.graph_reason is None and run.counts["replayed"] == 58, (kind, dev)
            assert runs[0] == runs[1], (kind, dev)


def test_gradients_kept_across_calls_are_added_to() -> None:
    """No zero_grad inside the step: the caller zeroes every third call (in place), so a
    step starts with a .grad it must add to."""

    def make(dev):
        model = MODELS["mlp"](6, 5, 3).to(dev)
        opt = gradkit.optim.SGD(model.parameters(), lr=0.05)

        def step(x, y):
            loss = model.loss(model(x), y)
            loss.backward()
            return loss

        step.optimizer = opt
        return step, model

    batches = _data()
    runs = []
    for graph in (False, True):
        gradkit.manual_seed(0)
        step, model = make("cpu")
        opt = step.optimizer
        run = gradkit.compile_step(step, graph=graph)
        out = []
        for k in range(30):
            out.append(run(*batches[k % 4]).item())
            if k % 3 == 2:
                opt.step()
                opt.zero_grad(set_to_none=False)
        runs.append((out, [_host(p).tobytes() for p in model.parameters()]))
    assert runs[0] == runs[1]
    assert run.graph_reason is None and run.counts["replayed"] >= 20


def test_the_program_uploads_its_numbers_once_a_step_and_reads_nothing_back() -> None:
    """On device1 the only transfer of a replay is the optimizer's numbers, one upload a
    step; the device half itself runs under the host-transfer tripwire."""
    step = _twins(_trainer("mlp", gradkit.optim.Adam, lr=0.01), "strict:1", steps=4)
    batches = [(x.to("strict:1"), y.to("strict:1")) for x, y in _data()]
    with count_transfers() as c:
        for k in range(10):
            step(*batches[k % 4])
    assert dict(c.by_kind) == {"to_device": 10}


def test_tripwire_catches_a_host_read_inside_the_device_half() -> None:
    class HostMax(gradkit.autograd.function.Op):
        """An op whose forward reads a value back to the host (a GPU sync)."""

        @staticmethod
        def forward(ctx, a):
            ctx.scale = float(ctx.xp.max(a))  # the host read a CUDA graph cannot hold
            return a / ctx.scale

        @staticmethod
        def backward(ctx, g):
            return g / ctx.scale

    dev = "strict:1"
    w = gradkit.ones(6, 3, device=dev, requires_grad=True)
    x, _ = _data()[0]
    x = x.to(dev).abs() + 1

    def step(x):
        loss = HostMax.apply(x.mm(w)).sum()
        loss.backward()
        with gradkit.no_grad():
            w.sub_(1e-3 * w.grad)
            w.grad = None
        return loss

    plain = gradkit.compile_step(step, graph=False)  # no tripwire: replays
    for _ in range(4):
        plain(x)
    assert plain.counts["replayed"] == 2 and plain.graph_reason is None
    w0 = w.detach().cpu().numpy().copy()
    graph = gradkit.compile_step(step)  # graph-safe by default on device1
    out = [_host(graph(x)).tobytes() for _ in range(2)]
    with pytest.warns(UserWarning, match=r"no CUDA graph.*Array.__float__ on .*device1"):
        out.append(_host(graph(x)).tobytes())  # where a GPU captures: noted, run once
    out.append(_host(graph(x)).tobytes())
    assert "capture failed: Array.__float__" in graph.graph_reason
    assert graph.counts["replayed"] == 2 and _program(graph).runner.launches == 0
    with gradkit.no_grad():  # the same four steps eagerly, from the same weights
        w.copy_(gradkit.tensor(w0, device=dev))
    assert out == [_host(step(x)).tobytes() for _ in range(4)]


def test_no_host_transfers_is_scoped() -> None:
    d1 = xs.asarray([1.0, 2.0], device=xs.Device("device1"))
    cpu = xs.asarray([1.0])
    with no_host_transfers(xs):
        assert float(cpu[0]) == 1.0  # the CPU device is the host
        for read in (lambda: float(d1[0]), lambda: bool(d1[0]), lambda: np.asarray(d1)):
            with pytest.raises(HostTransfer):
                read()
        with pytest.raises(HostTransfer, match="asarray of host data"):
            xs.asarray([3.0], device=xs.Device("device1"))
        xs.asarray(d1, device=xs.Device("device1"))  # device to device is fine
    assert float(d1[0]) == 1.0 and xs.asarray([3.0], device=xs.Device("device1")) is not None


# -- what keeps a step off the graph-safe path, with a reason (it still replays) --
class _ByHand(gradkit.optim.SGD):
    """A user optimizer with an ``_update`` of its own (no device half to capture)."""

    def _update(self, group, p, g):
        p._data -= group["lr"] * g


def _reason_of(make_step: Callable) -> tuple:
    step = make_step()
    run = gradkit.compile_step(step, graph=True)
    batches = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(6):
            run(*batches[k % 4])
    return run, [str(w.message) for w in caught]


def test_an_optimizer_without_a_kernel_replays_without_a_graph() -> None:
    def make():
        model = MODELS["mlp"](6, 5, 3)
        opt = _ByHand(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = model.loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return step

    run, msgs = _reason_of(make)
    assert "_ByHand has no device-side update" in run.graph_reason
    assert run.reason is None and run.counts["replayed"] == 4
    assert any("no CUDA graph, replaying without one" in m for m in msgs)


def test_a_grad_assigned_inside_the_step_replays() -> None:
    """``v.grad = <a tensor the step made>`` (a constant here), read by the update."""

    def make(dev):
        w = gradkit.randn(6, 3, device=dev, requires_grad=True)
        v = gradkit.randn(6, 3, device=dev, requires_grad=True)

        def step(x, y):
            v.grad = gradkit.full((6, 3), 0.5, device=dev)
            loss = x.mm(w).pow(2).sum()  # v is not in the graph: its .grad is only read
            loss.backward()
            with gradkit.no_grad():
                w.sub_(0.01 * w.grad)
                v.sub_(0.01 * v.grad)
            w.grad = None
            v.grad = None
            return loss

        return step, lambda: [w, v]

    for dev in DEVICES:
        _twins(make, dev, steps=20)


def test_writing_into_an_argument_replays_without_a_graph() -> None:
    """The device half reads its inputs from buffers of its own: a write into an input
    must reach the caller's tensor, so such a step is not graph-safe."""

    def make():
        w = gradkit.randn(6, 3, requires_grad=True)

        def step(x, y):
            loss = x.mm(w).sum()
            loss.backward()
            with gradkit.no_grad():
                w.sub_(0.01 * w.grad)
                x.mul_(0.5)
            w.grad = None
            return loss

        return step

    run, _ = _reason_of(make)
    assert run.graph_reason == "the step writes in place into a tensor it was given"


def test_explain_shows_both_halves(capsys) -> None:
    step = _twins(_trainer("mlp", gradkit.optim.Adam, lr=0.01), "cpu", steps=4)
    text = step.explain()
    assert "graph-safe: step() runs on the host around body(), run as: Python" in text
    assert "optimizers" in text and ".host_half(be)" in text and "_o = run()" in text
    assert "def body():" in text and "Adam_kernel" in text


@pytest.mark.parametrize("dev", DEVICES)
def test_a_leaf_passed_as_argument_gets_its_own_gradient(dev: str) -> None:
    """Each call's own argument gets the .grad (the body reads a copy of its values), and
    the same argument called again adds to the .grad it already has."""
    c = gradkit.tensor(np.linspace(0.5, 1.5, 5), device=dev)

    def step(x):
        y = x
        for _ in range(5):
            y = y * c + 0.01
        y.sum().backward()
        return y

    compiled = gradkit.compile_step(step, graph=True)
    for k in range(6):
        x = gradkit.tensor(np.full(5, float(k)), device=dev, requires_grad=True)
        x2 = gradkit.tensor(np.full(5, float(k)), device=dev, requires_grad=True)
        assert _host(compiled(x)).tobytes() == _host(step(x2)).tobytes()
        assert _host(x.grad).tobytes() == _host(x2.grad).tobytes()
    assert compiled.counts["replayed"] == 4 and compiled.graph_reason is None
    compiled(x)  # x already has a .grad: not the program's case, recorded again
    step(x2)
    assert _host(x.grad).tobytes() == _host(x2.grad).tobytes()


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("graph", [False, True])
def test_a_first_call_that_differs_from_the_next_is_recorded_once_more(
    dev: str, graph: bool
) -> None:
    """An input leaf and a weight both get gradients: the engine accumulates them in
    another order on the first call (the weight's node is new then, later it is not),
    so the second and third calls are compared instead."""

    def make(dev):
        w = gradkit.randn(6, 3, device=dev, requires_grad=True)

        def step(x):
            loss = x.mm(w).tanh().sum()
            loss.backward()
            with gradkit.no_grad():
                w.sub_(0.01 * w.grad)
            w.grad = None
            return loss, x.grad

        return step, w

    xs_ = [gradkit.randn(8, 6, device=dev) for _ in range(6)]
    runs = []
    for compiled in (False, True):
        gradkit.manual_seed(0)
        step, w = make(dev)
        run = gradkit.compile_step(step, graph=graph) if compiled else step
        out = []
        for x in xs_:
            x = x.detach().requires_grad_()
            loss, g = run(x)
            out.append((_host(loss).tobytes(), _host(g).tobytes()))
        runs.append((out, _host(w).tobytes()))
    assert runs[0] == runs[1]
    assert run.reason is None and run.counts == {"eager": 0, "recorded": 3, "replayed": 3}


def _compare(make: Callable, calls: Callable, dev: str, graph: bool | None = True) -> tuple:
    """Run ``calls(run, state)`` on ``make(dev)``'s step eagerly and compiled; assert both
    give the same bytes for what ``calls`` returns; return the compiled step."""
    runs = []
    for compiled in (False, True):
        gradkit.manual_seed(0)
        step, state = make(dev)
        run = gradkit.compile_step(step, graph=graph, warn=False) if compiled else step
        runs.append(calls(run, state))
    assert runs[0] == runs[1]
    return run


def _sgd_step(momentum: float = 0.0) -> Callable:
    def make(dev):
        model = MODELS["mlp"](6, 5, 3).to(dev)
        opt = gradkit.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)

        def step(x, y):
            loss = model.loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        step.optimizer = opt
        return step, model

    return make


@pytest.mark.parametrize("dev", DEVICES)
def test_zero_grad_before_each_call_is_the_usual_loop_and_replays(dev: str) -> None:
    """PyTorch's usual loop zeroes outside the step: the .grad the step begins with is
    what the recording saw when it began (None), not what the step left."""
    batches = [(x.to(dev), y.to(dev)) for x, y in _data()]

    def calls(run, model):
        out = []
        for k in range(12):
            run.optimizer.zero_grad() if hasattr(run, "optimizer") else run.fn.optimizer.zero_grad()
            out.append(_host(run(*batches[k % 4])).tobytes())
        return out, [_host(p).tobytes() for p in model.parameters()]

    run = _compare(_sgd_step(0.9), calls, dev)
    assert run.counts["replayed"] == 10 and run.graph_reason is None


@pytest.mark.parametrize("dev", DEVICES)
def test_a_held_grad_tensor_stays_the_grad_and_sees_each_step(dev: str) -> None:
    """zero_grad(set_to_none=False) outside: eagerly the step adds into the same .grad
    tensor every call, so one held from the first call shows every later step."""
    batches = [(x.to(dev), y.to(dev)) for x, y in _data()]

    def calls(run, model):
        opt = (run.fn if hasattr(run, "fn") else run).optimizer
        run(*batches[0])
        held = [p.grad for p in model.parameters()]
        out = []
        for k in range(1, 10):
            opt.zero_grad(set_to_none=False)
            run(*batches[k % 4])
            out.append([_host(g).tobytes() for g in held])
            assert all(g is p.grad for g, p in zip(held, model.parameters()))
        return out

    run = _compare(_sgd_step(), calls, dev)
    assert run.counts["replayed"] == 8 and run.graph_reason is None


@pytest.mark.parametrize("dev", DEVICES)
def test_a_returned_view_of_an_input_is_not_rewritten_by_the_next_call(dev: str) -> None:
    def make(dev):
        w = gradkit.randn(6, 3, device=dev, requires_grad=True)

        def step(x):
            loss = x.mm(w).sum()
            loss.backward()
            with gradkit.no_grad():
                w.sub_(0.01 * w.grad)
            w.grad = None
            return loss, x[0], x.detach()

        return step, w

    def calls(run, w):
        kept = [run(gradkit.full((4, 6), float(k), device=dev)) for k in range(6)]
        return [[_host(t).tobytes() for t in out] for out in kept]

    run = _compare(make, calls, dev)
    assert run.counts["replayed"] == 4 and run.graph_reason is None


@pytest.mark.parametrize("graph", [False, True])
def test_a_parameter_group_added_after_capture_records_again(graph: bool) -> None:
    def make(dev):
        w = gradkit.randn(6, 3, requires_grad=True)
        v = gradkit.randn(3, requires_grad=True)
        opt = gradkit.optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (x.mm(w) * v).sum()
            loss.backward()
            opt.step()
            return loss

        step.extra = (opt, v)
        return step, (w, v)

    def calls(run, wv):
        opt, v = (run.fn if hasattr(run, "fn") else run).extra
        x = gradkit.randn(4, 6)
        out = [_host(run(x)).tobytes() for _ in range(4)]
        opt.add_param_group({"params": [v]})
        out += [_host(run(x)).tobytes() for _ in range(4)]
        return out, [_host(t).tobytes() for t in wv]

    run = _compare(make, calls, "cpu", graph=graph)
    assert run.counts["recorded"] == 4 and run.counts["replayed"] == 4


@pytest.mark.parametrize("dev", DEVICES)
def test_a_transposed_input_gets_its_own_program(dev: str) -> None:
    def make(dev):
        w = gradkit.randn(6, 3, device=dev, requires_grad=True)

        def step(x):
            loss = x.mm(w).sum() + x.sum(0).pow(2).sum()
            loss.backward()
            with gradkit.no_grad():
                w.sub_(0.001 * w.grad)
            w.grad = None
            return loss

        return step, w

    rng = np.random.default_rng(1)
    plain = gradkit.tensor(rng.standard_normal((5, 6)), dtype=gradkit.float32, device=dev)
    flipped = gradkit.tensor(rng.standard_normal((6, 5)), dtype=gradkit.float32, device=dev).t()

    def calls(run, w):
        return [_host(run(x)).tobytes() for x in (plain, plain, plain, flipped, flipped, flipped)]

    run = _compare(make, calls, dev)
    assert len(run._programs) == 2 and run.graph_reason is None


def test_an_argument_with_gaps_replays_without_a_graph() -> None:
    def make(dev):
        w = gradkit.randn(3, 3, requires_grad=True)

        def step(x):
            loss = x.mm(w).sum()
            loss.backward()
            with gradkit.no_grad():
                w.sub_(0.01 * w.grad)
            w.grad = None
            return loss

        return step, w

    x = gradkit.randn(4, 6)[:, ::2]
    run = _compare(make, lambda run, w: [_host(run(x)).tobytes() for _ in range(5)], "cpu")
    assert run.graph_reason.startswith("argument 0 is a view with gaps")
    assert run.counts["replayed"] == 3


def test_guards_failing_call_after_call_give_way_to_the_plain_program() -> None:
    """The caller drops the gradients before every other call and the step adds to them:
    the graph-safe program, made for one of the two states, misses every other call;
    after three misses in a row the plain program (which branches at run time) takes
    over, with the reason."""

    def make(dev):
        model = MODELS["mlp"](6, 5, 3)
        opt = gradkit.optim.SGD(model.parameters(), lr=0.05)

        def step(x, y):
            loss = model.loss(model(x), y)
            loss.backward()
            return loss

        step.optimizer = opt
        return step, model

    batches = _data()

    def calls(run, model):
        opt = (run.fn if hasattr(run, "fn") else run).optimizer
        out = []
        for k in range(30):
            if k % 2 == 0:
                opt.step()
                opt.zero_grad()
            out.append(_host(run(*batches[k % 4])).tobytes())
        return out, [_host(p).tobytes() for p in model.parameters()]

    run = _compare(make, calls, "cpu")
    assert run.graph_reason.startswith("its guards failed on 3 calls")
    assert run.reason is None and run.counts["replayed"] >= 15
    assert {type(p).__name__ for p in run._programs.values()} == {"Program"}


def test_an_optimizer_without_numbers_replays_as_a_graph() -> None:
    class Fixed(gradkit.optim.SGD):
        """SGD whose step is baked in: its _scalars are ()."""

        def _scalars(self, group, st):
            return ()

        @staticmethod
        def _kernel(xp, flags, data, g, bufs, c):
            data -= 0.5 * g

    step = _twins(_trainer("mlp", Fixed, lr=0.1), "strict:1", steps=10)
    assert _program(step).opt.buffers == {}
