"""``gradkit train``: a Hydra app (primary config ``conf/train.yaml``).

Builds the device, the data, the model and the optimizer from the config, runs
the loop, and returns the final validation metric (so Hydra sweepers, Optuna
included, can optimise it).  Exit codes: 0 done, 1 training failed (the loss
became NaN), 2 bad config or data, 130 interrupted (a checkpoint was saved).
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from .hydra_app import enum_value, prepare

__all__ = ["main", "run", "build_model", "resolve_device"]

log = logging.getLogger("gradkit")


def resolve_device(cfg: Any) -> Any:
    """The device a ``device/`` config names; ``auto`` is cuda when usable, else cpu."""
    import gradkit
    from gradkit.backend import get_backend

    kind = enum_value(cfg.type)
    if kind == "auto":
        kind = "cuda" if gradkit.cuda.is_available() else "cpu"
        log.info("device=auto: using %s", kind)
    index = cfg.index
    if kind == "cpu":
        dev = gradkit.device("cpu")
    elif kind == "strict":
        dev = gradkit.device("strict", 1 if index is None else index)
    else:
        dev = gradkit.device("cuda", index)
    return get_backend(dev).device  # raises a clear error when cuda cannot work


def build_model(model_cfg: DictConfig, ds: Any) -> Any:
    """The configured model, sized for the data (d_in, d_out and task from the data when
    the config leaves them unset; a mismatch is a clear error)."""
    from hydra.errors import InstantiationException
    from hydra.utils import get_class, instantiate

    from gradkit.errors import ConfigError

    cls = get_class(model_cfg._target_)
    name = HydraConfig.get().runtime.choices.get("model", cls.__name__)
    kwargs: dict[str, Any] = {}

    def fit(key: str, wanted: Any, what: str) -> None:
        given = model_cfg.get(key)
        if given is None:
            kwargs[key] = wanted
        elif given != wanted:
            raise ConfigError(
                f"model.{key}={given} does not fit the data: {ds.name} has {wanted} {what}; "
                f"leave model.{key} unset to take it from the data"
            )

    if cls.family == "logreg":
        if ds.task != "binary":
            extra = f" ({len(ds.classes)} classes)" if ds.task == "multiclass" else ""
            raise ConfigError(
                f"model={name} needs a binary target, but {ds.name} is a {ds.task} task"
                f"{extra}; use model=mlp, or data with two label values"
            )
        fit("dim", ds.n_features, "features")
    else:
        task = model_cfg.get("task")
        if task is not None and task != ds.task:
            raise ConfigError(
                f"model.task={task} but {ds.name} is a {ds.task} task; leave model.task unset"
            )
        kwargs["task"] = ds.task
        fit("d_in", ds.n_features, "features")
        what = {"multiclass": "classes", "binary": "output (binary)", "regression": "targets"}
        fit("d_out", ds.n_outputs, what[ds.task])
    try:
        return instantiate(model_cfg, **kwargs)
    except InstantiationException as e:
        cause = e.__cause__ or e
        raise ConfigError(f"model={name}: {cause}") from None


def _write_result(run_dir: Path, **fields: Any) -> None:
    hc = HydraConfig.get()
    out = {
        "job": hc.job.num if hc.mode == RunMode.MULTIRUN else None,
        "overrides": list(hc.overrides.task),
        "run_dir": str(run_dir),
    }
    out.update(fields)
    for k, v in out.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
    (run_dir / "result.json").write_text(json.dumps(out, indent=1))


def _train(cfg: DictConfig, run_dir: Path) -> Any:
    import gradkit
    from gradkit import data as gk_data
    from gradkit.errors import ConfigError
    from gradkit.train import Trainer, find_checkpoint, make_reporter

    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        choices = HydraConfig.get().runtime.choices
        parts = [f"{k} (for {k.split('.')[0]}={choices.get(k.split('.')[0])})" for k in missing]
        raise ConfigError(
            f"missing required value{'s' if len(missing) > 1 else ''}: {', '.join(parts)}; set "
            f"{'them' if len(missing) > 1 else 'it'} on the command line, e.g. {missing[0]}=..."
        )
    loop = OmegaConf.to_object(cfg.loop)
    for key in ("batch_size", "eval_every", "checkpoint_every"):
        if getattr(loop, key) < 0:
            raise ConfigError(f"loop.{key} must be >= 0, got {getattr(loop, key)}")
    for key in ("accumulate", "log_every", "epochs"):
        if getattr(loop, key) < 1:
            raise ConfigError(f"loop.{key} must be >= 1, got {getattr(loop, key)}")
    if loop.steps is not None and loop.steps < 1:
        raise ConfigError(f"loop.steps must be >= 1 (or unset), got {loop.steps}")

    dev = resolve_device(cfg.device)
    gradkit.manual_seed(cfg.seed)
    ds = gk_data.load(OmegaConf.to_object(cfg.data))
    log.info("data: %s", ds.describe())
    model = build_model(cfg.model, ds).to(dev)
    from hydra.utils import instantiate

    try:
        optimizer = instantiate(cfg.optimizer, params=list(model.parameters()))
    except Exception as e:
        raise ConfigError(f"optimizer: {e.__cause__ or e}") from None
    log.info(
        "model: %s on %s, %d parameters, %s gradients",
        type(model).__name__,
        dev,
        sum(p.numel() for p in model.parameters()),
        model.gradients,
    )
    hc = HydraConfig.get()
    parallel = hc.mode == RunMode.MULTIRUN and "basic_launcher" not in str(
        hc.launcher.get("_target_", "")
    )
    mode = enum_value(loop.progress)

    def reporter(total: int, metric_name: str) -> Any:
        return make_reporter(mode, total, metric_name, parallel)

    trainer = Trainer(model, optimizer, ds.to(dev), loop, run_dir, cfg.seed, dev, reporter)
    resume = find_checkpoint(cfg.resume) if cfg.resume else None
    log.info(
        "training %d steps (%s); outputs in %s",
        trainer.total,
        f"{loop.epochs} epochs" if loop.steps is None else "loop.steps",
        run_dir,
    )
    return trainer.run(resume)


def run(cfg: DictConfig) -> float:
    """The task function: train, report, and exit with the right status on failure."""
    from gradkit.backend import DeviceUnavailableError
    from gradkit.errors import UserError
    from gradkit.train import TrainingFailed, TrainingInterrupted

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    try:
        result = _train(cfg, run_dir)
    except (UserError, DeviceUnavailableError) as e:
        log.error("%s", e)
        _write_result(run_dir, status=f"error: {e}")
        raise SystemExit(2) from None
    except TrainingFailed as e:
        log.error("training failed: %s", e)
        _write_result(run_dir, status="failed: loss not finite", metric=math.nan)
        if hc.mode == RunMode.MULTIRUN:
            return math.nan  # one diverging job does not stop the sweep
        raise SystemExit(1) from None
    except TrainingInterrupted as e:
        log.warning(
            "interrupted after step %d; checkpoint saved in %s. Continue with: "
            "gradkit train resume=%s",
            e.step,
            e.checkpoint,
            run_dir,
        )
        _write_result(run_dir, status=f"interrupted at step {e.step}")
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        log.warning(
            "stopped at once (Ctrl-C twice): no new checkpoint; the last one, if any, is in %s",
            run_dir,
        )
        _write_result(run_dir, status="stopped")
        raise SystemExit(130) from None
    log.info(
        "done: %d steps; validation %s %.4g, loss %.4g; outputs in %s",
        result.steps,
        result.metric_name,
        result.metric,
        result.val_loss,
        run_dir,
    )
    _write_result(
        run_dir,
        status="ok",
        metric=result.metric,
        metric_name=result.metric_name,
        direction=result.direction,
        val_loss=result.val_loss,
        train_loss=result.train_loss,
        steps=result.steps,
    )
    return result.metric


@hydra.main(version_base="1.3", config_path="pkg://gradkit.conf", config_name="train")
def _app(cfg: DictConfig) -> float:
    return run(cfg)


def _resume_overrides(args: list[str]) -> list[str]:
    """``resume=DIR`` replays the run's own overrides first, so the config is the same."""
    resume = next((a.split("=", 1)[1] for a in args if a.startswith("resume=")), None)
    if not resume:
        return args
    saved = Path(resume) / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        return args
    old = [o for o in OmegaConf.load(saved) if not str(o).startswith("resume=")]
    return [str(o) for o in old] + args


def main(args: list[str]) -> int:
    """Run ``gradkit train ARGS`` (Hydra reads the arguments from ``sys.argv``)."""
    prepare()
    sys.argv = ["gradkit train", *_resume_overrides(args)]
    _app()
    return 0
