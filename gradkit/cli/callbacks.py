"""``SweepSummary``: a sweep's folder, its stop requests and its summary.

* At the start it claims the sweep folder (never shared, never an old sweep's).
* While jobs run, Ctrl-C or SIGTERM to gradkit asks every running job to stop at
  its next step boundary (SIGTERM is forwarded to the jobs' worker processes; a
  terminal's Ctrl-C reaches them itself) and jobs not yet started are skipped.
* At the end — also after a stop — a table of every job's overrides and final
  metric (best first), printed with rich and written as ``summary.csv``; jobs that
  failed with a config or data error are listed, and the sweep exits 2 naming them.

It reads each job's ``result.json`` from the sweep folder rather than collecting
results in memory, so it works with every launcher (joblib and submitit run jobs
in other processes).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

__all__ = ["SweepSummary", "collect", "write_summary", "sweep_stopping", "SWEEP", "finish"]

#: this process's sweep: its folder once claimed, and whether it was summarised
SWEEP: dict[str, Any] = {}
#: the file a stopping sweep leaves for jobs not yet started (in any process)
STOP_FILE = ".stopping"
#: jobs whose folder was refused (one line each), for the sweep's exit status
REFUSED = ".refused"


def collect(sweep_dir: Path) -> list[dict]:
    """Every job's result in ``sweep_dir`` (jobs that wrote none are left out)."""
    rows = []
    for path in sorted(sweep_dir.glob("*/result.json")):
        try:
            row = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def sweep_stopping(job_dir: Path) -> str | None:
    """The signal's name when this job's sweep is stopping (its jobs are skipped)."""
    from gradkit.runtime import signals

    if signals.requested():
        return signals.signal_name(signals.requested() or 0)
    try:
        return (job_dir.parent / STOP_FILE).read_text().strip() or "a signal"
    except OSError:
        return None


def _running_jobs(sweep_dir: Path) -> list[int]:
    """The pids of this sweep's jobs that run now on this machine: a job's lock is held
    (so the pid in it is not a stale one) and names this host."""
    from .rundir import LOCK, holder

    pids = []
    for lock in sweep_dir.glob(f"*/{LOCK}"):
        if (lock.parent / "result.json").exists():
            continue  # done (its worker may hold the lock a moment longer)
        pid = holder(lock)
        if pid is not None and pid != os.getpid():
            pids.append(pid)
    return pids


def record_refused(message: str) -> None:
    """A job whose folder was refused cannot write its result there: note it in the sweep."""
    from gradkit.runtime.files import open_append

    sweep_dir = SWEEP.get("dir")
    if sweep_dir is None:
        from hydra.core.hydra_config import HydraConfig

        sweep_dir = Path(str(HydraConfig.get().sweep.dir))
    with contextlib.suppress(OSError), open_append(sweep_dir / REFUSED) as f:
        f.write(message.replace("\n", " ") + "\n")


def _on_stop(sweep_dir: Path, signum: int) -> None:
    """A stop during a sweep: mark it stopping and pass SIGTERM on to running jobs."""
    from gradkit.runtime import signals

    name = signals.signal_name(signum)
    from gradkit.runtime.files import write_text

    with contextlib.suppress(OSError):
        write_text(sweep_dir / STOP_FILE, name + "\n")
    if signum == signal.SIGTERM:
        for pid in _running_jobs(sweep_dir):
            with contextlib.suppress(OSError):
                os.kill(pid, signum)
    sys.stderr.write(
        f"gradkit: {name}: stopping the sweep — running jobs save a checkpoint, the rest "
        "are skipped; the summary follows\n"
    )


def _sort_key(direction: str):
    def key(row: dict) -> float:
        m = row.get("metric")
        if m is None or (isinstance(m, float) and math.isnan(m)):
            return math.inf
        return -m if direction == "max" else m

    return key


def write_summary(sweep_dir: Path, rows: list[dict]) -> Path:
    """``summary.csv``: one row per job, best first."""
    from gradkit.runtime.files import write_text

    path = sweep_dir / "summary.csv"
    f = io.StringIO(newline="")
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
    write_text(path, f.getvalue())
    return path


class SweepSummary(Callback):
    """Hydra callback (``hydra.callbacks.sweep_summary`` in ``conf/train.yaml``)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from gradkit.errors import UserError
        from gradkit.runtime import signals

        from .hydra_app import print_error
        from .rundir import claim

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            claim(sweep_dir, "hydra.sweep.dir")
        except UserError as e:  # Hydra turns a callback's Exception into a warning
            print_error(str(e))
            raise SystemExit(2) from None
        SWEEP["dir"] = sweep_dir
        SWEEP["done"] = False
        signals.install()
        signals.enter_deferred()
        signals.on_request(lambda signum: _on_stop(sweep_dir, signum))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        finish()


def finish() -> None:
    """Summarise this process's sweep (once), whether it ended or was stopped."""
    sweep_dir = SWEEP.get("dir")
    if sweep_dir is None or SWEEP.get("done"):
        return
    SWEEP["done"] = True
    rows = collect(sweep_dir)
    SWEEP["rows"] = rows
    if not rows:
        return
    _show(sweep_dir, rows)


def _show(sweep_dir: Path, rows: list[dict]) -> None:
    """Print the summary table and write summary.csv."""
    direction = next((r["direction"] for r in rows if r.get("direction")), "max")
    rows.sort(key=_sort_key(direction))
    path = write_summary(sweep_dir, rows)

    from rich.table import Table

    name = next((r["metric_name"] for r in rows if r.get("metric_name")), "metric")
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
