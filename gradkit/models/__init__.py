"""The model zoo the CLI trains and compares, picked by name.

| name | model | gradients |
|---|---|---|
| ``logreg`` | ``LogisticRegression`` | autograd |
| ``manual_logreg`` | ``ManualLogisticRegression`` | hand-written backward |
| ``mlp`` | ``MLP`` | autograd |
| ``function_mlp`` | ``FunctionMLP`` | autograd through a custom ReLU ``Function`` |
| ``manual_mlp`` | ``ManualMLP`` | hand-written backward |

Models of one family (logreg, mlp) share parameter names, so one model's
``state_dict`` loads into its twins.
"""

from __future__ import annotations

from .base import DataInfo, Model, accumulate_grad, data_kwargs
from .logreg import LogisticRegression, ManualLogisticRegression
from .losses import DEFAULT_LOSS, LOSSES, TASKS, TaskLoss
from .mlp import MLP, FunctionMLP, ManualMLP, MyReLU

__all__ = [
    "DEFAULT_LOSS",
    "LOSSES",
    "MLP",
    "MODELS",
    "TASKS",
    "DataInfo",
    "FunctionMLP",
    "LogisticRegression",
    "ManualLogisticRegression",
    "ManualMLP",
    "Model",
    "MyReLU",
    "TaskLoss",
    "accumulate_grad",
    "data_kwargs",
    "family_of",
]

MODELS: dict[str, type[Model]] = {
    "logreg": LogisticRegression,
    "manual_logreg": ManualLogisticRegression,
    "mlp": MLP,
    "function_mlp": FunctionMLP,
    "manual_mlp": ManualMLP,
}


def family_of(model: str | type) -> dict[str, type[Model]]:
    """Every built-in model of the family of ``model`` (a name in :data:`MODELS` or a
    class), by gradient mode (autograd, function, manual); empty for a class of no family."""
    fam = MODELS[model].family if isinstance(model, str) else getattr(model, "family", "")
    if not fam:
        return {}
    return {cls.gradients: cls for cls in MODELS.values() if cls.family == fam}
