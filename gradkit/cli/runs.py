"""``gradkit runs [root=DIR] [status=ok,failed] [last=N] [format=table|csv|json]``: the
past runs under ``outputs/`` and ``multirun/``, newest first.

It reads only each folder's ``result.json``, the tail of ``metrics.jsonl``, ``model.json``
and ``.hydra/`` (see :mod:`gradkit.runs.listing`), so it answers fast on thousands of runs
and never imports numpy or Hydra.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from .keyvalue import UsageError, run_command

__all__ = ["main", "select", "render_table"]

OPTIONS = {
    "root": "the folder to look in (default: outputs/ and multirun/ here)",
    "status": "only runs with this status (comma-separated): ok, failed, interrupted, "
    "terminated, preempted, error, skipped, stopped, running, incomplete",
    "last": "only the N newest runs",
    "format": "table (default), csv or json",
}

USAGE = """\
usage: gradkit runs [root=DIR] [status=ok,failed] [last=N] [format=table|csv|json]

The runs under outputs/ and multirun/ (or root=DIR), newest first: folder, start time,
overrides, model, data, status, steps, validation metric and training time. The table
shows the newest 100 unless last= is given; csv and json list every run. A run whose
lock is held by a live gradkit is "running"; one with neither result nor lock is
"incomplete" (killed, or still starting).

options:
{options}

examples:
  gradkit runs
  gradkit runs status=failed,interrupted last=5
  gradkit runs root=multirun/2026-11-22 format=csv > runs.csv
"""

#: rows the table shows when last= is not given (rich takes ~2 ms a row)
TABLE_ROWS = 100
COLUMNS = [
    "folder",
    "started",
    "overrides",
    "model",
    "data",
    "status",
    "detail",
    "steps",
    "metric_name",
    "metric",
    "val_loss",
    "duration",
]
_STYLE = {
    "ok": "green",
    "running": "cyan",
    "failed": "red",
    "error": "red",
    "interrupted": "yellow",
    "terminated": "yellow",
    "preempted": "yellow",
    "stopped": "yellow",
}


def select(runs: list[Any], status: str | None, last: str | None) -> list[Any]:
    """``runs`` filtered by ``status=`` (comma-separated words) and cut to ``last=N``."""
    from gradkit.runs.listing import STATUSES

    if status:
        wanted = {s.strip().lower() for s in status.split(",") if s.strip()}
        bad = sorted(wanted - set(STATUSES))
        if bad:
            raise UsageError(
                f"gradkit runs: status={bad[0]} is not a status; the statuses are: "
                f"{', '.join(STATUSES)}"
            )
        runs = [r for r in runs if r.status in wanted]
    if last is not None:
        try:
            n = int(last)
        except ValueError:
            n = -1
        if n < 1:
            raise UsageError(f"gradkit runs: last={last} must be a whole number >= 1, e.g. last=10")
        runs = runs[:n]
    return runs


def _short(overrides: list[str], width: int = 40) -> str:
    """The overrides on one line, less the model and data choices (they have columns)."""
    text = " ".join(o for o in overrides if not o.startswith(("model=", "data=")))
    return text if len(text) <= width else text[: width - 1] + "…"


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _duration(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 60:
        return f"{s:.1f}s"
    s = round(s)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def render_table(runs: list[Any], where: str, total: int | None = None) -> Any:
    """The rich table of ``runs`` (the newest of ``total`` when that is more)."""
    from rich.markup import escape
    from rich.table import Table

    from gradkit.runs.listing import _iso

    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    noun = "run" if len(runs) == 1 else "runs"
    title = f"{len(runs)} {noun} in {escape(where)}, newest first ({summary})"
    if total is not None and total > len(runs):
        title = f"the newest {len(runs)} of {total} runs in {escape(where)} ({summary})"
    table = Table(title=title)
    rows = []
    for r in runs:
        metric = "-" if r.metric is None else f"{r.metric_name or 'metric'} {_fmt(r.metric)}"
        rows.append(
            [
                r.folder,
                (_iso(r.started) or "-")[:16],
                _short(r.overrides),
                r.model or "-",
                r.data or "-",
                r.status,
                "-" if r.steps is None else str(r.steps),
                metric,
                _duration(r.duration),
            ]
        )
    # every column keeps its width on a narrow terminal but the overrides, which shrink
    for i, (col, just) in enumerate(
        (
            ("folder", "left"),
            ("started", "left"),
            ("overrides", "left"),
            ("model", "left"),
            ("data", "left"),
            ("status", "left"),
            ("steps", "right"),
            ("val metric", "right"),
            ("time", "right"),
        )
    ):
        widest = max([len(col), *(len(row[i]) for row in rows)])
        table.add_column(
            col,
            justify=just,  # type: ignore[arg-type]
            no_wrap=True,
            min_width=12 if col == "overrides" else min(widest, 60),
            overflow="ellipsis",
        )
    for row in rows:
        style = _STYLE.get(row[5], "dim")
        cells = [escape(c) for c in row]
        cells[5] = f"[{style}]{cells[5]}[/]"
        table.add_row(*cells)
    return table


def _body(opts: dict[str, str]) -> int:
    from gradkit.errors import UserError
    from gradkit.runs.listing import find_runs

    fmt = opts.get("format", "table") or "table"
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"gradkit runs: format={fmt} is not a format; use table, csv or json")
    if opts.get("root"):
        root = Path(opts["root"])
        if not root.is_dir():
            raise UserError(f"root={root} is not a folder; name a folder that holds runs")
        roots, where = [root], str(root)
    else:
        roots = [p for p in (Path("outputs"), Path("multirun")) if p.is_dir()]
        where = "outputs/ and multirun/"
    matching = select(find_runs(roots), opts.get("status"), None)
    runs = select(matching, None, opts.get("last"))
    if fmt == "json":
        json.dump([r.as_dict() for r in runs], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if fmt == "csv":
        f = io.StringIO(newline="")
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in runs:
            d = r.as_dict()
            d["overrides"] = " ".join(d["overrides"])
            w.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
        sys.stdout.write(f.getvalue())
        return 0
    import rich

    out = rich.get_console()
    if not out.is_terminal and out.width < 200:
        out.width = 200  # not squeezed to 80 columns in files and pipes
    if not runs:
        out.print(
            f"no runs in {where}" + (" with that filter" if opts.get("status") else ""),
            markup=False,
        )
        return 0
    shown = runs if opts.get("last") else runs[:TABLE_ROWS]
    out.print(render_table(shown, where, len(matching)))
    if len(shown) < len(matching):
        out.print(
            f"... and {len(matching) - len(shown)} older runs: last={len(matching)} shows them "
            "all, format=csv or format=json lists them for scripts",
            markup=False,
        )
    return 0


def main(args: list[str]) -> int:
    """Run ``gradkit runs ARGS``."""
    return run_command("runs", USAGE, args, OPTIONS, (), _body)
