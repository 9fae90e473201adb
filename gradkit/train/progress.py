"""How a run shows its progress: a rich progress bar on a terminal, periodic log lines
elsewhere (CI, files, parallel sweep workers whose bars would overwrite each other)."""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

__all__ = ["Reporter", "make_reporter"]

log = logging.getLogger("gradkit.train")


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"


class Reporter:
    """Silent reporting (``loop.progress=none``): log lines only for validation."""

    def __init__(self, total: int, metric_name: str) -> None:
        self.total = total
        self.metric_name = metric_name
        self.t0 = time.perf_counter()
        self.start_step = 0

    def start(self, start_step: int) -> None:
        self.start_step = start_step
        self.t0 = time.perf_counter()

    def rate(self, step: int) -> float:
        dt = time.perf_counter() - self.t0
        return (step - self.start_step) / dt if dt > 0 else 0.0

    def eta(self, step: int) -> str:
        r = self.rate(step)
        if r <= 0:
            return "?"
        s = int((self.total - step) / r)
        return f"{s // 60}:{s % 60:02d}"

    def advance(self, step: int) -> None:
        """Called after every optimizer step (must stay cheap: no host transfer)."""

    def train(self, step: int, epoch: int, loss: float, metric: float) -> None:
        """Called at log steps with the step's loss and metric (already on the host)."""

    def validation(self, step: int, loss: float, metric: float) -> None:
        log.info(
            "step %d: validation loss %s, %s %s", step, _fmt(loss), self.metric_name, _fmt(metric)
        )

    def stop(self) -> None:
        pass


class LineReporter(Reporter):
    """One log line every ``loop.log_every`` steps."""

    extra: ClassVar[dict[str, Any] | None] = None

    def train(self, step: int, epoch: int, loss: float, metric: float) -> None:
        log.info(
            "step %d/%d  epoch %d  loss %s  %s %s  (%.1f steps/s, ETA %s)",
            step,
            self.total,
            epoch,
            _fmt(loss),
            self.metric_name,
            _fmt(metric),
            self.rate(step),
            self.eta(step),
            extra=self.extra,
        )


class BarReporter(LineReporter):
    """A rich progress bar: step, epoch, loss, metric, steps/s, ETA; log lines above it.
    The periodic step lines still go to ``train.log``, marked to stay off the console."""

    extra: ClassVar[dict[str, Any] | None] = {"file_only": True}

    def __init__(self, total: int, metric_name: str) -> None:
        super().__init__(total, metric_name)
        import rich
        from rich.console import Console  # noqa: F401 - imported only when a bar is shown
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epoch {task.fields[epoch]}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn(metric_name + " {task.fields[metric]}"),
            TextColumn("{task.fields[rate]} steps/s"),
            TimeRemainingColumn(),
            console=rich.get_console(),
            transient=False,
        )
        self._task: Any = None

    def start(self, start_step: int) -> None:
        super().start(start_step)
        self._progress.start()
        self._task = self._progress.add_task(
            "train",
            total=self.total,
            completed=start_step,
            epoch="-",
            loss="-",
            metric="-",
            rate="-",
        )

    def advance(self, step: int) -> None:
        self._progress.update(self._task, completed=step)

    def train(self, step: int, epoch: int, loss: float, metric: float) -> None:
        self._progress.update(
            self._task,
            completed=step,
            epoch=epoch,
            loss=_fmt(loss),
            metric=_fmt(metric),
            rate=f"{self.rate(step):.1f}",
        )
        super().train(step, epoch, loss, metric)

    def stop(self) -> None:
        self._progress.stop()


def make_reporter(mode: str, total: int, metric_name: str, parallel: bool) -> Reporter:
    """The reporter for ``loop.progress``: auto picks a bar only on an interactive terminal
    and never in a parallel sweep."""
    if mode == "auto":
        import rich

        mode = "bar" if rich.get_console().is_terminal and not parallel else "lines"
    if mode == "bar":
        return BarReporter(total, metric_name)
    if mode == "lines":
        return LineReporter(total, metric_name)
    return Reporter(total, metric_name)
