"""gradkit compare: reports, agreement numbers, and a planted wrong gradient."""

from __future__ import annotations

import json

import pytest

from .helpers import gradkit, output

BUGGY = '''
import gradkit
from gradkit.models import ManualLogisticRegression


class Buggy(ManualLogisticRegression):
    """A hand-written backward with a planted 1% error in the weight's gradient."""

    def backward(self, x, out, y, scale=1.0):
        super().backward(x, out, y, scale)
        with gradkit.no_grad():
            self.linear.weight.grad.mul_(1.01)
'''


@pytest.mark.parametrize(
    ("model", "data", "modes"),
    [
        ("logreg", "binary_blobs", {"manual", "autograd"}),
        ("logreg", "blobs", {"manual", "autograd"}),
        ("mlp", "blobs", {"manual", "autograd", "function"}),
    ],
)
def test_modes_agree_in_float32(tmp_path, model, data, modes) -> None:
    p = gradkit(
        "compare",
        f"model={model}",
        f"data={data}",
        "loop.steps=30",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert p.returncode == 0, output(p)
    run = tmp_path / "run"
    report = json.loads((run / "report.json").read_text())
    assert report["agree"] is True
    rows = {r["mode"]: r for r in report["summary"]}
    assert set(rows) == modes
    for r in rows.values():
        assert r["max_abs_grad_diff"] < 1e-5
        assert r["ms_per_step"] > 0 and r["forward_ms"] > 0 and r["backward_ms"] > 0
    assert rows["autograd"]["vs_autograd"] == 1.0
    assert len(report["trace"]["autograd"]["loss"]) == 30
    md = (run / "report.md").read_text()
    assert "All modes agree with autograd" in md and "vs autograd" in md
    assert (run / "curves.png").stat().st_size > 10_000
    assert "gradient modes, trained in lockstep" in output(p)


def test_a_planted_wrong_gradient_exits_1_and_names_the_parameter(tmp_path) -> None:
    (tmp_path / "buggy.py").write_text(BUGGY)
    p = gradkit(
        "compare",
        "model=logreg",
        "compare.manual=buggy.Buggy",
        "loop.steps=10",
        "hydra.run.dir=run",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    )
    text = output(p)
    assert p.returncode == 1, text
    assert "manual gradients disagree with autograd for linear.weight: from step 1" in text
    first = text.index("disagree with autograd for")
    assert text[first:].startswith("disagree with autograd for linear.weight")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["agree"] is False
    assert report["disagreements"][0]["param"] == "linear.weight"
    assert "`manual`: `linear.weight` from step 1" in (tmp_path / "run" / "report.md").read_text()


def test_compare_errors_are_clear(tmp_path) -> None:
    p = gradkit("compare", "model=logreg", "data=regression", cwd=tmp_path)
    assert p.returncode == 2
    assert "model=logreg needs class labels" in output(p)
    p = gradkit("compare", "compare.manual=nowhere.Nothing", cwd=tmp_path)
    assert p.returncode == 2
    assert "compare.manual='nowhere.Nothing': no module 'nowhere' (looked in" in output(p)
    # a user's model class of no built-in family has no twins to compare
    (tmp_path / "mynet.py").write_text(
        "from gradkit.models import MLP\n\nclass Net(MLP):\n    family = ''\n"
    )
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "own.yaml").write_text(
        "defaults: [mlp, _self_]\n_target_: mynet.Net\n"
    )
    p = gradkit("compare", "model=own", cwd=tmp_path)
    assert p.returncode == 2
    assert "Net has no gradient modes to compare; use model=logreg or model=mlp" in output(p)


def test_compile_times_eager_and_compiled_steps(tmp_path) -> None:
    """``loop.compile=true``: each mode's step also runs captured, on a copy of its model;
    the table and the reports give its time and say it is bit-identical to eager."""
    p = gradkit(
        "compare",
        "model=mlp",
        "data=blobs",
        "loop.steps=20",
        "loop.compile=true",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    text = output(p)
    assert p.returncode == 0, text
    assert "each eager and compiled" in text and "bit-identical" in text
    run = tmp_path / "run"
    report = json.loads((run / "report.json").read_text())
    rows = {r["mode"]: r for r in report["summary"]}
    assert set(rows) == {"manual", "autograd", "function"}
    for r in rows.values():
        assert r["compiled_reason"] is None and r["compiled_identical"] is True
        assert r["compiled_ms_per_step"] > 0 and r["compiled_vs_eager"] > 0
    trace = report["trace"]["autograd"]
    assert trace["compiled_loss"] == trace["loss"] and len(trace["compiled_ms"]) == 20
    md = (run / "report.md").read_text()
    assert "## Eager and compiled" in md and "| autograd |" in md.split("## Eager")[1]


def test_without_compile_the_report_has_no_compiled_columns(tmp_path) -> None:
    p = gradkit("compare", "model=logreg", "loop.steps=5", "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert all("compiled_ms_per_step" not in r for r in report["summary"])
    assert "Eager and compiled" not in (tmp_path / "run" / "report.md").read_text()
    assert "bit-identical" not in output(p)
