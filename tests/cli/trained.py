"""Runs trained with the real ``gradkit train``, and data files for them, for the tests of
predict, evaluate, export and load_run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .helpers import gradkit, output

FEATURES = ["height", "weight", "age", "score"]


def labelled(n: int, labels: list, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features around one centre per label (well separated, with raw scales far from
    standardised) and the labels."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).uniform(-3, 3, (len(labels), len(FEATURES)))
    k = np.arange(n) % len(labels)
    x = centres[k] + 0.8 * rng.standard_normal((n, len(FEATURES)))
    x = x * np.array([10.0, 3.0, 0.5, 100.0]) + np.array([170.0, 70.0, 40.0, 500.0])
    return x, np.asarray(labels)[k]


def write_csv(path: Path, x: np.ndarray, y: np.ndarray | None, columns: list | None = None):
    """A CSV of features (named FEATURES) and a ``label`` column; ``columns`` reorders."""
    header = [*FEATURES, "label"] if y is not None else list(FEATURES)
    rows = [list(r) + ([t] if y is not None else []) for r, t in zip(x, y if y is not None else x)]
    order = [header.index(c) for c in (columns or header)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([header[i] for i in order])
        for r in rows:
            w.writerow([repr(float(r[i])) if i < len(FEATURES) else r[i] for i in order])
    return path


def train(cwd: Path, name: str, *args: str) -> Path:
    """``gradkit train ARGS`` into ``cwd/name``; the run folder."""
    p = gradkit("train", *args, "loop.progress=none", f"hydra.run.dir={name}", cwd=cwd, timeout=300)
    assert p.returncode == 0, output(p)
    return cwd / name


def read_predictions(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a predictions CSV."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]
