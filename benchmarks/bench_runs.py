"""How long ``gradkit runs`` takes on many run folders.

    python benchmarks/bench_runs.py [--runs 1000] [--repeat 3]

Trains one real run, copies its folder to N run folders (outputs/DATE/TIME, a third of
them as sweep jobs under multirun/), then times ``gradkit runs`` (the table) and
``gradkit runs format=json`` in fresh processes; prints the median and the spread.
Target: under 1 s for 1000 runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from cli_timing import gradkit_command, wall_time

TARGET = 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = gradkit_command()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        subprocess.run(
            [*base, "train", "loop.steps=50", "loop.progress=none", "hydra.run.dir=seed"],
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        for i in range(args.runs):
            hh, mm, ss = i // 3600 % 24, i // 60 % 60, i % 60
            if i % 3 == 2:
                dest = cwd / "multirun" / "2026-01-02" / f"{hh:02d}-{mm:02d}-00" / str(ss)
            else:
                dest = cwd / "outputs" / "2026-01-01" / f"{hh:02d}-{mm:02d}-{ss:02d}"
            shutil.copytree(cwd / "seed", dest)
        shutil.rmtree(cwd / "seed")
        print(f"{args.runs} run folders; medians of {args.repeat} fresh processes")
        print(f"{'command':32s} {'median':>8s} {'min':>7s} {'max':>7s} {'target':>7s}")
        for name, extra in (("gradkit runs", []), ("gradkit runs format=json", ["format=json"])):
            cmd = [*base, "runs", *extra]
            wall_time(cmd, cwd)  # warm the file cache once
            ts = [wall_time(cmd, cwd) for _ in range(args.repeat)]
            med = statistics.median(ts)
            ok = "ok" if med < TARGET else "OVER"
            print(f"{name:32s} {med:7.3f}s {min(ts):6.3f}s {max(ts):6.3f}s {TARGET:6.2f}s {ok}")


if __name__ == "__main__":
    main()
