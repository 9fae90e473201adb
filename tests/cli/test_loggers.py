"""``logger=``: TensorBoard events and MLflow runs, read back with their own readers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import gradkit, metrics, output, result

FAST = ("loop.progress=none", "model=logreg", "data=binary_blobs", "loop.steps=30")
GRADS = {"grad_norm/linear.weight", "grad_norm/linear.bias"}


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of the event files in ``folder``, through TensorBoard's reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_tensorboard_events_hold_every_scalar(tmp_path) -> None:
    pytest.importorskip("tensorboardX")
    pytest.importorskip("tensorboard")
    p = gradkit("train", *FAST, "logger=tensorboard", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    s = _scalars(tmp_path / "run" / "tensorboard")
    assert {"train/loss", "train/accuracy", "val/loss", "val/accuracy"} <= set(s)
    assert {"train/lr", "train/steps_per_s"} | GRADS <= set(s), sorted(s)
    assert [step for step, _ in s["train/loss"]] == [10, 20, 30]
    recs = [m for m in metrics(tmp_path / "run") if m["split"] == "train"]
    assert [v for _, v in s["train/loss"]] == pytest.approx([m["loss"] for m in recs])
    assert s["val/accuracy"][-1][1] == pytest.approx(result(tmp_path / "run")["metric"])


def test_tensorboard_on_resume_keeps_one_value_per_step(tmp_path) -> None:
    pytest.importorskip("tensorboardX")
    pytest.importorskip("tensorboard")
    args = (*FAST, "logger=tensorboard", "loop.checkpoint_every=10")
    assert gradkit("train", *args, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    p = gradkit("train", "resume=run", "loop.steps=50", "logger=tensorboard", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    s = _scalars(tmp_path / "run" / "tensorboard")
    assert [step for step, _ in s["train/loss"]] == [10, 20, 30, 40, 50]


def test_tensorboard_log_dir_stays_in_the_run_folder(tmp_path) -> None:
    pytest.importorskip("tensorboardX")
    p = gradkit("train", *FAST, "logger=tensorboard", "logger.tensorboard.log_dir=../x",
                cwd=tmp_path)  # fmt: skip
    assert p.returncode == 2 and "must be a folder name inside the run folder" in output(p)
    assert not (tmp_path / "outputs" / "x").exists()


def test_a_missing_extra_is_exit_2_with_the_pip_command(tmp_path) -> None:
    """Run with the writer libraries hidden, as on an install without the extras."""
    hide = tmp_path / "hide"
    hide.mkdir()
    for mod in ("tensorboardX", "mlflow"):
        (hide / mod).mkdir()
        (hide / mod / "__init__.py").write_text(f"raise ImportError('no {mod} here')\n")
    code = "import sys; from gradkit.cli.main import main; sys.exit(main())"
    for choice, extra in (("tensorboard", "tensorboard"), ("mlflow", "mlflow")):
        p = subprocess.run(
            [sys.executable, "-c", code, "train", *FAST, f"logger={choice}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(hide), "PATH": "/usr/bin:/bin"},
            timeout=300,
        )
        assert p.returncode == 2, output(p)
        assert f"pip install 'gradkit[{extra}]'" in p.stderr and "Traceback" not in output(p)


def test_mlflow_run_has_the_params_metrics_and_artifacts(tmp_path) -> None:
    pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    from mlflow.tracking import MlflowClient

    p = gradkit(
        "train", *FAST, "optimizer.lr=0.05", "logger=[tensorboard,mlflow]",
        "logger.mlflow.experiment=tests", "hydra.run.dir=run", cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 0, output(p)
    assert (tmp_path / "run" / "tensorboard").is_dir()  # both loggers at once
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("tests")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    params = run.data.params
    assert params["optimizer.lr"] == "0.05" and params["loop.steps"] == "30"
    assert params["model._target_"] == "gradkit.models.LogisticRegression"
    assert not any(k.startswith("logger.") for k in params)
    history = client.get_metric_history(run.info.run_id, "train/loss")
    recs = [m for m in metrics(tmp_path / "run") if m["split"] == "train"]
    assert [h.step for h in history] == [m["step"] for m in recs]
    assert [h.value for h in history] == pytest.approx([m["loss"] for m in recs])
    assert run.data.metrics["val/accuracy"] == pytest.approx(result(tmp_path / "run")["metric"])
    assert set(run.data.metrics) >= GRADS
    arts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert arts == {"params.npz", "model.json"}


def test_mlflow_logs_each_sweep_job_as_its_own_run(tmp_path) -> None:
    pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    from mlflow.tracking import MlflowClient

    p = gradkit(
        "train", "-m", *FAST, "optimizer.lr=0.01,0.1", "logger=mlflow",
        "hydra.sweep.dir=sweep", cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 0, output(p)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("gradkit")
    runs = client.search_runs([exp.experiment_id])
    assert sorted(r.data.params["optimizer.lr"] for r in runs) == ["0.01", "0.1"]
    assert sorted(r.info.run_name for r in runs) == ["sweep/0", "sweep/1"]
    assert all(r.info.status == "FINISHED" for r in runs)
