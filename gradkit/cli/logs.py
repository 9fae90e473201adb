"""The console log handler named by ``conf/hydra/job_logging/gradkit.yaml``."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["ConsoleHandler", "PlainHandler", "RunLogHandler", "open_run_logs"]


def _not_file_only(record: logging.LogRecord) -> bool:
    """Keep records marked ``file_only`` (step lines a progress bar already shows) off the
    console; the run's log file still gets them."""
    return not getattr(record, "file_only", False)


class PlainHandler(logging.StreamHandler):
    """``LEVEL    message`` lines: for CI logs, files and pipes."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream or sys.stdout)
        self.addFilter(_not_file_only)

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname:<8} {super().format(record)}"


def _console_handler(stderr: bool) -> logging.Handler:
    """Rich's handler on a terminal, plain lines elsewhere, on stdout or stderr."""
    import rich

    if stderr:
        from rich.console import Console

        console = Console(stderr=True)
    else:
        console = rich.get_console()
    if not console.is_terminal:
        return PlainHandler(sys.stderr if stderr else sys.stdout)
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    handler.addFilter(_not_file_only)
    return handler


class ConsoleHandler(logging.Handler):
    """Progress and information on stdout; warnings and errors on stderr — so
    ``gradkit train ... > log`` never hides why a run failed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._out = _console_handler(stderr=False)
        self._err = _console_handler(stderr=True)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802 - logging's name
        super().setFormatter(fmt)
        self._out.setFormatter(fmt)
        self._err.setFormatter(fmt)

    def emit(self, record: logging.LogRecord) -> None:
        (self._err if record.levelno >= logging.WARNING else self._out).handle(record)


class RunLogHandler(logging.Handler):
    """The run's log file (``<run dir>/<command>.log``).  Records wait in memory until the
    run has claimed its folder (:func:`open_run_logs`), so a refused folder is left
    untouched; the file is appended to without following a symbolic link, and a file
    that cannot be written is said once on stderr, not as a traceback per record."""

    _open: ClassVar[list[RunLogHandler]] = []

    def __init__(self, filename: str, **kwargs: Any) -> None:
        super().__init__()
        self.filename = Path(filename)
        self._buffer: list[logging.LogRecord] = []
        self._stream: Any = None
        self._failed = False
        RunLogHandler._open.append(self)

    def emit(self, record: logging.LogRecord) -> None:
        if self._failed:
            return
        if self._stream is None:
            if len(self._buffer) < 10_000:
                self._buffer.append(record)
            return
        try:
            self._stream.write(self.format(record) + "\n")
            self._stream.flush()
        except OSError as e:
            self._fail(e)

    def start(self) -> None:
        """Open the file and write what waited."""
        from gradkit.runtime.files import open_append

        try:
            self._stream = open_append(self.filename)
        except OSError as e:
            self._fail(e)
            return
        waiting, self._buffer = self._buffer, []
        for record in waiting:
            self.emit(record)

    def _fail(self, e: OSError) -> None:
        self._failed = True
        sys.stderr.write(
            f"gradkit: warning: cannot write {self.filename} ({e.strerror or e}); the log goes "
            "on on the console only\n"
        )

    def close(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.close()
            self._stream = None
        if self in RunLogHandler._open:
            RunLogHandler._open.remove(self)
        super().close()


def open_run_logs() -> None:
    """The run has claimed its folder: its log files may be written now."""
    for h in list(RunLogHandler._open):
        if h._stream is None and not h._failed:
            h.start()
