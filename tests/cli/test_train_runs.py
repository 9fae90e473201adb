"""gradkit train runs: learning, every model, the run folder, zero_grad, recipes, ./conf."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .helpers import gradkit, metrics, output, result

FAST = ("loop.progress=lines",)


def test_default_run_learns_and_writes_its_folder(tmp_path) -> None:
    p = gradkit(
        "train", "loop.epochs=5", "loop.eval_every=13", "hydra.run.dir=run", *FAST, cwd=tmp_path
    )
    assert p.returncode == 0, output(p)
    run = tmp_path / "run"
    for name in (
        "train.log",
        "metrics.jsonl",
        "params.npz",
        "checkpoint.npz",
        "result.json",
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
    ):
        assert (run / name).exists(), name
    val = [m for m in metrics(run) if m["split"] == "val"]
    assert len(val) >= 3 and val[-1]["loss"] < val[0]["loss"]
    assert set(metrics(run)[0]) == {
        "step",
        "epoch",
        "split",
        "loss",
        "metric",
        "metric_name",
        "time",
        "lr",
        "steps_per_s",
        "grad_norm",
    }
    assert set(metrics(run)[0]["grad_norm"]) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert set(val[0]) == {"step", "epoch", "split", "loss", "metric", "metric_name", "time"}
    r = result(run)
    assert r["status"] == "ok" and r["metric_name"] == "accuracy" and r["metric"] > 0.75
    assert "validation accuracy" in (run / "train.log").read_text()
    params = np.load(run / "params.npz")
    assert sorted(params.files) == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]


def test_progress_bar_keeps_step_lines_in_the_log_file(tmp_path) -> None:
    """With a bar the console shows no per-step lines, but train.log keeps them all."""
    p = gradkit(
        "train",
        "loop.steps=30",
        "loop.log_every=10",
        "loop.progress=bar",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert p.returncode == 0, output(p)
    assert "step 10/30" not in p.stdout
    log = (tmp_path / "run" / "train.log").read_text()
    for step in (10, 20, 30):
        assert f"step {step}/30" in log, log


@pytest.mark.parametrize(
    ("model", "data"),
    [
        ("logreg", "binary_blobs"),
        ("manual_logreg", "binary_blobs"),
        ("logreg", "blobs"),
        ("manual_logreg", "blobs"),
        ("mlp", "blobs"),
        ("function_mlp", "blobs"),
        ("manual_mlp", "blobs"),
        ("mlp", "regression"),
        ("logreg", "breast_cancer"),
        ("mlp", "digits"),
    ],
)
def test_each_model_trains(tmp_path, model, data) -> None:
    if data in ("breast_cancer", "digits"):
        pytest.importorskip("sklearn")
    p = gradkit(
        "train",
        f"model={model}",
        f"data={data}",
        "loop.epochs=3",
        "hydra.run.dir=run",
        *FAST,
        cwd=tmp_path,
    )
    assert p.returncode == 0, output(p)
    val = [m for m in metrics(tmp_path / "run") if m["split"] == "val"]
    assert val[-1]["loss"] < val[0]["loss"] or len(val) == 1
    r = result(tmp_path / "run")
    if data == "regression":
        assert r["metric_name"] == "mse" and r["metric"] < 0.5
    else:
        assert r["metric"] > 0.7


def test_logreg_and_mlp_sweep_on_the_default_data(tmp_path) -> None:
    """model=logreg on the 3-class default data is softmax regression, so this sweep runs."""
    p = gradkit("train", "-m", "model=logreg,mlp", "loop.epochs=2", *FAST, cwd=tmp_path)
    assert p.returncode == 0, output(p)
    runs = sorted((tmp_path / "multirun").glob("*/*/[0-9]"))
    assert [result(r)["status"] for r in runs] == ["ok", "ok"]
    assert "LogisticRegression on cpu, 63 parameters" in output(p)


def test_autograd_and_manual_twins_train_identically(tmp_path) -> None:
    losses = {}
    for model in ("mlp", "manual_mlp", "function_mlp"):
        p = gradkit(
            "train",
            f"model={model}",
            "loop.epochs=2",
            f"hydra.run.dir={model}",
            *FAST,
            cwd=tmp_path,
        )
        assert p.returncode == 0, output(p)
        losses[model] = [m["loss"] for m in metrics(tmp_path / model)]
    np.testing.assert_allclose(losses["manual_mlp"], losses["mlp"], rtol=1e-5)
    assert losses["function_mlp"] == losses["mlp"]


def test_zero_grad_modes(tmp_path) -> None:
    """zero and set_to_none train the same; never lets gradients pile up, as the seeds warn."""
    out = {}
    for mode in ("set_to_none", "zero", "never"):
        p = gradkit(
            "train",
            f"loop.zero_grad={mode}",
            "loop.epochs=2",
            "optimizer.lr=0.05",
            f"hydra.run.dir={mode}",
            *FAST,
            cwd=tmp_path,
        )
        assert p.returncode == 0, output(p)
        out[mode] = [m["loss"] for m in metrics(tmp_path / mode)]
    assert out["zero"] == out["set_to_none"]
    assert out["never"] != out["set_to_none"]


def test_gradient_accumulation(tmp_path) -> None:
    """Two micro-batches of 32 accumulate into steps like batches of 64 (full batch: equal)."""
    runs = {}
    for name, args in {
        "full": ("loop.batch_size=0",),
        "acc": ("loop.batch_size=0", "loop.accumulate=2"),
    }.items():
        p = gradkit("train", "loop.steps=20", *args, f"hydra.run.dir={name}", *FAST, cwd=tmp_path)
        assert p.returncode == 0, output(p)
        runs[name] = result(tmp_path / name)["val_loss"]
    assert runs["acc"] == pytest.approx(runs["full"], rel=1e-5)


def test_seed_recipe_reaches_the_seeds_loss(tmp_path) -> None:
    p = gradkit("train", "recipe=seed_two_layer_relu", "hydra.run.dir=run", *FAST, cwd=tmp_path)
    assert p.returncode == 0, output(p)
    train = [m for m in metrics(tmp_path / "run") if m["split"] == "train"]
    assert train[0]["loss"] > 1e3 and train[-1]["loss"] < 1e-3
    assert train[-1]["step"] == 500


def test_user_conf_folder_is_searched_first(tmp_path) -> None:
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "tiny.yaml").write_text(
        "defaults:\n  - /model_mlp_schema@_here_\n  - _self_\n"
        "_target_: gradkit.models.MLP\nhidden: 3\n"
    )
    p = gradkit("train", "model=tiny", "loop.epochs=1", "hydra.run.dir=run", *FAST, cwd=tmp_path)
    assert p.returncode == 0, output(p)
    params = np.load(tmp_path / "run" / "params.npz")
    assert params["fc1.weight"].shape == (3, 20)


def test_a_user_model_says_what_it_takes_from_the_data(tmp_path) -> None:
    """A class in ./mynet.py, named by ./conf/model/wide.yaml, sized by its own from_data."""
    (tmp_path / "mynet.py").write_text(
        "import gradkit\n"
        "from gradkit.models import MLP\n\n"
        "class Wide(MLP):\n"
        "    def __init__(self, n_in, n_out, task, width=5):\n"
        "        super().__init__(n_in, width, n_out, task)\n\n"
        "    @classmethod\n"
        "    def from_data(cls, ds, config, name):\n"
        "        return {'n_in': ds.n_features, 'n_out': ds.n_outputs, 'task': ds.task}\n"
    )
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "wide.yaml").write_text("_target_: mynet.Wide\nwidth: 7\n")
    p = gradkit("train", "model=wide", "loop.steps=2", "hydra.run.dir=run", *FAST, cwd=tmp_path)
    assert p.returncode == 0, output(p)
    params = np.load(tmp_path / "run" / "params.npz")
    assert params["fc1.weight"].shape == (7, 20) and params["fc2.weight"].shape == (3, 7)


def test_a_user_data_loader_named_in_conf_data(tmp_path) -> None:
    """./conf/data/mine.yaml names a function in ./myloader.py: train and resume call it;
    evaluate, rebuilding the split from the run folder, refuses it without importing it."""
    (tmp_path / "myloader.py").write_text(
        "import pathlib\n"
        "import numpy as np\n\n"
        "pathlib.Path('imported').write_text('!')\n\n"
        "def load(n, seed):\n"
        "    x = np.random.default_rng(seed).standard_normal((n, 3))\n"
        "    return x, (x[:, 0] > 0).astype(int), ['a', 'b', 'c']\n"
    )
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "data" / "mine.yaml").write_text(
        "_target_: myloader.load\nn: 120\nval_fraction: 0.25\n"
    )
    args = ("data=mine", "model=logreg", "loop.progress=none")
    p = gradkit("train", *args, "loop.steps=3", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "data: myloader.load: binary, 3 features, 2 classes; 90 train / 30" in output(p)
    card = json.loads((tmp_path / "run" / "model.json").read_text())
    assert card["features"] == ["a", "b", "c"] and card["kwargs"]["dim"] == 3
    p = gradkit("train", "resume=run", "loop.steps=5", "loop.progress=none", cwd=tmp_path)
    assert p.returncode == 0 and result(tmp_path / "run")["steps"] == 5, output(p)
    (tmp_path / "imported").unlink()
    p = gradkit("evaluate", "run=run", cwd=tmp_path)
    assert p.returncode == 2, output(p)
    assert "data loader 'myloader.load' is not one of gradkit's own data sources" in p.stderr
    assert not (tmp_path / "imported").exists()


def test_csv_data(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    rows = ["a,b,c,label"] + [f"{a},{b},{c},{t}" for (a, b, c), t in zip(x, y)]
    (tmp_path / "d.csv").write_text("\n".join(rows))
    p = gradkit(
        "train",
        "model=logreg",
        "data=csv",
        "data.path=d.csv",
        "loop.epochs=5",
        "hydra.run.dir=run",
        *FAST,
        cwd=tmp_path,
    )
    assert p.returncode == 0, output(p)
    assert result(tmp_path / "run")["metric"] > 0.9


def test_gpu_stand_in_device(tmp_path) -> None:
    """device.type=strict runs the whole loop on array-api-strict's device1."""
    pytest.importorskip("array_api_strict")
    p = gradkit(
        "train", "device.type=strict", "loop.epochs=2", "hydra.run.dir=run", *FAST, cwd=tmp_path
    )
    assert p.returncode == 0, output(p)
    assert "on strict:1" in (tmp_path / "run" / "train.log").read_text()
    assert json.loads((tmp_path / "run" / "result.json").read_text())["metric"] > 0.5


def test_compiled_steps_on_the_gpu_stand_in_are_graph_safe_and_give_eager_numbers(tmp_path) -> None:
    """loop.compile=true on device1: the step is a graph-safe program (its device half
    under the host-transfer tripwire, as a CUDA graph's would be captured), and the run
    logs the eager run's losses, bit for bit."""
    pytest.importorskip("array_api_strict")
    runs = {}
    for flag in ("false", "true"):
        p = gradkit(
            "train",
            "device.type=strict",
            "optimizer=adam",
            "loop.steps=30",
            f"loop.compile={flag}",
            f"hydra.run.dir=run-{flag}",
            *FAST,
            cwd=tmp_path,
        )
        assert p.returncode == 0, output(p)
        assert "CUDA graph" not in p.stderr and "eagerly" not in p.stderr
        runs[flag] = [
            {k: v for k, v in r.items() if k not in ("time", "steps_per_s")}
            for r in metrics(tmp_path / f"run-{flag}")
        ]
    assert runs["true"] == runs["false"] and len(runs["true"]) > 2


def test_gradients_piling_up_are_warned_about_and_a_sane_run_is_quiet(tmp_path) -> None:
    p = gradkit("train", "loop.steps=60", "loop.zero_grad=never", *FAST, cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "gradients grow step over step" in p.stderr and "loop.zero_grad=never" in p.stderr
    p = gradkit("train", "loop.steps=60", *FAST, cwd=tmp_path)
    assert p.returncode == 0 and "WARNING" not in p.stderr, output(p)
