"""A/B of the engine between two commits: ``bench_engine.py`` cases run alternately from a
checkout of each, in fresh processes, so both see the same machine at the same time.

    python benchmarks/ab_commits.py --base 5b5d75d                 # base vs the working tree
    python benchmarks/ab_commits.py --base HEAD~3 --rounds 7 --only per-op,seed004

Prints, per case, each side's median time and ratio to its own numpy floor, and new/base
(below 1.00: the working tree is faster).  The order alternates every round; a loaded
machine still moves single rounds, so look at new/base over several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(tree: Path, only: str, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, "benchmarks/bench_engine.py", "--json", "--no-torch", "--no-steady"]
    cmd += ["--only", only, "--repeats", str(repeats)]
    out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the commit to compare against")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3, help="bench_engine repeats per round")
    ap.add_argument("--only", default="seed004,per-op,nn.Module")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(base), args.base], cwd=ROOT, check=True
        )
        try:
            trees = {"base": base, "new": ROOT}
            times: dict[str, dict[str, dict[str, list[float]]]] = {k: {} for k in trees}
            for r in range(args.rounds):
                for side in ("base", "new") if r % 2 == 0 else ("new", "base"):
                    for case, v in _run(trees[side], args.only, args.repeats).items():
                        slot = times[side].setdefault(case, {"gradkit": [], "floor": []})
                        slot["gradkit"].append(v["gradkit"])
                        slot["floor"].append(v["floor"])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)
    print(f"{'case':45s} {'base':>18s} {'new':>18s} {'new/base':>9s}")
    for case, b in times["base"].items():
        n = times["new"][case]
        tb, tn = statistics.median(b["gradkit"]), statistics.median(n["gradkit"])
        fb, fn = statistics.median(b["floor"]), statistics.median(n["floor"])
        print(
            f"{case[:45]:45s} {tb:8.4f}s {tb / fb:5.2f}x fl {tn:8.4f}s {tn / fn:5.2f}x fl "
            f"{tn / tb:9.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
