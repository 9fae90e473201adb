"""What the commands share: devices, data, models and optimizers from configs, the checks
that run before anything else, and the mapping of failures to exit statuses."""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from .hydra_app import enum_value, print_error

__all__ = [
    "console",
    "resolve_device",
    "build_model",
    "build_optimizer",
    "check_missing",
    "load_data",
    "run_dir",
    "write_result",
    "exit_codes",
    "start_run",
    "parallel_job",
    "DISK_ERROR",
]

log = logging.getLogger("gradkit")


def console() -> Any:
    """The shared rich console; wide when the output is not a terminal, so tables in CI
    logs and files are not squeezed to 80 columns."""
    import rich

    c = rich.get_console()
    if not c.is_terminal and c.width < 160:
        c.width = 160
    return c


def run_dir() -> Path:
    """This run's output folder (Hydra's)."""
    return Path(HydraConfig.get().runtime.output_dir)


def resolve_device(cfg: Any) -> Any:
    """The device a ``device/`` config names; ``auto`` is cuda when usable, else cpu."""
    import gradkit
    from gradkit.backend import get_backend

    kind = enum_value(cfg.type)
    if kind == "auto":
        kind = "cuda" if gradkit.cuda.is_available() else "cpu"  # cli/notices.py says why
    index = cfg.index
    if kind == "cpu":
        dev = gradkit.device("cpu")
    elif kind == "strict":
        dev = gradkit.device("strict", 1 if index is None else index)
    else:
        dev = gradkit.device("cuda", index)
    return get_backend(dev).device  # raises a clear error when cuda cannot work


def check_missing(cfg: DictConfig) -> None:
    """Required values (``???`` in a config) must be set before anything runs."""
    from gradkit.errors import ConfigError

    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        choices = HydraConfig.get().runtime.choices
        parts = [f"{k} (for {k.split('.')[0]}={choices.get(k.split('.')[0])})" for k in missing]
        raise ConfigError(
            f"missing required value{'s' if len(missing) > 1 else ''}: {', '.join(parts)}; set "
            f"{'them' if len(missing) > 1 else 'it'} on the command line, e.g. {missing[0]}=..."
        )


def load_data(cfg: DictConfig) -> Any:
    """The dataset of ``cfg.data`` (checked on the host, split and scaled), from the loader
    its ``_target_`` names: gradkit's own, or a user's found as a model class is."""
    from gradkit import data as gk_data
    from gradkit.data.sources import SOURCES

    from .usercode import data_target, locate

    target = data_target(cfg.data)
    loader = None if target in SOURCES else locate(target, "data._target_")[1]
    ds = gk_data.load(OmegaConf.to_object(cfg.data), loader=loader)
    log.info("data: %s", ds.describe())
    return ds


def build_model(model_cfg: DictConfig, ds: Any, target: str | None = None) -> Any:
    """The configured model (or ``target``, a class of the same family), sized for the data
    by the class's ``from_data`` (``gradkit.models.data_kwargs``): what the config leaves
    unset comes from the data, and a mismatch is a clear error."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    from gradkit.errors import ConfigError
    from gradkit.models import data_kwargs

    from .usercode import locate, model_target

    target, cls = locate(target or model_target(model_cfg), "model._target_")
    name = HydraConfig.get().runtime.choices.get("model", cls.__name__)
    kwargs = {"_target_": target, **data_kwargs(cls, ds, model_cfg, name)}
    try:
        return instantiate(model_cfg, **kwargs)
    except InstantiationException as e:
        cause = e.__cause__ or e
        raise ConfigError(f"model={name}: {cause}") from None


def build_optimizer(opt_cfg: DictConfig, model: Any) -> Any:
    """The configured optimizer over ``model``'s parameters."""
    from hydra.utils import instantiate

    from gradkit.errors import ConfigError

    try:
        return instantiate(opt_cfg, params=list(model.parameters()))
    except Exception as e:
        raise ConfigError(f"optimizer: {e.__cause__ or e}") from None


def write_result(folder: Path, **fields: Any) -> None:
    """``result.json``: the job, its overrides and what it measured (sweeps read it);
    replaced atomically, never written through a link."""
    from gradkit.runtime.files import write_text

    hc = HydraConfig.get()
    out = {
        "job": hc.job.num if hc.mode == RunMode.MULTIRUN else None,
        "overrides": [o for o in hc.overrides.task if not o.startswith("resume=")],
        "run_dir": str(folder),
    }
    out.update(fields)
    for k, v in out.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
    write_text(folder / "result.json", json.dumps(out, indent=1))


def _try_write_result(folder: Path, **fields: Any) -> None:
    """``write_result`` when the failure being reported may be the disk itself."""
    try:
        write_result(folder, **fields)
    except OSError as e:
        log.warning("result.json not written: %s", e)


def parallel_job() -> bool:
    """True in a sweep job that runs in a worker process (joblib, submitit)."""
    hc = HydraConfig.get()
    return hc.mode == RunMode.MULTIRUN and "basic_launcher" not in str(
        hc.launcher.get("_target_", "")
    )


class FolderRefused(Exception):
    """The run folder is not this run's to write (its message says why)."""


def start_run(cfg: DictConfig, folder: Path) -> None:
    """Claim the run folder (refused: nothing written), open its log, record its config."""
    from omegaconf import open_dict

    from gradkit.errors import UserError

    from .logs import open_run_logs
    from .rundir import claim, record_config, same_folder

    hc = HydraConfig.get()
    requeued = hc.mode == RunMode.MULTIRUN and _requeued(folder, list(hc.overrides.task))
    if requeued and (folder / "checkpoint.npz").exists() and "resume" in cfg:
        # a requeued sweep job (submitit): its folder is its own, from an earlier start
        with open_dict(cfg):
            cfg.resume = str(folder)
        log.info("requeued job: resuming from %s", folder / "checkpoint.npz")
    resume = cfg.get("resume")
    in_place = requeued or (bool(resume) and same_folder(str(resume), folder))
    try:
        claim(folder, "hydra.run.dir", resume=in_place)
    except UserError as e:
        raise FolderRefused(str(e)) from None
    open_run_logs()
    overrides = [o for o in hc.overrides.task if not o.startswith("resume=")]
    record_config(folder, cfg, hc, overrides)


def _requeued(folder: Path, overrides: list[str]) -> bool:
    """True for a submitit job started again (pre-empted, requeued) in its own folder: the
    lock and the overrides record are there, and they are this job's."""
    from omegaconf import OmegaConf

    from gradkit.runtime.signals import under_submitit

    from .rundir import LOCK

    if not (folder / LOCK).exists() or not under_submitit():
        return False
    try:
        saved = OmegaConf.load(folder / ".hydra" / "overrides.yaml")
    except Exception:
        return False
    return [str(o) for o in saved] == overrides


def exit_codes(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a task function: claim its folder, then map failures to exit statuses — a
    user mistake logs its message and exits 2 (no traceback), a file that cannot be
    written exits 74, a signal ends as signals do (128 + its number).  In a sweep a
    failed job records its error and the sweep goes on."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def task(cfg: DictConfig) -> Any:
            from gradkit.backend import DeviceUnavailableError
            from gradkit.errors import UserError
            from gradkit.runtime import signals
            from gradkit.runtime.files import DiskError

            from .callbacks import sweep_stopping
            from .rundir import release

            folder = run_dir()
            multirun = HydraConfig.get().mode == RunMode.MULTIRUN
            signals.install()  # a sweep worker's start-up too: a signal never kills it bare
            try:
                start_run(cfg, folder)
                stopping = sweep_stopping(folder) if multirun else None
                if stopping:
                    log.warning("job skipped: the sweep was stopped by %s", stopping)
                    write_result(folder, status=f"skipped: sweep stopped by {stopping}")
                    return math.nan
                return fn(cfg)
            except FolderRefused as e:
                _report(e, to_file=False)  # the folder is not ours: its log is not written
                if multirun:
                    from .callbacks import record_refused

                    record_refused(str(e))
                    return math.nan
                raise SystemExit(2) from None
            except (UserError, DeviceUnavailableError, DiskError) as e:
                _report(e)
                _try_write_result(folder, status=f"error: {e}")
                if multirun:
                    return math.nan
                raise SystemExit(DISK_ERROR if isinstance(e, DiskError) else 2) from None
            except signals.Stopped as e:
                name = signals.signal_name(e.signum)
                log.warning("gradkit %s: stopped by %s", command, name)
                _try_write_result(folder, status=f"stopped by {name}")
                if multirun and parallel_job():
                    return math.nan
                raise
            finally:
                release(folder)  # a sweep worker goes on to other jobs: the run is over

        return task

    return wrap


def _report(e: BaseException, to_file: bool = True) -> None:
    """One ``gradkit: error:`` line on stderr; the run's log keeps it too."""
    if to_file:
        log.error("%s", e, extra={"file_only": True})
    print_error(str(e))


#: exit status when a run's file could not be written (sysexits' EX_IOERR)
DISK_ERROR = 74
