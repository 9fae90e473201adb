"""``loop.compile=true``: the Trainer's captured steps give the eager run's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit
from gradkit.data import load
from gradkit.data.config import BlobsConfig
from gradkit.models import MODELS
from gradkit.train import LoopConfig, Trainer, make_reporter


def _run(tmp_path, name: str, compile: bool, **loop):
    gradkit.manual_seed(0)
    ds = load(BlobsConfig(n_samples=150, n_features=5, n_classes=3))
    model = MODELS[name](5, 8, 3) if "mlp" in name else MODELS[name](5, n_classes=3)
    opt = gradkit.optim.Adam(model.parameters(), lr=0.01)
    cfg = LoopConfig(
        **{"steps": 40, "batch_size": 32, "log_every": 5, "eval_every": 0, **loop},
        compile=compile,
    )
    out = tmp_path / f"{name}-{compile}"
    out.mkdir()
    tr = Trainer(
        model,
        opt,
        ds.to("cpu"),
        cfg,
        out,
        0,
        "cpu",
        lambda t, n: make_reporter("none", t, n, False),
    )
    result = tr.run()
    lines = (out / "metrics.jsonl").read_text()
    return result, lines, [p.detach().numpy().copy() for p in model.parameters()], tr


@pytest.mark.parametrize("name", ["mlp", "manual_mlp", "function_mlp", "logreg"])
@pytest.mark.parametrize("accumulate", [1, 2])
def test_compiled_training_matches_eager(tmp_path, name: str, accumulate: int) -> None:
    eager = _run(tmp_path, name, False, accumulate=accumulate)
    comp = _run(tmp_path, name, True, accumulate=accumulate)
    assert comp[3]._compiled.reason is None
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
