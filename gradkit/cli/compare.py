"""``gradkit compare``: a model's gradient modes — hand-written backward, autograd, and
custom ``Function`` where the model has one — trained in lockstep from identical
parameters on identical batches (primary config ``conf/compare.yaml``).

Prints a table, writes ``report.json``, ``report.md`` and ``curves.png`` in the
run folder, and exits 1 when a mode's gradients leave autograd's beyond the
tolerance, naming the parameter.  With ``loop.compile=true`` each mode's step also
runs captured (``gradkit.compile_step``) on a copy of its model: the table and the
report add its time per step and whether it is bit-identical to the eager mode.
"""

from __future__ import annotations

import logging
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from .common import (
    build_model,
    build_optimizer,
    check_missing,
    console,
    exit_codes,
    load_data,
    resolve_device,
    run_dir,
    write_result,
)
from .hydra_app import launch

__all__ = ["main", "run"]

log = logging.getLogger("gradkit")


def _twins(cfg: DictConfig) -> dict[str, str]:
    """mode -> model class path: the configured model's family, or the configured classes."""
    from gradkit.errors import ConfigError
    from gradkit.models import family_of

    from .usercode import locate, model_target

    _, base = locate(model_target(cfg.model), "model._target_")
    family = family_of(base)
    if not family:
        raise ConfigError(
            f"{base.__name__} has no gradient modes to compare; use model=logreg or model=mlp"
        )
    paths = {m: f"{c.__module__}.{c.__name__}" for m, c in family.items()}
    for mode in ("manual", "function"):
        if cfg.compare.get(mode):
            paths[mode], cls = locate(cfg.compare[mode], f"compare.{mode}")
            if not isinstance(cls, type) or not hasattr(cls, "parameters"):
                raise ConfigError(
                    f"compare.{mode}={cfg.compare[mode]!r} is not a model class (a gradkit "
                    "nn.Module subclass)"
                )
    order = ["manual", "autograd", "function"]
    return {m: paths[m] for m in order if m in paths}


def _table(rows: list[dict], compiled: bool) -> Any:
    from rich.table import Table

    t = Table(title="gradient modes, trained in lockstep")
    cols = ["mode", "final loss", "max |Δgrad|", "max rel Δgrad", "fwd ms", "bwd ms"]
    cols += ["step ms", "ms/step", "vs autograd"]
    if compiled:
        cols += ["compiled ms/step", "vs eager", "bit-identical"]
    for col in cols:
        t.add_column(col, justify="left" if col == "mode" else "right")
    for r in rows:
        cells = [
            r["mode"],
            f"{r['final_loss']:.5g}",
            f"{r['max_abs_grad_diff']:.2e}",
            f"{r['max_rel_grad_diff']:.2e}",
            f"{r['forward_ms']:.3f}",
            f"{r['backward_ms']:.3f}",
            f"{r['step_ms']:.3f}",
            f"{r['ms_per_step']:.3f}",
            f"{r['vs_autograd']:.2f}x",
        ]
        if compiled:
            cells += [
                f"{r['compiled_ms_per_step']:.3f}",
                f"{r['compiled_vs_eager']:.2f}x",
                "yes" if r["compiled_identical"] else "NO",
            ]
        t.add_row(*cells)
    return t


def _compiled_twins(cfg: DictConfig, ds: Any, dev: Any, paths: dict, start: dict) -> dict:
    """``loop.compile=true``: for each mode, a copy of its model from the same parameters
    and its own optimizer, to run the same steps captured."""
    import gradkit

    twins = {}
    for mode, path in paths.items():
        gradkit.manual_seed(cfg.seed)
        model = build_model(cfg.model, ds, target=path).to(dev)
        model.load_state_dict(start)
        twins[mode] = (model, build_optimizer(cfg.optimizer, model))
    return twins


@exit_codes("compare")
def run(cfg: DictConfig) -> float:
    import gradkit
    from gradkit.train.compare import compare_modes
    from gradkit.train.report import plot_curves, summary_rows, write_json, write_markdown

    check_missing(cfg)
    loop = OmegaConf.to_object(cfg.loop)  # checked as it is built (train/config.py)
    folder = run_dir()
    dev = resolve_device(cfg.device)
    ds = load_data(cfg)
    paths = _twins(cfg)
    models: dict[str, Any] = {}
    for mode, path in paths.items():
        gradkit.manual_seed(cfg.seed)
        models[mode] = build_model(cfg.model, ds, target=path).to(dev)
    start = models["autograd"].state_dict()
    for m in models.values():
        m.load_state_dict(start)
    optimizers = {mode: build_optimizer(cfg.optimizer, m) for mode, m in models.items()}
    twins = _compiled_twins(cfg, ds, dev, paths, start) if loop.compile else None
    steps = loop.steps or 100
    log.info(
        "comparing %s on %s for %d steps%s",
        ", ".join(f"{m} ({paths[m].split('.')[-1]})" for m in models),
        dev,
        steps,
        ", each eager and compiled" if twins else "",
    )
    cmp = compare_modes(
        models,
        optimizers,
        ds.to(dev),
        steps,
        loop.batch_size,
        cfg.seed,
        dev,
        cfg.compare.atol,
        cfg.compare.rtol,
        compiled=twins,
    )
    choices = hydra.core.hydra_config.HydraConfig.get().runtime.choices
    meta = {
        "model": choices.get("model"),
        "data": ds.name,
        "optimizer": choices.get("optimizer"),
        "device": str(dev),
        "classes": paths,
    }
    drew = plot_curves(cmp, folder / "curves.png", f"{meta['model']} on {ds.name}")
    if not drew:
        log.info("curves.png not drawn: matplotlib is not installed (pip install 'gradkit[plots]')")
    write_json(cmp, folder / "report.json", meta)
    write_markdown(cmp, folder / "report.md", meta, "curves.png" if drew else None)
    rows = summary_rows(cmp)
    console().print(_table(rows, cmp.compiled))
    for r in rows if cmp.compiled else ():
        if r["compiled_reason"] is not None:
            log.warning("%s: the compiled step ran eagerly: %s", r["mode"], r["compiled_reason"])
        elif r.get("compiled_graph_reason") is not None:
            log.warning(
                "%s: replayed without a CUDA graph: %s", r["mode"], r["compiled_graph_reason"]
            )
        elif not r["compiled_identical"]:
            log.warning("%s: the compiled step's numbers differ from eager's", r["mode"])
    worst = max((r["max_abs_grad_diff"] for r in rows), default=0.0)
    write_result(
        folder,
        status="ok" if cmp.agree else "disagree",
        metric=worst,
        metric_name="max_abs_grad_diff",
        direction="min",
        steps=steps,
    )
    if not cmp.agree:
        for (mode, param), (first, diff, at) in cmp.by_first_step():
            log.error(
                "%s gradients disagree with autograd for %s: from step %d, by up to %.3g "
                "(at step %d)",
                mode,
                param,
                first,
                diff,
                at,
            )
        log.error("report: %s", folder / "report.md")
        raise SystemExit(1)
    log.info(
        "all modes agree with autograd (largest difference %.3g); report: %s",
        worst,
        folder / "report.md",
    )
    return worst


def main(args: list[str]) -> int:
    """Run ``gradkit compare ARGS``."""
    return launch("compare", run, args)
