"""``loop.compile=true``: the Trainer's captured steps give the eager run's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit
from gradkit.data import load
from gradkit.data.config import BlobsConfig
from gradkit.models import MODELS
from gradkit.train import LoopConfig, Trainer, make_reporter

try:
    import array_api_strict as xs
except ImportError:  # pragma: no cover - a dev dependency
    xs = None


def _run(tmp_path, name: str, compile: bool, dev: str = "cpu", **loop):
    gradkit.manual_seed(0)
    ds = load(BlobsConfig(n_samples=150, n_features=5, n_classes=3))
    model = MODELS[name](5, 8, 3) if "mlp" in name else MODELS[name](5, n_classes=3)
    model = model.to(dev)
    opt = gradkit.optim.Adam(model.parameters(), lr=0.01)
    cfg = LoopConfig(
        **{"steps": 40, "batch_size": 32, "log_every": 5, "eval_every": 0, **loop},
        compile=compile,
    )
    out = tmp_path / f"{name}-{compile}-{dev}"
    out.mkdir()
    tr = Trainer(
        model,
        opt,
        ds.to(dev),
        cfg,
        out,
        0,
        dev,
        lambda t, n: make_reporter("none", t, n, False),
    )
    result = tr.run()
    lines = (out / "metrics.jsonl").read_text()
    return result, lines, [p.detach().cpu().numpy().copy() for p in model.parameters()], tr


@pytest.mark.parametrize(
    "dev", ["cpu", pytest.param("strict:1", marks=pytest.mark.skipif(xs is None, reason="no xs"))]
)
@pytest.mark.parametrize("name", ["mlp", "manual_mlp", "function_mlp", "logreg"])
@pytest.mark.parametrize("accumulate", [1, 2])
def test_compiled_training_matches_eager(tmp_path, name: str, accumulate: int, dev: str) -> None:
    """On device1 (the GPU stand-in) the Trainer's step is a graph-safe program by default,
    its device half run under the host-transfer tripwire."""
    eager = _run(tmp_path, name, False, dev, accumulate=accumulate)
    comp = _run(tmp_path, name, True, dev, accumulate=accumulate)
    assert comp[3]._compiled.reason is None
    assert comp[3]._compiled.graph_reason is None
    kinds = {type(p).__name__ for p in comp[3]._compiled._programs.values()}
    assert kinds == ({"Program"} if dev == "cpu" else {"GraphProgram"})
    assert comp[3]._compiled.counts["replayed"] > 0
    assert eager[0].val_loss == comp[0].val_loss and eager[0].train_loss == comp[0].train_loss
    drop_time = [
        [{k: v for k, v in r.items() if k not in ("time", "steps_per_s")} for r in rows]
        for rows in (
            [__import__("json").loads(ln) for ln in run[1].splitlines()] for run in (eager, comp)
        )
    ]
    assert drop_time[0] == drop_time[1]
    for a, b in zip(eager[2], comp[2]):
        assert np.array_equal(a, b)
