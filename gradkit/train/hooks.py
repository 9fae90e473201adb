"""What the training loop calls besides its own work: the loggers (TensorBoard, MLflow, a
user's class) and the gradient-health check.

A hook has three methods, each optional:

* ``start(step)`` — before the first step (``step`` > 0 when resuming);
* ``log(record)`` — after every record written to ``metrics.jsonl`` (the same dict: step,
  epoch, split, loss, metric, metric_name, time; train records add ``lr``,
  ``steps_per_s`` and ``grad_norm``, the gradient norm of each parameter);
* ``end(status)`` — once, after the run's files are saved: ``ok``, ``failed`` (loss not
  finite), ``interrupted`` (a signal) or ``error``.

A hook that raises is reported once as a warning and not called again: the run folder is
the record, a tracker is a copy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["TrainHook", "Hooks", "GradientHealth"]

log = logging.getLogger("gradkit.train")


class TrainHook:
    """Base class of the loop's hooks (every method is optional)."""

    def start(self, step: int) -> None:
        """Called before the first step of this session (``step``: where it starts)."""

    def log(self, record: dict[str, Any]) -> None:
        """Called with each record written to ``metrics.jsonl``."""

    def end(self, status: str) -> None:
        """Called once at the end: ``ok``, ``failed``, ``interrupted`` or ``error``."""


class Hooks:
    """The hooks of one run, called in order; one that raises is dropped with a warning."""

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        self.hooks = list(hooks)

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def call(self, method: str, arg: Any) -> None:
        """``hook.method(arg)`` for every hook that has it."""
        for hook in list(self.hooks):
            fn = getattr(hook, method, None)
            if fn is None:
                continue
            try:
                fn(arg)
            except Exception as e:  # a tracker's failure must not lose the run
                self.hooks.remove(hook)
                log.warning(
                    "%s stopped (%s: %s); training goes on, the run folder has everything",
                    getattr(hook, "name", type(hook).__name__),
                    type(e).__name__,
                    str(e).splitlines()[0] if str(e) else "",
                )


class GradientHealth(TrainHook):
    """Warns (once each) when gradients vanish, explode or become non-finite, and when they
    grow step over step because ``loop.zero_grad=never`` lets them pile up.

    Judged on the gradient norms the loop records at log steps: a parameter's norm that
    falls below ``vanish`` times its first recorded norm (or to 0), a total norm above
    ``explode`` (or ``explode`` times the first), and, with zero_grad off, a total norm that
    grew at ``grow_logs`` log steps in a row."""

    name = "gradient check"

    def __init__(
        self,
        zero_grad_off: bool,
        vanish: float = 1e-6,
        explode: float = 1e4,
        grow_logs: int = 3,
    ) -> None:
        self.zero_grad_off = zero_grad_off
        self.vanish, self.explode, self.grow_logs = vanish, explode, grow_logs
        self.first: dict[str, float] = {}
        self.first_total: float | None = None
        self.last_total: float | None = None
        self.growing = 0
        self.warned: set[str] = set()

    def _warn(self, kind: str, message: str, *args: Any) -> None:
        if kind not in self.warned:
            self.warned.add(kind)
            log.warning(message, *args)

    def log(self, record: dict[str, Any]) -> None:
        norms = record.get("grad_norm")
        if not norms:
            return
        step = record["step"]
        total = (
            math.sqrt(sum(v * v for v in norms.values()))
            if all(math.isfinite(v) for v in norms.values())
            else math.inf
        )
        bad = [n for n, v in norms.items() if not math.isfinite(v)]
        if bad:
            self._warn(
                "nonfinite",
                "step %d: the gradient of %s is not finite (inf or nan); lower the learning "
                "rate (optimizer.lr) or standardise the data",
                step,
                ", ".join(bad),
            )
            return
        for n, v in norms.items():
            first = self.first.setdefault(n, v)
            if first > 0 and v <= self.vanish * first:
                self._warn(
                    "vanish",
                    "step %d: the gradient of %s has vanished (norm %.3g, was %.3g): it no "
                    "longer learns (dead ReLUs, saturated sigmoid, or a learning rate too "
                    "high earlier)",
                    step,
                    n,
                    v,
                    first,
                )
        if self.first_total is None:
            self.first_total = total
        elif total > self.explode * max(self.first_total, 1.0):
            self._warn(
                "explode",
                "step %d: gradients are exploding (total norm %.3g, %.3g at the first log "
                "step); lower the learning rate (optimizer.lr)",
                step,
                total,
                self.first_total,
            )
        if self.zero_grad_off and self.last_total is not None:
            self.growing = self.growing + 1 if total > self.last_total else 0
            if self.growing >= self.grow_logs:
                self._warn(
                    "grow",
                    "step %d: gradients grow step over step (total norm %.3g, %.3g at the "
                    "first log step) because loop.zero_grad=never: each step adds to the "
                    "last one's gradients. Use loop.zero_grad=set_to_none unless this is "
                    "the point",
                    step,
                    total,
                    self.first_total,
                )
        self.last_total = total
