"""Run and sweep folders that are never shared and never overwritten.

* A default folder name (``outputs/DATE/TIME``, ``multirun/DATE/TIME``) comes from the
  ``gk_fresh`` resolver, which creates the folder with an exclusive ``mkdir`` and
  picks the next free name (``TIME_1``, ``TIME_2``, ...) when another run took it.
* Every run and sweep folder is then claimed by creating ``.gradkit.lock`` in it
  exclusively; the process holds an ``flock`` on it while it runs.  A folder named
  with ``hydra.run.dir``/``hydra.sweep.dir`` that holds a run already is refused,
  touching nothing — unless the command is a ``resume=`` of that very run.
* The run's config record (``.hydra/``) is written by gradkit, atomically and never
  through a symbolic link (``hydra.output_subdir`` is null in gradkit's configs).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from pathlib import Path
from typing import Any

from gradkit.errors import UserError
from gradkit.runtime.files import disk_error, held_lock, remove_stale_temporaries, write_text

__all__ = [
    "LOCK",
    "RUN_FILES",
    "fresh_dir",
    "claim",
    "holder",
    "release",
    "same_folder",
    "record_config",
    "register_resolver",
]

LOCK = ".gradkit.lock"
#: files whose presence means a folder holds a run (or a sweep)
RUN_FILES = (
    LOCK,
    ".hydra",
    "result.json",
    "metrics.jsonl",
    "checkpoint.npz",
    "params.npz",
    "multirun.yaml",
    "summary.csv",
)

_fresh: dict[str, str] = {}
_held: dict[str, int] = {}  # folder -> its lock's descriptor, held while the run runs


def fresh_dir(base: str) -> str:
    """``base`` created now, exclusively, or ``base_N`` with the first free N (memoised:
    one process asks once per name)."""
    if base in _fresh:
        return _fresh[base]
    path = Path(base)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(str(disk_error(path.parent, e))) from None
    for n in range(10_000):
        candidate = path if n == 0 else path.with_name(f"{path.name}_{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            raise UserError(str(disk_error(candidate, e))) from None
        _fresh[base] = str(candidate)
        return str(candidate)
    raise UserError(f"no free folder name next to {path}")


def register_resolver() -> None:
    """``${gk_fresh:outputs/...}`` for the configs' default folders (cached per config, so
    Hydra's sweep jobs in other processes get the same folder)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("gk_fresh"):
        OmegaConf.register_new_resolver("gk_fresh", fresh_dir, use_cache=True)


def _holds_run(folder: Path) -> list[str]:
    return [n for n in RUN_FILES if (folder / n).exists() or (folder / n).is_symlink()]


def claim(folder: Path, what: str, resume: bool = False) -> None:
    """Make ``folder`` this process's: refused (exit 2, nothing touched) when it holds a
    run already, unless ``resume`` (then it must not be in use by a running gradkit)."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{what}={folder} is a file, not a folder; name a folder")
    found = _holds_run(folder)
    lock = folder / LOCK
    if not resume and found:
        raise UserError(
            f"{what}={folder} already holds a run ({', '.join(found)}); gradkit never "
            "overwrites a run. Name a new folder, leave it out for a fresh one under "
            f"outputs/, or continue that run with gradkit train resume={folder}"
        )
    if not resume and folder.is_dir() and any(folder.iterdir()):
        raise UserError(
            f"{what}={folder} is not empty; a run writes its files into a folder of its own. "
            "Name a new (or empty) folder, or leave it out for a fresh one under outputs/"
        )
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | (0 if resume else os.O_EXCL)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, flags, 0o644)
    except FileExistsError:
        raise UserError(
            f"{what}={folder} was just taken by another run; name a new folder"
        ) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UserError(f"{lock} is a symbolic link; refusing to use {folder}") from None
        raise UserError(str(disk_error(folder, e))) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UserError(
            f"{folder} is in use by a gradkit that is still running; wait for it to end "
            "(or stop it) before resuming"
        ) from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
    _held[str(folder.resolve())] = fd
    if resume:
        remove_stale_temporaries(folder)


def same_folder(path: str | Path, folder: Path) -> bool:
    """True when ``path`` (a run folder, or the checkpoint.npz in one) is ``folder``."""
    p = Path(path)
    p = p.parent if p.suffix == ".npz" else p
    try:
        return p.resolve() == folder.resolve()
    except OSError:
        return False


def release(folder: Path) -> None:
    """Let go of ``folder``'s lock (the run in it is over)."""
    fd = _held.pop(str(folder.resolve()), None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def holder(lock: Path) -> int | None:
    """The pid of the process on this host that holds ``lock`` now (None: nobody does, or
    another host's job does, or the file is unreadable)."""
    words = (held_lock(lock) or "").split()  # free: the run ended (its pid may be reused)
    if len(words) < 2 or words[1] != socket.gethostname() or not words[0].isdigit():
        return None
    return int(words[0])


def record_config(folder: Path, cfg: Any, hydra_cfg: Any, overrides: list[str]) -> None:
    """``.hydra/config.yaml``, ``hydra.yaml`` and ``overrides.yaml``, each written
    atomically (what Hydra's own writer does, without its non-atomic writes)."""
    from omegaconf import OmegaConf

    sub = folder / ".hydra"
    if sub.is_symlink():
        raise UserError(f"{sub} is a symbolic link; gradkit does not write through links")
    try:
        sub.mkdir(exist_ok=True)
    except OSError as e:
        raise UserError(str(disk_error(sub, e))) from None
    write_text(sub / "config.yaml", OmegaConf.to_yaml(cfg))
    write_text(sub / "hydra.yaml", OmegaConf.to_yaml({"hydra": hydra_cfg}))
    write_text(sub / "overrides.yaml", OmegaConf.to_yaml(list(overrides)))
