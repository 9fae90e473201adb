"""gradkit.load_run on a folder written by the real gradkit train, and the README's
example, run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradkit
from gradkit.errors import UserError

from .helpers import output
from .trained import labelled, train, write_csv

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_example() -> str:
    text = README.read_text()
    start = text.index("<!-- load_run example")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


def test_load_run_gives_the_model_and_what_the_commands_give(tmp_path) -> None:
    x, y = labelled(300, [0, 1, 5])
    write_csv(tmp_path / "train.csv", x, y)
    run_dir = train(tmp_path, "outputs/logreg", "model=logreg", "data=csv", "data.path=train.csv")
    run = gradkit.load_run(run_dir)
    assert isinstance(run.model, gradkit.models.LogisticRegression)
    assert run.model.training is False
    assert run.config.model._target_ == "gradkit.models.LogisticRegression"
    assert run.config.data.path == "train.csv"
    assert run.classes == [0, 1, 5] and run.features == ["height", "weight", "age", "score"]
    xt, yt = labelled(30, [0, 1, 5], seed=2)
    proba = run.predict_proba(xt)
    assert proba.shape == (30, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert run.predict(xt).tolist() == np.array([0, 1, 5])[proba.argmax(axis=1)].tolist()
    assert run.predict(xt[0]).shape == (1,)  # one sample as a 1-D row
    scores = run.evaluate(xt, yt)
    assert scores["accuracy"] > 0.9 and np.sum(scores["confusion_matrix"]) == 30
    with pytest.raises(ValueError, match=r"x must be \(samples, 4\)"):
        run.predict(np.zeros((2, 5)))
    with pytest.raises(UserError, match="no such folder"):
        gradkit.load_run(tmp_path / "nowhere")

    # the README's example, as written, in a folder laid out as it says
    write_csv(tmp_path / "new.csv", xt[:4], None)
    write_csv(tmp_path / "test.csv", xt, yt)
    (tmp_path / "example.py").write_text(_readme_example())
    p = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, output(p)
    assert str(run.predict(xt[:4])) in p.stdout
