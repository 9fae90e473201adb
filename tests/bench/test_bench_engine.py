"""The engine benchmark compares like with like: on small sizes, every implementation
of each case (the numpy floor, floor+acc, gradkit, PyTorch when installed) ends with
the same loss, and the per-op chain's hand-written backward equals autograd's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_engine.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_engine"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["bench_engine"]


def _small_cases(bench) -> dict:
    return {
        "seed004": bench.mlp_setup(8, 20, 10, 3, 5, 1e-3, False),
        "nn.Module": bench.nn_setup(8, 20, 10, 3, steps=5),
        "nn Adam": bench.nn_setup(8, 20, 10, 3, steps=5),
        "x ** 3": bench.pow3_setup(calls=3, n=50),
        "polynomial": bench.poly_setup(steps=5, n=50, lr=1e-3),
        "MLP 1024": bench.mlp_setup(8, 20, 10, 3, 5, 1e-2, True),
        "logreg": bench.logreg_setup(n=50, dim=4, steps=5),
        "per-op": bench.chain_setup(chains=2),
    }


@pytest.mark.parametrize(
    "case",
    ["seed004", "nn.Module", "nn Adam", "x ** 3", "polynomial", "MLP 1024", "logreg", "per-op"],
)
def test_implementations_agree(bench, case) -> None:
    try:
        import torch
    except ImportError:
        torch = None
    env = bench.Env("cpu")
    small = _small_cases(bench)
    built = {
        next(k for k in small if c.name.startswith(k)): c
        for c in bench.build_cases(env, quick=False, torch=torch)
    }
    impls = built[case].impls
    assert {"floor", "gradkit"} <= set(impls)
    if case in ("seed004", "MLP 1024"):
        assert "floor+acc" in impls
    losses, grads = {}, {}
    for name, run in impls.items():
        d = small[case]()
        assert run(d) > 0
        losses[name] = d["loss"]
        grads[name] = d.get("grad")
    if "compiled" in impls:  # a replayed step is the eager one, bit for bit
        assert losses["compiled"] == losses["gradkit"] == losses["replay plain"]
    for name in losses:
        np.testing.assert_allclose(losses[name], losses["floor"], rtol=1e-4, err_msg=name)
        if grads[name] is not None:
            np.testing.assert_allclose(grads[name], grads["floor"], rtol=1e-4, err_msg=name)


@pytest.mark.parametrize("case", ["seed004", "nn.Module", "nn Adam", "per-op"])
def test_graph_safe_replays_agree_bit_for_bit(bench, case) -> None:
    """The cuda run's "compiled" column is a graph-safe program: the same makers with
    ``graph=True`` on the CPU give the eager step's loss, bit for bit."""
    env = bench.Env("cpu")
    small = _small_cases(bench)
    makers = {
        "seed004": (bench.mlp_compiled, bench.mlp_gradkit),
        "nn.Module": (bench.nn_compiled, bench.nn_gradkit),
        "nn Adam": (lambda e, **kw: bench.nn_compiled(e, adam=True, **kw), bench.nn_adam),
        "per-op": (bench.chain_compiled, bench.chain_gradkit),
    }
    compiled, eager = makers[case]
    d_graph, d_eager = small[case](), small[case]()
    compiled(env, graph=True)(d_graph)
    eager(env)(d_eager)
    assert np.array_equal(d_graph["loss"], d_eager["loss"])
