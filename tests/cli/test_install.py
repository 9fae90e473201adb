"""A non-editable install in a fresh virtualenv runs gradkit train from an empty folder."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_non_editable_install_runs_from_an_empty_folder(tmp_path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "--quiet", str(ROOT)], check=True, timeout=600)
    work = tmp_path / "empty"
    work.mkdir()
    p = subprocess.run(
        [
            env_dir / "bin" / "gradkit",
            "train",
            "loop.epochs=1",
            "loop.progress=none",
            "hydra.run.dir=run",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert (work / "run" / "params.npz").exists()
    p = subprocess.run(
        [
            env_dir / "bin" / "gradkit",
            "train",
            "recipe=seed_two_layer_relu",
            "loop.steps=5",
            "loop.progress=none",
            "hydra.run.dir=recipe",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert sys.prefix != str(env_dir)
