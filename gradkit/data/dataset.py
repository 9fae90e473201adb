"""``Dataset``: checked arrays on the host, split and standardised, then moved to a device.

Features are float32; targets are ``(N, 1)`` floats in {0, 1} for binary tasks,
``(N,)`` class indices (int64) for multiclass, ``(N, D)`` floats for regression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = [
    "Dataset",
    "TensorData",
    "infer_task",
    "encode_targets",
    "column_stats",
    "split_and_scale",
]


@dataclass
class Dataset:
    """A training and a validation split on the host, with what the model needs to know."""

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    #: class labels as they appeared in the data (classification only)
    classes: list = field(default_factory=list)
    #: no samples were held out: "validation" metrics are measured on the training split
    val_is_train: bool = False
    #: the feature columns' names, in the order the model sees them
    feature_names: list = field(default_factory=list)
    #: the target's name in the source (a CSV column, an NPZ array), when it has one
    target_name: str | None = None
    #: the standardisation fitted on the training split (None: not standardised)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Output units a model needs: 1 (binary), the class count, or the target width."""
        if self.task == "binary":
            return 1
        if self.task == "multiclass":
            return len(self.classes)
        return int(self.y_train.shape[1])

    def describe(self) -> str:
        extra = f", {len(self.classes)} classes" if self.classes else ""
        split = (
            f"{len(self.x_train)} samples, no validation split (validation metrics are "
            "measured on the training samples)"
            if self.val_is_train
            else f"{len(self.x_train)} train / {len(self.x_val)} validation samples"
        )
        return f"{self.name}: {self.task}, {self.n_features} features{extra}; {split}"

    def to(self, device: Any) -> TensorData:
        """The splits as tensors on ``device`` (one upload each)."""
        from ..autograd.creation import tensor

        x, y = tensor(self.x_train, device=device), tensor(self.y_train, device=device)
        if self.val_is_train:
            return TensorData(x, y, x, y)
        return TensorData(
            x, y, tensor(self.x_val, device=device), tensor(self.y_val, device=device)
        )


@dataclass
class TensorData:
    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any


def infer_task(y: np.ndarray) -> str:
    """binary for two distinct values, multiclass for up to 50 integer values, else
    regression."""
    if y.ndim == 2 and y.shape[1] > 1:
        return "regression"
    values = np.unique(y)
    if len(values) == 2:
        return "binary"
    if len(values) <= 50 and np.all(values == np.round(values)):
        return "multiclass"
    return "regression"


def encode_targets(y: np.ndarray, task: str, where: str) -> tuple[np.ndarray, list]:
    """Targets in the form ``task`` trains on, and the original class labels."""
    if task == "regression":
        y = y.astype(np.float32)
        return (y.reshape(-1, 1) if y.ndim == 1 else y), []
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where}: a {task} target must be one column, got shape {list(y.shape)}")
    classes, idx = np.unique(y, return_inverse=True)
    if task == "binary":
        if len(classes) != 2:
            raise DataError(
                f"{where}: a binary task needs exactly 2 label values, found {len(classes)}: "
                f"{_show(classes)}; use task=multiclass (and model=mlp), or fix the labels"
            )
        return idx.astype(np.float32).reshape(-1, 1), classes.tolist()
    if len(classes) < 2:
        raise DataError(
            f"{where}: a classification target needs at least 2 classes, but every label is "
            f"{_show(classes)}; for a numeric target use task=regression"
        )
    return idx.astype(np.int64), classes.tolist()


def _show(values: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def column_stats(x: np.ndarray, chunk: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation (1 for constant columns), as float32,
    accumulated in float64 over row chunks: no float32 overflow, no full-size temporary."""
    n = len(x)
    total = np.zeros(x.shape[1], dtype=np.float64)
    for s in range(0, n, chunk):
        total += x[s : s + chunk].sum(axis=0, dtype=np.float64)
    mean = total / max(n, 1)
    sq = np.zeros_like(mean)
    for s in range(0, n, chunk):
        d = x[s : s + chunk].astype(np.float64) - mean
        sq += np.einsum("ij,ij->j", d, d)
    std = np.sqrt(sq / max(n, 1))
    std[std == 0] = 1.0  # constant features stay as they are
    return mean.astype(np.float32), std.astype(np.float32)


def split_and_scale(
    name: str,
    task: str,
    x: np.ndarray,
    y: np.ndarray,
    classes: list,
    val_fraction: float,
    standardize: bool,
    seed: int,
) -> Dataset:
    """Shuffle, hold out ``val_fraction``, and standardise with the training statistics."""
    n = len(x)
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
    n_val = round(n * val_fraction)
    if n - n_val < 1 or (val_fraction > 0 and n_val < 1):
        raise DataError(
            f"{name}: {n} samples are too few for val_fraction={val_fraction}; need at least "
            "one training and one validation sample"
        )
    if n_val == 0:  # no held-out samples: keep the data's order, validate on it
        x_train, y_train = x, y
    else:
        order = np.random.default_rng(seed).permutation(n)
        tr, va = order[n_val:], order[:n_val]
        x_train, y_train, x_val, y_val = x[tr], y[tr], x[va], y[va]
    mean = std = None
    if standardize:
        mean, std = column_stats(x_train)
        if n_val == 0:
            x_train = np.array(x_train, dtype=np.float32)  # not the caller's array, in place
        else:
            x_train = np.ascontiguousarray(x_train, dtype=np.float32)
        x_train -= mean
        x_train /= std
        if n_val:
            x_val = np.ascontiguousarray(x_val, dtype=np.float32)
            x_val -= mean
            x_val /= std
    x_train = np.ascontiguousarray(x_train, dtype=np.float32)
    y_train = np.ascontiguousarray(y_train)
    if n_val == 0:
        x_val, y_val = x_train, y_train
    return Dataset(
        name,
        task,
        x_train,
        y_train,
        np.ascontiguousarray(x_val, dtype=np.float32),
        np.ascontiguousarray(y_val),
        classes,
        val_is_train=n_val == 0,
        mean=mean,
        std=std,
    )
