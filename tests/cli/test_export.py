"""gradkit export format=onnx: for every built-in model and task, onnxruntime's outputs on
raw features equal gradkit predict's to 1e-5."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .helpers import gradkit as run_gradkit
from .helpers import output
from .trained import labelled, read_predictions, train, write_csv

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

CASES = [
    ("logreg", "binary", ()),
    ("logreg", "multiclass", ()),
    ("manual_logreg", "multiclass", ()),
    ("mlp", "binary", ()),
    ("mlp", "multiclass", ()),
    ("function_mlp", "multiclass", ()),
    ("manual_mlp", "binary", ("model.bias=false",)),
    ("mlp", "regression", ()),
    ("manual_mlp", "regression", ("data.n_outputs=2",)),
    ("function_mlp", "regression", ("data.standardize=false",)),
]


@pytest.mark.parametrize(
    ("model", "task", "extra"), CASES, ids=[f"{m}-{t}{'-' if e else ''}" for m, t, e in CASES]
)
def test_onnxruntime_agrees_with_predict(tmp_path, model, task, extra) -> None:
    if task == "regression":
        run = train(tmp_path, "run", f"model={model}", "data=regression", "loop.epochs=2", *extra)
        x = np.random.default_rng(4).standard_normal((40, 20)) * 3 + 1
        np.savez(tmp_path / "new.npz", x=x)
        new = "new.npz"
    else:
        labels = [1, 2] if task == "binary" else [0, 1, 5]
        xt, yt = labelled(240, labels)
        write_csv(tmp_path / "train.csv", xt, yt)
        run = train(
            tmp_path,
            "run",
            f"model={model}",
            "data=csv",
            "data.path=train.csv",
            "loop.epochs=3",
            *extra,
        )
        x, _ = labelled(40, labels, seed=9)
        write_csv(tmp_path / "new.csv", x, None)
        new = "new.csv"
    p = run_gradkit("predict", "run=run", f"input={new}", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    p = run_gradkit("export", "run=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "wrote model.onnx: input 'features' float32" in p.stdout
    proto = onnx.load(str(tmp_path / "model.onnx"))
    steps = [n.name for n in proto.graph.node]  # the standardisation is in the graph
    assert ("centre" in steps and "scale" in steps) != ("data.standardize=false" in extra)
    onnx.checker.check_model(proto, full_check=True)
    props = {m.key: m.value for m in proto.metadata_props}
    assert json.loads(props["features"]) == json.loads((run / "model.json").read_text())["features"]
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["features"]
    (got,) = session.run(None, {"features": x.astype(np.float32)})
    header, rows = read_predictions(tmp_path / "predictions.csv")
    table = np.array([[float(v) for v in r] for r in rows])
    if task == "regression":
        assert session.get_outputs()[0].name == "prediction"
        np.testing.assert_allclose(got, table.reshape(got.shape), rtol=0, atol=1e-5)
    else:
        assert session.get_outputs()[0].name == "probabilities"
        assert header[1:] == [f"prob_{c}" for c in labels]
        np.testing.assert_allclose(got, table[:, 1:], rtol=0, atol=1e-5)
        np.testing.assert_array_equal(np.array(labels)[got.argmax(axis=1)], table[:, 0])


def test_export_errors(tmp_path) -> None:
    run = train(tmp_path, "run", "model=logreg", "data=binary_blobs", "loop.steps=2")
    p = run_gradkit("export", f"run={run}", "format=tflite", cwd=tmp_path)
    assert p.returncode == 2 and "format=tflite is not a format gradkit exports" in p.stderr
    stub = tmp_path / "stub" / "onnx"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError(\"No module named 'onnx'\")\n")
    p = run_gradkit(
        "export", f"run={run}", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "stub")}
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr, output(p)
    assert "needs the onnx package, which is not installed: pip install 'gradkit[export]'" in (
        p.stderr
    )
    assert not (tmp_path / "model.onnx").exists()
    p = run_gradkit("export", "--help", cwd=tmp_path)
    assert p.returncode == 0 and "usage: gradkit export run=DIR [format=onnx]" in p.stdout
