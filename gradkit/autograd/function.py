"""``Function``: an op with its forward and its backward, and the ``ctx`` between them.

Two kinds share one machinery (the graph node *is* the ``ctx``):

* ``Function`` — PyTorch's ``torch.autograd.Function`` for users: static
  ``forward(ctx, *tensors)`` and ``backward(ctx, *grad_tensors)`` on Tensors,
  ``ctx.save_for_backward``, ``ctx.saved_tensors``, ``ctx.needs_input_grad``.
* ``Op`` — gradkit's built-in ops: the same static pair, but on raw arrays of
  the inputs' namespace (``ctx.xp``), with arrays the backward needs kept in
  ``ctx.saved``.  That keeps the per-op cost close to hand-written numpy.

Subclassing either makes a node class named ``<Name>Backward`` (or the
class's ``node_name``, e.g. ``AddBackward0``), whose instances are the
``grad_fn`` of the outputs.
"""

from __future__ import annotations

from typing import Any

from .grad_mode import MODE
from .node import Node, edge_of, next_priority
from .shapes import broadcast_error
from .tensor import Tensor, new_tensor

__all__ = [
    "Function",
    "FunctionCtx",
    "Op",
    "mixed_device_error",
    "make_node",
    "bind_output",
    "keep_own_copy",
]

_NO_EDGE = (None, 0)
_new = object.__new__


def mixed_device_error(what: str, args: tuple) -> RuntimeError:
    """The error for an op whose tensor inputs sit on different devices."""
    devs: list[str] = []
    for a in args:
        if isinstance(a, Tensor) and str(a.device) not in devs:
            devs.append(str(a.device))
    return RuntimeError(
        f"Expected all tensors to be on the same device, but found at least two devices, "
        f"{devs[0]} and {devs[1]} (in {what}); move them to one device first, e.g. "
        f"x.to({devs[0]!r})"
    )


def _connect(ctx: Node, args: tuple) -> None:
    """Wire ``ctx`` into the graph: one edge per argument, (node, output_nr), or
    (None, 0) if it needs no grad; and its place in the engine's order."""
    edges = []
    for a in args:
        if isinstance(a, Tensor) and a._rg:
            edges.append(edge_of(a))
        else:
            edges.append(_NO_EDGE)
    ctx.next_functions = tuple(edges)
    ctx.needs_input_grad = tuple(e is not _NO_EDGE for e in edges)
    ctx._prio = -next_priority()


def make_node(cls: type, args: tuple, xp: Any) -> Any:
    """A node of op ``cls`` wired to the graph of ``args``, for ops that do not go through
    ``apply``: writes into an existing tensor (setitem, copy_) and device moves.  Make
    its output with :func:`bind_output`."""
    ctx = cls._backward_cls()
    ctx.xp = xp
    _connect(ctx, args)
    return ctx


def bind_output(t: Tensor, node: Node, nr: int = 0) -> Tensor:
    """Make ``t`` output ``nr`` of ``node``: its gradient flows into ``node``'s backward.
    Output 0's shape and dtype become what the engine fits gradients for it to."""
    if nr == 0:
        d = t._data
        node._oshape, node._odtype = d.shape, d.dtype
    t.grad_fn = node
    t._rg = True
    t._output_nr = nr
    return t


def keep_own_copy(node: Node, arr: Any) -> None:
    """``arr`` is about to be overwritten in place: if ``node`` saved it for backward,
    it keeps a copy instead (and no longer checks its version)."""
    saved = getattr(node, "saved", None)
    if not saved or not any(s is arr for s in saved):
        return
    xp = node.xp
    node.saved = tuple(xp.asarray(s, copy=True) if s is arr else s for s in saved)
    node._versions = tuple(r for r in node._versions if r[4] is not arr)


class FunctionMeta(type):
    """Gives each Function subclass its own node class, named as PyTorch names it."""

    def __init__(cls, name: str, bases: tuple, ns: dict) -> None:
        super().__init__(name, bases, ns)
        node_name = ns.get("node_name") or f"{name}Backward"
        base = _OpNode if getattr(cls, "_array_level", False) else _UserNode
        cls._backward_cls = type(
            node_name,
            (base,),
            {
                "_fn": cls,
                "_quiet": getattr(cls, "fp_quiet", False),
                "__module__": cls.__module__,
                "__qualname__": node_name,
            },
        )


class FunctionCtx:
    """What ``forward`` may tell ``backward``: saved tensors and flags."""

    needs_input_grad: tuple = ()
    _to_save: tuple | None = None
    _saved_records: tuple | None = None
    _non_diff: frozenset = frozenset()
    _materialize = True

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep these tensors (inputs or outputs) for ``backward``; checked for in-place changes."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors (or None), got {type(t).__name__}; "
                    "keep other values as attributes of ctx"
                )
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_freed_message(self))
        recs = self._saved_records
        if recs is None:
            return tuple(self._to_save or ())
        out = []
        for r in recs:
            if r is None:
                out.append(None)
                continue
            data, be, vc = r
            t = new_tensor(data, be)
            t._vc = vc
            out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Outputs that get no gradient (e.g. indices)."""
        self._non_diff = frozenset(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` gets zeros (default) or None for outputs that had no gradient."""
        self._materialize = bool(value)


def _freed_message(node: Node) -> str:
    return (
        f"Trying to backward through the graph a second time (or directly access saved tensors "
        f"after they have already been freed), at {node.name()}. Saved intermediate values of "
        "the graph are freed when you call .backward() or autograd.grad(). Specify "
        "retain_graph=True if you need to backward through the graph a second time, or build "
        "the graph again (run the forward inside the loop) before each backward."
    )


class _OpNode(Node):
    """Node of a built-in op: backward on arrays, arrays kept in ``saved``."""

    saved: tuple | None = None

    def _release(self) -> None:
        if self.saved is not None:
            self.saved = None
            self._freed = True
        self._versions = ()


class _UserNode(Node, FunctionCtx):
    """Node of a user Function: backward sees Tensors; its results are checked."""

    _user = True
    _be: Any = None

    def _call(self, grads: list) -> Any:
        be = self._be
        gts = []
        for k, g in enumerate(grads):
            if g is None:
                shape, dt = self._ometa[k]
                if not self._materialize or dt is None:
                    gts.append(None)
                    continue
                g = be.xp.zeros(shape, dtype=dt, device=be.native)
            gts.append(new_tensor(be.fix(g), be))
        res = self._fn.backward(self, *gts)
        if not isinstance(res, tuple):
            res = (res,)
        n = len(self.next_functions)
        if len(res) != n:
            if len(res) > n and all(r is None for r in res[n:]):
                res = res[:n]
            else:
                raise RuntimeError(
                    f"function {self.name()} returned an incorrect number of gradients "
                    f"(expected {n}, got {len(res)}): backward must return one gradient (or None) "
                    "per argument of forward"
                )
        out = []
        for i, r in enumerate(res):
            if r is None or self.next_functions[i][0] is None:
                out.append(None)
                continue
            if not isinstance(r, Tensor):
                raise TypeError(
                    f"function {self.name()} returned a gradient of type {type(r).__name__} at "
                    f"index {i}; expected a Tensor or None"
                )
            if r._be is not be:
                raise RuntimeError(
                    f"function {self.name()} returned a gradient on {r.device} at index {i}, but "
                    f"its input is on {be.device}"
                )
            out.append(r._data)
        return tuple(out)

    def _release(self) -> None:
        if self._saved_records is not None:
            self._saved_records = None
            self._freed = True
        self._to_save = None
        self._versions = ()


class Function(metaclass=FunctionMeta):
    """Base class for custom differentiable operations (``torch.autograd.Function``).

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``
    and call ``MyFn.apply(*args)``; ``forward`` runs without recording.
    """

    node_name: str | None = None

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define a static backward(ctx, ...)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record a node for ``backward``."""
        be = None
        any_rg = False
        nig = []
        for a in args:
            if isinstance(a, Tensor):
                if be is None:
                    be = a._be
                elif a._be is not be:
                    raise mixed_device_error(cls.__name__, args)
                nig.append(a._rg)
                any_rg = any_rg or a._rg
            else:
                nig.append(False)
        ctx = cls._backward_cls()
        ctx.needs_input_grad = tuple(nig)
        ctx._be = be
        ctx.xp = be.xp if be is not None else None
        record = any_rg and MODE.enabled
        prev = MODE.enabled
        MODE.enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            MODE.enabled = prev
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        arg_ids = {id(a) for a in args if isinstance(a, Tensor)}
        results = []
        out_meta = []
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor):
                results.append(o)
                out_meta.append(((), None))
                continue
            if be is not None and o._be is not be:
                raise RuntimeError(
                    f"{cls.__name__}.forward returned a tensor on {o.device} for inputs on "
                    f"{be.device}"
                )
            non_diff = id(o) in ctx._non_diff
            if id(o) in arg_ids or o.grad_fn is not None or o._rg:
                alias = new_tensor(o._data, o._be)
                alias._vc = o._get_vc()
                o = alias
            if record and not non_diff and o.dtype.is_floating_point:
                bind_output(o, ctx, k)
            results.append(o)
            out_meta.append((o._data.shape, o._data.dtype))
        if record:
            _connect(ctx, args)
            ctx._num_outputs = len(outs)
            ctx._ometa = tuple(out_meta)
            ctx._oshape, ctx._odtype = out_meta[0]  # output 0 may not be a tensor
            ctx._pack_saved()
        return results[0] if single else tuple(results)


def _pack_saved(self: _UserNode) -> None:
    """Turn ``save_for_backward``'s tensors into (array, backend, version counter) records."""
    to_save = self._to_save
    if to_save is None:
        return
    recs = []
    versions = []
    for k, t in enumerate(to_save):
        if t is None:
            recs.append(None)
            continue
        vc = t._get_vc()
        recs.append((t._data, t._be, vc))
        versions.append((vc, vc.value, k, "self" if t.grad_fn is self else t.grad_fn, t._data))
    self._saved_records = tuple(recs)
    self._versions = tuple(versions)
    self._to_save = None


_UserNode._pack_saved = _pack_saved


class Op(Function):
    """A built-in op: static ``forward(ctx, *arrays, **params)`` / ``backward(ctx, *grads)``
    on arrays of ``ctx.xp``.  ``backward`` returns one gradient (or None) per positional
    argument of ``forward``.  Set ``is_view`` for ops whose output may share memory
    with their first input."""

    _array_level = True
    is_view = False
    #: forward and backward make inf/nan from finite values (log(0), 1/x at 0): both run
    #: in the backend's ``quiet_fp``, as PyTorch returns them without a warning
    fp_quiet = False

    @classmethod
    def explain(cls, xp: Any, arrays: list, exc: Exception) -> Exception | None:
        """What to raise instead of the array library's ValueError/TypeError from
        ``forward`` (None: let it through).  By default: PyTorch's error for arrays
        that do not broadcast.  Costs nothing until ``forward`` fails."""
        if isinstance(exc, ValueError):
            return broadcast_error([a.shape for a in arrays if hasattr(a, "shape")])
        return None

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        # The hot path of every built-in op: one pass over the arguments collects the
        # arrays, checks the device and, when recording, the graph edges.
        grad_on = MODE.enabled
        be = None
        record = False
        arrays = []
        edges: Any = [] if grad_on else None
        needs: Any = [] if grad_on else None
        for a in args:
            if isinstance(a, Tensor):
                if be is None:
                    be = a._be
                elif a._be is not be:
                    raise mixed_device_error(cls.node_name or cls.__name__, args)
                arrays.append(a._data)
                if grad_on:
                    if a._rg:
                        record = True
                        edges.append(edge_of(a))
                        needs.append(True)
                    else:
                        edges.append(_NO_EDGE)
                        needs.append(False)
            else:
                arrays.append(a)
                if grad_on:
                    edges.append(_NO_EDGE)
                    needs.append(False)
        if be is None:
            raise TypeError(f"{cls.__name__} needs at least one Tensor argument")
        ctx = cls._backward_cls()
        ctx.xp = be.xp
        try:
            if cls.fp_quiet:
                with be.quiet_fp():
                    out = cls.forward(ctx, *arrays, **kwargs)
            else:
                out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, TypeError) as exc:
            err = cls.explain(be.xp, arrays, exc)
            if err is None:
                raise
            raise err from None
        if out.__class__ is tuple:
            return _wrap_outputs(cls, ctx, be, out, args, record)
        t = _new(Tensor)
        t._data = d = out if out.__class__ is be.array_type else be.fix(out)
        t._be = be
        if cls.is_view:
            _link_view(t, args[0])
        if record:  # what bind_output and _connect do, inline: this is the hot path
            ctx.next_functions = tuple(edges)
            ctx.needs_input_grad = tuple(needs)
            ctx._prio = -next_priority()
            ctx._oshape = d.shape
            ctx._odtype = d.dtype
            saved = ctx.saved
            if saved is not None:
                ctx._versions = _saved_versions(saved, args, arrays, t, out)
            t.grad_fn = ctx
            t._rg = True
        return t


def _saved_versions(saved: tuple, args: tuple, arrays: list, t: Tensor, raw_out: Any) -> tuple:
    """``_version_records``, with the two shapes most ops save handled inline:
    their first input, or their first two inputs, as they came."""
    n = len(saved)
    if n == 1:
        s = saved[0]
        a = args[0]
        if s is arrays[0] and s is not raw_out and isinstance(a, Tensor):
            vc = a._get_vc()
            return ((vc, vc.value, 0, a.grad_fn, s),)
    elif n == 2 and len(args) == 2:
        s0, s1 = saved
        a, b = args
        if (
            s0 is arrays[0]
            and s1 is arrays[1]
            and s0 is not s1
            and s0 is not raw_out
            and s1 is not raw_out
            and isinstance(a, Tensor)
            and isinstance(b, Tensor)
        ):
            va = a._get_vc()
            vb = b._get_vc()
            return ((va, va.value, 0, a.grad_fn, s0), (vb, vb.value, 1, b.grad_fn, s1))
    return _version_records(saved, args, t, raw_out)


def _link_view(t: Tensor, base: Tensor) -> None:
    """``t`` may share ``base``'s memory: share its version counter, remember the base."""
    t._base = base._base if base._base is not None else base
    t._vc = base._get_vc()


def _version_records(saved: tuple, args: tuple, t: Tensor, raw_out: Any) -> tuple:
    """For each saved array that is an input's or the output's storage: its version now."""
    recs = []
    for a in args:
        if isinstance(a, Tensor):
            d = a._data
            for k, s in enumerate(saved):
                if s is d:
                    vc = a._get_vc()
                    recs.append((vc, vc.value, k, a.grad_fn, s))
                    break
    for k, s in enumerate(saved):
        if s is raw_out or s is t._data:
            recs.append((t._get_vc(), 0, k, "self", s))
    return tuple(recs)


def _wrap_outputs(cls: type, ctx: Any, be: Any, outs: tuple, args: tuple, record: bool) -> tuple:
    """Tensors for a multi-output op; only floating outputs join the graph."""
    ts = []
    for k, o in enumerate(outs):
        t = new_tensor(o if o.__class__ is be.array_type else be.fix(o), be)
        t._output_nr = k
        ts.append(t)
    if record:
        _connect(ctx, args)
        ctx._num_outputs = len(outs)
        ctx._ometa = tuple((t._data.shape, t._data.dtype) for t in ts)
        ctx._oshape, ctx._odtype = ctx._ometa[0]
        if ctx.saved is not None:
            ctx._versions = _version_records(ctx.saved, args, ts[0], outs[0])
        for k, t in enumerate(ts):
            if be.dtype_of(t._data).is_floating_point:
                bind_output(t, ctx, k)
    return tuple(ts)
