"""Sweeps: Hydra's basic launcher, joblib, submitit_local (the SLURM plugin), Optuna."""

from __future__ import annotations

import csv

import pytest

from .helpers import gradkit, output

BASE = (
    "model=logreg",
    "data=binary_blobs",
    "loop.epochs=2",
    "loop.progress=none",
    "hydra.sweep.dir=sweep",
)


def _summary(tmp_path) -> list[dict]:
    with open(tmp_path / "sweep" / "summary.csv") as f:
        return list(csv.DictReader(f))


def test_a_2x2_sweep_makes_4_runs_and_a_summary(tmp_path) -> None:
    p = gradkit(
        "train",
        "-m",
        "optimizer.lr=0.01,0.1",
        "model=logreg,manual_logreg",
        *BASE[1:],
        cwd=tmp_path,
    )
    assert p.returncode == 0, output(p)
    runs = sorted(d.name for d in (tmp_path / "sweep").iterdir() if d.is_dir())
    assert runs == ["0", "1", "2", "3"]
    rows = _summary(tmp_path)
    assert len(rows) == 4
    metrics = [float(r["metric"]) for r in rows]
    assert metrics == sorted(metrics, reverse=True)  # best first
    assert "optimizer.lr=0.1" in rows[0]["overrides"]
    assert "sweep: 4 jobs, best first" in output(p)


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_sweep_through_launcher_plugins(tmp_path, launcher) -> None:
    pytest.importorskip(
        "hydra_plugins.hydra_joblib_launcher"
        if launcher == "joblib"
        else "hydra_plugins.hydra_submitit_launcher"
    )
    p = gradkit(
        "train",
        "-m",
        f"hydra/launcher={launcher}",
        "optimizer.lr=0.01,0.1",
        *BASE,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, output(p)
    rows = _summary(tmp_path)
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)


def test_optuna_search(tmp_path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    p = gradkit(
        "train",
        "-m",
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.direction=maximize",
        "optimizer.lr=interval(0.001,0.5)",
        *BASE,
        cwd=tmp_path,
        timeout=600,
    )
    assert p.returncode == 0, output(p)
    assert "Best value" in output(p)
    assert len(_summary(tmp_path)) == 3
