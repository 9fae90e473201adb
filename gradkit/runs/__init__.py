"""Trained runs as usable models: the model card (``model.json``)."""

from .card import CARD_NAME, ModelCard, read_model_card, write_model_card

__all__ = ["CARD_NAME", "ModelCard", "read_model_card", "write_model_card"]
