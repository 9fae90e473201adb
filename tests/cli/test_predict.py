"""gradkit predict: a run folder applied to raw files; model.json; mistakes are exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradkit

from .helpers import gradkit as run_gradkit
from .helpers import output, result
from .trained import FEATURES, labelled, read_predictions, train, write_csv


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    """An MLP trained on a CSV with labels 0, 1 and 5."""
    cwd = tmp_path_factory.mktemp("predict")
    x, y = labelled(300, [0, 1, 5])
    write_csv(cwd / "train.csv", x, y)
    return train(cwd, "run", "data=csv", "data.path=train.csv", "loop.epochs=30")


def _err(p) -> str:
    """The one-line error of a failed command (exit 2, no traceback)."""
    assert p.returncode == 2, output(p)
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradkit: error: "), p.stderr
    return lines[0]


def test_the_run_folder_records_what_predict_needs(multiclass) -> None:
    card = json.loads((multiclass / "model.json").read_text())
    assert card["model"] == "mlp" and card["model_class"] == "gradkit.models.MLP"
    assert card["kwargs"] == {
        "d_in": 4,
        "hidden": 64,
        "d_out": 3,
        "task": "multiclass",
        "loss": "cross_entropy",
        "bias": True,
        "init": "default",
    }
    assert card["features"] == FEATURES and card["target"] == "label"
    assert card["classes"] == [0, 1, 5] and card["task"] == "multiclass"
    # the standardisation is the training split's: rebuilt here from the same seeded split
    x, _ = labelled(300, [0, 1, 5])
    x = x.astype(np.float32)
    train_rows = np.random.default_rng(0).permutation(300)[60:]
    # the statistics are summed in float64 (data/dataset.py), then stored as float32
    np.testing.assert_allclose(card["mean"], x[train_rows].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(card["std"], x[train_rows].std(axis=0), rtol=1e-6)
    r = result(multiclass)
    assert r["next"] == f"gradkit predict run={multiclass} input=FILE.csv"


def test_predict_matches_columns_by_name_and_gives_labels_and_probabilities(
    multiclass, tmp_path
) -> None:
    x, y = labelled(60, [0, 1, 5], seed=7)
    cols = ["label", "score", "age", "height", "weight"]  # another order, target included
    write_csv(tmp_path / "new.csv", x, y, columns=cols)
    p = run_gradkit("predict", f"run={multiclass}", "input=new.csv", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "60 predictions of mlp (multiclass) written to predictions.csv" in p.stdout
    header, rows = read_predictions(tmp_path / "predictions.csv")
    assert header == ["prediction", "prob_0", "prob_1", "prob_5"]
    pred = np.array([int(r[0]) for r in rows])
    proba = np.array([[float(v) for v in r[1:]] for r in rows])
    assert set(pred) <= {0, 1, 5} and (pred == y).mean() > 0.9
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(np.array([0, 1, 5])[proba.argmax(axis=1)], pred)
    run = gradkit.load_run(multiclass)
    np.testing.assert_array_equal(run.predict(x), pred)
    np.testing.assert_allclose(run.predict_proba(x), proba, rtol=0, atol=1e-8)


def test_predict_npz_input_and_output_option(multiclass, tmp_path) -> None:
    x, _ = labelled(20, [0, 1, 5], seed=8)
    np.savez(tmp_path / "new.npz", x=x)
    (tmp_path / "out").mkdir()
    p = run_gradkit(
        "predict", f"run={multiclass}", "input=new.npz", "output=out/p.csv", cwd=tmp_path
    )
    assert p.returncode == 0, output(p)
    header, rows = read_predictions(tmp_path / "out" / "p.csv")
    assert header[0] == "prediction" and len(rows) == 20
    np.testing.assert_array_equal(
        [int(r[0]) for r in rows], gradkit.load_run(multiclass).predict(x)
    )


def test_binary_labels_keep_their_values(tmp_path) -> None:
    x, y = labelled(200, [1, 2])
    write_csv(tmp_path / "train.csv", x, y)
    run = train(tmp_path, "run", "model=logreg", "data=csv", "data.path=train.csv")
    write_csv(tmp_path / "new.csv", x[:10], None)
    p = run_gradkit("predict", f"run={run}", "input=new.csv", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    header, rows = read_predictions(tmp_path / "predictions.csv")
    assert header == ["prediction", "prob_1", "prob_2"]
    assert [int(r[0]) for r in rows] == list(y[:10])


def test_regression_gives_values(tmp_path) -> None:
    run = train(tmp_path, "run", "data=regression", "loop.epochs=10")
    x = np.random.default_rng(5).standard_normal((15, 20))
    np.savez(tmp_path / "new.npz", x=x)
    p = run_gradkit("predict", f"run={run}", "input=new.npz", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    header, rows = read_predictions(tmp_path / "predictions.csv")
    assert header == ["prediction"]
    np.testing.assert_allclose(
        [float(r[0]) for r in rows], gradkit.load_run(run).predict(x), rtol=1e-6
    )


def test_help() -> None:
    p = run_gradkit("predict", "--help", cwd=None)
    assert p.returncode == 0 and "usage: gradkit predict run=DIR input=FILE.csv" in p.stdout
    assert "prob_<label>" in p.stdout and "output" in p.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "height,weight,age\n1,2,3\n",
            "new.csv: no column 'score'; the model needs the features height, weight, age, "
            "score, matched by name (any order)",
        ),
        (
            "height,weight,age,score,colour\n1,2,3,4,5\n",
            "new.csv: column 'colour' is not a feature the model was trained on",
        ),
        (
            "height,weight,age,score\n1,2,3,4\n1,x,3,4\n",
            "new.csv, row 3, column 'weight': 'x' is not a number",
        ),
        ("height,weight,age,score\n", "new.csv: only a header row, no data"),
    ],
    ids=["missing-column", "extra-column", "non-numeric", "no-rows"],
)
def test_bad_input_files(multiclass, tmp_path, content, expected) -> None:
    (tmp_path / "new.csv").write_text(content)
    line = _err(run_gradkit("predict", f"run={multiclass}", "input=new.csv", cwd=tmp_path))
    assert expected in line


def test_bad_npz_and_file_types(multiclass, tmp_path) -> None:
    np.savez(tmp_path / "wide.npz", x=np.zeros((3, 7)))
    line = _err(run_gradkit("predict", f"run={multiclass}", "input=wide.npz", cwd=tmp_path))
    assert "wide.npz: 'x' has 7 columns but the model takes 4 features" in line
    np.savez(tmp_path / "nox.npz", features=np.zeros((3, 4)))
    line = _err(run_gradkit("predict", f"run={multiclass}", "input=nox.npz", cwd=tmp_path))
    assert "nox.npz: no array named 'x'; the file holds: features" in line
    (tmp_path / "data.xlsx").write_bytes(b"PK\x03\x04")
    line = _err(run_gradkit("predict", f"run={multiclass}", "input=data.xlsx", cwd=tmp_path))
    assert "unknown file type '.xlsx'; give a .csv file" in line
    line = _err(run_gradkit("predict", f"run={multiclass}", "input=nope.csv", cwd=tmp_path))
    assert "input: no such file: nope.csv" in line


def test_bad_run_folders_and_options(multiclass, tmp_path) -> None:
    write_csv(tmp_path / "new.csv", *labelled(5, [0, 1, 5]))
    line = _err(run_gradkit("predict", "run=nowhere", "input=new.csv", cwd=tmp_path))
    assert "run=nowhere: no such folder" in line
    (tmp_path / "empty").mkdir()
    line = _err(run_gradkit("predict", "run=empty", "input=new.csv", cwd=tmp_path))
    assert "empty/model.json: not found; run=empty is not a gradkit train run folder" in line
    import shutil

    shutil.copytree(multiclass, tmp_path / "unfinished")
    (tmp_path / "unfinished" / "params.npz").unlink()
    line = _err(run_gradkit("predict", "run=unfinished", "input=new.csv", cwd=tmp_path))
    assert "unfinished/params.npz: not found" in line
    assert "gradkit train resume=unfinished" in line
    line = _err(run_gradkit("predict", f"run={multiclass}", "inptu=new.csv", cwd=tmp_path))
    assert "unknown option 'inptu' (did you mean input=?)" in line
    line = _err(run_gradkit("predict", f"run={multiclass}", cwd=tmp_path))
    assert "missing input=..." in line
    line = _err(
        run_gradkit(
            "predict", f"run={multiclass}", "input=new.csv", "output=no/p.csv", cwd=tmp_path
        )
    )
    assert "output=no/p.csv: the folder no does not exist" in line


def test_written_files_get_the_usual_permissions(multiclass, tmp_path) -> None:
    """Atomic writes go through a temporary file, which must not leave them private (0600)."""
    import os
    import stat

    x, _ = labelled(3, [0, 1, 5])
    np.savez(tmp_path / "new.npz", x=x)
    p = run_gradkit("predict", f"run={multiclass}", "input=new.npz", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    umask = os.umask(0)
    os.umask(umask)
    for path in (tmp_path / "predictions.csv", multiclass / "model.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
