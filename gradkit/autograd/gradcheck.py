"""``gradcheck``: analytical gradients against central finite differences, in float64.

For every input that requires grad and every output, the full Jacobian is
built both ways: numerically (perturb one element by +-eps, run the
function again) and analytically (one backward pass per output element).
They must agree within ``atol + rtol * |numerical|``, as in PyTorch.  The
arrays stay on the inputs' device; only the verdict comes back to the host.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..backend import ArrayBackend
from ..backend.dtypes import float64
from .engine import grad
from .grad_mode import no_grad
from .tensor import Tensor, new_tensor

__all__ = ["gradcheck", "GradcheckError", "jacobians", "JacobianPair"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when analytical and numerical gradients differ."""


@dataclass
class JacobianPair:
    """The two Jacobians of one output with respect to one input (rows: input elements)."""

    output_index: int
    input_index: int
    numerical: Any
    analytical: Any
    be: ArrayBackend

    def max_abs_error(self) -> float:
        xp = self.be.xp
        if self.numerical.shape[0] * self.numerical.shape[1] == 0:
            return 0.0
        return float(self.be.to_python(xp.max(xp.abs(self.numerical - self.analytical))))

    def allclose(self, atol: float, rtol: float) -> bool:
        xp = self.be.xp
        n, a = self.numerical, self.analytical
        return bool(self.be.to_python(xp.all(xp.abs(a - n) <= atol + rtol * xp.abs(n))))

    def worst(self) -> tuple[int, int]:
        """(input element, output element) of the largest difference."""
        xp = self.be.xp
        d = xp.reshape(xp.abs(self.numerical - self.analytical), (-1,))
        flat = int(self.be.to_python(xp.argmax(d)))
        return divmod(flat, self.numerical.shape[1])


def _as_tuple(x: Any) -> tuple:
    return x if isinstance(x, tuple) else tuple(x) if isinstance(x, list) else (x,)


def _outputs(fn: Callable, inputs: tuple) -> list[Tensor]:
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]


def _flat64(t: Tensor) -> Any:
    xp = t._be.xp
    return xp.reshape(xp.astype(t._data, t._be.native_dtype(float64), copy=True), (-1,))


def _unravel(k: int, shape: tuple) -> tuple:
    idx = []
    for s in reversed(shape):
        k, r = divmod(k, s)
        idx.append(r)
    return tuple(reversed(idx))


def _concat(be: ArrayBackend, outs: list[Tensor]) -> Any:
    if not outs:
        return be.zeros((0,), float64)
    return be.xp.concat([_flat64(o) for o in outs])


def jacobians(fn: Callable, inputs: Sequence[Any], eps: float = 1e-6) -> list[JacobianPair]:
    """Numerical and analytical Jacobians of ``fn`` for every (output, grad-requiring input)."""
    inputs = _as_tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in diff:
        if inputs[i].dtype is not float64:
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point "
                f"({inputs[i].dtype}); gradcheck is only reliable in float64",
                UserWarning,
                stacklevel=3,
            )
    be = inputs[diff[0]]._be
    xp = be.xp
    before = [_flat64(x) if isinstance(x, Tensor) else None for x in inputs]
    outs = _outputs(fn, inputs)
    for k, (x, b) in enumerate(zip(inputs, before)):
        if b is not None and not x._be.to_python(x._be.xp.all(_flat64(x) == b)):
            raise GradcheckError(f"the function changed input {k} in place")
    sizes = [o.numel() for o in outs]
    total = sum(sizes)

    numerical = {}
    with no_grad():
        for i in diff:
            x = inputs[i]
            arr = x._data
            shape = arr.shape
            jac = be.zeros((x.numel(), total), float64)
            for k in range(x.numel()):
                idx = _unravel(k, shape)
                orig = xp.asarray(arr[idx], copy=True)
                cols = []
                for sign in (1.0, -1.0):
                    # perturb in place, as PyTorch does, so functions that reach the input
                    # through a closure (a model's parameters) see the change too
                    arr[idx] = orig + sign * eps
                    cols.append(_concat(be, _outputs(fn, inputs)))
                arr[idx] = orig
                jac[k, :] = (cols[0] - cols[1]) / (2 * eps)
            numerical[i] = jac

    analytical = {i: be.zeros((inputs[i].numel(), total), float64) for i in diff}
    col = 0
    for o in outs:
        n = o.numel()
        if o.requires_grad:
            for j in range(n):
                onehot = be.zeros((n,), o.dtype)
                onehot[j] = 1
                g = new_tensor(xp.reshape(onehot, o._data.shape), be)
                got = grad(o, [inputs[i] for i in diff], g, retain_graph=True, allow_unused=True)
                for i, gi in zip(diff, got):
                    if gi is not None:
                        analytical[i][:, col + j] = _flat64(gi)
        col += n

    pairs = []
    start = 0
    for oi, n in enumerate(sizes):
        for i in diff:
            pairs.append(
                JacobianPair(
                    oi,
                    i,
                    numerical[i][:, start : start + n],
                    analytical[i][:, start : start + n],
                    be,
                )
            )
        start += n
    return pairs


def gradcheck(
    func: Callable,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check ``func``'s gradients against finite differences (use float64 inputs).

    Returns True when every Jacobian agrees; otherwise raises ``GradcheckError``
    naming the output, the input and the worst element (or returns False when
    ``raise_exception=False``).
    """
    inputs = _as_tuple(inputs)
    try:
        pairs = jacobians(func, inputs, eps)
    except GradcheckError:
        if not raise_exception:
            return False
        raise
    for p in pairs:
        if not p.allclose(atol, rtol):
            if not raise_exception:
                return False
            i, j = p.worst()
            n, a = p.be.to_numpy(p.numerical), p.be.to_numpy(p.analytical)
            raise GradcheckError(
                f"Jacobian mismatch for output {p.output_index} with respect to input "
                f"{p.input_index}: the largest difference is at input element {i} for output "
                f"element {j}: numerical {n[i, j]:.6g}, analytical {a[i, j]:.6g} "
                f"(atol={atol}, rtol={rtol}).\nnumerical:\n{n}\nanalytical:\n{a}"
            )
    return True
