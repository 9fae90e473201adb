"""The backward engine: order, accumulation, graph freeing, errors, grad mode, versions."""

from __future__ import annotations

import gc
import re
import weakref
from typing import ClassVar

import numpy as np
import pytest

import gradkit
from gradkit.backend.transfer import count_transfers

from ..helpers import Backend, host


# -- the seeds' hand-worked values --
def test_seed001_dz_dw_is_40(bk: Backend) -> None:
    w = bk.t(2.0, requires_grad=True)
    y = w**2
    z = 10 * y + 25
    z.backward()
    assert host(w.grad) == pytest.approx(40.0)


def test_seed001_external_gradient(bk: Backend) -> None:
    a = bk.t([2.0, 3.0], requires_grad=True)
    b = bk.t([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    Q.backward(gradient=bk.t([1.0, 1.0]))
    np.testing.assert_allclose(host(a.grad), [36.0, 81.0], rtol=1e-6)
    np.testing.assert_allclose(host(b.grad), [-12.0, -8.0], rtol=1e-6)


def test_seed003_accumulates_without_zeroing(bk: Backend) -> None:
    weights = bk.t(np.ones(4), requires_grad=True)
    seen = []
    for _ in range(3):
        (weights * 3).sum().backward()
        seen.append(host(weights.grad).tolist())
    assert seen == [[3.0] * 4, [6.0] * 4, [9.0] * 4]


def test_seed003_zero_grad_keeps_it_at_3(bk: Backend) -> None:
    weights = bk.t(np.ones(4), requires_grad=True)
    seen = []
    for _ in range(3):
        (weights * 3).sum().backward()
        seen.append(host(weights.grad).tolist())
        weights.grad.zero_()
    assert seen == [[3.0] * 4] * 3


# -- graph structure --
def test_reused_intermediate_needs_topological_order(bk: Backend) -> None:
    """b = a + a; c = b + b: dc/da = 4 (micrograd PR #64)."""
    a = bk.t(1.5, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert host(a.grad) == pytest.approx(4.0)


def test_diamond_sums_both_paths(bk: Backend) -> None:
    x = bk.t([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.exp() + y * y  # y feeds two nodes
    z.sum().backward()
    xv = np.array([1.0, 2.0])
    np.testing.assert_allclose(host(x.grad), 2 * np.exp(2 * xv) + 8 * xv, rtol=bk.tol * 10)


class _CountingIdentity(gradkit.autograd.Function):
    """Identity whose backward records every call and the gradient it got."""

    calls: ClassVar[list] = []

    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, g):
        _CountingIdentity.calls.append(g.tolist())
        return g


def test_a_node_runs_once_after_every_path_delivered(bk: Backend) -> None:
    """A long and a short branch join late: the shared node must wait for both
    (the engine's heap orders by creation, not by discovery)."""
    _CountingIdentity.calls = []
    x = bk.t([1.0, 2.0], requires_grad=True)
    a = _CountingIdentity.apply(x)
    short = a * 2
    long = a
    for _ in range(5):
        long = long * 1.5
    (long + short + a).sum().backward()
    want = 1.5**5 + 2 + 1
    assert len(_CountingIdentity.calls) == 1
    np.testing.assert_allclose(_CountingIdentity.calls[0], [want, want], rtol=bk.tol)
    np.testing.assert_allclose(host(x.grad), [want, want], rtol=bk.tol)


def test_several_roots_and_a_graph_grown_after_a_retained_backward(bk: Backend) -> None:
    x = bk.t(1.0, requires_grad=True)
    y = x * 2
    late = y * 5  # created before `early`, used as the second root
    early = y * 3
    gradkit.autograd.backward([early, late], retain_graph=True)
    assert host(x.grad) == pytest.approx(16.0)
    grown = (early + y) * 4  # new nodes on top of the retained graph
    grown.backward()
    assert host(x.grad) == pytest.approx(16.0 + 32.0)


def test_hundred_thousand_deep_chain_backpropagates() -> None:
    x = gradkit.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y.backward()
    assert x.grad.item() == 1.0


def test_intermediates_released_after_backward() -> None:
    """Without retain_graph, the arrays the graph saved are released by backward()."""
    x = gradkit.randn(8, 8, requires_grad=True)
    h = (x * 3).tanh()  # TanhBackward0 saves h
    e = h.exp()  # ExpBackward0 saves e
    loss = (e * e).sum()  # MulBackward0 saves e twice
    refs = [weakref.ref(h._data), weakref.ref(e._data)]
    del h, e
    gc.collect()
    assert all(r() is not None for r in refs), "the graph should hold what backward needs"
    loss.backward()
    gc.collect()
    assert all(r() is None for r in refs), "saved arrays outlived backward()"
    assert x.grad is not None


def test_graph_dies_with_its_output() -> None:
    """Nothing of a step's graph outlives the step: no reference cycles to wait for."""
    x = gradkit.randn(4, requires_grad=True)
    y = (x * 2).exp().sum()
    node = weakref.ref(y.grad_fn)
    del y
    assert node() is None


def test_second_backward_needs_retain_graph(bk: Backend) -> None:
    x = bk.t([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(host(x.grad), [4.0, 8.0])
    with pytest.raises(
        RuntimeError, match=r"backward through the graph a second time.*MulBackward0"
    ):
        y.backward()


def test_second_backward_through_nodes_that_saved_nothing_works(bk: Backend) -> None:
    """As in PyTorch: only nodes that saved values refuse a second pass."""
    x = bk.t([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(host(x.grad), [2.0, 2.0])


# -- errors a user makes --
def test_nonscalar_backward_without_gradient(bk: Backend) -> None:
    x = bk.t([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \[3\].*sum\(\)"):
        (x * 2).backward()


def test_backward_on_tensor_without_grad(bk: Backend) -> None:
    x = bk.t([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_backward_gradient_of_wrong_shape(bk: Backend) -> None:
    x = bk.t([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\[2\].*\[3\]"):
        (x * 2).backward(bk.t([1.0, 1.0]))


def test_backward_under_no_grad_graph_raises(bk: Backend) -> None:
    x = bk.t([1.0], requires_grad=True)
    with gradkit.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_create_graph_is_refused_clearly() -> None:
    x = gradkit.tensor(1.0, requires_grad=True)
    with pytest.raises(NotImplementedError, match="higher-order"):
        (x * x).backward(create_graph=True)


# -- accumulation into leaves --
def test_grad_keeps_leaf_dtype_and_shape(bk: Backend) -> None:
    x = bk.t(np.ones((3, 1)), requires_grad=True)
    y = bk.t(np.ones((1, 4)), requires_grad=True)
    (x * y).sum().backward()
    assert x.grad.shape == (3, 1) and y.grad.shape == (1, 4)
    np.testing.assert_allclose(host(x.grad), 4 * np.ones((3, 1)))
    assert x.grad.dtype is x.dtype


def test_mixed_dtypes_give_grads_in_each_leafs_dtype() -> None:
    a = gradkit.ones(3, dtype=gradkit.float32, requires_grad=True)
    b = gradkit.ones(3, dtype=gradkit.float64, requires_grad=True)
    c = a * b
    assert c.dtype is gradkit.float64
    c.sum().backward()
    assert a.grad.dtype is gradkit.float32 and b.grad.dtype is gradkit.float64


def test_leaf_grads_never_share_memory() -> None:
    """An Add passes one gradient to both inputs; each leaf must get its own copy."""
    x = gradkit.ones(3, requires_grad=True)
    y = gradkit.ones(3, requires_grad=True)
    g = gradkit.ones(3)
    (x + y).backward(g)
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    assert not np.shares_memory(x.grad.numpy(), g.numpy())
    x.grad.zero_()
    assert y.grad.tolist() == [1.0, 1.0, 1.0] and g.tolist() == [1.0, 1.0, 1.0]


def test_leaf_grad_is_not_a_view_of_a_broadcast() -> None:
    x = gradkit.ones(3, requires_grad=True)
    x.sum().backward()
    x.grad.add_(1)  # a read-only broadcast view would fail here
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_backward_on_a_leaf() -> None:
    x = gradkit.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_retain_grad_keeps_a_nonleaf_gradient(bk: Backend) -> None:
    x = bk.t([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(host(y.grad), [6.0, 12.0])


def test_nonleaf_grad_access_warns() -> None:
    x = gradkit.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None


# -- autograd.grad --
def test_autograd_grad_returns_without_accumulating(bk: Backend) -> None:
    x = bk.t([1.0, 2.0], requires_grad=True)
    w = bk.t([3.0, 4.0], requires_grad=True)
    (gx,) = gradkit.autograd.grad((x * w).sum(), x)
    np.testing.assert_allclose(host(gx), [3.0, 4.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_wrt_intermediate(bk: Backend) -> None:
    x = bk.t([1.0, 2.0], requires_grad=True)
    h = x * 2
    out = (h * h).sum()
    gh, gx = gradkit.autograd.grad(out, [h, x])
    np.testing.assert_allclose(host(gh), [4.0, 8.0])
    np.testing.assert_allclose(host(gx), [8.0, 16.0])


def test_autograd_grad_unused_input(bk: Backend) -> None:
    x = bk.t([1.0], requires_grad=True)
    u = bk.t([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        gradkit.autograd.grad((x * 2).sum(), [x, u])
    gx, gu = gradkit.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None and host(gx).tolist() == [2.0]


# -- grad mode --
def test_grad_modes() -> None:
    x = gradkit.ones(2, requires_grad=True)
    assert gradkit.is_grad_enabled()
    with gradkit.no_grad():
        assert not gradkit.is_grad_enabled()
        assert not (x * 2).requires_grad
        with gradkit.enable_grad():
            assert (x * 2).requires_grad
    assert gradkit.is_grad_enabled()

    @gradkit.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with gradkit.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    gradkit.set_grad_enabled(False)
    assert not gradkit.is_grad_enabled()
    gradkit.set_grad_enabled(True)


def test_detach_shares_storage_and_version() -> None:
    x = gradkit.ones(3, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5.0
    assert x.tolist()[0] == 5.0
    assert x._version == d._version == 1


def test_requires_grad_rules() -> None:
    x = gradkit.ones(3)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        gradkit.tensor([1, 2], requires_grad=True)
    y = gradkit.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False


# -- in-place ops and version counters --
def test_inplace_on_leaf_requiring_grad_raises(bk: Backend) -> None:
    w = bk.t([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf Variable that requires grad.*no_grad"):
        w -= 1.0
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 3.0


def test_inplace_on_leaf_under_no_grad_is_an_update(bk: Backend) -> None:
    w = bk.t([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with gradkit.no_grad():
        w -= 0.5 * w.grad
    assert w.requires_grad and w.is_leaf
    np.testing.assert_allclose(host(w), [0.0, 0.0])


def test_changing_a_saved_tensor_in_place_is_caught(bk: Backend) -> None:
    x = bk.t([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    with gradkit.no_grad():
        y.add_(1)
    with pytest.raises(
        RuntimeError, match=r"modified by an inplace operation.*ExpBackward0.*version 1"
    ):
        y.sum().backward()


def test_changing_a_saved_input_in_place_is_caught(bk: Backend) -> None:
    a = bk.t([1.0, 2.0])
    w = bk.t([3.0, 4.0], requires_grad=True)
    out = (a * w).sum()  # MulBackward0 saves a
    a.mul_(2)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*leaf"):
        out.backward()


def test_inplace_on_nonleaf_is_recorded(bk: Backend) -> None:
    x = bk.t([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 2
    y[y < 0] = 0.0  # seed 004's MyReLU idiom, outside backward
    assert y.grad_fn.name() == "IndexPutBackward0"
    y.mul_(x)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    # d/dx of (2x masked) * x = 4x where x >= 0, else 0
    np.testing.assert_allclose(host(x.grad), [4.0, 0.0, 12.0])


def test_inplace_broadcast_into_smaller_tensor_fails(bk: Backend) -> None:
    x = bk.t([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"output with shape \[2\]"):
        x += bk.t(np.ones((3, 2)))


def test_inplace_float_into_int_tensor_fails() -> None:
    n = gradkit.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        n += 0.5
    with pytest.raises(RuntimeError, match="can't be cast"):
        n /= 2


# -- naming and printing --
def test_grad_fn_names_and_next_functions() -> None:
    x = gradkit.ones(5)
    w = gradkit.rand(5, 3, requires_grad=True)
    b = gradkit.rand(3, requires_grad=True)
    z = gradkit.matmul(x, w) + b
    loss = gradkit.nn.functional.binary_cross_entropy_with_logits(z, gradkit.zeros(3))
    assert re.fullmatch(r"<AddBackward0 object at 0x[0-9a-f]+>", repr(z.grad_fn))
    assert loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    (mm, _), (acc_b, _) = z.grad_fn.next_functions
    assert mm.name() == "SqueezeBackward4"
    assert acc_b.name() == "AccumulateGrad" and acc_b.variable is b
    y = (x + 2) * (x + 2) * 2
    assert y.mean().grad_fn is None  # nothing requires grad
    xr = gradkit.randn(3, requires_grad=True)
    assert ((xr + 2) * 2).mean().grad_fn.name() == "MeanBackward0"


def test_mixing_devices_is_an_error() -> None:
    pytest.importorskip("array_api_strict")
    a = gradkit.ones(3)
    b = gradkit.ones(3, device="strict:1")
    with pytest.raises(RuntimeError, match=r"same device.*cpu and strict:1"):
        a + b
    with pytest.raises(RuntimeError, match="same device"):
        gradkit.ones(2, 2, device="strict:0").mm(gradkit.ones(2, 2, device="strict:1"))


def test_training_step_on_device1_makes_no_transfers() -> None:
    """On the GPU stand-in, forward, backward and the update never touch the host."""
    pytest.importorskip("array_api_strict")
    dev = "strict:1"
    gradkit.manual_seed(0)
    x = gradkit.randn(16, 8, device=dev)
    y = gradkit.randn(16, 2, device=dev)
    w1 = gradkit.randn(8, 4, device=dev, requires_grad=True)
    w2 = gradkit.randn(4, 2, device=dev, requires_grad=True)
    with count_transfers() as c:
        for _ in range(3):
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
            loss.backward()
            with gradkit.no_grad():
                w1 -= 1e-3 * w1.grad
                w2 -= 1e-3 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
    assert c.total == 0, c
    with count_transfers() as c:
        loss.item()
    assert c.total == 1
