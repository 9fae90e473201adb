"""In-place ops: ``add_ sub_ mul_ div_ clamp_ zero_ fill_ copy_``, ``+= -= *= /=``,
item assignment, and the random fills ``uniform_`` / ``normal_``.

Outside recording (``no_grad``, or no tensor involved requires grad) they write
straight into the storage.  When recording, PyTorch's rules hold: on a leaf
that requires grad they raise; on a non-leaf the op joins the graph and the
tensor's ``grad_fn`` moves to it.  Every write bumps the version counter, so
a node that saved the old values notices at backward.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Op, bind_output, keep_own_copy, make_node, mixed_device_error
from ..autograd.grad_mode import MODE
from ..autograd.shapes import broadcast_error, expanded_shape, sum_to
from ..autograd.tensor import Tensor
from . import elementwise as ew
from ._util import as_operand
from .shape import _check_bounds, get_index, normalize_index, set_index

__all__ = [
    "add_",
    "sub_",
    "mul_",
    "div_",
    "clamp_",
    "zero_",
    "fill_",
    "copy_",
    "setitem",
    "uniform_",
    "normal_",
]


def check_inplace(t: Tensor) -> None:
    """Refuse what PyTorch refuses: in-place on a leaf (or a view of one) that requires grad."""
    if t.grad_fn is None and t._rg:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. Update "
            "parameters inside `with gradkit.no_grad():` (as optimizer.step() does), or work on "
            "a copy (x.clone())."
        )
    base = t._base
    if base is not None and base._rg:
        what = "a leaf Variable" if base.grad_fn is None else "a tensor"
        raise RuntimeError(
            f"a view of {what} that requires grad is being used in an in-place operation; "
            "gradkit does not record in-place changes through views: clone() the view first, "
            "or change the tensor itself"
        )


def _recording(t: Tensor, other: Any = None) -> bool:
    return MODE.enabled and (t._rg or (isinstance(other, Tensor) and other._rg))


def _commit(t: Tensor, out: Tensor) -> Tensor:
    """Write the recorded result ``out`` into ``t``'s storage; ``t`` takes its graph place."""
    if out._data.shape != t._data.shape:
        raise RuntimeError(
            f"output with shape {list(t._data.shape)} doesn't match the broadcast shape "
            f"{list(out._data.shape)}"
        )
    node = out.grad_fn
    if node is not None:
        keep_own_copy(node, t._data)
    xp = t._be.xp
    src = out._data if out._data.dtype == t._data.dtype else xp.astype(out._data, t._data.dtype)
    t._data[...] = src
    t._bump_version()
    if node is not None:
        bind_output(t, node, out._output_nr)
    return t


def _host_cast(t: Tensor, other: Any) -> Any:
    """The other operand as something that can be written into ``t`` without widening it."""
    be = t._be
    xp = be.xp
    kind = t.dtype.kind
    if isinstance(other, Tensor):
        if other._be is not be:
            raise mixed_device_error("an in-place op", (t, other))
        o = other._data
        if o.dtype == t._data.dtype:
            return o
        if other.dtype.kind > kind:
            raise RuntimeError(
                f"result type {other.dtype} can't be cast to the desired output type {t.dtype}"
            )
        return xp.astype(o, t._data.dtype)
    if isinstance(other, float) and kind < 2:
        raise RuntimeError(f"result type Float can't be cast to the desired output type {t.dtype}")
    if isinstance(other, bool) and kind != 0:
        return int(other)
    return other


def _broadcast_error(t: Tensor, other: Any) -> RuntimeError:
    shape = list(getattr(other, "shape", ()))
    err = broadcast_error([t._data.shape, shape])
    if err is not None:
        return err
    return RuntimeError(
        f"output with shape {list(t._data.shape)} doesn't match the broadcast shape of "
        f"{list(t._data.shape)} and {shape}: an in-place op cannot grow its tensor; use the "
        "out-of-place form (x = x + y)"
    )


def _arith_(t: Tensor, other: Any, op: str, alpha: Any = 1) -> Tensor:
    if other.__class__ is not Tensor:
        other = as_operand(other)
    if MODE.enabled and (t._rg or (other.__class__ is Tensor and other._rg)):
        check_inplace(t)
        fn = {"add": ew.add, "sub": ew.sub}.get(op)
        out = fn(t, other, alpha=alpha) if fn else (ew.mul if op == "mul" else ew.div)(t, other)
        return _commit(t, out)
    data = t._data
    if other.__class__ is Tensor and other._be is t._be and other._data.dtype == data.dtype:
        o = other._data  # the common case: nothing to check or cast
    else:
        if op == "div" and t.dtype.kind < 2:
            raise RuntimeError(
                f"result type Float can't be cast to the desired output type {t.dtype}"
            )
        o = _host_cast(t, other)
    if alpha != 1:
        o = o * alpha
    try:
        if op == "sub":
            data -= o
        elif op == "add":
            data += o
        elif op == "mul":
            data *= o
        else:
            with t._be.quiet_fp():  # x / 0 is inf, silently, as in ew.div
                data /= o
    except ValueError:
        raise _broadcast_error(t, o) from None
    vc = t._vc
    if vc is not None:
        vc.value += 1
    else:
        t._bump_version()
    return t


def add_(t: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``t += alpha * other`` in place."""
    return _arith_(t, other, "add", alpha)


def sub_(t: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``t -= alpha * other`` in place."""
    return _arith_(t, other, "sub", alpha)


def mul_(t: Tensor, other: Any) -> Tensor:
    """``t *= other`` in place."""
    return _arith_(t, other, "mul")


def div_(t: Tensor, other: Any) -> Tensor:
    """``t /= other`` in place (floating tensors only)."""
    return _arith_(t, other, "div")


def clamp_(t: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clamp ``t`` to [min, max] in place."""
    if _recording(t):
        check_inplace(t)
        return _commit(t, ew.clamp(t, min, max))
    from ..autograd.grad_mode import no_grad

    with no_grad():
        out = ew.clamp(t, min, max)
    t._data[...] = out._data
    t._bump_version()
    return t


# -- writes that replace values: fill, copy, setitem --
class Fill(Op):
    """The old values are overwritten: no gradient reaches them."""

    node_name = "FillBackward2"

    @staticmethod
    def backward(ctx, g):
        return (None,)


class Zero(Fill):
    node_name = "ZeroBackward0"


class CopyFrom(Op):
    node_name = "CopyBackwards"

    @staticmethod
    def backward(ctx, g):
        return None, g


class IndexPut(Op):
    """``t[index] = value``: the overwritten part of ``t`` gets no gradient; ``value``
    gets the gradient of the part it filled."""

    node_name = "IndexPutBackward0"

    @staticmethod
    def backward(ctx, g):
        be = ctx.be
        need_t, need_v = ctx.needs_input_grad
        gt = gv = None
        if need_t:
            gt = be.xp.asarray(g, copy=True)
            set_index(be, gt, ctx.index, 0.0)
        if need_v:  # summed here: the value may have more leading 1-dims than the selection
            gv = sum_to(be.xp, get_index(be, g, ctx.index), ctx.fill_shape)
            if ctx.fill_shape != ctx.value_shape:
                gv = be.xp.reshape(gv, ctx.value_shape)
        return gt, gv


class CopySlices(IndexPut):
    node_name = "CopySlices"


def _attach(t: Tensor, node: Any) -> Tensor:
    """``t``'s storage was written by ``node``'s op: a new version, and ``node`` its producer."""
    t._bump_version()
    return bind_output(t, node)


def _value_for(t: Tensor, value: Any) -> Any:
    """A number or tensor as what gets written into ``t``: cast to ``t``'s dtype, as
    assignment does (1.7 written into an int tensor is 1)."""
    if isinstance(value, Tensor):
        if value._be is not t._be:
            raise mixed_device_error("an assignment", (t, value))
        v = value._data
        return v if v.dtype == t._data.dtype else t._be.xp.astype(v, t._data.dtype)
    kind = t.dtype.kind
    return float(value) if kind == 2 else int(value) if kind == 1 else bool(value)


def fill_(t: Tensor, value: Any, _cls: type = Fill) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor)."""
    if value.__class__ is not int or t.dtype.kind == 0:
        value = _value_for(t, as_operand(value))
    if MODE.enabled and t._rg:
        check_inplace(t)
        node = make_node(_cls, (t,), t._be.xp)
        t._data[...] = value
        return _attach(t, node)
    t._data[...] = value
    t._bump_version()
    return t


def zero_(t: Tensor) -> Tensor:
    """Set every element to zero (``w.grad.zero_()``)."""
    return fill_(t, 0, Zero)


def copy_(t: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src``'s values into ``t`` (broadcast, cast, and moved from another device)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    be = t._be
    xp = be.xp
    if src._be is not be:
        if _recording(t, src):
            raise RuntimeError("copy_ across devices is not recorded; move src with .to() first")
        data = be.from_host(src._be.to_numpy(src._data))
    else:
        data = src._data
    if data.dtype != t._data.dtype:
        data = xp.astype(data, t._data.dtype)
    try:
        xp.broadcast_to(data, t._data.shape)
    except ValueError:
        raise _broadcast_error(t, data) from None
    if _recording(t, src):
        check_inplace(t)
        node = make_node(CopyFrom, (t, src), xp)
        t._data[...] = data
        return _attach(t, node)
    t._data[...] = data
    t._bump_version()
    return t


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value`` (a number or a tensor); recorded when a gradient is needed."""
    value = as_operand(value)
    idx, advanced, _ = normalize_index(t, index)
    _check_bounds(t, idx)
    be = t._be
    v = _value_for(t, value)
    if getattr(v, "ndim", 0) and v.shape[0] == 1:  # PyTorch drops a value's leading 1-dims
        k = next((i for i, n in enumerate(v.shape) if n != 1), v.ndim)
        v = be.xp.reshape(v, v.shape[k:])
    if not _recording(t, value):
        _write(t, idx, v)
        t._bump_version()
        return
    check_inplace(t)
    _write(t, idx, v)
    node = make_node(IndexPut if advanced else CopySlices, (t, value), be.xp)
    node.be, node.index = be, idx
    if isinstance(value, Tensor):
        node.value_shape, node.fill_shape = value._data.shape, v.shape
    _attach(t, node)


def _write(t: Tensor, idx: tuple, v: Any) -> None:
    """``t._data[idx] = v``, with PyTorch's error when ``v`` does not fit the selection."""
    be = t._be
    try:
        set_index(be, t._data, idx, v)
    except ValueError:
        shape = getattr(v, "shape", None)
        if shape is None:
            raise
        try:
            expanded_shape(shape, get_index(be, t._data, idx).shape)
        except RuntimeError as err:
            raise err from None
        raise


# -- random fills (no gradient) --
def _random_fill(t: Tensor, data: Any) -> Tensor:
    if _recording(t):
        check_inplace(t)
        raise RuntimeError("random fills of a tensor in a graph are not supported; use no_grad()")
    t._data[...] = data
    t._bump_version()
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with uniform random numbers in [a, b) from the device's generator."""
    return _random_fill(t, t._be.uniform(t._data.shape, t.dtype, a, b))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with normal random numbers N(mean, std^2) from the device's generator."""
    data = t._be.standard_normal(t._data.shape, t.dtype)
    if std != 1.0:
        data = data * std
    if mean != 0.0:
        data = data + mean
    return _random_fill(t, data)
