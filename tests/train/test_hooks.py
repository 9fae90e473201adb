"""The loop's hooks: what they hear, that a failing one is dropped, and the gradient check."""

from __future__ import annotations

import json
import logging

import gradkit
from gradkit.data import load
from gradkit.data.config import BlobsConfig
from gradkit.models import MLP
from gradkit.train import LoopConfig, Trainer, make_reporter
from gradkit.train.hooks import GradientHealth


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start(self, step: int) -> None:
        self.calls.append(("start", step))

    def log(self, record: dict) -> None:
        self.calls.append(("log", (record["step"], record["split"])))

    def end(self, status: str) -> None:
        self.calls.append(("end", status))


class Broken:
    name = "broken logger"

    def log(self, record: dict) -> None:
        raise ConnectionError("tracker is down")


def _trainer(tmp_path, hooks, **loop):
    gradkit.manual_seed(0)
    ds = load(BlobsConfig(n_samples=200, n_features=5, n_classes=3))
    model = MLP(5, 16, 3).to("cpu")
    opt = gradkit.optim.SGD(model.parameters(), lr=0.1)
    cfg = LoopConfig(**{"steps": 20, "batch_size": 0, "log_every": 10, "eval_every": 0, **loop})
    return Trainer(
        model,
        opt,
        ds.to("cpu"),
        cfg,
        tmp_path,
        0,
        "cpu",
        lambda total, name: make_reporter("none", total, name, False),
        hooks=hooks,
    )


def test_hooks_hear_every_record_and_the_end(tmp_path, caplog) -> None:
    rec = Recorder()
    with caplog.at_level(logging.WARNING, logger="gradkit.train"):
        _trainer(tmp_path, [Broken(), rec]).run()
    assert rec.calls == [
        ("start", 0),
        ("log", (10, "train")),
        ("log", (20, "train")),
        ("log", (20, "val")),
        ("end", "ok"),
    ]
    warnings = [r.getMessage() for r in caplog.records]
    assert (
        len(warnings) == 1
        and "broken logger stopped (ConnectionError: tracker is down)" in (warnings[0])
    )


def test_grad_norms_are_recorded_at_log_steps_only(tmp_path) -> None:

    _trainer(tmp_path, [], steps=25, log_every=5).run()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    train = [m for m in map(json.loads, lines) if m["split"] == "train"]
    assert [m["step"] for m in train] == [5, 10, 15, 20, 25]
    for m in train:
        assert set(m["grad_norm"]) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
        assert all(v > 0 for v in m["grad_norm"].values())
        assert m["lr"] == 0.1 and m["steps_per_s"] >= 0


def _norms(health: GradientHealth, values: list[dict[str, float]]) -> None:
    for i, v in enumerate(values, start=1):
        health.log({"step": 10 * i, "split": "train", "grad_norm": v})


def test_gradient_health_warns_once_per_kind(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="gradkit.train"):
        _norms(GradientHealth(False), [{"w": 1.0, "b": 1.0}, {"w": 1e-8, "b": 1.0}, {"w": 0.0}])
        _norms(GradientHealth(False), [{"w": 1.0}, {"w": 2e4}, {"w": 3e4}])
        _norms(GradientHealth(False), [{"w": 1.0}, {"w": float("nan")}])
        _norms(GradientHealth(True), [{"w": 1.0}, {"w": 2.0}, {"w": 3.0}, {"w": 4.0}, {"w": 5}])
        _norms(GradientHealth(False), [{"w": 1.0}, {"w": 2.0}, {"w": 3.0}, {"w": 4.0}])
        _norms(GradientHealth(True), [{"w": 1.0}, {"w": 0.5}, {"w": 0.7}, {"w": 0.6}])
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4, messages
    assert "step 20: the gradient of w has vanished" in messages[0]
    assert "step 20: gradients are exploding (total norm 2e+04" in messages[1]
    assert "step 20: the gradient of w is not finite" in messages[2]
    assert "step 40: gradients grow step over step" in messages[3]
    assert "loop.zero_grad=never" in messages[3]
