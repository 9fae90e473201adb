"""Devices: parsing, clear errors when cuda cannot work, transfers, and device discipline."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import gradkit
from gradkit.backend import array_backend, transfer
from gradkit.backend.device import DeviceUnavailableError


def test_device_parsing_and_equality() -> None:
    d = gradkit.device("cuda:1")
    assert (d.type, d.index, str(d)) == ("cuda", 1, "cuda:1")
    assert repr(d) == "device(type='cuda', index=1)"
    assert gradkit.device("cpu") == "cpu" and gradkit.device("cuda", 0) == gradkit.device("cuda:0")
    assert gradkit.device(gradkit.device("cpu")) == gradkit.device("cpu")
    assert gradkit.device("cuda") != gradkit.device("cuda:0")  # as in PyTorch
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda, strict device type"):
        gradkit.device("gpu")
    with pytest.raises(RuntimeError, match="Invalid device string"):
        gradkit.device("cuda:x")


def test_tensors_carry_their_device() -> None:
    t = gradkit.zeros(2)
    assert t.device == gradkit.device("cpu") and not t.is_cuda
    assert gradkit.zeros(2, device=gradkit.device("cpu")).device.type == "cpu"


@pytest.mark.skipif(gradkit.cuda.is_available(), reason="this machine has a usable GPU")
def test_cuda_without_a_gpu_is_one_clear_error() -> None:
    assert gradkit.cuda.is_available() is False
    assert gradkit.cuda.device_count() == 0
    with pytest.raises(DeviceUnavailableError) as e:
        gradkit.zeros(2, device="cuda")
    msg = str(e.value)
    assert "device=cpu" in msg and "device=auto" in msg
    if "not installed" in msg:  # no cupy: say how to install it
        assert "pip install 'gradkit[cuda12]'" in msg
    else:  # cupy but no GPU
        assert "no usable CUDA GPU" in msg
    with pytest.raises(DeviceUnavailableError):
        gradkit.ones(2).cuda()


def test_cupy_present_but_no_gpu(monkeypatch) -> None:
    """A cupy that imports but finds no device gets the other message."""
    fake = types.ModuleType("cupy")

    class _Runtime:
        @staticmethod
        def getDeviceCount():
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake.cuda = types.SimpleNamespace(runtime=_Runtime())
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(array_backend.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(array_backend, "_BACKENDS", {})
    with pytest.raises(
        DeviceUnavailableError,
        match=r"CuPy is installed but no usable CUDA GPU.*cudaErrorNoDevice.*device=cpu",
    ):
        array_backend.get_backend("cuda")
    assert gradkit.cuda.is_available() is False


def test_import_gradkit_never_imports_cupy() -> None:
    import subprocess

    code = "import gradkit, sys; gradkit.ones(2); print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_transfers_are_counted_off_the_host() -> None:
    pytest.importorskip("array_api_strict")
    t = gradkit.ones(3, device="strict:1")
    with transfer.count_transfers() as c:
        t.tolist()
        t.sum().item()
        gradkit.ones(3).tolist()  # the cpu is the host: not a transfer
    assert c.by_kind == {"to_host": 1, "to_python": 1}


def test_tensor_from_a_foreign_array_keeps_its_device() -> None:
    xs = pytest.importorskip("array_api_strict")
    a = xs.asarray([1.0, 2.0], device=xs.Device("device1"))
    t = gradkit.tensor(a)
    assert t.device == gradkit.device("strict:1") and t.dtype is gradkit.float64
    assert gradkit.tensor(np.ones(2)).device.type == "cpu"


def test_rng_is_per_device_and_reproducible() -> None:
    pytest.importorskip("array_api_strict")
    gradkit.manual_seed(3)
    a = gradkit.randn(4, device="strict:1").tolist()
    gradkit.manual_seed(3)
    assert gradkit.randn(4, device="strict:1").tolist() == a


def test_the_gpu_stand_in_catches_a_planted_host_array(monkeypatch) -> None:
    """If an op's backward used numpy instead of its namespace (a silent host copy on a GPU),
    the float32 device1 run of the op suite fails: here the bug is planted by hand."""
    pytest.importorskip("array_api_strict")
    from gradkit.ops import elementwise

    def leaky_backward(ctx, g):
        return (np.asarray(g) * ctx.saved[0],)  # converts the device array to numpy

    monkeypatch.setattr(elementwise.Exp, "backward", staticmethod(leaky_backward))
    x = gradkit.ones(3, device="strict:1", requires_grad=True)
    with pytest.raises((RuntimeError, TypeError), match=r"(NumPy|numpy|device)"):
        x.exp().sum().backward()
    # on numpy the same bug goes unnoticed, which is why the suite runs on device1
    y = gradkit.ones(3, requires_grad=True)
    y.exp().sum().backward()
    assert y.grad is not None
