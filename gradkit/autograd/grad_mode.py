"""Grad mode: whether ops record a graph (``no_grad``, ``enable_grad``, ...).

Thread-local, as in PyTorch: a data-loading thread cannot switch off
recording in the training thread.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

F = TypeVar("F", bound=Callable[..., Any])


class _Mode(threading.local):
    enabled = True


MODE = _Mode()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are being recorded."""
    return MODE.enabled


class _GradModeContext:
    """Base of the grad-mode switches: a context manager and a decorator."""

    _target: bool

    def __enter__(self) -> None:
        self._prev = MODE.enabled
        MODE.enabled = self._target

    def __exit__(self, *exc: object) -> None:
        MODE.enabled = self._prev

    def __call__(self, fn: F) -> F:
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = MODE.enabled
            MODE.enabled = target
            try:
                return fn(*args, **kwargs)
            finally:
                MODE.enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Disable graph recording inside the block (or the decorated function)."""

    _target = False


class enable_grad(_GradModeContext):
    """Enable graph recording inside the block, even within ``no_grad``."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``: at once when called, and back on leaving a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self._target = bool(mode)
        self._prev = MODE.enabled
        MODE.enabled = self._target

    def __enter__(self) -> None:
        MODE.enabled = self._target

    def __exit__(self, *exc: object) -> None:
        MODE.enabled = self._prev
