"""Graph nodes: the ``grad_fn`` objects a backward pass walks.

A node has ``next_functions``: one ``(node, output_nr)`` edge per input of the
op that made it (``(None, 0)`` for inputs that need no gradient).  Leaves that
require grad are reached through an ``AccumulateGrad`` node.  Nodes hold the
arrays their backward needs (``saved``) and the version each had when saved,
so an in-place change made in between is caught instead of giving wrong
gradients.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

__all__ = ["Node", "AccumulateGrad", "VersionCounter", "accumulator_of", "edge_of", "next_priority"]

#: creation counter: a node's inputs are always made before it, so running nodes
#: latest-first is a topological order (the engine needs no dependency count)
next_priority = itertools.count(1).__next__


class VersionCounter:
    """Counts in-place changes of one storage; shared by a tensor, its views and detach()."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Node:
    """Base of every grad_fn: named like PyTorch's (``AddBackward0``), printed like it too."""

    next_functions: tuple = ()
    #: shape and dtype of output 0 (and ``_ometa``: of every output, for multi-output
    #: nodes): what a gradient flowing into the node must look like
    _oshape: tuple = ()
    _odtype: Any = None
    _ometa: tuple = ()
    #: one record per saved array that is a tensor's storage, checked before backward:
    #: (version counter, its value when saved, index in saved, the tensor's producer
    #: (its grad_fn, None for a leaf, "self" for this node's output), the array)
    _versions: tuple = ()
    #: set once backward has freed the saved arrays (retain_graph=False)
    _freed = False
    _num_outputs = 1
    #: [(output_nr, weakref to tensor)] of non-leaf outputs that called retain_grad()
    _retained: list | None = None
    #: gradients this node returns come from user code and may alias anything
    _user = False
    #: its backward makes inf/nan from finite values (1/x at 0): the engine runs it
    #: with numpy's warnings off, as PyTorch is silent (the op's ``fp_quiet``)
    _quiet = False
    #: order in the engine's queue, smallest first: minus the creation count for op
    #: nodes (latest first), plus it for AccumulateGrad (after every op node)
    _prio = 0

    def name(self) -> str:
        """The node's type name, e.g. ``MulBackward0``."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The end of a path: adds the gradient into a leaf's ``.grad``."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self._prio = next_priority()
        d = variable._data
        self._oshape, self._odtype = d.shape, d.dtype


def grad_buffer(edge: Any, shape: tuple, dtype: Any) -> Any:
    """For an op's backward: the spare array of the leaf behind ``edge`` (its last dropped
    ``.grad``), to write that leaf's gradient into with ``out=``; None when the leaf has a
    gradient to add to, no spare, or one of another shape or dtype.  Handed out once."""
    if edge.__class__ is not AccumulateGrad:
        return None
    leaf = edge.variable
    spare = leaf._spare
    if spare is None:
        return None
    leaf._spare = None
    if leaf._grad is not None or spare.shape != shape or spare.dtype != dtype:
        return None
    return spare


def accumulator_of(t: Any) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, made once and kept while the graph lives."""
    ref = t._acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
        t._acc = weakref.ref(node)
    return node


def edge_of(t: Any) -> tuple:
    """Where a gradient for ``t`` (which requires grad) enters the graph: (its grad_fn,
    its output number), or its leaf's AccumulateGrad."""
    gf = t.grad_fn
    return (gf, t._output_nr) if gf is not None else (accumulator_of(t), 0)
