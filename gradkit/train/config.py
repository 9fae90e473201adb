"""The ``loop/`` config group: how long to train, batching, zero_grad, logging, checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import ConfigError

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
    """How the loop trains; checked when built (``OmegaConf.to_object`` of ``cfg.loop``
    builds it), so a value that cannot work is a ``ConfigError`` before anything runs."""

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

    def __post_init__(self) -> None:
        for key in ("batch_size", "eval_every", "checkpoint_every"):
            if getattr(self, key) < 0:
                raise ConfigError(f"loop.{key} must be >= 0, got {getattr(self, key)}")
        for key in ("accumulate", "log_every", "epochs"):
            if getattr(self, key) < 1:
                raise ConfigError(f"loop.{key} must be >= 1, got {getattr(self, key)}")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"loop.steps must be >= 1 (or unset), got {self.steps}")
