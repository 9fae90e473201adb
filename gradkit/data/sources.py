"""Where data comes from: synthetic sets, CSV and NPZ files, scikit-learn's bundled sets.

Each loader returns features ``x`` (N, F) and raw targets ``y`` on the host;
``load`` checks them, settles the task and splits them.
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any

import numpy as np

from ..errors import DataError
from .config import Task
from .dataset import Dataset, encode_targets, infer_task, split_and_scale

__all__ = [
    "load",
    "blobs",
    "regression",
    "csv_rows",
    "csv_values",
    "read_csv",
    "read_npz",
    "sklearn_set",
]


def blobs(
    n_samples: int, n_features: int, n_classes: int, cluster_std: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around random centres in [-5, 5]^F."""
    if n_classes < 2:
        raise DataError(f"data.n_classes must be at least 2, got {n_classes}")
    if n_samples < n_classes:
        raise DataError(f"data.n_samples ({n_samples}) must be at least n_classes ({n_classes})")
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, (n_classes, n_features))
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    x = centres[y] + cluster_std * rng.standard_normal((n_samples, n_features))
    return x.astype(np.float32), y


def regression(
    n_samples: int, n_features: int, n_outputs: int, relation: str, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seed 004's set (``relation=none``: x and y independent standard normals) or a
    linear relation with Gaussian noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    if relation == "none":
        y = rng.standard_normal((n_samples, n_outputs), dtype=np.float32)
    elif relation == "linear":
        w = rng.standard_normal((n_features, n_outputs)) / math.sqrt(n_features)
        y = (x @ w + noise * rng.standard_normal((n_samples, n_outputs))).astype(np.float32)
    else:
        raise DataError(f"data.relation must be 'none' or 'linear', got {relation!r}")
    return x, y


def _check_path(path: str, what: str, key: str = "data.path") -> str:
    if not os.path.exists(path):
        here = os.getcwd()
        raise DataError(
            f"{key}: no such file: {path} (looked in {here}); give a path relative to "
            f"where you run gradkit, or an absolute one, to a {what} file"
        )
    if os.path.isdir(path):
        raise DataError(f"{key}: {path} is a folder, not a {what} file")
    return path


#: how a tab can be spelled on the command line (Hydra keeps "\t" as two characters)
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t"}


def csv_rows(path: str, delimiter: str = ",", key: str = "data.path") -> list[list[str]]:
    """The non-blank rows of a CSV file (the first is the header); ``key`` names the option
    that gave the path, for messages."""
    _check_path(path, "CSV", key)
    delimiter = _DELIMITER_NAMES.get(delimiter, delimiter)
    if len(delimiter) != 1:
        raise DataError(
            f"data.delimiter must be one character, got {delimiter!r}; for a tab, write "
            "data.delimiter=tab"
        )
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f, delimiter=delimiter))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: not a readable CSV text file ({e})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DataError(f"{path}: the file is empty; it needs a header row and data rows")
    return rows


def csv_values(path: str, header: list[str], rows: list[list[str]]) -> np.ndarray:
    """The data rows as float64, every cell checked: a message names the row and column of
    a cell that is not a finite number."""
    n_cols = len(header)
    values = np.empty((len(rows), n_cols), dtype=np.float64)
    for i, row in enumerate(rows, start=2):
        if len(row) != n_cols:
            raise DataError(
                f"{path}, row {i}: {len(row)} cells where the header has {n_cols} columns"
            )
        for j, cell in enumerate(row):
            try:
                v = float(cell)
            except ValueError:
                raise DataError(
                    f"{path}, row {i}, column {header[j]!r}: {cell.strip()!r} is not a number; "
                    "every feature and the target must be numeric"
                ) from None
            if math.isnan(v) or math.isinf(v):
                raise DataError(
                    f"{path}, row {i}, column {header[j]!r}: {cell.strip()} is not a finite "
                    "number; fill or drop the missing values first"
                )
            values[i - 2, j] = v
    return values


def read_csv(
    path: str, target: str, delimiter: str = ","
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Numeric features, the target column and the feature names of a CSV file with a
    header row."""
    rows = csv_rows(path, delimiter)
    delimiter = _DELIMITER_NAMES.get(delimiter, delimiter)
    header = [h.strip() for h in rows[0]]
    if target not in header:
        hint = "Set data.target to one of them"
        other = next((d for d in (";", "\t", "|", ",") if d != delimiter and d in rows[0][0]), None)
        if len(header) == 1 and other is not None:
            name = "tab" if other == "\t" else repr(other)
            hint = f"The columns look separated by {name}: set data.delimiter={name}"
        raise DataError(
            f"{path}: no target column {target!r}; the columns are: {', '.join(header)}. {hint}"
        )
    if len(rows) < 2:
        raise DataError(f"{path}: only a header row, no data")
    t = header.index(target)
    values = csv_values(path, header, rows[1:])
    x = np.delete(values, t, axis=1).astype(np.float32)
    if x.shape[1] == 0:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")
    return x, values[:, t], [h for j, h in enumerate(header) if j != t]


def read_npz(path: str, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix and targets stored in an ``.npz`` file."""
    _check_path(path, "NPZ")
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = list(f.files)
            missing = [k for k in (x_key, y_key) if k not in keys]
            if missing:
                raise DataError(
                    f"{path}: no array named {missing[0]!r}; the file holds: {', '.join(keys)}. "
                    "Set data.x_key and data.y_key"
                )
            x, y = f[x_key], f[y_key]
    except (OSError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise DataError(f"{path}: {x_key!r} and {y_key!r} must hold numbers")
    if x.ndim != 2:
        raise DataError(
            f"{path}: {x_key!r} must be a 2-D (samples x features) array, got shape {list(x.shape)}"
        )
    if len(y) != len(x):
        raise DataError(f"{path}: {x_key!r} has {len(x)} samples but {y_key!r} has {len(y)}")
    for key, arr in ((x_key, x), (y_key, y)):
        bad = ~np.isfinite(arr.astype(np.float64))
        if bad.any():
            pos = np.argwhere(bad)[0]
            raise DataError(
                f"{path}: {key!r} has a non-finite value at index {tuple(int(p) for p in pos)}"
            )
    return x.astype(np.float32), y


def sklearn_set(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One of scikit-learn's bundled sets (no download): breast_cancer or digits."""
    loaders = {
        "breast_cancer": "load_breast_cancer",
        "digits": "load_digits",
        "iris": "load_iris",
        "wine": "load_wine",
    }
    if name not in loaders:
        raise DataError(
            f"data.name={name!r} is not a bundled set; choose one of {', '.join(loaders)}"
        )
    try:
        import sklearn.datasets as skd
    except ImportError:
        raise DataError(
            f"data={name} needs scikit-learn, which is not installed: "
            "pip install 'gradkit[datasets]'"
        ) from None
    bunch = getattr(skd, loaders[name])()
    names = [str(n) for n in getattr(bunch, "feature_names", [])]
    return bunch.data.astype(np.float32), bunch.target, names


def load(cfg: Any) -> Dataset:
    """The dataset a data config describes, checked and split."""
    src = cfg.source
    task = None
    names: list[str] = []
    target_name = "label"
    if src == "blobs":
        x, y = blobs(cfg.n_samples, cfg.n_features, cfg.n_classes, cfg.cluster_std, cfg.seed)
        name, where = "blobs", "data=blobs"
        task = "binary" if cfg.n_classes == 2 else "multiclass"
    elif src == "regression":
        x, y = regression(
            cfg.n_samples, cfg.n_features, cfg.n_outputs, cfg.relation, cfg.noise, cfg.seed
        )
        name, where, task = f"regression ({cfg.relation})", "data=regression", "regression"
    elif src == "csv":
        x, y, names = read_csv(cfg.path, cfg.target, cfg.delimiter)
        name, where, target_name = cfg.path, f"{cfg.path}, column {cfg.target!r}", cfg.target
    elif src == "npz":
        x, y = read_npz(cfg.path, cfg.x_key, cfg.y_key)
        name, where, target_name = cfg.path, f"{cfg.path}, array {cfg.y_key!r}", cfg.y_key
    elif src == "sklearn":
        x, y, names = sklearn_set(cfg.name)
        name, where = cfg.name, f"data={cfg.name}"
    else:
        raise DataError(f"unknown data source {src!r}")
    if task is None:
        wanted = getattr(cfg, "task", Task.auto)
        wanted = wanted.value if isinstance(wanted, Task) else str(wanted)
        task = infer_task(y, where) if wanted == "auto" else wanted
    y, classes = encode_targets(np.asarray(y), task, where)
    ds = split_and_scale(name, task, x, y, classes, cfg.val_fraction, cfg.standardize, cfg.seed)
    ds.feature_names = names if len(names) == x.shape[1] else [f"x{j}" for j in range(x.shape[1])]
    ds.target_name = target_name
    return ds
