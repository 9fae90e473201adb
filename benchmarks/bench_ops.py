"""Per-op micro-benchmark: each elementwise op the tutorials use, in gradkit, against
numpy's fastest equivalent (the floor) and PyTorch on the CPU when it is installed.

    python benchmarks/bench_ops.py               # 2000-element float32 vectors, as the
                                                 # polynomial tutorials use
    python benchmarks/bench_ops.py --size 100000

For each op it times, per call, in microseconds (best of the repeats): numpy's
fastest way to the same values (``x*x*x`` for ``x ** 3``); gradkit's forward on a
tensor that needs no grad; gradkit's forward + backward (``y.backward(g)`` on a leaf
that requires grad); and torch's forward and forward + backward (1 thread).
``fwd/np`` is gradkit's forward over the floor; ``excess`` subtracts gradkit's fixed
cost of one op (``x + 0`` on a 1-element tensor), so an op whose array work is
slower than numpy's best (the trap ``x ** 3`` fell into: numpy's generic power) shows
a large excess, while one that only pays the Python overhead shows about 0.  Numpy's
own ``x ** 3`` is printed as a row too: its speed depends on the CPU (SIMD ``power``
only with AVX-512; set NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" to see
what a CPU without it gets).
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

import numpy as np

import gradkit


def _sigmoid_np(a: np.ndarray) -> np.ndarray:
    out = np.negative(a)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def _x3(a: np.ndarray) -> np.ndarray:
    out = a * a
    out *= a
    return out


def _x4(a: np.ndarray) -> np.ndarray:
    out = a * a
    out *= out
    return out


def _x5(a: np.ndarray) -> np.ndarray:
    out = _x4(a)
    out *= a
    return out


def _mse_np(a: np.ndarray, b: np.ndarray) -> np.floating:
    d = a - b
    return np.dot(d, d) / d.size


# name: (numpy floor, gradkit / torch program on (module, x, y))
OPS: dict[str, tuple[Callable, Callable]] = {
    "x + y": (lambda a, b: a + b, lambda m, x, y: x + y),
    "x * y": (lambda a, b: a * b, lambda m, x, y: x * y),
    "x / y": (lambda a, b: a / b, lambda m, x, y: x / y),
    "x ** 2": (lambda a, b: a * a, lambda m, x, y: x**2),
    "x ** 3": (lambda a, b: _x3(a), lambda m, x, y: x**3),
    "x ** 4": (lambda a, b: _x4(a), lambda m, x, y: x**4),
    "x ** 5": (lambda a, b: _x5(a), lambda m, x, y: x**5),
    "x ** 0.5": (lambda a, b: np.sqrt(a), lambda m, x, y: x**0.5),
    "sqrt": (lambda a, b: np.sqrt(a), lambda m, x, y: x.sqrt()),
    "exp": (lambda a, b: np.exp(a), lambda m, x, y: x.exp()),
    "log": (lambda a, b: np.log(a), lambda m, x, y: x.log()),
    "log1p": (lambda a, b: np.log1p(a), lambda m, x, y: x.log1p()),
    "sin": (lambda a, b: np.sin(a), lambda m, x, y: x.sin()),
    "cos": (lambda a, b: np.cos(a), lambda m, x, y: x.cos()),
    "abs": (lambda a, b: np.abs(a), lambda m, x, y: x.abs()),
    "tanh": (lambda a, b: np.tanh(a), lambda m, x, y: x.tanh()),
    "sigmoid": (lambda a, b: _sigmoid_np(a), lambda m, x, y: x.sigmoid()),
    "relu": (lambda a, b: np.maximum(a, 0), lambda m, x, y: x.relu()),
    "clamp(min=0)": (lambda a, b: np.maximum(a, 0), lambda m, x, y: x.clamp(min=0)),
    "mse_loss": (_mse_np, lambda m, x, y: m.nn.functional.mse_loss(x, y)),
    "(x - y).pow(2).sum()": (_mse_np, lambda m, x, y: (x - y).pow(2).sum()),
}


def _best_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--number", type=int, default=2000, help="calls per timing")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            torch = None
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 2.0, args.size).astype(np.float32)
    b = rng.uniform(0.1, 2.0, args.size).astype(np.float32)
    n, r = args.number, args.repeat

    def t(fn: Callable[[], object]) -> float:
        return _best_us(fn, n, r)

    x, y = gradkit.tensor(a), gradkit.tensor(b)
    one = gradkit.tensor([1.0])
    t(lambda: one + 0)  # warm up
    fixed = min(t(lambda: one + 0), t(lambda: one.abs()), t(lambda: one * 1.0))
    print(
        f"gradkit {gradkit.__version__}; numpy {np.__version__}"
        + (f"; torch {torch.__version__} (1 thread)" if torch else "; torch not installed")
    )
    print(
        f"float32 vectors of {args.size}; us per call, best of {r} x {n}; gradkit's fixed "
        f"cost of one op (x + 0 on 1 element): {fixed:.2f} us"
    )
    print(f"numpy's own x ** 3: {t(lambda: a**3):.2f} us (x*x*x: {t(lambda: _x3(a)):.2f} us)\n")
    cols = ["op", "numpy", "gk fwd", "fwd/np", "excess", "gk f+b"]
    if torch:
        cols += ["torch fwd", "torch f+b"]
    print(f"{cols[0]:22s}" + "".join(f"{c:>11s}" for c in cols[1:]))
    print("-" * (22 + 11 * (len(cols) - 1)))
    for name, (floor, prog) in OPS.items():
        t_np = t(lambda floor=floor: floor(a, b))
        t_fwd = t(lambda prog=prog: prog(gradkit, x, y))
        xg = gradkit.tensor(a, requires_grad=True)
        out = prog(gradkit, xg, y)
        g = gradkit.ones(out.shape)

        def fb(prog=prog, xg=xg, g=g) -> None:
            prog(gradkit, xg, y).backward(g)
            xg.grad = None

        row = [t_np, t_fwd, t_fwd / t_np, max(t_fwd - fixed, 0.0) / t_np, t(fb)]
        if torch:
            tx, ty = torch.from_numpy(a), torch.from_numpy(b)
            txg = torch.tensor(a, requires_grad=True)
            tg = torch.ones(tuple(out.shape))

            def tfb(prog=prog, txg=txg, tg=tg, ty=ty) -> None:
                prog(torch, txg, ty).backward(tg)
                txg.grad = None

            row += [t(lambda prog=prog, tx=tx, ty=ty: prog(torch, tx, ty)), t(tfb)]
        cells = [f"{v:10.2f}x" if i in (2, 3) else f"{v:11.2f}" for i, v in enumerate(row)]
        print(f"{name:22s}" + "".join(cells))


if __name__ == "__main__":
    main()
