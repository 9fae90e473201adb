"""Trained runs as usable models: the model card (``model.json``), ``load_run``, inputs,
scores, the own validation split, and the ONNX export; and past runs read from their
folders (``listing``, ``curves``: what ``gradkit runs`` and ``gradkit plot`` show).

The names below load on first use, so ``gradkit runs`` imports no numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CARD_NAME",
    "LoadedRun",
    "ModelCard",
    "load_run",
    "read_model_card",
    "write_model_card",
]

_WHERE = {
    "CARD_NAME": ".card",
    "ModelCard": ".card",
    "read_model_card": ".card",
    "write_model_card": ".card",
    "LoadedRun": ".loaded",
    "load_run": ".loaded",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gradkit.runs' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
