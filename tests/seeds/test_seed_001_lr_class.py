"""Seed 001's logistic regression: an nn.Module with plain tensors, a hand-written
backward and its own optimize(), run with ``import gradkit as torch``."""

from __future__ import annotations

import gradkit as torch
from gradkit import nn

device = "cuda" if torch.cuda.is_available() else "cpu"


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):  # noqa: B008 - as in the seed
        super(LR, self).__init__()  # noqa: UP008 - the seed's spelling
        # intialize parameters
        self.w = torch.zeros(dim, 1, dtype=torch.float).to(device)
        self.b = torch.scalar_tensor(0).to(device)
        self.grads = {
            "dw": torch.zeros(dim, 1, dtype=torch.float).to(device),
            "db": torch.scalar_tensor(0).to(device),
        }
        self.lr = lr.to(device)

    def forward(self, x):
        ## compute forward
        z = torch.mm(self.w.T, x)
        a = self.sigmoid(z)
        return a

    def sigmoid(self, z):
        return 1 / (1 + torch.exp(-z))

    def backward(self, x, yhat, y):
        ## compute backward
        self.grads["dw"] = (1 / x.shape[1]) * torch.mm(x, (yhat - y).T)
        self.grads["db"] = (1 / x.shape[1]) * torch.sum(yhat - y)

    def optimize(self):
        ## optimization step
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]


def test_lr_class_learns() -> None:
    torch.manual_seed(0)
    dim, m = 4, 200
    x = torch.randn(dim, m, device=device)  # features x samples, as the seed lays them out
    true_w = torch.tensor([[2.0], [-1.0], [0.5], [0.0]], device=device)
    y = (torch.mm(true_w.T, x) > 0).float()
    model = LR(dim, lr=torch.scalar_tensor(0.5))
    assert list(model.parameters()) == []  # plain tensors, as in the seed

    def accuracy():
        return ((model(x) > 0.5).float() == y).float().mean().item()

    def bce():
        yhat = model(x)
        return -(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat)).mean().item()

    start_loss, start_acc = bce(), accuracy()
    for _ in range(200):
        yhat = model(x)
        model.backward(x, yhat, y)
        model.optimize()
    assert bce() < 0.5 * start_loss
    assert accuracy() > max(start_acc, 0.9)
    assert model.w.shape == (dim, 1) and model.b.shape == ()
