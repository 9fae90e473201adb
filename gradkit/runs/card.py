"""``model.json``: everything needed to apply a run's model to raw data.

It sits beside ``params.npz`` in the run folder and holds: the model's built-in
name, class and resolved constructor arguments (sizes included), the task, the
feature names in the order the model sees them, the target's name, the class
labels in order (an output column per class), and the standardisation fitted on
the training split (per-feature ``mean`` and ``std``; ``null`` when the run did
not standardise).  A model computes ``model((x - mean) / std)`` on raw features
``x``, in float32.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..runtime.files import write_text

__all__ = ["CARD_NAME", "FORMAT", "ModelCard", "make_card", "write_model_card", "read_model_card"]

CARD_NAME = "model.json"
FORMAT = "gradkit-model/1"


@dataclass
class ModelCard:
    """The contents of ``model.json``."""

    #: the built-in model's name (``mlp``, ``logreg``, ...); None for a user's class
    model: str | None
    #: its class, as ``module.Name``
    model_class: str
    #: the constructor's arguments, resolved (``d_in``, ``hidden``, ``d_out``, ...)
    kwargs: dict
    #: binary, multiclass or regression
    task: str
    #: the feature columns, in the order the model sees them
    features: list
    #: the target column's name in the training data (ignored in predict's input)
    target: str | None
    #: class labels in order (classification); output column k is classes[k]
    classes: list
    #: the training split's per-feature mean and std (None: features not standardised)
    mean: list | None
    std: list | None
    #: where the training data came from (a file, a synthetic set's name)
    data: str
    #: the parameters' file, beside this one
    params: str = "params.npz"
    format: str = FORMAT


def _label(value: Any) -> Any:
    """A class label as JSON shows it best: 1.0 -> 1, 0.5 stays 0.5."""
    v = value.item() if hasattr(value, "item") else value
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def make_card(ds: Any, model: Any) -> ModelCard:
    """The card of ``model``, trained on dataset ``ds``."""
    from ..models import MODELS

    cls = type(model)
    name = next((n for n, c in MODELS.items() if c is cls), None)
    return ModelCard(
        model=name,
        model_class=f"gradkit.models.{cls.__name__}"
        if name
        else f"{cls.__module__}.{cls.__qualname__}",
        kwargs=dict(getattr(model, "hparams", {})),
        task=ds.task,
        features=[str(f) for f in ds.feature_names],
        target=ds.target_name,
        classes=[_label(c) for c in ds.classes],
        mean=None if ds.mean is None else [float(v) for v in ds.mean],
        std=None if ds.std is None else [float(v) for v in ds.std],
        data=str(ds.name),
    )


def write_model_card(run_dir: Path, ds: Any, model: Any) -> Path:
    """Write ``run_dir/model.json`` for ``model`` trained on ``ds`` (atomically); it is made
    from what was built, so sizes the config left unset are filled in."""
    path = Path(run_dir) / CARD_NAME
    write_text(path, json.dumps(asdict(make_card(ds, model)), indent=1) + "\n")
    return path


def read_model_card(run_dir: Path) -> ModelCard:
    """The card in ``run_dir``; a clear ``UserError`` when it is missing or damaged."""
    run_dir = Path(run_dir)
    path = run_dir / CARD_NAME
    if not run_dir.is_dir():
        raise UserError(f"run={run_dir}: no such folder; give a run folder under outputs/")
    if not path.is_file():
        raise UserError(
            f"{path}: not found; run={run_dir} is not a gradkit train run folder, or it was "
            "trained before gradkit wrote model.json (train it again)"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format is {raw.get('format')!r}, expected {FORMAT!r}")
        card = ModelCard(**raw)
    except (ValueError, TypeError, AttributeError) as e:
        raise UserError(f"{path}: not a readable model card ({e}); train the run again") from None
    n = len(card.features)
    if card.mean is not None and (len(card.mean) != n or card.std is None or len(card.std) != n):
        raise UserError(f"{path}: mean/std do not have one value per feature ({n})")
    return card
