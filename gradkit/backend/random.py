"""Random numbers: one seed, one generator per device.

``manual_seed(s)`` reseeds every device's generator, so a run is
reproducible on each device (numbers differ between devices, as in PyTorch).
The array API standard has no random module, so this lives in the backend.
"""

from __future__ import annotations

__all__ = ["manual_seed", "initial_seed", "seed_epoch"]

# PyTorch's default seed, so an unseeded run is still reproducible.
_DEFAULT_SEED = 67280421310721


class _State:
    seed = _DEFAULT_SEED
    epoch = 0  # bumped by manual_seed: backends rebuild their generator when it changes


def manual_seed(seed: int) -> None:
    """Seed the generators of every device (``torch.manual_seed``)."""
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"manual_seed expects an integer, got {seed!r}") from None
    if seed < 0:
        seed &= (1 << 64) - 1
    _State.seed = seed
    _State.epoch += 1


def initial_seed() -> int:
    """The seed last given to :func:`manual_seed` (or the default)."""
    return _State.seed


def seed_epoch() -> tuple[int, int]:
    """(seed, epoch): a backend whose generator was made at another epoch remakes it."""
    return _State.seed, _State.epoch
