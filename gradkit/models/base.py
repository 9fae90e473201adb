"""``Model``: an ``nn.Module`` that knows its task, its loss and how its gradients are made."""

from __future__ import annotations

from typing import ClassVar

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn import Module
from .losses import DEFAULT_LOSS, LOSSES, TASKS

__all__ = ["Model", "accumulate_grad"]


def accumulate_grad(p: Tensor, g: Tensor) -> None:
    """Add ``g`` into ``p.grad`` as autograd would (so zero_grad modes behave the same)."""
    with no_grad():
        if p.grad is None:
            p.grad = g.detach().clone() if g._data is p._data else g.detach()
        else:
            p.grad.add_(g)


class Model(Module):
    """Base of the zoo's models.

    ``task`` is binary, multiclass or regression; ``loss_name`` one of
    ``models.losses.LOSSES`` of that task; ``gradients`` says how gradients are
    made: ``autograd``, ``function`` (autograd through custom Functions) or
    ``manual`` (a hand-written ``backward``).
    """

    #: how gradients are computed
    gradients: ClassVar[str] = "autograd"
    #: the family shares parameters and task: logreg, mlp
    family: ClassVar[str] = ""
    #: one line for ``gradkit recipes`` / ``--help``
    description: ClassVar[str] = ""
    #: the constructor's arguments, resolved (``model.json`` records them to rebuild the model)
    hparams: dict

    def __init__(self, task: str, loss: str | None = None) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
        loss = loss or DEFAULT_LOSS[task]
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        if LOSSES[loss].task != task:
            allowed = [k for k, v in LOSSES.items() if v.task == task]
            raise ValueError(
                f"loss {loss!r} is for {LOSSES[loss].task} tasks, not {task}; for {task} use "
                f"{' or '.join(allowed)}"
            )
        self.task = task
        self.loss_name = loss

    @property
    def manual(self) -> bool:
        return self.gradients == "manual"

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        """The training loss of output ``out`` against targets ``y``."""
        return LOSSES[self.loss_name].value(out, y)

    def backward(self, x: Tensor, out: Tensor, y: Tensor, scale: float = 1.0) -> None:
        """Add d(scale * loss)/d(param) into each ``.grad``, by hand (manual models only)."""
        raise TypeError(
            f"{type(self).__name__} computes its gradients with autograd: call loss.backward()"
        )
