"""The backward engine: walks the graph from the roots without recursion.

1. Nodes wait in a queue (a heap) ordered by creation, latest first.  Every
   node that can send a gradient to a node was created after it, so when a
   node leaves the queue all of its gradients have arrived: no dependency
   count, no recursion (a 100,000-deep chain is fine).  This is the order
   PyTorch's engine also prefers (its ready queue sorts by sequence number).
2. A node's backward gets the sum of the gradients sent to each output; each
   gradient it returns is summed back to its input's shape where the forward
   broadcast (so a backward is only its formula) and cast to the input's dtype;
   what it saved is freed unless ``retain_graph``.
3. ``AccumulateGrad`` nodes come last and add into the leaves' ``.grad``
   (``autograd.grad`` captures instead, and runs only the part of the graph it needs).

Everything runs under ``no_grad``: backward formulas build no graph.

Every array-level thing the engine does is a call of a module-level function:
``_root`` (a root's starting gradient), ``_run_node`` (a node's backward),
``_fit`` (a gradient made to fit its input), ``_sum_grads`` and ``_accumulate``.
``compile/recorder.py`` swaps them for recording variants while it captures a step,
so a captured step goes through this loop too.  ``_fit`` and ``_sum_grads`` are
called only on the branches that need them: the common path pays nothing for it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from heapq import heapify, heappop, heappush
from typing import Any

from . import tensor as _tensor_module
from .function import _freed_message
from .grad_mode import MODE
from .node import AccumulateGrad, Node, edge_of
from .shapes import expandable, sum_to
from .tensor import Tensor, new_tensor

__all__ = ["backward", "grad"]


def _as_tuple(x: Any) -> tuple:
    if isinstance(x, Tensor) or x is None:
        return (x,)
    return tuple(x)


def _no_create_graph(create_graph: bool) -> None:
    if create_graph:
        raise NotImplementedError(
            "create_graph=True (higher-order gradients) is not supported: gradkit's backward "
            "formulas run on arrays and record no graph"
        )


def _root(i: int, t: Any, g: Any) -> tuple[tuple[Node, int], Any]:
    """The graph edge of output ``t`` and its starting gradient (ones for a scalar)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"backward expects tensors, got {type(t).__name__} at position {i}")
    if not t._rg:
        raise RuntimeError(
            f"element {i} of tensors does not require grad and does not have a grad_fn: it was "
            "computed from tensors that have requires_grad=False (or inside no_grad()); set "
            "requires_grad=True on the inputs you want gradients for"
        )
    d = t._data
    if g is None:
        if d.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, but this output has "
                f"shape {list(d.shape)}: reduce it first (loss.sum() or loss.mean()), or pass "
                f"gradient= a tensor of shape {list(d.shape)}"
            )
        ga = t._be.xp.ones(d.shape, dtype=d.dtype, device=t._be.native)
    else:
        if not isinstance(g, Tensor):
            raise TypeError(f"gradient must be a Tensor, got {type(g).__name__}")
        if g._be is not t._be:
            raise RuntimeError(
                f"gradient for output {i} is on {g.device} but the output is on {t.device}; "
                "move one of them"
            )
        if g._data.shape != d.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {list(g._data.shape)} and "
                f"output[{i}] has a shape of {list(d.shape)}."
            )
        ga = g._data
        if ga.dtype != d.dtype:
            ga = t._be.xp.astype(ga, d.dtype)
    return edge_of(t), ga


def _inplace_message(node: Node, rec: tuple) -> str:
    vc, ver, _k, producer, arr = rec
    if producer == "self":
        what = f"output 0 of {node.name()}"
    elif producer is None:
        what = "a leaf tensor"
    else:
        what = f"output 0 of {producer.name()}"
    return (
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{arr.dtype} {list(arr.shape)}], which is {what}, is at version "
        f"{vc.value}; expected version {ver} instead. {node.name()} saved it for backward and "
        "it changed afterwards: use an out-of-place operation (x = x * 2, not x *= 2) or "
        "clone() the tensor before changing it."
    )


def _bad_shape(node: Node, i: int, g: Any, shape: tuple) -> RuntimeError:
    return RuntimeError(
        f"Function {node.name()} returned an invalid gradient at index {i} - got "
        f"{list(g.shape)} but expected shape {list(shape)}: a backward must return, for each "
        "input, a gradient of that input's shape (or one it broadcasts to)"
    )


def _needed(roots: list[Node], targets: set[Node]) -> tuple[set[Node], set[Node]]:
    """Nodes from which a target is reachable, and those whose backward must run."""
    order: list[Node] = []
    seen = set(roots)
    stack = [(n, False) for n in roots]
    while stack:  # iterative post-order: children before parents
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        stack.append((node, True))
        for nxt, _ in node.next_functions:
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, False))
    reach: set[Node] = set()
    run: set[Node] = set()
    for node in order:
        if any(nxt in reach for nxt, _ in node.next_functions if nxt is not None):
            run.add(node)
            reach.add(node)
        elif node in targets:
            reach.add(node)
    return reach, run


class _Borrowed(dict):
    """The gradient arrays other nodes may still hold (each node's incoming gradients: a
    backward may return one of them as is), which must be copied before one becomes a
    leaf's ``.grad``.  Kept by identity, not by ``id()`` alone: an array freed during
    backward leaves its id to the next array allocated, and a fresh weight gradient
    that reused it was copied for nothing every step (the first layer's 400 KB in the
    tutorials' MLP).  Arrays are held through weak references where their type allows
    (numpy's does), so holding them keeps no memory alive."""

    __slots__ = ()

    def add(self, g: Any) -> None:
        try:
            self[id(g)] = weakref.ref(g)
        except TypeError:  # no weak references to this array type: hold it
            self[id(g)] = _Strong(g)

    def holds(self, g: Any) -> bool:
        ref = self.get(id(g))
        return ref is not None and ref() is g


class _Strong:
    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self) -> Any:
        return self.obj


class _Capture:
    """What ``autograd.grad`` asks of a run: only the nodes from which a wanted input is
    reachable run, and the gradients arriving at the wanted edges are kept."""

    def __init__(self, edges: list[tuple[Node, int]], wanted: dict[tuple[Node, int], int]) -> None:
        roots = list(dict.fromkeys(n for n, _ in edges))
        self.reach, self.run = _needed(roots, {n for n, _ in wanted})
        self.wanted = wanted
        self.captured: list[Any] = [None] * len(wanted)

    def admits(self, node: Node, buf: list) -> bool:
        """Keep what arrived at ``node``; whether its backward must run."""
        if node not in self.reach:
            return False
        for nr, g in enumerate(buf):
            slot = self.wanted.get((node, nr))
            if slot is not None and g is not None:
                self.captured[slot] = g
        return node in self.run


def _execute(
    edges: list[tuple[Node, int]],
    grads: list[Any],
    retain_graph: bool,
    be: Any,
    capture: dict[tuple[Node, int], int] | None = None,
) -> list[Any]:
    """Run backward from ``edges`` seeded with ``grads``; return captured gradients.

    ``be`` is the backend of the first root: nodes of ``fp_quiet`` ops (1/x, log,
    sqrt, pow, exp) run in its ``quiet_fp``, so the inf/nan their formulas make at 0
    come without numpy warnings, as in PyTorch."""
    # buffers[node]: the gradients arrived for each of its outputs; a node enters the
    # queue when its first edge is reached and leaves it after every sender has run
    buffers: dict[Node, list] = {}
    queue: list[tuple[int, Node]] = []
    for (node, nr), g in zip(edges, grads):
        b = buffers.get(node)
        if b is None:
            b = buffers[node] = [None] * node._num_outputs
            queue.append((node._prio, node))
        b[nr] = g if b[nr] is None else _sum_grads(b[nr], g)
    heapify(queue)
    # gradients other nodes may still hold: copied before they become a leaf's .grad
    borrowed = _Borrowed()
    for g in grads:
        borrowed.add(g)
    gate = None if capture is None else _Capture(edges, capture)

    prev_mode = MODE.enabled
    MODE.enabled = False
    try:
        while queue:
            node = heappop(queue)[1]
            buf = buffers.pop(node)
            if gate is not None and not gate.admits(node, buf):
                continue
            if node.__class__ is AccumulateGrad:
                if buf[0] is not None:
                    _accumulate(node.variable, buf[0], borrowed)
                continue
            grads_in = _run_node(node, buf, borrowed, be)
            if not retain_graph and (node._user or node.saved is not None):
                node._release()
            _send(node, grads_in, buffers, queue)
    finally:
        MODE.enabled = prev_mode
    return [] if gate is None else gate.captured


def _run_node(node: Node, buf: list, borrowed: _Borrowed, be: Any) -> tuple | None:
    """The gradients ``node``'s backward returns for its inputs, given those that arrived
    for its outputs (``buf``); None when none arrived.  Checks first that what it saved is
    still there and unchanged."""
    if node._retained is not None:
        _retain(node, buf)
    if len(buf) == 1:
        if buf[0] is None:
            return None
        borrowed.add(buf[0])
    else:
        live = False
        for g in buf:
            if g is not None:
                live = True
                borrowed.add(g)
        if not live:
            return None
    if node._freed:
        raise RuntimeError(_freed_message(node))
    for rec in node._versions:
        if rec[0].value != rec[1]:
            raise RuntimeError(_inplace_message(node, rec))
    if node._user:
        grads_in = node._call(buf)
        for g in grads_in:
            if g is not None:
                borrowed.add(g)
        return grads_in
    if node._quiet:
        with be.quiet_fp():
            grads_in = node._fn.backward(node, *buf)
    else:
        grads_in = node._fn.backward(node, *buf)
    return grads_in if grads_in.__class__ is tuple else (grads_in,)


def _send(node: Node, grads_in: tuple | None, buffers: dict, queue: list) -> None:
    """Hand each input's gradient to the node it came from (queueing that node the first
    time), made to fit: summed over the dimensions the forward broadcast, and cast to the
    input's dtype, as PyTorch's engine does for every op."""
    i = -1
    for nxt, nr in node.next_functions:
        i += 1
        if nxt is None:
            continue
        g = None if grads_in is None else grads_in[i]
        if g is not None:
            if nr:
                shape, dt = nxt._ometa[nr]
            else:
                shape = nxt._oshape
                dt = nxt._odtype
            if g.shape != shape or (g.dtype is not dt and g.dtype != dt):
                g = _fit(node, i, g, shape, dt)
        b = buffers.get(nxt)
        if b is None:  # first edge into nxt: it joins the queue
            if nxt._num_outputs == 1:
                buffers[nxt] = [g]
            else:
                b = buffers[nxt] = [None] * nxt._num_outputs
                b[nr] = g
            heappush(queue, (nxt._prio, nxt))
        elif g is not None:
            old = b[nr]
            b[nr] = g if old is None else _sum_grads(old, g)


def _fit(node: Node, i: int, g: Any, shape: tuple, dt: Any) -> Any:
    """Gradient ``g`` that ``node`` returned for its input ``i``, made to fit that input:
    summed over the dimensions the forward broadcast, cast to its dtype.  Called only
    when ``g`` does not fit already."""
    if g.shape != shape:
        if not expandable(shape, g.shape):
            raise _bad_shape(node, i, g, shape)
        g = sum_to(node.xp, g, shape)
    if g.dtype != dt:
        g = node.xp.astype(g, dt)
    return g


def _sum_grads(a: Any, b: Any) -> Any:
    """Two gradients that reached the same output (a tensor used twice): their sum."""
    return a + b


def _accumulate(leaf: Tensor, g: Any, borrowed: _Borrowed) -> None:
    """``leaf.grad += g``: in place when a grad exists, else g itself (copied if shared)."""
    be = leaf._be
    g = be.fix(g)
    cur = leaf._grad
    if cur is None:
        if borrowed.holds(g) or be.is_view(g):
            g = be.copy(g)
        leaf._grad = new_tensor(g, be)
    else:
        data = cur._data
        data += g
        if cur._vc is not None:
            cur._vc.value += 1


def _retain(node: Node, buf: list) -> None:
    for nr, ref in node._retained:
        t = ref()
        g = buf[nr]
        if t is None or g is None:
            continue
        be = t._be
        if t._grad is None:
            t._grad = new_tensor(be.copy(be.fix(g)), be)
        else:
            t._grad._data = t._grad._data + g


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they came from.

    A non-scalar tensor needs ``grad_tensors`` (the vector of the vector-Jacobian
    product).  The graph is freed afterwards unless ``retain_graph=True``.
    """
    _no_create_graph(create_graph)
    if grad_tensors is None and inputs is None and tensors.__class__ is Tensor:
        edge, g = _root(0, tensors, None)  # the common case: loss.backward()
        _execute([edge], [g], bool(retain_graph), tensors._be)
        return
    ts = _as_tuple(tensors)
    gs = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(ts)
    if len(gs) != len(ts):
        raise RuntimeError(f"got {len(gs)} gradients for {len(ts)} tensors")
    edges, grads = zip(*(_root(i, t, g) for i, (t, g) in enumerate(zip(ts, gs))))
    if inputs is not None:
        ins = _as_tuple(inputs)
        got = _grad_impl(list(edges), list(grads), ins, bool(retain_graph), True, ts[0]._be)
        for leaf, g in zip(ins, got):
            if g is not None:
                _accumulate(leaf, g._data, _Borrowed())
        return
    _execute(list(edges), list(grads), bool(retain_graph), ts[0]._be)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated."""
    _no_create_graph(create_graph)
    outs = _as_tuple(outputs)
    gs = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outs)
    if len(gs) != len(outs):
        raise RuntimeError(f"got {len(gs)} grad_outputs for {len(outs)} outputs")
    edges, grads = zip(*(_root(i, t, g) for i, (t, g) in enumerate(zip(outs, gs))))
    ins = _as_tuple(inputs)
    return _grad_impl(list(edges), list(grads), ins, bool(retain_graph), allow_unused, outs[0]._be)


def _grad_impl(
    edges: list,
    grads: list,
    inputs: tuple,
    retain_graph: bool,
    allow_unused: bool | None,
    be: Any,
) -> tuple[Tensor | None, ...]:
    capture: dict[tuple[Node, int], int] = {}
    slots: list[int] = []  # each input's index in the captured gradients
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs must be tensors, got {type(t).__name__} at position {i}")
        if not t._rg:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}) does not require grad; set "
                "requires_grad=True on it before computing the outputs"
            )
        slots.append(capture.setdefault(edge_of(t), i))
    got = _execute(edges, grads, retain_graph, be, capture)
    result: list[Tensor | None] = []
    for i, (t, slot) in enumerate(zip(inputs, slots)):
        g = got[slot]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior."
                )
            result.append(None)
            continue
        be = t._be
        result.append(new_tensor(be.copy(be.fix(g)), be))
    return tuple(result)


_tensor_module._engine.backward = backward
