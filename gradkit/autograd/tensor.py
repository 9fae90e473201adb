"""``gradkit.Tensor``: an array of one backend, plus its place in the graph.

The class holds state and the methods that are not ops (``backward``,
``detach``, ``item``, ...).  Operator methods (``x + y``, ``x.mm(w)``) are
bound onto it in one place, ``gradkit/ops/tensor_methods.py``, so this layer
never imports the ops.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from typing import Any

from ..backend import ArrayBackend, device, dtype, get_backend
from .node import VersionCounter

__all__ = ["Tensor", "Size", "new_tensor"]


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``gradkit.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"gradkit.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    """A multi-dimensional array that can record the operations made on it.

    ``requires_grad=True`` leaves collect gradients in ``.grad`` when
    ``backward()`` is called on a result computed from them.
    """

    # Defaults at class level: an op's output sets only ``_data`` and ``_be``.
    grad_fn: Any = None
    _rg = False
    _grad: Tensor | None = None
    _output_nr = 0
    _vc: VersionCounter | None = None
    _base: Tensor | None = None
    _acc: Any = None
    _retains_grad = False
    #: the array of the last ``.grad`` set to None that nothing else held: the next
    #: backward writes this leaf's new gradient into it (see ``_drop_grad``)
    _spare: Any = None
    # numpy defers to Tensor's reflected operators (np.float32(2) * t -> Tensor)
    __array_ufunc__ = None
    __hash__ = object.__hash__

    def __init__(self, data: Any = None, *, device: Any = None) -> None:
        from ..backend import get_default_dtype
        from .creation import tensor as _tensor

        src = _tensor([] if data is None else data, dtype=get_default_dtype(), device=device)
        self._data = src._data
        self._be = src._be

    # -- identity and metadata --
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Size | int:
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    def nelement(self) -> int:
        return self.numel()

    @property
    def dtype(self) -> dtype:
        return self._be.dtype_of(self._data)

    @property
    def device(self) -> device:
        return self._be.device

    @property
    def is_cuda(self) -> bool:
        return self._be.device.type == "cuda"

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def element_size(self) -> int:
        return self.dtype.itemsize

    def contiguous(self) -> Tensor:
        return self

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc.value

    def _get_vc(self) -> VersionCounter:
        vc = self._vc
        if vc is None:
            vc = self._vc = VersionCounter()
        return vc

    def _bump_version(self) -> None:
        self._get_vc().value += 1

    # -- autograd state --
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self.grad_fn is not None:
            if value:
                return
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value and not self.dtype.is_floating_point:
            raise RuntimeError(
                f"Only Tensors of floating point dtype can require gradients (this one is "
                f"{self.dtype}); convert it first, e.g. x.float()"
            )
        self._rg = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        if self.grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed "
                "want the gradient for a non-leaf Tensor, use .retain_grad() on the non-leaf "
                "Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad must be a Tensor or None, got {type(value).__name__}"
                )
            if value._be is not self._be:
                raise RuntimeError(
                    f"assigned grad has data located on {value.device}, different from the "
                    f"tensor's {self.device}"
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {list(value._data.shape)} for a "
                    f"tensor of size {list(self._data.shape)}"
                )
            self._grad = value
            return
        self._drop_grad()

    def _drop_grad(self) -> None:
        """``.grad = None``, keeping the array for the next backward when nothing else holds
        the gradient or its array (numpy only).  A fresh 400 KB gradient each step is
        unmapped and page-faulted in again by glibc's malloc (~60% of a small MLP's step);
        PyTorch's semantics are kept: ``.grad`` is None until backward writes a new one."""
        g = self._grad
        if g is None:
            return
        self._grad = None
        # held by nobody else: as many references as _ALONE counted for lone objects
        if self._be.reuses_grad_buffers and sys.getrefcount(g) == _ALONE[0] and g._base is None:
            arr = g._data
            if sys.getrefcount(arr) == _ALONE[1] and arr.base is None and arr.flags.c_contiguous:
                self._spare = arr

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf tensor in ``.grad`` during backward."""
        if self.grad_fn is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = []
        node._retained.append((self._output_nr, weakref.ref(self)))
        self._retains_grad = True

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``autograd.backward``)."""
        _engine.backward(self, gradient, retain_graph, create_graph, inputs)

    @property
    def data(self) -> Tensor:
        """The same storage, with no history and no ``requires_grad``."""
        return new_tensor(self._data, self._be)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._be = value._be

    def detach(self) -> Tensor:
        """A tensor sharing storage (and version counter) with self, out of the graph."""
        t = new_tensor(self._data, self._be)
        t._vc = self._get_vc()
        return t

    def detach_(self) -> Tensor:
        """Remove self from the graph, in place."""
        if self._base is not None and self._base._rg:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead, or clone() then detach_()"
            )
        self.grad_fn = None
        self._rg = False
        self._output_nr = 0
        return self

    # -- to the host --
    def item(self) -> bool | int | float:
        """The single value as a Python number (the only way back to the host besides
        ``tolist()`` and ``numpy()``)."""
        n = self.numel()
        if n != 1:
            raise RuntimeError(
                f"a Tensor with {n} elements cannot be converted to Scalar; index it first "
                "(x[0].item()) or reduce it (x.sum().item())"
            )
        return self._be.to_python(self._data)

    def tolist(self) -> Any:
        """Nested Python lists of the values (a host copy)."""
        return self._be.to_numpy(self._data).tolist()

    def numpy(self, *, force: bool = False) -> Any:
        """The values as a numpy array sharing memory (cpu tensors only, like PyTorch)."""
        if self._rg and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if self._be.device.type != "cpu":
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first."
                )
            return self._be.to_numpy(self._data)
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        a = self.numpy()
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a.copy() if copy else a

    # -- Python protocol --
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (it has "
                f"{self.numel()}); use .any() or .all()"
            )
        return bool(self._be.to_python(self._data))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        from .printing import format_tensor

        return format_tensor(self)

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment; detach() it first"
            )
        t = type(self).__new__(type(self))
        t._data = self._be.copy(self._data)
        t._be = self._be
        t._rg = self._rg
        if self._grad is not None:
            t._grad = new_tensor(self._be.copy(self._grad._data), self._be)
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, protocol: int):
        if self.grad_fn is not None:
            raise RuntimeError("can't pickle a non-leaf tensor; detach() it first")
        return (
            _rebuild,
            (type(self), self._be.to_numpy(self._data), str(self._be.device), self._rg),
        )


def _rebuild(cls: type, host: Any, dev: str, requires_grad: bool) -> Tensor:
    be = get_backend(dev)
    t = cls.__new__(cls)
    t._data = be.from_host(host)
    t._be = be
    t._rg = requires_grad
    return t


_new = object.__new__


class _Engine:
    """Set by ``engine.py`` when it loads (it imports this module, not the reverse)."""

    backward: Any = None


_engine = _Engine()


def _count_alone() -> tuple[int, int]:
    """The reference counts ``_drop_grad`` sees for a gradient and its array that nothing
    else holds, counted once with the same code shape (how locals and arguments count
    differs between Python versions; any other holder adds one)."""

    class Probe:
        _grad: Any = None

    class Inner:
        _data: Any = None

    probe = Probe()
    probe._grad = Inner()
    probe._grad._data = bytearray(1)
    g = probe._grad
    probe._grad = None
    n_g = sys.getrefcount(g)
    arr = g._data
    n_arr = sys.getrefcount(arr)
    return n_g, n_arr


_ALONE = _count_alone()


def new_tensor(data: Any, be: ArrayBackend) -> Tensor:
    """Wrap an array of backend ``be`` (no copy, no history)."""
    t = _new(Tensor)
    t._data = data
    t._be = be
    return t


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim
