"""Shuffled mini-batches from a seeded order.

Epoch e's order is a permutation drawn from ``(seed, e)`` alone, so a resumed
run sees exactly the batches an uninterrupted one would.  The order is drawn on
the host and uploaded once per epoch; each step then slices it on the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.creation import tensor

__all__ = ["Batches"]


class Batches:
    """Batch ``k`` of epoch ``e`` of a set of ``n`` samples."""

    def __init__(self, n: int, batch_size: int | None, seed: int, device: Any) -> None:
        self.n = n
        self.batch_size = n if not batch_size or batch_size >= n else batch_size
        self.seed = seed
        self.device = device
        self.per_epoch = -(-n // self.batch_size)
        self._epoch: int | None = None
        self._order: Any = None

    def order(self, epoch: int) -> Any:
        """This epoch's permutation, on the device."""
        if epoch != self._epoch:
            perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._order = tensor(perm, device=self.device)
            self._epoch = epoch
        return self._order

    def indices(self, epoch: int, k: int) -> Any:
        """The sample indices of batch ``k`` of ``epoch`` (the last batch may be smaller)."""
        if self.batch_size == self.n:
            return None  # the whole set: no gather needed
        b = self.batch_size
        return self.order(epoch)[k * b : (k + 1) * b]
