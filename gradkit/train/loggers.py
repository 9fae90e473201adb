"""Trackers fed during training (the ``logger=`` group): TensorBoard event files and MLflow
runs.  Each is a :class:`~gradkit.train.hooks.TrainHook`; its library is imported only when
it is chosen (``gradkit train`` without a logger imports neither), and a missing library is
a :class:`~gradkit.errors.UserError` naming the pip command.

A logger class (gradkit's or a user's, named by ``_target_``) is built as
``cls(run_dir=..., config=..., **its YAML keys)``: ``config`` is the run's config flattened
to ``{"optimizer.lr": "0.1", ...}``.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UserError
from .hooks import TrainHook

__all__ = ["TensorBoardLogger", "MLflowLogger", "flatten", "scalars"]


def flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    """A nested dict as ``{"a.b": "value"}`` (lists and leaves as text)."""
    out: dict[str, str] = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = str(tree)
    return out


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """A metrics record as named scalars: ``train/loss``, ``val/accuracy``, ``train/lr``,
    ``train/steps_per_s``, ``grad_norm/<parameter>`` (non-finite values left out)."""
    split = record.get("split", "train")
    out = {
        f"{split}/loss": record.get("loss"),
        f"{split}/{record.get('metric_name')}": record.get("metric"),
    }
    if split == "train":
        out["train/lr"] = record.get("lr")
        out["train/steps_per_s"] = record.get("steps_per_s")
        for name, v in (record.get("grad_norm") or {}).items():
            out[f"grad_norm/{name}"] = v
    return {
        k: float(v)
        for k, v in out.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


def _missing(package: str, extra: str) -> UserError:
    return UserError(
        f"logger={extra} needs the {package} package, which is not installed: "
        f"pip install 'gradkit[{extra}]'"
    )


class TensorBoardLogger(TrainHook):
    """Scalars as TensorBoard event files (tensorboardX) in ``run_dir/log_dir``; a resumed
    run purges the events after its checkpoint's step, as metrics.jsonl does."""

    name = "logger=tensorboard"

    def __init__(
        self,
        run_dir: str | Path,
        config: dict[str, str] | None = None,
        log_dir: str = "tensorboard",
    ) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise _missing("tensorboardX", "tensorboard") from None
        rel = Path(log_dir)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ConfigError(
                f"logger.tensorboard.log_dir={log_dir} must be a folder name inside the run "
                "folder (no absolute path, no ..)"
            )
        self.path = Path(run_dir) / rel
        self._writer_cls = SummaryWriter
        self.writer: Any = None

    def start(self, step: int) -> None:
        """Create the event folder (never through a link) and open the writer."""
        self.path.mkdir(parents=True, exist_ok=True)
        p = Path(self.path)
        while p != p.parent and p.name:
            if stat.S_ISLNK(os.lstat(p).st_mode):
                raise UserError(f"{p} is a symbolic link; gradkit does not write through links")
            p = p.parent
        self.writer = self._writer_cls(
            logdir=str(self.path), purge_step=step + 1 if step > 0 else None, flush_secs=10
        )

    def log(self, record: dict[str, Any]) -> None:
        """Write the record's scalars at its step."""
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, global_step=record["step"])

    def end(self, status: str) -> None:
        """Flush and close the event file."""
        if self.writer is not None:
            self.writer.close()


class MLflowLogger(TrainHook):
    """One MLflow run per gradkit run (each sweep job its own): the flattened config as
    params, every metrics record as metrics at its step, ``params.npz`` and ``model.json``
    as artifacts at the end, and the run's end as its status."""

    name = "logger=mlflow"
    #: MLflow's limits: values per log_batch, length of a param value
    _BATCH, _PARAM_LEN = 100, 6000

    def __init__(
        self,
        run_dir: str | Path,
        config: dict[str, str] | None = None,
        tracking_uri: str = "sqlite:///mlflow.db",
        experiment: str = "gradkit",
        run_name: str | None = None,
        artifacts: bool = True,
    ) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise _missing("mlflow", "mlflow") from None
        import logging

        # its set-up chatter (creating tables, ...) is not the user's business
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self.run_dir = Path(run_dir)
        self.config = config or {}
        self.tracking_uri, self.experiment = tracking_uri, experiment
        if run_name is None:
            try:
                run_name = str(self.run_dir.resolve().relative_to(Path.cwd().resolve()))
            except ValueError:
                run_name = str(self.run_dir)
        self.run_name = run_name
        self.artifacts = artifacts
        self._client_cls = MlflowClient
        self.client: Any = None
        self.run_id: str | None = None
        self._pending: list[Any] = []

    def start(self, step: int) -> None:
        """Create (or find) the experiment and start this run's MLflow run."""
        from mlflow.entities import Param

        client = self._client_cls(tracking_uri=self.tracking_uri)
        exp = client.get_experiment_by_name(self.experiment)
        exp_id = exp.experiment_id if exp is not None else client.create_experiment(self.experiment)
        tags = {"gradkit.run_dir": str(self.run_dir)}
        if step:
            tags["gradkit.resumed_at_step"] = str(step)
        run = client.create_run(exp_id, run_name=self.run_name, tags=tags)
        self.client, self.run_id = client, run.info.run_id
        params = [Param(k, v[: self._PARAM_LEN]) for k, v in sorted(self.config.items())]
        for i in range(0, len(params), self._BATCH):
            client.log_batch(self.run_id, params=params[i : i + self._BATCH])

    def log(self, record: dict[str, Any]) -> None:
        """Queue the record's scalars (sent in batches)."""
        from mlflow.entities import Metric

        ts = int(record.get("time", 0) * 1000)
        for key, value in scalars(record).items():
            self._pending.append(Metric(key, value, ts, record["step"]))
        if len(self._pending) >= 10 * self._BATCH:
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            batch, self._pending = (
                self._pending[: 10 * self._BATCH],
                self._pending[10 * self._BATCH :],
            )
            self.client.log_batch(self.run_id, metrics=batch)

    def end(self, status: str) -> None:
        """Send what is queued, the artifacts, and the run's status."""
        if self.client is None:
            return
        self._flush()
        if self.artifacts:
            for name in ("params.npz", "model.json"):
                path = self.run_dir / name
                if path.is_file() and not path.is_symlink():
                    self.client.log_artifact(self.run_id, str(path))
        state = {"ok": "FINISHED", "interrupted": "KILLED"}.get(status, "FAILED")
        self.client.set_terminated(self.run_id, status=state)
