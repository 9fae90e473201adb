"""How long the ``gradkit`` command takes to answer: ``--help``, and ``train`` for one step.

    python benchmarks/bench_startup.py [--runs 5]

Runs each command in a fresh process from an empty temporary folder and prints the
median and the spread. Targets: --help under 0.15 s (it imports neither Hydra nor
numpy); train with one step under 1.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from cli_timing import gradkit_command, wall_time

TARGETS = {"gradkit --help": 0.15, "gradkit train (1 step)": 1.5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    base = gradkit_command()
    commands = {
        "gradkit --help": [*base, "--help"],
        "gradkit train (1 step)": [*base, "train", "loop.steps=1", "loop.progress=none"],
    }
    print(f"{'command':26s} {'median':>8s} {'min':>7s} {'max':>7s} {'target':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        for name, cmd in commands.items():
            wall_time(cmd, cwd)  # warm the file cache once
            ts = [wall_time(cmd, cwd) for _ in range(args.runs)]
            med = statistics.median(ts)
            ok = "ok" if med < TARGETS[name] else "OVER"
            print(
                f"{name:26s} {med:7.3f}s {min(ts):6.3f}s {max(ts):6.3f}s {TARGETS[name]:6.2f}s {ok}"
            )


if __name__ == "__main__":
    main()
