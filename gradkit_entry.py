"""The ``gradkit`` console script: its first lines make Ctrl-C and SIGTERM end quietly
(status 128 + the signal) before gradkit itself is imported; gradkit's own handlers
(``gradkit/runtime/signals.py``) take over as soon as ``gradkit.cli.main`` is loaded."""

import signal
import sys


def _early_stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
    signal.signal(signal.SIGINT, _early_stop)
signal.signal(signal.SIGTERM, _early_stop)


def main() -> int:
    """Load gradkit's command line and run it."""
    from gradkit.cli.main import main as gradkit_main

    return gradkit_main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
