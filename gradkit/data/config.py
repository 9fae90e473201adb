"""The ``data/`` config group: one dataclass per source, the shared options in ``DataConfig``.

These are the Hydra schemas (``conf/data/*.yaml`` fill them in); a key that is
not here, or a value of the wrong type, fails before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from omegaconf import MISSING

__all__ = [
    "Task",
    "DataConfig",
    "BlobsConfig",
    "RegressionConfig",
    "CsvConfig",
    "NpzConfig",
    "SklearnConfig",
    "DATA_SCHEMAS",
]


class Task(Enum):
    """What the target is: ``auto`` decides from the target values."""

    auto = "auto"
    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


@dataclass
class DataConfig:
    """Options every source has."""

    #: which loader: blobs, regression, csv, npz, sklearn
    source: str = MISSING
    #: fraction of the samples held out for validation
    val_fraction: float = 0.2
    #: standardise features with the training split's mean and std
    standardize: bool = True
    #: seeds the split and the synthetic sets
    seed: int = 0


@dataclass
class BlobsConfig(DataConfig):
    """Gaussian clusters: a learnable synthetic classification set (2 classes: binary)."""

    source: str = "blobs"
    n_samples: int = 1000
    n_features: int = 20
    n_classes: int = 3
    cluster_std: float = 6.0


@dataclass
class RegressionConfig(DataConfig):
    """Seed 004's random regression set: x and y standard normal (``relation=none``), or
    y = x @ W + noise (``relation=linear``), which can be learned and validated."""

    source: str = "regression"
    n_samples: int = 1000
    n_features: int = 20
    n_outputs: int = 1
    relation: str = "linear"
    noise: float = 0.1


@dataclass
class CsvConfig(DataConfig):
    """A CSV file with a header row: every column but ``target`` is a numeric feature."""

    source: str = "csv"
    path: str = MISSING
    target: str = "label"
    #: one character or a name: comma, semicolon, tab, pipe, space, colon
    delimiter: str = ","
    task: Task = Task.auto


@dataclass
class NpzConfig(DataConfig):
    """A ``.npz`` file holding a feature matrix and a target array."""

    source: str = "npz"
    path: str = MISSING
    x_key: str = "x"
    y_key: str = "y"
    task: Task = Task.auto


@dataclass
class SklearnConfig(DataConfig):
    """A small set bundled with scikit-learn (``pip install 'gradkit[datasets]'``)."""

    source: str = "sklearn"
    name: str = MISSING


#: config name in ``conf/data`` -> its schema
DATA_SCHEMAS: dict[str, type[DataConfig]] = {
    "blobs": BlobsConfig,
    "regression": RegressionConfig,
    "csv": CsvConfig,
    "npz": NpzConfig,
    "sklearn": SklearnConfig,
}
