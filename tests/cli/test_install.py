"""A non-editable install in a fresh virtualenv runs gradkit train from an empty folder."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .helpers import gradkit

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_for_the_install() -> None:
    """pyproject.toml lists the packages by hand: a new one left out installs editable
    but not from a wheel (gradkit.compile was, and ``gradkit train`` failed to import)."""
    tomllib = pytest.importorskip("tomllib")
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "gradkit").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.slow
def test_non_editable_install_runs_from_an_empty_folder(tmp_path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "--quiet", str(ROOT)], check=True, timeout=600)
    work = tmp_path / "empty"
    work.mkdir()
    installed = env_dir / "bin" / "gradkit"
    p = gradkit(
        "train",
        "loop.epochs=1",
        "loop.progress=none",
        "hydra.run.dir=run",
        cwd=work,
        program=installed,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert (work / "run" / "params.npz").exists()
    # the run is usable from this install (gradkit.runs is packaged); onnx is an extra
    import numpy as np

    np.savez(work / "new.npz", x=np.zeros((3, 20)))
    p = gradkit("predict", "run=run", "input=new.npz", cwd=work, program=installed)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (work / "predictions.csv").read_text().startswith("prediction,prob_0,prob_1,prob_2")
    p = gradkit("export", "run=run", cwd=work, program=installed)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "pip install 'gradkit[export]'" in p.stderr
    p = gradkit(
        "train",
        "recipe=seed_two_layer_relu",
        "loop.steps=5",
        "loop.progress=none",
        "hydra.run.dir=recipe",
        cwd=work,
        program=installed,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert sys.prefix != str(env_dir)
