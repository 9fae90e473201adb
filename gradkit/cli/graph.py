"""``gradkit graph``: one training step of the configured model, its autograd graph
printed as a tree (grad_fn names as PyTorch names them, shapes, the leaves that
require grad) and written as ``graph.dot`` — and ``graph.svg`` when Graphviz's
``dot`` is installed (primary config ``conf/graph.yaml``)."""

from __future__ import annotations

import logging
import shutil
import subprocess

from omegaconf import DictConfig

from .common import (
    build_model,
    check_missing,
    console,
    exit_codes,
    load_data,
    resolve_device,
    run_dir,
)
from .hydra_app import launch

__all__ = ["main", "run"]

log = logging.getLogger("gradkit")


@exit_codes("graph")
def run(cfg: DictConfig) -> int:
    from hydra.core.hydra_config import HydraConfig

    import gradkit
    from gradkit.autograd.graph_view import graph_of, to_dot, to_tree
    from gradkit.errors import ConfigError

    check_missing(cfg)
    folder = run_dir()
    dev = resolve_device(cfg.device)
    gradkit.manual_seed(cfg.seed)
    ds = load_data(cfg)
    model = build_model(cfg.model, ds).to(dev)
    name = HydraConfig.get().runtime.choices.get("model")
    if model.manual:
        raise ConfigError(
            f"model={name} computes its gradients by hand and records no autograd graph; "
            "graph a model that uses autograd: logreg, mlp or function_mlp"
        )
    data = ds.to(dev)
    n = max(1, min(cfg.graph.batch_size, len(ds.x_train)))
    x, y = data.x_train[:n], data.y_train[:n]
    loss = model.loss(model(x), y)
    names = {id(p): pname for pname, p in model.named_parameters()}
    view = graph_of(loss, names)
    title = (
        f"loss of {name} ({type(model).__name__}) on a batch of {n}: "
        f"{view.count('node')} nodes, {view.count('leaf')} leaves that require grad"
    )
    console().print(to_tree(view, title))
    dot = folder / "graph.dot"
    from gradkit.runtime.files import write_text

    write_text(dot, to_dot(view, title))
    exe = shutil.which("dot")
    if exe:
        subprocess.run([exe, "-Tsvg", str(dot), "-o", str(folder / "graph.svg")], check=True)
        log.info("wrote %s and %s", dot, folder / "graph.svg")
    else:
        log.info("wrote %s (install Graphviz for graph.svg: apt install graphviz)", dot)
    return view.count("node")


def main(args: list[str]) -> int:
    """Run ``gradkit graph ARGS``."""
    return launch("graph", run, args)
