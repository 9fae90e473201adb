"""A count of every copy between host memory and a device.

Every conversion to numpy or to a Python number, and every upload of host
data, goes through ``ArrayBackend`` methods that call :func:`record`. On a
device other than the host this is a transfer (on a GPU, a sync); tests use
:func:`count_transfers` to prove that a training step makes none.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

__all__ = ["record", "count_transfers", "TransferCount"]


class TransferCount:
    """Transfers seen while a :func:`count_transfers` block was open, by kind."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def __repr__(self) -> str:
        return f"TransferCount({dict(self.by_kind)})"


_open: list[TransferCount] = []


def record(kind: str) -> None:
    """Note one host/device transfer of ``kind`` (e.g. ``"to_host"``, ``"to_python"``)."""
    for c in _open:
        c.by_kind[kind] += 1


@contextlib.contextmanager
def count_transfers() -> Iterator[TransferCount]:
    """Count the host/device transfers made inside the block."""
    c = TransferCount()
    _open.append(c)
    try:
        yield c
    finally:
        _open.remove(c)
