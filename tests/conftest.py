"""Shared fixtures: ``bk`` runs a test on every array backend (see ``helpers.py``)."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit

from .helpers import BACKENDS, Backend


@pytest.fixture(params=BACKENDS)
def bk(request) -> Backend:
    """Each array backend in turn: numpy, strict cpu, strict device1, cupy (if a GPU)."""
    gradkit.manual_seed(0)
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
