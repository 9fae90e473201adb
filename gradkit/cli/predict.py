"""``gradkit predict run=DIR input=FILE [output=FILE.csv]``: apply a trained run to new data.

Writes a CSV with a ``prediction`` column (the original label values, or the regression
value; ``prediction_<i>`` for several regression targets) and, for classifiers, one
``prob_<label>`` column per class.
"""

from __future__ import annotations

from typing import Any

from .keyvalue import output_path, run_command

__all__ = ["main", "predictions_table"]

OPTIONS = {
    "run": "a gradkit train run folder (outputs/<date>/<time>)",
    "input": "a .csv file (columns matched by name to the training features; a target "
    "column is ignored) or an .npz file with an x array",
    "output": "the CSV to write (default: predictions.csv in the current folder)",
    "target": "the target column's name in input, to ignore (default: the training data's)",
}

USAGE = """\
usage: gradkit predict run=DIR input=FILE.csv [output=predictions.csv]

Apply a trained run's model to raw data: its standardisation, model and label values,
all from the run folder. Writes a CSV with a prediction column and, for classifiers,
one prob_<label> column per class.

options:
{options}

examples:
  gradkit predict run=outputs/2026-11-22/10-00-00 input=new.csv
  gradkit predict run=outputs/2026-11-22/10-00-00 input=new.npz output=out.csv
"""


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return format(v, ".9g")  # float32 round-trips through 9 significant digits
    return str(v)


def predictions_table(run: Any, x: Any) -> tuple[list[str], list[list[str]]]:
    """The header and rows of predict's CSV for raw features ``x``."""
    import numpy as np

    pred = np.asarray(run.predict(x))
    if pred.ndim == 2:
        header = [f"prediction_{i}" for i in range(pred.shape[1])]
        cols = [pred[:, i].tolist() for i in range(pred.shape[1])]
    else:
        header, cols = ["prediction"], [pred.tolist()]
    if run.task != "regression":
        proba = run.predict_proba(x)
        for k, label in enumerate(run.classes):
            header.append(f"prob_{label}")
            cols.append(proba[:, k].astype(float).tolist())
    rows = [[_fmt(c[i]) for c in cols] for i in range(len(cols[0]))]
    return header, rows


def _predict(opts: dict[str, str]) -> int:
    import csv
    import io

    from gradkit.runs import load_run
    from gradkit.runs.inputs import read_input
    from gradkit.runtime.files import write_text

    output_path(opts.get("output"), "predictions.csv")  # a bad output fails before the work
    run = load_run(opts["run"])
    data = read_input(opts["input"], run.card, opts.get("target"))
    header, rows = predictions_table(run, data.x)
    out = output_path(opts.get("output"), "predictions.csv")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(out, buf.getvalue())
    print(f"{len(rows)} predictions of {run.card.model} ({run.task}) written to {out}")
    return 0


def main(args: list[str]) -> int:
    """Run ``gradkit predict ARGS``."""
    return run_command("predict", USAGE, args, OPTIONS, ("run", "input"), _predict)
