"""The ``data/`` config group: one dataclass per built-in source, the shared options in
``DataConfig``.

These are the Hydra schemas (``conf/data/*.yaml`` fill them in); a key that is
not here, or a value of the wrong type, fails before anything runs.  A config's
``_target_`` names its loader (``gradkit.data.sources``); its keys other than the
shared options (:data:`SHARED`) are the loader's arguments.
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
    "UserDataConfig",
    "DATA_SCHEMAS",
    "SHARED",
    "schema_for_target",
]


class Task(Enum):
    """What the target is: ``auto`` decides from the target values."""

    auto = "auto"
    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


@dataclass
class DataConfig:
    """Options every data config has."""

    #: the loader: a function of the config's other keys that returns the features and targets
    _target_: str = MISSING
    #: fraction of the samples held out for validation
    val_fraction: float = 0.2
    #: standardise features with the training split's mean and std
    standardize: bool = True
    #: seeds the split and the synthetic sets
    seed: int = 0


@dataclass
class BlobsConfig(DataConfig):
    """Gaussian clusters: a learnable synthetic classification set (2 classes: binary)."""

    _target_: str = "gradkit.data.sources.blobs"
    n_samples: int = 1000
    n_features: int = 20
    n_classes: int = 3
    cluster_std: float = 6.0


@dataclass
class RegressionConfig(DataConfig):
    """Seed 004's random regression set: x and y standard normal (``relation=none``), or
    y = x @ W + noise (``relation=linear``), which can be learned and validated."""

    _target_: str = "gradkit.data.sources.regression"
    n_samples: int = 1000
    n_features: int = 20
    n_outputs: int = 1
    relation: str = "linear"
    noise: float = 0.1


@dataclass
class CsvConfig(DataConfig):
    """A CSV file with a header row: every column but ``target`` is a numeric feature."""

    _target_: str = "gradkit.data.sources.csv_file"
    path: str = MISSING
    target: str = "label"
    #: one character or a name: comma, semicolon, tab, pipe, space, colon
    delimiter: str = ","
    task: Task = Task.auto


@dataclass
class NpzConfig(DataConfig):
    """A ``.npz`` file holding a feature matrix and a target array."""

    _target_: str = "gradkit.data.sources.npz_file"
    path: str = MISSING
    x_key: str = "x"
    y_key: str = "y"
    task: Task = Task.auto


@dataclass
class SklearnConfig(DataConfig):
    """A small set bundled with scikit-learn (``pip install 'gradkit[datasets]'``)."""

    _target_: str = "gradkit.data.sources.sklearn_set"
    name: str = MISSING


@dataclass
class UserDataConfig(DataConfig):
    """The shared options of a user's data config (``./conf/data/mine.yaml``), whose other
    keys, free-form, go to the loader its ``_target_`` names."""

    task: Task = Task.auto


#: config name in ``conf/data`` -> its schema (a run folder from before ``_target_`` named
#: its source by this name, as ``data.source``)
DATA_SCHEMAS: dict[str, type[DataConfig]] = {
    "blobs": BlobsConfig,
    "regression": RegressionConfig,
    "csv": CsvConfig,
    "npz": NpzConfig,
    "sklearn": SklearnConfig,
}

#: the keys of a data config that are gradkit's, not the loader's (a loader that has a
#: ``seed`` parameter gets ``seed`` too)
SHARED = ("_target_", "val_fraction", "standardize", "seed", "task")


def schema_for_target(target: str) -> type[DataConfig] | None:
    """The schema of the built-in source ``target`` names (None for any other)."""
    for cls in DATA_SCHEMAS.values():
        if cls._target_ == target:
            return cls
    return None
