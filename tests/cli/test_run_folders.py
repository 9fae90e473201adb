"""A run folder is never shared, never overwritten, and never made to run code or write
through links by files someone else put there (issue: runs you can trust)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from .helpers import GRADKIT, gradkit, output, result

QUICK = ("loop.steps=4", "loop.progress=none")


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as their target) and its content's hash."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(folder))] = "->" + os.readlink(p)
        elif p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*GRADKIT, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


# -- never shared -----------------------------------------------------------------------------
def test_runs_started_together_get_a_folder_each(tmp_path) -> None:
    procs = [_start("train", *QUICK, f"seed={i}", cwd=tmp_path) for i in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, out + err
    folders = [r.parent for r in (tmp_path / "outputs").rglob("result.json")]
    assert len(folders) == 4
    seeds = sorted(result(f)["overrides"][-1] for f in folders)
    assert seeds == [f"seed={i}" for i in range(4)]
    for f in folders:  # each folder's record and result belong to the same run
        assert (f / ".hydra" / "overrides.yaml").read_text().count("seed=") == 1
        seed = result(f)["overrides"][-1]
        assert seed in (f / ".hydra" / "overrides.yaml").read_text()


def test_sweeps_started_together_get_a_folder_each(tmp_path) -> None:
    procs = [
        _start(
            "train", "-m", *QUICK, "model=logreg", "data=binary_blobs", f"seed={i},9", cwd=tmp_path
        )
        for i in range(3)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, out + err
    sweeps = sorted((tmp_path / "multirun").glob("*/*"))
    assert len(sweeps) == 3
    for s in sweeps:
        rows = (s / "summary.csv").read_text().splitlines()
        assert len(rows) == 3  # a header and this sweep's two jobs only


def test_an_existing_run_folder_is_refused_untouched(tmp_path) -> None:
    assert gradkit("train", *QUICK, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    before = _snapshot(tmp_path / "exp")
    p = gradkit("train", *QUICK, "seed=3", "hydra.run.dir=exp", cwd=tmp_path)
    assert p.returncode == 2
    assert "already holds a run" in p.stderr and "Traceback" not in output(p)
    assert _snapshot(tmp_path / "exp") == before


def test_an_existing_sweep_folder_is_refused_untouched(tmp_path) -> None:
    args = ("train", "-m", *QUICK, "seed=1,2", "hydra.sweep.dir=sw")
    assert gradkit(*args, cwd=tmp_path).returncode == 0
    before = _snapshot(tmp_path / "sw")
    p = gradkit(*args, cwd=tmp_path)
    assert p.returncode == 2 and "already holds a run" in output(p), output(p)
    assert _snapshot(tmp_path / "sw") == before


def test_a_run_folder_naming_a_file(tmp_path) -> None:
    (tmp_path / "afile").write_text("mine")
    p = gradkit("train", *QUICK, "hydra.run.dir=afile", cwd=tmp_path)
    assert p.returncode == 2 and "is a file, not a folder" in p.stderr, output(p)
    assert (tmp_path / "afile").read_text() == "mine"


# -- resume: exactly as configured ------------------------------------------------------------
def test_resume_refuses_changes_and_names_the_keys(tmp_path) -> None:
    assert gradkit("train", *QUICK, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    before = _snapshot(tmp_path / "exp")
    p = gradkit("train", "resume=exp", "optimizer.lr=0.01", "seed=5", cwd=tmp_path)
    assert p.returncode == 2
    assert "cannot change optimizer.lr, seed" in output(p) and "loop.steps" in output(p)
    assert _snapshot(tmp_path / "exp") == before


def test_resume_of_a_finished_run_changes_nothing(tmp_path) -> None:
    assert gradkit("train", *QUICK, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    before = _snapshot(tmp_path / "exp")
    p = gradkit("train", "resume=exp", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "is complete" in p.stdout and "nothing to do" in p.stdout
    assert _snapshot(tmp_path / "exp") == before


def test_resume_trains_longer_in_place_as_one_uninterrupted_run(tmp_path) -> None:
    assert gradkit("train", *QUICK, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    p = gradkit("train", "resume=exp", "loop.steps=9", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "replaying" in p.stdout and "loop.steps=4" in p.stdout
    full = gradkit(
        "train", "loop.steps=9", "loop.progress=none", "hydra.run.dir=full", cwd=tmp_path
    )
    assert full.returncode == 0
    a, b = np.load(tmp_path / "exp" / "params.npz"), np.load(tmp_path / "full" / "params.npz")
    for k in b.files:
        np.testing.assert_array_equal(a[k], b[k])
    assert "loop.steps=9" in (tmp_path / "exp" / ".hydra" / "overrides.yaml").read_text()
    assert "steps: 9" in (tmp_path / "exp" / ".hydra" / "config.yaml").read_text()
    steps = [m["step"] for m in map(eval_json, (tmp_path / "exp/metrics.jsonl").open())]
    assert len(steps) == len(set(zip(steps, range(len(steps)))))


def eval_json(line: str) -> dict:
    import json

    return json.loads(line)


@pytest.mark.parametrize(
    "planted",
    [
        "+hydra.callbacks.x._target_=builtins.open",
        "hydra.run.dir=/tmp/elsewhere",
        "model._target_=builtins.print",
        "data._target_=builtins.print",
        "~model",
        "data.path=${oc.env:HOME}",
        "recipe=../../../../../../../../../tmp/evil",  # a group option given as a path
    ],
)
def test_resume_replays_only_gradkits_own_settings(tmp_path, planted) -> None:
    assert gradkit("train", *QUICK, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    saved = tmp_path / "exp" / ".hydra" / "overrides.yaml"
    saved.write_text(
        saved.read_text() + f"- {planted}\n- '+hydra.callbacks.x._args_=[{victim},w]'\n"
    )
    before = _snapshot(tmp_path / "exp")
    p = gradkit("train", "resume=exp", "loop.steps=8", cwd=tmp_path)
    assert p.returncode == 2, output(p)
    assert "refusing to replay" in p.stderr and "overrides.yaml" in p.stderr
    assert victim.read_text() == "precious"
    assert _snapshot(tmp_path / "exp") == before


def test_a_conf_folder_cannot_replace_the_primary_config(tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "train.yaml").write_text(
        "hydra:\n  callbacks:\n    x:\n      _target_: builtins.open\n"
        f"      _args_: ['{victim}', 'w']\n"
    )
    p = gradkit("train", *QUICK, "hydra.run.dir=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "conf/train.yaml is not used" in p.stderr
    assert victim.read_text() == "precious"


def test_writes_never_follow_links_planted_in_a_resumed_folder(tmp_path) -> None:
    args = ("loop.steps=4", "loop.checkpoint_every=2", "loop.progress=none")
    assert gradkit("train", *args, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    exp = tmp_path / "exp"
    victims = {}
    for name in ("result.json", "metrics.jsonl", "train.log", ".hydra/config.yaml"):
        v = tmp_path / f"victim-{name.replace('/', '_')}"
        v.write_text("precious")
        (exp / name).unlink()
        (exp / name).symlink_to(v)
        victims[name] = v
    p = gradkit("train", "resume=exp", "loop.steps=6", cwd=tmp_path)
    for v in victims.values():
        assert v.read_text() == "precious", output(p)
    assert "Traceback" not in output(p)
    assert "symbolic link" in p.stderr


# -- checkpoints: validated, one commit point ---------------------------------------------------
def _rewrite_meta(ckpt: Path, **changes) -> None:
    import json

    with np.load(ckpt) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    for k, v in changes.items():
        if k in ("step", "micro"):
            meta["position"][k] = v
        else:
            meta[k] = v
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(ckpt, **arrays)


@pytest.mark.parametrize(
    "damage",
    ["truncate", "garbage", "step_huge", "step_negative", "shape", "no_meta", "pickle"],
)
def test_a_bad_checkpoint_is_refused_naming_it(tmp_path, damage) -> None:
    assert (
        gradkit(
            "train", "loop.steps=4", "loop.progress=none", "hydra.run.dir=exp", cwd=tmp_path
        ).returncode
        == 0
    )
    ckpt = tmp_path / "exp" / "checkpoint.npz"
    if damage == "truncate":
        ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    elif damage == "garbage":
        ckpt.write_bytes(os.urandom(4096))
    elif damage == "step_huge":
        _rewrite_meta(ckpt, step=10**9, micro=10**9)
    elif damage == "step_negative":
        _rewrite_meta(ckpt, step=-5, micro=-5)
    elif damage == "shape":
        with np.load(ckpt) as f:
            arrays = {k: f[k] for k in f.files}
        arrays["param/fc1.weight"] = np.zeros((3, 3), np.float32)
        np.savez(ckpt, **arrays)
    elif damage == "no_meta":
        with np.load(ckpt) as f:
            arrays = {k: f[k] for k in f.files if k != "meta"}
        np.savez(ckpt, **arrays)
    elif damage == "pickle":
        with zipfile.ZipFile(ckpt, "a") as z:
            z.writestr(
                "opt/0/evil.npy",
                b"\x93NUMPY\x01\x00v\x00{'descr': '|O', "
                b"'fortran_order': False, 'shape': (1,), }" + b" " * 60 + b"\n",
            )
    p = gradkit("train", "resume=exp", "loop.steps=8", cwd=tmp_path)
    assert p.returncode == 2, output(p)
    assert "checkpoint.npz" in p.stderr and "Traceback" not in output(p)
    assert "allow_pickle" not in output(p)


# -- NaN: the parameters kept are the last good ones -------------------------------------------
def test_last_good_parameters_give_a_finite_loss(tmp_path) -> None:
    p = gradkit(
        "train",
        "optimizer.lr=1e6",
        "loop.batch_size=0",
        "loop.log_every=1",
        "loop.steps=50",
        "loop.progress=none",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert p.returncode == 1, output(p)
    assert "last good parameters" in p.stderr
    import re

    m = re.search(r"finite training loss, ([0-9.e+-]+), at step (\d+)", " ".join(p.stderr.split()))
    assert m, p.stderr
    loss = _training_loss(tmp_path / "run")
    assert np.isfinite(loss)
    assert loss == pytest.approx(float(m.group(1)), rel=1e-4)


def _training_loss(run: Path) -> float:
    """The saved parameters' loss on the run's whole training split, rebuilt as it was."""
    from omegaconf import OmegaConf

    import gradkit
    from gradkit.data import load
    from gradkit.data.config import BlobsConfig
    from gradkit.models import MLP

    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    ds = load(OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(BlobsConfig), cfg.data)))
    model = MLP(d_in=ds.n_features, hidden=cfg.model.hidden, d_out=ds.n_outputs, task=ds.task)
    saved = np.load(run / "params.npz")
    model.load_state_dict({k: gradkit.tensor(saved[k]) for k in saved.files})
    td = ds.to(gradkit.device("cpu"))
    with gradkit.no_grad():
        return model.loss(model(td.x_train), td.y_train).item()


@pytest.mark.parametrize(
    ("folder", "status", "words"),
    [
        ("/proc/gradkit-run", 74, "cannot write /proc/gradkit-run"),  # cannot be created
        ("/dev/null/run", 2, "is a file, not a folder"),
    ],
)
def test_a_run_folder_that_cannot_be_made(tmp_path, folder, status, words) -> None:
    p = gradkit("train", *QUICK, f"hydra.run.dir={folder}", cwd=tmp_path)
    assert p.returncode == status, output(p)
    assert words in p.stderr and "Traceback" not in output(p)


def test_a_non_empty_folder_is_refused_untouched(tmp_path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "model.json").write_text("my own file")
    p = gradkit("train", *QUICK, "hydra.run.dir=mine", cwd=tmp_path)
    assert p.returncode == 2 and "is not empty" in p.stderr, output(p)
    assert sorted(x.name for x in (tmp_path / "mine").iterdir()) == ["model.json"]
    assert (tmp_path / "mine" / "model.json").read_text() == "my own file"


def test_resume_without_the_overrides_file_still_refuses_changes(tmp_path) -> None:
    assert gradkit("train", *QUICK, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "checkpoint.npz").write_bytes(
        (tmp_path / "exp/checkpoint.npz").read_bytes()
    )
    p = gradkit(
        "train",
        "resume=bare/checkpoint.npz",
        "loop.steps=6",
        "optimizer.lr=0.5",
        "hydra.run.dir=new",
        cwd=tmp_path,
    )
    assert p.returncode == 2 and "cannot change optimizer.lr" in p.stderr, output(p)
    assert not (tmp_path / "new").exists()


def test_a_run_killed_after_its_last_checkpoint_is_finished_by_resume(tmp_path) -> None:
    """Killed between the final checkpoint and params.npz: not 'complete', it is finished."""
    env = {"GRADKIT_TEST_FAULT": "params"}
    p = gradkit("train", *QUICK, "hydra.run.dir=run", cwd=tmp_path, env=env)
    assert p.returncode == -9 and not (tmp_path / "run" / "params.npz").exists()
    p = gradkit("train", "resume=run", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert result(tmp_path / "run")["status"] == "ok"
    assert result(tmp_path / "run")["metric"] is not None
    assert gradkit("train", *QUICK, "hydra.run.dir=full", cwd=tmp_path).returncode == 0
    a, b = np.load(tmp_path / "run" / "params.npz"), np.load(tmp_path / "full" / "params.npz")
    for k in b.files:
        np.testing.assert_array_equal(a[k], b[k])
    assert result(tmp_path / "run")["metric"] == result(tmp_path / "full")["metric"]
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_resume_with_the_same_epochs_of_a_complete_run_changes_nothing(tmp_path) -> None:
    args = ("loop.epochs=1", "loop.batch_size=200", "loop.progress=none")
    assert gradkit("train", *args, "hydra.run.dir=r1", cwd=tmp_path).returncode == 0
    before = _snapshot(tmp_path / "r1")
    p = gradkit("train", "resume=r1", "loop.epochs=1", cwd=tmp_path)
    assert p.returncode == 0 and "nothing to do" in p.stdout, output(p)
    assert _snapshot(tmp_path / "r1") == before
    p = gradkit("train", "resume=r1", "loop.epochs=2", cwd=tmp_path)
    assert p.returncode == 0 and result(tmp_path / "r1")["steps"] == 8, output(p)


def test_a_sweep_job_whose_folder_is_taken_is_an_error_not_a_resume(tmp_path) -> None:
    p = gradkit(
        "train",
        "-m",
        *QUICK,
        "seed=1,2",
        "hydra.sweep.dir=sw",
        "hydra.sweep.subdir=same",
        cwd=tmp_path,
    )
    assert p.returncode == 2, output(p)
    assert "1 job(s) of the sweep" in p.stderr and "already holds a run" in p.stderr
    assert result(tmp_path / "sw" / "same")["overrides"][-1] == "seed=1"
    assert result(tmp_path / "sw" / "same")["status"] == "ok"


def test_resume_by_epochs_replaces_the_runs_own_step_count(tmp_path) -> None:
    assert gradkit("train", *QUICK, "hydra.run.dir=exp", cwd=tmp_path).returncode == 0
    p = gradkit("train", "resume=exp", "loop.epochs=1", cwd=tmp_path)  # 800/64 -> 13 steps
    assert p.returncode == 0 and "both set" not in p.stderr, output(p)
    assert result(tmp_path / "exp")["steps"] == 13
    assert "loop.steps" not in (tmp_path / "exp" / ".hydra" / "overrides.yaml").read_text()
    p = gradkit("train", "resume=exp", "loop.epochs=1", cwd=tmp_path)
    assert p.returncode == 0 and "nothing to do" in p.stdout, output(p)
