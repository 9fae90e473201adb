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
    parallel_job,
    resolve_device,
    write_result,
)
from .hydra_app import enum_value, launch
from .notices import warn_surprises

__all__ = ["main", "run"]

log = logging.getLogger("gradkit")


def _train(cfg: DictConfig, run_dir: Path) -> Any:
    import gradkit
    from gradkit.runs import write_model_card
    from gradkit.train import Trainer, find_checkpoint, make_reporter

    check_missing(cfg)
    loop = OmegaConf.to_object(cfg.loop)  # checked as it is built (train/config.py)

    dev = resolve_device(cfg.device)
    gradkit.manual_seed(cfg.seed)
    ds = load_data(cfg)
    warn_surprises(cfg, dev, ds)
    model = build_model(cfg.model, ds).to(dev)
    write_model_card(run_dir, ds, model)
    optimizer = build_optimizer(cfg.optimizer, model)
    log.info(
        "model: %s on %s, %d parameters, %s gradients",
        type(model).__name__,
        dev,
        sum(p.numel() for p in model.parameters()),
        model.gradients,
    )
    mode = enum_value(loop.progress)

    def reporter(total: int, metric_name: str) -> Any:
        return make_reporter(mode, total, metric_name, parallel_job())

    from gradkit.train.config import ZeroGrad
    from gradkit.train.hooks import GradientHealth

    hooks = [GradientHealth(loop.zero_grad is ZeroGrad.never), *make_loggers(cfg, run_dir)]
    trainer = Trainer(
        model, optimizer, ds.to(dev), loop, run_dir, cfg.seed, dev, reporter, hooks=hooks
    )
    resume = find_checkpoint(cfg.resume) if cfg.resume else None
    if resume is not None and resume.parent.resolve() != run_dir.resolve():
        _copy_history(resume.parent, run_dir)
    log.info(
        "training %d steps (%s); outputs in %s",
        trainer.total,
        f"{loop.epochs} epochs" if loop.steps is None else "loop.steps",
        run_dir,
    )
    return trainer.run(resume)


def make_loggers(cfg: DictConfig, run_dir: Path) -> list[Any]:
    """The loggers ``cfg.logger`` names (``logger=none``: none), each built from its
    ``_target_`` with its keys, the run folder and the flattened config."""
    from hydra.utils import get_class

    from gradkit.errors import ConfigError
    from gradkit.train.loggers import flatten

    chosen = cfg.get("logger") or {}
    if not chosen:
        return []
    config = flatten(OmegaConf.to_container(cfg, resolve=True))
    config = {k: v for k, v in config.items() if not k.startswith(("logger.", "resume"))}
    loggers = []
    for name, node in chosen.items():
        kwargs = OmegaConf.to_container(node, resolve=True)
        if not isinstance(kwargs, dict) or "_target_" not in kwargs:
            raise ConfigError(f"logger.{name} has no _target_ naming its class")
        target = kwargs.pop("_target_")
        try:
            cls = get_class(target)
        except Exception as e:
            raise ConfigError(f"logger.{name}: cannot import {target!r}: {e}") from None
        try:
            loggers.append(cls(run_dir=run_dir, config=config, **kwargs))
        except TypeError as e:
            raise ConfigError(f"logger.{name}: {e}") from None
    return loggers


def show_curves(run_dir: Path) -> None:
    """One log line each for the loss and the validation metric, as sparklines."""
    from gradkit.runs.curves import read_curves, sparkline

    c = read_curves(run_dir)
    for what, series in (("train loss", c.train_loss), (f"val {c.metric_name}", c.val_metric)):
        values = [v for _, v in series]
        if len(values) >= 2:
            log.info(
                "%-16s %s  %.4g → %.4g (steps %d–%d)",
                what,
                sparkline(values),
                values[0],
                values[-1],
                series[0][0],
                series[-1][0],
            )


def _copy_history(source: Path, run_dir: Path) -> None:
    """A resume into a new folder starts from the source run's metrics (the loop drops
    the records after the checkpoint's step)."""
    from gradkit.runtime.files import write_text

    src = source / "metrics.jsonl"
    if src.is_file() and not src.is_symlink():
        write_text(run_dir / "metrics.jsonl", src.read_text(encoding="utf-8", errors="replace"))


@exit_codes("train")
def run(cfg: DictConfig) -> float:
    """The task function: train, report, and exit with the right status on failure."""
    from gradkit.runtime import signals
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
        name = signals.signal_name(e.signum)
        log.warning(
            "%s: stopped after step %d; checkpoint saved in %s. Continue with: "
            "gradkit train resume=%s",
            name,
            e.step,
            e.checkpoint,
            run_dir,
        )
        write_result(
            run_dir, status=f"{signals.status_word(e.signum)} at step {e.step}", steps=e.step
        )
        signals.chain(e.signum)  # under submitit: requeue this job (it resumes from here)
        if hc.mode == RunMode.MULTIRUN:
            return math.nan  # later jobs are skipped; the sweep exits 128 + signal
        raise SystemExit(signals.exit_status(e.signum)) from None
    show_curves(run_dir)
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
        next=f"gradkit predict run={run_dir} input=FILE.csv",
    )
    return result.metric


def main(args: list[str]) -> int:
    """Run ``gradkit train ARGS`` (``resume=DIR``: see :mod:`gradkit.cli.resume`)."""
    from gradkit.errors import UserError

    from .hydra_app import print_error
    from .resume import plan_resume

    try:
        plan = plan_resume(args)
    except UserError as e:
        print_error(str(e))
        return 2
    if plan is None:
        return launch("train", run, args)
    if plan.nothing_to_do:
        print(plan.nothing_to_do)
        return 0
    if plan.replayed:
        print(
            f"resume: replaying {plan.folder / '.hydra' / 'overrides.yaml'}: "
            f"{' '.join(plan.replayed)}"
        )
    where = "in place" if plan.in_place else "into a new folder"
    print(f"resume: continuing {plan.checkpoint} {where}")
    return launch("train", run, plan.args)
