"""``gradkit.cuda``: whether CUDA GPUs are usable (through cupy), and how many."""

from __future__ import annotations

from .backend import cuda_device_count, cuda_is_available, manual_seed

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """True when cupy is installed and at least one GPU works; never raises."""
    return cuda_is_available()


def device_count() -> int:
    """Number of usable GPUs (0 without cupy or a GPU)."""
    return cuda_device_count()


def manual_seed_all(seed: int) -> None:
    """Seed every device's generator (same as ``gradkit.manual_seed``)."""
    manual_seed(seed)
