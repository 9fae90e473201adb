"""``gradkit.nn.functional``: activations and losses as functions (PyTorch's ``F``)."""

from ..ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from ..ops.linalg import linear
from ..ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from .out_of_scope import FUNCTIONS as _OUT_OF_SCOPE

globals().update(_OUT_OF_SCOPE)  # conv2d, max_pool2d, ...: they raise, saying they are out of scope

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
