"""``Model``: an ``nn.Module`` that knows its task, its loss and how its gradients are made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import ConfigError
from ..nn import Module
from .losses import DEFAULT_LOSS, LOSSES, TASKS

__all__ = ["DataInfo", "Model", "accumulate_grad", "data_kwargs", "fit_to_data"]


class DataInfo(Protocol):
    """What a model may take from its training data (``gradkit.data.Dataset`` has it)."""

    name: str
    task: str
    classes: list

    @property
    def n_features(self) -> int: ...

    @property
    def n_outputs(self) -> int: ...


def fit_to_data(config: Mapping[str, Any], key: str, wanted: Any, what: str, data: str) -> Any:
    """The data's value ``wanted`` for constructor argument ``key``; the config may leave it
    unset or give the same value, any other is a ConfigError (``what``: its unit)."""
    given = config.get(key)
    if given is not None and given != wanted:
        raise ConfigError(
            f"model.{key}={given} does not fit the data: {data} has {wanted} {what}; "
            f"leave model.{key} unset to take it from the data"
        )
    return wanted


def data_kwargs(cls: type, ds: DataInfo, config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The constructor arguments ``cls`` takes from the data: its own ``from_data``, or for a
    class without one (a user's ``nn.Module``) what :meth:`Model.from_data` takes."""
    from_data = getattr(cls, "from_data", None)
    if callable(from_data):
        return dict(from_data(ds, config, name))
    return Model.from_data.__func__(cls, ds, config, name)  # type: ignore[attr-defined]


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

    @classmethod
    def from_data(cls, ds: DataInfo, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        """The constructor arguments sized from the data ``ds``: ``task``, ``d_in`` (features)
        and ``d_out`` (outputs); ``config`` holds the model config's values (a value it sets
        must fit the data) and ``name`` is the model's name in messages (``model=NAME``)."""
        task = config.get("task")
        if task is not None and task != ds.task:
            raise ConfigError(
                f"model.task={task} but {ds.name} is a {ds.task} task; leave model.task unset"
            )
        what = {"multiclass": "classes", "binary": "output (binary)", "regression": "targets"}
        return {
            "task": ds.task,
            "d_in": fit_to_data(config, "d_in", ds.n_features, "features", ds.name),
            "d_out": fit_to_data(config, "d_out", ds.n_outputs, what[ds.task], ds.name),
        }

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
