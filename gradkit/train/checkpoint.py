"""Checkpoints: one file, ``checkpoint.npz``, holding parameters, gradients, optimizer state
and the loop's position (a JSON member ``meta``) — everything a resumed run needs to
continue bit for bit.

One file is one commit point: it is written beside the old one and renamed over it,
so a crash at any instant leaves the previous checkpoint or the new one, never a
mix.  Loading checks everything against the model and optimizer it is loaded into
(names, shapes, dtypes, the position's bounds) and reads array headers before their
data, so a corrupt, truncated, foreign or hostile file is a clear error naming it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd.creation import tensor
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import UserError
from ..runtime.files import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "save_params", "find_checkpoint", "read_meta"]

FORMAT = 1
META = "meta"
#: the largest meta member read (the real one is a few kB)
_META_LIMIT = 1 << 20


class CheckpointError(UserError):
    """A checkpoint that cannot be resumed from; the message names the file."""


def _host(t: Tensor) -> np.ndarray:
    return np.array(t.detach().numpy(force=True))


def save_params(model: Any, path: Path) -> None:
    """The model's ``state_dict`` as an ``.npz`` file (names as keys), replaced atomically."""
    arrays = {k: _host(v) for k, v in model.state_dict().items()}
    with atomic_write(path, fault="params") as f:
        np.savez(f, **arrays)


def save_checkpoint(
    run_dir: Path,
    model: Any,
    optimizer: Any,
    position: dict,
    total: int | None = None,
    **schedule: Any,
) -> Path:
    """Write ``checkpoint.npz`` (atomically, as a whole); returns its path.  ``schedule``
    (steps per epoch, whether loop.steps set the total) lets a resume tell, before
    reading any data, how far ``loop.epochs=N`` goes."""
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
    meta = {
        "format": FORMAT,
        "position": position,
        "total": total,
        "model": type(model).__name__,
        "optimizer": type(optimizer).__name__,
        "param_groups": sd["param_groups"],
        "state": scalars,
        **schedule,
    }
    blob = json.dumps(meta, default=_plain).encode("utf-8")
    arrays[META] = np.frombuffer(blob, dtype=np.uint8)
    path = run_dir / "checkpoint.npz"
    with atomic_write(path, fault="checkpoint") as f:
        np.savez(f, **arrays)
    return path


def _np_dtype(p: Tensor) -> np.dtype:
    """The numpy dtype of a tensor's elements (its saved arrays must have it)."""
    return np.dtype(p.dtype.name)


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"cannot save {type(v).__name__} in a checkpoint")


def find_checkpoint(path: str | Path) -> Path:
    """The checkpoint of a run folder (or the ``checkpoint.npz`` given directly)."""
    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.npz"
    if not p.is_file():
        raise UserError(
            f"resume={path}: no checkpoint there (expected checkpoint.npz in a run folder); "
            "runs save one every loop.checkpoint_every steps, at the end, and when stopped "
            "by Ctrl-C or SIGTERM"
        )
    return p


# -- reading ------------------------------------------------------------------------------------
def _bad(path: Path, what: str) -> CheckpointError:
    return CheckpointError(
        f"{path}: {what}; it cannot be resumed from (start a new run, or resume from "
        "another copy of the run)"
    )


class _Reader:
    """The members of a checkpoint, each header checked before its data is read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
            self.names = {n[:-4] for n in self.zip.namelist() if n.endswith(".npy")}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise _bad(path, f"not a readable checkpoint (truncated or corrupt: {e})") from None
        for name in sorted(self.names):  # refuse Python objects before anything is read
            if self._header(name)[2].hasobject:
                raise _bad(path, f"{name!r} holds Python objects, not numbers")

    def _header(self, name: str) -> tuple:
        """(shape, fortran order, dtype) from a member's .npy header."""
        try:
            with self.zip.open(name + ".npy") as f:
                return self._read_header(f)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as e:
            raise _bad(self.path, f"member {name!r} cannot be read ({e})") from None

    @staticmethod
    def _read_header(f: Any) -> tuple:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        return np.lib.format.read_array_header_2_0(f)

    def close(self) -> None:
        self.zip.close()

    def read(self, name: str, shape: tuple | None, dtype: Any, limit: int | None = None) -> Any:
        """Member ``name`` as an array, refused unless its header has this shape and dtype."""
        try:
            with self.zip.open(name + ".npy") as f:
                got_shape, fortran, got_dtype = self._read_header(f)
                if shape is not None and tuple(got_shape) != tuple(shape):
                    raise _bad(
                        self.path,
                        f"{name!r} has shape {list(got_shape)}, this model's has {list(shape)}",
                    )
                if dtype is not None and got_dtype != np.dtype(dtype):
                    raise _bad(
                        self.path, f"{name!r} has dtype {got_dtype}, this model's is {dtype}"
                    )
                count = int(np.prod(got_shape))
                if limit is not None and count > limit:
                    raise _bad(self.path, f"{name!r} is too large ({count} elements)")
                data = f.read(count * got_dtype.itemsize)
                if len(data) != count * got_dtype.itemsize:
                    raise _bad(self.path, f"{name!r} is truncated")
                arr = np.frombuffer(data, dtype=got_dtype)
                order = "F" if fortran else "C"
                return arr.reshape(got_shape, order=order).copy()
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as e:
            raise _bad(self.path, f"member {name!r} cannot be read ({e})") from None


def read_meta(path: Path) -> dict:
    """The checkpoint's ``meta`` record (position, total, model and optimizer names),
    checked for form."""
    r = _Reader(path)
    try:
        return _meta(r)
    finally:
        r.close()


def _meta(r: _Reader) -> dict:
    if META not in r.names:
        raise _bad(r.path, "no 'meta' record (not a gradkit checkpoint, or one made before 0.4)")
    raw = r.read(META, None, np.uint8, limit=_META_LIMIT)
    try:
        meta = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _bad(r.path, f"its 'meta' record is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _bad(r.path, "its 'meta' record has an unknown format")
    pos = meta.get("position")
    if not isinstance(pos, dict):
        raise _bad(r.path, "its 'meta' record has no position")
    for key in ("step", "micro"):
        v = pos.get(key)
        if type(v) is not int or v < 0:
            raise _bad(r.path, f"position.{key} must be a whole number >= 0, got {v!r}")
    total = meta.get("total")
    if total is not None and (type(total) is not int or total < 1):
        raise _bad(r.path, f"'total' must be a whole number >= 1, got {total!r}")
    if not isinstance(meta.get("state"), dict) or not isinstance(meta.get("param_groups"), list):
        raise _bad(r.path, "its 'meta' record has no optimizer state")
    return meta


def load_checkpoint(
    path: Path, model: Any, optimizer: Any, total: int | None = None, accumulate: int = 1
) -> dict:
    """Restore parameters, gradients and optimizer state; return the loop position.

    Everything is checked before anything is changed: a refused checkpoint leaves the
    model and optimizer as they were."""
    r = _Reader(path)
    try:
        meta = _meta(r)
        step, micro = meta["position"]["step"], meta["position"]["micro"]
        if micro != step * accumulate:
            raise _bad(
                path,
                f"its position (step {step}, micro-batch {micro}) does not fit "
                f"loop.accumulate={accumulate}",
            )
        if total is not None and step > total:
            raise _bad(path, f"it is at step {step}, past this run's last step {total}")
        for key, mine in (("model", model), ("optimizer", optimizer)):
            if meta.get(key) != type(mine).__name__:
                raise _bad(
                    path, f"it was saved by {key} {meta.get(key)}, not {type(mine).__name__}"
                )
        params = dict(model.named_parameters())
        expected = {f"param/{n}" for n in params}
        present = {n for n in r.names if n.startswith("param/")}
        if present != expected:
            missing = sorted(n[6:] for n in expected - present)
            extra = sorted(n[6:] for n in present - expected)
            raise _bad(
                path,
                f"its parameters do not match the model (missing {missing}, unexpected {extra})",
            )
        values: dict[str, Any] = {}
        grads: dict[str, Any] = {}
        for name, p in params.items():
            dt = _np_dtype(p)
            values[name] = r.read(f"param/{name}", tuple(p.shape), dt)
            if f"grad/{name}" in r.names:
                grads[name] = r.read(f"grad/{name}", tuple(p.shape), dt)
        state = _optimizer_state(r, meta, list(params.values()))
        groups = meta["param_groups"]
        for g in groups:
            if not isinstance(g, dict):
                raise _bad(path, "a param group is not a record")
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
        snapshot = optimizer.state_dict()
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError, TypeError, IndexError) as e:
            optimizer.load_state_dict(snapshot)
            raise _bad(path, f"its optimizer state does not fit ({e})") from None
    finally:
        r.close()
    with no_grad():
        for name, p in params.items():
            p.copy_(tensor(values[name], device=p.device))
            g = grads.get(name)
            p.grad = None if g is None else tensor(g, device=p.device)
    return dict(meta["position"])


def _optimizer_state(r: _Reader, meta: dict, params: list) -> dict[int, dict]:
    state: dict[int, dict] = {}
    for idx, scalars in meta["state"].items():
        if not idx.isdigit() or int(idx) >= len(params) or not isinstance(scalars, dict):
            raise _bad(r.path, f"optimizer state {idx!r} names no parameter")
        for k, v in scalars.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _bad(r.path, f"optimizer state {idx}/{k} is not a number")
        step = scalars.get("step")
        if step is not None and (step < 0 or step != int(step)):
            raise _bad(r.path, f"optimizer state {idx}/step must be a whole number >= 0")
        state[int(idx)] = dict(scalars)
    for name in sorted(r.names):
        if not name.startswith("opt/"):
            continue
        _, idx, key = name.split("/", 2)
        if not idx.isdigit() or int(idx) >= len(params):
            raise _bad(r.path, f"optimizer state {name!r} names no parameter")
        p = params[int(idx)]
        state.setdefault(int(idx), {})[key] = tensor(r.read(name, tuple(p.shape), _np_dtype(p)))
    return state
