"""PyTorch's legacy spellings that tutorials still use: ``autograd.Variable`` (since
PyTorch 0.4 a function returning a Tensor) and the typed constructors
``FloatTensor``, ``DoubleTensor``, ``LongTensor``, ``IntTensor``, ``BoolTensor``."""

from __future__ import annotations

import warnings
from typing import Any

from ..backend import DTYPES
from .creation import empty, tensor
from .tensor import Size, Tensor

__all__ = [
    "Variable",
    "FloatTensor",
    "DoubleTensor",
    "LongTensor",
    "IntTensor",
    "BoolTensor",
    "TENSOR_TYPES",
]


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor)  # every Tensor is a Variable, as in PyTorch


class Variable(metaclass=_VariableMeta):
    """``Variable(t, requires_grad=False)``: ``t`` as a new Tensor sharing its storage, as
    PyTorch >= 0.4 does; ``volatile`` has no effect (use ``no_grad()``)."""

    def __new__(  # type: ignore[misc]
        cls, data: Any = None, requires_grad: bool = False, volatile: bool = False
    ) -> Tensor:
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                UserWarning,
                stacklevel=2,
            )
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


class _TensorTypeMeta(type):
    """``isinstance(x, FloatTensor)`` is a dtype (and cpu) test; calling the type makes a
    tensor: ``FloatTensor(2, 3)`` of that shape, ``FloatTensor([1, 2])`` of that data."""

    dtype_name: str

    def __instancecheck__(cls, obj: Any) -> bool:
        return (
            isinstance(obj, Tensor)
            and obj.dtype.name == cls.dtype_name
            and obj.device.type == "cpu"
        )

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[override]
        dt = DTYPES[cls.dtype_name]
        if not args:
            return empty(0, dtype=dt, device=device)
        if len(args) == 1 and isinstance(args[0], Size):
            return empty(*args[0], dtype=dt, device=device)
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            return empty(*args, dtype=dt, device=device)
        if len(args) == 1:
            data = args[0]
            if isinstance(data, Tensor):
                if data.dtype is not dt:
                    raise TypeError(
                        f"expected {cls.__name__} (got {data.type()}); convert it first with "
                        f".to({dt})"
                    )
                return data
            return tensor(data, dtype=dt, device=device)
        raise TypeError(
            f"{cls.__name__}() takes sizes (ints) or one sequence of data, got "
            f"{', '.join(type(a).__name__ for a in args)}"
        )

    def __repr__(cls) -> str:
        return f"<class 'gradkit.{cls.__name__}'>"


def _tensor_type(name: str, dtype_name: str) -> type:
    return _TensorTypeMeta(
        name,
        (),
        {
            "dtype_name": dtype_name,
            "dtype": DTYPES[dtype_name],
            "__doc__": f"The legacy constructor and type test of cpu {dtype_name} tensors.",
            "__module__": "gradkit",
        },
    )


FloatTensor = _tensor_type("FloatTensor", "float32")
DoubleTensor = _tensor_type("DoubleTensor", "float64")
LongTensor = _tensor_type("LongTensor", "int64")
IntTensor = _tensor_type("IntTensor", "int32")
BoolTensor = _tensor_type("BoolTensor", "bool")

#: "gradkit.FloatTensor" / "torch.FloatTensor" (what ``x.type()`` says) -> the type
TENSOR_TYPES = {
    f"{prefix}.{t.__name__}": t
    for t in (FloatTensor, DoubleTensor, LongTensor, IntTensor, BoolTensor)
    for prefix in ("gradkit", "torch")
}
