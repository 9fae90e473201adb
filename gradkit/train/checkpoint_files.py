"""Reading a checkpoint's two files with a clear answer when they are damaged.

Kept apart from ``checkpoint.py`` (which writes them) so that every problem —
a truncated or foreign ``checkpoint.npz``, an object array in it, an unreadable
or incomplete ``checkpoint.json`` — is one ``UserError`` naming the file, and no
message ever suggests loading pickles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError

__all__ = ["read_checkpoint"]

_WHAT_TO_DO = (
    "the checkpoint is damaged (or not gradkit's); resume from another run folder, or start "
    "again without resume="
)


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The description (``checkpoint.json``) and arrays (``checkpoint.npz``) of a checkpoint."""
    meta_path = path.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise UserError(f"{meta_path}: not readable JSON; {_WHAT_TO_DO}") from None
    missing = [
        k
        for k in ("state", "param_groups", "position")
        if not isinstance(meta, dict) or k not in meta
    ]
    if missing:
        raise UserError(f"{meta_path}: no {missing[0]!r} entry; {_WHAT_TO_DO}")
    with open(path, "rb") as f:
        magic = f.read(4)
    if not magic.startswith(b"PK"):
        raise UserError(f"{path}: not an .npz archive; {_WHAT_TO_DO}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception:  # BadZipFile, a truncated member, an object array, ...
        raise UserError(f"{path}: the archive is truncated or damaged; {_WHAT_TO_DO}") from None
    return meta, arrays
