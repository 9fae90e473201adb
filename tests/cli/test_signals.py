"""Signals and crashes at random moments never lose a run or make a resume wrong.

As databases are tested: the real ``gradkit train`` is stopped by SIGINT, SIGTERM or
SIGKILL at random instants (start-up included), or killed inside a checkpoint write
through the test-only ``GRADKIT_TEST_FAULT`` hook; then it is resumed until done, and
its parameters must equal, bit for bit, those of a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from .helpers import GRADKIT, gradkit, output, result

# ~150-300 steps/s here: long enough to be hit mid-run, short enough for CI
ARGS = (
    "loop.steps=120",
    "loop.batch_size=128",
    "data.n_samples=4000",
    "model.hidden=64",
    "optimizer=adam",
    "loop.checkpoint_every=7",
    "loop.log_every=5",
    "loop.progress=lines",
)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, np.ndarray]:
    """The parameters of the same run, never interrupted."""
    d = tmp_path_factory.mktemp("ref")
    p = gradkit("train", *ARGS, "hydra.run.dir=ref", cwd=d)
    assert p.returncode == 0, output(p)
    with np.load(d / "ref" / "params.npz") as f:
        return {k: f[k] for k in f.files}


def _start(*args: str, cwd: Path, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [*GRADKIT, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


def _finish(run: Path, cwd: Path, reference: dict) -> None:
    """Resume ``run`` until it is complete (or start it again when it never saved a
    checkpoint); its final parameters must equal the uninterrupted run's."""
    if not (run / "checkpoint.npz").exists():
        run = run.with_name(run.name + "-again")
        p = gradkit("train", *ARGS, f"hydra.run.dir={run.name}", cwd=cwd)
    else:
        p = gradkit("train", f"resume={run.name}", cwd=cwd)
    assert p.returncode == 0, output(p)
    assert "Traceback" not in output(p)
    with np.load(run / "params.npz") as f:
        for k, v in reference.items():
            np.testing.assert_array_equal(f[k], v, err_msg=f"{run}: {k}")
    assert not list(run.glob(".*.tmp")), "a temporary file was left behind"


def _before_gradkit(err: str) -> bool:
    """Stopped before gradkit's handlers were installed: in Python's start-up, or in the
    console script's first lines (Python's own KeyboardInterrupt, no frame of gradkit/)."""
    if "init_import_site" in err:
        return True
    return "KeyboardInterrupt" in err and "gradkit/" not in err.replace("gradkit_entry", "")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_checkpoints_and_says_how_to_resume(tmp_path, reference, sig) -> None:
    proc = _start("train", *ARGS, "hydra.run.dir=run", cwd=tmp_path)
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, out + err
    assert "Traceback" not in out + err
    assert "checkpoint saved" in err and "gradkit train resume=" in err
    word = "interrupted" if sig == signal.SIGINT else "terminated"
    assert result(tmp_path / "run")["status"].startswith(f"{word} at step")
    _finish(tmp_path / "run", tmp_path, reference)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_signals_at_random_moments_never_make_a_resume_wrong(tmp_path, reference, sig) -> None:
    rng = random.Random(int(sig) * 7919)
    for i in range(3):
        name = f"run{i}"
        proc = _start("train", *ARGS, f"hydra.run.dir={name}", cwd=tmp_path)
        time.sleep(rng.uniform(0.05, 2.5))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        if _before_gradkit(err):  # under load a signal can land there: nothing was made
            assert not (tmp_path / name).exists(), err
            continue
        assert "Traceback" not in out + err, out + err
        if sig == signal.SIGKILL or proc.returncode == -sig:
            # killed outright; for SIGINT/SIGTERM only before Python ran gradkit's first line
            assert proc.returncode in (0, -sig)
            assert sig == signal.SIGKILL or not (tmp_path / name).exists()
        else:
            assert proc.returncode in (0, 128 + sig), out + err
            if proc.returncode and (tmp_path / name).exists():
                # a stop before the folder was made may be quiet (the console script's
                # first lines); once there is a run, it says what happened to it
                assert "stopped" in err or "checkpoint saved" in err, err
        _finish(tmp_path / name, tmp_path, reference)


@pytest.mark.parametrize("nth", [1, 3])
def test_a_crash_inside_a_checkpoint_write_leaves_the_previous_one(
    tmp_path, reference, nth
) -> None:
    proc = _start(
        "train",
        *ARGS,
        "hydra.run.dir=run",
        cwd=tmp_path,
        env={"GRADKIT_TEST_FAULT": f"checkpoint@{nth}"},
    )
    proc.communicate(timeout=120)
    assert proc.returncode == -9  # died half-way through writing checkpoint number nth
    run = tmp_path / "run"
    assert list(run.glob(".checkpoint.npz.*.tmp"))  # the torn temporary file...
    if nth == 1:
        assert not (run / "checkpoint.npz").exists()  # ...never became the checkpoint
    else:
        p = gradkit("train", "resume=run", "loop.steps=1", cwd=tmp_path)
        assert p.returncode == 2 and "already at step 14" in p.stderr, output(p)
    _finish(run, tmp_path, reference)


def test_ctrl_c_during_start_up_is_quiet(tmp_path) -> None:
    rng = random.Random(5)
    for i, (low, high) in enumerate([(0.0, 0.15)] * 3 + [(0.15, 1.2)] * 4):
        proc = _start("train", "loop.steps=2", f"hydra.run.dir=r{i}", cwd=tmp_path)
        time.sleep(rng.uniform(low, high))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        if _before_gradkit(err):
            assert not (tmp_path / f"r{i}").exists()
            continue
        assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err, err
        # -2: before Python ran gradkit's first line (nothing to say, nothing made)
        assert proc.returncode in (0, 130, -2), out + err
        if proc.returncode == 130 and (tmp_path / f"r{i}").exists():
            assert "stopped by Ctrl-C" in err or "checkpoint saved" in err, err


def test_help_into_a_closed_pipe_ends_quietly(tmp_path) -> None:
    cmd = " ".join(GRADKIT)
    for args in ("train --help", "--help"):
        p = subprocess.run(
            ["bash", "-c", f"{cmd} {args} | head -1"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.stdout.strip() and p.stderr == "", p.stderr


def test_errors_go_to_stderr_so_redirected_stdout_never_hides_them(tmp_path) -> None:
    p = gradkit("train", "data=csv", "data.path=missing.csv", "hydra.run.dir=r", cwd=tmp_path)
    assert p.returncode == 2
    assert "missing.csv" in p.stderr and "missing.csv" not in p.stdout
    p = gradkit("train", "optimizer.lr=1e6", "loop.steps=30", "hydra.run.dir=n", cwd=tmp_path)
    assert p.returncode == 1 and "training failed" in p.stderr
    assert "training failed" not in p.stdout


def _limit_file_size(nbytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return apply


def test_disk_errors_name_the_file_and_a_failed_periodic_checkpoint_is_a_warning(
    tmp_path,
) -> None:
    # params.npz (~190 kB) fits under the limit, a checkpoint (params and grads) does not
    proc = _start(
        "train",
        "model.hidden=2000",
        "loop.steps=6",
        "loop.checkpoint_every=2",
        "loop.progress=lines",
        "hydra.run.dir=run",
        cwd=tmp_path,
        preexec_fn=_limit_file_size(300_000),
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 74, out + err
    assert "Traceback" not in out + err
    assert "checkpoint at step 2 not saved (training goes on)" in " ".join(err.split())
    assert "cannot write" in err and "checkpoint.npz" in err and "File too large" in err
    steps = [
        int(line.split('"step": ')[1].split(",")[0])
        for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert max(steps) == 6  # training went on past the failed checkpoints
    assert not list((tmp_path / "run").glob(".*.tmp"))
    assert result(tmp_path / "run")["status"].startswith("error: cannot write")


def _children(pid: int) -> list[int]:
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_a_stopped_sweep_checkpoints_its_jobs_and_writes_its_summary(tmp_path, launcher) -> None:
    if launcher == "joblib":
        pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    extra = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"] if launcher == "joblib" else []
    args = [a for a in ARGS if not a.startswith("loop.steps")] + ["loop.steps=3000"]
    proc = _start(
        "train",
        "-m",
        *extra,
        "seed=1,2,3,4",
        *args,
        "hydra.sweep.dir=sw",
        cwd=tmp_path,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "sw").glob("*/checkpoint.npz")):
        time.sleep(0.05)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 143, out + err
    assert "Traceback" not in out + err
    rows = (tmp_path / "sw" / "summary.csv").read_text().splitlines()
    assert len(rows) == 5, rows  # every job has a line: terminated, or skipped
    statuses = " ".join(rows)
    assert "terminated at step" in statuses and "skipped" in statuses
    time.sleep(1)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the sweep"
    stopped = next(
        r for r in (tmp_path / "sw").glob("*/result.json") if "terminated" in r.read_text()
    )
    assert (stopped.parent / "checkpoint.npz").exists()


def test_a_preempted_submitit_job_checkpoints_requeues_and_resumes(tmp_path) -> None:
    """submitit's own mechanism: its pre-emption signal (USR2) reaches the job; gradkit
    saves a checkpoint at the step boundary, then hands the signal to submitit, which
    requeues the job; the job starts again in its folder and resumes from there."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    args = [a for a in ARGS if not a.startswith("loop.steps")] + ["loop.steps=1500"]
    proc = _start(
        "train",
        "-m",
        "hydra/launcher=submitit_local",
        *args,
        "hydra.sweep.dir=sw",
        cwd=tmp_path,
    )
    job = tmp_path / "sw" / "0"
    deadline = time.time() + 120
    while time.time() < deadline and not (job / "checkpoint.npz").exists():
        time.sleep(0.05)
    os.kill(int((job / ".gradkit.lock").read_text().split()[0]), signal.SIGUSR2)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    log = (job / "train.log").read_text()
    assert "SIGUSR2: stopped after step" in log and "requeued job: resuming from" in log
    assert result(job)["status"] == "ok" and result(job)["steps"] == 1500
    records = [json.loads(line) for line in (job / "metrics.jsonl").read_text().splitlines()]
    logged = [(r["step"], r["split"]) for r in records]
    assert len(logged) == len(set(logged)) == 330  # every log step once: 300 train, 30 val
    full = gradkit("train", *args, "hydra.run.dir=full", cwd=tmp_path)
    assert full.returncode == 0, output(full)
    a, b = np.load(job / "params.npz"), np.load(tmp_path / "full" / "params.npz")
    for k in b.files:
        np.testing.assert_array_equal(a[k], b[k])
