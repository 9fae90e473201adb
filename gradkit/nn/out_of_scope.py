"""Layers and functions of ``torch.nn`` that gradkit leaves out on purpose (convolutions,
pooling, recurrent layers): the names exist, so a tutorial's import works, and using
one raises ``NotImplementedError`` saying that it is out of scope, not a bare
``AttributeError``."""

from __future__ import annotations

from typing import Any

from .module import Module

__all__ = ["LAYERS", "FUNCTIONS", "out_of_scope_message"]

_KINDS = {
    "convolution": ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"),
    "pooling": ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d"),
    "recurrent": ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"),
}
_FUNCTION_KINDS = {
    "convolution": ("conv1d", "conv2d", "conv3d", "conv_transpose2d"),
    "pooling": ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d"),
}


def out_of_scope_message(name: str, kind: str) -> str:
    """What using ``name`` says: it is a ``kind`` layer, outside gradkit's scope."""
    return (
        f"{name}: {kind} layers are outside gradkit's scope (it covers dense networks: Linear, "
        "activations, losses, optimizers); see 'PyTorch API coverage' in the README, and use "
        "PyTorch for this model"
    )


def _layer(name: str, kind: str) -> type:
    def init(self: Module, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(out_of_scope_message(f"nn.{name}", kind))

    doc = f"Not in gradkit: {kind} layers are out of scope (constructing one raises)."
    return type(name, (Module,), {"__init__": init, "__doc__": doc, "__module__": __name__})


def _function(name: str, kind: str) -> Any:
    def fn(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(out_of_scope_message(f"nn.functional.{name}", kind))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Not in gradkit: {kind} is out of scope (calling it raises)."
    return fn


LAYERS = {n: _layer(n, kind) for kind, names in _KINDS.items() for n in names}
FUNCTIONS = {n: _function(n, kind) for kind, names in _FUNCTION_KINDS.items() for n in names}
