"""Ctrl-C saves a checkpoint and exits 130; resume continues bit for bit."""

from __future__ import annotations

import signal
import subprocess
import time

import numpy as np

from .helpers import GRADKIT, gradkit, metrics, output, result

# slow enough per step to be interrupted midway, short enough for CI
ARGS = (
    "loop.steps=300",
    "loop.batch_size=256",
    "data.n_samples=20000",
    "model.hidden=256",
    "loop.log_every=10",
    "loop.eval_every=100",
    "loop.progress=lines",
    "optimizer=adam",
)


def test_interrupted_run_resumes_to_the_same_result(tmp_path) -> None:
    proc = subprocess.Popen(
        [*GRADKIT, "train", *ARGS, "hydra.run.dir=int"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 120
    log = tmp_path / "int" / "metrics.jsonl"
    while time.time() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "checkpoint saved" in " ".join(out.split()) and "Traceback" not in out
    stopped = result(tmp_path / "int")
    assert stopped["status"].startswith("interrupted at step")
    assert (tmp_path / "int" / "checkpoint.npz").exists()

    p = gradkit("train", "resume=int", "hydra.run.dir=resumed", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    p = gradkit("train", *ARGS, "hydra.run.dir=full", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert result(tmp_path / "resumed")["train_loss"] == result(tmp_path / "full")["train_loss"]
    a, b = np.load(tmp_path / "resumed" / "params.npz"), np.load(tmp_path / "full" / "params.npz")
    for k in b.files:
        np.testing.assert_array_equal(a[k], b[k])
    # the resumed run logged the steps after the interruption, as the full run did
    full = {(m["step"], m["split"]): m["loss"] for m in metrics(tmp_path / "full")}
    for m in metrics(tmp_path / "resumed"):
        assert full[(m["step"], m["split"])] == m["loss"]


def test_a_run_extended_with_loop_compile_equals_one_run_eagerly(tmp_path) -> None:
    """loop.compile changes how a step runs, never its result: a resume may switch it on."""
    small = ("loop.batch_size=32", "data.n_samples=400", "optimizer=adam", "loop.log_every=5")
    p = gradkit("train", *small, "loop.steps=10", "hydra.run.dir=part", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    p = gradkit("train", "resume=part", "loop.steps=30", "loop.compile=true", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "running eagerly" not in output(p)  # captured: no fall-back warning
    p = gradkit("train", *small, "loop.steps=30", "hydra.run.dir=full", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    a, b = np.load(tmp_path / "part" / "params.npz"), np.load(tmp_path / "full" / "params.npz")
    for k in b.files:
        np.testing.assert_array_equal(a[k], b[k])


def test_resume_from_a_folder_without_checkpoint(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    p = gradkit("train", "resume=empty", "loop.progress=none", cwd=tmp_path)
    assert p.returncode == 2
    assert "resume=empty: no checkpoint there" in output(p)
