"""The public Python API, a subset of PyTorch's with the same names and meaning.

``gradkit/__init__.py`` loads this module on first use, so that the
``gradkit`` command can answer ``--help`` without importing numpy.
"""

# ruff: noqa: F401
from typing import Any as _Any

from . import accelerator, autograd, backends, cuda, models, nn, optim
from .autograd import (
    Function,
    Size,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .autograd.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    scalar_tensor,
    tensor,
    zeros,
    zeros_like,
)
from .autograd.legacy import BoolTensor, DoubleTensor, FloatTensor, IntTensor, LongTensor
from .autograd.printing import set_printoptions
from .backend import (
    DeviceUnavailableError,
    device,
    dtype,
    get_default_device,
    get_default_dtype,
    initial_seed,
    manual_seed,
    set_default_device,
    set_default_dtype,
)
from .backend.dtypes import bool_ as bool
from .backend.dtypes import float32, float64, int32, int64
from .compile import compile_step
from .ops import *  # noqa: F403 (every family's __all__, see ops/__init__.py)

float = float32
double = float64
long = int64
int = int32


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is a gradkit Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """Number of elements of ``input``."""
    return input.numel()


def load_run(path: _Any) -> _Any:
    """A ``gradkit train`` run folder as a usable model (``gradkit.runs.LoadedRun``):
    ``.model``, ``.predict(x)``, ``.predict_proba(x)``, ``.evaluate(x, y)``, ``.config``."""
    from .runs import load_run as _load_run

    return _load_run(path)
