"""Shape ops: reshape/view, permute/transpose, (un)squeeze, flatten, expand, indexing,
cat and stack.  Their backward only moves gradients around: reshape back,
permute back, sum over expanded dims, or scatter into zeros for indexing."""

from __future__ import annotations

import math
from typing import Any

from ..autograd.function import Op, mixed_device_error
from ..autograd.shapes import expanded_shape
from ..autograd.tensor import Tensor
from ._util import promote, wrap_dim

__all__ = [
    "reshape",
    "view",
    "permute",
    "transpose",
    "t",
    "unsqueeze",
    "squeeze",
    "flatten",
    "expand",
    "broadcast_to",
    "cat",
    "concat",
    "stack",
]


# -- reshaping (backward: reshape back) --
class View(Op):
    node_name = "ViewBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, a, shape=None):
        ctx.in_shape = a.shape
        return ctx.xp.reshape(a, shape)

    @staticmethod
    def backward(ctx, g):
        return (ctx.xp.reshape(g, ctx.in_shape),)


class Unsqueeze(View):
    node_name = "UnsqueezeBackward0"


class Squeeze(View):
    node_name = "SqueezeBackward0"


class SqueezeDim(View):
    node_name = "SqueezeBackward1"


class SqueezeDims(View):
    node_name = "SqueezeBackward2"


def _infer_shape(shape: tuple, numel: int) -> tuple[int, ...]:
    """``shape`` with its -1 filled in, or PyTorch's error when it does not fit."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    infer = [i for i, s in enumerate(shape) if s == -1]
    if len(infer) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)} in {list(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if infer:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    return View.apply(input, shape=_infer_shape(shape, input.numel()))


view = reshape


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    shape = list(input._data.shape)
    d = wrap_dim(dim, len(shape) + 1)
    shape.insert(d, 1)
    return Unsqueeze.apply(input, shape=tuple(shape))


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove dimensions of size 1 (all, or those in ``dim`` that have size 1)."""
    shape = input._data.shape
    if dim is None:
        return Squeeze.apply(input, shape=tuple(s for s in shape if s != 1))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    drop = {wrap_dim(d, len(shape)) for d in dims}
    new = tuple(s for i, s in enumerate(shape) if not (i in drop and s == 1))
    cls = SqueezeDim if isinstance(dim, int) else SqueezeDims
    return cls.apply(input, shape=new)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` to ``end_dim`` into one."""
    shape = input._data.shape
    if not shape:
        return View.apply(input, shape=(1,))
    s, e = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    new = (*shape[:s], math.prod(shape[s : e + 1]), *shape[e + 1 :])
    return View.apply(input, shape=new)


# -- permutations (backward: permute back) --
class Permute(Op):
    node_name = "PermuteBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, a, dims=None):
        ctx.dims = dims
        return ctx.xp.permute_dims(a, dims)

    @staticmethod
    def backward(ctx, g):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return (ctx.xp.permute_dims(g, tuple(inv)),)


class Transpose(Permute):
    node_name = "TransposeBackward0"


class MatrixTranspose(Permute):
    """``t()``: the two dimensions of a matrix swapped (PyTorch names its node TBackward0)."""

    node_name = "TBackward0"


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder the dimensions."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    n = input.ndim
    ds = tuple(wrap_dim(d, n) for d in dims)
    if sorted(ds) != list(range(n)):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
            f"len(dims) = {len(dims)}"
            if len(ds) != n
            else f"permute: repeated dim in {list(dims)}"
        )
    return Permute.apply(input, dims=ds)


def _swap(n: int, d0: int, d1: int) -> tuple[int, ...]:
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return tuple(dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    n = input.ndim
    if n == 0:
        return View.apply(input, shape=())
    return Transpose.apply(input, dims=_swap(n, wrap_dim(dim0, n), wrap_dim(dim1, n)))


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    n = input.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    if n < 2:
        return View.apply(input, shape=input._data.shape)
    return MatrixTranspose.apply(input, dims=(1, 0))


def T(input: Tensor) -> Tensor:
    """All dimensions reversed (``x.T``)."""
    n = input.ndim
    if n < 2:
        return input
    return Permute.apply(input, dims=tuple(range(n - 1, -1, -1)))


def mT(input: Tensor) -> Tensor:
    """The last two dimensions swapped (``x.mT``)."""
    n = input.ndim
    if n < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices")
    return Transpose.apply(input, dims=_swap(n, n - 2, n - 1))


# -- broadcasting (backward: sum over the expanded dims) --
class Expand(Op):
    node_name = "ExpandBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, a, shape=None):
        return ctx.xp.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return (g,)  # the engine sums it back over the expanded dims


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """A broadcast view of size ``sizes`` (-1 keeps a dimension)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    out = expanded_shape(input._data.shape, sizes)
    return Expand.apply(input, shape=out)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.shape)``."""
    return expand(input, tuple(other.shape))


def broadcast_to(input: Tensor, shape: Any) -> Tensor:
    """``input.expand(shape)``."""
    return expand(input, tuple(shape))


# -- indexing (backward: scatter into zeros) --
class Index(Op):
    """Advanced indexing (integer or boolean arrays)."""

    node_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, a, index=None, be=None, scatter=False):
        ctx.shape, ctx.be, ctx.scatter = a.shape, be, scatter
        ctx.saved = (index,)
        return be.getitem(a, index)

    @staticmethod
    def backward(ctx, g):
        be = ctx.be
        (index,) = ctx.saved
        if ctx.scatter:
            return (be.index_add(ctx.shape, index, g),)
        z = be.xp.zeros(ctx.shape, dtype=g.dtype, device=be.native)
        be.setitem(z, index, g)
        return (z,)


class Slice(Op):
    """Basic indexing (ints, slices, None, ...): a view of the input."""

    node_name = "SliceBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, a, index=None, be=None):
        ctx.shape, ctx.be, ctx.index = a.shape, be, index
        return be.getitem(a, index)

    @staticmethod
    def backward(ctx, g):
        be, index = ctx.be, ctx.index
        if any(k is None for k in index):
            g, index = _drop_new_axes(be.xp, g, index, len(ctx.shape))
        z = be.xp.zeros(ctx.shape, dtype=g.dtype, device=be.native)
        be.setitem(z, index, g)
        return (z,)


def _drop_new_axes(xp, g, index: tuple, ndim: int):
    """Remove the size-1 axes that ``None`` entries added (not every namespace can
    assign through ``None``), and the ``None`` entries themselves."""
    named = sum(1 for k in index if k is not None and k is not Ellipsis)
    drop = []
    pos = 0
    for k in index:
        if k is None:
            drop.append(pos)
            pos += 1
        elif k is Ellipsis:
            pos += ndim - named
        elif isinstance(k, slice):
            pos += 1
    shape = tuple(s for i, s in enumerate(g.shape) if i not in drop)
    return xp.reshape(g, shape), tuple(k for k in index if k is not None)


class Select(Slice):
    node_name = "SelectBackward0"


class UnsqueezeIndex(Slice):
    node_name = "UnsqueezeBackward0"


def normalize_index(t: Tensor, index: Any) -> tuple[tuple, bool, bool]:
    """An index as a tuple of ints, slices, None, ... and arrays on ``t``'s device; also
    whether it is advanced, and whether it has integer arrays (repeats must add up)."""
    from ..autograd.creation import tensor as _tensor

    be = t._be
    if not isinstance(index, tuple):
        index = (index,)
    out: list[Any] = []
    advanced = ints = False
    for k in index:
        if isinstance(k, (list,)) or (hasattr(k, "__array__") and not isinstance(k, Tensor)):
            k = _tensor(k, device=be.device)
        if isinstance(k, Tensor):
            if k._be is not be:
                raise mixed_device_error("indexing", (t, k))
            kind = k.dtype.kind
            if kind == 2:
                raise IndexError(
                    f"tensors used as indices must be long, int or bool tensors, got {k.dtype}"
                )
            advanced = True
            ints = ints or kind == 1
            out.append(k._data)
        elif isinstance(k, bool):
            raise IndexError("indexing with a Python bool is not supported; use a bool tensor")
        elif isinstance(k, slice):
            out.append(
                slice(*(None if v is None else v.__index__() for v in (k.start, k.stop, k.step)))
            )
        elif k is None or k is Ellipsis:
            out.append(k)
        else:
            try:
                out.append(k.__index__())
            except (AttributeError, TypeError):
                raise IndexError(
                    f"only integers, slices (:), ellipsis (...), None and long or bool tensors "
                    f"are valid indices (got {type(k).__name__})"
                ) from None
    return tuple(out), advanced, ints


def _check_bounds(t: Tensor, index: tuple) -> None:
    """Python ints and slices steps checked on the host, as numpy would, with PyTorch's words."""
    dim = 0
    shape = t._data.shape
    xp_bool = t._be.xp.bool

    def used(k: Any) -> int:  # dims an index consumes: a bool mask all of its own
        return 0 if k is None or k is Ellipsis else k.ndim if _is_mask(k, xp_bool) else 1

    n_named = sum(used(k) for k in index)
    for k in index:
        if k is Ellipsis:
            dim += len(shape) - n_named
            continue
        if k is None:
            continue
        n = used(k)
        if not shape and isinstance(k, int) and not isinstance(k, bool):
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        if dim + n > len(shape):
            raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
        if isinstance(k, int) and not -shape[dim] <= k < shape[dim]:
            raise IndexError(
                f"index {k} is out of bounds for dimension {dim} with size {shape[dim]}"
            )
        if isinstance(k, slice) and k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")
        dim += n


def _is_mask(k: Any, xp_bool: Any) -> bool:
    return hasattr(k, "ndim") and k.dtype == xp_bool


def split_ints(index: tuple, xp_bool: Any) -> tuple[tuple, tuple] | None:
    """PyTorch applies Python-int indices before array indices (``x[0, :, [1, 2]]`` is
    ``x[0][:, [1, 2]]``); numpy counts the int as one more array index and, when the two
    are apart, moves the indexed dims first.  For an index with both: (the ints, with
    full slices elsewhere; the rest without them), to apply one after the other."""
    if not any(k.__class__ is int for k in index) or not any(hasattr(k, "shape") for k in index):
        return None
    first: list = []
    rest: list = []
    for k in index:
        if k.__class__ is int:
            first.append(k)
        elif k is None:
            rest.append(k)
        elif k is Ellipsis:
            first.append(k)
            rest.append(k)
        else:  # a slice, or an array spanning one dim (a bool mask: its ndim)
            n = k.ndim if _is_mask(k, xp_bool) else 1
            first.extend([slice(None)] * n)
            rest.append(k)
    return tuple(first), tuple(rest)


def get_index(be: Any, arr: Any, index: tuple) -> Any:
    """``arr[index]`` with PyTorch's order for ints mixed with arrays."""
    split = split_ints(index, be.xp.bool)
    if split is None:
        return be.getitem(arr, index)
    return be.getitem(be.getitem(arr, split[0]), split[1])


def set_index(be: Any, arr: Any, index: tuple, value: Any) -> None:
    """``arr[index] = value`` with PyTorch's order for ints mixed with arrays (the ints
    select a view first, the rest is written through it)."""
    split = split_ints(index, be.xp.bool)
    if split is None:
        be.setitem(arr, index, value)
    else:
        be.setitem(be.getitem(arr, split[0]), split[1], value)


def getitem(input: Tensor, index: Any) -> Tensor:
    """``input[index]`` with gradients: ints, slices, None, ..., bool masks, integer arrays."""
    idx, advanced, ints = normalize_index(input, index)
    _check_bounds(input, idx)
    be = input._be
    split = split_ints(idx, be.xp.bool) if advanced else None
    if split is not None:  # ints first, as PyTorch: a view, then the array indices
        view = Select.apply(input, index=split[0], be=be)
        return Index.apply(view, index=split[1], be=be, scatter=ints)
    if advanced:
        return Index.apply(input, index=idx, be=be, scatter=ints)
    last = next((k for k in reversed(idx) if k is not Ellipsis and k != slice(None)), Ellipsis)
    cls = Select if isinstance(last, int) else UnsqueezeIndex if last is None else Slice
    return cls.apply(input, index=idx, be=be)


# -- joining (backward: slice the gradient apart) --
def _promote_all(xp, arrays):
    out = list(arrays)
    for i in range(1, len(out)):
        if out[i].dtype != out[0].dtype:
            a, b = promote(xp, out[0], out[i])
            if a.dtype != out[0].dtype:
                out = [xp.astype(x, a.dtype) for x in out]
            else:
                out[i] = b
    return out


class Cat(Op):
    node_name = "CatBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        xp = ctx.xp
        arrays = _promote_all(xp, arrays)
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        return xp.concat(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        out = []
        start = 0
        lead = (slice(None),) * ctx.dim
        for n in ctx.sizes:
            out.append(g[(*lead, slice(start, start + n), Ellipsis)])
            start += n
        return tuple(out)


class Stack(Op):
    node_name = "StackBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        xp = ctx.xp
        arrays = _promote_all(xp, arrays)
        ctx.dim = dim
        ctx.count = len(arrays)
        return xp.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        return tuple(g[(*lead, i, Ellipsis)] for i in range(ctx.count))


def _tensors(tensors: Any, what: str) -> tuple[Tensor, ...]:
    ts = tuple(tensors)
    if not ts:
        raise RuntimeError(f"{what}(): expected a non-empty list of Tensors")
    for x in ts:
        if not isinstance(x, Tensor):
            raise TypeError(f"{what}(): expected a sequence of Tensors, got {type(x).__name__}")
    return ts


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    ts = _tensors(tensors, "cat")
    d = wrap_dim(dim, ts[0].ndim)
    ref = ts[0]._data.shape
    for i, x in enumerate(ts):
        s = x._data.shape
        if len(s) != len(ref) or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(ref)} but got size {list(s)} for tensor number {i} in the list."
            )
    return Cat.apply(*ts, dim=d)


concat = cat


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    ts = _tensors(tensors, "stack")
    ref = ts[0]._data.shape
    for i, x in enumerate(ts):
        if x._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                f"{list(x._data.shape)} at entry {i}"
            )
    return Stack.apply(*ts, dim=wrap_dim(dim, len(ref) + 1))
