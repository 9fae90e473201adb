"""``load_run(DIR)``: a trained run folder as a usable model.

Only gradkit's own model classes are built: reading a run folder never imports or
runs code named in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..errors import DataError, UserError
from .card import ModelCard, read_model_card
from .inputs import encode_labels
from .scores import score

__all__ = ["LoadedRun", "load_run", "builtin_model_class"]


def builtin_model_class(path: str, where: str) -> type:
    """The built-in model class named ``path`` (``gradkit.models.MLP`` or the class's own
    module path); anything else is a ``UserError`` naming ``where``."""
    from ..models import MODELS

    for cls in MODELS.values():
        if path in (f"{cls.__module__}.{cls.__qualname__}", f"gradkit.models.{cls.__name__}"):
            return cls
    names = ", ".join(f"gradkit.models.{c.__name__}" for c in MODELS.values())
    raise UserError(
        f"{where}: model class {path!r} is not one of gradkit's built-in models ({names}); "
        "gradkit does not import classes named in a run folder. Load its params.npz into "
        "your own class yourself"
    )


class LoadedRun:
    """A trained run: ``.model`` (in eval mode), ``.predict``, ``.predict_proba``,
    ``.evaluate`` on raw numpy features, and ``.config`` (the run's resolved config)."""

    def __init__(self, path: Path, card: ModelCard, model: Any, config: Any) -> None:
        self.path = path
        self.card = card
        self.model = model
        self.config = config

    def __repr__(self) -> str:
        return (
            f"LoadedRun({str(self.path)!r}, model={self.card.model}, task={self.task}, "
            f"{len(self.features)} features)"
        )

    @property
    def task(self) -> str:
        """binary, multiclass or regression."""
        return self.card.task

    @property
    def features(self) -> list:
        """The feature names, in the order ``x``'s columns must have."""
        return list(self.card.features)

    @property
    def classes(self) -> list:
        """The class labels, in the order of ``predict_proba``'s columns."""
        return list(self.card.classes)

    # -- from raw features to outputs ---------------------------------------------------------
    def standardize(self, x: Any) -> np.ndarray:
        """Raw features as the model saw them in training: float32, ``(x - mean) / std``."""
        x = np.asarray(x)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        n = len(self.card.features)
        if x.ndim != 2 or x.shape[1] != n:
            raise DataError(
                f"x must be (samples, {n}) with the features in the training order "
                f"({', '.join(self.card.features[:8])}{', ...' if n > 8 else ''}); "
                f"got shape {list(x.shape)}"
            )
        if x.dtype.kind not in "biuf":
            raise DataError(f"x must hold numbers, got dtype {x.dtype}")
        x = x.astype(np.float32)
        if self.card.mean is not None:
            mean = np.asarray(self.card.mean, dtype=np.float32)
            std = np.asarray(self.card.std, dtype=np.float32)
            x = (x - mean) / std
        return np.ascontiguousarray(x, dtype=np.float32)

    def output(self, x: Any) -> np.ndarray:
        """The model's raw output on raw features: logits, or regression values."""
        with no_grad():
            return self.model(tensor(self.standardize(x))).numpy()

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities ``(N, len(classes))``, columns in ``classes`` order."""
        if self.task == "regression":
            raise TypeError("predict_proba is for classifiers; this run is a regression")
        return probabilities(self.output(x), self.task)

    def predict(self, x: Any) -> np.ndarray:
        """Predicted labels (the original label values) or regression values (``(N,)`` for
        one target, ``(N, D)`` for more)."""
        out = self.output(x)
        if self.task == "regression":
            return out[:, 0] if out.shape[1] == 1 else out
        idx = (out[:, 0] > 0).astype(np.int64) if self.task == "binary" else out.argmax(axis=1)
        return np.asarray(self.card.classes)[idx]

    def evaluate(self, x: Any, y: Any) -> dict:
        """Scores on raw features and raw labels: ``loss``, ``accuracy`` or ``mse`` (as
        training measures them), ``confusion_matrix`` or ``mae`` and ``r2``."""
        y_enc = encode_labels(np.asarray(y), self.card, "y")
        return score(self.model, self.standardize(x), y_enc, self.classes)


def probabilities(out: np.ndarray, task: str) -> np.ndarray:
    """Class probabilities from logits: sigmoid for one logit, softmax for several."""
    out = out.astype(np.float32)
    if task == "binary":
        with np.errstate(over="ignore"):  # exp(-z) overflows to inf for z << 0: p is 0
            p = 1.0 / (1.0 + np.exp(-out[:, 0]))
        return np.stack([1.0 - p, p], axis=1).astype(np.float32)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def load_run(path: str | Path) -> LoadedRun:
    """Load a ``gradkit train`` run folder: its ``model.json``, ``params.npz`` and
    ``.hydra/config.yaml``."""
    path = Path(path)
    card = read_model_card(path)
    cls = builtin_model_class(card.model_class, str(path / "model.json"))
    try:
        model = cls(**card.kwargs)
    except (TypeError, ValueError) as e:
        raise UserError(f"{path / 'model.json'}: cannot rebuild the model ({e})") from None
    params = path / card.params
    if not params.is_file():
        raise UserError(
            f"{params}: not found, so the run has no final parameters (it did not finish). "
            f"Continue it with: gradkit train resume={path}"
        )
    try:
        with np.load(params, allow_pickle=False) as f:
            state = {k: f[k] for k in f.files}
        model.load_state_dict(state)
    except (OSError, ValueError, RuntimeError) as e:
        raise UserError(f"{params}: does not fit the model in model.json ({e})") from None
    model.eval()
    config = None
    cfg_path = path / ".hydra" / "config.yaml"
    if cfg_path.is_file():
        from omegaconf import OmegaConf

        config = OmegaConf.load(cfg_path)
    return LoadedRun(path, card, model, config)
