"""Running the real ``gradkit`` command in a folder, as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

GRADKIT = (
    [shutil.which("gradkit")]
    if shutil.which("gradkit")
    else [sys.executable, "-m", "gradkit.cli.main"]
)


def gradkit(
    *args: str,
    cwd: Path,
    timeout: float = 300,
    env: dict | None = None,
    program: Path | None = None,
) -> subprocess.CompletedProcess:
    """``gradkit ARGS`` in ``cwd`` (``program``: another install's ``gradkit``); stdout and
    stderr captured as text."""
    full_env = dict(os.environ)
    full_env.pop("HYDRA_FULL_ERROR", None)
    full_env.update(env or {})
    cmd = [program] if program is not None else GRADKIT
    return subprocess.run(
        [*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )


def output(p: subprocess.CompletedProcess) -> str:
    """stdout and stderr together, whitespace squeezed (for message checks)."""
    return " ".join((p.stdout + "\n" + p.stderr).split())


def result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
