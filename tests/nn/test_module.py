"""nn.Module: registration, traversal, modes, devices, state_dict, printing."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit
from gradkit import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 5)
        self.act = nn.Sigmoid()
        self.head = nn.Sequential(nn.Linear(5, 2), nn.Softmax(dim=1))

    def forward(self, x):
        return self.head(self.act(self.fc1(x)))


def test_registration_and_traversal() -> None:
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "fc1.weight",
        "fc1.bias",
        "head.0.weight",
        "head.0.bias",
    ]
    assert len(list(net.parameters())) == 4
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "head", "head.0", "head.1"]
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Sigmoid", "Sequential"]
    assert net(gradkit.randn(4, 3)).shape == (4, 2)


def test_plain_attributes_are_not_parameters() -> None:
    """Seed 001 keeps plain tensors, a dict and its own backward() on a Module."""

    class LR(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.w = gradkit.zeros(dim, 1)
            self.grads = {"dw": gradkit.zeros(dim, 1)}
            self.lr = gradkit.scalar_tensor(0.01)

        def backward(self, x):
            return "mine"

    m = LR(3)
    assert list(m.parameters()) == [] and m.state_dict() == {}
    assert m.backward(None) == "mine" and m.grads["dw"].shape == (3, 1)


def test_assignment_rules() -> None:
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        lin.weight = gradkit.zeros(2, 2)
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]

    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gradkit.zeros(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Bad()
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        lin.nope
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_train_eval_and_requires_grad() -> None:
    net = Net()
    assert net.training and net.head[0].training
    assert net.eval() is net and not net.training and not net.head[0].training
    net.train()
    assert net.head[1].training
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_zero_grad_none_or_zeros() -> None:
    lin = nn.Linear(3, 1)
    lin(gradkit.ones(2, 3)).sum().backward()
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad.tolist() == [[0.0, 0.0, 0.0]]
    lin.zero_grad()
    assert lin.weight.grad is None


def test_to_dtype_and_device() -> None:
    net = Net().double()
    assert all(p.dtype is gradkit.float64 for p in net.parameters())
    assert net(gradkit.randn(2, 3, dtype=gradkit.float64)).dtype is gradkit.float64
    pytest.importorskip("array_api_strict")
    w = net.fc1.weight
    net.to("strict:1")
    assert net.fc1.weight is w and w.device == gradkit.device("strict:1")
    assert (
        net(gradkit.randn(2, 3, device="strict:1", dtype=gradkit.float64)).device.type == "strict"
    )


def test_state_dict_round_trip_through_npz(tmp_path) -> None:
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["fc1.weight", "fc1.bias", "head.0.weight", "head.0.bias"]
    assert not sd["fc1.weight"].requires_grad
    np.savez(tmp_path / "params.npz", **{k: v.numpy() for k, v in sd.items()})
    other = Net()
    loaded = np.load(tmp_path / "params.npz")
    other.load_state_dict({k: gradkit.from_numpy(loaded[k]) for k in loaded.files})
    x = gradkit.randn(4, 3)
    np.testing.assert_array_equal(other(x).detach().numpy(), net(x).detach().numpy())


def test_load_state_dict_errors() -> None:
    net = Net()
    sd = dict(net.state_dict())
    sd["extra.weight"] = sd.pop("fc1.bias")
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert 'Missing key(s) in state_dict: "fc1.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    keys = net.load_state_dict(sd, strict=False)
    assert keys.missing_keys == ["fc1.bias"] and keys.unexpected_keys == ["extra.weight"]
    sd = dict(net.state_dict())
    sd["fc1.weight"] = gradkit.zeros(4, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1\.weight.*\[4, 3\].*\[5, 3\]"):
        net.load_state_dict(sd)


def test_reprs_match_pytorch() -> None:
    seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2, bias=False))
    assert repr(seq) == (
        "Sequential(\n  (0): Linear(in_features=4, out_features=8, bias=True)\n  (1): ReLU()\n"
        "  (2): Linear(in_features=8, out_features=2, bias=False)\n)"
    )
    assert repr(Net()) == (
        "Net(\n  (fc1): Linear(in_features=3, out_features=5, bias=True)\n  (act): Sigmoid()\n"
        "  (head): Sequential(\n    (0): Linear(in_features=5, out_features=2, bias=True)\n"
        "    (1): Softmax(dim=1)\n  )\n)"
    )
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss()"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Parameter(gradkit.tensor([1.0, 2.0]))) == (
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    )


def test_sequential_indexing() -> None:
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(IndexError):
        seq[3]


def test_linear_default_init_bounds() -> None:
    gradkit.manual_seed(0)
    lin = nn.Linear(100, 50)
    bound = 1 / 10
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.9 * bound  # it uses the whole range
    assert np.abs(w.mean()) < 0.01


def test_parameter_deepcopy_and_pickle() -> None:
    import copy
    import pickle

    p = nn.Parameter(gradkit.tensor([1.0, 2.0]))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and q.tolist() == [1.0, 2.0]
    assert q._data is not p._data
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.tolist() == [1.0, 2.0]
