"""The recorder: runs one step eagerly and writes down every array-level call it makes.

While a step is recorded, :func:`capture` swaps in recording variants of the few
entry points a step goes through (``Op.apply``, the backward engine, the in-place
and no-grad paths, ``.grad``, ``Optimizer.step``/``zero_grad``); outside a capture
nothing of this module is on the eager hot path.  Each variant calls the real code
(the step runs exactly as eagerly) and appends a line to the recording.  What the
recorder cannot replay (a read back to the host, random numbers, an in-place change
of a tensor in the graph, ...) marks the recording with a reason instead, and the
step stays eager.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..autograd import creation as _creation
from ..autograd import engine as _eng
from ..autograd.function import Op
from ..autograd.tensor import Tensor, _engine
from ..backend.array_backend import ArrayBackend
from ..nn.module import Module
from ..ops import elementwise as _ew
from ..ops import inplace as _ip
from ..ops import shape as _sh
from ..optim.optimizer import Optimizer
from .refs import LITERALS, A, C, E, V, params_of

__all__ = ["Recorder", "capture", "active"]

#: the recorder of the step being captured (None: eager, nothing recorded)
_CURRENT: list[Recorder | None] = [None]


def active() -> Recorder | None:
    """The recorder of the capture in progress, if any."""
    return _CURRENT[0]


class Recorder:
    """One recorded step: its lines, and where each array came from."""

    def __init__(self, args: tuple) -> None:
        self.lines: list[tuple] = []
        self.reason: str | None = None
        self.paused = 0
        self._vars: dict[int, V] = {}
        #: every name's array (several names may share one): the shapes and dtypes
        #: the program's out= buffers are made for (see out_rules.py)
        self.named: dict[str, Any] = {}
        self._made: dict[int, C] = {}
        self._ext: dict[int, E] = {}
        self.exts: list[E] = []
        self._keep: list[Any] = []  # every array seen: ids stay unique while recording
        self._n = 0
        self.args = args
        self.arg_names: list[str | None] = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                name = f"a{i}"
                self._bind(a._data, V(name))
                self.arg_names.append(name)
            else:
                self.arg_names.append(None)
        #: id(tensor) -> its ``.grad`` array (or None) the first time the step touched
        #: that ``.grad``: what it was when the step began
        self.first_grads: dict[int, Any] = {}
        #: (tensor ref, its .grad was None) where the step's code read a .grad first
        self.first_reads: list[tuple[Any, bool]] = []
        self.result: Any = None
        self.backend: ArrayBackend | None = None

    # -- names --
    def _bind(self, arr: Any, ref: V) -> V:
        self._vars[id(arr)] = ref
        self.named[ref.name] = arr
        self._keep.append(arr)
        return ref

    def define(self, arr: Any) -> V:
        """A new name for an array a line makes."""
        self._n += 1
        return self._bind(arr, V(f"v{self._n}"))

    def made(self, arr: Any) -> None:
        """An array a creation function made inside the step: a constant of the program."""
        self._made[id(arr)] = C(arr)
        self._keep.append(arr)

    def ref_array(self, arr: Any, tensor: Tensor | None = None) -> V | E | C:
        """What ``arr`` is to the program: a name, an outside array, or a constant."""
        key = id(arr)
        r = self._vars.get(key)
        if r is not None:
            return r
        c = self._made.get(key)
        if c is not None:
            return c
        e = self._ext.get(key)
        if e is None:
            e = self._ext[key] = E(len(self.exts), arr, tensor)
            self.exts.append(e)
            self._keep.append(arr)
        return e

    def template(self, x: Any) -> Any:
        """A value (an op's argument) with its arrays replaced by references."""
        if isinstance(x, Tensor):
            if self.backend is None:
                self.backend = x._be
            return self.ref_array(x._data, x)
        if isinstance(x, LITERALS):
            return x
        if isinstance(x, tuple):
            return tuple(self.template(v) for v in x)
        if isinstance(x, list):
            return [self.template(v) for v in x]
        if isinstance(x, dict):
            return {k: self.template(v) for k, v in x.items()}
        if isinstance(x, slice) or x is Ellipsis:
            return x
        if hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "__array_namespace__"):
            return self.ref_array(x)
        if isinstance(x, ArrayBackend) or hasattr(x, "__array_namespace__"):
            return C(x)
        if hasattr(x, "shape") and hasattr(x, "dtype"):  # a raw numpy/cupy array
            return self.ref_array(x)
        return C(x)

    def tensor(self, t: Tensor) -> A | C:
        """A tensor object a line uses itself (its ``.grad``): an argument, or a constant."""
        for i, a in enumerate(self.args):
            if a is t:
                return A(i)
        return C(t)

    def touch(self, t: Tensor, read: bool = False) -> None:
        """Note what ``t.grad`` is before the step first reads or writes it; ``read``:
        the step's own code reads it (``p.grad``), and may branch on whether it is None."""
        if id(t) not in self.first_grads:
            g = t._grad
            self.first_grads[id(t)] = None if g is None else g._data
            self._keep.append(t)
            if read:
                self.first_reads.append((self.tensor(t), g is None))

    def refuse(self, reason: str) -> None:
        """The step cannot be replayed: keep the first reason."""
        if self.reason is None:
            self.reason = reason

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """Real code that one recorded line stands for: record nothing inside."""
        self.paused += 1
        try:
            yield
        finally:
            self.paused -= 1

    # -- the step's own lines --
    def _line(self, kind: str, payload: tuple, out: Any) -> V:
        name = self.define(out)
        self.lines.append((kind, payload, (name,)))
        return name


# ---------------------------------------------------------------- recording variants
_ORIG: dict[str, Any] = {}


def _rec_op_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    rec = _CURRENT[0]
    orig = _ORIG["Op.apply"]
    if rec is None or rec.paused:
        return orig(cls, *args, **kwargs)
    ins = rec.template(args)
    kw = rec.template(kwargs)
    with rec.pause():
        out = orig(cls, *args, **kwargs)
    outs = out if out.__class__ is tuple else (out,)
    ctx = next((t.grad_fn for t in outs if t.grad_fn is not None), None)
    be = outs[0]._be
    if rec.backend is None:
        rec.backend = be
    names = [rec.define(t._data) for t in outs]
    zero_d = tuple(t._data.ndim == 0 for t in outs)
    multi = out.__class__ is tuple
    rec.lines.append(("op", (cls, ctx, ins, kw, multi, be, zero_d), tuple(names)))
    return out


def _rec_nograd_binary(a: Any, b: Any, fn: Any, name: str) -> Tensor:
    rec = _CURRENT[0]
    orig = _ORIG["_nograd_binary"]
    if rec is None or rec.paused:
        return orig(a, b, fn, name)
    ins = rec.template((_ip.as_operand(a), _ip.as_operand(b)))
    with rec.pause():
        out = orig(a, b, fn, name)
    rec.lines.append(("nograd", (fn, ins, out._be, name), (rec.define(out._data),)))
    return out


def _rec_unary_test(input: Tensor, name: str) -> Tensor:
    rec = _CURRENT[0]
    orig = _ORIG["_unary_test"]
    if rec is None or rec.paused:
        return orig(input, name)
    src = rec.template(input)
    with rec.pause():
        out = orig(input, name)
    rec.lines.append(("test", (name, src, out._be), (rec.define(out._data),)))
    return out


def _rec_finish(data: Any, be: ArrayBackend, requires_grad: bool) -> Tensor:
    rec = _CURRENT[0]
    t = _ORIG["_finish"](data, be, requires_grad)
    if rec is not None and not rec.paused:
        if requires_grad:
            rec.refuse("a tensor that requires grad is created inside the step (make it once)")
        rec.made(t._data)
    return t


def _refusing(key: str, reason: str) -> Any:
    def variant(*args: Any, **kwargs: Any) -> Any:
        rec = _CURRENT[0]
        if rec is not None and not rec.paused:
            rec.refuse(reason)
            with rec.pause():
                return _ORIG[key](*args, **kwargs)
        return _ORIG[key](*args, **kwargs)

    return variant


def _target(rec: Recorder, t: Tensor, what: str) -> Any:
    ref = rec.template(t)
    if isinstance(ref, C):
        rec.refuse(f"{what} writes into a tensor created inside the step")
    return ref


def _rec_arith(key: str, op: str) -> Any:
    def variant(t: Tensor, other: Any, **kwargs: Any) -> Tensor:
        rec = _CURRENT[0]
        orig = _ORIG[key]
        if rec is None or rec.paused:
            return orig(t, other, **kwargs)
        if not isinstance(other, Tensor):
            other = _ip.as_operand(other)
        if _ip._recording(t, other):
            rec.refuse(f"the in-place {key} changes a tensor in the graph")
        elif (
            other.__class__ is Tensor
            and (other._be is not t._be or other._data.dtype != t._data.dtype)
        ) or (
            other.__class__ is not Tensor
            and (other.__class__ not in (int, float) or (t.dtype.kind < 2 and op == "div"))
        ):
            rec.refuse(f"the in-place {key} casts its operand")
        else:
            tref = _target(rec, t, key)
            oref = rec.template(other)
            alpha = kwargs.get("alpha", 1)
            rec.lines.append(("inplace", (tref, op, oref, alpha, t._be), ()))
        with rec.pause():
            return orig(t, other, **kwargs)

    return variant


def _rec_fill(key: str) -> Any:
    def variant(t: Tensor, value: Any = 0, *rest: Any) -> Tensor:
        rec = _CURRENT[0]
        orig = _ORIG[key]
        call = (t,) if key == "zero_" else (t, value, *rest)
        if rec is None or rec.paused:
            return orig(*call)
        if _ip._recording(t):
            rec.refuse(f"{key} changes a tensor in the graph")
        elif isinstance(value, Tensor):
            rec.refuse(f"{key} with a tensor value")
        else:
            v = 0 if key == "zero_" else value
            if v.__class__ is not int or t.dtype.kind == 0:
                v = _ip._value_for(t, _ip.as_operand(v))
            rec.lines.append(("fill", (_target(rec, t, key), v), ()))
        with rec.pause():
            return orig(*call)

    return variant


def _rec_copy(t: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    rec = _CURRENT[0]
    orig = _ORIG["copy_"]
    if rec is None or rec.paused:
        return orig(t, src, non_blocking)
    if _ip._recording(t, src):
        rec.refuse("copy_ changes a tensor in the graph")
    elif not isinstance(src, Tensor) or src._be is not t._be:
        rec.refuse("copy_ from another device")
    else:
        cast = None if src._data.dtype == t._data.dtype else C(t._data.dtype)
        tref = _target(rec, t, "copy_")
        rec.lines.append(("copy", (tref, rec.template(src), cast, C(t._be.xp)), ()))
    with rec.pause():
        return orig(t, src, non_blocking)


def _rec_setitem(t: Tensor, index: Any, value: Any) -> None:
    rec = _CURRENT[0]
    orig = _ORIG["__setitem__"]
    if rec is None or rec.paused:
        return orig(t, index, value)
    ok = False
    with rec.pause():
        if _ip._recording(t, value):
            rec.refuse("item assignment (setitem) changes a tensor in the graph")
        elif isinstance(value, Tensor) and (
            value._be is not t._be or value._data.dtype != t._data.dtype or value.ndim
        ):
            rec.refuse("item assignment of a tensor value")
        else:
            idx, _, _ = _sh.normalize_index(t, index)
            v = value._data if isinstance(value, Tensor) else _ip._value_for(t, value)
            ok = True
    if ok:
        tref = _target(rec, t, "item assignment")
        rec.lines.append(("setitem", (tref, rec.template(idx), rec.template(v), t._be), ()))
    with rec.pause():
        return orig(t, index, value)


def _rec_grad_get(self: Tensor) -> Any:
    g = _ORIG["grad"].fget(self)
    rec = _CURRENT[0]
    if rec is not None and not rec.paused:
        rec.touch(self, read=True)
    if rec is not None and not rec.paused and g is not None:
        rec.lines.append(("loadgrad", (rec.tensor(self),), (rec.define(g._data),)))
    return g


def _rec_grad_set(self: Tensor, value: Any) -> None:
    rec = _CURRENT[0]
    if rec is not None and not rec.paused:
        rec.touch(self)
        if value is None:
            rec.lines.append(("dropgrad", (rec.tensor(self),), ()))
        elif isinstance(value, Tensor) and value._be is self._be:
            rec.lines.append(("setgrad", (rec.tensor(self), rec.template(value), C(value._be)), ()))
        else:
            rec.refuse("a tensor of another device is assigned to .grad inside the step")
    with rec.pause() if rec is not None else contextlib.nullcontext():
        _ORIG["grad"].fset(self, value)


def _rec_zero_grad(key: str) -> Any:
    def variant(self: Any, set_to_none: bool = True) -> None:
        rec = _CURRENT[0]
        if rec is not None and not rec.paused:
            for t in params_of(self):
                rec.touch(t)
            rec.lines.append(("call", (C(self), C(_ORIG[key]), bool(set_to_none)), ()))
            with rec.pause():
                return _ORIG[key](self, set_to_none)
        return _ORIG[key](self, set_to_none)

    return variant


def _rec_opt_step(self: Optimizer, closure: Any = None) -> Any:
    rec = _CURRENT[0]
    if rec is None or rec.paused:
        return _ORIG["Optimizer.step"](self, closure)
    if closure is not None:
        rec.refuse("optimizer.step(closure) inside the step")
    else:
        plan = tuple((g, p) for g in self.param_groups for p in g["params"])
        for _g, p in plan:
            rec.touch(p)
        rec.lines.append(("optstep", (C(self), C(plan)), ()))
    with rec.pause():
        return _ORIG["Optimizer.step"](self, closure)


# ---------------------------------------------------------------- the recording backward
# The real engine (autograd/engine.py) runs the backward; these variants of the
# module-level functions it calls write down each array-level call.  Gradients are
# found by id in the recorder's table: it keeps every array it saw alive, so ids stay
# unique while recording.
def _rec_backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    rec = _CURRENT[0]
    orig = _ORIG["backward"]
    if rec is not None and not rec.paused and (create_graph or inputs is not None):
        rec.refuse("backward(inputs=...) or create_graph inside the step")
        with rec.pause():
            return orig(tensors, grad_tensors, retain_graph, create_graph, inputs)
    return orig(tensors, grad_tensors, retain_graph, create_graph, inputs)


def _rec_root(i: int, t: Any, g: Any) -> tuple:
    """A root's starting gradient: the gradient passed (an array of the program, or one
    from outside, guarded) or one the engine made (ones, or a cast): a constant."""
    edge, ga = _ORIG["_root"](i, t, g)
    rec = _CURRENT[0]
    if rec is not None and not rec.paused:
        if g is not None and ga is g._data:
            rec.template(g)
        else:
            rec.made(ga)
    return edge, ga


class _Returned:
    """Stands in for a node's op class during one backward call, to see whether the
    op's backward returned one array or a tuple (the engine makes both a tuple, the
    program calls the backward itself)."""

    __slots__ = ("op", "value")

    def __init__(self, op: Any) -> None:
        self.op = op
        self.value: Any = None

    def backward(self, ctx: Any, *grads: Any) -> Any:
        self.value = self.op.backward(ctx, *grads)
        return self.value


def _rec_run_node(node: Any, buf: list, borrowed: Any, be: Any) -> tuple | None:
    rec = _CURRENT[0]
    orig = _ORIG["_run_node"]
    if rec is None or rec.paused:
        return orig(node, buf, borrowed, be)
    if node._retained is not None:
        rec.refuse("retain_grad() on a tensor of the step")
    if node._user:  # a user Function's backward runs ops: each is recorded as it runs
        return orig(node, buf, borrowed, be)
    ins = tuple(None if g is None else rec.ref_array(g) for g in buf)
    probe = _Returned(node._fn)
    node._fn = probe
    try:
        with rec.pause():
            grads_in = orig(node, buf, borrowed, be)
    finally:
        del node._fn
    if grads_in is not None:
        single = probe.value.__class__ is not tuple
        refs = tuple(None if g is None else rec.define(g) for g in grads_in)
        rec.lines.append(("bwd", (node, ins, single, be), refs))
    return grads_in


def _rec_fit(node: Any, i: int, g: Any, shape: tuple, dt: Any) -> Any:
    """The engine's ``_fit`` as up to two lines: the sum back to the input's shape, then
    the cast to its dtype (each one call of the engine's own ``_fit``)."""
    rec = _CURRENT[0]
    orig = _ORIG["_fit"]
    if rec is None or rec.paused:
        return orig(node, i, g, shape, dt)
    xp = C(node.xp)
    if g.shape != shape:
        ref = rec.ref_array(g)
        g = orig(node, i, g, shape, g.dtype)
        rec._line("sum_to", (ref, shape, xp), g)
    if g.dtype != dt:
        ref = rec.ref_array(g)
        g = orig(node, i, g, shape, dt)
        rec._line("cast", (ref, C(dt), xp), g)
    return g


def _rec_sum_grads(a: Any, b: Any) -> Any:
    rec = _CURRENT[0]
    out = _ORIG["_sum_grads"](a, b)
    if rec is not None and not rec.paused:
        rec._line("add", (rec.ref_array(a), rec.ref_array(b)), out)
    return out


def _rec_accumulate(leaf: Tensor, g: Any, borrowed: Any) -> None:
    rec = _CURRENT[0]
    orig = _ORIG["_accumulate"]
    if rec is None or rec.paused:
        return orig(leaf, g, borrowed)
    be = leaf._be
    copy = borrowed.holds(g) or be.is_view(g)
    if be.fix(g) is not g:
        rec.refuse("a gradient that is not an array of its device")
    rec.touch(leaf)
    rec.lines.append(("acc", (rec.tensor(leaf), rec.ref_array(g), copy, be), ()))
    with rec.pause():
        return orig(leaf, g, borrowed)


def _rec_grad_impl(*args: Any) -> Any:
    rec = _CURRENT[0]
    if rec is not None and not rec.paused:
        rec.refuse("autograd.grad inside the step is not captured")
        with rec.pause():
            return _ORIG["_grad_impl"](*args)
    return _ORIG["_grad_impl"](*args)


# ---------------------------------------------------------------- installing the variants
def _patches() -> list[tuple[Any, str, str, Any]]:
    """(owner, attribute, key in _ORIG, recording variant) for every swapped entry point."""
    host = "reads a value back to the host inside the step ({}): move it after the step"
    out = [
        (Op, "apply", "Op.apply", classmethod(_rec_op_apply)),
        (_engine, "backward", "backward", _rec_backward),
        (_eng, "_root", "_root", _rec_root),
        (_eng, "_run_node", "_run_node", _rec_run_node),
        (_eng, "_fit", "_fit", _rec_fit),
        (_eng, "_sum_grads", "_sum_grads", _rec_sum_grads),
        (_eng, "_accumulate", "_accumulate", _rec_accumulate),
        (_eng, "_grad_impl", "_grad_impl", _rec_grad_impl),
        (_ew, "_nograd_binary", "_nograd_binary", _rec_nograd_binary),
        (_ew, "_unary_test", "_unary_test", _rec_unary_test),
        (_creation, "_finish", "_finish", _rec_finish),
        (Tensor, "grad", "grad", property(_rec_grad_get, _rec_grad_set)),
        (Optimizer, "step", "Optimizer.step", _rec_opt_step),
        (Optimizer, "zero_grad", "Optimizer.zero_grad", _rec_zero_grad("Optimizer.zero_grad")),
        (Module, "zero_grad", "Module.zero_grad", _rec_zero_grad("Module.zero_grad")),
        (Tensor, "copy_", "copy_", _rec_copy),
        (Tensor, "__setitem__", "__setitem__", _rec_setitem),
        (Tensor, "zero_", "zero_", _rec_fill("zero_")),
        (Tensor, "fill_", "fill_", _rec_fill("fill_")),
    ]
    for name, op in (
        ("add_", "add"),
        ("sub_", "sub"),
        ("mul_", "mul"),
        ("div_", "div"),
        ("__iadd__", "add"),
        ("__isub__", "sub"),
        ("__imul__", "mul"),
        ("__itruediv__", "div"),
    ):
        out.append((Tensor, name, name, _rec_arith(name, op)))
    for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__"):
        out.append((Tensor, name, name, _refusing(name, host.format(f".{name.strip('_')}()"))))
    out.append((Tensor, "__array__", "__array__", _refusing("__array__", host.format("numpy"))))
    for name in ("uniform_", "normal_", "clamp_", "__invert__"):
        why = (
            f"{name} inside the step is not captured"
            if name in ("clamp_", "__invert__")
            else f"random numbers are drawn inside the step ({name})"
        )
        out.append((Tensor, name, name, _refusing(name, why)))
    classes = [ArrayBackend]
    for cls in classes:
        classes.extend(cls.__subclasses__())
    for cls in classes:
        for name in ("standard_normal", "uniform", "integers", "permutation"):
            if name in vars(cls):
                key = f"{cls.__qualname__}.{name}"
                why = f"random numbers are drawn inside the step ({name})"
                out.append((cls, name, key, _refusing(key, why)))
    return out


@contextlib.contextmanager
def capture(rec: Recorder) -> Iterator[Recorder]:
    """Record the step run inside this block into ``rec``."""
    if _CURRENT[0] is not None:
        raise RuntimeError("compile_step: a step is already being recorded (nested capture)")
    patches = _patches()
    saved = []
    for owner, attr, key, variant in patches:
        raw = vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr)
        if key == "Op.apply":
            _ORIG[key] = raw.__func__
        elif key == "grad":
            _ORIG[key] = raw
        else:
            _ORIG[key] = getattr(owner, attr)
        saved.append((owner, attr, raw))
        setattr(owner, attr, variant)
    _CURRENT[0] = rec
    try:
        yield rec
    finally:
        _CURRENT[0] = None
        for owner, attr, raw in reversed(saved):
            setattr(owner, attr, raw)
