"""Broadcasting as shape arithmetic: PyTorch's error for shapes that do not broadcast
(numpy's ValueError names neither the dimension nor what to do), and its undoing,
``sum_to``, which the engine applies to every gradient an op returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["broadcast_shapes", "broadcast_error", "expanded_shape", "expandable", "sum_to"]


def _pad(shape: Sequence[int], n: int) -> tuple[int, ...]:
    return (1,) * (n - len(shape)) + tuple(shape)


def broadcast_error(shapes: Sequence[Sequence[int]]) -> RuntimeError | None:
    """PyTorch's RuntimeError for the first pair of ``shapes`` that does not broadcast
    (the rightmost mismatching dimension, as PyTorch reports it), or None."""
    if not shapes:
        return None
    out = tuple(shapes[0])
    for s in shapes[1:]:
        n = max(len(out), len(s))
        a, b = _pad(out, n), _pad(s, n)
        for i in reversed(range(n)):
            if a[i] != b[i] and a[i] != 1 and b[i] != 1:
                return RuntimeError(
                    f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
                    f"non-singleton dimension {i}: shapes {list(out)} and {list(s)} do not "
                    "broadcast (aligned from the right, sizes must be equal or 1); reshape, "
                    "unsqueeze or index one of them so that they do"
                )
        out = tuple(y if x == 1 else x for x, y in zip(a, b))
    return None


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape ``shapes`` broadcast to; PyTorch's RuntimeError if they do not."""
    err = broadcast_error(shapes)
    if err is not None:
        raise err
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, d in enumerate(_pad(s, n)):
            if d != 1:
                out[i] = d
    return tuple(out)


def expanded_shape(shape: Sequence[int], sizes: Sequence[int]) -> tuple[int, ...]:
    """What ``expand(*sizes)`` makes of ``shape`` (-1 keeps a dimension); PyTorch's
    RuntimeError where a size that is not 1 would have to change."""
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    out = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = cur
        if cur is not None and cur != 1 and cur != s:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(shape)}"
            )
        out.append(int(s))
    return tuple(out)


def expandable(shape: Sequence[int], to: Sequence[int]) -> bool:
    """Whether an array of ``shape`` broadcasts to ``to`` (PyTorch's ``is_expandable_to``)."""
    lead = len(to) - len(shape)
    if lead < 0:
        return False
    return all(s == 1 or s == to[lead + i] for i, s in enumerate(shape))


def sum_to(xp: Any, g: Any, shape: tuple) -> Any:
    """Sum ``g`` over the dimensions broadcasting added, so it has ``shape`` again
    (``shape`` must be expandable to ``g.shape``)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = xp.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    return g
