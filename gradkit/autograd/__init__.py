"""The autograd engine: ``Tensor``, graph nodes, ``Function``, backward, grad mode, gradcheck.

``gradkit.autograd`` mirrors ``torch.autograd``: ``Function``, ``grad``,
``backward``, ``gradcheck``.
"""

from . import grad_mode
from .engine import backward, grad
from .function import Function, FunctionCtx, Op
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .legacy import Variable
from .node import AccumulateGrad, Node
from .tensor import Size, Tensor

__all__ = [
    "AccumulateGrad",
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Node",
    "Op",
    "Size",
    "Tensor",
    "Variable",
    "backward",
    "enable_grad",
    "grad",
    "grad_mode",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
