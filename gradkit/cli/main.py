"""The ``gradkit`` command: dispatches to a subcommand, each a Hydra app of its own.

``gradkit --help`` and ``--version`` answer without importing Hydra or numpy;
a subcommand's own module is imported only when it runs.
"""

from __future__ import annotations

import difflib
import importlib
import sys

from .._version import __version__

#: command -> (module with main(args) -> int, one line for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("gradkit.cli.train", "train a model from configs (model=, optimizer=, data=, ...)"),
    "compare": (
        "gradkit.cli.compare",
        "train hand-written, autograd and custom-Function gradients side by side",
    ),
    "gradcheck": (
        "gradkit.cli.gradcheck",
        "check every op (or yours) against finite differences, in float64",
    ),
    "graph": ("gradkit.cli.graph", "print one training step's autograd graph; write graph.dot"),
    "recipes": ("gradkit.cli.recipes", "list the ready-made runs (gradkit train recipe=NAME)"),
    "predict": ("gradkit.cli.predict", "apply a trained run to new data (run=DIR input=FILE.csv)"),
    "evaluate": (
        "gradkit.cli.evaluate",
        "a trained run's metrics on labelled data (default: its own validation split)",
    ),
    "export": ("gradkit.cli.export", "write a trained run's whole prediction as an ONNX model"),
    "runs": (
        "gradkit.cli.runs",
        "a table of past runs: status, steps, metric (root= status= last=)",
    ),
    "plot": ("gradkit.cli.plot", "draw runs' loss and metric curves to a PNG (runs or sweeps)"),
}

_USAGE = """\
usage: gradkit <command> [overrides...] [hydra options]

gradkit trains small models, driven by Hydra configs, on its own autograd engine
(numpy on the CPU, cupy on a CUDA GPU).

commands:
{commands}

`gradkit <command> --help` lists a command's options. train, compare, gradcheck and graph
are Hydra apps: `-m` sweeps (gradkit train -m optimizer.lr=1e-3,1e-2), `--cfg job` prints
the config, `--info` shows the search path. predict, evaluate and export take a run
folder and key=value options; runs and plot read run folders.

options:
  -h, --help     show this message and exit
  -V, --version  show gradkit's version and exit

examples:
  gradkit train
  gradkit train model=logreg data=breast_cancer optimizer=sgd optimizer.lr=0.1
  gradkit train model=mlp device=cuda
  gradkit train -m optimizer.lr=1e-3,1e-2 model=logreg,mlp data=binary_blobs
  gradkit train recipe=seed_two_layer_relu
  gradkit compare model=logreg
  gradkit gradcheck
  gradkit graph model=mlp
  gradkit recipes
  gradkit predict run=outputs/2026-11-22/10-00-00 input=new.csv
  gradkit evaluate run=outputs/2026-11-22/10-00-00 [input=labelled.csv]
  gradkit export run=outputs/2026-11-22/10-00-00 output=model.onnx
  gradkit runs status=ok last=10
  gradkit plot outputs/2026-11-22/10-00-00 multirun/2026-11-22/11-00-00 output=curves.png
"""


def usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = [f"  {c.ljust(width)}  {desc}" for c, (_, desc) in COMMANDS.items()]
    return _USAGE.format(commands="\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gradkit`` console script; returns the exit status.

    Ctrl-C and SIGTERM at any moment end with a message and 128 + the signal's number
    (a training run first saves a checkpoint); output into a closed pipe ends quietly."""
    from ..runtime import signals

    signals.install()
    try:
        status = _main(sys.argv[1:] if argv is None else list(argv))
        if argv is None:
            signals.ignore()  # all is saved; Python's shutdown would die of a late signal
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # as if killed by SIGPIPE, what a shell reports for `... | head`
    except (signals.Stopped, Exception):
        # a Stopped, or what a library raised in its place (the signal is recorded either way)
        signum = signals.requested()
        if signum is None:
            raise
        _quiet_stdout()
        sys.stderr.write(f"gradkit: stopped by {signals.signal_name(signum)}\n")
        return signals.exit_status(signum)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), end="")
        sys.stdout.flush()
        return 0
    if args[0] in ("-V", "--version"):
        print(f"gradkit {__version__}")
        return 0
    cmd = args[0]
    if cmd not in COMMANDS:
        near = difflib.get_close_matches(cmd, COMMANDS, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        sys.stderr.write(
            f"gradkit: error: unknown command '{cmd}'{hint}; the commands are: "
            f"{', '.join(COMMANDS)}. See gradkit --help\n"
        )
        return 2
    module = importlib.import_module(COMMANDS[cmd][0])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
