"""``gradkit gradcheck``: finite differences against backward, in float64, for every
built-in op, layer, loss, custom Function and model — or for your own
(``target=mymodule.MyFunction`` or ``mymodule:MyFunction``, ``inputs=[[3,4]]``).  Prints a
table and exits 1 on any failure (primary config ``conf/gradcheck.yaml``)."""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import asdict
from typing import Any

from omegaconf import DictConfig

from gradkit.runtime.files import write_text

from .common import console, exit_codes, run_dir
from .hydra_app import launch
from .usercode import locate

__all__ = ["main", "run"]

log = logging.getLogger("gradkit")


def _user_case(cfg: Any) -> Any:
    """A catalog case for ``gradcheck.target`` with ``gradcheck.inputs`` shapes."""
    from gradkit.autograd.function import Function
    from gradkit.checks import Arg, Case
    from gradkit.errors import ConfigError

    target = cfg.target
    if not cfg.inputs:
        raise ConfigError(
            "gradcheck.inputs is required with a target: the shapes of its inputs, e.g. "
            "'gradcheck.inputs=[[3,4],[4]]'"
        )
    if cfg.domain not in ("any", "pos", "away0", "unit"):
        raise ConfigError(f"gradcheck.domain must be any, pos, away0 or unit; got {cfg.domain!r}")
    _, obj = locate(target, "gradcheck.target")
    fn = obj.apply if isinstance(obj, type) and issubclass(obj, Function) else obj
    if not callable(fn):
        raise ConfigError(f"gradcheck.target={target!r} is not a Function or a function")
    _check_arity(target, obj, len(cfg.inputs))
    args = tuple(Arg(tuple(s), cfg.domain) for s in cfg.inputs)
    return Case(target, fn, args, "function")


def _check_arity(target: str, obj: Any, given: int) -> None:
    """A ConfigError when ``gradcheck.inputs`` gives a different number of shapes than the
    target's forward (or the function) takes."""
    from gradkit.autograd.function import Function
    from gradkit.errors import ConfigError

    is_function = isinstance(obj, type) and issubclass(obj, Function)
    fn = obj.forward if is_function else obj
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return  # a builtin without a signature: let it run
    if is_function:
        params = params[1:]  # ctx
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) <= given <= len(positional):
        return
    what = f"{target}.forward" if is_function else target
    names = ", ".join(p.name for p in positional)
    takes = (
        f"{len(required)}"
        if len(required) == len(positional)
        else f"{len(required)} to {len(positional)}"
    )
    raise ConfigError(
        f"gradcheck.inputs gives {given} shape{'s' if given != 1 else ''} but {what} takes "
        f"{takes} input{'s' if len(positional) != 1 else ''} ({names}); give one shape per "
        f"input, e.g. 'gradcheck.inputs=[{','.join(['[3,4]'] * max(len(required), 1))}]'"
    )


def _table(results: list[Any]) -> Any:
    from rich.table import Table

    failed = sum(not r.passed for r in results)
    title = f"gradcheck: {len(results)} checks, " + (
        "all passed" if not failed else f"{failed} FAILED"
    )
    t = Table(title=title)
    for col in ("name", "kind", "input shapes", "max abs error", "pass"):
        t.add_column(col, justify="right" if col == "max abs error" else "left")
    for r in results:
        ok = "[green]yes[/]" if r.passed else "[bold red]NO[/]"
        t.add_row(r.name, r.kind, r.shapes, f"{r.max_abs_error:.2e}", ok)
    return t


@exit_codes("gradcheck")
def run(cfg: DictConfig) -> int:
    from gradkit.checks import CASES, check

    g = cfg.gradcheck
    cases = [_user_case(g)] if g.target else list(CASES)
    if g.filter:
        cases = [c for c in cases if g.filter in c.name]
        if not cases:
            from gradkit.errors import ConfigError

            raise ConfigError(
                f"no check matches gradcheck.filter={g.filter!r}; the names contain op, layer "
                "and model names such as add, softmax, Linear, MLP (gradkit gradcheck lists them)"
            )
    results = [check(c, g.eps, g.atol, g.rtol) for c in cases]
    console().print(_table(results))
    write_text(run_dir() / "gradcheck.json", json.dumps([asdict(r) for r in results], indent=1))
    failed = [r for r in results if not r.passed]
    for r in failed:
        log.error(
            "gradcheck failed: %s (%s): max abs error %.3g; %s",
            r.name,
            r.shapes,
            r.max_abs_error,
            r.message,
        )
    if failed:
        raise SystemExit(1)
    log.info(
        "%d checks passed (eps=%g, atol=%g, rtol=%g, float64)", len(results), g.eps, g.atol, g.rtol
    )
    return len(results)


def main(args: list[str]) -> int:
    """Run ``gradkit gradcheck ARGS``."""
    return launch("gradcheck", run, args)
