"""CSV loading: MB/s and peak memory (RSS) against the file's size.

    python benchmarks/bench_csv.py            # a 183 MB tall file and a 91 MB file of 50k columns
    python benchmarks/bench_csv.py --mb 20    # smaller files (the wide one is half the size)

Each file is loaded by ``gradkit.data.load`` — read, checked, split and standardised,
as ``gradkit train data=csv`` does — in a fresh process, run in the default
environment (default malloc and thread settings), so its peak RSS is the whole
process's.  The table prints the time (best of ``--repeat``), MB/s, the process's peak
RSS, the interpreter's resident memory after its imports (the baseline; importing
gradkit peaks at about as much, so a small file's peak is the imports'), and both as multiples
of the file's size.  Also timed: a file with one bad cell in its last row, for how
long the exact row/column message takes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_CHILD = r"""
import json, sys, time
from gradkit.data import load
from gradkit.data.config import CsvConfig
from gradkit.errors import DataError
def status(field):  # kB; VmHWM is this process's peak (ru_maxrss would include the parent's)
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0])
base = status("VmRSS")  # resident now, after the imports
t = time.perf_counter()
try:
    ds = load(CsvConfig(path=sys.argv[1], target="label"))
    shape = [len(ds.x_train) + len(ds.x_val), ds.n_features]
    error = None
except DataError as e:
    shape, error = None, str(e)
dt = time.perf_counter() - t
peak = status("VmHWM")
print(json.dumps({"s": dt, "base_kb": base, "peak_kb": peak, "shape": shape, "error": error}))
"""


def make_file(path: Path, target_mb: float, cols: int, seed: int = 0) -> None:
    """A CSV of ``cols`` float features (6 decimals) and a 0/1 label, about ``target_mb``."""
    rng = np.random.default_rng(seed)
    rows = max(1, int(20_000 * 200 / (cols * 10)))
    block = rng.standard_normal((rows, cols))
    label = (block[:, 0] > 0).astype(int)
    lines = [",".join(f"{v:.6f}" for v in r) + f",{y}\n" for r, y in zip(block, label)]
    text = "".join(lines).encode()
    header = (",".join(f"f{j}" for j in range(cols)) + ",label\n").encode()
    with open(path, "wb") as f:
        f.write(header)
        written = len(header)
        while written < target_mb * 1e6:
            f.write(text)
            written += len(text)


def measure(path: Path) -> dict:
    """Load ``path`` in a fresh process; its time, peak RSS and result."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=183.0, help="size of the tall file in MB")
    ap.add_argument("--repeat", type=int, default=2, help="loads per file (best time shown)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = {
            "tall: 20 columns": (d / "tall.csv", args.mb, 20),
            "wide: 50,000 columns": (d / "wide.csv", args.mb / 2, 50_000),
        }
        t = time.perf_counter()
        for path, mb, cols in files.values():
            make_file(path, mb, cols)
        bad = d / "bad_last_row.csv"
        bad.write_bytes(files["tall: 20 columns"][0].read_bytes() + b"x" + b",0" * 20 + b"\n")
        print(
            f"(files written in {time.perf_counter() - t:.1f} s; numpy {np.__version__}, "
            f"{os.cpu_count()} CPUs)\n"
        )
        head = (
            f"| {'file':<28} | {'MB':>6} | {'rows x cols':>15} | {'s':>6} | {'MB/s':>6} | "
            f"{'peak RSS MB':>11} | {'peak/file':>9} | {'(peak-base)/file':>16} |"
        )
        print(head)
        print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
        for name, (path, _, _) in [*files.items(), ("tall, bad cell in last row", (bad, 0, 0))]:
            runs = [measure(path) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["s"])
            mb = path.stat().st_size / 1e6
            peak = max(r["peak_kb"] for r in runs) / 1024
            base = best["base_kb"] / 1024
            shape = "x".join(map(str, best["shape"])) if best["shape"] else "error"
            print(
                f"| {name:<28} | {mb:>6.1f} | {shape:>15} | {best['s']:>6.2f} | "
                f"{mb / best['s']:>6.1f} | {peak:>11.0f} | {peak / mb:>9.2f} | "
                f"{(peak - base) / mb:>16.2f} |"
            )
            if best["error"]:
                print(f"|   message: {best['error'][:100]}")


if __name__ == "__main__":
    main()
