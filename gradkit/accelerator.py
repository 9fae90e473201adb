"""``gradkit.accelerator``: PyTorch's device-agnostic questions, answered for gradkit's one
accelerator, CUDA through cupy (``import gradkit`` still never imports cupy)."""

from __future__ import annotations

import importlib.util

from .backend import cuda_device_count, device

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "is_available",
    "synchronize",
]


def _built() -> bool:
    return importlib.util.find_spec("cupy") is not None


def is_available() -> bool:
    """True when a CUDA GPU is usable through cupy; never raises."""
    return cuda_device_count() > 0


def current_accelerator(check_available: bool = False) -> device | None:
    """``device("cuda")`` when cupy is installed (and, with ``check_available``, a GPU
    works), else None: gradkit knows no other accelerator."""
    if not _built() or (check_available and not is_available()):
        return None
    return device("cuda")


def device_count() -> int:
    """Number of usable GPUs (0 without cupy or a GPU)."""
    return cuda_device_count()


def current_device_index() -> int:
    """The index of the current GPU (0), or -1 when none is usable."""
    if not is_available():
        return -1
    import cupy

    return int(cupy.cuda.runtime.getDevice())


def synchronize(device: device | str | int | None = None) -> None:
    """Wait for the GPU's queued work (nothing to wait for without one)."""
    if is_available():
        import cupy

        cupy.cuda.Device(0 if device is None else _index(device)).synchronize()


def _index(dev: device | str | int) -> int:
    if isinstance(dev, int):
        return dev
    return device(dev).index or 0
