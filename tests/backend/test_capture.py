"""``CudaGraph``'s order of CUDA calls, on a stand-in for cupy that writes them down
(the real thing runs in tests/backend/test_cuda.py when a GPU is lent).  What matters:
the first call runs the step once for real, captures it with a private pool on a side
stream ordered after the current one, and later calls only launch; a capture that
fails ends the capture, says why, and leaves the step run exactly once per call."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest

from gradkit.backend.capture import CudaGraph, PythonRunner


class _FakeCupy:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.capturing = False
        log = self.log
        fake = self

        class Stream:
            def __init__(self, name: str = "side", non_blocking: bool = False) -> None:
                self.name = name
                log.append(f"stream {name} non_blocking={non_blocking}")

            def __enter__(self):
                log.append(f"enter {self.name}")
                return self

            def __exit__(self, *exc):
                log.append(f"exit {self.name}")

            def record(self):
                log.append(f"record {self.name}")
                return f"event:{self.name}"

            def wait_event(self, event):
                log.append(f"{self.name} waits {event}")

            def begin_capture(self, mode=None):
                fake.capturing = True
                log.append(f"begin_capture mode={mode}")

            def end_capture(self):
                fake.capturing = False
                log.append("end_capture")
                if fake.end_fails:
                    raise RuntimeError("cudaErrorStreamCaptureInvalidated")
                return SimpleNamespace(launch=lambda stream: log.append(f"launch on {stream.name}"))

        current = Stream.__new__(Stream)
        current.name = "current"

        @contextlib.contextmanager
        def using_allocator(malloc):
            log.append(f"allocator {malloc}")
            yield
            log.append("allocator restored")

        self.end_fails = False
        self.cuda = SimpleNamespace(
            Device=lambda i: contextlib.nullcontext(),
            get_current_stream=lambda: current,
            Stream=Stream,
            MemoryPool=lambda: SimpleNamespace(malloc="private-pool"),
            using_allocator=using_allocator,
            set_pinned_memory_allocator=lambda a: log.append(f"pinned {a}"),
            runtime=SimpleNamespace(streamCaptureModeThreadLocal="thread-local"),
        )
        self.get_default_pinned_memory_pool = lambda: SimpleNamespace(malloc="default-pinned")


def _body(cp: _FakeCupy, fail_in_capture: bool = False):
    calls = []

    def body():
        calls.append("capture" if cp.capturing else "run")
        cp.log.append(f"body ({calls[-1]})")
        if fail_in_capture and cp.capturing:
            raise RuntimeError("operation not permitted when stream is capturing")
        return (f"out{len(calls)}",)

    return body, calls


def test_first_call_runs_then_captures_later_calls_launch() -> None:
    cp = _FakeCupy()
    body, calls = _body(cp)
    g = CudaGraph(body, cp, 0)
    assert g() == ("out1",)  # the step's own result: the warm-up run
    assert calls == ["run", "capture"]
    assert cp.log[cp.log.index("stream side non_blocking=True") :] == [
        "stream side non_blocking=True",
        "record current",
        "side waits event:current",
        "enter side",
        "allocator private-pool",
        "body (run)",
        "begin_capture mode=None",
        "body (capture)",
        "end_capture",
        "allocator restored",
        "exit side",
        "record side",
        "current waits event:side",
    ]
    cp.log.clear()
    assert g() == ("out2",) and g() == ("out2",)  # the captured arrays, rewritten by each launch
    assert calls == ["run", "capture"]  # no Python ran
    assert cp.log == ["launch on current", "launch on current"]
    assert g.launches == 2 and g.reason is None and g.reuses_outputs


def test_a_failed_capture_is_ended_and_the_body_runs_as_python() -> None:
    cp = _FakeCupy()
    body, calls = _body(cp, fail_in_capture=True)
    g = CudaGraph(body, cp, 0)
    assert g() == ("out1",)
    assert "end_capture" in cp.log and cp.log[-1] == "current waits event:side"
    assert g.reason == (
        "capture failed: RuntimeError: operation not permitted when stream is capturing"
    )
    assert g() == ("out3",)  # one real run per call from now on
    assert calls == ["run", "capture", "run"] and g.launches == 0


def test_the_reason_names_the_op_that_failed_not_end_capture() -> None:
    cp = _FakeCupy()
    cp.end_fails = True  # an invalidated capture makes end_capture raise too
    body, _ = _body(cp, fail_in_capture=True)
    g = CudaGraph(body, cp, 0)
    g()
    assert "operation not permitted" in g.reason and "Invalidated" not in g.reason


def test_python_runner_runs_the_body_each_call() -> None:
    n = []
    r = PythonRunner(lambda: (n.append(1), len(n))[1:])
    assert r() == (1,) and r() == (2,) and not r.reuses_outputs and r.launches == 2


@pytest.mark.parametrize("dev", ["cpu", "strict:1"])
def test_each_device_gets_its_runner(dev: str) -> None:
    import gradkit
    from gradkit.backend.array_backend import get_backend
    from gradkit.backend.capture import runner

    if dev.startswith("strict"):
        pytest.importorskip("array_api_strict")
    r = runner(get_backend(gradkit.device(dev)), lambda: ())
    assert r.kind == ("Python" if dev == "cpu" else "Python, no host transfers (the GPU stand-in)")
