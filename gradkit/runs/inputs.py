"""Raw inputs for a trained model: a CSV file whose columns are matched by name to the
training features (the target column, if present, set aside), or an ``.npz`` file with an
``x`` array in the training column order (and optionally ``y``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.files import read_npz, read_table
from ..errors import DataError
from .card import ModelCard

__all__ = ["RawInput", "read_input", "encode_labels"]


@dataclass
class RawInput:
    """Features (float32, training column order) and the raw target when the file has one."""

    x: np.ndarray
    y: np.ndarray | None
    path: str
    target: str


def read_input(path: str, card: ModelCard, target: str | None = None) -> RawInput:
    """Read ``path`` (.csv or .npz) for the model of ``card``; ``target`` names the target
    column (default: the training data's)."""
    target = target or card.target or "label"
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return _read_npz(path, card, target)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, card, target, "\t" if suffix == ".tsv" else ",")
    raise DataError(
        f"input={path}: unknown file type {suffix or '(no extension)'!r}; give a .csv file "
        "with a header row or an .npz file with an 'x' array"
    )


def _read_csv(path: str, card: ModelCard, target: str, delimiter: str) -> RawInput:
    header, values = read_table(path, delimiter, key="input")
    features = list(card.features)
    unknown = [h for h in header if h not in features and h != target]
    if unknown:
        raise DataError(
            f"{path}: column {unknown[0]!r} is not a feature the model was trained on; its "
            f"features are {_names(features)} (and the target {target!r}, which predict "
            "ignores). Drop that column, or name the target column with target=NAME"
        )
    missing = [f for f in features if f not in header]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DataError(
            f"{path}: no column {missing[0]!r}{more}; the model needs the features "
            f"{_names(features)}, matched by name (any order)"
        )
    x = values[:, [header.index(f) for f in features]].astype(np.float32)
    y = values[:, header.index(target)] if target in header else None
    return RawInput(x, y, path, target)


def _read_npz(path: str, card: ModelCard, target: str) -> RawInput:
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = list(f.files)
    except FileNotFoundError:
        raise DataError(f"input: no such file: {path}") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    if "x" not in keys:
        raise DataError(
            f"{path}: no array named 'x'; the file holds: {', '.join(keys) or 'nothing'}. "
            "Save the features as x (samples x features, training column order) and any "
            "labels as y"
        )
    if "y" in keys:
        x, y = read_npz(path, "x", "y")
    else:
        x, _ = read_npz(path, "x", "x")
        y = None
    n = len(card.features)
    if x.shape[1] != n:
        raise DataError(
            f"{path}: 'x' has {x.shape[1]} columns but the model takes {n} features "
            f"({_names(card.features)}), in that order"
        )
    return RawInput(x.astype(np.float32), y, path, "y")


def _names(names: list, limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def encode_labels(y: np.ndarray, card: ModelCard, where: str) -> np.ndarray:
    """Raw targets in the form the model's loss takes: class indices (multiclass), (N, 1)
    floats in {0, 1} (binary), (N, D) floats (regression); an unknown label is an error."""
    y = np.asarray(y)
    if card.task == "regression":
        y = y.astype(np.float32)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        width = card.kwargs.get("d_out", y.shape[1])
        if y.shape[1] != width:
            raise DataError(f"{where}: {y.shape[1]} target columns, the model predicts {width}")
        return y
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where}: the target must be one column, got shape {list(y.shape)}")
    classes = np.asarray(card.classes, dtype=np.float64)
    idx = np.full(len(y), -1, dtype=np.int64)
    for k, c in enumerate(classes):
        idx[y.astype(np.float64) == c] = k
    bad = np.flatnonzero(idx < 0)
    if len(bad):
        value = y[bad[0]].item()
        raise DataError(
            f"{where}: label {value!r} (row {bad[0] + 1}) is not one of the classes the model "
            f"knows: {', '.join(str(c) for c in card.classes)}"
        )
    return idx.astype(np.float32).reshape(-1, 1) if card.task == "binary" else idx
