"""Captured steps as real CUDA graphs (skipped without a usable GPU): bit-identical to
eager cupy, with a schedule changing lr every step, and launched, not run as Python."""

from __future__ import annotations

import pytest

import gradkit
from gradkit.models import MODELS

from .test_compile_step import OPTIMIZERS
from .test_graph import EXTRA, _program, _trainer, _twins

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not gradkit.cuda.is_available(), reason="cupy or a usable CUDA GPU is missing"
    ),
]

STEPS = 60


def _launched(step) -> None:
    runner = _program(step).runner
    assert runner.kind == "CUDA graph" and runner.reason is None, runner.reason
    assert runner.launches == STEPS - 3  # two recordings, then one run + capture


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_runs_as_a_cuda_graph(name: str) -> None:
    _launched(_twins(_trainer(name, gradkit.optim.SGD, lr=0.1), "cuda", steps=STEPS))


ALL_OPT = OPTIMIZERS + EXTRA


@pytest.mark.parametrize(("label", "cls", "kw"), ALL_OPT, ids=[o[0] for o in ALL_OPT])
def test_every_optimizer_follows_a_schedule_in_a_cuda_graph(
    label: str, cls: type, kw: dict
) -> None:
    step = _twins(_trainer("mlp", cls, **kw), "cuda", steps=STEPS, schedule=True)
    _launched(step)


def test_the_default_on_cuda_is_a_graph() -> None:
    gradkit.manual_seed(0)
    step, _ = _trainer("mlp", gradkit.optim.Adam, lr=0.01)("cuda")
    step = gradkit.compile_step(step)
    x = gradkit.randn(8, 6, device="cuda")
    y = gradkit.randint(0, 3, (8,), device="cuda")
    losses = [step(x, y) for _ in range(6)]
    assert _program(step).runner.kind == "CUDA graph" and step.graph_reason is None
    assert len({id(t._data) for t in losses}) == 6  # each step's loss is its own array
    assert losses[-1].item() < losses[0].item()
