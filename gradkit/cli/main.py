"""Entry point of the ``gradkit`` command."""

from __future__ import annotations

import sys

from .._version import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("--version", "-V"):
        print(f"gradkit {__version__}")
        return 0
    print("usage: gradkit [--version]")
    return 0
