"""What a run prints and writes as it goes: a progress bar that fits the terminal, no flood
of validation lines, and metrics.jsonl without float32 noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .helpers import gradkit, metrics


@pytest.mark.parametrize(
    ("width", "steps"), [(120, 260), (80, 260), (80, 10000), (60, 260), (40, 260)]
)
def test_progress_bar_fits_and_keeps_the_step_counter(
    tmp_path: Path, width: int, steps: int
) -> None:
    p = gradkit(
        "train",
        "loop.progress=bar",
        f"loop.steps={steps}",
        "data.n_samples=200",
        "loop.eval_every=0",
        cwd=tmp_path,
        env={"COLUMNS": str(width)},
    )
    assert p.returncode == 0, p.stdout + p.stderr
    bars = [line for line in p.stdout.splitlines() if line.startswith("train ")]
    assert bars, p.stdout
    assert f"{steps}/{steps}" in bars[-1], bars[-1]
    assert all(len(line) <= width for line in bars), bars
    assert "…" not in bars[-1]
    if width >= 60:
        assert "loss " in bars[-1] and "accuracy " in bars[-1], bars[-1]


def test_validation_lines_follow_log_every(tmp_path: Path) -> None:
    p = gradkit(
        "train",
        "loop.steps=600",
        "loop.log_every=200",
        "loop.eval_every=50",
        "loop.progress=lines",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    shown = [line for line in p.stdout.splitlines() if ": validation loss" in line]
    assert [line.split()[2] for line in shown] == ["200:", "400:", "600:"], shown
    recorded = [r["step"] for r in metrics(tmp_path / "run") if r["split"] == "val"]
    assert recorded == list(range(50, 601, 50))  # metrics.jsonl keeps every pass


def test_metrics_jsonl_has_the_shortest_float32_repr(tmp_path: Path) -> None:
    p = gradkit("train", "loop.steps=60", "loop.progress=none", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    text = (tmp_path / "run" / "metrics.jsonl").read_text()
    for rec in metrics(tmp_path / "run"):
        for key in ("loss", "metric"):
            v = rec[key]
            short = float(np.format_float_positional(np.float32(v), unique=True))
            assert repr(v) == repr(short), (key, v)
    assert "0.824999988" not in text and "99999" not in text


def test_bar_fit_drops_fields_in_order() -> None:
    from gradkit.train.progress import BarReporter

    r = BarReporter.__new__(BarReporter)
    r.total, r.metric_name = 260, "accuracy"
    parts = ["epoch 19", "loss 0.2252", "accuracy 0.9062", "2982.4 steps/s", "ETA 0:00"]
    info, bar = r.fit(parts, 200)
    assert info == "  ".join(parts) and bar == 40
    info, bar = r.fit(parts, 79)
    assert info == "epoch 19  loss 0.2252  accuracy 0.9062  ETA 0:00" and bar >= 8
    assert r.fit(parts, 59)[0] == "loss 0.2252  accuracy 0.9062"
    assert r.fit(parts, 20)[0] == ""
