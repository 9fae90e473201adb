"""Array backends: one object per concrete device, resolved once and shared.

An ``ArrayBackend`` holds a device's array namespace (``xp``, resolved through
``array-api-compat``), its native device object, the dtype maps, and what the
array API standard lacks: random numbers, host conversion, scatter-add and
the indexing forms the standard leaves out.  Every Tensor points to one; ops
take ``xp`` from their inputs' backend and never guess it from the arrays.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from . import numpy_fast, transfer
from .device import DeviceUnavailableError, device
from .dtypes import DTYPES, dtype
from .random import seed_epoch

__all__ = [
    "ArrayBackend",
    "get_backend",
    "backend_of_array",
    "cuda_is_available",
    "cuda_device_count",
]

_CUDA_INSTALL_HINT = (
    "install CuPy for your CUDA version with pip install 'gradkit[cuda12]' "
    "(CUDA 12) or pip install 'gradkit[cuda13]' (CUDA 13)"
)


def _is_int_array(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (int, float))


class ArrayBackend:
    """A device and its array namespace, following the array API standard only."""

    #: arrays live in host memory, so converting them to numpy is not a transfer
    is_host = False
    #: a dropped ``.grad``'s array may be kept and written by the next backward (its
    #: ops take ``out=``): numpy only, where a fresh 400 KB array page-faults each step
    reuses_grad_buffers = False

    def __init__(self, dev: device, xp: Any, native: Any) -> None:
        self.device = dev
        self.xp = xp
        self.native = native
        probe = xp.empty((0,), device=native)
        self.array_type = type(probe)
        self._to_native: dict[dtype, Any] = {}
        self._from_native: dict[Any, dtype] = {}
        for d in DTYPES.values():
            nd = getattr(xp, d.name)
            self._to_native[d] = nd
            self._from_native[xp.empty((0,), dtype=nd, device=native).dtype] = d
        self._rng = None
        self._rng_epoch: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device}>"

    # -- dtypes --
    def native_dtype(self, d: dtype) -> Any:
        return self._to_native[d]

    def dtype_of(self, arr: Any) -> dtype:
        try:
            return self._from_native[arr.dtype]
        except KeyError:
            raise TypeError(
                f"arrays of dtype {arr.dtype} are not supported; gradkit supports "
                f"{', '.join(DTYPES)}"
            ) from None

    def fix(self, out: Any) -> Any:
        """Turn a library's 0-d scalar result into a 0-d array (numpy returns scalars)."""
        return out

    # -- creation --
    def from_host(self, host: np.ndarray, d: dtype | None = None) -> Any:
        """Upload a numpy array (a transfer unless this device is the host)."""
        if not self.is_host:
            transfer.record("to_device")
        nd = self._to_native[d] if d is not None else None
        return self.xp.asarray(host, dtype=nd, device=self.native)

    def full(self, shape: tuple[int, ...], value: Any, d: dtype) -> Any:
        return self.xp.full(shape, value, dtype=self._to_native[d], device=self.native)

    def zeros(self, shape: tuple[int, ...], d: dtype) -> Any:
        return self.xp.zeros(shape, dtype=self._to_native[d], device=self.native)

    def ones(self, shape: tuple[int, ...], d: dtype) -> Any:
        return self.xp.ones(shape, dtype=self._to_native[d], device=self.native)

    def empty(self, shape: tuple[int, ...], d: dtype) -> Any:
        return self.xp.empty(shape, dtype=self._to_native[d], device=self.native)

    def arange(self, start: Any, stop: Any, step: Any, d: dtype) -> Any:
        return self.xp.arange(start, stop, step, dtype=self._to_native[d], device=self.native)

    def copy(self, arr: Any) -> Any:
        return self.xp.asarray(arr, copy=True)

    def write(self, dst: Any, values: list) -> None:
        """Copy host numbers into the device array ``dst`` (one upload off the host)."""
        if not self.is_host:
            transfer.record("to_device")
        dst[...] = self.xp.asarray(values, dtype=dst.dtype, device=self.native)

    # -- host conversion --
    def to_numpy(self, arr: Any) -> np.ndarray:
        """A host copy (or view, on the host) of ``arr`` as a numpy array."""
        if not self.is_host:
            transfer.record("to_host")
        return np.asarray(self._host_array(arr))

    def _host_array(self, arr: Any) -> Any:
        return arr

    def to_python(self, arr: Any) -> bool | int | float:
        """The single value of ``arr`` as a Python number (a device sync off the host)."""
        if not self.is_host:
            transfer.record("to_python")
        a = self.xp.reshape(arr, ())
        kind = self.dtype_of(a).kind
        if kind == 2:
            return float(a)
        if kind == 1:
            return int(a)
        return bool(a)

    # -- what the standard leaves out --
    def is_view(self, arr: Any) -> bool:
        """Whether ``arr`` may share memory with another array (conservative: True)."""
        return True

    def quiet_fp(self) -> Any:
        """A context in which overflow/invalid-value warnings are silenced (the training
        loop checks the loss itself and says what to do)."""
        return contextlib.nullcontext()

    def synchronize(self) -> None:
        """Wait for the device's queued work (for timings); a no-op on the host."""

    def getitem(self, arr: Any, index: tuple) -> Any:
        """``arr[index]`` with PyTorch/numpy semantics, in the forms the standard allows."""
        n_arrays = [i for i, k in enumerate(index) if _is_int_array(k)]
        bools = [i for i in n_arrays if self.dtype_of(index[i]).kind == 0]
        if bools:
            if len(index) != 1:
                raise IndexError(
                    f"on {self.device} a boolean mask must be the only index; got {len(index)} "
                    "indices"
                )
            return arr[index[0]]
        if not n_arrays:
            return arr[_pad_basic(index, arr.shape)]
        if len(index) == arr.ndim and all(isinstance(k, int) or _is_int_array(k) for k in index):
            return arr[index]
        if len(n_arrays) == 1:
            pos = n_arrays[0]
            rest = [k for i, k in enumerate(index) if i != pos]
            if all(isinstance(k, slice) and k == slice(None) for k in rest) and all(
                k is not Ellipsis for k in index[:pos]
            ):
                idx = index[pos]
                flat = self.xp.take(arr, self.xp.reshape(idx, (-1,)), axis=pos)
                shape = arr.shape[:pos] + tuple(idx.shape) + arr.shape[pos + 1 :]
                return self.xp.reshape(flat, shape)
        raise IndexError(
            f"this combination of integer-array and slice indices is not available on "
            f"{self.device}; index with integer arrays alone, or one integer array and ':'"
        )

    def setitem(self, arr: Any, index: tuple, value: Any) -> None:
        """``arr[index] = value`` in place (integer-array targets only where supported)."""
        if any(_is_int_array(k) and self.dtype_of(k).kind != 0 for k in index):
            raise IndexError(
                f"assignment through integer-array indices is not available on {self.device}; "
                "use a boolean mask or slices"
            )
        if len(index) == 1 and _is_int_array(index[0]):
            arr[index[0]] = value
        else:
            arr[_pad_basic(index, arr.shape)] = value

    def index_add(self, shape: tuple[int, ...], index: tuple, values: Any) -> Any:
        """Zeros of ``shape`` with ``values`` added at ``index``; repeated indices add up."""
        xp = self.xp
        n = math.prod(shape)
        lin = self.getitem(xp.reshape(self.arange(0, n, 1, DTYPES["int64"]), shape), index)
        lin = xp.reshape(lin, (-1,))
        v = xp.reshape(values, (-1,))
        onehot = xp.astype(
            xp.expand_dims(lin, axis=1) == xp.expand_dims(self.arange(0, n, 1, DTYPES["int64"]), 0),
            v.dtype,
        )
        return xp.reshape(xp.matmul(xp.expand_dims(v, 0), onehot), shape)

    # -- random numbers --
    def _generator(self) -> Any:
        epoch = seed_epoch()
        if self._rng is None or self._rng_epoch != epoch:
            self._rng = self._make_generator(epoch[0])
            self._rng_epoch = epoch
        return self._rng

    def _make_generator(self, seed: int) -> Any:
        return np.random.Generator(np.random.PCG64(seed))

    def standard_normal(self, shape: tuple[int, ...], d: dtype) -> Any:
        host = self._generator().standard_normal(size=shape, dtype=np.dtype(d.name))
        return self.from_host(host, d)

    def uniform(self, shape: tuple[int, ...], d: dtype, low: float = 0.0, high: float = 1.0) -> Any:
        host = self._generator().random(size=shape, dtype=np.dtype(d.name))
        if low != 0.0 or high != 1.0:
            host = host * (high - low) + low
        return self.from_host(host.astype(d.name, copy=False), d)

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> Any:
        host = self._generator().integers(low, high, size=shape, dtype=np.int64)
        return self.from_host(host, DTYPES["int64"])

    def permutation(self, n: int) -> Any:
        return self.from_host(self._generator().permutation(n).astype(np.int64), DTYPES["int64"])


def _pad_basic(index: tuple, shape: tuple) -> tuple:
    """A basic index in the form the standard specifies: slices clipped to their axis (as
    numpy and PyTorch clip them), and a trailing ``...`` when fewer axes are named."""
    ndim = len(shape)
    named = sum(1 for k in index if k is not None and k is not Ellipsis)
    out = []
    axis = 0
    for k in index:
        if k is Ellipsis:
            out.append(k)
            axis += ndim - named
        elif k is None:
            out.append(k)
        else:
            if isinstance(k, slice) and axis < ndim and (k.step or 1) > 0:
                k = slice(*k.indices(shape[axis]))
            out.append(k)
            axis += 1
    if not any(k is Ellipsis for k in out) and named < ndim:
        out.append(Ellipsis)
    return tuple(out)


def _numpy_quiet_fp() -> Any:
    """numpy's floating-point warnings off (inf and nan stay, as in PyTorch)."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


class NumpyBackend(ArrayBackend):
    """The cpu device: numpy 2, which follows the standard in its main namespace."""

    is_host = True
    reuses_grad_buffers = True

    def fix(self, out: Any) -> Any:
        return out if out.__class__ is np.ndarray else np.asarray(out)

    def copy(self, arr: Any) -> Any:
        return arr.copy()

    def write(self, dst: Any, values: list) -> None:
        dst[...] = values

    def to_python(self, arr: Any) -> bool | int | float:
        if arr.size != 1:
            raise RuntimeError(f"a Tensor with {arr.size} elements cannot be converted to Scalar")
        return arr.item()

    def is_view(self, arr: Any) -> bool:
        return arr.base is not None

    def quiet_fp(self) -> Any:
        return _numpy_quiet_fp()

    def getitem(self, arr: Any, index: tuple) -> Any:
        return arr[index]

    def setitem(self, arr: Any, index: tuple, value: Any) -> None:
        arr[index] = value

    def index_add(self, shape: tuple[int, ...], index: tuple, values: Any) -> Any:
        out = np.zeros(shape, dtype=values.dtype)
        np.add.at(out, index, values)
        return out


class CupyBackend(ArrayBackend):
    """A CUDA GPU through cupy (wrapped by array-api-compat), with cupy's fast paths."""

    def __init__(self, dev: device, cupy: Any) -> None:
        import array_api_compat.cupy as xp

        self._cupy = cupy
        with cupy.cuda.Device(dev.index):
            super().__init__(dev, xp, cupy.cuda.Device(dev.index))

    def fix(self, out: Any) -> Any:
        return out

    def write(self, dst: Any, values: list) -> None:
        transfer.record("to_device")
        dst.set(np.asarray(values, dtype=dst.dtype))

    def _host_array(self, arr: Any) -> Any:
        return self._cupy.asnumpy(arr)

    def synchronize(self) -> None:
        self._cupy.cuda.Device(self.device.index).synchronize()

    def is_view(self, arr: Any) -> bool:
        return arr.base is not None

    def getitem(self, arr: Any, index: tuple) -> Any:
        return arr[index]

    def setitem(self, arr: Any, index: tuple, value: Any) -> None:
        arr[index] = value

    def index_add(self, shape: tuple[int, ...], index: tuple, values: Any) -> Any:
        import cupyx

        with self._cupy.cuda.Device(self.device.index):
            out = self._cupy.zeros(shape, dtype=values.dtype)
            cupyx.scatter_add(out, index, values)
        return out

    def _make_generator(self, seed: int) -> Any:
        with self._cupy.cuda.Device(self.device.index):
            return self._cupy.random.RandomState(seed)

    def standard_normal(self, shape: tuple[int, ...], d: dtype) -> Any:
        with self._cupy.cuda.Device(self.device.index):
            return self._generator().standard_normal(size=shape, dtype=d.name)

    def uniform(self, shape: tuple[int, ...], d: dtype, low: float = 0.0, high: float = 1.0) -> Any:
        with self._cupy.cuda.Device(self.device.index):
            out = self._generator().random_sample(size=shape, dtype=d.name)
            if low != 0.0 or high != 1.0:
                out = out * (high - low) + low
            return out.astype(d.name, copy=False)

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> Any:
        with self._cupy.cuda.Device(self.device.index):
            return self._generator().randint(low, high, size=shape, dtype="int64")

    def permutation(self, n: int) -> Any:
        with self._cupy.cuda.Device(self.device.index):
            return self._generator().permutation(n).astype("int64")


class StrictBackend(ArrayBackend):
    """array-api-strict: only the standard, and a ``device1`` that stands in for a GPU."""

    _NAMES = ("CPU_DEVICE", "device1", "device2")

    def __init__(self, dev: device, xp: Any) -> None:
        self.is_host = dev.index == 0
        self._cpu = xp.Device("CPU_DEVICE")
        super().__init__(dev, xp, xp.Device(self._NAMES[dev.index]))

    def _host_array(self, arr: Any) -> Any:
        return arr.to_device(self._cpu)

    def quiet_fp(self) -> Any:
        return _numpy_quiet_fp()  # array-api-strict computes with numpy


_BACKENDS: dict[tuple[str, int | None], ArrayBackend] = {}


def _import_cupy() -> Any:
    if importlib.util.find_spec("cupy") is None:
        raise DeviceUnavailableError(
            f"device 'cuda' needs CuPy, which is not installed: {_CUDA_INSTALL_HINT}; "
            "or run on the CPU with device=cpu (device=auto picks cuda only when it works)"
        )
    import cupy

    return cupy


def _cuda_count(cupy: Any) -> tuple[int, str]:
    try:
        return int(cupy.cuda.runtime.getDeviceCount()), ""
    except Exception as e:  # cupy raises CUDARuntimeError or driver errors
        return 0, f"{type(e).__name__}: {e}"


def cuda_device_count() -> int:
    """Number of usable CUDA GPUs (0 when cupy is missing or no GPU works)."""
    if importlib.util.find_spec("cupy") is None:
        return 0
    try:
        import cupy
    except Exception:
        return 0
    return _cuda_count(cupy)[0]


def cuda_is_available() -> bool:
    """Whether ``device("cuda")`` can be used: cupy installed and at least one GPU usable."""
    return cuda_device_count() > 0


def _make_backend(kind: str, index: int | None) -> ArrayBackend:
    if kind == "cpu":
        xp = numpy_fast.namespace(array_namespace(np.empty(0), use_compat=False))
        return NumpyBackend(device("cpu"), xp, "cpu")
    if kind == "strict":
        try:
            import array_api_strict as xs
        except ImportError:  # pragma: no cover - a test-only device
            raise DeviceUnavailableError(
                "device 'strict' is the test stand-in for a GPU and needs array-api-strict: "
                "pip install -e '.[dev]'"
            ) from None
        index = 0 if index is None else index
        if index >= len(StrictBackend._NAMES):
            raise DeviceUnavailableError(f"strict has devices 0 to 2, not {index}")
        return StrictBackend(device("strict", index), xs)
    cupy = _import_cupy()
    count, why = _cuda_count(cupy)
    if count == 0:
        raise DeviceUnavailableError(
            "CuPy is installed but no usable CUDA GPU was found"
            + (f" ({why})" if why else "")
            + ": run on the CPU with device=cpu, or device=auto to use a GPU only when one works"
        )
    index = int(cupy.cuda.runtime.getDevice()) if index is None else index
    if index >= count:
        raise DeviceUnavailableError(
            f"cuda:{index} was asked for but this machine has {count} GPU(s): cuda:0 to "
            f"cuda:{count - 1}"
        )
    return CupyBackend(device("cuda", index), cupy)


def get_backend(dev: device | str | None) -> ArrayBackend:
    """The backend of a device (``None`` means the default device, cpu unless
    ``set_default_device`` said otherwise); made once, then cached."""
    if dev is None:
        dev = _DEFAULT_DEVICE[0]
    elif not isinstance(dev, device):
        dev = device(dev)
    key = (dev.type, dev.index)
    b = _BACKENDS.get(key)
    if b is None:
        b = _make_backend(dev.type, dev.index)
        _BACKENDS[key] = b
        _BACKENDS[(b.device.type, b.device.index)] = b
    return b


_CPU = device("cpu")
#: where creation functions (and so ``nn`` layers) put tensors given no ``device=``
_DEFAULT_DEVICE = [_CPU]


def set_default_device(dev: device | str | None) -> None:
    """Make ``dev`` the device of tensors created without ``device=`` (None: back to cpu)."""
    if dev is None:
        _DEFAULT_DEVICE[0] = _CPU
        return
    be = get_backend(dev)  # an unusable device fails here, not at the next creation
    _DEFAULT_DEVICE[0] = be.device


def get_default_device() -> device:
    """The device of tensors created without ``device=`` (cpu unless changed)."""
    return _DEFAULT_DEVICE[0]


def backend_of_array(arr: Any) -> ArrayBackend:
    """The backend that owns a foreign array (numpy, cupy or array-api-strict)."""
    if isinstance(arr, np.ndarray):
        return get_backend(_CPU)
    mod = type(arr).__module__.split(".")[0]
    if mod == "cupy":
        return get_backend(device("cuda", arr.device.id))
    if mod == "array_api_strict":
        name = str(arr.device).split("'")[1] if "'" in str(arr.device) else str(arr.device)
        return get_backend(device("strict", StrictBackend._NAMES.index(name)))
    xp = array_namespace(arr)
    raise TypeError(f"arrays of {xp.__name__} are not supported; use numpy or cupy arrays")
