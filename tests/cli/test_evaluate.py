"""gradkit evaluate: the own validation split reproduces result.json; labelled files; a run
that diverged; a run folder never makes gradkit import code named in it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradkit

from .helpers import gradkit as run_gradkit
from .helpers import output, result
from .trained import labelled, train, write_csv


def _err(p) -> str:
    assert p.returncode == 2, output(p)
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradkit: error: "), p.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "metric"),
    [
        (("loop.epochs=3",), "accuracy"),  # the default: mlp on blobs (3 classes)
        (("model=manual_logreg", "data=binary_blobs", "loop.epochs=3"), "accuracy"),
        (("data=regression", "loop.epochs=3", "loop.batch_size=64"), "mse"),
    ],
    ids=["mlp-multiclass", "manual_logreg-binary", "mlp-regression"],
)
def test_own_validation_split_reproduces_result_json(tmp_path, args, metric) -> None:
    run = train(tmp_path, "run", *args)
    p = run_gradkit("evaluate", "run=run", "output=scores.json", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    scores = json.loads((tmp_path / "scores.json").read_text())
    r = result(run)
    assert r["metric_name"] == metric
    assert scores[metric] == r["metric"]  # exactly
    assert scores["loss"] == r["val_loss"]
    assert scores["n"] == 200 and scores["data"].startswith("validation split of")
    text = output(p)
    assert metric in text and f"{r['metric']:.6g}" in text
    if metric == "mse":
        assert {"mae", "r2"} <= set(scores) and scores["r2"] > 0.5
    else:
        cm = np.array(scores["confusion_matrix"])
        assert cm.sum() == 200 and np.trace(cm) / 200 == pytest.approx(r["metric"], abs=1e-6)
        assert "confusion matrix" in text


def test_a_labelled_file(tmp_path) -> None:
    x, y = labelled(300, [0, 1, 5])
    write_csv(tmp_path / "train.csv", x, y)
    run = train(tmp_path, "run", "model=logreg", "data=csv", "data.path=train.csv")
    xt, yt = labelled(90, [0, 1, 5], seed=11)
    write_csv(tmp_path / "test.csv", xt, yt, columns=["age", "label", "score", "height", "weight"])
    p = run_gradkit("evaluate", "run=run", "input=test.csv", "output=s.json", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["classes"] == [0, 1, 5] and s["n"] == 90 and s["accuracy"] > 0.9
    assert np.array(s["confusion_matrix"]).sum() == 90
    assert "logreg (multiclass) of run=run, on test.csv" in output(p)
    py = gradkit.load_run(run).evaluate(xt, yt)
    assert py["accuracy"] == s["accuracy"] and py["loss"] == s["loss"]
    np.savez(tmp_path / "test.npz", x=xt, y=yt)
    p = run_gradkit("evaluate", "run=run", "input=test.npz", "output=n.json", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert json.loads((tmp_path / "n.json").read_text())["accuracy"] == s["accuracy"]
    # mistakes: no target column, a label the model does not know
    write_csv(tmp_path / "nolabel.csv", xt, None)
    line = _err(run_gradkit("evaluate", "run=run", "input=nolabel.csv", cwd=tmp_path))
    assert "nolabel.csv: no target column 'label' to evaluate against" in line
    write_csv(tmp_path / "seven.csv", xt[:3], np.array([0, 7, 1]))
    line = _err(run_gradkit("evaluate", "run=run", "input=seven.csv", cwd=tmp_path))
    assert "label 7.0 (row 2) is not one of the classes the model knows: 0, 1, 5" in line


def test_a_run_that_diverged_is_evaluated_on_its_last_good_parameters(tmp_path) -> None:
    p = run_gradkit(
        "train",
        "data=regression",
        "optimizer.lr=1e12",
        "loop.epochs=3",
        "loop.progress=none",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert p.returncode == 1, output(p)
    assert result(tmp_path / "run")["metric"] is None
    p = run_gradkit("evaluate", "run=run", "output=s.json", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "RuntimeWarning" not in p.stderr
    s = json.loads((tmp_path / "s.json").read_text())
    assert set(s) >= {"loss", "mse", "mae", "r2"} and s["n"] == 200


def test_a_run_folder_never_imports_code_named_in_it(tmp_path) -> None:
    """A config or model card naming another class is refused, and that module is never
    imported (it would write a file if it were)."""
    run = train(tmp_path, "run", "model=logreg", "data=binary_blobs", "loop.steps=2")
    (tmp_path / "evil.py").write_text(
        "import pathlib\npathlib.Path('imported').write_text('!')\nclass Model: pass\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    cfg = run / ".hydra" / "config.yaml"
    saved = cfg.read_text()
    cfg.write_text(saved.replace("gradkit.data.sources.blobs", "evil.load"))
    line = _err(run_gradkit("evaluate", "run=run", cwd=tmp_path, env=env))
    assert "config.yaml: data loader 'evil.load' is not one of gradkit's own data sources" in line
    cfg.write_text(saved.replace("gradkit.models.LogisticRegression", "evil.Model"))
    line = _err(run_gradkit("evaluate", "run=run", cwd=tmp_path, env=env))
    assert "run/.hydra/config.yaml: model class 'evil.Model' is not one of gradkit's" in line
    card = run / "model.json"
    data = json.loads(card.read_text())
    data["model_class"] = "evil.Model"
    card.write_text(json.dumps(data))
    line = _err(run_gradkit("evaluate", "run=run", cwd=tmp_path, env=env))
    assert "run/model.json: model class 'evil.Model' is not one of gradkit's built-in" in line
    assert not (tmp_path / "imported").exists()
    card.write_text("{not json")
    line = _err(run_gradkit("evaluate", "run=run", cwd=tmp_path))
    assert "model.json: not a readable model card" in line


def test_a_run_from_before_data_targets_is_still_evaluated(tmp_path) -> None:
    """A run folder whose config names its data by ``data.source`` (no ``_target_``)."""
    run = train(tmp_path, "run", "model=logreg", "data=binary_blobs", "loop.steps=5")
    cfg = run / ".hydra" / "config.yaml"
    text = cfg.read_text()
    assert "  _target_: gradkit.data.sources.blobs\n" in text
    cfg.write_text(text.replace("  _target_: gradkit.data.sources.blobs\n", "  source: blobs\n"))
    p = run_gradkit("evaluate", "run=run", "output=s.json", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert json.loads((tmp_path / "s.json").read_text())["accuracy"] == result(run)["metric"]


def test_help() -> None:
    p = run_gradkit("evaluate", "--help", cwd=None)
    assert p.returncode == 0 and "usage: gradkit evaluate run=DIR [input=FILE]" in p.stdout
