"""``compile_step``: record a training step twice, then replay it as one flat program."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from ..autograd.grad_mode import MODE
from ..autograd.tensor import Tensor
from .graph import GraphProgram, NoGraph
from .program import MISS, Program
from .recorder import Recorder, active, capture
from .refs import LITERALS, C, E, describe, same

__all__ = ["compile_step", "CompiledStep"]

#: programs kept per step function (one per input signature); more falls back to eager
MAX_PROGRAMS = 8
#: a program whose guards fail this many times, on more than one call in MISS_SHARE it
#: replays, gives way (see CompiledStep._missed)
MAX_MISSES = 3
MISS_SHARE = 4


def _signature(args: tuple) -> tuple | None:
    """What a program is valid for: each argument's shape, dtype, device, requires_grad
    and strides (or a Python value itself), and the grad mode; None if an argument
    cannot be keyed."""
    sig: list = [MODE.enabled]
    for a in args:
        if a.__class__ is Tensor:
            d = a._data
            sig.append((d.shape, d.dtype, a._be, a._rg, layout(d)))
        elif isinstance(a, float):  # by repr: -0.0 is not 0.0 here, and nan is nan
            sig.append((a.__class__, repr(a)))
        elif isinstance(a, LITERALS):
            sig.append((a.__class__, a))
        else:
            return None
    return tuple(sig)


def layout(d: Any) -> tuple | None:
    """An array's strides (array-api-strict's: its numpy array's), part of a program's
    key: a sum over a transposed view adds in another order, so another program."""
    st = getattr(d, "strides", None)
    if st is None:
        st = getattr(getattr(d, "_array", None), "strides", None)
    return st


def _result_template(rec: Recorder, x: Any) -> tuple:
    if isinstance(x, Tensor):
        for i, a in enumerate(rec.args):
            if a is x:
                return ("arg", i)
        ref = rec.ref_array(x._data, x)
        if ref.__class__.__name__ == "V":
            return ("new", ref, x._be)
        return ("obj", C(x))
    if isinstance(x, (tuple, list)) and type(x) in (tuple, list):
        return ("seq", type(x), [_result_template(rec, v) for v in x])
    if type(x) is dict:
        return ("dict", {k: _result_template(rec, v) for k, v in x.items()})
    if isinstance(x, LITERALS):
        return ("lit", x)
    rec.refuse(f"the step returns a {type(x).__name__}; return tensors (or None)")
    return ("lit", None)


def _difference(a: Recorder, b: Recorder) -> str | None:
    """Where two recordings of the same step differ, or None."""
    if [w for _, w in a.first_reads] != [w for _, w in b.first_reads]:
        return (
            "a .grad the step's code reads is None on one call and not on the next (the "
            "step may branch on it, as `if p.grad is None:` does)"
        )
    if len(a.lines) != len(b.lines):
        return f"{len(a.lines)} calls one time, {len(b.lines)} the next"
    for k, (la, lb) in enumerate(zip(a.lines, b.lines)):
        if la[0] != lb[0]:
            return f"call {k} is {la[0]} one time, {lb[0]} the next"
        pa, pb = _comparable(la), _comparable(lb)
        if not same(pa, pb):
            x, y = _first_difference(pa, pb)
            what = f"call {k} ({_what(la)})"
            if isinstance(x, E) and isinstance(y, E) and x.index == y.index:
                return (
                    f"{what} reads {x!r}, a tensor from outside the recorded ops that is a {_NEW}"
                )
            if isinstance(x, C) and isinstance(y, C) and hasattr(x.value, "shape"):
                return f"{what} uses {describe(x)} whose values change from call to call"
            return f"{what} uses {describe(x)}, then {describe(y)}"
    if len(a.exts) != len(b.exts) or not same(a.exts, b.exts):
        return f"it reads a tensor from outside the recorded ops that is a {_NEW}"
    if not same(a.result, b.result):
        return f"it returns a tensor from outside the recorded ops that is a {_NEW}"
    return None


#: why a tensor read from outside a step differs between two calls, and what to do
_NEW = (
    "new array each call (made by .to()/.cpu(), argmax or a comparison on a value read "
    "back, a .data assignment, or replaced between calls): compute it outside the step "
    "and pass it in, or keep it out of the step"
)


def _first_difference(a: Any, b: Any) -> tuple:
    """The innermost pair of recorded values where ``a`` and ``b`` first differ."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
        for x, y in zip(a, b):
            if not same(x, y):
                return _first_difference(x, y)
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        for k in a:
            if not same(a[k], b[k]):
                return _first_difference(a[k], b[k])
    return a, b


def _what(line: tuple) -> str:
    kind, p, _ = line
    if kind == "op":
        return p[0].__name__
    if kind == "bwd":
        return p[0].name()
    return kind


def _comparable(line: tuple) -> tuple:
    """A line without what differs by nature between two runs (ctx and graph nodes)."""
    kind, p, outs = line
    if kind == "op":
        cls, _ctx, ins, kw, multi, be, zero_d = p
        return (C(cls), ins, kw, multi, C(be), zero_d, tuple(outs))
    if kind == "bwd":
        node, ins, single, be = p
        return (C(type(node)), ins, single, C(be), tuple(outs))
    if kind == "nograd":
        _fn, ins, be, name = p
        return (ins, C(be), name, tuple(outs))
    return (*p, tuple(outs))


class CompiledStep:
    """A step function that is recorded on its first calls and replayed after.

    Call it like the function.  The first call with new input shapes runs eagerly and
    is recorded; the second is recorded again and compared (a step that does not
    repeat itself is not captured); later calls replay the program.  Where the step
    cannot be captured it keeps running eagerly and ``reason`` says why.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        warn: bool = True,
        buffers: bool = True,
        graph: bool | None = None,
    ) -> None:
        self.fn = fn
        self.warn = warn
        self.buffers = buffers
        self.graph = graph
        #: why the step runs eagerly (None while it is captured or being captured)
        self.reason: str | None = None
        #: why a program that was to be graph-safe (a CUDA graph) is not (None: it is)
        self._graph_reason: str | None = None
        self.counts = {"eager": 0, "recorded": 0, "replayed": 0}
        self._programs: dict[tuple, Program] = {}
        self._first: dict[tuple, Recorder] = {}
        self._misses: dict[tuple, int] = {}
        self._retried: set[tuple] = set()
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.reason is not None or kwargs or active() is not None:
            if kwargs and self.reason is None:
                self._fall_back("the step was called with keyword arguments")
            self.counts["eager"] += 1
            return self.fn(*args, **kwargs)
        sig = _signature(args)
        if sig is None:
            self._fall_back("an argument is neither a tensor nor a Python number")
            self.counts["eager"] += 1
            return self.fn(*args)
        prog = self._programs.get(sig)
        if prog is not None:
            out = prog.run(*args)
            if out is not MISS:
                self.counts["replayed"] += 1
                if prog.__class__ is GraphProgram and prog.runner.reason is not None:
                    self._told(prog)
                return out
            del self._programs[sig]  # a parameter was replaced: record again
            if self._missed(sig, prog):
                self.counts["eager"] += 1
                return self.fn(*args)
        return self._record(sig, args)

    def _missed(self, sig: tuple, prog: Any) -> bool:
        """Count a program whose guards failed; when they fail often (three times, and on
        more than one call in four replays: what it reads changes between calls), a
        graph-safe program gives way to the plain one, and the plain one to eager.
        Returns whether the step now runs eagerly."""
        n = self._misses[sig] = self._misses.get(sig, 0) + 1
        if n < MAX_MISSES or n * MISS_SHARE < self.counts["replayed"]:
            return False  # a rare miss (a checkpoint loaded, a parameter replaced)
        why = (
            f"its guards failed on {n} calls (a parameter, a .grad or the optimizer's state "
            "or groups it reads is replaced or changes state between calls)"
        )
        self._misses.pop(sig, None)
        if prog.__class__ is GraphProgram:
            self.graph = False
            self._no_graph(why, stacklevel=4)
            return False
        self._fall_back(why)
        return True

    def _told(self, prog: GraphProgram) -> None:
        """Warn once that a graph-safe program's capture failed (it runs as Python)."""
        if not prog.told:
            prog.told = True
            if self.warn:
                warnings.warn(
                    f"compile_step: no CUDA graph, replaying without one: {prog.runner.reason}",
                    UserWarning,
                    stacklevel=3,
                )

    def _record(self, sig: tuple, args: tuple) -> Any:
        if sig not in self._first and len(self._first) + len(self._programs) >= MAX_PROGRAMS:
            self._fall_back(
                f"more than {MAX_PROGRAMS} different input signatures (shapes, dtypes, or the "
                "values of Python number arguments: a number that changes every call, such "
                "as a decaying lr, belongs in a 0-d tensor argument or in the optimizer's "
                "param_groups)"
            )
            self.counts["eager"] += 1
            return self.fn(*args)
        rec = Recorder(args)
        with capture(rec):
            result = self.fn(*args)
            rec.result = _result_template(rec, result)
        self.counts["recorded"] += 1
        if rec.reason is not None:
            self._fall_back(rec.reason)
            return result
        first = self._first.pop(sig, None)
        if first is None:
            self._first[sig] = rec
            return result
        diff = _difference(first, rec)
        if diff is not None and sig not in self._retried:
            # a first call may differ from the next (state made on first use, such as the
            # order of a new leaf's gradient): compare the next two instead, once
            self._retried.add(sig)
            self._first[sig] = rec
            return result
        if diff is not None:
            self._fall_back(f"the step is not the same from one call to the next: {diff}")
        else:
            self._programs[sig] = self._program(rec)
        return result

    def _program(self, rec: Recorder) -> Program | GraphProgram:
        """A graph-safe program where a graph is wanted (``graph=True``, or by default a
        device off the host), else the plain one (with ``out=`` buffers on numpy)."""
        be = rec.backend
        want = self.graph
        if want is None:  # a GPU, or its stand-in (array-api-strict's device1)
            want = be is not None and not be.is_host
        if want:
            try:
                return GraphProgram(rec)
            except NoGraph as e:
                self._no_graph(str(e))
        return Program(rec, out=self.buffers)

    def _no_graph(self, reason: str, stacklevel: int = 5) -> None:
        self._graph_reason = reason
        if self.warn:
            warnings.warn(
                f"compile_step: no CUDA graph, replaying without one: {reason}",
                UserWarning,
                stacklevel=stacklevel,
            )

    @property
    def graph_reason(self) -> str | None:
        """Why the step does not run as a graph-safe program (a CUDA graph), or None."""
        for prog in self._programs.values():
            runner = getattr(prog, "runner", None)
            if runner is not None and runner.reason is not None:
                return runner.reason
        if self._programs and all(p.__class__ is GraphProgram for p in self._programs.values()):
            return None  # every program now is one (an earlier reason no longer holds)
        return self._graph_reason

    def _fall_back(self, reason: str) -> None:
        self.reason = reason
        self._programs.clear()
        self._first.clear()
        self._misses.clear()
        if self.warn:
            warnings.warn(f"compile_step: running eagerly: {reason}", UserWarning, stacklevel=4)

    @property
    def how(self) -> str:
        """How the step replays now: "eagerly", "plain program", or the runner of its
        graph-safe programs ("CUDA graph", ...)."""
        if self.reason is not None:
            return "eagerly"
        kinds = sorted(
            {
                getattr(getattr(p, "runner", None), "kind", "plain program")
                for p in self._programs.values()
            }
        )
        return ", ".join(kinds) if kinds else "not captured yet"

    @property
    def captured(self) -> bool:
        """Whether at least one program is ready to replay."""
        return bool(self._programs)

    def explain(self, file: Any = None) -> str:
        """The programs (one per input signature) as Python source; printed too."""
        name = getattr(self.fn, "__qualname__", "step")
        parts = [f"# compile_step({name})"]
        if self.reason is not None:
            parts.append(f"# runs eagerly: {self.reason}")
        elif not self._programs:
            parts.append("# not captured yet: the first two calls are recorded")
        for sig, prog in self._programs.items():
            shapes = ", ".join(
                f"{list(s[0])} {s[1]} {s[2].device}{' requires_grad' if s[3] else ''}"
                if len(s) == 5
                else repr(s[1])
                for s in sig[1:]
            )
            parts.append(f"# for ({shapes}), grad mode {'on' if sig[0] else 'off'}:")
            parts.append(f"# {prog.lines} calls")
            runner = getattr(prog, "runner", None)
            if runner is not None:
                how = runner.kind if runner.reason is None else f"Python ({runner.reason})"
                parts.append(f"# graph-safe: step() runs on the host around body(), run as: {how}")
            parts.append(prog.source.rstrip())
        text = "\n".join(parts)
        print(text, file=file)
        return text


def compile_step(
    fn: Callable[..., Any] | None = None,
    *,
    warn: bool = True,
    buffers: bool = True,
    graph: bool | None = None,
) -> Any:
    """Capture a training step (forward, loss, backward, optimizer step) and replay it.

    ``step = gradkit.compile_step(fn)`` (or ``@gradkit.compile_step``): ``step(x, y)``
    runs ``fn(x, y)``; after two identical recorded calls for the same input shapes it
    replays the recorded program, bit-identical to eager.  ``step.explain()`` prints
    the program; ``step.reason`` says why a step runs eagerly.  ``buffers=False`` leaves
    out the ``out=`` rules (every op allocates its result each step, as eagerly).
    ``graph``: replay a graph-safe program whose device half is a CUDA graph (None, the
    default: on a device off the host, a GPU or array-api-strict's ``device1`` that
    stands in for one, where the device half runs under a host-transfer tripwire;
    True: on the host too, as Python; False: never).
    """
    if fn is None:
        return functools.partial(compile_step, warn=warn, buffers=buffers, graph=graph)
    return CompiledStep(fn, warn=warn, buffers=buffers, graph=graph)
