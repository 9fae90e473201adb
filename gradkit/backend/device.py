"""``gradkit.device``: where a tensor's memory lives, as a value passed around.

Types: ``cpu`` (numpy), ``cuda`` / ``cuda:N`` (cupy), and ``strict:N``
(array-api-strict: ``strict:0`` is its CPU device, ``strict:1`` its
``device1``), the stand-in for a GPU that the test suite runs on.
"""

from __future__ import annotations

__all__ = ["device", "DeviceUnavailableError", "DEVICE_TYPES"]

DEVICE_TYPES = ("cpu", "cuda", "strict")


class DeviceUnavailableError(RuntimeError):
    """A device was asked for that this machine cannot provide (no cupy, no GPU)."""


class device:
    """A device such as ``device("cpu")``, ``device("cuda:0")`` or ``device("cuda", 1)``."""

    __slots__ = ("index", "type")

    def __init__(self, type: str | device, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise ValueError("device(device, index): give the index inside the device")
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu' or 'cuda:0', got {type!r}")
        spec = type.strip()
        kind, sep, idx = spec.partition(":")
        if kind not in DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device "
                f"string: {type!r}"
            )
        if sep:
            if index is not None:
                raise RuntimeError(f"device string {type!r} already has an index")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: {type!r} (the index must be a number)")
            index = int(idx)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"cpu has no device index {index}")
        self.type = kind
        self.index = None if kind == "cpu" else index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __reduce__(self):
        return (device, (str(self),))
