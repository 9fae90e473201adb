"""Test helpers: the array backends every engine test runs on.

As scikit-learn's ``yield_namespace_device_dtype_combinations`` does, the engine
suite is parametrized over numpy (float64), array-api-strict on its CPU device
(float64), array-api-strict on ``device1`` (float32: the stand-in for a GPU,
which refuses cross-device mixing, numpy arrays and non-standard methods) and
cupy (float32, marked ``gpu``, skipped unless a GPU is usable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import gradkit

try:
    import array_api_strict

    array_api_strict.set_array_api_strict_flags(api_version="2024.12")
except ImportError:  # pragma: no cover - part of the dev extra
    array_api_strict = None


@dataclass(frozen=True)
class Backend:
    """One (device, dtype) combination the suite runs on."""

    device: str
    dtype: gradkit.dtype
    #: finite-difference gradcheck is meaningful (float64, host)
    fd: bool

    def __str__(self) -> str:
        return f"{self.device}-{self.dtype.name}"

    def t(self, data, requires_grad: bool = False, dtype=None) -> gradkit.Tensor:
        """A tensor of ``data`` on this backend, in its float dtype unless ``dtype`` is given."""
        arr = np.asarray(data)
        if dtype is None and arr.dtype.kind == "f":
            dtype = self.dtype
        return gradkit.tensor(arr, dtype=dtype, device=self.device, requires_grad=requires_grad)

    @property
    def tol(self) -> float:
        return 1e-10 if self.dtype is gradkit.float64 else 2e-4


def _backends() -> list:
    params = [pytest.param(Backend("cpu", gradkit.float64, True), id="numpy-float64")]
    if array_api_strict is not None:
        params.append(pytest.param(Backend("strict:0", gradkit.float64, True), id="strict-cpu-f64"))
        params.append(
            pytest.param(Backend("strict:1", gradkit.float32, False), id="strict-device1-f32")
        )
    params.append(
        pytest.param(
            Backend("cuda", gradkit.float32, False),
            id="cupy-float32",
            marks=[
                pytest.mark.gpu,
                pytest.mark.skipif(
                    not gradkit.cuda.is_available(),
                    reason="cupy or a usable CUDA GPU is missing",
                ),
            ],
        )
    )
    return params


BACKENDS = _backends()
#: float64 host backends, where finite differences are meaningful
FD_BACKENDS = [p for p in BACKENDS if p.values[0].fd]
#: float32 device backends (the GPU stand-in and cupy), checked against float64 results
DEVICE_BACKENDS = [p for p in BACKENDS if not p.values[0].fd]


def host(t: gradkit.Tensor) -> np.ndarray:
    """A tensor's values as a float64 numpy array (test-side helper)."""
    return np.asarray(t.detach().numpy(force=True), dtype=np.float64)
