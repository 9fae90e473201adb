"""A run's own validation split, rebuilt from its saved config (``.hydra/config.yaml``)
exactly as ``gradkit train`` built it: same data config, same seeds, same split and
standardisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .loaded import LoadedRun, builtin_model_class

__all__ = ["validation_split"]


def _data_config(config: Any, where: str) -> Any:
    """The run's ``data`` node as its schema's dataclass (a checked, plain object): one of
    gradkit's own sources only, never a loader named in the folder.  A run from before data
    configs had ``_target_`` names its source as ``data.source``."""
    from omegaconf import DictConfig, OmegaConf

    from ..data.config import DATA_SCHEMAS, schema_for_target

    data = config.get("data")
    if not isinstance(data, DictConfig):
        raise UserError(f"{where}: no data config, so the run's validation split cannot be rebuilt")
    target = data.get("_target_")
    if target is not None:
        schema = schema_for_target(str(target))
        if schema is None:
            raise UserError(
                f"{where}: data loader {str(target)!r} is not one of gradkit's own data sources; "
                "gradkit does not import code named in a run folder. Evaluate on a labelled "
                "file with input=FILE"
            )
    else:
        source = data.get("source")
        schema = DATA_SCHEMAS.get(str(source))
        if schema is None:
            raise UserError(f"{where}: data.source {source!r} is not one of gradkit's data sources")
        data = OmegaConf.masked_copy(data, [k for k in data if k != "source"])
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), data)
        return OmegaConf.to_object(merged)
    except Exception as e:
        raise UserError(f"{where}: the data config does not load ({e})") from None


def validation_split(run: LoadedRun) -> tuple[np.ndarray, np.ndarray, Any]:
    """(standardised features, encoded targets, dataset) of the run's validation split."""
    import gradkit

    from ..data import load

    where = str(Path(run.path) / ".hydra" / "config.yaml")
    if run.config is None:
        raise UserError(
            f"{where}: not found, so the run's validation split cannot be rebuilt; give a "
            "labelled file with input=FILE"
        )
    target = run.config.get("model", {}).get("_target_")
    builtin_model_class(str(target), where)  # only gradkit's own models, never user code
    gradkit.manual_seed(int(run.config.get("seed", 0)))  # as gradkit train seeds, before data
    cfg = _data_config(run.config, where)
    try:
        ds = load(cfg)
    except UserError as e:
        raise UserError(
            f"cannot rebuild the validation split of run={run.path}: {e}. Run gradkit from the "
            "folder the run was trained in, or give a labelled file with input=FILE"
        ) from None
    card = run.card
    same = ds.n_features == len(card.features) and (
        (ds.mean is None and card.mean is None)
        or (
            ds.mean is not None
            and card.mean is not None
            and np.array_equal(ds.mean, np.asarray(card.mean, dtype=np.float32))
            and np.array_equal(ds.std, np.asarray(card.std, dtype=np.float32))
        )
    )
    if not same:
        raise UserError(
            f"the data of run={run.path} ({ds.name}) is not what it was trained on: its "
            "training split's statistics differ from model.json's. Evaluate on a labelled "
            "file with input=FILE"
        )
    return ds.x_val, ds.y_val, ds
