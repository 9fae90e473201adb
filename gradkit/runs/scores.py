"""A model's scores on labelled data: its loss and metric exactly as training measures
them, plus a confusion matrix (classifiers) or MAE and R² (regression)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..train.metrics import METRIC, evaluate

__all__ = ["score"]


def score(model: Any, x: np.ndarray, y: np.ndarray, classes: list) -> dict:
    """Scores of ``model`` on standardised features ``x`` and encoded targets ``y`` (the
    parameters of a run that diverged may give inf or nan: they are reported, silently)."""
    with np.errstate(all="ignore"):
        return _score(model, x, y, classes)


def _score(model: Any, x: np.ndarray, y: np.ndarray, classes: list) -> dict:
    xt, yt = tensor(x), tensor(y)
    loss, metric = evaluate(model, xt, yt)
    name, _ = METRIC[model.task]
    out: dict[str, Any] = {"n": len(x), "loss": loss, name: metric, "metric_name": name}
    if model.task == "regression":
        with no_grad():
            pred = model(xt).numpy().astype(np.float64)
        truth = y.astype(np.float64)
        out["mae"] = float(np.abs(pred - truth).mean())
        total = float(((truth - truth.mean(axis=0)) ** 2).sum())
        out["r2"] = 1.0 - float(((pred - truth) ** 2).sum()) / total if total else float("nan")
        return out
    with no_grad():
        logits = model(xt).numpy()
    if model.task == "binary":
        pred, true = (logits[:, 0] > 0).astype(np.int64), y[:, 0].astype(np.int64)
    else:
        pred, true = logits.argmax(axis=1), y.astype(np.int64)
    k = len(classes)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)
    out["classes"] = list(classes)
    out["confusion_matrix"] = cm.tolist()
    return out
