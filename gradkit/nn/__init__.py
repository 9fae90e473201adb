"""Neural-network building blocks; ``functional`` holds the ops as functions."""

from . import functional

__all__ = ["functional"]
