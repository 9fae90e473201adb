"""``gradkit plot RUN_OR_SWEEP... [output=curves.png]``: the training and validation loss
and metric of runs against the step, overlaid in one picture (matplotlib, the ``plots``
extra).  A sweep folder stands for all its jobs, each labelled by its overrides."""

from __future__ import annotations

import sys

from .keyvalue import UsageError, output_path, run_command

__all__ = ["main"]

OPTIONS = {
    "output": "the PNG to write (default: curves.png in the current folder)",
    "title": "a title over the picture",
}

USAGE = """\
usage: gradkit plot RUN_OR_SWEEP... [output=curves.png] [title=TEXT]

Draw the loss (left) and the metric (right) against the step for one run, several runs
overlaid, or every job of a sweep folder (labelled by the overrides that differ). Train
lines are solid, validation lines dashed. Needs matplotlib: pip install 'gradkit[plots]'.

options:
{options}

examples:
  gradkit plot outputs/2026-11-22/10-00-00
  gradkit plot multirun/2026-11-22/11-00-00 output=sweep.png
  gradkit plot outputs/2026-11-22/10-00-00 outputs/2026-11-22/10-05-00 title="lr 0.1 vs 0.01"
"""


def main(args: list[str]) -> int:
    """Run ``gradkit plot ARGS``: folders are the positional arguments, ``key=value`` the
    options."""
    folders = [a for a in args if a.partition("=")[0] not in OPTIONS and not a.startswith("-")]
    options = [a for a in args if a not in folders]

    def body(opts: dict[str, str]) -> int:
        from gradkit.runs.curves import collect_curves, draw
        from gradkit.runtime.files import write_bytes

        if not folders:
            raise UsageError(
                "gradkit plot: name at least one run or sweep folder, e.g. gradkit plot "
                "outputs/2026-11-22/10-00-00"
            )
        out = output_path(opts.get("output"), "curves.png")
        curves, notes = collect_curves(folders)
        for note in notes:
            sys.stderr.write(f"gradkit plot: warning: {note}\n")
        if not curves:
            raise UsageError(
                "gradkit plot: none of these runs logged any metrics yet; nothing to draw"
            )
        write_bytes(out, draw(curves, opts.get("title")))
        print(f"{len(curves)} run{'s' if len(curves) != 1 else ''} drawn in {out}")
        return 0

    return run_command("plot", USAGE, options, OPTIONS, (), body)
