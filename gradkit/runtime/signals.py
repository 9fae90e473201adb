"""Stop requests from signals: Ctrl-C (SIGINT) and SIGTERM (``kill``, ``timeout``, a
cluster scheduler's pre-emption) are handled the same way, in one place.

Outside a :func:`deferred` block a signal stops the command at once by raising
:class:`Stopped` (nothing is being trained, so nothing is lost and there is no
traceback to print).  Inside one — a training loop, the final saves, a sweep
waiting for its workers — the first signal only records the request; the code
checks :func:`requested` at a safe point (a step boundary), saves, and stops.  A
second signal stops at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "Stopped",
    "install",
    "deferred",
    "requested",
    "signal_name",
    "exit_status",
    "on_request",
    "enter_deferred",
    "status_word",
    "chain",
    "ignore",
    "under_submitit",
]


#: the signals that ask gradkit to stop
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """A signal stopped the command; ``signum`` says which (exit status 128 + signum).

    A BaseException, like KeyboardInterrupt, so ``except Exception`` blocks (Hydra's
    included) let it through to the command's entry point."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal_name(signum)}")
        self.signum = signum

    def __reduce__(self) -> tuple:
        return (Stopped, (self.signum,))


class _State:
    signum: int | None = None  # the first signal received, while deferring
    depth = 0  # nesting of deferred() blocks
    installed = False
    listeners: list[Callable[[int], None]] = []  # noqa: RUF012 - process-wide on purpose
    chained: dict[int, Any] = {}  # noqa: RUF012 - a job scheduler's own handlers, called after


_state = _State()


def signal_name(signum: int) -> str:
    """``SIGTERM``, ``Ctrl-C (SIGINT)``: how a message names a signal."""
    name = signal.Signals(signum).name
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else name


def status_word(signum: int) -> str:
    """How result.json says a run was stopped: ``interrupted`` (Ctrl-C), ``terminated``
    (SIGTERM), ``preempted`` (a scheduler's warning signal)."""
    if signum == signal.SIGINT:
        return "interrupted"
    return "terminated" if signum == signal.SIGTERM else "preempted"


def exit_status(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


def _handle(signum: int, frame: Any) -> None:
    if _state.depth == 0:
        if _state.signum is None:
            _state.signum = signum  # remembered: a library may turn the exception into another
        raise Stopped(signum)
    if _state.signum is not None:
        if signum == signal.SIGINT:
            raise Stopped(signum)  # Ctrl-C again: the user does not want to wait
        return  # already stopping; a scheduler's SIGKILL follows if it must
    _state.signum = signum
    for fn in list(_state.listeners):
        fn(signum)


def under_submitit() -> bool:
    """True in a job that submitit started (its environment variables are set)."""
    return any(k.startswith("SUBMITIT_") for k in os.environ)


def _preempt_signal() -> int | None:
    """The signal a submitit job is warned with before pre-emption (USR2 unless
    ``SUBMITIT_PREEMPT_SIGNAL`` says otherwise), when this process is such a job."""
    if not under_submitit():
        return None
    name = os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2")
    return getattr(signal, "SIG" + name.removeprefix("SIG"), None)


def install() -> None:
    """Route SIGINT and SIGTERM here (main thread only; idempotent)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for s in SIGNALS:
        if s == signal.SIGINT and signal.getsignal(s) == signal.SIG_IGN:
            continue  # a background job: the terminal's Ctrl-C is not for it
        signal.signal(s, _handle)
    preempt = _preempt_signal()
    previous = signal.getsignal(preempt) if preempt is not None else None
    if callable(previous) and previous is not _handle:
        # submitit's checkpoint-and-requeue handler runs after gradkit's checkpoint
        _state.chained[preempt] = previous
        signal.signal(preempt, _handle)
    _state.installed = True


def ignore() -> None:
    """From now on SIGINT and SIGTERM change nothing: the command's work is done and saved.
    (Python resets its own handlers to the default while it shuts down, so a late signal
    would otherwise kill a finished process, unsaid.)"""
    if threading.current_thread() is threading.main_thread():
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)


def chain(signum: int) -> None:
    """Hand ``signum`` on to the handler gradkit took it from (submitit's requeue), if any.
    Under submitit a SIGTERM is pre-emption too (SLURM's default warning): it requeues."""
    handler = _state.chained.get(signum)
    if handler is None and signum == signal.SIGTERM and _state.chained:
        signum, handler = next(iter(_state.chained.items()))
    if handler is not None:
        handler(signum, None)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside: a first signal is recorded for :func:`requested`, not raised."""
    enter_deferred()
    try:
        yield
    finally:
        _state.depth -= 1


def enter_deferred() -> None:
    """Start deferring for the rest of the process (a sweep's parent, while jobs run)."""
    if not _state.installed:
        install()
    _state.depth += 1


def requested() -> int | None:
    """The signal that asked to stop (None when none did)."""
    return _state.signum


def on_request(fn: Callable[[int], None]) -> None:
    """Call ``fn(signum)`` when a deferred stop is requested."""
    _state.listeners.append(fn)
