"""``gradkit evaluate run=DIR [input=FILE] [output=FILE.json]``: a trained run's metrics on
labelled data (the run's own validation split when no input is given).

Shows loss and accuracy (classifiers, with a confusion matrix) or MSE, MAE and R²
(regression) as a table; ``output=`` also writes them as JSON, with the keys ``loss``
and the metric's name (``accuracy`` / ``mse``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .keyvalue import output_path, run_command

__all__ = ["main", "scores_tables"]

OPTIONS = {
    "run": "a gradkit train run folder (outputs/<date>/<time>)",
    "input": "a labelled .csv (features matched by name, plus the target column) or .npz "
    "(x and y); default: the run's own validation split, rebuilt from its config",
    "output": "also write the scores as JSON to this file",
    "target": "the target column's name in input (default: the training data's)",
}

USAGE = """\
usage: gradkit evaluate run=DIR [input=FILE] [output=scores.json]

A trained run's loss and metric on labelled data: accuracy and a confusion matrix
(classifiers), MSE, MAE and R² (regression). Without input= it rebuilds the run's own
validation split from its saved config and seed, and gives result.json's metric.

options:
{options}

examples:
  gradkit evaluate run=outputs/2026-11-22/10-00-00
  gradkit evaluate run=outputs/2026-11-22/10-00-00 input=test.csv output=scores.json
"""


def scores_tables(scores: dict) -> list[Any]:
    """The rich tables of ``scores``: the metrics, and the confusion matrix if any."""
    from rich.table import Table

    t = Table()
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("samples", str(scores["n"]))
    for key in ("loss", "accuracy", "mse", "mae", "r2"):
        if key in scores:
            v = scores[key]
            t.add_row(key, "nan" if v is None or math.isnan(v) else f"{v:.6g}")
    tables = [t]
    if "confusion_matrix" in scores:
        cm = Table(title="confusion matrix")
        cm.add_column("true \\ predicted")
        for label in scores["classes"]:
            cm.add_column(str(label), justify="right")
        for label, row in zip(scores["classes"], scores["confusion_matrix"]):
            cm.add_row(str(label), *(str(v) for v in row))
        tables.append(cm)
    return tables


def _evaluate(opts: dict[str, str]) -> int:
    from gradkit.runs import load_run
    from gradkit.runs.inputs import encode_labels, read_input
    from gradkit.runs.own_split import validation_split
    from gradkit.runs.scores import score
    from gradkit.runtime.files import write_text

    from .common import console

    out = output_path(opts["output"], "scores.json") if opts.get("output") else None
    run = load_run(opts["run"])
    if opts.get("input"):
        data = read_input(opts["input"], run.card, opts.get("target"))
        if data.y is None:
            raise _no_target(data.path, data.target)
        y = encode_labels(data.y, run.card, f"{data.path}, target {data.target!r}")
        scores = score(run.model, run.standardize(data.x), y, run.classes)
        source = data.path
    else:
        x, y, ds = validation_split(run)
        scores = score(run.model, x, y, run.classes)
        source = f"validation split of {ds.name}"
    scores = {"run": str(run.path), "data": source, **scores}
    c = console()
    head = f"{run.card.model} ({run.task}) of run={run.path}, on {source}:"
    c.print(head, highlight=False, markup=False)
    for table in scores_tables(scores):
        c.print(table)
    if out is not None:
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in scores.items()
        }
        write_text(out, json.dumps(clean, indent=1) + "\n")
        c.print(f"scores written to {out}", highlight=False, markup=False)
    return 0


def _no_target(path: str, target: str) -> Exception:
    """An input without labels cannot be evaluated: say how to name the target."""
    from gradkit.errors import DataError

    return DataError(
        f"{path}: no target column {target!r} to evaluate against; name it with "
        "target=COLUMN (for an .npz file, store the labels as y)"
    )


def main(args: list[str]) -> int:
    """Run ``gradkit evaluate ARGS``."""
    return run_command("evaluate", USAGE, args, OPTIONS, ("run",), _evaluate)
