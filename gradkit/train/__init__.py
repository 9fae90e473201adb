"""Training: the loop, metrics, checkpoints and progress display."""

from .checkpoint import find_checkpoint, load_checkpoint, save_checkpoint, save_params
from .config import LoopConfig, ProgressMode, ZeroGrad
from .loop import RunResult, Trainer, TrainingFailed, TrainingInterrupted
from .metrics import METRIC, MetricsLog, evaluate
from .progress import make_reporter

__all__ = [
    "LoopConfig",
    "METRIC",
    "MetricsLog",
    "ProgressMode",
    "RunResult",
    "Trainer",
    "TrainingFailed",
    "TrainingInterrupted",
    "ZeroGrad",
    "evaluate",
    "find_checkpoint",
    "load_checkpoint",
    "make_reporter",
    "save_checkpoint",
    "save_params",
]
