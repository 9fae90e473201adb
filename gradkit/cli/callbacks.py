"""``SweepSummary``: at the end of a sweep, a table of every job's overrides and final
metric (best first), printed with rich and written as ``summary.csv`` in the sweep folder.

It reads each job's ``result.json`` from the sweep folder rather than collecting
results in memory, so it works with every launcher (joblib and submitit run jobs
in other processes).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

__all__ = ["SweepSummary", "collect", "write_summary"]


def collect(sweep_dir: Path) -> list[dict]:
    """Every job's result in ``sweep_dir`` (jobs that wrote none are left out)."""
    rows = []
    for path in sorted(sweep_dir.glob("**/result.json")):
        try:
            rows.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return rows


def _sort_key(direction: str):
    def key(row: dict) -> float:
        m = row.get("metric")
        if m is None or (isinstance(m, float) and math.isnan(m)):
            return math.inf
        return -m if direction == "max" else m

    return key


def write_summary(sweep_dir: Path, rows: list[dict]) -> Path:
    """``summary.csv``: one row per job, best first."""
    path = sweep_dir / "summary.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "rank",
                "job",
                "overrides",
                "metric_name",
                "metric",
                "val_loss",
                "steps",
                "status",
                "run_dir",
            ]
        )
        for rank, r in enumerate(rows, start=1):
            w.writerow(
                [
                    rank,
                    r.get("job"),
                    " ".join(r.get("overrides", [])),
                    r.get("metric_name"),
                    r.get("metric"),
                    r.get("val_loss"),
                    r.get("steps"),
                    r.get("status"),
                    r.get("run_dir"),
                ]
            )
    return path


class SweepSummary(Callback):
    """Hydra callback (``hydra.callbacks.sweep_summary`` in ``conf/train.yaml``)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = collect(sweep_dir)
        if not rows:
            return
        direction = rows[0].get("direction", "max")
        rows.sort(key=_sort_key(direction))
        path = write_summary(sweep_dir, rows)

        from rich.table import Table

        name = rows[0].get("metric_name", "metric")
        best = "highest" if direction == "max" else "lowest"
        common = set.intersection(*(set(r.get("overrides", [])) for r in rows))
        caption = f"in every job: {' '.join(sorted(common))}" if common else None
        table = Table(
            title=f"sweep: {len(rows)} jobs, best first ({best} validation {name})", caption=caption
        )
        for col, just in (
            ("#", "right"),
            ("job", "right"),
            ("overrides", "left"),
            (f"val {name}", "right"),
            ("val loss", "right"),
            ("status", "left"),
        ):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for rank, r in enumerate(rows, start=1):
            varying = [o for o in r.get("overrides", []) if o not in common]
            table.add_row(
                str(rank),
                str(r.get("job", "")),
                " ".join(varying),
                _num(r.get("metric")),
                _num(r.get("val_loss")),
                str(r.get("status", "")),
            )
        from .common import console

        out = console()
        out.print(table)
        out.print(f"summary: {path}")


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
