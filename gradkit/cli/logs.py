"""The console log handler named by ``conf/hydra/job_logging/gradkit.yaml``."""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["ConsoleHandler", "PlainHandler"]


def _not_file_only(record: logging.LogRecord) -> bool:
    """Keep records marked ``file_only`` (step lines a progress bar already shows) off the
    console; the run's log file still gets them."""
    return not getattr(record, "file_only", False)


class PlainHandler(logging.StreamHandler):
    """``LEVEL    message`` lines on stdout: for CI logs, files and pipes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(sys.stdout)
        self.addFilter(_not_file_only)

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname:<8} {super().format(record)}"


class ConsoleHandler(logging.Handler):
    """On a terminal, rich's RichHandler on the shared console (so log lines print above
    a progress bar); elsewhere plain lines, which do not wrap or pad in CI logs."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        import rich

        console = rich.get_console()
        if not console.is_terminal:
            return PlainHandler()
        from rich.logging import RichHandler

        handler = RichHandler(
            console=console, show_time=False, show_path=False, markup=False, **kwargs
        )
        handler.addFilter(_not_file_only)
        return handler
