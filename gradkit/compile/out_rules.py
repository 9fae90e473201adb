"""``out=`` rules: the hot ops of a program write into buffers allocated once.

A replayed step still allocates every array its ops return, as the eager step does.
For the ops that dominate small nets (``Mm``/``Linear``, ReLU/``clamp(min=)``,
``+ - *``, whole powers, ``sum``/``mean``) a rule writes the same numpy call with
``out=`` into a buffer the program allocates once (the shapes and dtypes are fixed by
the program's guards); numpy's ufuncs and ``matmul`` give the same bits with or without
``out=``.  A value gets a buffer only if nothing can hold it past the replay that made
it (see :func:`plan`): what the step returns, a gradient that becomes a ``.grad``, and
every value a view of them may come from are allocated fresh every step, as eagerly.

Gradients that reach a leaf are written by one fused line (:func:`_emit_acc`): into the
leaf's kept spare array when ``.grad`` is None (as the engine does), into the existing
``.grad`` itself when the program zeroed it earlier in the same replay, or at the end
of the last replay with nothing changing it since (a matrix product: ``0 + x`` is ``x``
bit for bit, and numpy's products never make ``-0.0``), and otherwise into a kept
scratch array that is then added to ``.grad``.

Rules apply to numpy arrays only; any other line is emitted as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.node import AccumulateGrad, grad_buffer
from ..autograd.tensor import new_tensor
from ..ops import activation as _act
from ..ops import elementwise as _ew
from ..ops import linalg as _la
from ..ops import loss as _loss
from ..ops import reduction as _red
from .refs import C, E, V, params_of

__all__ = ["Plan", "plan", "emit", "emit_tail"]

_INT_OF = {np.dtype(np.float32): np.dtype(np.int32), np.dtype(np.float64): np.dtype(np.int64)}
_FLOATS = tuple(_INT_OF)
_MUL_POW_MAX = 8


def _arr(ref: Any, arrays: dict) -> Any:
    """The recorded array a reference stands for (None for Python numbers and others)."""
    if isinstance(ref, V):
        return arrays.get(ref.name)
    if isinstance(ref, E):
        return ref.array
    if isinstance(ref, C):
        return ref.value if ref.value.__class__ is np.ndarray else None
    return None


def _vnames(x: Any, acc: set) -> None:
    if isinstance(x, V):
        acc.add(x.name)
    elif isinstance(x, (tuple, list)):
        for v in x:
            _vnames(v, acc)
    elif isinstance(x, dict):
        for v in x.values():
            _vnames(v, acc)


class Plan:
    """What the rules decided for one program: which values have buffers, which
    forward/backward lines a rule writes, which gradient accumulations are fused."""

    def __init__(self) -> None:
        #: value name -> its buffer (a closure variable of the same name)
        self.buffers: dict[str, np.ndarray] = {}
        #: names nothing may overwrite on the next replay (returned, .grad, views of them)
        self.escaped: set[str] = set()
        #: id(line) -> the rule that writes it
        self.rules: dict[int, Any] = {}
        #: value name -> (producer spec) for a gradient computed inside its acc line
        self.deferred: dict[str, tuple] = {}
        #: id(acc line) -> (producer spec, the leaf's .grad is zero here)
        self.fused: dict[int, tuple] = {}
        self.arrays: dict[str, Any] = {}
        self.fwd_of: dict[int, tuple] = {}
        #: id(no-grad op line) -> the inputs (a .grad read in the step) to check first
        self.guarded: dict[int, list] = {}
        #: leaves (refs) whose .grad the program zeroes last and reads first next time
        self.zero_at_end: list = []
        #: ids of ctx objects whose forward is a rule but whose backward reads ctx.saved
        self.needs_saved: set[int] = set()


# ---------------------------------------------------------------- which rule fits a line
def _same_float(*arrs: Any) -> bool:
    dt = arrs[0].dtype
    return all(a.__class__ is np.ndarray and a.dtype == dt and a.dtype in _FLOATS for a in arrs)


def _binary_ok(a: Any, b: Any, ra: Any, rb: Any) -> bool:
    """Two operands the op uses as they are (no promotion): arrays of one float dtype,
    or a float array and a Python float."""
    if a is not None and b is not None:
        return _same_float(a, b)
    if a is not None and rb.__class__ is float:
        return _same_float(a)
    return False


def _fwd_rule(line: tuple, arrays: dict) -> str | None:
    """The name of the rule for an ``op`` line, or None."""
    cls, _ctx, ins, kw, multi, _be, zero_d = line[1]
    outs = line[2]
    if multi or len(outs) != 1 or zero_d[0]:
        return None
    out = arrays.get(outs[0].name)
    if out is None or out.__class__ is not np.ndarray or out.dtype not in _FLOATS:
        return None
    args = list(ins)
    a = _arr(args[0], arrays) if args else None
    if cls is _la.Mm:
        b = _arr(args[1], arrays)
        ok = a is not None and b is not None and _same_float(a, b, out) and not kw
        return "mm" if ok else None
    if cls in (_la.Linear, _la.LinearNoBias):
        w = _arr(args[1], arrays)
        bias = args[2] if len(args) > 2 else kw.get("b")
        bb = _arr(bias, arrays) if bias is not None else None
        if a is None or w is None or a.ndim != 2 or (bias is not None and bb is None):
            return None
        return "linear" if _same_float(a, w, out, *([bb] if bb is not None else [])) else None
    if a is None or not _same_float(a, out):
        return None
    if cls is _act.Relu and not kw and len(args) == 1:
        return "relu"
    if cls is _ew.ClampMin:
        lo = kw.get("lo", args[1] if len(args) > 1 else None)
        return "clamp_min" if lo.__class__ in (int, float) else None
    if cls in (_ew.Add, _ew.Sub, _ew.Mul):
        alpha = kw.get("alpha", args[2] if len(args) > 2 else 1)
        if alpha != 1 or len(args) < 2:
            return None
        b = _arr(args[1], arrays)
        if not _binary_ok(a, b, args[0], args[1]) or a.shape != out.shape:
            return None
        return {_ew.Add: "add", _ew.Sub: "sub", _ew.Mul: "mul"}[cls]
    if cls is _ew.PowScalar:
        p = kw.get("p", args[1] if len(args) > 1 else 1)
        return "pow" if p.__class__ is int and 2 <= p <= _MUL_POW_MAX else None
    if cls in (_red.Sum, _red.SumDim, _red.Mean, _red.MeanDim):
        return "sum" if cls in (_red.Sum, _red.SumDim) else "mean"
    return None


def _kw(line: tuple, name: str, pos: int, default: Any) -> Any:
    ins, kw = line[1][2], line[1][3]
    return kw.get(name, ins[pos] if len(ins) > pos else default)


# ---------------------------------------------------------------- the plan
#: backward outputs that are the incoming gradient itself (nothing computed)
_ALIAS = {"add": (0, 1), "sub": (0,)}
#: backward outputs computed by a matrix product (never -0.0: may go straight into a zero .grad)
_MATMUL = {"mm": (0, 1), "linear": (0, 1)}
_NO_BWD_RULE = ("sum", "mean")
#: ops without a rule whose forward returns a fresh array, never a view of an input
_FRESH = (_loss.MseLoss, _red.Sum, _red.SumDim, _red.Mean, _red.MeanDim)


def plan(lines: list, keep: set, arrays: dict, be: Any) -> Plan:
    """Decide buffers and rules for a pruned recording.  ``keep``: names the step
    returns; ``arrays``: every recorded value's array by name."""
    pl = Plan()
    pl.arrays = arrays
    if getattr(be, "array_type", None) is not np.ndarray:
        return pl
    # values whose shape may change between replays (a .grad the user may replace)
    unstable: set[str] = set()
    fwd_rule: dict[int, str] = {}
    guarded: dict[int, list] = {}
    for line in lines:
        kind, p, outs = line
        if kind == "op" and p[1] is not None:
            pl.fwd_of[id(p[1])] = line
        if kind == "loadgrad" or _ins(line) & unstable:
            unstable.update(o.name for o in outs if o is not None)
            if kind == "op" and p[1] is None and _fwd_rule(line, arrays) in ("add", "sub", "mul"):
                guarded[id(line)] = sorted(_ins(line) & unstable)  # e.g. lr * w.grad
            continue
        if kind == "op":
            r = _fwd_rule(line, arrays)
            if r is not None:
                fwd_rule[id(line)] = r
    bwd_rule: dict[int, str] = {}
    for line in lines:
        if line[0] != "bwd":
            continue
        fwd = pl.fwd_of.get(id(line[1][0]))
        rule = fwd_rule.get(id(fwd)) if fwd is not None else None
        if rule is None or rule in _NO_BWD_RULE or _ins(line) & unstable:
            continue
        if _bwd_ok(line, fwd, arrays):
            bwd_rule[id(line)] = rule
    # what escapes the replay, walking back from returns and .grad: a line's outputs may
    # be views of any of its inputs (a backward's, of its forward's arrays too), except
    # that a rule's outputs are fresh arrays unless they pass the gradient on as is
    esc = set(keep)
    for line in reversed(lines):
        kind, p, outs = line
        if kind in ("acc", "setgrad"):
            _vnames(p[1], esc)
            continue
        hit = [i for i, o in enumerate(outs) if o is not None and o.name in esc]
        if not hit or id(line) in fwd_rule or (kind == "op" and p[0] in _FRESH):
            continue
        rule = bwd_rule.get(id(line))
        if rule is not None:
            if any(i in _ALIAS.get(rule, ()) for i in hit):
                _vnames(p[1], esc)
            continue
        esc |= _ins(line)
        if kind == "bwd":
            fwd = pl.fwd_of.get(id(p[0]))
            if fwd is not None:
                esc |= _ins(fwd)
                esc.update(o.name for o in fwd[2] if o is not None)
    uses: dict[str, int] = {}
    for line in lines:
        for n in _ins(line):
            uses[n] = uses.get(n, 0) + 1
    zeroed, first, zero_at_end = _zeroed_grads(lines)
    deferrable: dict[str, tuple] = {}  # bwd output -> (bwd line, index, is a matmul)
    for line in lines:
        kind, p, outs = line
        if kind == "op" and id(line) in fwd_rule and outs[0].name not in esc:
            pl.rules[id(line)] = fwd_rule[id(line)]
            _buffer(pl, outs[0].name)
        elif kind == "op" and id(line) in guarded and outs[0].name not in esc:
            pl.guarded[id(line)] = guarded[id(line)]
        elif kind == "bwd" and id(line) in bwd_rule:
            rule = pl.rules[id(line)] = bwd_rule[id(line)]
            for i, o in enumerate(outs):
                if o is None or i in _ALIAS.get(rule, ()):
                    continue
                deferrable[o.name] = (line, i, i in _MATMUL.get(rule, ()))
                if o.name not in esc:
                    _buffer(pl, o.name)
        elif kind == "acc":
            g, copy = p[1], p[2]
            if (
                not isinstance(g, V)
                or g.name not in deferrable
                or uses.get(g.name) != 1
                or g.name in keep
                or copy
            ):
                continue
            bline, i, is_mm = deferrable[g.name]
            pl.deferred[g.name] = (bline, i)
            if not is_mm:
                zero_mode = None
            elif id(line) in zeroed:
                zero_mode = "here"
            elif first.get(id(line)) in zero_at_end:
                zero_mode = "last"  # zeroed at the end of the previous replay, if untouched
                pl.zero_at_end.append(p[0])
            else:
                zero_mode = None
            pl.fused[id(line)] = (g.name, zero_mode)
    pl.escaped = esc
    for line in lines:  # a forward by rule leaves ctx.saved alone: set it if an op reads it
        if line[0] == "bwd" and id(line) not in bwd_rule:
            fwd = pl.fwd_of.get(id(line[1][0]))
            if fwd is not None and id(fwd) in pl.rules:
                pl.needs_saved.add(id(line[1][0]))
    return pl


def _bwd_ok(line: tuple, fwd: tuple, arrays: dict) -> bool:
    """The incoming gradient is an array of the forward output's shape and dtype."""
    g = line[1][1][0] if len(line[1][1]) == 1 else None
    ga, out = _arr(g, arrays), arrays.get(fwd[2][0].name)
    return (
        ga is not None
        and out is not None
        and ga.__class__ is np.ndarray
        and ga.shape == out.shape
        and ga.dtype == out.dtype
    )


def _ins(line: tuple) -> set:
    kind, p, _ = line
    s: set = set()
    if kind == "op":
        _vnames((p[2], p[3]), s)
    elif kind in ("bwd", "nograd"):
        _vnames(p[1], s)
    else:
        _vnames(p, s)
    return s


def _buffer(pl: Plan, name: str) -> None:
    a = pl.arrays[name]
    pl.buffers[name] = np.empty(a.shape, a.dtype)


def _zeroed_grads(lines: list) -> tuple[set[int], dict[int, Any], set]:
    """Where the program knows a leaf's ``.grad`` is zero.  Returns the ids of ``acc``
    lines whose ``.grad`` the program zeroed earlier in the same replay
    (``zero_grad(set_to_none=False)``, ``.grad.zero_()``) with nothing written in
    between; the ``acc`` lines that come before anything else writes that ``.grad`` (by
    id, with their leaf's key); and the leaves whose ``.grad`` the program leaves zeroed
    at its end (seed 004 zeroes its gradients last).  Any write it cannot place (into
    another array that may be a view of a .grad, an optimizer step) forgets all."""
    within: set[int] = set()
    first: dict[int, Any] = {}
    zero: dict[Any, bool] = {}  # leaf key -> zeroed and not written since
    written: set = set()  # leaves whose .grad something wrote so far
    anything = False  # a write that may have touched any .grad
    of_grad: dict[str, Any] = {}  # a loaded .grad array's name -> its leaf's key
    for line in lines:
        kind, p, outs = line
        if kind == "loadgrad":
            of_grad[outs[0].name] = _leaf_key(p[0])
        elif kind == "fill" and isinstance(p[0], V) and p[0].name in of_grad:
            key = of_grad[p[0].name]
            written.add(key)
            if p[1] == 0 and p[1].__class__ is int:
                zero[key] = True
            else:
                zero, anything = {}, True
        elif kind == "call" and p[2] is False:  # zero_grad(set_to_none=False)
            zero = {("C", id(t)): True for t in params_of(p[0].value)}
            anything = True
        elif kind == "acc":
            key = _leaf_key(p[0])
            if zero.get(key, False):
                within.add(id(line))
            if key not in written and not anything:
                first[id(line)] = key
            zero[key] = False
            written.add(key)
        elif kind in ("setgrad", "dropgrad"):
            key = _leaf_key(p[0])
            zero[key] = False
            written.add(key)
        elif kind in ("fill", "inplace", "copy", "setitem", "call", "optstep"):
            zero, anything = {}, True
    return within, first, {k for k, z in zero.items() if z}


def _leaf_key(ref: Any) -> Any:
    return ("A", ref.index) if ref.__class__.__name__ == "A" else ("C", id(ref.value))


# ---------------------------------------------------------------- writing the lines
class _Src:
    """Source helpers bound to one emitter and plan."""

    def __init__(self, em: Any, pl: Plan) -> None:
        self.em = em
        self.pl = pl

    def np(self, name: str) -> str:
        """A numpy function (or ``add_reduce``) as a closure name."""
        fn = np.add.reduce if name == "add_reduce" else getattr(np, name)
        return self.em.obj(fn, name, key=("np", name))

    def ref(self, r: Any) -> str:
        return self.em.src(r)

    def view(self, r: Any, what: str) -> str:
        """``r.T`` (what="T") or ``r.view(int)`` (what="int"): a constant view when ``r``
        is an array that stays the same from replay to replay (a parameter, a buffer)."""
        arr = None
        if isinstance(r, E):
            arr = r.array
        elif isinstance(r, C):
            arr = r.value
        elif isinstance(r, V) and r.name in self.pl.buffers:
            arr = self.pl.buffers[r.name]
        if what == "T":
            if arr is not None:
                return self.em.obj(arr.T, "T", key=("T", id(arr)))
            return f"{self.ref(r)}.T"
        it = _INT_OF[self.pl.arrays[r.name].dtype if isinstance(r, V) else arr.dtype]
        if arr is not None:
            return self.em.obj(arr.view(it), "bits", key=("bits", id(arr)))
        return f"{self.ref(r)}.view({self.em.obj(it, 'INT', key=('dt', it))})"

    def scratch(self, shape: tuple, dtype: Any, hint: str, key: Any) -> str:
        return self.em.obj(np.empty(shape, dtype), hint, key=("scratch", key))


def emit(em: Any, line: tuple, pl: Plan) -> bool:
    """Write ``line`` by its rule; False when it has none (the caller writes it)."""
    kind = line[0]
    if kind == "acc":
        if id(line) not in pl.fused:
            return False
        _emit_acc(_Src(em, pl), line, pl)
        return True
    if kind == "op" and id(line) in pl.guarded:
        _emit_guarded(_Src(em, pl), line, pl.guarded[id(line)])
        return True
    rule = pl.rules.get(id(line))
    if rule is None:
        return False
    s = _Src(em, pl)
    if kind == "op":
        _emit_fwd(s, line, rule)
    else:
        _emit_bwd(s, line, rule)
    return True


def _emit_fwd(s: _Src, line: tuple, rule: str) -> None:
    _cls, ctx, ins, kw, _multi, _be, _z = line[1]
    o = line[2][0].name
    b = s.em.body
    a = s.ref(ins[0])
    saved: tuple = ()
    if rule == "mm":
        b.append(f"    {s.np('matmul')}({a}, {s.ref(ins[1])}, out={o})")
        saved = (ins[0], ins[1])
    elif rule == "linear":
        b.append(f"    {s.np('matmul')}({a}, {s.view(ins[1], 'T')}, out={o})")
        bias = ins[2] if len(ins) > 2 else kw.get("b")
        if bias is not None:
            b.append(f"    {s.np('add')}({o}, {s.ref(bias)}, out={o})")
        saved = (ins[0], ins[1])
    elif rule == "relu":
        b.append(f"    {s.np('maximum')}({a}, 0, out={o})")
        saved = (line[2][0],)
    elif rule == "clamp_min":
        lo = _kw(line, "lo", 1, None)
        b.append(f"    {s.np('maximum')}({a}, {s.ref(lo)}, out={o})")
        saved = (ins[0],)
    elif rule in ("add", "sub", "mul"):
        fn = {"add": "add", "sub": "subtract", "mul": "multiply"}[rule]
        b.append(f"    {s.np(fn)}({a}, {s.ref(ins[1])}, out={o})")
        if rule == "mul":
            saved = (ins[0], ins[1])
    elif rule == "pow":
        _ipow(s, a, _kw(line, "p", 1, 1), o)
        saved = (ins[0],)
    else:  # sum, mean: numpy_fast's add.reduce (and / n)
        dims = _kw(line, "dims", 1, None)
        keep = _kw(line, "keepdim", 2, False)
        axis = tuple(dims) if isinstance(dims, list) else dims
        b.append(f"    {s.np('add_reduce')}({a}, axis={s.ref(axis)}, keepdims={keep!r}, out={o})")
        if rule == "mean":
            shape = _arr(ins[0], s.pl.arrays).shape
            n = 1  # as numpy_fast.mean counts it
            for ax in (
                range(len(shape))
                if axis is None
                else (axis if isinstance(axis, tuple) else (axis,))
            ):
                n *= shape[ax]
            b.append(f"    {s.np('true_divide')}({o}, {n}, out={o})")
    if ctx is not None and id(ctx) in s.pl.needs_saved and saved:
        c = s.em.obj(ctx, "ctx")
        inner = ", ".join(s.ref(r) for r in saved)
        b.append(f"    {c}.saved = ({inner},)")


def _ipow(s: _Src, a: str, n: int, o: str) -> None:
    """``elementwise._ipow(a, n)`` into ``o``: the same multiplications, in place."""
    mul = s.np("multiply")
    first = True
    for bit in bin(n)[3:]:
        if first:
            s.em.body.append(f"    {mul}({a}, {a}, out={o})")
            first = False
        else:
            s.em.body.append(f"    {mul}({o}, {o}, out={o})")
        if bit == "1":
            s.em.body.append(f"    {mul}({o}, {a}, out={o})")


def _maker(s: _Src, line: tuple, rule: str, i: int) -> Any:
    """A function writing output ``i`` of a backward line into a target array (its
    source text): statements that compute what the op's own backward returns."""
    node, gins, _single, _be = line[1]
    fwd = s.pl.fwd_of[id(node)]
    fins = fwd[1][2]
    g = gins[0]
    gs = s.ref(g)
    body = s.em.body

    def put(text: str) -> None:
        body.append("    " + text)

    if rule == "mm":
        if i == 0:
            return lambda t: put(f"{s.np('matmul')}({gs}, {s.view(fins[1], 'T')}, out={t})")
        return lambda t: put(f"{s.np('matmul')}({s.view(fins[0], 'T')}, {gs}, out={t})")
    if rule == "linear":
        if i == 0:
            return lambda t: put(f"{s.np('matmul')}({gs}, {s.ref(fins[1])}, out={t})")
        if i == 1:
            return lambda t: put(f"{s.np('matmul')}({s.view(g, 'T')}, {s.ref(fins[0])}, out={t})")
        return lambda t: put(f"{s.np('add_reduce')}({gs}, axis=0, out={t})")
    if rule in ("relu", "clamp_min"):
        shape = s.pl.arrays[fwd[2][0].name].shape
        mask = s.scratch(shape, np.bool_, "mask", id(line))
        if rule == "relu":
            test = f"{s.np('greater')}({s.ref(fwd[2][0])}, 0, out={mask})"
        else:
            lo = s.ref(_kw(fwd, "lo", 1, None))
            test = f"{s.np('greater_equal')}({s.ref(fins[0])}, {lo}, out={mask})"
        gbits = s.view(g, "int")
        it_dt = _INT_OF[s.pl.arrays[fwd[2][0].name].dtype]
        it = s.em.obj(it_dt, "INT", key=("dt", it_dt))

        def keep(t: str) -> None:  # where(mask, g, 0.0) as g & bits (numpy_fast._keep)
            put(test)
            bits = "_bits"  # a local name no closure object has (those end in a number)
            put(f"{bits} = {t}.view({it})")
            put(f"{s.np('subtract')}(0, {mask}, out={bits}, dtype={it})")
            put(f"{s.np('bitwise_and')}({gbits}, {bits}, out={bits})")

        return keep
    if rule == "sub":  # output 1 (output 0 is g itself)
        return lambda t: put(f"{s.np('negative')}({gs}, out={t})")
    if rule == "mul":
        other = s.ref(fins[1] if i == 0 else fins[0])
        return lambda t: put(f"{s.np('multiply')}({gs}, {other}, out={t})")
    if rule == "pow":
        p = _kw(fwd, "p", 1, 1)
        a = s.ref(fins[0])
        mul = s.np("multiply")
        if p == 2:  # g * (2.0 * a)
            shape = s.pl.arrays[fwd[2][0].name].shape
            tmp = s.scratch(shape, s.pl.arrays[fwd[2][0].name].dtype, "twice", id(line))

            def twice(t: str) -> None:
                put(f"{mul}(2.0, {a}, out={tmp})")
                put(f"{mul}({gs}, {tmp}, out={t})")

            return twice

        def powb(t: str) -> None:  # d = a ** (p-1); d *= p; d *= g
            _ipow(s, a, p - 1, t)  # p >= 3 here
            put(f"{mul}({t}, {p}, out={t})")
            put(f"{mul}({t}, {gs}, out={t})")

        return powb
    raise AssertionError(rule)


def _emit_bwd(s: _Src, line: tuple, rule: str) -> None:
    node, gins, _single, _be = line[1]
    outs = line[2]
    gs = s.ref(gins[0])
    alias = [o.name for i, o in enumerate(outs) if o is not None and i in _ALIAS.get(rule, ())]
    if alias:
        s.em.body.append(f"    {' = '.join(alias)} = {gs}")
    for i, o in enumerate(outs):
        if o is None or i in _ALIAS.get(rule, ()) or o.name in s.pl.deferred:
            continue
        make = _maker(s, line, rule, i)
        if o.name not in s.pl.buffers:  # a fresh array, as the op's own backward makes
            a = s.pl.arrays[o.name]
            new = f"{s.np('empty')}({a.shape!r}, {s.ref(C(a.dtype))})"
            edge = node.next_functions[i][0] if rule in ("mm", "linear") and i == 1 else None
            if edge is not None and edge.__class__ is AccumulateGrad:  # or the leaf's spare
                buf = s.em.obj(grad_buffer, "grad_buffer")
                e = s.em.obj(edge, "edge")
                s.em.body.append(f"    {o.name} = {buf}({e}, {a.shape!r}, {s.ref(C(a.dtype))})")
                s.em.body.append(f"    if {o.name} is None:")
                s.em.body.append(f"        {o.name} = {new}")
            else:
                s.em.body.append(f"    {o.name} = {new}")
        make(o.name)


def _emit_acc(s: _Src, line: tuple, pl: Plan) -> None:
    """``.grad += g`` for a gradient the rule computes right here, into the .grad."""
    leaf, _g, _copy, be = line[1]
    name, zeroed = pl.fused[id(line)]
    bline, i = pl.deferred[name]
    rule = pl.rules[id(bline)]
    make = _maker(s, bline, rule, i)
    a = pl.arrays[name]
    node = bline[1][0]
    edge = node.next_functions[i][0] if rule in ("mm", "linear") and i == 1 else None
    spare = edge is not None and edge.__class__ is AccumulateGrad
    b = s.em.body
    lf = s.ref(leaf)
    cur = "_cur"  # a local name no closure object has (those end in a number)
    shape, dt = repr(a.shape), s.ref(C(a.dtype))
    b.append(f"    {cur} = {lf}._grad")
    b.append(f"    if {cur} is None:")
    if spare:
        gb = s.em.obj(grad_buffer, "grad_buffer")
        b.append(f"        {name} = {gb}({s.em.obj(edge, 'edge')}, {shape}, {dt})")
        b.append(f"        if {name} is None:")
        b.append(f"            {name} = {s.np('empty')}({shape}, {dt})")
    else:
        b.append(f"        {name} = {s.np('empty')}({shape}, {dt})")
    start = len(b)
    make(name)
    b[start:] = ["    " + x for x in b[start:]]
    nt = s.em.obj(new_tensor, "new_tensor")
    b.append(f"        {lf}._grad = {nt}({name}, {s.em.obj(be, 'be')})")
    b.append("    else:")
    if spare:
        b.append(f"        {lf}._spare = None")
    start = len(b)
    scr = "" if zeroed == "here" else s.scratch(a.shape, a.dtype, "scratch", ("acc", id(line)))
    if zeroed == "here":  # the program zeroed this .grad: 0 + g is g (a product never gives -0.0)
        make(f"{cur}._data")
    elif zeroed == "last":  # zeroed at the end of the last replay, if nothing wrote it since
        z = _zero_state(s, leaf)
        b.append(f"if {cur} is {z}[0] and {cur}._data is {z}[1] and {cur}._vc.value == {z}[2]:")
        inner = len(b)
        make(f"{cur}._data")
        b[inner:] = ["    " + x for x in b[inner:]]
        b.append("else:")
        inner = len(b)
        make(scr)
        b.append(f"    {s.np('add')}({cur}._data, {scr}, out={cur}._data)")
        b[inner:] = ["    " + x for x in b[inner:]]
    else:
        make(scr)
        b.append(f"    {s.np('add')}({cur}._data, {scr}, out={cur}._data)")
    b[start:] = ["    " + x if x.startswith("    ") else "        " + x for x in b[start:]]
    b.append(f"        if {cur}._vc is not None:")
    b.append(f"            {cur}._vc.value += 1")


def _zero_state(s: _Src, leaf: Any) -> str:
    """The closure list [.grad tensor, its array, its version] a program keeps for a leaf
    whose ``.grad`` it leaves zeroed: filled by :func:`emit_tail`."""
    return s.em.obj([None, None, None], "zeroed", key=("zeroed", repr(leaf), id(leaf)))


def emit_tail(em: Any, pl: Plan) -> None:
    """The program's last lines (before it returns): remember each ``.grad`` it left
    zeroed, with its version counter (made here if it had none, so that any later
    change through gradkit, an eager backward included, shows as a new version)."""
    s = _Src(em, pl)
    for leaf in pl.zero_at_end:
        z = _zero_state(s, leaf)
        lf = s.ref(leaf)
        em.body.append(f"    _cur = {lf}._grad")
        em.body.append("    if _cur is not None:")
        em.body.append(f"        {z}[0] = _cur")
        em.body.append(f"        {z}[1] = _cur._data")
        em.body.append(f"        {z}[2] = _cur._get_vc().value")


def _emit_guarded(s: _Src, line: tuple, check: list) -> None:
    """A no-grad ``+ - *`` on a ``.grad`` the step reads back (an optimizer written by
    hand: ``w.sub_(lr * w.grad)``): into a buffer when that ``.grad`` still has the
    recorded shape and dtype (a user may have replaced it), else as the op itself."""
    cls, _ctx, ins, _kw, _m, _be, _z = line[1]
    o = line[2][0].name
    out = s.pl.arrays[o]
    buf = s.scratch(out.shape, out.dtype, "buf", ("guarded", id(line)))
    nd = s.em.obj(np.ndarray, "ndarray")
    conds = []
    for n in check:
        a = s.pl.arrays[n]
        dt = s.ref(C(a.dtype))
        conds.append(f"{n}.__class__ is {nd} and {n}.shape == {a.shape!r} and {n}.dtype == {dt}")
    fn = {_ew.Add: "add", _ew.Sub: "subtract", _ew.Mul: "multiply"}[cls]
    b = s.em.body
    b.append(f"    if {' and '.join(conds)}:")
    b.append(f"        {o} = {s.np(fn)}({s.ref(ins[0])}, {s.ref(ins[1])}, out={buf})")
    b.append("    else:")
    fwd = s.em.obj(cls.forward, f"{cls.__name__}_fwd")
    ctx = cls._backward_cls()
    ctx.xp = line[1][5].xp
    args = ", ".join([s.em.obj(ctx, "ctx")] + [s.ref(v) for v in ins])
    b.append(f"        {o} = {fwd}({args})")
