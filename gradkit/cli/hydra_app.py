"""What every gradkit Hydra app shares: the ``./conf`` search path, the schemas, and
errors translated for people (exit 2, no traceback).

Hydra prints an error itself and exits 1, unless ``HYDRA_FULL_ERROR=1`` (its documented
switch for a complete stack trace) is set: then the exception propagates out of the
``@hydra.main`` function.  ``launch`` sets it while the app runs and catches what comes
out, so one place (:func:`report`) answers every error: an unknown choice lists the
choices, an unknown key suggests the closest allowed key, a wrong type names the key
and the type — and the command exits 2, as every user mistake does.  Anything else
is printed as Hydra prints it (exit 1); a user's own ``HYDRA_FULL_ERROR=1`` still
shows Hydra's full error.  Only Hydra's public API is used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin
from omegaconf import DictConfig

from . import schema

__all__ = [
    "launch",
    "prepare",
    "errors_raised",
    "report",
    "print_as_hydra",
    "friendly_message",
    "print_error",
    "known_keys",
]


class WorkingDirConf(SearchPathPlugin):
    """Searches ``./conf`` (where gradkit runs) after gradkit's own configs: a user adds
    options to the groups and recipes there, but a file in the working folder never
    replaces gradkit's primary config or one of its options (:func:`shadowed` warns)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        conf = Path.cwd() / "conf"
        if conf.is_dir():
            search_path.append(provider="gradkit-cwd", path=f"file://{conf}")


def shadowed(conf: Path | None = None) -> list[str]:
    """Files in ``./conf`` that name one of gradkit's own configs with other content (they
    are not used); none when ``./conf`` is gradkit's own (an editable install's repo)."""
    from importlib.resources import as_file, files

    conf = conf or Path.cwd() / "conf"
    if not conf.is_dir():
        return []
    out = []
    try:
        with as_file(files("gradkit.conf")) as ours:
            if Path(ours).resolve() == conf.resolve():
                return []
            for f in sorted(conf.glob("*.yaml")) + sorted(conf.glob("*/*.yaml")):
                rel = f.relative_to(conf).as_posix()
                mine = Path(ours) / rel
                if mine.is_file() and mine.read_bytes() != f.read_bytes():
                    out.append(f"conf/{rel}")
    except OSError:
        return out
    return out


# -- the keys a config can have, for "did you mean" -----------------------------------------
def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]


def known_keys() -> dict[str, list[str]]:
    """Dotted key -> allowed sub-keys, for every group (all options of the group merged)."""
    keys: dict[str, list[str]] = {"": _fields(schema.TrainConfig)}
    for group, options in schema.SCHEMAS.items():
        names: list[str] = []
        for cls in options.values():
            names += [n for n in _fields(cls) if n not in names]
        keys[group] = names
    return keys


def _suggest(key: str) -> str | None:
    candidates = []
    for parent, subs in known_keys().items():
        candidates += [f"{parent}.{s}" if parent else s for s in subs]
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [c for c in candidates if c.rsplit(".", 1)[-1] == leaf and c != key]
    if same_leaf:  # lr=0.1 -> optimizer.lr, data.epochs=5 -> loop.epochs
        return same_leaf[0]
    match = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return match[0] if match else None


#: Hydra plugins gradkit's extras install: config group -> {choice: extra}
_PLUGIN_EXTRAS = {
    "hydra/launcher": {
        "joblib": "sweep",
        "submitit_local": "cluster",
        "submitit_slurm": "cluster",
    },
    "hydra/sweeper": {"optuna": "sweep"},
}

#: characters Hydra's override grammar cannot take bare, and how to write a delimiter
_DELIMITER_HINT = (
    "; a delimiter is written by name: data.delimiter=semicolon (or tab, comma, pipe, space)"
)


_TYPE_WORDS = {
    "Float": "a number",
    "Integer": "an integer",
    "Boolean": "true or false",
    "String": "a string",
}


def friendly_message(ex: BaseException) -> str | None:
    """A message for a config mistake, or None when ``ex`` is not one."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import (
        ConfigAttributeError,
        ConfigKeyError,
        MissingMandatoryValue,
        ValidationError,
    )

    chain = [ex]
    while chain[-1].__cause__ is not None:
        chain.append(chain[-1].__cause__)
    text = str(ex)

    if isinstance(ex, MissingConfigException):
        m = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
        options = sorted(set(ex.options or []))
        if m and m.group(2) in _PLUGIN_EXTRAS.get(m.group(1), {}):
            group, choice = m.group(1), m.group(2)
            extra = _PLUGIN_EXTRAS[group][choice]
            return (
                f"{group}={choice} needs Hydra's {choice} plugin, which is not installed: "
                f"pip install 'gradkit[{extra}]'"
            )
        if m and m.group(1).startswith("hydra/") and options:
            group, choice = m.group(1), m.group(2)
            kind = group.split("/")[1]
            return (
                f"{group}={choice} is not an installed {kind}; the choices are: "
                f"{', '.join(options)} (others come as Hydra plugins: pip install "
                f"hydra-{choice.split('_')[0]}-{kind})"
            )
        if m and options:
            group, choice = m.group(1), m.group(2)
            near = difflib.get_close_matches(choice, options, n=1)
            hint = f" (did you mean {group}={near[0]}?)" if near else ""
            return (
                f"{group}={choice} is not a choice for {group}{hint}; the choices are: "
                f"{', '.join(options)}"
            )
        m = re.search(r"Cannot find primary config '([^']+)'", text)
        if m:
            return f"no config named {m.group(1)!r}: {text.splitlines()[0]}"
        return text.split("\n\n")[0]
    if isinstance(ex, OverrideParseException):
        first = text.splitlines()[0] if text else repr(ex)
        hint = _DELIMITER_HINT if "delimiter" in first else ""
        if not hint and any(c in first for c in ";|&<>"):
            hint = "; quote the whole override for the shell and Hydra: 'key=\"a;b\"'"
        return f"could not read the command line ({first}){hint}"

    cause = chain[-1]
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and "not in" in str(cause):
        full = getattr(cause, "full_key", None) or ""
        m = re.search(r"Could not override '([^']+)'", text)
        wanted = m.group(1) if m else full
        parent = full.rsplit(".", 1)[0] if "." in full else ""
        obj = getattr(cause, "object_type", None)
        allowed = (
            _fields(obj)
            if isinstance(obj, type) and dataclasses.is_dataclass(obj)
            else (known_keys().get(parent, []))
        )
        if wanted.endswith("._target_") or wanted == "_target_":
            group = wanted.split(".")[0]
            return (
                f"the {group} config has no _target_ (the class to build); add a line such "
                f"as `_target_: mymodule.MyClass` to its YAML file in conf/{group}/"
            )
        near = _suggest(wanted)
        where = f"{parent} accepts" if parent else "The top-level keys are"
        hint = f" Did you mean {near}?" if near and near != wanted else ""
        return f"unknown key {wanted!r}.{hint} {where}: {', '.join(allowed)}"
    if isinstance(cause, ValidationError):
        full = getattr(cause, "full_key", "") or ""
        msg = str(cause).splitlines()[0]
        m = re.search(r"Invalid value '([^']*)', expected one of \[([^\]]*)\]", msg)
        if m:
            return f"{full} must be one of {m.group(2)}; got {m.group(1)!r}"
        m = re.search(r"Value '([^']*)' of type '\w+' could not be converted to (\w+)", msg)
        if m:
            kind = _TYPE_WORDS.get(m.group(2), m.group(2).lower())
            return f"{full} must be {kind}; got {m.group(1)!r}"
        return f"{full}: {msg}"
    if isinstance(cause, MissingMandatoryValue):
        full = getattr(cause, "full_key", "") or "a value"
        return f"{full} is required: set it on the command line, e.g. {full}=VALUE"
    m = re.search(r"Could not override '([^']+)'", text)
    if m:
        near = _suggest(m.group(1))
        hint = f" Did you mean {near}?" if near else ""
        return f"unknown key {m.group(1)!r}.{hint} The top-level keys are: " + ", ".join(
            known_keys()[""]
        )
    return None


def print_error(message: str) -> None:
    """``gradkit: error: <message>`` on stderr (colour on a terminal)."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]gradkit: error:[/] {escape(message)}"
    )


#: Hydra's switch that makes it raise an error to its caller instead of printing it
FULL_ERROR = "HYDRA_FULL_ERROR"


@contextlib.contextmanager
def errors_raised() -> Iterator[None]:
    """While the app runs, Hydra raises its errors to gradkit (``HYDRA_FULL_ERROR=1``)
    instead of printing them and exiting 1; the variable is restored afterwards."""
    saved = os.environ.get(FULL_ERROR)
    os.environ[FULL_ERROR] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(FULL_ERROR, None)
        else:
            os.environ[FULL_ERROR] = saved


def report(ex: Exception, full: bool = False) -> int | None:
    """Answer an error that came out of a Hydra app: print it and return the exit status,
    or None when it is to be raised as it is (``full``: the user set HYDRA_FULL_ERROR=1,
    so Hydra's full error is shown, not gradkit's message)."""
    from hydra.errors import HydraException

    from gradkit.errors import UserError
    from gradkit.runtime import signals

    if isinstance(ex, BrokenPipeError):
        return None
    if isinstance(ex, ValueError) and str(ex).startswith("Only one of"):
        print_error(f"{ex} (for example, -m and --cfg do not go together)")
        return 2
    if isinstance(ex, UserError):
        print_error(str(ex))
        return 2
    if signals.requested() and not full:
        # a stopping sweep: a launcher complaining about a worker stopped is expected
        sys.stderr.write(f"gradkit: the sweep stopped ({type(ex).__name__})\n")
        return signals.exit_status(signals.requested() or 0)
    message = None if full else friendly_message(ex)
    # a Hydra error is never the disk's (MissingConfigException is an OSError too)
    if message is None and isinstance(ex, OSError) and not isinstance(ex, HydraException):
        if isinstance(ex, (FileExistsError, NotADirectoryError)):
            print_error(
                f"{ex.filename} is a file, not a folder; name a folder for hydra.run.dir "
                "or hydra.sweep.dir"
            )
            return 2
        from .common import DISK_ERROR

        print_error(f"cannot write {ex.filename or 'a run file'}: {ex.strerror or ex}")
        return DISK_ERROR
    if message is None:
        if full:
            return None
        print_as_hydra(ex)
        return 1
    print_error(message)
    return 2


def print_as_hydra(ex: BaseException) -> None:
    """An error gradkit has no words for, as Hydra prints it without HYDRA_FULL_ERROR: a
    Hydra error's message, else the traceback from the job down (Hydra's frames above it
    and OmegaConf's below left out) and how to see it all."""
    import traceback

    from hydra.errors import CompactHydraException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(ex, CompactHydraException):
        sys.stderr.write(str(ex) + os.linesep)
        if isinstance(ex.__cause__, OmegaConfBaseException):
            sys.stderr.write(str(ex.__cause__) + os.linesep)
    else:
        frames = [f for f, _ in traceback.walk_tb(ex.__traceback__)]
        start = next((i + 1 for i, f in enumerate(frames) if f.f_code.co_name == "run_job"), 0)
        if not 0 < start < len(frames):  # not raised in a job: the whole traceback
            traceback.print_exception(type(ex), ex, ex.__traceback__)
            return
        end = next(
            (
                i
                for i in range(start + 1, len(frames))
                if str(frames[i].f_globals.get("__name__", "")).startswith("omegaconf.")
            ),
            len(frames),
        )
        shown = traceback.TracebackException(type(ex), ex, ex.__traceback__)
        shown.stack = traceback.StackSummary.from_list(shown.stack[start:end])
        sys.stderr.write("".join(shown.format()))
    sys.stderr.write(f"\nSet the environment variable {FULL_ERROR}=1 for a complete stack trace.\n")


def prepare() -> None:
    """Everything an app needs before ``@hydra.main`` runs (idempotent)."""
    from .rundir import register_resolver

    schema.register()
    register_resolver()
    Plugins.instance().register(WorkingDirConf)


def launch(name: str, task: Callable[[DictConfig], Any], args: list[str]) -> int:
    """Run ``gradkit NAME ARGS``: ``task`` as a Hydra app on ``conf/NAME.yaml``.  Hydra
    reads the arguments from ``sys.argv`` and names the job (and its log file) after
    ``task``'s module.  Returns the exit status (a sweep's: see :func:`sweep_status`;
    an error's: see :func:`report`)."""
    prepare()
    for f in shadowed():
        sys.stderr.write(
            f"gradkit: warning: {f} is not used: it has the name of one of gradkit's own "
            "configs, which a file in the working folder cannot replace; give it another "
            "name (./conf adds options to the groups and recipes)\n"
        )
    app = hydra.main(version_base="1.3", config_path="pkg://gradkit.conf", config_name=name)
    sys.argv = [f"gradkit {name}", *args]
    from . import callbacks

    full = os.environ.get(FULL_ERROR) == "1"
    try:
        with errors_raised():
            app(task)()
    except BaseException as ex:
        try:
            status = report(ex, full) if isinstance(ex, Exception) else None
        finally:
            callbacks.finish()  # a sweep stopped at once still writes what finished
        if status is None:
            raise
        return status
    return sweep_status()


def sweep_status() -> int:
    """0, or the status of a sweep that was stopped (128 + signal) or had failed jobs (2)."""
    from gradkit.runtime import signals

    from .callbacks import REFUSED, SWEEP

    if "dir" not in SWEEP:
        return 0
    if signals.requested():
        return signals.exit_status(signals.requested() or 0)
    failed = [r for r in SWEEP.get("rows", []) if str(r.get("status", "")).startswith("error")]
    jobs = [f"job {r.get('job')} ({r.get('status')})" for r in failed]
    with contextlib.suppress(OSError):
        jobs += (SWEEP["dir"] / REFUSED).read_text().splitlines()
    if jobs:
        print_error(f"{len(jobs)} job(s) of the sweep in {SWEEP['dir']} failed: {'; '.join(jobs)}")
        return 2
    return 0


def enum_value(v: Any) -> Any:
    """An Enum config value as its plain value."""
    return v.value if isinstance(v, Enum) else v
