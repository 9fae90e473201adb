"""Checkpoints: parameters, gradients and optimizer state (``checkpoint.npz``) plus the
loop's position (``checkpoint.json``) — everything a resumed run needs to continue
bit for bit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import UserError
from .checkpoint_files import read_checkpoint

__all__ = ["save_checkpoint", "load_checkpoint", "save_params", "find_checkpoint"]


def _host(t: Tensor) -> np.ndarray:
    return np.array(t.detach().numpy(force=True))


def save_params(model: Any, path: Path) -> None:
    """The model's ``state_dict`` as an ``.npz`` file (names as keys)."""
    arrays = {k: _host(v) for k, v in model.state_dict().items()}
    tmp = Path(str(path) + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def save_checkpoint(run_dir: Path, model: Any, optimizer: Any, position: dict) -> Path:
    """Write ``checkpoint.npz`` and ``checkpoint.json``; returns the .npz path."""
    arrays: dict[str, np.ndarray] = {}
    for name, p in model.named_parameters():
        arrays[f"param/{name}"] = _host(p)
        if p.grad is not None:
            arrays[f"grad/{name}"] = _host(p.grad)
    sd = optimizer.state_dict()
    scalars: dict[str, dict] = {}
    for idx, st in sd["state"].items():
        scalars[str(idx)] = {}
        for k, v in st.items():
            if isinstance(v, Tensor) and k != "step":
                arrays[f"opt/{idx}/{k}"] = _host(v)
            else:
                scalars[str(idx)][k] = v.item() if isinstance(v, Tensor) else v
    npz = run_dir / "checkpoint.npz"
    tmp = run_dir / "checkpoint.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, npz)
    meta = {"position": position, "param_groups": sd["param_groups"], "state": scalars}
    (run_dir / "checkpoint.json").write_text(json.dumps(meta, indent=1, default=_plain))
    return npz


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    raise TypeError(f"cannot save {type(v).__name__} in a checkpoint")


def find_checkpoint(path: str) -> Path:
    """The checkpoint of a run folder (or the ``checkpoint.npz`` given directly)."""
    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.npz"
    if not p.exists() or not p.with_suffix(".json").exists():
        raise UserError(
            f"resume={path}: no checkpoint there (expected checkpoint.npz and checkpoint.json in "
            "a run folder); runs save one every loop.checkpoint_every steps, at the end, and "
            "when interrupted with Ctrl-C"
        )
    return p


def load_checkpoint(path: Path, model: Any, optimizer: Any) -> dict:
    """Restore parameters, gradients and optimizer state; return the loop position."""
    meta, arrays = read_checkpoint(path)  # a damaged file is a UserError (exit 2)
    params = dict(model.named_parameters())
    with no_grad():
        for name, p in params.items():
            key = f"param/{name}"
            if key not in arrays:
                raise UserError(f"{path}: no parameter {name!r}; was it saved by another model?")
            if arrays[key].shape != tuple(p.shape):
                raise UserError(
                    f"{path}: parameter {name!r} has shape {list(arrays[key].shape)} in the "
                    f"checkpoint but {list(p.shape)} in this model; resume with the run's config"
                )
            p.copy_(tensor(arrays[key], device=p.device))
            g = arrays.get(f"grad/{name}")
            p.grad = None if g is None else tensor(g, device=p.device)
    state: dict[int, dict] = {}
    for idx, scalars in meta["state"].items():
        state[int(idx)] = dict(scalars)
    for key, arr in arrays.items():
        if key.startswith("opt/"):
            _, idx, name = key.split("/", 2)
            state.setdefault(int(idx), {})[name] = tensor(arr)
    groups = meta["param_groups"]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return meta["position"]
