"""``gradkit runs`` and ``gradkit plot`` on real run folders (ok, failed, interrupted,
running, a sweep) and on folders whose content is not to be trusted."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .helpers import GRADKIT, gradkit, output

FAST = ("loop.progress=none", "model=logreg", "data=binary_blobs")
PNG = b"\x89PNG\r\n\x1a\n"


def _interrupt(cwd: Path, folder: str) -> None:
    """A real run stopped by Ctrl-C (SIGINT) after it logged a few steps."""
    proc = subprocess.Popen(
        [*GRADKIT, "train", "loop.steps=100000", "loop.log_every=5", "loop.progress=lines",
         f"hydra.run.dir={folder}"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    metrics = cwd / folder / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """outputs/ with an ok, a failed (NaN) and an interrupted run; multirun/ with a sweep."""
    d = tmp_path_factory.mktemp("runs")
    ok = gradkit("train", *FAST, "loop.steps=30", "hydra.run.dir=outputs/2026-01-01/10-00-00",
                 cwd=d)  # fmt: skip
    assert ok.returncode == 0, output(ok)
    bad = gradkit(
        "train", "loop.progress=none", "data=regression", "optimizer.lr=1e6", "loop.steps=50",
        "hydra.run.dir=outputs/2026-01-01/11-00-00", cwd=d,
    )  # fmt: skip
    assert bad.returncode == 1, output(bad)
    _interrupt(d, "outputs/2026-01-01/12-00-00")
    sweep = gradkit(
        "train", "-m", *FAST, "loop.steps=20", "optimizer.lr=0.01,0.5",
        "hydra.sweep.dir=multirun/2026-01-02/09-00-00", cwd=d,
    )  # fmt: skip
    assert sweep.returncode == 0, output(sweep)
    return d


def _json(p: subprocess.CompletedProcess) -> list[dict]:
    assert p.returncode == 0, output(p)
    return json.loads(p.stdout)


def test_runs_lists_every_run_newest_first_with_status_and_metric(runs) -> None:
    p = gradkit("runs", cwd=runs)
    assert p.returncode == 0, output(p)
    text = p.stdout
    assert "5 runs" in text and "Traceback" not in output(p)
    for word in ("ok", "failed", "interrupted", "logreg", "binary_blobs", "accuracy"):
        assert word in text, word
    rows = _json(gradkit("runs", "format=json", cwd=runs))
    folders = [r["folder"] for r in rows]
    assert folders == [
        "multirun/2026-01-02/09-00-00/1",
        "multirun/2026-01-02/09-00-00/0",
        "outputs/2026-01-01/12-00-00",
        "outputs/2026-01-01/11-00-00",
        "outputs/2026-01-01/10-00-00",
    ]
    by = {r["folder"]: r for r in rows}
    ok = by["outputs/2026-01-01/10-00-00"]
    assert ok["status"] == "ok" and ok["steps"] == 30 and ok["metric_name"] == "accuracy"
    assert 0.5 < ok["metric"] <= 1 and ok["model"] == "logreg" and ok["data"] == "binary_blobs"
    assert ok["started"] == "2026-01-01 10:00:00" and ok["duration"] is not None
    assert by["outputs/2026-01-01/11-00-00"]["status"] == "failed"
    stopped = by["outputs/2026-01-01/12-00-00"]
    assert stopped["status"] == "interrupted" and stopped["steps"] >= 15
    assert stopped["detail"].startswith("interrupted at step")
    assert by["multirun/2026-01-02/09-00-00/1"]["overrides"][-1] == "optimizer.lr=0.5"


def test_runs_filters_and_formats(runs) -> None:
    failed = _json(gradkit("runs", "status=failed,interrupted", "format=json", cwd=runs))
    assert {r["status"] for r in failed} == {"failed", "interrupted"} and len(failed) == 2
    assert len(_json(gradkit("runs", "last=2", "format=json", cwd=runs))) == 2
    sweep = _json(gradkit("runs", "root=multirun", "format=json", cwd=runs))
    assert len(sweep) == 2 and all(r["status"] == "ok" for r in sweep)
    p = gradkit("runs", "format=csv", cwd=runs)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert len(rows) == 5 and rows[0]["folder"] and "metric" in rows[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("status=okay",), "status=okay is not a status"),
        (("last=0",), "last=0 must be a whole number"),
        (("format=xml",), "format=xml is not a format"),
        (("root=nowhere",), "root=nowhere is not a folder"),
        (("colour=red",), "unknown option 'colour'"),
    ],
)
def test_runs_mistakes_exit_2_with_one_line(runs, args, says) -> None:
    p = gradkit("runs", *args, cwd=runs)
    assert p.returncode == 2 and says in p.stderr, output(p)
    assert p.stderr.startswith("gradkit: error:") and len(p.stderr.splitlines()) == 1


def test_a_running_run_and_untrusted_folders(runs, tmp_path) -> None:
    out = tmp_path / "outputs"
    shutil.copytree(runs / "outputs" / "2026-01-01" / "10-00-00", out / "live")
    (out / "live" / "result.json").unlink()
    bad = {
        "not-json": {"result.json": "{oops", "metrics.jsonl": "\x00\x01\nnot json\n"},
        "wrong-types": {
            "result.json": json.dumps({"status": 7, "metric": "high", "steps": -3,
                                       "overrides": "model=x"}),
            "metrics.jsonl": json.dumps({"step": "ten"}) + "\n[1, 2]\n",
        },
        "a-list": {"result.json": "[1, 2, 3]", ".hydra/hydra.yaml": "!!python/object:os.system x"},
        "huge": {"result.json": " " * (2 << 20) + "{}"},
    }  # fmt: skip
    for name, files in bad.items():
        for rel, text in files.items():
            (out / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / name / rel).write_text(text)
    (out / "linked").mkdir()
    os.symlink("/etc/passwd", out / "linked" / "result.json")
    (out / "linked" / ".hydra").mkdir()
    fd = os.open(out / "live" / ".gradkit.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        rows = _json(gradkit("runs", "format=json", cwd=tmp_path))
        table = gradkit("runs", cwd=tmp_path)
    finally:
        os.close(fd)
    assert table.returncode == 0 and "Traceback" not in output(table), output(table)
    by = {Path(r["folder"]).name: r for r in rows}
    assert set(by) == {"live", "not-json", "wrong-types", "a-list", "huge", "linked"}
    assert by["live"]["status"] == "running" and by["live"]["steps"] == 30
    for name in ("not-json", "wrong-types", "a-list", "huge", "linked"):
        assert by[name]["status"] == "incomplete", name
        assert by[name]["metric"] is None and by[name]["steps"] is None, name
    # once the lock is released the same folder is no longer running
    rows = _json(gradkit("runs", "format=json", cwd=tmp_path))
    assert next(r for r in rows if r["folder"].endswith("live"))["status"] == "incomplete"


def test_runs_with_no_runs(tmp_path) -> None:
    p = gradkit("runs", cwd=tmp_path)
    assert p.returncode == 0 and "no runs" in p.stdout, output(p)


def test_plot_draws_a_run_several_runs_and_a_sweep(runs) -> None:
    pytest.importorskip("matplotlib")
    p = gradkit("plot", "outputs/2026-01-01/10-00-00", cwd=runs)
    assert p.returncode == 0, output(p)
    assert "1 run drawn in curves.png" in p.stdout
    assert (runs / "curves.png").read_bytes().startswith(PNG)
    p = gradkit(
        "plot", "outputs/2026-01-01/10-00-00", "outputs/2026-01-01/12-00-00",
        "multirun/2026-01-02/09-00-00", "output=all.png", "title=all of them", cwd=runs,
    )  # fmt: skip
    assert p.returncode == 0 and "4 runs drawn in all.png" in p.stdout, output(p)
    assert (runs / "all.png").read_bytes().startswith(PNG)
    assert (runs / "all.png").stat().st_size > 20_000


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "name at least one run or sweep folder"),
        (("nowhere",), "nowhere is not a folder"),
        ((".hydra-less",), "holds no run"),
        (("outputs/2026-01-01/10-00-00", "output=missing/x.png"), "does not exist"),
    ],
)
def test_plot_mistakes_exit_2(runs, args, says) -> None:
    (runs / ".hydra-less").mkdir(exist_ok=True)
    p = gradkit("plot", *args, cwd=runs)
    assert p.returncode == 2 and says in p.stderr, output(p)
    assert p.stderr.startswith("gradkit: error:")


def test_train_ends_with_its_curve_in_the_terminal(runs) -> None:
    log = (runs / "outputs" / "2026-01-01" / "10-00-00" / "train.log").read_text()
    line = next(x for x in log.splitlines() if "train loss" in x)
    assert any(ch in line for ch in "▁▂▃▄▅▆▇█") and "→" in line and "steps 10–30" in line


def test_the_table_shows_the_newest_100_and_says_how_many_more(runs, tmp_path) -> None:
    for i in range(101):
        shutil.copytree(runs / "outputs" / "2026-01-01" / "10-00-00", tmp_path / "o" / f"r{i:03d}")
    p = gradkit("runs", "root=o", cwd=tmp_path)
    assert p.returncode == 0, output(p)
    assert "the newest 100 of 101 runs" in p.stdout and "and 1 older runs" in p.stdout
    assert p.stdout.count("│ o/r") == 100
    assert len(_json(gradkit("runs", "root=o", "format=json", cwd=tmp_path))) == 101
