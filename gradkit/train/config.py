"""The ``loop/`` config group: how long to train, batching, zero_grad, logging, checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["LoopConfig", "ZeroGrad", "ProgressMode"]


class ZeroGrad(Enum):
    """When gradients are reset: before every optimizer step to None (PyTorch 2's default),
    to zeros, or ``never`` — the accumulation bug the seeds warn about, on purpose."""

    set_to_none = "set_to_none"
    zero = "zero"
    never = "never"


class ProgressMode(Enum):
    """``auto``: a progress bar on a terminal, log lines otherwise (and in parallel sweeps)."""

    auto = "auto"
    bar = "bar"
    lines = "lines"
    none = "none"


@dataclass
class LoopConfig:
    #: optimizer steps to take; when unset, ``epochs`` decides
    steps: int | None = None
    #: passes over the training split (used when ``steps`` is unset)
    epochs: int = 20
    #: samples per micro-batch; 0 means the whole training split (full batch)
    batch_size: int = 64
    #: micro-batches whose gradients add up before each optimizer step
    accumulate: int = 1
    zero_grad: ZeroGrad = ZeroGrad.set_to_none
    #: steps between validation passes (one also runs at the end; 0: only at the end)
    eval_every: int = 50
    #: steps between log lines / metrics.jsonl records (the loss is read back only then)
    log_every: int = 10
    #: steps between checkpoints (0: only at the end and on Ctrl-C)
    checkpoint_every: int = 0
    progress: ProgressMode = ProgressMode.auto
    #: capture the step once and replay it (``gradkit.compile_step``); falls back to eager,
    #: with a warning that says why, where a step cannot be captured
    compile: bool = False
