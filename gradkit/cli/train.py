"""``gradkit train``: a Hydra app (primary config ``conf/train.yaml``).

Builds the device, the data, the model and the optimizer from the config, runs
the loop, and returns the final validation metric (so Hydra sweepers, Optuna
included, can optimise it).  Exit codes: 0 done, 1 training failed (the loss
became NaN), 2 bad config or data, 130 interrupted (a checkpoint was saved).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from .common import (
    build_model,
    build_optimizer,
    check_missing,
    exit_codes,
    load_data,
    resolve_device,
    write_result,
)
from .hydra_app import enum_value, launch
from .notices import warn_surprises

__all__ = ["main", "run"]

log = logging.getLogger("gradkit")


def _train(cfg: DictConfig, run_dir: Path) -> Any:
    import gradkit
    from gradkit.errors import ConfigError
    from gradkit.train import Trainer, find_checkpoint, make_reporter

    check_missing(cfg)
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
    ds = load_data(cfg)
    warn_surprises(cfg, dev, ds)
    model = build_model(cfg.model, ds).to(dev)
    optimizer = build_optimizer(cfg.optimizer, model)
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


@exit_codes("train")
def run(cfg: DictConfig) -> float:
    """The task function: train, report, and exit with the right status on failure."""
    from gradkit.train import TrainingFailed, TrainingInterrupted

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    try:
        result = _train(cfg, run_dir)
    except TrainingFailed as e:
        log.error("training failed: %s", e)
        write_result(run_dir, status="failed: loss not finite", metric=math.nan)
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
        write_result(run_dir, status=f"interrupted at step {e.step}")
        raise SystemExit(130) from None
    log.info(
        "done: %d steps; validation %s %.4g, loss %.4g; outputs in %s",
        result.steps,
        result.metric_name,
        result.metric,
        result.val_loss,
        run_dir,
    )
    write_result(
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
    """Run ``gradkit train ARGS``."""
    return launch("train", run, _resume_overrides(args))
