"""Binds the ops onto ``Tensor`` as methods and operators, in one place
(as DeZero's ``setup_variable`` does), so ``autograd/`` never imports ``ops/``."""

from __future__ import annotations

from typing import Any

from ..autograd.creation import full, ones, tensor, zeros
from ..autograd.legacy import TENSOR_TYPES
from ..autograd.tensor import Tensor
from ..backend import DTYPES
from . import activation as act
from . import conversion as conv
from . import elementwise as ew
from . import inplace as ip
from . import linalg as la
from . import reduction as red
from . import shape as sh

__all__ = ["install"]

_NUMBERS = (int, float, bool)


def _cmp(fn):
    def method(self: Tensor, other: Any) -> Any:
        if not isinstance(other, Tensor) and not isinstance(other, _NUMBERS):
            try:
                return fn(self, other)
            except TypeError:
                return NotImplemented
        return fn(self, other)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


def _rmatmul(self: Tensor, other: Tensor) -> Tensor:
    return la.matmul(other, self)


def _pos(self: Tensor) -> Tensor:
    return self


def _to_dtype(name: str):
    d = DTYPES[name]

    def method(self: Tensor) -> Tensor:
        return conv.to(self, dtype=d)

    method.__name__ = name
    method.__doc__ = f"``self`` as {name}."
    return method


def _type(self: Tensor, dtype: Any = None) -> Any:
    """The type name, or ``self`` cast to ``dtype``."""
    if dtype is None:
        names = {
            "float32": "FloatTensor",
            "float64": "DoubleTensor",
            "int64": "LongTensor",
            "int32": "IntTensor",
            "bool": "BoolTensor",
        }
        prefix = "gradkit.cuda." if self.device.type == "cuda" else "gradkit."
        return prefix + names[self.dtype.name]
    if isinstance(dtype, str):
        if dtype not in TENSOR_TYPES:
            raise ValueError(f"invalid type: {dtype!r}")
        dtype = TENSOR_TYPES[dtype]
    if isinstance(dtype, type) and dtype in TENSOR_TYPES.values():  # x.type(torch.LongTensor)
        dtype = dtype.dtype
    return conv.to(self, dtype=dtype)


def _where(self: Tensor, condition: Tensor, other: Any) -> Tensor:
    """``self`` where ``condition`` holds, else ``other``."""
    return ew.where(condition, self, other)


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return sh.reshape(self, tuple(other.shape))


def _new(kind: str):
    def method(
        self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        d = dtype or self.dtype
        dev = device or self.device
        if kind == "zeros":
            return zeros(*size, dtype=d, device=dev, requires_grad=requires_grad)
        return ones(*size, dtype=d, device=dev, requires_grad=requires_grad)

    method.__name__ = f"new_{kind}"
    return method


def _new_full(
    self: Tensor,
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return full(
        size,
        fill_value,
        dtype=dtype or self.dtype,
        device=device or self.device,
        requires_grad=requires_grad,
    )


def _new_tensor(
    self: Tensor, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return tensor(
        data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
    )


#: ops whose function is not a method (``where``'s method takes its arguments in another order)
_NOT_METHODS = {"cat", "concat", "stack", "rsub", "where"}

#: operators, in-place ops, conversions, and methods that have no function of their own or
#: whose method differs from it; every other function of a family is a method too (``_derived``)
_METHODS: dict[str, Any] = {
    # operators
    "__add__": ew.add,
    "__radd__": ew.add,
    "__sub__": ew.sub,
    "__rsub__": ew.rsub,
    "__mul__": ew.mul,
    "__rmul__": ew.mul,
    "__truediv__": ew.div,
    "__rtruediv__": ew.rdiv,
    "__pow__": ew.pow,
    "__rpow__": ew.rpow,
    "__matmul__": la.matmul,
    "__rmatmul__": _rmatmul,
    "__neg__": ew.neg,
    "__pos__": _pos,
    "__abs__": ew.abs,
    "__iadd__": ip.add_,
    "__isub__": ip.sub_,
    "__imul__": ip.mul_,
    "__itruediv__": ip.div_,
    "__eq__": _cmp(ew.eq),
    "__ne__": _cmp(ew.ne),
    "__lt__": ew.lt,
    "__le__": ew.le,
    "__gt__": ew.gt,
    "__ge__": ew.ge,
    "__and__": ew.logical_and,
    "__or__": ew.logical_or,
    "__xor__": ew.logical_xor,
    "__invert__": ew.logical_not,
    "__getitem__": sh.getitem,
    "__setitem__": ip.setitem,
    # methods only, or not as their function
    "where": _where,
    "masked_fill": ew.masked_fill,
    "view_as": _view_as,
    "reshape_as": _view_as,
    "expand_as": sh.expand_as,
    # copies and conversions
    "to": conv.to,
    "cpu": conv.cpu,
    "cuda": conv.cuda,
    "type_as": conv.type_as,
    "type": _type,
    "float": _to_dtype("float32"),
    "double": _to_dtype("float64"),
    "long": _to_dtype("int64"),
    "int": _to_dtype("int32"),
    "bool": _to_dtype("bool"),
    "new_zeros": _new("zeros"),
    "new_ones": _new("ones"),
    "new_full": _new_full,
    "new_tensor": _new_tensor,
    # in place
    "add_": ip.add_,
    "sub_": ip.sub_,
    "mul_": ip.mul_,
    "div_": ip.div_,
    "clamp_": ip.clamp_,
    "zero_": ip.zero_,
    "fill_": ip.fill_,
    "copy_": ip.copy_,
    "uniform_": ip.uniform_,
    "normal_": ip.normal_,
}


def _derived() -> dict[str, Any]:
    """Each family's functions as methods of the same name (``x.exp()`` is ``exp(x)``)."""
    methods = {}
    for family in (act, conv, ew, la, red, sh):
        for name in family.__all__:
            if name not in _NOT_METHODS:
                methods[name] = getattr(family, name)
    return methods


def install() -> None:
    """Attach every method and operator to ``Tensor`` (idempotent)."""
    for name, fn in {**_derived(), **_METHODS}.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(sh.T, doc="All dimensions reversed.")
    Tensor.mT = property(sh.mT, doc="The last two dimensions swapped.")
    Tensor.__hash__ = object.__hash__
