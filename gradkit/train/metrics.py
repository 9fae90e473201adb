"""What a run measures (loss and one metric per task) and where it writes it (metrics.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..runtime.files import open_append, write_text

__all__ = ["METRIC", "metric_on_device", "evaluate", "MetricsLog", "shortest"]

#: task -> (metric name, direction: "max" or "min")
METRIC = {
    "binary": ("accuracy", "max"),
    "multiclass": ("accuracy", "max"),
    "regression": ("mse", "min"),
}


def metric_on_device(task: str, out: Tensor, y: Tensor) -> Tensor:
    """The task's metric as a 0-d tensor on the outputs' device (no host transfer)."""
    if task == "binary":
        return ((out > 0).float() == y).float().mean()
    if task == "multiclass":
        return (out.argmax(dim=1) == y).float().mean()
    return ((out - y) ** 2).mean()


def evaluate(model: Any, x: Tensor, y: Tensor) -> tuple[float, float]:
    """(loss, metric) of ``model`` on a whole split, without recording a graph."""
    with no_grad():
        out = model(x)
        loss = model.loss(out, y)
        metric = metric_on_device(model.task, out, y)
    return loss.item(), metric.item()


def shortest(v: float) -> float:
    """``v`` as the shortest decimal that reads back as the same float32 when ``v`` is a
    float32 value (0.824999988079071 -> 0.825); other floats unchanged."""
    import numpy as np

    f32 = np.float32(v)
    if not np.isfinite(f32) or float(f32) != v:
        return v
    return float(np.format_float_positional(f32, unique=True))


class MetricsLog:
    """``metrics.jsonl``: one JSON object per logged step, flushed as written.

    A resumed run first drops the records after its checkpoint's step (a run killed
    after its last checkpoint logged steps it will now take again) and any torn last
    line, so every step appears once."""

    def __init__(self, path: Path, metric_name: str, keep_until: int = 0) -> None:
        self.path = path
        self.metric_name = metric_name
        if path.exists() or path.is_symlink():
            _keep_until(path, keep_until)
        self._f = open_append(path)

    def write(
        self,
        step: int,
        epoch: int,
        split: str,
        loss: float,
        metric: float,
        time: float,
        **extra: Any,
    ) -> dict[str, Any]:
        """Append one record (``extra``: more fields, e.g. ``grad_norm``) and return it."""
        rec = {
            "step": step,
            "epoch": epoch,
            "split": split,
            "loss": shortest(loss),
            "metric": shortest(metric),
            "metric_name": self.metric_name,
            "time": round(time, 4),
            **extra,
        }
        self._f.write(json.dumps(rec) + "\n")
        self._f.flush()
        return rec

    def close(self) -> None:
        self._f.close()


def _keep_until(path: Path, step: int) -> None:
    """Rewrite ``path`` (atomically) without the records after ``step`` or torn lines."""
    if path.is_symlink():
        return  # open_append refuses it, naming the link
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] <= step:
            kept.append(line)
    if len(kept) != len(lines):
        write_text(path, "".join(k + "\n" for k in kept))
