"""Every user mistake: exit 2, a message that names the thing and says what to do, no
traceback."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import gradkit, output


def _fails(tmp_path, *args: str, code: int = 2) -> str:
    p = gradkit("train", *args, "loop.epochs=1", "loop.progress=none", cwd=tmp_path)
    text = output(p)
    assert p.returncode == code, text
    assert "Traceback" not in text
    return text


def test_unknown_choice_lists_the_choices(tmp_path) -> None:
    msg = _fails(tmp_path, "model=mlpp")
    assert "model=mlpp is not a choice for model (did you mean model=mlp?)" in msg
    assert "function_mlp, logreg, manual_logreg, manual_mlp, mlp" in msg


def test_unknown_key_suggests_the_closest(tmp_path) -> None:
    msg = _fails(tmp_path, "optimizer.lrr=0.1")
    assert "unknown key 'optimizer.lrr'. Did you mean optimizer.lr?" in msg
    assert "optimizer accepts: lr, momentum, dampening, weight_decay, nesterov" in msg
    msg = _fails(tmp_path, "modle.hidden=3")
    assert "Did you mean model.hidden?" in msg


def test_wrong_type_names_key_and_type(tmp_path) -> None:
    assert "optimizer.lr must be a number; got 'abc'" in _fails(tmp_path, "optimizer.lr=abc")
    msg = _fails(tmp_path, "loop.zero_grad=sometimes")
    assert "loop.zero_grad must be one of set_to_none, zero, never; got 'sometimes'" in msg


def test_missing_required_value(tmp_path) -> None:
    msg = _fails(tmp_path, "data=csv")
    assert "missing required value: data.path (for data=csv)" in msg


def test_cuda_without_a_gpu(tmp_path) -> None:
    import gradkit as gk

    if gk.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    msg = _fails(tmp_path, "device=cuda")
    assert "device=cpu" in msg and ("gradkit[cuda12]" in msg or "no usable CUDA GPU" in msg)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a,b,label\n1,2,0\n3,x,1\n", "d.csv, row 3, column 'b': 'x' is not a number"),
        ("a,b,label\n1,2,0\n3,nan,1\n", "d.csv, row 3, column 'b': nan is not a finite number"),
        ("a,b,y\n1,2,0\n3,4,1\n", "no target column 'label'; the columns are: a, b, y"),
        ("a,b,label\n1,2,0\n3,4\n", "d.csv, row 3: 2 cells where the header has 3 columns"),
        ("", "d.csv: the file is empty"),
    ],
    ids=["non-numeric", "nan", "no-target", "short-row", "empty"],
)
def test_bad_csv(tmp_path, content, expected) -> None:
    (tmp_path / "d.csv").write_text(content)
    assert expected in _fails(tmp_path, "data=csv", "data.path=d.csv")


def test_missing_file(tmp_path) -> None:
    msg = _fails(tmp_path, "data=csv", "data.path=nope.csv")
    assert "data.path: no such file: nope.csv" in msg


def test_labels_the_model_cannot_take(tmp_path) -> None:
    rows = ["a,label"] + [f"{i},{i * 0.37 % 5}" for i in range(80)]
    (tmp_path / "d.csv").write_text("\n".join(rows))
    msg = _fails(tmp_path, "model=logreg", "data=csv", "data.path=d.csv")
    assert "model=logreg needs class labels, but d.csv is a regression task; use model=mlp" in msg
    msg = _fails(tmp_path, "model=logreg", "model.n_classes=2")
    assert "model.n_classes=2 does not fit the data: blobs has 3 classes" in msg


def test_feature_count_that_does_not_fit(tmp_path) -> None:
    msg = _fails(tmp_path, "model.d_in=7")
    assert "model.d_in=7 does not fit the data: blobs has 20 features" in msg


def test_bad_npz(tmp_path) -> None:
    np.savez(tmp_path / "d.npz", features=np.zeros((4, 2)), y=np.zeros(4))
    msg = _fails(tmp_path, "data=npz", "data.path=d.npz")
    assert "d.npz: no array named 'x'; the file holds: features, y" in msg


def test_bad_loop_values(tmp_path) -> None:
    assert "loop.accumulate must be >= 1, got 0" in _fails(tmp_path, "loop.accumulate=0")
    # compare reads the same checked loop settings
    p = gradkit("compare", "loop.batch_size=-1", cwd=tmp_path)
    assert p.returncode == 2 and "loop.batch_size must be >= 0, got -1" in p.stderr, output(p)


def test_diverging_loss_exits_1_with_last_good_params(tmp_path) -> None:
    p = gradkit(
        "train",
        "data=regression",
        "optimizer.lr=1e12",
        "loop.epochs=3",
        "loop.progress=none",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    text = output(p)
    assert p.returncode == 1, text
    assert "the training loss became" in text and "at step" in text
    assert "RuntimeWarning" not in text and "Traceback" not in text
    params = np.load(tmp_path / "run" / "params.npz")
    assert all(np.isfinite(params[k]).all() for k in params.files)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["optimizer.lr=-1"], "optimizer: Invalid learning rate: -1.0 (expected a number >= 0)"),
        (
            ["optimizer=adam", "optimizer.betas=[0.9]"],
            "optimizer: Invalid betas: [0.9] (expected two numbers, (beta1, beta2)",
        ),
        (
            ["optimizer=adam", "optimizer.betas=[0.9,1.5]"],
            "Invalid beta parameter at index 1: 1.5 (expected 0 <= beta < 1)",
        ),
        (["model.hidden=0"], "model=mlp: hidden must be a number of units >= 1, got 0"),
    ],
    ids=["lr", "betas-length", "beta-range", "hidden"],
)
def test_values_the_model_or_optimizer_refuse(tmp_path, args, expected) -> None:
    assert expected in _fails(tmp_path, *args)


def test_csv_delimiters(tmp_path) -> None:
    rows = ["a\tb\tlabel"] + [f"{i}\t{i % 5}\t{i % 2}" for i in range(20)]
    (tmp_path / "t.csv").write_text("\n".join(rows))
    msg = _fails(tmp_path, "data=csv", "data.path=t.csv")
    assert "The columns look separated by tab: set data.delimiter=tab" in msg
    msg = _fails(tmp_path, "data=csv", "data.path=t.csv", "data.delimiter=ab")
    assert "data.delimiter='ab' is not a delimiter; write one character or a name: comma," in msg
    for spelling in ("data.delimiter=tab", "data.delimiter='\\t'", "data.delimiter=TAB"):
        _fails(tmp_path, "data=csv", "data.path=t.csv", spelling, code=0)


@pytest.mark.parametrize(
    ("name", "char"), [("semicolon", ";"), ("pipe", "|"), ("comma", ","), ("space", " ")]
)
def test_csv_delimiter_names(tmp_path, name, char) -> None:
    """Names work as typed in bash (data.delimiter=';' reaches Hydra as a bare ;)."""
    rows = [char.join(["a", "b", "label"])] + [
        char.join(map(str, (i, i % 5, i % 2))) for i in range(20)
    ]
    (tmp_path / "t.csv").write_text("\n".join(rows))
    _fails(tmp_path, "data=csv", "data.path=t.csv", f"data.delimiter={name}", code=0)
    if name != "comma":
        msg = _fails(tmp_path, "data=csv", "data.path=t.csv")
        assert f"The columns look separated by {name}: set data.delimiter={name}" in msg


def test_a_single_class(tmp_path) -> None:
    (tmp_path / "d.csv").write_text("a,label\n" + "\n".join(f"{i},0" for i in range(20)))
    msg = _fails(tmp_path, "data=csv", "data.path=d.csv")
    assert "needs at least 2 classes, but every label is 0.0; for a numeric target use" in msg


BOOM = (
    "from gradkit.models import MLP\n\n"
    "class Boom(MLP):\n"
    "    def forward(self, x):\n"
    "        raise RuntimeError('boom in forward')\n"
)


def test_a_bug_in_user_code_is_shown_as_hydra_shows_it(tmp_path) -> None:
    """Not a mistake gradkit has words for: exit 1 and the traceback from the job down
    (without Hydra's frames), as Hydra prints it; HYDRA_FULL_ERROR=1 shows it all."""
    (tmp_path / "boom.py").write_text(BOOM)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "boom.yaml").write_text(
        "defaults: [mlp, _self_]\n_target_: boom.Boom\n"
    )
    args = ("train", "model=boom", "loop.steps=1", "loop.progress=none")
    p = gradkit(*args, "hydra.run.dir=a", cwd=tmp_path)
    assert p.returncode == 1, output(p)
    assert "RuntimeError: boom in forward" in p.stderr and 'boom.py", line 5' in p.stderr
    assert "hydra/_internal" not in p.stderr and "hydra/core" not in p.stderr
    assert "Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace" in p.stderr
    p = gradkit(*args, "hydra.run.dir=b", cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert p.returncode == 1, output(p)
    assert "RuntimeError: boom in forward" in p.stderr and "hydra/_internal" in p.stderr


def test_hydra_full_error_shows_hydras_own_error_for_a_config_mistake(tmp_path) -> None:
    p = gradkit("train", "model=mlpp", cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert p.returncode == 1, output(p)  # Hydra's error (an OSError too), not a disk error
    assert "Traceback" in p.stderr and "gradkit: error" not in p.stderr
    assert "MissingConfigException: In 'train': Could not find 'model/mlpp'" in p.stderr


def test_hydra_is_asked_to_raise_only_while_the_app_runs(monkeypatch) -> None:
    import os

    from gradkit.cli.hydra_app import errors_raised

    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with errors_raised():
        assert os.environ["HYDRA_FULL_ERROR"] == "1"
    assert "HYDRA_FULL_ERROR" not in os.environ
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    with errors_raised():
        pass
    assert os.environ["HYDRA_FULL_ERROR"] == "0"


def test_gradkit_uses_no_private_hydra_module() -> None:
    from pathlib import Path

    import gradkit

    root = Path(gradkit.__file__).parent
    private = [
        str(f.relative_to(root)) for f in root.rglob("*.py") if "hydra._internal" in f.read_text()
    ]
    assert private == []
