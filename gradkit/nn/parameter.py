"""``nn.Parameter``: a tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor (``requires_grad=True`` by default) that Modules collect."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        p = object.__new__(cls)
        if data is None:
            from ..autograd.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter expects a Tensor, got {type(data).__name__}")
        p._data = data._data
        p._be = data._be
        if requires_grad:
            p.requires_grad = True  # checks the dtype
        return p

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
