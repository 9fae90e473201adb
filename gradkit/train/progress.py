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
    """Silent reporting (``loop.progress=none``): only the final validation line.

    Validation lines never outnumber step lines: one is printed when a step line has
    been printed since the last one (so ``loop.eval_every=50`` with ``loop.log_every=1000``
    shows one validation line per 1000 steps), and always at the last step.
    ``metrics.jsonl`` still records every validation pass."""

    def __init__(self, total: int, metric_name: str) -> None:
        self.total = total
        self.metric_name = metric_name
        self.t0 = time.perf_counter()
        self.start_step = 0
        self._lines_since_validation = False

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
        """Called after each validation pass; prints as the class docstring says."""
        if not (self._lines_since_validation or step == self.total):
            return
        self._lines_since_validation = False
        log.info(
            "step %d: validation loss %s, %s %s", step, _fmt(loss), self.metric_name, _fmt(metric)
        )

    def stop(self) -> None:
        pass


class LineReporter(Reporter):
    """One log line every ``loop.log_every`` steps."""

    extra: ClassVar[dict[str, Any] | None] = None

    def train(self, step: int, epoch: int, loss: float, metric: float) -> None:
        self._lines_since_validation = True
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
    """A rich progress bar: step counter, epoch, loss, metric, steps/s, ETA; log lines
    above it.  The periodic step lines still go to ``train.log``, marked to stay off the
    console.  The line always fits the terminal: as it narrows, the bar shrinks, then
    steps/s, epoch, ETA, the metric and the loss are left out, in that order; the step
    counter always shows."""

    extra: ClassVar[dict[str, Any] | None] = {"file_only": True}
    #: the fields left out first when the terminal is narrow (indices into _parts)
    DROP_ORDER: ClassVar[tuple[int, ...]] = (3, 0, 4, 2, 1)
    BAR_MAX, BAR_MIN = 40, 8

    def __init__(self, total: int, metric_name: str) -> None:
        super().__init__(total, metric_name)
        import rich
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._console = rich.get_console()
        self._bar = BarColumn(bar_width=self.BAR_MAX)
        self._progress = Progress(
            TextColumn("[bold]train"),
            self._bar,
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            console=self._console,
            transient=False,
        )
        self._task: Any = None

    def _parts(self, step: int, epoch: Any, loss: str, metric: str) -> list[str]:
        return [
            f"epoch {epoch}",
            f"loss {loss}",
            f"{self.metric_name} {metric}",
            f"{self.rate(step):.1f} steps/s",
            f"ETA {self.eta(step)}",
        ]

    def fit(self, parts: list[str], width: int) -> tuple[str, int]:
        """The info text and the bar width that fit ``width`` columns."""
        counter = 2 * len(str(self.total)) + 1
        fixed = len("train") + counter + 3  # three one-space gaps between the columns
        keep = list(range(len(parts)))
        for i in self.DROP_ORDER:
            if fixed + len("  ".join(parts[k] for k in keep)) + self.BAR_MIN <= width:
                break
            keep.remove(i)
        info = "  ".join(parts[k] for k in keep)
        bar = min(self.BAR_MAX, width - fixed - len(info))
        if bar < self.BAR_MIN:
            bar = max(1, bar)
        return info, bar

    def _show(self, step: int, parts: list[str]) -> None:
        info, bar = self.fit(parts, self._console.width - 1)
        self._bar.bar_width = bar
        self._progress.update(self._task, completed=step, info=info)

    def start(self, start_step: int) -> None:
        super().start(start_step)
        self._progress.start()
        self._task = self._progress.add_task(
            "train", total=self.total, completed=start_step, info=""
        )
        self._show(start_step, self._parts(start_step, "-", "-", "-"))

    def advance(self, step: int) -> None:
        self._progress.update(self._task, completed=step)

    def train(self, step: int, epoch: int, loss: float, metric: float) -> None:
        self._show(step, self._parts(step, epoch, _fmt(loss), _fmt(metric)))
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
