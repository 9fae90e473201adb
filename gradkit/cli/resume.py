"""``gradkit train resume=DIR``: continue a run exactly as it was configured.

The run's own overrides (``DIR/.hydra/overrides.yaml``) are replayed first, so the
config is the run's.  That file may come from anyone (a folder someone sent you),
so only overrides of gradkit's own config groups and keys are replayed: no
``hydra.*``, no ``+``/``~`` additions or deletions, no ``_target_`` (or any ``_``
key), no interpolation; anything else is refused, naming the file.

On the command line, only overrides that extend or observe the run may be added
(:data:`EXTEND`, and the loggers: ``logger=...``, ``logger.*``); any other change is
refused, naming its keys.  The saved loggers are not replayed (a tracker's address in a
folder someone sent you is not followed): give ``logger=`` again to log the rest of the
run.  A run that has nothing left to do says so and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gradkit.errors import UserError

__all__ = ["EXTEND", "ResumePlan", "plan_resume", "quote"]

#: overrides a resume accepts: they train longer or change what is logged, never the result
EXTEND = (
    "loop.steps",
    "loop.epochs",
    "loop.log_every",
    "loop.eval_every",
    "loop.checkpoint_every",
    "loop.progress",
    "loop.compile",  # a captured step gives eager's bits (tests/compile)
)
#: gradkit's config groups (choices) and the roots of its keys
GROUPS = ("model", "optimizer", "device", "data", "loop", "recipe")
#: what a group's option may be called (no path: ``recipe=../x`` would load any file)
_OPTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
#: the largest overrides.yaml read (a real one is a few hundred bytes)
_LIMIT = 64 * 1024
#: Hydra's command-line flags that take a value
_FLAGS_WITH_VALUE = {
    "-cp",
    "--config-path",
    "-cn",
    "--config-name",
    "-cd",
    "--config-dir",
    "-p",
    "--package",
    "-c",
    "--cfg",
    "-sc",
    "--shell-completion",
    "--experimental-rerun",
}


@dataclass
class ResumePlan:
    """What a resume hands Hydra, and what it tells the user first."""

    args: list[str]
    folder: Path  # the run folder resumed from
    checkpoint: Path
    replayed: list[str]
    in_place: bool
    nothing_to_do: str | None = None  # the message when the run is already complete


def quote(value: str) -> str:
    """``value`` as a single-quoted Hydra override value."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def split_overrides(args: list[str]) -> tuple[list[str], list[str]]:
    """(Hydra flags with their values, overrides)."""
    flags, overrides = [], []
    it = iter(args)
    for a in it:
        if a.startswith("-"):
            flags.append(a)
            if a in _FLAGS_WITH_VALUE:
                nxt = next(it, None)
                if nxt is not None:
                    flags.append(nxt)
        else:
            overrides.append(a)
    return flags, overrides


def _parse(text: str, where: str):  # -> hydra Override
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        return OverridesParser.create().parse_override(text)
    except OverrideParseException as e:
        raise UserError(f"{where}: cannot read the override {text!r}: {e}") from None


def _is_gradkit_key(key: str) -> bool:
    root = re.split(r"[./]", key, maxsplit=1)[0]
    if key == "seed":
        return True
    if root not in GROUPS or "/" in key:
        return False
    return not any(part.startswith("_") for part in key.split("."))


def _check_saved(text: str, file: Path) -> str:
    """A replayable override from ``file``, or a UserError naming it."""
    o = _parse(text, str(file))
    key = o.key_or_group
    why = None
    if o.type.name != "CHANGE":
        why = "it adds or deletes a key"
    elif o.package is not None:
        why = "it moves a config package"
    elif not _is_gradkit_key(key):
        why = f"{key!r} is not one of gradkit's settings"
    elif "${" in text or o.value_type is None or o.value_type.name != "ELEMENT":
        why = "its value is an interpolation or a sweep"
    elif key in GROUPS and not _OPTION.fullmatch(str(o.value())):
        why = "its value is not the name of an option (a path?)"
    if why:
        raise UserError(
            f"{file}: refusing to replay {text!r} ({why}); a resume replays only gradkit's own "
            f"settings ({', '.join(GROUPS)}, seed). Remove that line if you trust the rest"
        )
    return key


def _read_saved(file: Path) -> list[str]:
    from omegaconf import ListConfig, OmegaConf

    try:
        if file.is_symlink():
            raise UserError(f"{file} is a symbolic link; a resume reads only the run's own file")
        if file.stat().st_size > _LIMIT:
            raise UserError(f"{file} is too large to be a run's overrides ({_LIMIT} bytes at most)")
        data = OmegaConf.create(file.read_text(encoding="utf-8"))
    except UserError:
        raise
    except UnicodeDecodeError:
        raise UserError(f"{file} is not UTF-8 text; it is not a run's overrides file") from None
    except Exception as e:
        raise UserError(f"{file} cannot be read as a list of overrides: {e}") from None
    if not isinstance(data, ListConfig) or not all(isinstance(x, str) for x in data):
        raise UserError(f"{file} is not a list of overrides (key=value lines)")
    return [str(x) for x in data]


def _is_logger(override: str) -> bool:
    return re.split(r"[./=]", override.lstrip("+~"), maxsplit=1)[0] == "logger"


def _keys(overrides: list[str], where: str) -> dict[str, str]:
    return {_parse(o, where).key_or_group: o for o in overrides}


def _value(override: str) -> str:
    """The value of a ``key=value`` on the command line, unquoted as Hydra reads it."""
    return str(_parse(override, "the command line").value())


def plan_resume(args: list[str]) -> ResumePlan | None:
    """The arguments for Hydra when ``args`` resume a run (None when they do not)."""
    flags, overrides = split_overrides(args)
    given = [o for o in overrides if o.startswith("resume=")]
    if not given:
        return None
    from gradkit.train.checkpoint import find_checkpoint, read_meta

    from .rundir import same_folder

    if any(f in ("-m", "--multirun") for f in flags):
        raise UserError("resume= continues one run; it cannot be swept (drop -m)")
    target = _value(given[-1])
    checkpoint = find_checkpoint(target)
    meta = read_meta(checkpoint)
    folder = checkpoint.parent
    saved_file = folder / ".hydra" / "overrides.yaml"
    saved = _read_saved(saved_file) if saved_file.exists() or saved_file.is_symlink() else None
    replay: list[str] = []
    if saved is not None:
        for o in saved:
            if o.startswith("resume=") or _is_logger(o):
                continue
            _check_saved(o, saved_file)
            replay.append(o)
    mine = [o for o in overrides if not o.startswith("resume=")]
    run_dir = [o for o in mine if o.startswith("hydra.run.dir=")]
    mine = [o for o in mine if not o.startswith("hydra.run.dir=")]
    saved_keys = _keys(replay, str(saved_file))
    mine_keys = _keys(mine, "the command line")
    refused = [
        key
        for key, o in mine_keys.items()
        if not (key in EXTEND or _is_logger(o) or saved_keys.get(key) == o)
    ]
    if refused:
        without = "" if saved is not None else f" (and {saved_file} is missing)"
        raise UserError(
            f"resume={target} continues the run exactly as it was configured{without}; it "
            f"cannot change {', '.join(refused)}. A resume accepts only {', '.join(EXTEND)} "
            "(and logger=); "
            "to change anything else, start a new run"
        )
    replaced = set(mine_keys)
    if "loop.epochs" in mine_keys and "loop.steps" not in mine_keys:
        # training longer by epochs: the run's own loop.steps (which would win) gives way
        replaced.add("loop.steps")
        if meta.get("by_steps") and "loop.steps" not in saved_keys:
            raise UserError(
                f"resume={target}: this run's length is set by loop.steps in its config, so "
                "loop.epochs= cannot change it; give loop.steps=N instead"
            )
    replay_kept = [o for key, o in saved_keys.items() if key not in replaced]
    nothing = _nothing_to_do(checkpoint, meta, mine_keys, target)
    in_place = not run_dir or same_folder(_value(run_dir[-1]), folder)
    out = [*flags, *replay_kept, *mine, f"resume={quote(str(checkpoint))}"]
    out += run_dir or [f"hydra.run.dir={quote(str(folder))}"]
    return ResumePlan(out, folder, checkpoint, replay, in_place, nothing)


def _finished(folder: Path) -> bool:
    """The run wrote its final files (a crash between the last checkpoint and them: no)."""
    import json

    try:
        status = json.loads((folder / "result.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return False
    return status == "ok" and (folder / "params.npz").is_file()


def _new_total(meta: dict, keys: dict[str, str]) -> int | None:
    """The last step this resume trains to, when it can be told before the data is read."""
    total = meta.get("total")
    if "loop.steps" in keys:
        value = _parse(keys["loop.steps"], "the command line").value()
        return value if isinstance(value, int) else None
    if "loop.epochs" in keys:  # (a replayed loop.steps gave way to it)
        value = _parse(keys["loop.epochs"], "the command line").value()
        per_epoch = meta.get("steps_per_epoch")
        if not isinstance(value, int) or not isinstance(per_epoch, int):
            return None
        return max(1, value * per_epoch)
    return total


def _nothing_to_do(checkpoint: Path, meta: dict, mine: dict[str, str], target: str) -> str | None:
    """The message when the run is complete and this resume (``mine``: its overrides by
    key) asks for no more steps."""
    step = meta["position"]["step"]
    new_total = _new_total(meta, mine)
    if new_total is None:
        return None
    if new_total < step:
        raise UserError(
            f"{checkpoint} is already at step {step}, past the {new_total} steps this resume "
            "asks for; a resume can only train longer"
        )
    if new_total > step or not _finished(checkpoint.parent):
        return None  # steps to take, or a run that died before its final files: finish it
    return (
        f"{checkpoint.parent} is complete: its checkpoint is at step {step}, the last one "
        f"asked for; nothing to do. To train longer: gradkit train resume={target} "
        f"loop.steps={2 * step}"
    )
