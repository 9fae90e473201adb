"""The command line's rough edges (issue 12), each through the real ``gradkit`` command:
user code named one way everywhere, hints that work when typed, and one warning line
for each quiet surprise."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import gradkit

MYMODULE = """
from gradkit.models import ManualLogisticRegression


class MyLR(ManualLogisticRegression):
    pass
"""

MYOPS = """
import gradkit


class MyMul(gradkit.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a
"""


def _error(p, code: int = 2) -> str:
    """The one ``gradkit: error:`` line of a failed command (exit ``code``, no traceback)."""
    both = p.stdout + p.stderr
    assert p.returncode == code, both
    assert "Traceback" not in both and "Error executing job" not in both, both
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gradkit: error: "), p.stderr
    return lines[0]


def _warnings(p) -> list[str]:
    assert p.returncode == 0, p.stdout + p.stderr
    return [line for line in p.stderr.splitlines() if line.startswith("gradkit: warning: ")]


def test_model_yaml_without_target(tmp_path: Path) -> None:
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "notarget.yaml").write_text("hidden: 8\n")
    msg = _error(gradkit("train", "model=notarget", "loop.steps=1", cwd=tmp_path))
    assert "model=notarget: the config (conf/model/notarget.yaml) has no _target_" in msg
    assert "Did you mean" not in msg
    # the way the message suggests works
    (tmp_path / "conf" / "model" / "tiny.yaml").write_text("defaults: [mlp, _self_]\nhidden: 8\n")
    p = gradkit("train", "model=tiny", "loop.steps=1", "loop.progress=none", cwd=tmp_path)
    assert p.returncode == 0 and "195 parameters" in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize("spec", ["mymodule.MyLR", "mymodule:MyLR"])
def test_compare_finds_user_code_in_the_current_folder(tmp_path: Path, spec: str) -> None:
    (tmp_path / "mymodule.py").write_text(MYMODULE)
    p = gradkit("compare", f"compare.manual={spec}", "loop.steps=3", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "manual (MyLR)" in p.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("compare", "compare.manual=nomod.X"),
            "compare.manual='nomod.X': no module 'nomod' (looked in",
        ),
        (
            ("compare", "compare.manual=mymodule:Nope"),
            "compare.manual='mymodule:Nope': module mymodule has no 'Nope'; it defines: ",
        ),
        (
            ("compare", "compare.manual=MyLR"),
            "compare.manual='MyLR' does not name a class or function; write module.Name or "
            "module:Name",
        ),
        (
            ("gradcheck", "gradcheck.target=nomod:F", "gradcheck.inputs=[[3]]"),
            "gradcheck.target='nomod:F': no module 'nomod'",
        ),
        (
            ("gradcheck", "gradcheck.target=myops:MyMul", "gradcheck.inputs=[[3,4]]"),
            "gradcheck.inputs gives 1 shape but myops:MyMul.forward takes 2 inputs (a, b); "
            "give one shape per input, e.g. 'gradcheck.inputs=[[3,4],[3,4]]'",
        ),
        (
            ("gradcheck", "gradcheck.target=myops.MyMul", "gradcheck.inputs=[[3],[3],[3]]"),
            "gradcheck.inputs gives 3 shapes but myops.MyMul.forward takes 2 inputs",
        ),
    ],
    ids=["no-module", "no-name", "no-module-part", "gradcheck-no-module", "one-of-two", "three"],
)
def test_user_code_errors_are_one_line(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "mymodule.py").write_text(MYMODULE)
    (tmp_path / "myops.py").write_text(MYOPS)
    assert expected in _error(
        gradkit(*args, "loop.steps=1", cwd=tmp_path)
        if args[0] == "compare"
        else gradkit(*args, cwd=tmp_path)
    )


@pytest.mark.parametrize("spec", ["myops.MyMul", "myops:MyMul"])
def test_gradcheck_takes_both_spellings(tmp_path: Path, spec: str) -> None:
    (tmp_path / "myops.py").write_text(MYOPS)
    p = gradkit(
        "gradcheck", f"gradcheck.target={spec}", "gradcheck.inputs=[[3,4],[3,4]]", cwd=tmp_path
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 checks passed" in p.stdout


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("lr=0.1", "unknown key 'lr'. Did you mean optimizer.lr?"),
        ("epochs=5", "unknown key 'epochs'. Did you mean loop.epochs?"),
        (
            "data.delimiter=;",  # what bash passes for data.delimiter=';'
            "a delimiter is written by name: data.delimiter=semicolon (or tab, comma, pipe, space)",
        ),
        (
            "hydra/launcher=ray",
            "hydra/launcher=ray is not an installed launcher; the choices are: basic",
        ),
        ("data.n_features=0", "data.n_features must be at least 1, got 0"),
        ("data=regression data.n_outputs=0", "data.n_outputs must be at least 1, got 0"),
    ],
    ids=["lr", "epochs", "semicolon", "launcher", "n-features", "n-outputs"],
)
def test_command_line_hints(tmp_path: Path, arg: str, expected: str) -> None:
    p = gradkit("train", *arg.split(), "loop.steps=1", cwd=tmp_path)
    assert expected in _error(p)


def test_missing_plugin_names_the_extra() -> None:
    """The joblib launcher and Optuna sweeper are installed in the test environment, so
    the message for a machine without them is checked on the exception Hydra raises."""
    from hydra.errors import MissingConfigException

    from gradkit.cli.hydra_app import friendly_message

    for group, choice, extra in [
        ("hydra/launcher", "joblib", "sweep"),
        ("hydra/sweeper", "optuna", "sweep"),
        ("hydra/launcher", "submitit_slurm", "cluster"),
    ]:
        ex = MissingConfigException(
            f"In 'train': Could not find '{group}/{choice}'\n\nAvailable options in "
            f"'{group}':\n\tbasic\nConfig search path: ...",
            missing_cfg_file=f"{group}/{choice}",
            options=["basic"],
        )
        assert friendly_message(ex) == (
            f"{group}={choice} needs Hydra's {choice} plugin, which is not installed: "
            f"pip install 'gradkit[{extra}]'"
        )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("loop.steps=3", "loop.epochs=2"),
            "loop.steps=3 and loop.epochs=2 are both set: loop.steps wins",
        ),
        (("loop.steps=2", "loop.zero_grad=never"), "loop.zero_grad=never: gradients are never"),
        (("loop.steps=2", "device=auto"), "device=auto is using the CPU: "),
        (
            ("recipe=optuna_lr_search", "loop.epochs=1"),
            "the Optuna sweeper searches only with -m: this is one ordinary training run; for "
            "the search run gradkit train -m recipe=optuna_lr_search",
        ),
        (
            ("recipe=compare_mlp", "loop.steps=2"),
            "recipe=compare_mlp is made for gradkit compare (gradkit compare recipe=compare_mlp)",
        ),
        (
            ("-m", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=1", "loop.steps=2"),
            "Optuna will minimize validation accuracy, which is better when higher: the search "
            "looks for the worst settings. Add hydra.sweeper.direction=maximize",
        ),
    ],
    ids=[
        "steps-and-epochs",
        "zero-grad-never",
        "auto-cpu",
        "optuna-without-m",
        "compare-recipe",
        "optuna-direction",
    ],
)
def test_quiet_surprises_get_one_line(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    import gradkit as gk

    if "device=auto" in args and gk.cuda.is_available():
        pytest.skip("device=auto picks the GPU here")
    found = _warnings(gradkit("train", *args, "loop.progress=none", cwd=tmp_path))
    assert len(found) == 1 and expected in found[0], found


def test_no_warning_for_an_ordinary_run(tmp_path: Path) -> None:
    p = gradkit("train", "loop.steps=5", "loop.progress=none", cwd=tmp_path)
    assert _warnings(p) == [] and p.stderr.strip() == "", p.stderr
    p = gradkit(
        "train",
        "-m",
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=1",
        "hydra.sweeper.direction=maximize",
        "loop.steps=2",
        "loop.progress=none",
        cwd=tmp_path,
    )
    assert _warnings(p) == []


def test_gradcheck_filter_that_matches_nothing(tmp_path: Path) -> None:
    msg = _error(gradkit("gradcheck", "gradcheck.filter=nothing_like_this", cwd=tmp_path))
    assert "no check matches gradcheck.filter='nothing_like_this'" in msg
