"""``gradkit recipes``: the ready-made runs of ``recipes/`` (and of ``./conf/recipe``), with
how to run each and what it does.

A recipe is a YAML file whose first lines are::

    # @package _global_
    # <what it does, one line>
    # command: train | train -m | compare      (optional; train when absent)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["Recipe", "find_recipes", "main"]


@dataclass
class Recipe:
    name: str
    description: str
    command: str
    path: str

    @property
    def run_with(self) -> str:
        cmd, _, flags = self.command.partition(" ")
        return f"gradkit {cmd} {flags + ' ' if flags else ''}recipe={self.name}"


def _parse(name: str, text: str, path: str) -> Recipe:
    description, command = "", "train"
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if body.startswith("@package"):
            continue
        if body.startswith("command:"):
            command = body.split(":", 1)[1].strip()
        elif not description:
            description = body
    return Recipe(name, description, command, path)


def find_recipes() -> list[Recipe]:
    """The package's recipes, then ``./conf/recipe`` (which may shadow them), by name."""
    found: dict[str, Recipe] = {}
    pkg = resources.files("gradkit.conf") / "recipe"
    for entry in sorted(pkg.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            found[entry.name[:-5]] = _parse(entry.name[:-5], entry.read_text(), str(entry))
    local = Path.cwd() / "conf" / "recipe"
    if local.is_dir():
        for f in sorted(local.glob("*.yaml")):
            found[f.stem] = _parse(f.stem, f.read_text(), str(f))
    return sorted(found.values(), key=lambda r: r.name)


def main(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if args:
        sys.stderr.write(f"gradkit: error: gradkit recipes takes no arguments (got {args[0]!r})\n")
        return 2
    from rich.console import Console
    from rich.table import Table

    recipes = find_recipes()
    table = Table(title=f"{len(recipes)} recipes")
    table.add_column("recipe", style="bold")
    table.add_column("run with")
    table.add_column("what it does")
    for r in recipes:
        table.add_row(r.name, r.run_with, r.description)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 180))
    console.print(table)
    return 0
