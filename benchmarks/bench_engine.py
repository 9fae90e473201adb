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

On Linux the script first tells glibc's malloc to keep freed memory (see
``steady_malloc``): otherwise a step that frees its 400 KB temporaries at the top
of the heap hands the pages back to the OS and faults them in again on the next
step, and how often that happens depends on what else the process has allocated
(importing torch alone changed the floor by 25-60% here).  The header also prints
how long a fixed pure-Python loop takes, so a slow or noisy machine shows.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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


# -- the harness --
def build_cases(env: Env, quick: bool, torch) -> list[Case]:
    cases = [
        Case(
            "seed004 MLP 64x1000x100x10, 500 steps", mlp_setup(64, 1000, 100, 10, 500, 1e-6, False)
        ),
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
    if quick:
        cases.pop(1)
    makers = {
        "seed004": (mlp_floor, mlp_gradkit, mlp_torch),
        "MLP 1024": (mlp_floor, mlp_gradkit, mlp_torch),
        "logreg": (logreg_floor, logreg_gradkit, logreg_torch),
        "per-op": (chain_floor, chain_gradkit, chain_torch),
    }
    for case in cases:
        key = next(k for k in makers if case.name.startswith(k))
        floor, gk, tt = makers[key]
        case.impls["floor"] = floor(env)
        if floor is mlp_floor:
            case.impls["floor+acc"] = mlp_floor(env, accumulate=True)
        case.impls["gradkit"] = gk(env)
        if torch is not None and env.device == "cpu":
            case.impls["torch"] = tt(torch)
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu (numpy) or cuda (cupy)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 repeats, skip the large MLP")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(max(1, torch.get_num_threads()))
        except ImportError:
            torch = None
    malloc = steady_malloc()
    env = Env(args.device)
    print(
        f"gradkit {gradkit.__version__} on {args.device}; numpy {np.__version__}"
        + (f"; torch {torch.__version__}" if torch is not None else "; torch not installed")
    )
    print(
        f"median of {repeats} interleaved repeats; {malloc}; "
        f"python: 1M empty loop {python_speed_ms():.0f} ms\n"
    )
    header = f"{'case':44s} {'impl':9s} {'median':>10s} {'unit':>6s} {'vs floor':>9s}"
    print(header)
    print("-" * len(header))
    for case in build_cases(env, args.quick, torch):
        data = case.setup()
        for run in case.impls.values():  # warm up every implementation once
            run(data)
        times: dict[str, list[float]] = {k: [] for k in case.impls}
        for _ in range(repeats):
            for name, run in case.impls.items():
                times[name].append(run(data))
        floor = statistics.median(times["floor"])
        for name, ts in times.items():
            med = statistics.median(ts)
            value = med * case.scale / case.per
            print(f"{case.name:44s} {name:9s} {value:10.3f} {case.unit:>6s} {med / floor:8.2f}x")
        print()


if __name__ == "__main__":
    main()
