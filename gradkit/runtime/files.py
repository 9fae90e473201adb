"""Writing the files of a run folder safely.

* Whole files are replaced atomically: written to a temporary file in the same
  folder, flushed to disk, then renamed over the old one — a crash at any
  instant leaves the old version or the new one, never a mix, and the
  temporary file is removed on every error.
* Nothing is written through a symbolic link planted in the folder (``O_NOFOLLOW``
  on appends; a rename replaces a link instead of writing through it).
* ``GRADKIT_TEST_FAULT`` names a point where the tests make the process die
  (SIGKILL) half-way through a write, to prove the above.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = [
    "DiskError",
    "atomic_write",
    "write_text",
    "write_bytes",
    "open_append",
    "fault_point",
    "disk_error",
    "remove_stale_temporaries",
    "held_lock",
]


class DiskError(OSError):
    """A run file could not be written; the message names the path and the OS reason."""

    def __str__(self) -> str:
        return str(self.strerror)


def disk_error(path: Path | str, e: OSError) -> DiskError:
    """A DiskError saying which file and why (``No space left on device``, ...)."""
    reason = e.strerror or str(e)
    return DiskError(e.errno or errno.EIO, f"cannot write {path}: {reason}")


_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here (SIGKILL) when ``GRADKIT_TEST_FAULT`` is ``name`` or ``name@N`` (the Nth
    time this point is reached) — a crash the tests force inside a write."""
    wanted = os.environ.get("GRADKIT_TEST_FAULT")
    if not wanted or wanted.split("@")[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    nth = int(wanted.split("@")[1]) if "@" in wanted else 1
    if _hits[name] == nth:
        os.kill(os.getpid(), signal.SIGKILL)


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files a killed writer left (call only while holding the
    folder's lock: no other writer can be using them)."""
    for sub in (folder, folder / ".hydra"):
        if not sub.is_dir() or sub.is_symlink():
            continue
        for p in sub.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                p.unlink()


def held_lock(lock: Path) -> str | None:
    """What ``lock`` says while some process holds an flock on it; None when none does
    (or it cannot be opened: a link, a missing file)."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return os.read(fd, 256).decode(errors="replace")  # held by a live process
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: Path, fault: str | None = None) -> Iterator[IO[bytes]]:
    """``with atomic_write(p) as f: f.write(...)``: ``p`` becomes the new content only when
    the block ends without error; the temporary file never outlives the block."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
    except OSError as e:
        raise disk_error(path, e) from None
    committed = False
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if fault:
                fault_point(fault)
            os.fsync(f.fileno())
        os.replace(tmp, path)
        committed = True
        _sync_folder(path.parent)
    except OSError as e:
        raise disk_error(path, e) from None
    finally:
        if not committed:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_write(path) as f:
        f.write(data)


def open_append(path: Path) -> IO[str]:
    """``path`` opened for appending text, refusing to follow a symbolic link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise DiskError(
                e.errno, f"{path} is a symbolic link; gradkit does not write through links"
            ) from None
        raise disk_error(path, e) from None
    return os.fdopen(fd, "a", encoding="utf-8")
