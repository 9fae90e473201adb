"""``gradkit.backends``: the answers tutorials ask of ``torch.backends``, truthful for
gradkit (cpu through numpy, CUDA through cupy, no MPS, no cuDNN)."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

from .backend import cuda_device_count

__all__ = ["cpu", "cuda", "cudnn", "mps"]


def _false() -> bool:
    return False


def _cupy_installed() -> bool:
    return importlib.util.find_spec("cupy") is not None


#: Apple GPUs: gradkit has no MPS backend
mps = SimpleNamespace(is_available=_false, is_built=_false)
#: CUDA through cupy: "built" when cupy is installed
cuda = SimpleNamespace(is_built=_cupy_installed, is_available=lambda: cuda_device_count() > 0)
#: gradkit calls no cuDNN; ``benchmark`` and ``deterministic`` may be set, and change nothing
cudnn = SimpleNamespace(
    is_available=_false, enabled=False, benchmark=False, deterministic=False, version=lambda: None
)
cpu = SimpleNamespace(get_cpu_capability=lambda: "DEFAULT")
