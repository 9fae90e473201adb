"""Optimizers with PyTorch's names, options and exact update formulas."""

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Optimizer"]
