"""Past runs, read from their folders: what ``gradkit runs`` lists and ``gradkit plot`` draws.

A run folder may come from anyone (a folder someone sent you), so everything here
reads it as untrusted data: only ``result.json``, the tail of ``metrics.jsonl``,
``model.json`` and ``.hydra/`` (YAML read with the safe loader, never resolved, never
instantiated), each up to a size limit; symbolic links are not followed; a file that
is too big, not JSON/YAML or of the wrong shape makes that field ``None`` — never an
error.  Nothing named in a folder is imported or run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "RunInfo",
    "STATUSES",
    "find_runs",
    "read_run",
    "is_run_folder",
    "read_records",
    "short_status",
    "is_running",
]

#: the words ``gradkit runs`` shows (``status=`` filters on them)
STATUSES = (
    "ok",
    "failed",
    "interrupted",
    "terminated",
    "preempted",
    "error",
    "skipped",
    "stopped",
    "running",
    "incomplete",
)
#: the most a small file (result.json, model.json, .hydra/*.yaml) may weigh to be read
SMALL = 1 << 20
#: how much of the end of metrics.jsonl is read for the last step and metric
TAIL = 64 << 10
#: how deep under a root run folders are looked for (multirun/DATE/TIME/JOB is 3)
DEPTH = 4
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[/\\](\d{2})-(\d{2})-(\d{2})(?:_\d+)?(?:[/\\]|$)")


@dataclass
class RunInfo:
    """One run folder, as ``gradkit runs`` shows it (``None``: not known)."""

    folder: str
    started: float | None = None
    overrides: list[str] = field(default_factory=list)
    model: str | None = None
    data: str | None = None
    status: str = "incomplete"
    detail: str | None = None
    steps: int | None = None
    metric_name: str | None = None
    metric: float | None = None
    val_loss: float | None = None
    duration: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``started`` as local ISO time)."""
        out = asdict(self)
        out["started"] = _iso(self.started)
        return out


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


# -- reading untrusted files ----------------------------------------------------------------
def _regular(path: Path) -> os.stat_result | None:
    """``path``'s stat when it is a regular file (not a link), else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _read_small(path: Path, limit: int = SMALL) -> bytes | None:
    st = _regular(path)
    if st is None or st.st_size > limit:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(limit + 1)[:limit]


def _json(path: Path) -> Any:
    data = _read_small(path)
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _yaml(path: Path) -> Any:
    data = _read_small(path)
    if data is None:
        return None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(data, Loader=loader)  # a safe loader: no Python objects
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _str(v: Any, limit: int = 200) -> str | None:
    return v[:limit] if isinstance(v, str) else None


def _str_list(v: Any) -> list[str]:
    if not isinstance(v, list):
        return []
    return [s[:200] for s in v[:100] if isinstance(s, str)]


def read_records(path: Path, tail: int | None = None) -> list[dict]:
    """The JSON objects of a ``metrics.jsonl`` (its last ``tail`` bytes when given); torn
    or foreign lines are skipped.  Not a regular file: no records."""
    st = _regular(path)
    if st is None:
        return []
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as f:
        if tail is not None and st.st_size > tail:
            f.seek(st.st_size - tail)
            data = f.read(tail)
            data = data[data.find(b"\n") + 1 :]  # the first line is cut
        else:
            data = f.read()
    out = []
    for line in data.splitlines():
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(rec, dict) and _int(rec.get("step")) is not None:
            out.append(rec)
    return out


def is_running(folder: Path) -> bool:
    """True when a gradkit process holds the folder's lock (it is training now)."""
    from ..runtime.files import held_lock

    lock = folder / ".gradkit.lock"
    return _regular(lock) is not None and held_lock(lock) is not None


def short_status(status: Any) -> tuple[str, str | None]:
    """``result.json``'s status as one of :data:`STATUSES` and the rest of it."""
    if not isinstance(status, str) or not status.strip():
        return "incomplete", None
    word = status.split(":")[0].split()[0].lower()
    if word in STATUSES:
        return word, status[:200]
    return "incomplete", status[:200]


def _started(folder: Path, rel: str) -> float | None:
    """When the run started: the DATE/TIME of Hydra's folder name, else its config's time."""
    m = _STAMP.search(rel.replace(os.sep, "/") + "/")
    if m:
        try:
            return time.mktime(
                time.strptime(
                    f"{m.group(1)} {m.group(2)}:{m.group(3)}:{m.group(4)}", "%Y-%m-%d %H:%M:%S"
                )
            )
        except (ValueError, OverflowError):
            pass
    for name in (".hydra/config.yaml", ".gradkit.lock", "result.json"):
        st = _regular(folder / name)
        if st is not None:
            return st.st_mtime
    return None


def _choices(folder: Path) -> dict[str, str]:
    """The config groups' choices (model, data, ...) from ``.hydra/hydra.yaml``: the lines
    of its ``hydra.runtime.choices`` block, read as plain ``group: option`` text (parsing
    the whole 4 KB file as YAML would take most of the time of ``gradkit runs``)."""
    data = _read_small(folder / ".hydra" / "hydra.yaml")
    if data is None:
        return {}
    text = data.decode("utf-8", errors="replace")
    m = re.search(r"^(  +)choices:[ \t]*$", text, flags=re.MULTILINE)
    if m is None:
        return {}
    indent = len(m.group(1))
    out: dict[str, str] = {}
    for line in text[m.end() + 1 :].splitlines():
        body = line.lstrip(" ")
        if len(line) - len(body) <= indent or not body:
            break
        key, sep, value = body.partition(": ")
        if sep and len(out) < 100:
            out[key.strip()] = value.strip().strip("'\"")
    return out


def read_run(folder: Path, rel: str | None = None) -> RunInfo:
    """What ``folder`` says about its run (never raises on its content)."""
    rel = rel if rel is not None else str(folder)
    info = RunInfo(folder=rel, started=_started(folder, rel))
    result = _json(folder / "result.json")
    if not isinstance(result, dict):
        result = {}
    info.overrides = _str_list(result.get("overrides"))
    if "overrides" not in result:
        info.overrides = _str_list(_yaml(folder / ".hydra" / "overrides.yaml"))
    info.status, info.detail = short_status(result.get("status"))
    if is_running(folder):
        info.status = "running"
    info.metric = _num(result.get("metric"))
    info.metric_name = _str(result.get("metric_name"), 40)
    info.val_loss = _num(result.get("val_loss"))
    info.steps = _int(result.get("steps"))

    choices = _choices(folder)
    info.model = _str(choices.get("model"), 60)
    info.data = _str(choices.get("data"), 60)
    if info.model is None:
        card = _json(folder / "model.json")
        if isinstance(card, dict):
            info.model = _str(card.get("model"), 60)

    records = read_records(folder / "metrics.jsonl", tail=TAIL)
    if records:
        last = records[-1]
        if info.steps is None:
            info.steps = _int(last.get("step"))
        info.duration = _num(last.get("time"))
        if info.metric_name is None:
            info.metric_name = _str(last.get("metric_name"), 40)
        if info.metric is None:
            val = [r for r in records if r.get("split") == "val"]
            if val:
                info.metric = _num(val[-1].get("metric"))
                info.val_loss = (
                    info.val_loss if info.val_loss is not None else _num(val[-1].get("loss"))
                )
    return info


# -- finding run folders ------------------------------------------------------------------------
def is_run_folder(folder: Path) -> bool:
    """A folder that holds one run (not a sweep): it has ``.hydra/`` or ``result.json``."""
    for name in (".hydra", "result.json"):
        with contextlib.suppress(OSError):
            st = os.lstat(folder / name)
            if not stat.S_ISLNK(st.st_mode):
                return True
    return False


def _walk(root: Path, depth: int) -> list[Path]:
    if is_run_folder(root):
        return [root]
    if depth == 0:
        return []
    found: list[Path] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return found
    for e in entries:
        if e.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            if e.is_dir(follow_symlinks=False):
                found += _walk(Path(e.path), depth - 1)
    return found


def find_runs(roots: list[Path], base: Path | None = None) -> list[RunInfo]:
    """Every run folder under ``roots`` (links not followed), newest first; folder names
    are shown relative to ``base`` when under it."""
    base = base or Path.cwd()
    runs = []
    seen: set[Path] = set()
    for root in roots:
        for folder in _walk(root, DEPTH):
            if folder in seen:
                continue
            seen.add(folder)
            try:
                rel = str(folder.relative_to(base))
            except ValueError:
                rel = str(folder)
            runs.append(read_run(folder, rel))
    runs.sort(key=lambda r: (r.started or 0.0, r.folder), reverse=True)
    return runs
