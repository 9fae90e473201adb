"""The ``key=value`` command lines of the commands that use a trained run (predict,
evaluate, export) or read run folders (runs, plot): the same syntax as ``gradkit train``'s
overrides, without Hydra (they make no run folder), and their errors as one
``gradkit: error:`` line with exit 2."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["parse", "run_command", "fail", "output_path"]


class UsageError(Exception):
    """A command line that cannot be read; the message says what to write instead."""


def fail(message: str) -> int:
    """Print ``gradkit: error: MESSAGE`` on stderr (one line) and return exit status 2."""
    sys.stderr.write(f"gradkit: error: {' '.join(message.split())}\n")
    return 2


def parse(
    command: str, args: list[str], options: dict[str, str], required: tuple[str, ...]
) -> dict[str, str]:
    """``key=value`` arguments as a dict; ``options`` maps each allowed key to its help."""
    values: dict[str, str] = {}
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq or not key:
            raise UsageError(
                f"gradkit {command}: {arg!r} is not key=value; write e.g. "
                f"{required[0] if required else next(iter(options))}=..."
            )
        key = key.strip().lstrip("+")
        if key not in options:
            near = difflib.get_close_matches(key, options, n=1)
            hint = f" (did you mean {near[0]}=?)" if near else ""
            raise UsageError(
                f"gradkit {command}: unknown option {key!r}{hint}; the options are: "
                f"{', '.join(options)}"
            )
        if key in values:
            raise UsageError(f"gradkit {command}: {key}= is given twice")
        values[key] = value
    missing = [k for k in required if not values.get(k)]
    if missing:
        raise UsageError(
            f"gradkit {command}: missing {missing[0]}=...; see gradkit {command} --help"
        )
    return values


def output_path(value: str | None, default: str, key: str = "output") -> Path:
    """Where to write: ``value`` or ``default``; a folder that is not there is an error."""
    from gradkit.errors import UserError

    path = Path(value or default)
    if path.is_dir():
        raise UserError(f"{key}={path} is a folder; give a file name, e.g. {key}={default}")
    if not path.parent.is_dir():
        raise UserError(f"{key}={path}: the folder {path.parent} does not exist; create it first")
    return path


def run_command(
    command: str,
    usage: str,
    args: list[str],
    options: dict[str, str],
    required: tuple[str, ...],
    body: Callable[[dict[str, str]], int],
) -> int:
    """Parse ``args``, answer ``--help``, run ``body``: a user mistake is exit 2 with one
    line on stderr, Ctrl-C is exit 130."""
    if any(a in ("-h", "--help") for a in args):
        width = max(len(k) for k in options)
        lines = [f"  {k.ljust(width)}  {text}" for k, text in options.items()]
        print(usage.format(options="\n".join(lines)), end="")
        return 0
    from gradkit.errors import UserError
    from gradkit.runtime.files import DiskError

    try:
        return body(parse(command, args, options, required))
    except (UsageError, UserError) as e:
        return fail(str(e))
    except RuntimeError as e:  # no GPU: only a command that loaded the backend can hit it
        device = sys.modules.get("gradkit.backend.device")
        if device is not None and isinstance(e, device.DeviceUnavailableError):
            return fail(str(e))
        raise
    except DiskError as e:  # writing the output: it names the file and the reason
        return fail(str(e))
    except BrokenPipeError:  # `gradkit runs | head`: main() ends quietly
        raise
    except OSError as e:  # a folder that is not there, no permission
        return fail(f"gradkit {command}: {e.strerror or e}: {e.filename or ''}")
    except KeyboardInterrupt:
        sys.stderr.write(f"gradkit {command}: stopped (Ctrl-C)\n")
        return 130
