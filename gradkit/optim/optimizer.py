"""``optim.Optimizer``: param groups, ``zero_grad``, and ``state_dict`` laid out as PyTorch's.

An update is two halves, so that a captured step (``compile_step``, a CUDA graph)
can run the device half alone: ``_prepare`` and ``_scalars`` are the host half (the
state made on the first step, the step counted, this step's numbers such as
``lr / (1 - beta1**t)`` as Python floats); ``_kernel`` is the device half, array
calls only, its numbers taken from ``c`` (Python floats eagerly, 0-d device arrays
in a graph, so a schedule's new ``lr`` reaches a captured update).  A subclass that
writes its own ``_update`` instead still works everywhere but in a CUDA graph.
An update builds no graph and never copies to the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.creation import tensor
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.tensor import Tensor, new_tensor

__all__ = ["Optimizer", "CountsSteps", "runs_kernel", "has_kernel", "signed_decayed"]

#: ``_update`` functions that are exactly ``_prepare`` + ``_scalars`` + ``_kernel``
_KERNEL_UPDATES: set = set()


def runs_kernel(fn: Callable) -> Callable:
    """Mark an ``_update`` whose work on the device is all in ``_kernel``."""
    _KERNEL_UPDATES.add(fn)
    return fn


def signed_decayed(g: Any, data: Any, maximize: bool, decay: bool, wd: Any) -> Any:
    """The gradient an update uses: negated to maximize, plus ``wd * p`` (weight decay
    added to the gradient, as PyTorch's non-decoupled decay is)."""
    if maximize:
        g = -g
    if decay:
        g = g + wd * data
    return g


def has_kernel(opt: Any) -> bool:
    """Whether ``opt``'s update can run as its ``_kernel`` alone (in a captured graph)."""
    return type(opt)._update in _KERNEL_UPDATES and type(opt)._kernel is not None


class Optimizer:
    """Base class: holds ``param_groups`` (dicts of options plus ``params``) and ``state``."""

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}; pass model.parameters()"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"

    @staticmethod
    def _impl_flags(
        foreach: bool | None,
        differentiable: bool,
        fused: bool | None = None,
        *,
        with_fused: bool = True,
        capturable: bool | None = None,
    ) -> dict:
        """PyTorch's implementation switches, kept in the groups as PyTorch keeps them (so
        repr and state_dict match); gradkit has one implementation: ``foreach`` and
        ``capturable`` change nothing, ``differentiable`` and ``fused`` are refused."""
        if differentiable:
            raise NotImplementedError(
                "differentiable=True is not supported: gradkit's updates record no graph"
            )
        if fused:
            raise RuntimeError(
                "fused=True is not supported: gradkit has one (non-fused) implementation; "
                "leave fused=None"
            )
        flags: dict = {"foreach": foreach, "differentiable": differentiable}
        if with_fused:
            flags["fused"] = fused
        if capturable is not None:
            flags["capturable"] = bool(capturable)
        return flags

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (defaults fill the rest)."""
        group = dict(param_group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if p.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor; use a leaf (e.g. .detach())")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        lr = group.get("lr")
        if not isinstance(lr, (int, float)) or lr < 0:
            raise ValueError(f"Invalid learning rate: {lr} (expected a number >= 0)")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (the default since PyTorch 2.0) or to zeros."""
        for g in self.param_groups:
            for p in g["params"]:
                if p._grad is not None:
                    if set_to_none:
                        p._drop_grad()  # None; its array kept for the next backward
                    else:
                        p._grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns the closure's loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    g = p._grad
                    if g is None:
                        continue
                    if g._be is not p._be:
                        raise RuntimeError(
                            f"the gradient of a parameter is on {g.device} but the parameter is "
                            f"on {p.device}"
                        )
                    self._update(group, p, g._data)
                    p._bump_version()
        return loss

    @runs_kernel
    def _update(self, group: dict, p: Tensor, g: Any) -> None:
        """One parameter's update: the host half, then the device half."""
        st = self._prepare(group, p)
        c = self._scalars(group, st)
        self._kernel(p._be.xp, self._flags(group), p._data, g, self._buffers(group, st), c)

    def _prepare(self, group: dict, p: Tensor) -> dict:
        """The parameter's state, made on its first step; the step counted."""
        raise NotImplementedError

    def _flags(self, group: dict) -> tuple:
        """The options that choose which array calls the update makes (guarded in a graph)."""
        return ()

    def _scalars(self, group: dict, st: dict) -> tuple:
        """This step's numbers (Python floats, computed on the host as PyTorch does)."""
        return ()

    def _buffers(self, group: dict, st: dict) -> tuple:
        """The state arrays the kernel updates in place (a KeyError, as in PyTorch, when
        an option turned on after the first step needs one that was never made)."""
        return ()

    #: ``_kernel(xp, flags, data, g, bufs, c)``: the update's array calls (a staticmethod)
    _kernel: Any = None

    def _state_tensor(self, p: Tensor, data: Any) -> Tensor:
        return new_tensor(data, p._be)

    # -- saving and loading --
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = self._export_state(self.state[p])
        return {"state": state, "param_groups": groups}

    def _export_state(self, st: dict) -> dict:
        return dict(st)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and per-parameter state saved by ``state_dict()``."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        by_index = {}
        for mine, theirs in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], theirs["params"]):
                by_index[i] = p
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = v
        self.state = {}
        for i, st in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = self._import_state(p, st)

    def _import_state(self, p: Tensor, st: dict) -> dict:
        out = {}
        for k, v in st.items():
            if isinstance(v, Tensor) and k != "step":
                v = v.detach().to(device=p.device, dtype=p.dtype, copy=True)
            out[k] = v
        return out


class CountsSteps(Optimizer):
    """An optimizer whose per-parameter ``step`` is an int while it runs and, as PyTorch
    saves it, a 0-d float tensor in ``state_dict`` (Adam, AdamW, RMSprop, Adagrad)."""

    def _export_state(self, st: dict) -> dict:
        out = dict(st)
        out["step"] = tensor(float(st["step"]))
        return out

    def _import_state(self, p: Tensor, st: dict) -> dict:
        out = super()._import_state(p, st)
        step = out.get("step", 0)
        out["step"] = int(step.item() if isinstance(step, Tensor) else step)
        return out
