"""The graph-safe program: a recorded step split so its device half can be a CUDA graph.

A CUDA graph replays kernels with the arguments they had when captured, with no Python
in between.  So the device half (``body``) may only make array calls on arrays that
stay where they are: it reads the step's inputs from static buffers, the parameters and
the optimizer's state by address, and every number that changes from step to step (the
learning rate a schedule sets, Adam's bias corrections) from small device arrays.  All
the rest is host work around it, in ``step``:

- before: the guards (a miss re-records, as for any program), the inputs copied into
  their buffers, a ``.grad`` the step adds to copied into its buffer, the optimizer's
  host half (its step counts, this step's numbers, uploaded in one write per dtype);
- after: each ``.grad`` set to the array the body left it in, versions bumped, what the
  step returns (copied out of the graph's arrays, which the next step rewrites).

Every choice eager code makes on the host (is ``.grad`` None, which optimizer options
are on) is made once, when the program is built, from the recording, and guarded.
"""

from __future__ import annotations

import operator
import sys
from typing import Any

from ..autograd.tensor import Tensor, new_tensor
from ..backend import capture
from ..optim.optimizer import has_kernel
from .program import (
    MISS,
    _emit,
    _Emitter,
    ext_guards,
    guard_lines,
    plan_guards,
    prune,
    ret_names,
    ret_src,
)
from .refs import A, C, V, params_of

__all__ = ["GraphProgram", "NoGraph"]

#: lines that only make array calls on the arrays they name
_ARRAY_KINDS = {"op", "nograd", "test", "add", "cast", "sum_to", "bwd"}
#: lines that write into an array in place
_WRITES = {"inplace", "fill", "copy", "setitem"}


class NoGraph(Exception):
    """Why a recording cannot be a graph-safe program (the plain program still replays)."""


def _set_grad(leaf: Tensor, arr: Any, be: Any) -> None:
    """``leaf.grad`` is now ``arr`` (the same tensor, a new version, if it already was)."""
    g = leaf._grad
    if g is not None and g._data is arr:
        g._bump_version()
    else:
        leaf._grad = new_tensor(arr, be)


def _put_back(entry: Tensor, buf: Any) -> None:
    """Copy what the body left in ``buf`` back into the ``.grad`` tensor the step began
    with (eagerly, the step writes into that tensor in place: its identity is kept)."""
    entry._data[...] = buf
    entry._bump_version()


def _may_alias(a: Any, b: Any) -> bool:
    """Whether two recorded arrays may share memory (numpy, cupy or array-api-strict)."""
    a, b = getattr(a, "_array", a), getattr(b, "_array", b)  # array-api-strict wraps numpy
    if a.__class__ is not b.__class__:
        return False
    mod = sys.modules[type(a).__module__.split(".")[0]]
    return bool(mod.may_share_memory(a, b))


def _apart(*leaves: Tensor) -> bool:
    """The ``.grad`` arrays of ``leaves`` are distinct and none is a view (so none can
    share memory with another: each is copied into its buffer and back whole)."""
    arrs = [t._grad._data for t in leaves]
    if len({id(a) for a in arrs}) != len(arrs):
        return False
    return all(getattr(getattr(a, "_array", a), "base", None) is None for a in arrs)


def _dense(arr: Any) -> bool:
    """C- or Fortran-contiguous (so ``empty_like`` gives a buffer of the same strides)."""
    flags = getattr(getattr(arr, "_array", arr), "flags", None)
    return flags is None or bool(flags.c_contiguous or flags.f_contiguous)


def _grad_fits(leaf: Tensor, shape: tuple, dtype: Any) -> bool:
    g = leaf._grad
    return g is not None and g._data.shape == shape and g._data.dtype == dtype


class _OptimizerPlan:
    """The optimizer steps in a program: which parameters they update, with what."""

    def __init__(self) -> None:
        #: (optimizer, group, parameter, its array, its state arrays, flags, dtype)
        self.entries: list[tuple] = []
        self.counts: list[int] = []
        #: dtype -> (buffer, [entry index, ...])
        self.buffers: dict[Any, Any] = {}

    def fits(self) -> bool:
        """The parameters, state arrays and branch-choosing options are as recorded."""
        for opt, group, p, data, bufs, flags, _dt in self.entries:
            if p._data is not data or opt._flags(group) != flags:
                return False
            try:
                now = opt._buffers(group, opt.state.get(p) or {})
            except KeyError:  # its state was cleared or reset
                return False
            if len(now) != len(bufs) or any(a is not b for a, b in zip(now, bufs)):
                return False
        return True

    def host_half(self, be: Any) -> None:
        """Count each update's step and upload this step's numbers (one write a dtype)."""
        values: dict[Any, list] = {dt: [] for dt in self.buffers}
        for opt, group, p, _data, _bufs, _flags, dt in self.entries:
            st = opt._prepare(group, p)
            values.setdefault(dt, []).extend(opt._scalars(group, st))
        for dt, buf in self.buffers.items():
            be.write(buf, values[dt])

    def bump(self) -> None:
        for _opt, _group, p, *_ in self.entries:
            p._bump_version()


class GraphProgram:
    """A recorded step as ``step`` (host) around ``body`` (device only), see the module."""

    def __init__(self, rec: Any) -> None:
        be = rec.backend
        if be is None:
            raise NoGraph("the step makes no array call")
        self.be = be
        #: whether the user was told that its capture failed
        self.told = False
        em = _Emitter()
        em.objs["MISS"] = MISS
        keep: set = set()
        ret_names(rec.result, keep)
        lines = self._lines = prune(rec.lines, keep)
        self.lines = len(lines)
        self._em = em
        self._state: dict[int, str | None] = {}  # id(leaf) -> the array its .grad is in
        #: a leaf's key (``id`` of the tensor, or ``("A", i)`` for argument i) -> the
        #: tensor when the program was built, and its source in ``step``
        self._leaves: dict[Any, tuple[Tensor, str]] = {}
        self._args_t = rec.args
        self._first_grads = rec.first_grads
        #: leaves whose .grad must be None when the step begins (their source)
        self._entry_none: list[str] = []
        #: leaves whose .grad the step adds to: (source, key, buffer it is copied into)
        self._entry_load: list[tuple[str, Any, str]] = []
        self._grad_names: set[str] = set()
        self._n = 0
        self.opt = _OptimizerPlan()
        self._named = rec.named
        self._args = [rec.named[n] for n in rec.arg_names if n is not None]
        self._guards = ext_guards(em, rec)  # names the outside arrays, which the body reads
        body = em.body
        for i, n in enumerate(rec.arg_names):
            if n is not None:
                arr = rec.named[n]
                if not _dense(arr):
                    raise NoGraph(
                        f"argument {i} is a view with gaps (its input buffer would add up in "
                        "another order): pass x.contiguous()"
                    )
                buf = be.xp.empty_like(arr)
                body.append(f"    {n} = {em.obj(buf, 'S', key=('S', i))}")
        for line in lines:
            self._line(line)
        self._coefficients()
        # what the body returns: each .grad it leaves in an array of its own, then the
        # step's results (a .grad the step began with is copied back from its buffer)
        loaded = {name for _src, _k, name in self._entry_load}
        grads = [
            (k, self._leaves[k][1], s)
            for k, s in self._state.items()
            if s is not None and s not in loaded
        ]
        results: list[str] = []
        copy = em.obj(be.copy, "copy", key=("copy",))
        nt = em.obj(new_tensor, "new_tensor")

        def returned(x: tuple) -> str:  # a value the body made: a copy of the graph's array
            results.append(x[1].name)
            v = f"_o[{len(grads) + len(results) - 1}]"
            if self._of_args(x[1].name):  # a view of an input buffer: always a copy
                return f"{nt}({copy}({v}), be)"
            return f"{nt}({copy}({v}) if _copies else {v}, be)"

        ret = ret_src(em, rec.result, returned)
        outs = [s for _, _, s in grads] + results
        body.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
        self.body_source = "def body():\n" + "\n".join(body) + "\n"
        self.runner = capture.runner(be, self._make(self.body_source, "body"))
        em.objs["run"] = self.runner
        em.objs["be"] = be
        self.step_source = self._step_source(rec, grads, ret)
        self.run = self._make(self.step_source, "step")

    # -- the body, line by line --
    def _leaf(self, ref: Any) -> Any:
        """The key of a leaf a line names (an argument, or a tensor from outside)."""
        if isinstance(ref, A):
            return self._tensor_key(self._args_t[ref.index])
        return self._tensor_key(ref.value)

    def _tensor_key(self, t: Tensor) -> Any:
        for i, a in enumerate(self._args_t):
            if a is t:
                self._leaves[("A", i)] = (t, f"A{i}")
                return ("A", i)
        if id(t) not in self._leaves:
            self._leaves[id(t)] = (t, self._em.obj(t, "P"))
        return id(t)

    def _grad(self, k: Any, reads: bool) -> str | None:
        """The array ``t.grad`` is in at this point of the body.  The first time the body
        reads it, that is what it was when the step began, as the last call left it:
        None (guarded), or a buffer the step's start copies it into."""
        if k in self._state:
            return self._state[k]
        t, src = self._leaves[k]
        if id(t) in self._first_grads:  # as it was when the recorded step began
            now = self._first_grads[id(t)]
        else:
            now = None if t._grad is None else t._grad._data
        if not reads or now is None:
            if reads:
                self._entry_none.append(src)
            self._state[k] = None
            return None
        name = self._em.obj(self.be.xp.empty_like(now), "G")
        self._entry_load.append((src, k, name))
        self._state[k] = name
        return name

    def _of_args(self, name: str) -> bool:
        """Whether value ``name`` may share memory with an argument (its input buffer)."""
        arr = self._named.get(name)
        return arr is None or any(_may_alias(arr, a) for a in self._args)

    def _local(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def _line(self, line: tuple) -> None:
        kind, p, outs = line
        em, body = self._em, self._em.body
        if kind in _ARRAY_KINDS:
            _emit(em, line)
        elif kind in _WRITES:
            target = p[0]
            named = isinstance(target, V) and target.name not in self._grad_names
            if named and self._of_args(target.name):
                raise NoGraph("the step writes in place into a tensor it was given")
            _emit(em, line)
        elif kind == "acc":
            leaf, g, copy, _be = p
            t = self._leaf(leaf)
            cur = self._grad(t, reads=True)
            if cur is None:
                name = self._local("grad")
                src = em.src(g)
                if copy:
                    src = f"{em.obj(self.be.copy, 'copy', key=('copy',))}({src})"
                body.append(f"    {name} = {src}")
                self._state[t] = name
            else:  # in place, as the engine adds to an existing .grad
                iadd = em.obj(operator.iadd, "iadd", key=("iadd",))
                body.append(f"    {iadd}({cur}, {em.src(g)})")
        elif kind == "loadgrad":
            t = self._leaf(p[0])
            cur = self._grad(t, reads=True)
            if cur is None:
                raise NoGraph("the step reads a .grad that is None")
            body.append(f"    {outs[0].name} = {cur}")
            self._grad_names.add(outs[0].name)
        elif kind == "dropgrad":
            t = self._leaf(p[0])
            self._grad(t, reads=False)
            self._state[t] = None
        elif kind == "setgrad":  # .grad = t: that array (a constant is copied: it is
            t = self._leaf(p[0])  # made fresh each step eagerly, and may be added to)
            self._grad(t, reads=False)
            name = self._local("grad")
            src = em.src(p[1])
            if isinstance(p[1], C) or (isinstance(p[1], V) and self._of_args(p[1].name)):
                src = f"{em.obj(self.be.copy, 'copy', key=('copy',))}({src})"
            body.append(f"    {name} = {src}")
            self._state[t] = name
        elif kind == "call":  # zero_grad
            obj, _fn, set_to_none = p
            for t in params_of(obj.value):
                k = self._tensor_key(t)
                cur = self._grad(k, reads=not set_to_none)
                if set_to_none:
                    self._state[k] = None
                elif cur is not None:
                    body.append(f"    {cur}[...] = 0")
        elif kind == "optstep":
            self._optimizer_step(p[0].value, p[1].value)
        else:
            raise NoGraph(f"a {kind} line has no graph-safe form")

    def _optimizer_step(self, opt: Any, plan: tuple) -> None:
        if not has_kernel(opt):
            raise NoGraph(
                f"{type(opt).__name__} has no device-side update (an _update of its own, "
                "without _prepare/_scalars/_kernel)"
            )
        em = self._em
        xp = em.obj(self.be.xp, "xp", key=("xp",))
        kernel = em.obj(type(opt)._kernel, f"{type(opt).__name__}_kernel")
        for group, p in plan:
            k = self._tensor_key(p)
            if k.__class__ is tuple:
                raise NoGraph("an optimizer updates a tensor the step takes as an argument")
            g = self._grad(k, reads=True)
            if g is None:
                continue
            st = opt.state.get(p) or {}
            try:
                bufs = opt._buffers(group, st)
            except KeyError:
                raise NoGraph("an optimizer has no state yet for a parameter it updates") from None
            flags = opt._flags(group)
            dt = p._data.dtype
            k = len(self.opt.entries)
            self.opt.entries.append((opt, group, p, p._data, bufs, flags, dt))
            self.opt.counts.append(len(opt._scalars(group, st)))
            data = em.obj(p._data, "D")
            bnames = ", ".join(em.obj(b, "B") for b in bufs)
            bsrc = f"({bnames}{',' if len(bufs) == 1 else ''})"
            em.body.append(f"    {kernel}({xp}, {flags!r}, {data}, {g}, {bsrc}, c{k})")

    def _coefficients(self) -> None:
        """One device array of numbers per dtype; each update reads 0-d views of it."""
        xp, dev = self.be.xp, self.be.native
        offsets: dict[Any, int] = {}
        spans = []
        for (*_, dt), n in zip(self.opt.entries, self.opt.counts):
            start = offsets.get(dt, 0)
            offsets[dt] = start + n
            spans.append((dt, start, n))
        for dt, total in offsets.items():
            if total:  # an optimizer with no numbers (its _scalars is ()) uploads nothing
                self.opt.buffers[dt] = xp.zeros((total,), dtype=dt, device=dev)
        for k, (dt, start, n) in enumerate(spans):
            buf = self.opt.buffers.get(dt)
            self._em.objs[f"c{k}"] = tuple(buf[i, ...] for i in range(start, start + n))

    # -- the host half --
    def _step_source(self, rec: Any, grads: list, ret: str) -> str:
        em = self._em
        params = ", ".join(
            f"A{i}" if n is not None else f"_x{i}" for i, n in enumerate(rec.arg_names)
        )
        src = [f"def step({params}):"]
        guards = self._guards + plan_guards(em, self._lines)
        for t in self._entry_none:
            guards.append(f"{t}._grad is not None")
        fits = em.obj(_grad_fits, "grad_fits")
        for t, _k, name in self._entry_load:
            arr = em.objs[name]
            dt = em.obj(arr.dtype, "dtype", key=("dtype", str(arr.dtype)))
            guards.append(f"not {fits}({t}, {arr.shape!r}, {dt})")
        if len(self._entry_load) > 1:  # each copied back whole: no two may share memory
            apart = em.obj(_apart, "apart")
            guards.append(f"not {apart}({', '.join(t for t, _k, _n in self._entry_load)})")
        if self.opt.entries:
            guards.append(f"not {em.obj(self.opt, 'optimizers')}.fits()")
        src += guard_lines(guards)
        for i, n in enumerate(rec.arg_names):
            if n is not None:
                src.append(f"    {em.obj(None, 'S', key=('S', i))}[...] = A{i}._data")
        for j, (t, _k, name) in enumerate(self._entry_load):
            src.append(f"    _e{j} = {t}._grad")
            src.append(f"    {name}[...] = _e{j}._data")
        if self.opt.entries:
            src.append(f"    {em.obj(self.opt, 'optimizers')}.host_half(be)")
        src.append("    _o = run()")
        put_back = em.obj(_put_back, "put_back")
        for j, (_t, _k, name) in enumerate(self._entry_load):
            src.append(f"    {put_back}(_e{j}, {name})")
        set_grad = em.obj(_set_grad, "set_grad")
        copy = em.obj(self.be.copy, "copy", key=("copy",))
        entry_keys = {k for _t, k, _n in self._entry_load}
        for j, (k, t, _s) in enumerate(grads):
            # an argument's own .grad is never the graph's array; nor is a new .grad of a
            # leaf whose .grad the step began with (the next call's put_back writes there)
            if k.__class__ is tuple or k in entry_keys:
                src.append(f"    {set_grad}({t}, {copy}(_o[{j}]) if _copies else _o[{j}], be)")
            else:
                src.append(f"    {set_grad}({t}, _o[{j}], be)")
        for k, (_t, t) in self._leaves.items():
            if self._state.get(k, "") is None:
                src.append(f"    {t}._drop_grad()")
        if self.opt.entries:
            src.append(f"    {em.obj(self.opt, 'optimizers')}.bump()")
        em.objs["_copies"] = self.runner.reuses_outputs
        src.append(f"    return {ret}")
        return "\n".join(src) + "\n"

    def _make(self, source: str, name: str) -> Any:
        em = self._em
        names = sorted(em.objs)
        factory = f"def _make({', '.join(names)}):\n"
        factory += "".join("    " + ln + "\n" for ln in source.splitlines())
        factory += f"    return {name}\n"
        ns: dict = {}
        exec(compile(factory, f"<gradkit.compile_step graph {name}>", "exec"), ns)
        return ns["_make"](**{k: em.objs[k] for k in names})

    @property
    def source(self) -> str:
        """The program as Python: the host half, then the device half."""
        return self.step_source + "\n" + self.body_source
