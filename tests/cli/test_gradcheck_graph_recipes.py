"""gradkit gradcheck, graph and recipes through the real command."""

from __future__ import annotations

import json
import shutil

import pytest

from gradkit.cli.recipes import find_recipes

from .helpers import gradkit, metrics, output

MYOPS = """
import gradkit


class Square(gradkit.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class WrongSquare(Square):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return x * g
"""


def test_gradcheck_checks_every_built_in(tmp_path) -> None:
    p = gradkit("gradcheck", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    results = json.loads((tmp_path / "run" / "gradcheck.json").read_text())
    kinds = {r["kind"] for r in results}
    assert kinds == {"op", "layer", "loss", "function", "model"}
    assert len(results) > 200 and all(r["passed"] for r in results)
    assert all(r["max_abs_error"] < 1e-5 for r in results)
    assert "checks, all passed" in output(p)


def test_gradcheck_filter(tmp_path) -> None:
    p = gradkit("gradcheck", "gradcheck.filter=softmax", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    names = [r["name"] for r in json.loads((tmp_path / "run" / "gradcheck.json").read_text())]
    assert names and all("softmax" in n for n in names)


def test_gradcheck_a_users_function(tmp_path) -> None:
    (tmp_path / "myops.py").write_text(MYOPS)
    p = gradkit(
        "gradcheck", "gradcheck.target=myops:Square", "gradcheck.inputs=[[3,4]]", cwd=tmp_path
    )
    assert p.returncode == 0, output(p)
    assert "myops:Square" in output(p) and "1 checks, all passed" in output(p)
    p = gradkit(
        "gradcheck", "gradcheck.target=myops:WrongSquare", "gradcheck.inputs=[[3]]", cwd=tmp_path
    )
    assert p.returncode == 1
    assert "gradcheck failed: myops:WrongSquare (3)" in output(p)
    p = gradkit("gradcheck", "gradcheck.target=myops:Square", cwd=tmp_path)
    assert p.returncode == 2 and "gradcheck.inputs is required" in output(p)


def test_graph_prints_the_tree_and_writes_dot(tmp_path) -> None:
    p = gradkit("graph", "model=mlp", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    text = p.stdout
    for piece in (
        "NllLossBackward0",
        "LogSoftmaxBackward0",
        "AddmmBackward0 (8, 3)",
        "ReluBackward0 (8, 64)",
        "fc1.weight (64, 20) requires_grad",
        "5 nodes, 4 leaves that require grad",
    ):
        assert piece in text
    dot = (tmp_path / "run" / "graph.dot").read_text()
    assert dot.startswith('digraph "') and "fc2.bias (3) requires_grad" in dot
    assert dot.count("->") == 8
    if shutil.which("dot"):
        assert (tmp_path / "run" / "graph.svg").exists()


def test_graph_of_the_custom_function_model(tmp_path) -> None:
    p = gradkit("graph", "model=function_mlp", cwd=tmp_path)
    assert p.returncode == 0 and "MyReLUBackward" in p.stdout


def test_graph_refuses_manual_models(tmp_path) -> None:
    p = gradkit("graph", "model=manual_mlp", cwd=tmp_path)
    assert p.returncode == 2
    assert "computes its gradients by hand and records no autograd graph" in output(p)


def test_recipes_lists_every_recipe(tmp_path) -> None:
    p = gradkit("recipes", cwd=tmp_path)
    assert p.returncode == 0
    for r in find_recipes():
        assert r.name in p.stdout and r.run_with in p.stdout and r.description
    assert "gradkit compare recipe=compare_logreg" in p.stdout
    assert "gradkit train -m recipe=optuna_lr_search" in p.stdout


SMOKE = {
    "train": ("loop.steps=3",),
    "compare": ("loop.steps=3",),
    "train -m": ("hydra.sweeper.n_trials=2", "loop.epochs=1"),
}


@pytest.mark.parametrize("recipe", find_recipes(), ids=lambda r: r.name)
def test_every_recipe_runs(tmp_path, recipe) -> None:
    if "breast_cancer" in recipe.path or "digits" in recipe.path or "optuna" in recipe.name:
        pytest.importorskip("sklearn")
    if "optuna" in recipe.name:
        pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    cmd, _, flags = recipe.command.partition(" ")
    args = [
        cmd,
        *([flags] if flags else []),
        f"recipe={recipe.name}",
        *SMOKE[recipe.command],
        "hydra.run.dir=run",
        "hydra.sweep.dir=sweep",
    ]
    p = gradkit(*args, cwd=tmp_path, timeout=600)
    assert p.returncode == 0, output(p)


@pytest.mark.parametrize("recipe", ["seed_two_layer_relu", "seed_two_layer_myrelu"])
def test_seed_004_recipes_reach_the_seeds_loss(tmp_path, recipe) -> None:
    p = gradkit("train", f"recipe={recipe}", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    train = [m for m in metrics(tmp_path / "run") if m["split"] == "train"]
    assert train[-1]["step"] == 500 and train[-1]["loss"] < 1e-3
