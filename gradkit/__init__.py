"""gradkit: a define-by-run autograd engine on numpy (cpu) and cupy (cuda), with a
PyTorch-shaped API (``import gradkit as torch``) and a Hydra-driven training CLI.

The API is loaded on first attribute access, so ``gradkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

__all__ = ["__version__"]


def _load() -> dict[str, Any]:
    api = importlib.import_module("._api", __name__)
    names = {k: v for k, v in vars(api).items() if not k.startswith("_")}
    globals().update(names)
    return names


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    names = _load()
    if name in names:
        return names[name]
    raise AttributeError(f"module 'gradkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_load()))
