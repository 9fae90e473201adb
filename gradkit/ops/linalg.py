"""Matrix products: ``mm``, ``matmul`` (with numpy's 1-D and batch rules) and the
fused ``linear`` (x @ W.T + b) behind ``nn.Linear``."""

from __future__ import annotations

from ..autograd.function import Op
from ..autograd.node import grad_buffer
from ..autograd.shapes import broadcast_error, broadcast_shapes
from ..autograd.tensor import Tensor

__all__ = ["mm", "matmul", "mv", "dot"]  # linear is nn.functional's
#: the functions whose ``gradkit.X`` form takes PyTorch's ``out=``
TAKES_OUT = ("mm", "matmul", "mv")


def _t(xp, a):
    return xp.matrix_transpose(a)


class Matmul(Op):
    """``a @ b`` for any ranks: 1-D operands get a dim added (then removed), batch dims
    broadcast, and backward sums the gradient back over broadcast batch dims."""

    node_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        ctx.saved = (a, b)
        return xp.matmul(a, b)

    @classmethod
    def explain(cls, xp, arrays: list, exc: Exception) -> Exception | None:
        if isinstance(exc, ValueError):  # only the batch dims broadcast
            return broadcast_error([a.shape[:-2] for a in arrays])
        return None

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        need_a, need_b = ctx.needs_input_grad
        a, b = ctx.saved
        a2 = xp.expand_dims(a, axis=0) if a.ndim == 1 else a
        b2 = xp.expand_dims(b, axis=-1) if b.ndim == 1 else b
        batch = broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g = xp.reshape(g, (*batch, a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if need_a:  # (..., 1, n) for a vector a: the engine sums the leading dims away
            ga = xp.matmul(g, _t(xp, b2))
        if need_b:
            gb = xp.matmul(_t(xp, a2), g)
            if b.ndim == 1:  # (..., n, 1): the added dim goes, the batch dims the engine sums
                gb = gb[..., 0]
        return ga, gb


class Mm(Op):
    """2-D x 2-D, the hot path of every MLP."""

    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        need_a, need_b = ctx.needs_input_grad
        a, b = ctx.saved
        ga = g @ b.T if need_a else None
        gb = None
        if need_b:  # a weight: into its last gradient's array when it has one
            edge = ctx.next_functions[1][0]
            buf = grad_buffer(edge, b.shape, g.dtype) if a.dtype == g.dtype else None
            gb = a.T @ g if buf is None else ctx.xp.matmul(a.T, g, out=buf)
        return ga, gb


class Mv(Matmul):
    node_name = "MvBackward0"


class Dot(Matmul):
    node_name = "DotBackward0"


class VecMat(Matmul):
    node_name = "SqueezeBackward4"


class Linear(Op):
    """``x @ W.T + b`` in one node (AddmmBackward0 as in PyTorch); x may have any
    leading batch dims."""

    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b=None):
        xp = ctx.xp
        ctx.saved = (x, w)
        ctx.has_bias = b is not None
        out = xp.matmul(x, w.T)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        needs = ctx.needs_input_grad
        x, w = ctx.saved
        gx = gw = gb = None
        if needs[0]:
            gx = xp.matmul(g, w)
        g2 = g if g.ndim == 2 else xp.reshape(g, (-1, g.shape[-1]))
        if needs[1]:
            x2 = x if x.ndim == 2 else xp.reshape(x, (-1, x.shape[-1]))
            edge = ctx.next_functions[1][0]
            buf = grad_buffer(edge, w.shape, g.dtype) if x2.dtype == g.dtype else None
            gw = g2.T @ x2 if buf is None else xp.matmul(g2.T, x2, out=buf)
        if ctx.has_bias and needs[2]:
            gb = xp.sum(g2, axis=0)
        return gx, gw, gb if ctx.has_bias else None


class LinearNoBias(Linear):
    node_name = "MmBackward0"


class LinearND(Linear):
    """Linear on an input that is not 2-D (PyTorch reshapes, so it names a view)."""

    node_name = "ViewBackward0"


def _check_dtypes(a: Tensor, b: Tensor, what: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{what}: expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}; "
            "convert one with .to(other.dtype)"
        )


def _shapes(a: Tensor, b: Tensor) -> str:
    return (
        f"{'x'.join(map(str, a.shape)) or 'scalar'} and {'x'.join(map(str, b.shape)) or 'scalar'}"
    )


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors."""
    a, b = input._data, mat2._data
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype:
        _mm_error(input, mat2)
    return Mm.apply(input, mat2)


def _mm_error(input: Tensor, mat2: Tensor) -> None:
    if input.ndim != 2 or mat2.ndim != 2:
        which = "self" if input.ndim != 2 else "mat2"
        raise RuntimeError(
            f"{which} must be a matrix (mm takes two 2-D tensors; got shapes {list(input.shape)} "
            f"and {list(mat2.shape)}); use matmul for other ranks"
        )
    if input._data.shape[1] != mat2._data.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_shapes(input, mat2)}): the columns of "
            "the first must equal the rows of the second"
        )
    _check_dtypes(input, mat2, "mm")


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with numpy's rules for 1-D and batched operands."""
    if not isinstance(other, Tensor) or not isinstance(input, Tensor):
        raise TypeError("matmul expects two tensors")
    na, nb = input.ndim, other.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D"
        )
    ka = input._data.shape[-1]
    kb = other._data.shape[0] if nb == 1 else other._data.shape[-2]
    if ka != kb:
        if na == 2 and nb == 2:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_shapes(input, other)}): the "
                "columns of the first must equal the rows of the second"
            )
        raise RuntimeError(
            f"matmul: size mismatch, shapes {list(input.shape)} and {list(other.shape)}: the "
            f"last dim of the first ({ka}) must equal the "
            f"{'only' if nb == 1 else 'second-to-last'} dim of the second ({kb})"
        )
    _check_dtypes(input, other, "matmul")
    if na == 2 and nb == 2:
        return Mm.apply(input, other)
    if na == 1 and nb == 1:
        return Dot.apply(input, other)
    if na == 2 and nb == 1:
        return Mv.apply(input, other)
    if na == 1 and nb == 2:
        return VecMat.apply(input, other)
    return Matmul.apply(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError("mv expects a 2-D matrix and a 1-D vector")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return matmul(input, other)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: the affine map of ``nn.Linear``."""
    if weight.ndim != 2:
        raise RuntimeError(
            f"linear: weight must be 2-D (out_features x in_features), got {list(weight.shape)}"
        )
    if input.ndim == 0 or input._data.shape[-1] != weight._data.shape[1]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied "
            f"({'x'.join(map(str, input.shape))} and "
            f"{weight._data.shape[1]}x{weight._data.shape[0]}): the input's last dimension "
            f"must be in_features={weight._data.shape[1]}"
        )
    _check_dtypes(input, weight, "linear")
    if input.ndim != 2:
        return LinearND.apply(input, weight, bias)
    if bias is None:
        return LinearNoBias.apply(input, weight, None)
    return Linear.apply(input, weight, bias)
