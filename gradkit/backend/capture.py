"""How a captured step's device work runs on each device.

A graph-safe program (``compile_step``'s ``graph`` mode) hands its device half, a
function of no arguments that makes array calls only, to :func:`runner`:

- on a CUDA GPU (cupy) it becomes a CUDA graph (:class:`CudaGraph`): captured once on a
  side stream with a private memory pool, then launched, one call per step;
- on array-api-strict's ``device1``, the test stand-in for a GPU, it runs as Python
  under :func:`no_host_transfers`, which makes every read back to the host (and every
  upload of host data) raise, as stream capture does on a GPU;
- on the host (numpy) it runs as Python.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["CudaGraph", "PythonRunner", "HostFreeRunner", "no_host_transfers", "HostTransfer"]


class PythonRunner:
    """The device half called as Python each step (no graph on this device)."""

    kind = "Python"
    #: whether the arrays a call returns are rewritten by the next call
    reuses_outputs = False

    def __init__(self, body: Callable[[], tuple]) -> None:
        self.body = body
        self.reason: str | None = None
        self.launches = 0

    def __call__(self) -> tuple:
        self.launches += 1
        return self.body()


class HostTransfer(RuntimeError):
    """A read back to the host, or an upload, inside a program that a GPU would capture."""


_FORBIDDEN = ("__float__", "__int__", "__bool__", "__index__", "__complex__", "__array__")
_FORBIDDEN += ("__dlpack__", "to_device", "tolist", "item")


@contextlib.contextmanager
def no_host_transfers(xs: Any, seen: list | None = None) -> Iterator[None]:
    """Inside the block, an array-api-strict array off the CPU device raises
    :class:`HostTransfer` when read back to the host, and ``asarray`` of host data onto
    such a device raises too: what CUDA stream capture refuses.  With a list ``seen``,
    each transfer is noted there instead, and goes ahead."""
    cls = xs._array_object.Array
    cpu = xs.Device("CPU_DEVICE")

    def refuse(message: str) -> None:
        if seen is None:
            raise HostTransfer(message)
        seen.append(message)

    saved = {n: cls.__dict__[n] for n in _FORBIDDEN if n in cls.__dict__}

    def tripwire(name: str, orig: Callable) -> Callable:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self.device != cpu:
                refuse(
                    f"Array.{name} on {self.device} inside a captured program: a host "
                    "transfer, which a CUDA graph cannot contain"
                )
            return orig(self, *args, **kwargs)

        return method

    orig_asarray = xs.asarray

    def asarray(obj: Any, *args: Any, device: Any = None, **kwargs: Any) -> Any:
        if device is not None and device != cpu and not isinstance(obj, cls):
            refuse(
                f"asarray of host data onto {device} inside a captured program: an upload, "
                "which a CUDA graph cannot contain"
            )
        return orig_asarray(obj, *args, device=device, **kwargs)

    for n, f in saved.items():
        setattr(cls, n, tripwire(n, f))
    xs.asarray = asarray
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(cls, n, f)
        xs.asarray = orig_asarray


class HostFreeRunner(PythonRunner):
    """The device half as Python, watched by :func:`no_host_transfers` (array-api-strict's
    ``device1``), failing as :class:`CudaGraph` fails: a host transfer in its first run
    (where a GPU would capture) is ``reason``, the step having run once, and later calls
    run it as plain Python."""

    kind = "Python, no host transfers (the GPU stand-in)"

    def __init__(self, body: Callable[[], tuple], xs: Any) -> None:
        super().__init__(body)
        self._xs = xs

    def __call__(self) -> tuple:
        if self.reason is not None:
            return self.body()
        seen: list[str] = []
        with no_host_transfers(self._xs, seen):
            out = self.body()
        if seen:
            self.reason = f"capture failed: {seen[0]}"
        else:
            self.launches += 1
        return out


class CudaGraph:
    """The device half as a CUDA graph.

    The first call runs the body for real on a side stream, with a memory pool of its
    own (this warms up cuBLAS, compiled kernels and the pool), then captures it there:
    every array the captured body allocates comes from that pool, which nothing else
    uses, so its memory stays the graph's.  Later calls launch the graph on the current
    stream.  If capture fails (an op that synchronizes with the host, say), ``reason``
    says why and the body keeps running as Python: the step it was asked for has
    already run, once.
    """

    kind = "CUDA graph"
    reuses_outputs = True

    def __init__(self, body: Callable[[], tuple], cupy: Any, device_index: int) -> None:
        self.body = body
        self._cupy = cupy
        self._device = device_index
        self.reason: str | None = None
        self.launches = 0
        self.graph: Any = None
        self._outs: tuple = ()
        self._pool: Any = None
        self._stream: Any = None

    def __call__(self) -> tuple:
        cp = self._cupy
        with cp.cuda.Device(self._device):
            if self.reason is not None:
                return self.body()
            current = cp.cuda.get_current_stream()
            if self.graph is None:
                return self._capture(current)
            self.graph.launch(stream=current)
            self.launches += 1
            return self._outs

    def _capture(self, current: Any) -> tuple:
        cp = self._cupy
        self._pool = cp.cuda.MemoryPool()
        side = self._stream = cp.cuda.Stream(non_blocking=True)
        side.wait_event(current.record())
        try:
            with side, cp.cuda.using_allocator(self._pool.malloc):
                outs = self.body()  # the step itself, and the warm-up
                self._try_capture(side)
        finally:
            current.wait_event(side.record())
        return outs

    def _try_capture(self, side: Any) -> None:
        """Capture the body on ``side`` (cupy's default, relaxed mode: the private pool
        may grow while capturing, since the warm-up's outputs and saved arrays are still
        alive); keep the error of the op that failed, not end_capture's own."""
        first: Exception | None = None
        captured: tuple = ()
        graph: Any = None
        try:
            side.begin_capture()
            try:
                captured = self.body()
            except Exception as e:
                first = e
            try:
                graph = side.end_capture()
            except Exception as e:
                first = first or e
        except Exception as e:  # begin_capture itself refused
            first = e
        if first is not None:
            self.reason = f"capture failed: {type(first).__name__}: {first}"
        else:
            self.graph, self._outs = graph, captured


def runner(be: Any, body: Callable[[], tuple]) -> Any:
    """The runner of a graph-safe program's device half on backend ``be``."""
    if be.device.type == "cuda":
        return CudaGraph(body, be._cupy, be.device.index)
    if be.device.type == "strict" and not be.is_host:
        return HostFreeRunner(body, be.xp)
    return PythonRunner(body)
