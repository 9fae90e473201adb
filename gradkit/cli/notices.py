"""Quiet surprises: settings that run without error but do something other than a new
user may expect, each answered by one warning line on stderr before training starts.

* ``loop.steps`` and ``loop.epochs`` both given: steps wins.
* ``loop.zero_grad=never``: gradients accumulate from step to step.
* ``device=auto`` that picked the CPU: why no GPU was used.
* ``hydra/sweeper=optuna`` (e.g. ``recipe=optuna_lr_search``) without ``-m``: one run,
  no search; with ``-m``, a search direction that is the opposite of the metric's.
* ``gradkit train recipe=R`` where R is made for another command (``compare_mlp``).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

__all__ = ["surprises", "warn_surprises", "print_warning"]

log = logging.getLogger("gradkit")


def print_warning(message: str) -> None:
    """``gradkit: warning: <message>`` on stderr; the run's log file records it too."""
    from rich.console import Console
    from rich.markup import escape

    log.warning("%s", message, extra={"file_only": True})
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold yellow]gradkit: warning:[/] {escape(message)}"
    )


def _overridden(overrides: list[str], key: str) -> bool:
    return any(o.lstrip("+~").split("=", 1)[0] == key for o in overrides)


def _no_gpu_reason() -> str:
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed (pip install 'gradkit[cuda12]' or 'gradkit[cuda13]')"
    return "CuPy is installed but found no usable CUDA GPU"


def surprises(cfg: Any, device: Any, ds: Any, hydra_cfg: Any) -> list[str]:
    """The warnings a training config deserves (one line each)."""
    from hydra.types import RunMode

    from gradkit.train.metrics import METRIC

    out: list[str] = []
    overrides = [str(o) for o in hydra_cfg.overrides.task]
    choices = hydra_cfg.runtime.choices
    loop = cfg.loop
    if loop.steps is not None and _overridden(overrides, "loop.epochs"):
        out.append(
            f"loop.steps={loop.steps} and loop.epochs={loop.epochs} are both set: loop.steps "
            "wins (training stops after that many steps); set only one of them"
        )
    if str(getattr(loop.zero_grad, "value", loop.zero_grad)) == "never":
        out.append(
            "loop.zero_grad=never: gradients are never reset, so each step adds to the previous "
            "ones (the accumulation bug the tutorials warn about); use loop.zero_grad="
            "set_to_none to train normally"
        )
    dev_type = str(getattr(cfg.device.type, "value", cfg.device.type))
    if dev_type == "auto" and str(device).startswith("cpu"):
        out.append(f"device=auto is using the CPU: {_no_gpu_reason()}")
    sweeper = str(hydra_cfg.sweeper.get("_target_", ""))
    if "optuna" in sweeper.lower():
        if hydra_cfg.mode != RunMode.MULTIRUN:
            recipe = choices.get("recipe")
            how = f"recipe={recipe}" if recipe else "hydra/sweeper=optuna ..."
            out.append(
                "the Optuna sweeper searches only with -m: this is one ordinary training run; "
                f"for the search run gradkit train -m {how}"
            )
        else:
            name, direction = METRIC[ds.task]
            wanted = "maximize" if direction == "max" else "minimize"
            given = str(hydra_cfg.sweeper.get("direction", "minimize")).lower()
            given = given.strip("[]'\" ").split(".")[-1]  # "minimize", Direction.minimize
            if wanted != given:
                out.append(
                    f"Optuna will {given} validation {name}, which is better when "
                    f"{'higher' if direction == 'max' else 'lower'}: the search looks for the "
                    f"worst settings. Add hydra.sweeper.direction={wanted}"
                )
    recipe = choices.get("recipe")
    if recipe:
        from .recipes import find_recipes

        for r in find_recipes():
            if r.name == recipe and r.command.split()[0] != "train":
                out.append(
                    f"recipe={recipe} is made for gradkit {r.command.split()[0]} ({r.run_with}); "
                    "gradkit train runs its model and data as an ordinary training run"
                )
    return out


def warn_surprises(cfg: Any, device: Any, ds: Any) -> None:
    """Print a warning line (stderr) for each quiet surprise in a training config."""
    from hydra.core.hydra_config import HydraConfig

    for line in surprises(cfg, device, ds, HydraConfig.get()):
        print_warning(line)
