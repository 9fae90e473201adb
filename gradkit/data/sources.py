"""Where data comes from: a loader named by the data config's ``_target_``.

A loader is a function of the config's keys (all but the shared options of
``config.SHARED``; ``seed`` too when it has a ``seed`` parameter) that returns
the features ``x`` (N, F) and the raw targets ``y`` on the host: ``(x, y)``,
``(x, y, feature_names)`` or a :class:`RawData`.  gradkit's own loaders are the
synthetic sets, CSV and NPZ files and scikit-learn's bundled sets; ``load`` calls
one, checks what it returns, settles the task and splits it.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, UserError
from .config import SHARED, Task, UserDataConfig
from .dataset import Dataset, encode_targets, infer_task, split_and_scale
from .files import check_arrays, read_csv, read_npz

__all__ = [
    "RawData",
    "SOURCES",
    "load",
    "builtin_source",
    "blobs",
    "regression",
    "csv_file",
    "npz_file",
    "sklearn_set",
]


@dataclass
class RawData:
    """What a loader returns when it has more to say than ``(x, y)``."""

    x: Any
    y: Any
    #: how the log and messages call the data (default: the loader's name)
    name: str | None = None
    #: where a bad target value is, in messages (default: ``name``)
    where: str | None = None
    #: the task when the source fixes it (None: ``data.task``, else from the values)
    task: str | None = None
    feature_names: list[str] | None = None
    target_name: str = "label"


def _check_sizes(n_samples: int, n_features: int) -> None:
    if n_features < 1:
        raise DataError(f"data.n_features must be at least 1, got {n_features}")
    if n_samples < 2:
        raise DataError(f"data.n_samples must be at least 2, got {n_samples}")


def blobs(
    n_samples: int, n_features: int, n_classes: int, cluster_std: float, seed: int
) -> RawData:
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
    task = "binary" if n_classes == 2 else "multiclass"
    return RawData(x.astype(np.float32), y, "blobs", "data=blobs", task)


def regression(
    n_samples: int, n_features: int, n_outputs: int, relation: str, noise: float, seed: int
) -> RawData:
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
    return RawData(x, y, f"regression ({relation})", "data=regression", "regression")


def csv_file(path: str, target: str = "label", delimiter: str = ",") -> RawData:
    """A CSV file with a header row (``files.read_csv``)."""
    x, y, names = read_csv(path, target, delimiter)
    return RawData(x, y, path, f"{path}, column {target!r}", None, names, target)


def npz_file(path: str, x_key: str = "x", y_key: str = "y") -> RawData:
    """An ``.npz`` archive's features and targets (``files.read_npz``)."""
    x, y = read_npz(path, x_key, y_key)
    return RawData(x, y, path, f"{path}, array {y_key!r}", target_name=y_key)


def sklearn_set(name: str) -> RawData:
    """One of scikit-learn's bundled sets (no download): breast_cancer, digits, iris, wine."""
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
    return RawData(bunch.data.astype(np.float32), bunch.target, name, f"data={name}", None, names)


#: gradkit's own loaders, by the ``_target_`` their configs name
SOURCES: dict[str, Callable[..., RawData]] = {
    f"{__name__}.{f.__name__}": f for f in (blobs, regression, csv_file, npz_file, sklearn_set)
}


def builtin_source(target: str, where: str) -> Callable[..., RawData]:
    """gradkit's own loader that ``target`` names; any other is a UserError naming
    ``where`` (gradkit calls a loader of its own only, unless it is handed one)."""
    if target in SOURCES:
        return SOURCES[target]
    raise UserError(
        f"{where}: data loader {target!r} is not one of gradkit's own ({', '.join(SOURCES)}); "
        "gradkit does not import code named in a run folder"
    )


def _options(cfg: Any) -> dict[str, Any]:
    """A data config (a schema's dataclass or a mapping) as a plain dict of values."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        items = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    elif isinstance(cfg, Mapping):
        items = {str(k): v for k, v in cfg.items()}
    else:
        raise TypeError(f"a data config is a dataclass or a mapping, not {type(cfg).__name__}")
    return {k: v.value if isinstance(v, Enum) else v for k, v in items.items()}


def _shared(options: dict[str, Any], target: str) -> UserDataConfig:
    """The shared options of ``options``, typed and checked (defaults where unset)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    given = {k: options[k] for k in SHARED if k in options and k != "_target_"}
    try:
        node = OmegaConf.merge(OmegaConf.structured(UserDataConfig), given)
        node._target_ = target
        return OmegaConf.to_object(node)  # type: ignore[return-value]
    except OmegaConfBaseException as e:
        key = str(getattr(e, "full_key", None) or "")
        kinds = {
            "val_fraction": "a number",
            "standardize": "true or false",
            "seed": "an integer",
            "task": f"one of {', '.join(t.value for t in Task)}",
        }
        if key in kinds:
            raise ConfigError(f"data.{key} must be {kinds[key]}; got {given[key]!r}") from None
        raise ConfigError(f"data config: {str(e).splitlines()[0]}") from None


def _takes(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def _call(loader: Callable[..., Any], kwargs: dict[str, Any], target: str) -> Any:
    """A user's loader called with ``kwargs``; what it raises becomes a DataError."""
    from ..runtime import signals

    try:
        return loader(**kwargs)
    except UserError:
        raise
    except Exception as e:
        if signals.requested():
            raise
        given = ", ".join(kwargs) or "no arguments"
        hint = f" (it is called with {given})" if isinstance(e, TypeError) else ""
        raise DataError(f"data._target_={target!r} failed: {type(e).__name__}: {e}{hint}") from None


def _check_keys(loader: Callable[..., Any], kwargs: dict[str, Any], target: str) -> None:
    """A built-in loader's keys, for a YAML that names it without its schema (so nothing
    checked them): an unknown or missing key is a DataError naming what it takes."""
    signature = inspect.signature(loader)
    unknown = [k for k in kwargs if k not in signature.parameters]
    try:
        if unknown:
            raise TypeError(f"unknown key{'s' if len(unknown) > 1 else ''} {unknown}")
        signature.bind(**kwargs)
    except TypeError as e:
        takes = ", ".join(p for p in signature.parameters if p != "seed")
        raise DataError(
            f"data._target_={target}: {e}; it takes {takes} (or start the YAML with "
            f"'defaults: [<a built-in data option>, _self_]' to inherit them)"
        ) from None


def _raw(out: Any, target: str) -> RawData:
    """A user's loader's return value as RawData, its arrays checked."""
    if not isinstance(out, RawData):
        if not isinstance(out, (tuple, list)) or len(out) not in (2, 3):
            raise DataError(
                f"data._target_={target!r} returned {type(out).__name__}; a loader returns "
                "(x, y) or (x, y, feature_names)"
            )
        out = RawData(*out[:2], feature_names=list(out[2]) if len(out) == 3 else None)
    where = out.where or out.name or target
    try:
        x, y = np.asarray(out.x), np.asarray(out.y)
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: x and y must be arrays of numbers ({e})") from None
    x, y = check_arrays(where, x, y)
    return dataclasses.replace(out, x=x, y=y, name=out.name or target, where=where)


def load(cfg: Any, loader: Callable[..., Any] | None = None) -> Dataset:
    """The dataset a data config describes (a schema's dataclass or a mapping), checked and
    split.  ``cfg._target_`` names its loader; only gradkit's own are looked up, any other
    is called only when handed in as ``loader`` (the CLI imports a user's)."""
    options = _options(cfg)
    target = str(options.get("_target_") or "")
    if loader is None:
        loader = builtin_source(target, "the data config")
    opts = _shared(options, target)
    kwargs = {k: v for k, v in options.items() if k not in SHARED}
    if _takes(loader, "seed"):
        kwargs["seed"] = opts.seed
    if any(loader is f for f in SOURCES.values()):
        _check_keys(loader, kwargs, target)
        raw = loader(**kwargs)
    else:
        raw = _raw(_call(loader, kwargs, target), target)
    x, y = raw.x, raw.y
    name = raw.name or target
    where = raw.where or name
    task = raw.task
    if task is None:
        wanted = opts.task.value if isinstance(opts.task, Enum) else str(opts.task)
        task = infer_task(y) if wanted == "auto" else wanted
    y, classes = encode_targets(np.asarray(y), task, where)
    ds = split_and_scale(name, task, x, y, classes, opts.val_fraction, opts.standardize, opts.seed)
    names = raw.feature_names or []
    ds.feature_names = names if len(names) == x.shape[1] else [f"x{j}" for j in range(x.shape[1])]
    ds.target_name = raw.target_name
    return ds
