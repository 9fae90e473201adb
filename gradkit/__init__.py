"""gradkit: a define-by-run autograd engine on numpy (cpu) and cupy (cuda), with a
PyTorch-shaped API (``import gradkit as torch``) and a Hydra-driven training CLI.

The API is loaded on first attribute access, so ``gradkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

__all__ = ["__version__"]


_API: dict[str, Any] = {}


def _load() -> dict[str, Any]:
    """The public API, imported and copied into this module once: later lookups (even
    failed ones, as ``hasattr`` makes) never copy again, so a user's monkeypatch of
    ``gradkit.randn`` stays."""
    if not _API:
        api = importlib.import_module("._api", __name__)
        names = {k: v for k, v in vars(api).items() if not k.startswith("_")}
        for k, v in names.items():
            globals().setdefault(k, v)
        _API.update(names)
    return _API


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    if not _API:
        _load()
        if name in globals():
            return globals()[name]
    raise AttributeError(f"module 'gradkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_load()))
