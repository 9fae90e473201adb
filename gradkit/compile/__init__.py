"""Captured training steps: ``compile_step(fn)`` records one step eagerly and replays it
as a flat Python program of the ops' own forward and backward calls (see ``step.py``)."""

from .step import CompiledStep, compile_step

__all__ = ["compile_step", "CompiledStep"]
