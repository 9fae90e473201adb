"""Devices, dtypes, random numbers and host transfers: everything array-library specific.

Nothing above this layer imports numpy or cupy for array work; it asks a
Tensor's ``ArrayBackend`` (one per device) for its namespace ``xp``.
"""

from . import transfer
from .array_backend import (
    ArrayBackend,
    backend_of_array,
    cuda_device_count,
    cuda_is_available,
    get_backend,
    get_default_device,
    set_default_device,
)
from .device import DEVICE_TYPES, DeviceUnavailableError, device
from .dtypes import (
    DTYPES,
    as_dtype,
    dtype,
    get_default_dtype,
    set_default_dtype,
)
from .random import initial_seed, manual_seed

__all__ = [
    "ArrayBackend",
    "DEVICE_TYPES",
    "DTYPES",
    "DeviceUnavailableError",
    "as_dtype",
    "backend_of_array",
    "cuda_device_count",
    "cuda_is_available",
    "device",
    "dtype",
    "get_backend",
    "get_default_device",
    "get_default_dtype",
    "initial_seed",
    "manual_seed",
    "set_default_device",
    "set_default_dtype",
    "transfer",
]
