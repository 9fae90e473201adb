"""The training loop: steps of (accumulated) micro-batches, zero_grad as configured,
periodic validation, metrics.jsonl, checkpoints, and clean stops.

* A non-finite loss stops the run (``TrainingFailed``, exit 1) naming the step;
  the last good parameters are saved.  On the host the loss is checked every
  step (reading it back costs nothing there); on a GPU it is read back only at
  log steps, and the parameters of the last good log step are kept.
* Ctrl-C (SIGINT) finishes the step under way, saves a checkpoint at that clean
  boundary and raises ``TrainingInterrupted`` (exit 130); a second Ctrl-C stops
  at once.  ``resume`` continues bit for bit: batches come from (seed, epoch).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..autograd.grad_mode import no_grad
from ..data.batches import Batches
from ..data.dataset import TensorData
from .checkpoint import load_checkpoint, save_checkpoint, save_params
from .config import LoopConfig, ZeroGrad
from .metrics import METRIC, MetricsLog, evaluate, metric_on_device
from .progress import Reporter

__all__ = ["Trainer", "RunResult", "TrainingFailed", "TrainingInterrupted"]

log = logging.getLogger("gradkit.train")


class TrainingFailed(RuntimeError):
    """The loss became NaN or infinite; the message names the step."""


class TrainingInterrupted(Exception):
    """Ctrl-C: a checkpoint was saved at ``step``."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted after step {step}")
        self.step = step
        self.checkpoint = checkpoint


@dataclass
class RunResult:
    metric: float
    metric_name: str
    direction: str
    val_loss: float
    train_loss: float
    steps: int


class _StopFlag:
    """SIGINT sets a flag the loop checks between steps; a second SIGINT interrupts now."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning(
            "Ctrl-C: finishing this step, then saving a checkpoint (Ctrl-C again to stop at once)"
        )

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Trainer:
    """Trains ``model`` with ``optimizer`` on ``data`` as ``loop`` says."""

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        data: TensorData,
        loop: LoopConfig,
        run_dir: Path,
        seed: int,
        device: Any,
        reporter_factory: Any,
    ) -> None:
        if loop.accumulate < 1:
            raise ValueError(f"loop.accumulate must be at least 1, got {loop.accumulate}")
        if loop.log_every < 1:
            raise ValueError(f"loop.log_every must be at least 1, got {loop.log_every}")
        self.model, self.optimizer, self.data, self.loop = model, optimizer, data, loop
        self.run_dir = run_dir
        self.device = device
        self.batches = Batches(len(data.x_train), loop.batch_size, seed, device)
        per_step = loop.accumulate
        if loop.steps is not None:
            self.total = loop.steps
        else:
            self.total = max(1, loop.epochs * -(-self.batches.per_epoch // per_step))
        self.metric_name, self.direction = METRIC[model.task]
        self.reporter: Reporter = reporter_factory(self.total, self.metric_name)
        self.host = data.x_train._be.is_host

    # -- one optimizer step ---------------------------------------------------------------
    def _batch(self, micro: int) -> tuple[Any, Any, int]:
        epoch, k = divmod(micro, self.batches.per_epoch)
        idx = self.batches.indices(epoch, k)
        d = self.data
        if idx is None:
            return d.x_train, d.y_train, epoch
        return d.x_train[idx], d.y_train[idx], epoch

    def _step(self, micro: int) -> tuple[Any, Any, Any, Any, int]:
        """Zero (as configured), run ``accumulate`` micro-batches; returns the summed loss."""
        mode = self.loop.zero_grad
        if mode is ZeroGrad.set_to_none:
            self.optimizer.zero_grad(set_to_none=True)
        elif mode is ZeroGrad.zero:
            self.optimizer.zero_grad(set_to_none=False)
        k = self.loop.accumulate
        total = out = xb = yb = None
        epoch = 0
        for _ in range(k):
            xb, yb, epoch = self._batch(micro)
            micro += 1
            out = self.model(xb)
            loss = self.model.loss(out, yb)
            if self.model.manual:
                self.model.backward(xb, out, yb, scale=1.0 / k)
            else:
                (loss / k if k > 1 else loss).backward()
            loss = loss.detach()
            total = loss if total is None else total + loss
        return total, out, yb, epoch, micro

    # -- the run ------------------------------------------------------------------------------
    def run(self, resume: Path | None = None) -> RunResult:
        step, micro = 0, 0
        if resume is not None:
            pos = load_checkpoint(resume, self.model, self.optimizer)
            step, micro = pos["step"], pos["micro"]
            log.info("resumed from %s at step %d", resume, step)
        metrics = MetricsLog(self.run_dir / "metrics.jsonl", self.metric_name)
        last_good: dict | None = None if self.host else self._snapshot()
        last_good_step = step
        train_loss = val_loss = metric = math.nan
        t0 = time.perf_counter()
        self.reporter.start(step)
        try:
            with _StopFlag() as stop, self.data.x_train._be.quiet_fp():
                while step < self.total:
                    if stop.requested:
                        path = self._checkpoint(step, micro)
                        raise TrainingInterrupted(step, path)
                    loss, out, yb, epoch, micro_after = self._step(micro)
                    if self.host:
                        value = loss.item() / self.loop.accumulate
                        if not math.isfinite(value):
                            self._fail(step + 1, value, None, step)
                    self.optimizer.step()
                    step, micro = step + 1, micro_after
                    self.reporter.advance(step)
                    if step % self.loop.log_every == 0 or step == self.total:
                        train_loss = loss.item() / self.loop.accumulate
                        if not math.isfinite(train_loss):
                            self._fail(step, train_loss, last_good, last_good_step)
                        with no_grad():
                            batch_metric = metric_on_device(self.model.task, out, yb).item()
                        metrics.write(
                            step, epoch, "train", train_loss, batch_metric, time.perf_counter() - t0
                        )
                        self.reporter.train(step, epoch, train_loss, batch_metric)
                        if not self.host:
                            last_good, last_good_step = self._snapshot(), step
                    every = self.loop.eval_every
                    if (every and step % every == 0) or step == self.total:
                        val_loss, metric = evaluate(self.model, self.data.x_val, self.data.y_val)
                        metrics.write(
                            step, epoch, "val", val_loss, metric, time.perf_counter() - t0
                        )
                        self.reporter.validation(step, val_loss, metric)
                    if self.loop.checkpoint_every and step % self.loop.checkpoint_every == 0:
                        self._checkpoint(step, micro)
        finally:
            self.reporter.stop()
            metrics.close()
        self._checkpoint(step, micro)
        save_params(self.model, self.run_dir / "params.npz")
        return RunResult(metric, self.metric_name, self.direction, val_loss, train_loss, step)

    # -- saving and failing -----------------------------------------------------------------------
    def _checkpoint(self, step: int, micro: int) -> Path:
        return save_checkpoint(
            self.run_dir, self.model, self.optimizer, {"step": step, "micro": micro}
        )

    def _snapshot(self) -> dict:
        with no_grad():
            return {n: p.detach().clone() for n, p in self.model.named_parameters()}

    def _fail(self, step: int, value: float, good: dict | None, good_step: int) -> None:
        if good is not None:
            with no_grad():
                for n, p in self.model.named_parameters():
                    p.copy_(good[n])
        path = self.run_dir / "params.npz"
        save_params(self.model, path)
        where = f"at step {step}" if good is None else f"between steps {good_step} and {step}"
        raise TrainingFailed(
            f"the training loss became {value} {where}; the last good parameters (after step "
            f"{good_step}) are saved in {path}. Lower the learning rate (optimizer.lr), "
            "standardise the data, or check the data for extreme values"
        )
