"""Gradient modes side by side: the same model with gradients by autograd, through a
custom ``Function``, and written by hand, trained in lockstep from identical
parameters on identical batches.

Each step records every mode's loss, each parameter's largest absolute and
relative gradient difference from autograd's, and the time of the forward pass,
the backward pass and the optimizer step.  With compiled twins (``loop.compile``),
each mode's step also runs captured (:func:`gradkit.compile_step`) on a copy of its
model from the same start: its time per step, and whether its losses and final
parameters are bit-identical to the eager mode's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..compile import CompiledStep, compile_step
from ..data.batches import Batches
from ..data.dataset import TensorData

__all__ = ["ModeTrace", "Comparison", "compare_modes"]


@dataclass
class ModeTrace:
    """What one gradient mode did, step by step."""

    name: str
    model_class: str
    loss: list[float] = field(default_factory=list)
    forward_ms: list[float] = field(default_factory=list)
    backward_ms: list[float] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)
    #: parameter -> per-step max |g - g_autograd|
    abs_diff: dict[str, list[float]] = field(default_factory=dict)
    #: parameter -> per-step max |g - g_autograd| / max |g_autograd|
    rel_diff: dict[str, list[float]] = field(default_factory=dict)
    #: the compiled twin (empty without one): its loss and time of each step, whether
    #: that step was replayed (not recorded or run eagerly)
    compiled_loss: list[float] = field(default_factory=list)
    compiled_ms: list[float] = field(default_factory=list)
    compiled_replayed: list[bool] = field(default_factory=list)
    #: why the compiled twin ran eagerly (None: it was captured)
    compiled_reason: str | None = None
    #: why its replays were not a CUDA graph on a GPU (None: they were, or no GPU)
    compiled_graph_reason: str | None = None
    #: its losses and final parameters are the eager mode's, bit for bit
    compiled_identical: bool | None = None

    def ms_per_step(self) -> float:
        return float(np.mean(np.add(np.add(self.forward_ms, self.backward_ms), self.step_ms)))

    def compiled_ms_per_step(self) -> float:
        """Mean time of the compiled twin's replayed steps (nan when none was replayed)."""
        ms = [t for t, r in zip(self.compiled_ms, self.compiled_replayed) if r]
        return float(np.mean(ms)) if ms else float("nan")


@dataclass
class Comparison:
    """The traces of every mode, and where (if anywhere) a mode left autograd's gradients."""

    modes: dict[str, ModeTrace]
    params: list[str]
    steps: int
    atol: float
    rtol: float
    #: (mode, parameter) -> (first step over the tolerance, largest difference, its step)
    disagreements: dict[tuple[str, str], tuple[int, float, int]] = field(default_factory=dict)
    #: each mode also ran compiled (``loop.compile``)
    compiled: bool = False

    @property
    def agree(self) -> bool:
        return not self.disagreements

    def by_first_step(self) -> list[tuple[tuple[str, str], tuple[int, float, int]]]:
        """Disagreements, earliest first: the first is the cause, later ones may be drift
        (each mode trains its own parameters, so one wrong update changes what follows)."""
        return sorted(self.disagreements.items(), key=lambda kv: (kv[1][0], kv[0]))


def _host_grads(model: Any) -> dict[str, np.ndarray]:
    return {
        n: np.asarray(p.grad.numpy(force=True), dtype=np.float64)
        for n, p in model.named_parameters()
        if p.grad is not None
    }


def _compiled_step(model: Any, optimizer: Any) -> CompiledStep:
    """The step a mode times (forward, loss, backward, optimizer step), captured; its
    ``zero_grad()`` stays outside, untimed, as in the eager mode."""

    def step(xb: Any, yb: Any) -> Any:
        out = model(xb)
        loss = model.loss(out, yb)
        if model.manual:
            model.backward(xb, out, yb)
        else:
            loss.backward()
        optimizer.step()
        return loss.detach()

    return compile_step(step, warn=False)


def _same_parameters(a: Any, b: Any) -> bool:
    return all(
        np.array_equal(p.numpy(force=True), q.numpy(force=True))
        for p, q in zip(a.parameters(), b.parameters())
    )


def compare_modes(
    models: dict[str, Any],
    optimizers: dict[str, Any],
    data: TensorData,
    steps: int,
    batch_size: int,
    seed: int,
    device: Any,
    atol: float,
    rtol: float,
    compiled: dict[str, tuple[Any, Any]] | None = None,
) -> Comparison:
    """Train every mode ``steps`` times on the same batches; ``models`` must include
    ``autograd``, the reference.  ``compiled``: mode -> (model, optimizer), a twin of
    that mode from the same parameters, trained alongside with its step captured."""
    be = data.x_train._be
    names = [n for n, _ in models["autograd"].named_parameters()]
    traces = {m: ModeTrace(m, type(models[m]).__name__) for m in models}
    for t in traces.values():
        t.abs_diff = {n: [] for n in names}
        t.rel_diff = {n: [] for n in names}
    batches = Batches(len(data.x_train), batch_size, seed, device)
    cmp = Comparison(traces, names, steps, atol, rtol, compiled=bool(compiled))
    twins = {m: (mo, op, _compiled_step(mo, op)) for m, (mo, op) in (compiled or {}).items()}
    for step in range(steps):
        epoch, k = divmod(step, batches.per_epoch)
        idx = batches.indices(epoch, k)
        xb = data.x_train if idx is None else data.x_train[idx]
        yb = data.y_train if idx is None else data.y_train[idx]
        grads: dict[str, dict[str, np.ndarray]] = {}
        for mode, model in models.items():
            tr, opt = traces[mode], optimizers[mode]
            opt.zero_grad()
            be.synchronize()
            t0 = time.perf_counter()
            out = model(xb)
            loss = model.loss(out, yb)
            be.synchronize()
            t1 = time.perf_counter()
            if model.manual:
                model.backward(xb, out, yb)
            else:
                loss.backward()
            be.synchronize()
            t2 = time.perf_counter()
            grads[mode] = _host_grads(model)
            be.synchronize()
            t3 = time.perf_counter()
            opt.step()
            be.synchronize()
            t4 = time.perf_counter()
            tr.loss.append(loss.item())
            tr.forward_ms.append((t1 - t0) * 1e3)
            tr.backward_ms.append((t2 - t1) * 1e3)
            tr.step_ms.append((t4 - t3) * 1e3)
        for mode, (_, opt, cstep) in twins.items():
            tr = traces[mode]
            opt.zero_grad()
            replays = cstep.counts["replayed"]
            be.synchronize()
            t0 = time.perf_counter()
            loss = cstep(xb, yb)
            be.synchronize()
            t1 = time.perf_counter()
            tr.compiled_loss.append(loss.item())
            tr.compiled_ms.append((t1 - t0) * 1e3)
            tr.compiled_replayed.append(cstep.counts["replayed"] > replays)
        ref = grads["autograd"]
        for mode, g in grads.items():
            for n in names:
                diff = float(np.max(np.abs(g[n] - ref[n]))) if g[n].size else 0.0
                scale = float(np.max(np.abs(ref[n]))) if ref[n].size else 0.0
                traces[mode].abs_diff[n].append(diff)
                traces[mode].rel_diff[n].append(diff / scale if scale > 0 else diff)
                if mode != "autograd" and diff > atol + rtol * scale:
                    first, worst, at = cmp.disagreements.get((mode, n), (step + 1, 0.0, 0))
                    if diff > worst:
                        worst, at = diff, step + 1
                    cmp.disagreements[(mode, n)] = (first, worst, at)
    for mode, (model, _, cstep) in twins.items():
        tr = traces[mode]
        tr.compiled_reason = cstep.reason
        tr.compiled_graph_reason = cstep.graph_reason
        tr.compiled_identical = tr.compiled_loss == tr.loss and _same_parameters(
            model, models[mode]
        )
    return cmp
