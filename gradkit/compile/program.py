"""The program emitter: a recording becomes one flat Python function.

Every line of the recording is one line of source: an op's own static ``forward`` on
the same ``ctx`` object its backward reads (so each replay refills what the backward
needs), the op's own ``backward``, the engine's gradient sums and casts, ``.grad``
accumulation, and the optimizer's own per-parameter update.  Objects the lines use
(functions, ctx objects, parameters, constants) are closure variables of the function.
"""

from __future__ import annotations

import operator
from typing import Any

from ..autograd.shapes import sum_to
from ..autograd.tensor import Tensor, new_tensor
from ..backend.array_backend import ArrayBackend
from ..ops._util import operands
from ..ops.shape import set_index
from . import out_rules
from .refs import LITERALS, A, C, E, V

__all__ = [
    "Program",
    "MISS",
    "ext_guards",
    "plan_guards",
    "guard_lines",
    "prune",
    "ret_names",
    "ret_src",
]


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


#: what a program returns when a parameter it reads by reference was replaced
MISS = _Miss()

_INPLACE = {"add": operator.iadd, "sub": operator.isub, "mul": operator.imul}
_PURE = {"op", "nograd", "test", "add", "cast", "sum_to", "bwd", "loadgrad"}


def _accumulate(leaf: Tensor, g: Any, copy: bool) -> None:
    """``engine._accumulate`` for a gradient whose sharing is known in advance."""
    cur = leaf._grad
    if cur is None:
        be = leaf._be
        leaf._grad = new_tensor(be.copy(g) if copy else g, be)
    else:
        cur._data += g
        vc = cur._vc
        if vc is not None:
            vc.value += 1


def _optimizer_step(opt: Any, plan: tuple) -> None:
    """``Optimizer.step()``: the optimizer's own update for each parameter with a grad."""
    update = opt._update
    for group, p in plan:
        g = p._grad
        if g is None:
            continue
        update(group, p, g._data)
        p._bump_version()


def _nograd(be: ArrayBackend, fn: Any, a: Any, b: Any) -> Any:
    """A comparison or logical op, as ``elementwise._nograd_binary`` computes it."""
    xp = be.xp
    x, y = operands(xp, a, b)
    return be.fix(fn(xp, x, y))


class _Emitter:
    """Source text and the closure objects it names."""

    def __init__(self) -> None:
        self.objs: dict[str, Any] = {}
        self._by_id: dict[Any, str] = {}
        self.body: list[str] = []

    def obj(self, value: Any, hint: str, key: Any = None) -> str:
        """The closure name of ``value`` (one per object, or per ``key``)."""
        k = id(value) if key is None else key
        name = self._by_id.get(k)
        if name is None:
            name = f"{hint}{len(self.objs)}"
            self.objs[name] = value
            self._by_id[k] = name
        return name

    def src(self, x: Any) -> str:
        if isinstance(x, V):
            return x.name
        if isinstance(x, E):
            return f"e{x.index}"
        if isinstance(x, A):
            return f"A{x.index}"
        if isinstance(x, C):
            return self.obj(x.value, _hint(x.value))
        if x is None or x.__class__ in (bool, int, str):
            return repr(x)
        if x.__class__ is float:
            return repr(x) if x == x and abs(x) != float("inf") else self.obj(x, "k")
        if x is Ellipsis:
            return "..."
        if isinstance(x, slice):
            return f"slice({self.src(x.start)}, {self.src(x.stop)}, {self.src(x.step)})"
        if isinstance(x, tuple):
            inner = ", ".join(self.src(v) for v in x)
            return f"({inner},)" if len(x) == 1 else f"({inner})"
        if isinstance(x, list):
            return "[" + ", ".join(self.src(v) for v in x) + "]"
        if isinstance(x, dict):
            return "{" + ", ".join(f"{k!r}: {self.src(v)}" for k, v in x.items()) + "}"
        if isinstance(x, LITERALS):
            return repr(x)
        return self.obj(x, "k")


def _hint(v: Any) -> str:
    if isinstance(v, Tensor):
        return "P" if v._rg else "T"
    if hasattr(v, "shape"):
        return "k"
    return "o"


def _names(outs: tuple) -> str:
    return ", ".join("_" if o is None else o.name for o in outs)


def _used(payload: Any, acc: set) -> None:
    if isinstance(payload, V):
        acc.add(payload.name)
    elif isinstance(payload, (tuple, list)):
        for v in payload:
            _used(v, acc)
    elif isinstance(payload, dict):
        for v in payload.values():
            _used(v, acc)


def prune(lines: list, keep: set) -> list:
    """Drop lines whose results nothing uses (e.g. a value computed and never read)."""
    live = set(keep)
    live_ctx: set[int] = set()
    out = []
    for line in reversed(lines):
        kind, payload, outs = line
        if kind in _PURE:
            needed = any(o is not None and o.name in live for o in outs)
            if kind == "op" and payload[1] is not None and id(payload[1]) in live_ctx:
                needed = True
            if not needed:
                continue
        if kind == "bwd":
            live_ctx.add(id(payload[0]))
        _used(payload, live)
        out.append(line)
    out.reverse()
    return out


def ret_names(x: tuple, acc: set) -> None:
    kind = x[0]
    if kind == "new":
        acc.add(x[1].name)
    elif kind == "seq":
        for v in x[2]:
            ret_names(v, acc)
    elif kind == "dict":
        for v in x[1].values():
            ret_names(v, acc)


class Program:
    """A recorded step as a Python function of the step's arguments."""

    def __init__(self, rec: Any, out: bool = True) -> None:
        em = _Emitter()
        self.arg_names = rec.arg_names
        params = ", ".join(
            f"A{i}" if n is not None else f"_x{i}" for i, n in enumerate(rec.arg_names)
        )
        keep: set = set()
        ret_names(rec.result, keep)
        lines = prune(rec.lines, keep)
        guards = ext_guards(em, rec) + plan_guards(em, lines)
        head = [f"def step({params}):", *guard_lines(guards)]
        for i, n in enumerate(rec.arg_names):
            if n is not None:
                head.append(f"    {n} = A{i}._data")
        em.objs["MISS"] = MISS
        self.plan = out_rules.plan(lines, keep, rec.named, rec.backend) if out else None
        if self.plan is not None:
            em.objs.update(self.plan.buffers)  # each buffer is named as its value
        for line in lines:
            if self.plan is None or not out_rules.emit(em, line, self.plan):
                _emit(em, line)
        if self.plan is not None:
            out_rules.emit_tail(em, self.plan)
        body = em.body
        body.append(f"    return {ret_src(em, rec.result)}")
        self.lines = len(lines)
        self.source = "\n".join(head + body) + "\n"
        names = sorted(em.objs)
        factory = f"def _make({', '.join(names)}):\n"
        factory += "".join("    " + ln + "\n" for ln in self.source.splitlines())
        factory += "    return step\n"
        ns: dict = {}
        exec(compile(factory, "<gradkit.compile_step program>", "exec"), ns)
        self.run = ns["_make"](**{k: em.objs[k] for k in names})


def ext_guards(em: _Emitter, rec: Any) -> list[str]:
    """Conditions under which a program no longer fits: a tensor it reads from outside
    has a new array, or was frozen or unfrozen (that changes which gradients it makes),
    or a ``.grad`` the step's code reads first is None where it was not, or the reverse
    (``if p.grad is None: ...`` in the step)."""
    guards = []
    for e in rec.exts:
        em.objs[f"e{e.index}"] = e.array
        em._by_id[id(e.array)] = f"e{e.index}"
        if e.tensor is not None:
            t = em.obj(e.tensor, _hint(e.tensor))
            guards.append(f"{t}._data is not e{e.index}")
            guards.append(f"{t}._rg is not {bool(e.tensor._rg)}")
    for ref, was_none in rec.first_reads:  # the step's code may branch on it
        guards.append(f"({em.src(ref)}._grad is None) is not {was_none}")
    return guards


def same_plan(opt: Any, plan: tuple) -> bool:
    """Whether ``opt`` still updates the recorded (group, parameter) pairs, in order (a
    group added, or a parameter added to or removed from one, records again)."""
    k = 0
    n = len(plan)
    for g in opt.param_groups:
        for p in g["params"]:
            if k >= n or plan[k][0] is not g or plan[k][1] is not p:
                return False
            k += 1
    return k == n


def plan_guards(em: _Emitter, lines: list) -> list[str]:
    """A guard per optimizer step in ``lines``: its parameter groups are as recorded."""
    out = []
    for kind, p, _ in lines:
        if kind == "optstep":
            fn = em.obj(same_plan, "same_plan")
            out.append(f"not {fn}({em.src(p[0])}, {em.src(p[1])})")
    return out


def guard_lines(guards: list[str]) -> list[str]:
    """``if <any guard>: return MISS``, four conditions a line."""
    out = []
    for chunk in range(0, len(guards), 4):
        out.append(f"    if {' or '.join(guards[chunk : chunk + 4])}:")
        out.append("        return MISS")
    return out


def ret_src(em: _Emitter, x: tuple, new: Any = None) -> str:
    """Source for what the step returns: ("new", V, be) a fresh tensor of a program
    value (``new(x)`` writes it, when given), ("arg", i) an argument, ("obj", C) a
    recorded object, ("lit", value), ("seq", tuple|list, items), ("dict", {key: item})."""
    kind = x[0]
    if kind == "new":
        if new is not None:
            return new(x)
        return f"{em.obj(new_tensor, 'new_tensor')}({x[1].name}, {em.obj(x[2], 'be')})"
    if kind == "arg":
        return f"A{x[1]}"
    if kind in ("obj", "lit"):
        return em.src(x[1])
    if kind == "seq":
        inner = ", ".join(ret_src(em, v, new) for v in x[2])
        if x[1] is tuple:
            return f"({inner},)" if len(x[2]) == 1 else f"({inner})"
        return f"[{inner}]"
    return "{" + ", ".join(f"{k!r}: {ret_src(em, v, new)}" for k, v in x[1].items()) + "}"


def _with(em: _Emitter, quiet: bool, be: Any, line: str) -> None:
    if quiet:
        em.body.append(f"    with {em.obj(be.quiet_fp, 'quiet', key=('quiet', id(be)))}():")
        em.body.append(f"        {line}")
    else:
        em.body.append(f"    {line}")


def _emit(em: _Emitter, line: tuple) -> None:
    kind, p, outs = line
    b = em.body
    if kind == "op":
        cls, ctx, ins, kw, multi, be, zero_d = p
        if ctx is None:
            ctx = cls._backward_cls()
            ctx.xp = be.xp
        fwd = em.obj(cls.forward, f"{cls.__name__}_fwd")
        c = em.obj(ctx, "ctx")
        args = [c] + [em.src(v) for v in ins] + [f"{k}={em.src(v)}" for k, v in kw.items()]
        target = _names(outs) + ("," if multi and len(outs) == 1 else "")
        _with(em, cls.fp_quiet, be, f"{target} = {fwd}({', '.join(args)})")
        if type(be).fix is not ArrayBackend.fix and any(zero_d):
            fix = em.obj(be.fix, "fix", key=("fix", id(be)))
            at = em.obj(be.array_type, "ARRAY")
            for o, z in zip(outs, zero_d):
                if not z:
                    continue
                b.append(f"    if {o.name}.__class__ is not {at}:")
                b.append(f"        {o.name} = {fix}({o.name})")
    elif kind == "nograd":
        fn, (x, y), be, name = p
        f = em.obj(fn, name)
        b.append(f"    {outs[0].name} = {em.obj(_nograd, 'nograd')}({em.obj(be, 'be')}, {f}, ")
        b[-1] += f"{em.src(x)}, {em.src(y)})"
    elif kind == "test":
        name, x, be = p
        fn = em.obj(getattr(be.xp, name), name)
        fix = em.obj(be.fix, "fix", key=("fix", id(be)))
        b.append(f"    {outs[0].name} = {fix}({fn}({em.src(x)}))")
    elif kind == "add":
        b.append(f"    {outs[0].name} = {em.src(p[0])} + {em.src(p[1])}")
    elif kind == "cast":
        g, dt, xp = p
        b.append(f"    {outs[0].name} = {em.src(xp)}.astype({em.src(g)}, {em.src(dt)})")
    elif kind == "sum_to":
        g, shape, xp = p
        st = em.obj(sum_to, "sum_to")
        b.append(f"    {outs[0].name} = {st}({em.src(xp)}, {em.src(g)}, {em.src(shape)})")
    elif kind == "bwd":
        node, ins, single, be = p
        bwd = em.obj(node._fn.backward, f"{node.name()}_bwd")
        args = ", ".join([em.obj(node, "ctx")] + [em.src(v) for v in ins])
        target = _names(outs) + ("" if single or len(outs) > 1 else ",")
        _with(em, node._quiet, be, f"{target} = {bwd}({args})")
    elif kind == "acc":
        leaf, g, copy, _be = p
        b.append(f"    {em.obj(_accumulate, 'accumulate')}({em.src(leaf)}, {em.src(g)}, {copy})")
    elif kind == "inplace":
        t, op, o, alpha, be = p
        rhs = em.src(o) if alpha == 1 else f"{em.src(o)} * {em.src(alpha)}"
        if op == "div":
            _with(em, True, be, f"{em.obj(operator.itruediv, 'itruediv')}({em.src(t)}, {rhs})")
        else:
            b.append(f"    {em.obj(_INPLACE[op], 'i' + op)}({em.src(t)}, {rhs})")
    elif kind == "fill":
        b.append(f"    {em.src(p[0])}[...] = {em.src(p[1])}")
    elif kind == "copy":
        t, s, cast, xp = p
        rhs = em.src(s) if cast is None else f"{em.src(xp)}.astype({em.src(s)}, {em.src(cast)})"
        b.append(f"    {em.src(t)}[...] = {rhs}")
    elif kind == "setitem":
        t, idx, v, be = p
        si = em.obj(set_index, "set_index")
        b.append(f"    {si}({em.obj(be, 'be')}, {em.src(t)}, {em.src(idx)}, {em.src(v)})")
    elif kind == "loadgrad":
        b.append(f"    {outs[0].name} = {em.src(p[0])}._grad._data")
    elif kind == "setgrad":
        leaf, v, be = p
        nt = em.obj(new_tensor, "new_tensor")
        b.append(f"    {em.src(leaf)}._grad = {nt}({em.src(v)}, {em.src(be)})")
    elif kind == "dropgrad":
        b.append(f"    {em.src(p[0])}._drop_grad()")
    elif kind == "call":
        obj, fn, flag = p
        b.append(f"    {em.src(fn)}({em.src(obj)}, {flag})")
    elif kind == "optstep":
        opt, plan = p
        step = em.obj(_optimizer_step, "optimizer_step")
        b.append(f"    {step}({em.src(opt)}, {em.src(plan)})")
    else:  # pragma: no cover - every kind the recorder writes is handled above
        raise AssertionError(kind)
