"""gradkit's engine against the floor: the same steps in plain numpy with a hand-written
backward (and PyTorch on the CPU, when it is installed).

Every implementation starts from the same arrays and does the same work (each
leaves its last loss in the case's data, and tests/bench checks that they agree);
runs are interleaved in one process and the median of the repeats is reported.

    python benchmarks/bench_engine.py              # all cases, cpu
    python benchmarks/bench_engine.py --quick      # fewer repeats, skip the large MLP
    python benchmarks/bench_engine.py --device cuda  # gradkit on cupy vs hand-written cupy

Ratios are time / floor time (lower is better; 1.00 means as fast as the floor).
The MLP cases also time ``floor+acc``: the floor plus the ``.grad += g`` and
``.grad.zero_()`` that PyTorch's semantics add (the best an engine with that API
can do); what gradkit takes beyond it is the engine's Python overhead.

The headline runs in the environment a user has: glibc's default malloc, default
threads.  A second column repeats every case in a fresh process whose malloc keeps
freed memory (``--malloc steady``, see ``steady_malloc``): with the default, a step
that frees 400 KB temporaries at the top of the heap hands the pages back to the OS
and faults them in again on the next step, and how often that happens depends on
what else the process has allocated (importing torch alone changed the floor by
25-60% here), so the two columns show how much of a ratio is the allocator.  The
header also prints how long a fixed pure-Python loop takes, so a slow or noisy
machine shows.

Besides the seed's MLP, the cases include what the PyTorch tutorials run: ``x ** 3``
on the polynomial examples' 2000-point vector (against numpy's ``x*x*x`` and its
own ``x ** 3``), the polynomial fit's whole step, and two_layer_net_nn's
``nn.Module`` step (Linear-ReLU-Linear, ``MSELoss(reduction="sum")``, ``SGD``
with ``zero_grad()`` setting gradients to None).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import gradkit
from gradkit.nn import functional as F


@dataclass
class Case:
    name: str
    setup: Callable[[], dict]  # host arrays shared by every implementation
    impls: dict[str, Callable[[dict], float]] = field(default_factory=dict)
    unit: str = "ms"
    scale: float = 1e3  # seconds -> unit
    per: int = 1  # divide the time by this (e.g. ops per run)


# -- the conditions every implementation runs under --
def steady_malloc() -> str:
    """Stop glibc from trimming or mmap-ing large blocks, so repeated 400 KB
    temporaries reuse the same pages in every implementation (no page faults)."""
    if not sys.platform.startswith("linux"):
        return "malloc: platform default"
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        ok = libc.mallopt(m_trim_threshold, 1 << 30) and libc.mallopt(m_mmap_threshold, 1 << 25)
    except (OSError, AttributeError):
        ok = False
    return "malloc: steady (glibc mallopt)" if ok else "malloc: platform default"


def python_speed_ms() -> float:
    """Milliseconds for a 1,000,000-iteration empty loop (best of 3)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(1_000_000):
            pass
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


# -- the backends the floor and gradkit run on --
class Env:
    """Where the arrays live: numpy on the cpu, or cupy on a GPU."""

    def __init__(self, device: str) -> None:
        self.device = device
        if device == "cpu":
            self.xp = np
            self.sync = lambda: None
        else:
            import cupy

            self.xp = cupy
            self.sync = cupy.cuda.Device().synchronize

    def arr(self, a: np.ndarray):
        return self.xp.asarray(a)

    def host(self, a) -> np.ndarray:
        return a if self.xp is np else a.get()


# -- seed 004: the 2-layer ReLU net, sum-of-squares loss, manual SGD ------------------------------
def _time_steps(env: Env, d: dict, step: Callable, x: Any, y: Any) -> float:
    """Seconds for ``d["steps"]`` calls of ``step(x, y)`` (the last loss kept in ``d``)."""
    env.sync()
    t0 = time.perf_counter()
    for _ in range(d["steps"]):
        loss = step(x, y)
    d["loss"] = loss.item()
    env.sync()
    return time.perf_counter() - t0


def mlp_setup(n: int, d_in: int, h: int, d_out: int, steps: int, lr: float, scale: bool):
    def setup() -> dict:
        rng = np.random.default_rng(0)
        f32 = np.float32
        s1 = 1 / np.sqrt(d_in) if scale else 1.0
        s2 = 1 / np.sqrt(h) if scale else 1.0
        return {
            "x": rng.standard_normal((n, d_in), dtype=f32),
            "y": rng.standard_normal((n, d_out), dtype=f32),
            "w1": rng.standard_normal((d_in, h), dtype=f32) * f32(s1),
            "w2": rng.standard_normal((h, d_out), dtype=f32) * f32(s2),
            "steps": steps,
            "lr": lr,
        }

    return setup


def mlp_floor(env: Env, accumulate: bool = False) -> Callable[[dict], float]:
    """The hand-written step.  With ``accumulate``, it also does the array work that
    PyTorch's semantics (and the seed's loop) add: ``w.grad += g`` into a kept
    gradient and ``w.grad.zero_()`` after the update.  That is the floor an engine
    with PyTorch's API can reach; the plain floor is the one the targets use."""

    def run(d: dict) -> float:
        xp = env.xp
        x, y = env.arr(d["x"]), env.arr(d["y"])
        w1, w2 = env.arr(d["w1"]).copy(), env.arr(d["w2"]).copy()
        acc1, acc2 = xp.zeros_like(w1), xp.zeros_like(w2)
        lr = d["lr"]
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            h = x.dot(w1)
            h_relu = xp.maximum(h, 0)
            y_pred = h_relu.dot(w2)
            loss = xp.square(y_pred - y).sum()
            grad_y_pred = 2.0 * (y_pred - y)
            grad_w2 = h_relu.T.dot(grad_y_pred)
            grad_h = grad_y_pred.dot(w2.T)
            grad_h[h < 0] = 0
            grad_w1 = x.T.dot(grad_h)
            if accumulate:
                acc1 += grad_w1
                acc2 += grad_w2
                grad_w1, grad_w2 = acc1, acc2
            w1 -= lr * grad_w1
            w2 -= lr * grad_w2
            if accumulate:
                acc1.fill(0)
                acc2.fill(0)
        d["loss"] = float(loss)  # the last step's loss: every implementation must agree
        env.sync()
        return time.perf_counter() - t0

    return run


def mlp_gradkit(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        dev = env.device
        x = gradkit.tensor(d["x"], device=dev)
        y = gradkit.tensor(d["y"], device=dev)
        w1 = gradkit.tensor(d["w1"], device=dev, requires_grad=True)
        w2 = gradkit.tensor(d["w2"], device=dev, requires_grad=True)
        lr = d["lr"]
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            y_pred = x.mm(w1).clamp(min=0).mm(w2)
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with gradkit.no_grad():
                w1 -= lr * w1.grad
                w2 -= lr * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        d["loss"] = loss.item()
        env.sync()
        return time.perf_counter() - t0

    return run


def mlp_compiled(
    env: Env, buffers: bool = True, graph: bool | None = None
) -> Callable[[dict], float]:
    """``mlp_gradkit``'s step through ``gradkit.compile_step`` (its two recorded steps
    are inside the timing)."""

    def run(d: dict) -> float:
        dev = env.device
        x = gradkit.tensor(d["x"], device=dev)
        y = gradkit.tensor(d["y"], device=dev)
        w1 = gradkit.tensor(d["w1"], device=dev, requires_grad=True)
        w2 = gradkit.tensor(d["w2"], device=dev, requires_grad=True)
        lr = d["lr"]

        @gradkit.compile_step(buffers=buffers, graph=graph)
        def step(x, y):
            y_pred = x.mm(w1).clamp(min=0).mm(w2)
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with gradkit.no_grad():
                w1.sub_(lr * w1.grad)
                w2.sub_(lr * w2.grad)
                w1.grad.zero_()
                w2.grad.zero_()
            return loss

        return _time_steps(env, d, step, x, y)

    return run


def mlp_torch(torch) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
        w1 = torch.tensor(d["w1"], requires_grad=True)
        w2 = torch.tensor(d["w2"], requires_grad=True)
        lr = d["lr"]
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            y_pred = x.mm(w1).clamp(min=0).mm(w2)
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                w1 -= lr * w1.grad
                w2 -= lr * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        d["loss"] = loss.item()
        return time.perf_counter() - t0

    return run


# -- full-batch logistic regression --
def logreg_setup(n: int = 10_000, dim: int = 100, steps: int = 200, lr: float = 0.1):
    def setup() -> dict:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, dim), dtype=np.float32)
        w_true = rng.standard_normal((dim, 1), dtype=np.float32)
        y = x @ w_true + 0.5 * rng.standard_normal((n, 1), dtype=np.float32) > 0
        return {"x": x, "y": y.astype(np.float32), "steps": steps, "lr": lr, "dim": dim}

    return setup


def logreg_floor(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        xp = env.xp
        x, y = env.arr(d["x"]), env.arr(d["y"])
        w = xp.zeros((d["dim"], 1), dtype=np.float32)
        b = xp.zeros((1,), dtype=np.float32)
        lr, n = d["lr"], x.shape[0]
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            z = x @ w + b
            loss = (xp.logaddexp(0, z) - y * z).mean()
            g = (1.0 / (1.0 + xp.exp(-z)) - y) / n
            gw = x.T @ g
            gb = g.sum(axis=0)
            w -= lr * gw
            b -= lr * gb
        d["loss"] = float(loss)
        env.sync()
        return time.perf_counter() - t0

    return run


def logreg_gradkit(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        dev = env.device
        x = gradkit.tensor(d["x"], device=dev)
        y = gradkit.tensor(d["y"], device=dev)
        w = gradkit.zeros(d["dim"], 1, device=dev, requires_grad=True)
        b = gradkit.zeros(1, device=dev, requires_grad=True)
        lr = d["lr"]
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            loss = F.binary_cross_entropy_with_logits(x.mm(w) + b, y)
            loss.backward()
            with gradkit.no_grad():
                w -= lr * w.grad
                b -= lr * b.grad
            w.grad = None
            b.grad = None
        d["loss"] = loss.item()
        env.sync()
        return time.perf_counter() - t0

    return run


def logreg_torch(torch) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        F_ = torch.nn.functional
        x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
        w = torch.zeros(d["dim"], 1, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        lr = d["lr"]
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            loss = F_.binary_cross_entropy_with_logits(x.mm(w) + b, y)
            loss.backward()
            with torch.no_grad():
                w -= lr * w.grad
                b -= lr * b.grad
            w.grad = None
            b.grad = None
        d["loss"] = loss.item()
        return time.perf_counter() - t0

    return run


# -- per-op overhead: a chain of 100 elementwise ops on a 4-element tensor --
CHAIN = 100


def chain_setup(chains: int = 200):
    def setup() -> dict:
        return {
            "x": np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32),
            "c": np.array([1.01, 0.99, 1.0, 1.02], dtype=np.float32),
            "chains": chains,
        }

    return setup


def chain_floor(env: Env) -> Callable[[dict], float]:
    """The same chain in numpy: forward, then the hand-written backward (the raw op cost)."""

    def run(d: dict) -> float:
        x, c = env.arr(d["x"]), env.arr(d["c"])
        t0 = time.perf_counter()
        for _ in range(d["chains"]):
            y = x
            for _ in range(CHAIN // 2):
                y = y * c
                y = y + 0.01
            g = env.xp.ones_like(x)
            for _ in range(CHAIN // 2):
                g = g * c
            y.sum()
        env.sync()
        elapsed = time.perf_counter() - t0
        d["loss"], d["grad"] = float(y.sum()), env.host(g)
        return elapsed

    return run


def chain_gradkit(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        x = gradkit.tensor(d["x"], device=env.device, requires_grad=True)
        c = gradkit.tensor(d["c"], device=env.device)
        t0 = time.perf_counter()
        for _ in range(d["chains"]):
            y = x
            for _ in range(CHAIN // 2):
                y = y * c
                y = y + 0.01
            y.sum().backward()
        env.sync()
        elapsed = time.perf_counter() - t0
        d["loss"], d["grad"] = y.sum().item(), x.grad.cpu().numpy() / d["chains"]
        return elapsed

    return run


def chain_compiled(
    env: Env, buffers: bool = True, graph: bool | None = None
) -> Callable[[dict], float]:
    """The chain through ``gradkit.compile_step``, replays only: its two recorded calls
    (the capture, ~15 ms once for the 100-op chain) run before the timer, since this case
    measures the cost per op; ``d["capture_ms"]`` keeps what they took."""

    def run(d: dict) -> float:
        x = gradkit.tensor(d["x"], device=env.device, requires_grad=True)
        c = gradkit.tensor(d["c"], device=env.device)

        @gradkit.compile_step(buffers=buffers, graph=graph)
        def chain(x):
            y = x
            for _ in range(CHAIN // 2):
                y = y * c
                y = y + 0.01
            y.sum().backward()
            return y

        t0 = time.perf_counter()
        chain(x)
        chain(x)
        d["capture_ms"] = (time.perf_counter() - t0) * 1e3
        x.grad = None
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["chains"]):
            y = chain(x)
        env.sync()
        elapsed = time.perf_counter() - t0
        d["loss"], d["grad"] = y.sum().item(), x.grad.cpu().numpy() / d["chains"]
        return elapsed

    return run


def chain_torch(torch) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        x = torch.tensor(d["x"], requires_grad=True)
        c = torch.tensor(d["c"])
        t0 = time.perf_counter()
        for _ in range(d["chains"]):
            y = x
            for _ in range(CHAIN // 2):
                y = y * c
                y = y + 0.01
            y.sum().backward()
        elapsed = time.perf_counter() - t0
        d["loss"], d["grad"] = y.sum().item(), x.grad.numpy() / d["chains"]
        return elapsed

    return run


# -- the tutorials: x ** 3 on the polynomial examples' vector ----------------------------------
def pow3_setup(calls: int = 2000, n: int = 2000):
    def setup() -> dict:
        x = np.linspace(-math.pi, math.pi, n, dtype=np.float32)
        return {"x": x, "calls": calls}

    return setup


def pow3_floor(env: Env, generic: bool = False) -> Callable[[dict], float]:
    """numpy's ``x*x*x`` (the floor), or with ``generic`` numpy's own ``x ** 3``."""

    def run(d: dict) -> float:
        x = env.arr(d["x"])
        t0 = time.perf_counter()
        for _ in range(d["calls"]):
            y = x**3 if generic else x * x * x
        env.sync()
        elapsed = time.perf_counter() - t0
        d["loss"] = float(abs(y).sum())  # an odd function on a symmetric range sums to ~0
        return elapsed

    return run


def pow3_gradkit(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        x = gradkit.tensor(d["x"], device=env.device)
        t0 = time.perf_counter()
        for _ in range(d["calls"]):
            y = x**3
        env.sync()
        elapsed = time.perf_counter() - t0
        d["loss"] = y.abs().sum().item()
        return elapsed

    return run


def pow3_torch(torch) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        x = torch.from_numpy(d["x"])
        t0 = time.perf_counter()
        for _ in range(d["calls"]):
            y = x**3
        elapsed = time.perf_counter() - t0
        d["loss"] = y.abs().sum().item()
        return elapsed

    return run


# -- the tutorials: polynomial_autograd's step ------------------------------------------------
def poly_setup(steps: int = 300, n: int = 2000, lr: float = 1e-6):
    def setup() -> dict:
        x = np.linspace(-math.pi, math.pi, n, dtype=np.float32)
        init = np.array([0.3, -0.2, 0.5, 0.1], dtype=np.float32)
        return {"x": x, "y": np.sin(x), "init": init, "steps": steps, "lr": lr}

    return setup


def poly_floor(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        x, y = env.arr(d["x"]), env.arr(d["y"])
        a, b, c, e = (env.arr(v) for v in d["init"])
        lr = d["lr"]
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            x2 = x * x
            x3 = x2 * x
            y_pred = a + b * x + c * x2 + e * x3
            loss = ((y_pred - y) ** 2).sum()
            g = 2.0 * (y_pred - y)
            a = a - lr * g.sum()
            b = b - lr * (g * x).sum()
            c = c - lr * (g * x2).sum()
            e = e - lr * (g * x3).sum()
        d["loss"] = float(loss)
        env.sync()
        return time.perf_counter() - t0

    return run


def poly_gradkit(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        dev = env.device
        x, y = gradkit.tensor(d["x"], device=dev), gradkit.tensor(d["y"], device=dev)
        params = [gradkit.tensor(v, device=dev, requires_grad=True) for v in d["init"]]
        a, b, c, e = params
        lr = d["lr"]
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            y_pred = a + b * x + c * x**2 + e * x**3
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with gradkit.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None
        d["loss"] = loss.item()
        env.sync()
        return time.perf_counter() - t0

    return run


def poly_torch(torch) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
        params = [torch.tensor(v, requires_grad=True) for v in d["init"]]
        a, b, c, e = params
        lr = d["lr"]
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            y_pred = a + b * x + c * x**2 + e * x**3
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None
        d["loss"] = loss.item()
        return time.perf_counter() - t0

    return run


# -- the tutorials: two_layer_net_nn's nn.Module step -----------------------------------------
def nn_setup(n: int = 64, d_in: int = 1000, h: int = 100, d_out: int = 10, steps: int = 300):
    def setup() -> dict:
        rng = np.random.default_rng(0)
        f32 = np.float32
        b1, b2 = 1 / np.sqrt(d_in), 1 / np.sqrt(h)  # nn.Linear's init range
        return {
            "x": rng.standard_normal((n, d_in), dtype=f32),
            "y": rng.standard_normal((n, d_out), dtype=f32),
            "w1": rng.uniform(-b1, b1, (h, d_in)).astype(f32),
            "b1": rng.uniform(-b1, b1, h).astype(f32),
            "w2": rng.uniform(-b2, b2, (d_out, h)).astype(f32),
            "b2": rng.uniform(-b2, b2, d_out).astype(f32),
            "steps": steps,
            "lr": 1e-4,
        }

    return setup


def nn_floor(env: Env, adam: bool = False) -> Callable[[dict], float]:
    """The same step by hand: forward, backward, SGD (weights as nn.Linear lays them out);
    with ``adam``, gradkit's (and PyTorch's) Adam update written out in numpy instead."""

    def run(d: dict) -> float:
        xp = env.xp
        x, y = env.arr(d["x"]), env.arr(d["y"])
        params = [env.arr(d[k]).copy() for k in ("w1", "b1", "w2", "b2")]
        w1, b1, w2, b2 = params
        lr = d["lr"]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        ms = [xp.zeros_like(p) for p in params]
        vs = [xp.zeros_like(p) for p in params]
        env.sync()
        t0 = time.perf_counter()
        for t in range(1, d["steps"] + 1):
            h = x @ w1.T + b1
            h_relu = xp.maximum(h, 0)
            y_pred = h_relu @ w2.T + b2
            diff = y_pred - y
            loss = (diff * diff).sum()
            g = 2.0 * diff
            gw2 = g.T @ h_relu
            gb2 = g.sum(axis=0)
            gh = g @ w2
            gh[h <= 0] = 0
            gw1 = gh.T @ x
            gb1 = gh.sum(axis=0)
            if not adam:
                w1 -= lr * gw1
                b1 -= lr * gb1
                w2 -= lr * gw2
                b2 -= lr * gb2
                continue
            bias1 = 1 - beta1**t
            bias2_sqrt = math.sqrt(1 - beta2**t)
            for p, gp, m, v in zip(params, (gw1, gb1, gw2, gb2), ms, vs):
                m += (1 - beta1) * (gp - m)
                v *= beta2
                v += (1 - beta2) * gp * gp
                denom = xp.sqrt(v) / bias2_sqrt + eps
                p += ((-lr / bias1) * m) / denom
        d["loss"] = float(loss)
        env.sync()
        return time.perf_counter() - t0

    return run


def _nn_model(m, d: dict, device: str | None = None):
    model = m.nn.Sequential(
        m.nn.Linear(d["x"].shape[1], d["w1"].shape[0]),
        m.nn.ReLU(),
        m.nn.Linear(d["w1"].shape[0], d["y"].shape[1]),
    )
    if device is not None:
        model.to(device)
    with m.no_grad():
        for p, key in zip(model.parameters(), ("w1", "b1", "w2", "b2")):
            p.copy_(m.tensor(d[key], device=device) if device else m.tensor(d[key]))
    return model


def nn_gradkit(env: Env) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        model = _nn_model(gradkit, d, env.device)
        x = gradkit.tensor(d["x"], device=env.device)
        y = gradkit.tensor(d["y"], device=env.device)
        loss_fn = gradkit.nn.MSELoss(reduction="sum")
        opt = gradkit.optim.SGD(model.parameters(), lr=d["lr"])
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        d["loss"] = loss.item()
        env.sync()
        return time.perf_counter() - t0

    return run


def nn_compiled(
    env: Env, adam: bool = False, buffers: bool = True, graph: bool | None = None
) -> Callable[[dict], float]:
    """``nn_gradkit``'s step (the Trainer's order) through ``gradkit.compile_step``."""

    def run(d: dict) -> float:
        model = _nn_model(gradkit, d, env.device)
        x = gradkit.tensor(d["x"], device=env.device)
        y = gradkit.tensor(d["y"], device=env.device)
        loss_fn = gradkit.nn.MSELoss(reduction="sum")
        if adam:
            opt = gradkit.optim.Adam(model.parameters(), lr=d["lr"])
        else:
            opt = gradkit.optim.SGD(model.parameters(), lr=d["lr"])

        @gradkit.compile_step(buffers=buffers, graph=graph)
        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return _time_steps(env, d, step, x, y)

    return run


def nn_adam(env: Env, compiled: bool = False) -> Callable[[dict], float]:
    """The nn step with Adam (the Trainer's order), eagerly or compiled."""
    if compiled:
        return nn_compiled(env, adam=True)

    def run(d: dict) -> float:
        model = _nn_model(gradkit, d, env.device)
        x = gradkit.tensor(d["x"], device=env.device)
        y = gradkit.tensor(d["y"], device=env.device)
        loss_fn = gradkit.nn.MSELoss(reduction="sum")
        opt = gradkit.optim.Adam(model.parameters(), lr=d["lr"])
        env.sync()
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        d["loss"] = loss.item()
        env.sync()
        return time.perf_counter() - t0

    return run


def nn_torch(torch, adam: bool = False) -> Callable[[dict], float]:
    def run(d: dict) -> float:
        model = _nn_model(torch, d)
        x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
        loss_fn = torch.nn.MSELoss(reduction="sum")
        if adam:
            opt = torch.optim.Adam(model.parameters(), lr=d["lr"])
        else:
            opt = torch.optim.SGD(model.parameters(), lr=d["lr"])
        t0 = time.perf_counter()
        for _ in range(d["steps"]):
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        d["loss"] = loss.item()
        return time.perf_counter() - t0

    return run


# -- the harness --
def build_cases(env: Env, quick: bool, torch) -> list[Case]:
    cases = [
        Case(
            "seed004 MLP 64x1000x100x10, 500 steps", mlp_setup(64, 1000, 100, 10, 500, 1e-6, False)
        ),
        Case("nn.Module step 64x1000x100x10, 300 steps", nn_setup(), unit="us/step", per=300),
        Case("nn Adam step 64x1000x100x10, 300 steps", nn_setup(), unit="us/step", per=300),
        Case("x ** 3, 2000 float32", pow3_setup(), unit="us", scale=1e6, per=2000),
        Case("polynomial fit 2000 pts, 300 steps", poly_setup(), unit="us/step", per=300),
        Case("MLP 1024x4096x1024x10, 50 steps", mlp_setup(1024, 4096, 1024, 10, 50, 1e-6, True)),
        Case("logreg full batch 10000x100, 200 steps", logreg_setup()),
        Case(
            "per-op overhead (100-op chain, fwd+bwd)",
            chain_setup(),
            unit="us/op",
            scale=1e6,
            per=200 * CHAIN,
        ),
    ]
    for case in cases:
        if case.unit == "us/step":
            case.scale = 1e6
    if quick:
        cases = [c for c in cases if not c.name.startswith("MLP 1024")]
    adam = functools.partial(nn_floor, adam=True), nn_adam, functools.partial(nn_torch, adam=True)
    makers = {
        "seed004": (mlp_floor, mlp_gradkit, mlp_torch),
        "nn.Module": (nn_floor, nn_gradkit, nn_torch),
        "nn Adam": adam,
        "x ** 3": (pow3_floor, pow3_gradkit, pow3_torch),
        "polynomial": (poly_floor, poly_gradkit, poly_torch),
        "MLP 1024": (mlp_floor, mlp_gradkit, mlp_torch),
        "logreg": (logreg_floor, logreg_gradkit, logreg_torch),
        "per-op": (chain_floor, chain_gradkit, chain_torch),
    }
    #: the compiled step, and the same replay without the out= rules ("replay plain")
    compiled = {
        "seed004": mlp_compiled,
        "nn.Module": nn_compiled,
        "nn Adam": functools.partial(nn_compiled, adam=True),
        "per-op": chain_compiled,
    }
    for case in cases:
        key = next(k for k in makers if case.name.startswith(k))
        floor, gk, tt = makers[key]
        case.impls["floor"] = floor(env)
        if floor is mlp_floor:
            case.impls["floor+acc"] = mlp_floor(env, accumulate=True)
        if floor is pow3_floor:
            case.impls["numpy x**3"] = pow3_floor(env, generic=True)
        case.impls["gradkit"] = nn_adam(env, False) if key == "nn Adam" else gk(env)
        if key in compiled:  # on cuda, "compiled" is a CUDA graph; "no graph" the replay
            case.impls["compiled"] = compiled[key](env)
            if env.device == "cpu":
                case.impls["replay plain"] = compiled[key](env, buffers=False)
            else:
                case.impls["no graph"] = compiled[key](env, graph=False)
        if torch is not None and env.device == "cpu":
            case.impls["torch"] = tt(torch)
    return cases


def measure(
    env: Env, quick: bool, torch, repeats: int, only: list[str] | None = None
) -> dict[str, dict[str, float]]:
    """{case: {impl: median seconds}}, every implementation interleaved in this process."""
    result: dict[str, dict[str, float]] = {}
    for case in build_cases(env, quick, torch):
        if only and not any(case.name.startswith(o) for o in only):
            continue
        data = case.setup()
        for run in case.impls.values():  # warm up every implementation once
            run(data)
        times: dict[str, list[float]] = {k: [] for k in case.impls}
        for _ in range(repeats):
            for name, run in case.impls.items():
                times[name].append(run(data))
        result[case.name] = {name: statistics.median(ts) for name, ts in times.items()}
    return result


def _steady_column(argv: list[str]) -> dict | None:
    """The same run in a fresh process with ``--malloc steady``: its medians, or None."""
    cmd = [sys.executable, __file__, *argv, "--malloc", "steady", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"(steady-malloc run failed: {done.stderr.strip()[-300:]})")
        return None
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu (numpy) or cuda (cupy)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 repeats, skip the large MLP")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    ap.add_argument(
        "--malloc",
        choices=["default", "steady"],
        default="default",
        help="default: the headline, as a user runs (plus a steady column from a second "
        "process); steady: this process keeps freed memory (glibc mallopt)",
    )
    ap.add_argument("--no-steady", action="store_true", help="skip the steady-malloc column")
    ap.add_argument("--only", help="comma-separated starts of case names, e.g. 'nn.Module,x ** 3'")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
    malloc = steady_malloc() if args.malloc == "steady" else "malloc: glibc default"
    env = Env(args.device)
    only = args.only.split(",") if args.only else None
    if args.json:
        print(json.dumps(measure(env, args.quick, torch, repeats, only)))
        return
    print(
        f"gradkit {gradkit.__version__} on {args.device}; numpy {np.__version__}"
        + (f"; torch {torch.__version__}" if torch is not None else "; torch not installed")
    )
    print(
        f"median of {repeats} interleaved repeats; headline: {malloc}, default threads"
        + (f" (torch: {torch.get_num_threads()})" if torch is not None else "")
        + f"; python: 1M empty loop {python_speed_ms():.0f} ms\n"
    )
    headline = measure(env, args.quick, torch, repeats, only)
    steady = None
    if args.malloc == "default" and not args.no_steady:
        argv = [a for a in sys.argv[1:] if not a.startswith("--malloc")]
        if "--malloc" in sys.argv:  # its value follows it
            i = sys.argv.index("--malloc")
            argv = sys.argv[1:i] + sys.argv[i + 2 :]
        steady = _steady_column(argv)
    cases = {c.name: c for c in build_cases(env, args.quick, None)}
    header = (
        f"{'case':42s} {'impl':13s} {'median':>9s} {'unit':>7s} {'vs floor':>9s} {'vs torch':>9s}"
    )
    if steady is not None:
        header += f" {'steady malloc':>14s} {'vs floor':>9s}"
    print(header)
    print("-" * len(header))
    for name, meds in headline.items():
        case = cases[name]
        floor, tt = meds["floor"], meds.get("torch")
        for impl, med in meds.items():
            value = med * case.scale / case.per
            vs_torch = f"{med / tt:8.2f}x" if tt else f"{'':9s}"
            line = (
                f"{name:42s} {impl:13s} {value:9.2f} {case.unit:>7s} {med / floor:8.2f}x {vs_torch}"
            )
            if steady is not None and name in steady and impl in steady[name]:
                s_med = steady[name][impl]
                line += (
                    f" {s_med * case.scale / case.per:14.2f} {s_med / steady[name]['floor']:8.2f}x"
                )
            print(line)
        print()


if __name__ == "__main__":
    main()
