"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, ``init``,
and ``functional`` (the ops as functions)."""

from . import functional, init
from .layers import (
    Flatten,
    Identity,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module
from .out_of_scope import LAYERS as _OUT_OF_SCOPE
from .parameter import Parameter

globals().update(_OUT_OF_SCOPE)  # Conv2d, LSTM, ...: they raise, saying they are out of scope

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Flatten",
    "Identity",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "init",
]
