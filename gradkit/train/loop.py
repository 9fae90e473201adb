"""The training loop: steps of (accumulated) micro-batches, zero_grad as configured,
periodic validation, metrics.jsonl, checkpoints, and clean stops.

* A non-finite loss stops the run (``TrainingFailed``, exit 1) naming the step.
  The parameters saved then are the last ones whose training loss was seen to be
  finite: a copy is kept (before the update) at every log step and at the run's
  first step.  On the host the loss is read every step (it costs nothing there);
  on a GPU only at log steps.
* Ctrl-C (SIGINT) and SIGTERM finish the step under way, save a checkpoint at that
  clean boundary and raise ``TrainingInterrupted`` (exit 130 / 143); a second signal
  stops at once.  ``resume`` continues bit for bit: batches come from (seed, epoch).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..autograd.grad_mode import no_grad
from ..compile import compile_step
from ..data.batches import Batches
from ..data.dataset import TensorData
from ..runtime import signals
from ..runtime.files import DiskError
from .checkpoint import load_checkpoint, save_checkpoint, save_params
from .config import LoopConfig, ZeroGrad
from .hooks import Hooks
from .metrics import METRIC, MetricsLog, evaluate, metric_on_device
from .progress import Reporter

__all__ = ["Trainer", "RunResult", "TrainingFailed", "TrainingInterrupted"]

log = logging.getLogger("gradkit.train")


class TrainingFailed(RuntimeError):
    """The loss became NaN or infinite; the message names the step."""


class TrainingInterrupted(Exception):
    """A signal (Ctrl-C, SIGTERM) stopped training; a checkpoint was saved at ``step``."""

    def __init__(self, step: int, checkpoint: Path, signum: int) -> None:
        super().__init__(f"stopped by {signals.signal_name(signum)} after step {step}")
        self.step = step
        self.checkpoint = checkpoint
        self.signum = signum


@dataclass
class RunResult:
    metric: float
    metric_name: str
    direction: str
    val_loss: float
    train_loss: float
    steps: int


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
        hooks: Sequence[Any] = (),
    ) -> None:
        """``hooks``: loggers and checks called at each metrics record and at the end (see
        :mod:`gradkit.train.hooks`)."""
        self.model, self.optimizer, self.data, self.loop = model, optimizer, data, loop
        self.run_dir = run_dir
        self.device = device
        self.batches = Batches(len(data.x_train), loop.batch_size, seed, device)
        #: optimizer steps in one pass over the training split
        self.steps_per_epoch = -(-self.batches.per_epoch // loop.accumulate)
        if loop.steps is not None:
            self.total = loop.steps
        else:
            self.total = max(1, loop.epochs * self.steps_per_epoch)
        self.metric_name, self.direction = METRIC[model.task]
        self.reporter: Reporter = reporter_factory(self.total, self.metric_name)
        self.host = data.x_train._be.is_host
        self.hooks = Hooks(hooks)
        #: the captured step (``loop.compile``), or None: eager
        self._compiled = compile_step(self._step, warn=False) if loop.compile else None
        self._compile_told: set[str] = set()

    # -- one optimizer step ---------------------------------------------------------------
    def _batch(self, micro: int) -> tuple[Any, Any, int]:
        epoch, k = divmod(micro, self.batches.per_epoch)
        idx = self.batches.indices(epoch, k)
        d = self.data
        if idx is None:
            return d.x_train, d.y_train, epoch
        return d.x_train[idx], d.y_train[idx], epoch

    def _micro_batches(self, micro: int) -> tuple[list, int, int]:
        """The ``accumulate`` micro-batches of the step that starts at micro-batch
        ``micro``, flat (x0, y0, x1, y1, ...); the epoch of the last; the next ``micro``."""
        pairs: list = []
        epoch = 0
        for _ in range(self.loop.accumulate):
            xb, yb, epoch = self._batch(micro)
            micro += 1
            pairs += [xb, yb]
        return pairs, epoch, micro

    def _train_step(self, micro: int) -> tuple[Any, Any, Any, int, int]:
        """One optimizer step from micro-batch ``micro``: ``_step`` on its micro-batches,
        called as it is, or captured once and replayed (``loop.compile``).  Returns the
        summed loss, the last output and targets, the epoch and the next ``micro``."""
        pairs, epoch, micro = self._micro_batches(micro)
        step = self._step if self._compiled is None else self._compiled
        total, out = step(*pairs)
        return total, out, pairs[-1], epoch, micro

    def _step(self, *pairs: Any) -> tuple[Any, Any]:
        """The step itself, eager or captured: zero the gradients (as configured), forward
        and backward each micro-batch of ``pairs`` (x0, y0, x1, y1, ...), then
        ``optimizer.step()``.  Returns the summed loss and the last output."""
        mode = self.loop.zero_grad
        if mode is ZeroGrad.set_to_none:
            self.optimizer.zero_grad(set_to_none=True)
        elif mode is ZeroGrad.zero:
            self.optimizer.zero_grad(set_to_none=False)
        k = len(pairs) // 2
        total = out = None
        for i in range(k):
            xb, yb = pairs[2 * i], pairs[2 * i + 1]
            out = self.model(xb)
            loss = self.model.loss(out, yb)
            if self.model.manual:
                self.model.backward(xb, out, yb, scale=1.0 / k)
            else:
                (loss / k if k > 1 else loss).backward()
            loss = loss.detach()
            total = loss if total is None else total + loss
        self.optimizer.step()
        return total, out

    def _compile_news(self, final: bool = False) -> None:
        """``loop.compile``: say once why the step runs eagerly or without a graph, and at
        the end how many steps were replayed, and how."""
        c = self._compiled
        if c is None:
            return
        for why, what in ((c.reason, "runs eagerly"), (c.graph_reason, "replays without a graph")):
            if why is not None and why not in self._compile_told:
                self._compile_told.add(why)
                log.warning("loop.compile: the step %s: %s", what, why)
        if final:
            n = sum(c.counts.values())
            log.info("loop.compile: %d of %d steps replayed (%s)", c.counts["replayed"], n, c.how)

    def _grad_norms(self) -> dict[str, float]:
        """Each parameter's gradient norm (read back at log steps only)."""
        with no_grad():
            sq = [
                (n, (p.grad * p.grad).sum())
                for n, p in self.model.named_parameters()
                if p.grad is not None
            ]
        return {n: float(f"{math.sqrt(v.item()):.6g}") for n, v in sq}

    # -- the run ------------------------------------------------------------------------------
    def run(self, resume: Path | None = None) -> RunResult:
        """Train to ``self.total`` steps (from ``resume``'s checkpoint when given); the hooks
        hear how it ended."""
        status = "error"
        try:
            result = self._run(resume)
            status = "ok"
            return result
        except TrainingFailed:
            status = "failed"
            raise
        except TrainingInterrupted:
            status = "interrupted"
            raise
        finally:
            self.hooks.call("end", status)

    def _run(self, resume: Path | None) -> RunResult:
        step, micro = 0, 0
        if resume is not None:
            pos = load_checkpoint(
                resume, self.model, self.optimizer, self.total, self.loop.accumulate
            )
            step, micro = pos["step"], pos["micro"]
            log.info("resumed from %s at step %d of %d", resume, step, self.total)
        start = step
        metrics = MetricsLog(self.run_dir / "metrics.jsonl", self.metric_name, keep_until=step)
        #: parameters whose training loss was seen to be finite: (snapshot, step, loss)
        good: tuple[dict, int, float] | None = None
        train_loss = val_loss = metric = math.nan
        t0 = time.perf_counter()
        acc, log_every = self.loop.accumulate, self.loop.log_every
        self.hooks.call("start", step)
        with signals.deferred():
            self.reporter.start(step)
            try:
                with self.data.x_train._be.quiet_fp():
                    while step < self.total:
                        if signals.requested():
                            path = self._checkpoint(step, micro, periodic=False)
                            raise TrainingInterrupted(step, path, signals.requested() or 0)
                        logged = (step + 1) % log_every == 0 or step + 1 == self.total
                        check = self.host or logged
                        # the parameters this step's loss is of: kept if that loss is finite
                        pre = self._snapshot() if check and (logged or good is None) else None
                        loss, out, yb, epoch, micro_after = self._train_step(micro)
                        if check:  # read back after the step, so the step needs no host sync
                            value = loss.item() / acc
                            if not math.isfinite(value):
                                self._fail(step + 1, value, good)
                            if pre is not None:
                                good = (pre, step + 1, value)
                        step, micro = step + 1, micro_after
                        self.reporter.advance(step)
                        if logged:
                            train_loss = good[2] if good is not None else math.nan
                            with no_grad():
                                batch_metric = metric_on_device(self.model.task, out, yb).item()
                            rec = metrics.write(
                                step,
                                epoch,
                                "train",
                                train_loss,
                                batch_metric,
                                time.perf_counter() - t0,
                                lr=self.optimizer.param_groups[0]["lr"],
                                steps_per_s=round(self.reporter.rate(step), 2),
                                grad_norm=self._grad_norms(),  # step() leaves .grad as is
                            )
                            self.reporter.train(step, epoch, train_loss, batch_metric)
                            self._compile_news()
                            self.hooks.call("log", rec)
                        every = self.loop.eval_every
                        if (every and step % every == 0) or step == self.total:
                            val_loss, metric = evaluate(
                                self.model, self.data.x_val, self.data.y_val
                            )
                            rec = metrics.write(
                                step, epoch, "val", val_loss, metric, time.perf_counter() - t0
                            )
                            self.reporter.validation(step, val_loss, metric)
                            self.hooks.call("log", rec)
                        if self.loop.checkpoint_every and step % self.loop.checkpoint_every == 0:
                            self._checkpoint(step, micro, periodic=True)
            finally:
                self.reporter.stop()
                metrics.close()
            if step == start:  # resumed at its last step: the run died before its final files
                val_loss, metric = evaluate(self.model, self.data.x_val, self.data.y_val)
            self._checkpoint(step, micro, periodic=False)
            save_params(self.model, self.run_dir / "params.npz")
            self._compile_news(final=True)
            if signals.requested():
                log.warning(
                    "%s arrived as the run finished; everything is saved",
                    signals.signal_name(signals.requested() or 0),
                )
        return RunResult(metric, self.metric_name, self.direction, val_loss, train_loss, step)

    # -- saving and failing -----------------------------------------------------------------------
    def _checkpoint(self, step: int, micro: int, periodic: bool) -> Path:
        """Save a checkpoint; a periodic one that fails is a warning, training goes on."""
        try:
            return save_checkpoint(
                self.run_dir,
                self.model,
                self.optimizer,
                {"step": step, "micro": micro},
                total=self.total,
                steps_per_epoch=self.steps_per_epoch,
                by_steps=self.loop.steps is not None,
            )
        except DiskError as e:
            if not periodic:
                raise
            log.warning("checkpoint at step %d not saved (training goes on): %s", step, e)
            return self.run_dir / "checkpoint.npz"

    def _snapshot(self) -> dict:
        with no_grad():
            return {n: p.detach().clone() for n, p in self.model.named_parameters()}

    def _fail(self, step: int, value: float, good: tuple[dict, int, float] | None) -> None:
        """Save the last parameters seen to give a finite loss, and raise TrainingFailed."""
        path = self.run_dir / "params.npz"
        if good is None:
            raise TrainingFailed(
                f"the training loss became {value} at step {step}, the first step of this run; "
                "no parameters gave a finite loss, so none are saved. Lower the learning rate "
                "(optimizer.lr), standardise the data, or check the data for extreme values"
            )
        params, good_step, good_loss = good
        with no_grad():
            for n, p in self.model.named_parameters():
                p.copy_(params[n])
        save_params(self.model, path)
        where = f"at step {step}" if self.host else f"by step {step}"
        raise TrainingFailed(
            f"the training loss became {value} {where}; the last good parameters (those that "
            f"gave a finite training loss, {good_loss:.6g}, at step {good_step}) are saved in "
            f"{path}. Lower the learning rate (optimizer.lr), standardise the data, or check "
            "the data for extreme values"
        )
