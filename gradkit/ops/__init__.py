"""Every differentiable op, one file per family, forward and backward side by side.

A family's ``__all__`` lists its functions that are gradkit's own (``gradkit.exp``,
also ``x.exp()``; ``TAKES_OUT`` those that take ``out=``): this package gathers
them, so an op is written once, in its family.  Losses are ``nn.functional``'s and
in-place ops are methods only.  Importing this package binds the ops onto
``Tensor`` (see ``tensor_methods``).
"""

from . import activation, conversion, elementwise, linalg, reduction, shape
from . import inplace as inplace  # methods only
from . import loss as loss  # nn.functional's
from ._util import with_out
from .tensor_methods import install

#: the families whose ``__all__`` are top-level functions
FAMILIES = (activation, conversion, elementwise, linalg, reduction, shape)


def _gather() -> list[str]:
    names = []
    for family in FAMILIES:
        takes_out = getattr(family, "TAKES_OUT", ())
        for name in family.__all__:
            fn = getattr(family, name)
            globals()[name] = with_out(fn, name) if name in takes_out else fn
            names.append(name)
    return sorted(names)


__all__ = _gather()
install()
