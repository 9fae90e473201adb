"""The gradkit entry point: help, version, unknown commands."""

from __future__ import annotations

import subprocess
import sys

from gradkit import __version__

from .helpers import gradkit, output


def test_help_lists_the_commands(tmp_path) -> None:
    p = gradkit("--help", cwd=tmp_path)
    assert p.returncode == 0
    assert "usage: gradkit <command>" in p.stdout and "train" in p.stdout
    assert gradkit(cwd=tmp_path).stdout == p.stdout  # no command: the same help


def test_version(tmp_path) -> None:
    p = gradkit("--version", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.strip() == f"gradkit {__version__}"


def test_unknown_command_suggests(tmp_path) -> None:
    p = gradkit("trian", cwd=tmp_path)
    assert p.returncode == 2
    assert "unknown command 'trian' (did you mean 'train'?)" in output(p)


def test_help_imports_neither_hydra_nor_numpy() -> None:
    code = (
        "import sys; from gradkit.cli.main import main; main(['--help']); "
        "sys.stderr.write(str(sorted(m for m in ('hydra', 'numpy', 'omegaconf', 'rich') "
        "if m in sys.modules)))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stderr == "[]"


def test_train_help_shows_groups_and_examples(tmp_path) -> None:
    p = gradkit("train", "--help", cwd=tmp_path)
    assert p.returncode == 0
    text = p.stdout
    assert "model: function_mlp, logreg, manual_logreg, manual_mlp, mlp" in text
    assert "logger: mlflow, none, tensorboard" in text
    assert "recipe: " in text and "schema" not in text
    assert "Examples:" in text


def test_runs_imports_neither_hydra_nor_numpy(tmp_path) -> None:
    code = (
        "import sys; from gradkit.cli.main import main; main(['runs', 'format=json']); "
        "sys.stderr.write(str(sorted(m for m in ('hydra', 'numpy', 'omegaconf', 'matplotlib') "
        "if m in sys.modules)))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert p.stderr == "[]"


def test_train_without_a_logger_imports_no_tracker(tmp_path) -> None:
    code = (
        "import sys; from gradkit.cli.main import main; "
        "rc = main(['train', 'loop.steps=2', 'loop.progress=none']); "
        "sys.stderr.write(str(sorted(m for m in ('tensorboardX', 'mlflow', 'matplotlib', "
        "'tensorboard') if m in sys.modules)) + str(rc))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert p.stderr.endswith("[]0"), p.stderr
