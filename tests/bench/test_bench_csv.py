"""The CSV benchmark measures what it says: its files load to the shape they were written
with, the bad one answers with its row and column, and the table has every column."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_csv.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_csv", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_files_load_to_their_shape(tmp_path: Path) -> None:
    bench = _module()
    path = tmp_path / "t.csv"
    bench.make_file(path, 0.3, 7)
    lines = path.read_text().splitlines()
    result = bench.measure(path)
    assert result["error"] is None
    assert result["shape"] == [len(lines) - 1, 7]
    assert result["peak_kb"] >= result["base_kb"] > 0
    path.write_text("\n".join([*lines, "x" + ",0" * 7]) + "\n")
    assert f"row {len(lines) + 1}, column 'f0': 'x' is not a number" in bench.measure(path)["error"]


def test_prints_the_table() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--mb", "0.5", "--repeat", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "MB/s" in out
    for row in ("tall: 20 columns", "wide: 50,000 columns", "tall, bad cell in last row"):
        assert row in out
    assert "peak/file" in out and "message: " in out
