"""Naming user code on the command line: one syntax everywhere, found from where gradkit runs.

``compare.manual=``, ``compare.function=``, ``gradcheck.target=`` and a model or data
YAML's ``_target_`` all take ``module.Name`` or ``module:Name`` (``pkg.module.Name`` /
``pkg.module:Name``); the current folder is searched first, so ``mymodule.py``
next to your data is found without installing it.  A name that cannot be
imported is one ``ConfigError`` (exit 2) saying what was looked for and where.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from gradkit.errors import ConfigError

__all__ = ["split_name", "locate", "model_target", "data_target"]


def split_name(spec: str, key: str) -> tuple[str, str]:
    """``(module, attribute)`` of ``module.Name`` or ``module:Name``."""
    spec = str(spec).strip()
    if ":" in spec:
        module, _, name = spec.partition(":")
    else:
        module, _, name = spec.rpartition(".")
    if not module or not name or not all(p.isidentifier() for p in [*module.split("."), name]):
        raise ConfigError(
            f"{key}={spec!r} does not name a class or function; write module.Name or "
            "module:Name (e.g. mymodule.MyClass, for a mymodule.py in the current folder)"
        )
    return module, name


def locate(spec: str, key: str) -> tuple[str, Any]:
    """The dotted path and the object that ``spec`` (``module.Name`` or ``module:Name``)
    names, imported with the current folder searched first."""
    module, name = split_name(spec, key)
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise ConfigError(
                f"{key}={spec!r}: no module {e.name!r} (looked in {here} and the installed "
                f"packages); put {e.name.split('.')[0]}.py in the folder you run gradkit from"
            ) from None
        raise ConfigError(f"{key}={spec!r}: importing {module} failed: {e}") from None
    except Exception as e:  # the user's module raised while importing
        raise ConfigError(
            f"{key}={spec!r}: importing {module} failed: {type(e).__name__}: {e}"
        ) from None
    if not hasattr(mod, name):
        public = sorted(n for n in vars(mod) if not n.startswith("_"))
        raise ConfigError(
            f"{key}={spec!r}: module {module} has no {name!r}; it defines: "
            f"{', '.join(public[:20]) or 'nothing public'}"
        )
    return f"{module}.{name}", getattr(mod, name)


def model_target(model_cfg: Any) -> str:
    """A model config's ``_target_``, or a ConfigError saying how to write one."""
    return _target(
        model_cfg,
        "model",
        "the class to build; add a line such as `_target_: gradkit.models.MLP` (or your own "
        "mymodule.MyNet), or start it with `defaults: [mlp]` to change a built-in model",
    )


def data_target(data_cfg: Any) -> str:
    """A data config's ``_target_``, or a ConfigError saying how to write one."""
    return _target(
        data_cfg,
        "data",
        "the loader to call; add a line such as `_target_: myloader.load` (a function of the "
        "config's other keys that returns x, y), or start it with `defaults: [csv]` to change "
        "a built-in data config",
    )


def _target(node: Any, group: str, how: str) -> str:
    target = node.get("_target_") if hasattr(node, "get") else None
    if target:
        return str(target)
    from hydra.core.hydra_config import HydraConfig

    choice = HydraConfig.get().runtime.choices.get(group, "?")
    raise ConfigError(
        f"{group}={choice}: the config (conf/{group}/{choice}.yaml) has no _target_, {how}"
    )
