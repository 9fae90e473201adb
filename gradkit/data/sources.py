"""Where data comes from: synthetic sets, CSV and NPZ files, scikit-learn's bundled sets.

Each loader returns features ``x`` (N, F) and raw targets ``y`` on the host;
``load`` checks them, settles the task and splits them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DataError
from .config import Task
from .dataset import Dataset, encode_targets, infer_task, split_and_scale
from .files import read_csv, read_npz

__all__ = ["load", "blobs", "regression", "read_csv", "read_npz", "sklearn_set"]


def _check_sizes(n_samples: int, n_features: int) -> None:
    if n_features < 1:
        raise DataError(f"data.n_features must be at least 1, got {n_features}")
    if n_samples < 2:
        raise DataError(f"data.n_samples must be at least 2, got {n_samples}")


def blobs(
    n_samples: int, n_features: int, n_classes: int, cluster_std: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around random centres in [-5, 5]^F."""
    _check_sizes(n_samples, n_features)
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
    _check_sizes(n_samples, n_features)
    if n_outputs < 1:
        raise DataError(f"data.n_outputs must be at least 1, got {n_outputs}")
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
        task = infer_task(y) if wanted == "auto" else wanted
    y, classes = encode_targets(np.asarray(y), task, where)
    ds = split_and_scale(name, task, x, y, classes, cfg.val_fraction, cfg.standardize, cfg.seed)
    ds.feature_names = names if len(names) == x.shape[1] else [f"x{j}" for j in range(x.shape[1])]
    ds.target_name = target_name
    return ds
