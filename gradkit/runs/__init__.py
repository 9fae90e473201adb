"""Trained runs as usable models: the model card (``model.json``), ``load_run``, inputs,
scores, the own validation split, and the ONNX export."""

from .card import CARD_NAME, ModelCard, read_model_card, write_model_card
from .loaded import LoadedRun, load_run

__all__ = [
    "CARD_NAME",
    "LoadedRun",
    "ModelCard",
    "load_run",
    "read_model_card",
    "write_model_card",
]
