"""What the command-line benchmarks share: the ``gradkit`` command to run, and the wall
time of one run of a command."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path


def gradkit_command() -> list[str]:
    """The installed ``gradkit`` (or the module, when no console script is on PATH)."""
    exe = shutil.which("gradkit")
    return [exe] if exe else [sys.executable, "-m", "gradkit.cli.main"]


def wall_time(cmd: list[str], cwd: Path) -> float:
    """Seconds ``cmd`` takes to run to the end in ``cwd`` (it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0
