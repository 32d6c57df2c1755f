"""House rules that code review would otherwise have to remember (STYLE.md practices 1, 2, 14)."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from canvas_sync.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "canvas_sync"

# module prefix -> imports it must not make (STYLE.md layout table)
FORBIDDEN = {
    "canvas_sync.errors": ["canvas_sync."],
    "canvas_sync.domain": ["canvas_sync.", "sqlalchemy", "httpx", "click"],
    "canvas_sync.settings": [
        "canvas_sync.canvas",
        "canvas_sync.db",
        "canvas_sync.policy",
        "canvas_sync.push",
    ],
    "canvas_sync.service": ["httpx", "click", "sqlalchemy"],
    "canvas_sync.canvas": [
        "canvas_sync.db",
        "canvas_sync.policy",
        "canvas_sync.push",
        "sqlalchemy",
    ],
    "canvas_sync.sync": ["httpx", "sqlalchemy", "canvas_sync.db"],
    "canvas_sync.db": ["canvas_sync.canvas", "canvas_sync.policy", "canvas_sync.push", "httpx"],
    "canvas_sync.policy": [
        "canvas_sync.canvas",
        "canvas_sync.db",
        "canvas_sync.sync",
        "canvas_sync.push",
        "canvas_sync.report",
        "canvas_sync.settings",
        "sqlalchemy",
        "httpx",
    ],
    "canvas_sync.report": ["canvas_sync.db", "canvas_sync.canvas", "sqlalchemy", "httpx"],
    "canvas_sync.simulator": [
        "canvas_sync.canvas",
        "canvas_sync.policy",
        "canvas_sync.sync",
        "canvas_sync.push",
    ],
    "canvas_sync.cli": ["canvas_sync.canvas", "canvas_sync.db", "sqlalchemy", "httpx"],
    "canvas_sync.web": [
        "canvas_sync.canvas",
        "canvas_sync.push",
        "canvas_sync.db",
        "canvas_sync.cli",
        "sqlalchemy",
        "httpx",
    ],
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _under(name: str, forbidden: str) -> bool:
    base = forbidden.rstrip(".")
    return (
        name.startswith(base + ".")
        if forbidden.endswith(".")
        else (name == base or name.startswith(base + "."))
    )


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_layers_import_only_downwards(module: str, path: Path) -> None:
    rules = [bad for prefix, bads in FORBIDDEN.items() if module.startswith(prefix) for bad in bads]
    offending = sorted({name for name in _imports(path) for bad in rules if _under(name, bad)})
    assert not offending, f"{module} must not import {offending}"


def test_every_package_declares_its_public_names() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        declared = any(
            isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
            for n in tree.body
        )
        assert declared, f"{init.relative_to(ROOT)} has no __all__"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the root group imports its commands lazily
        command = group.get_command(ctx, name)
        assert command is not None, name
        full = f"{prefix}{name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, full + " "))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(cli), ids=[n for n, _ in _commands(cli)])
def test_each_command_has_help_and_a_readme_mention(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert (command.help or "").strip(), f"{name} has no help text"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{name}" in readme or f"canvas-sync {name}" in readme, (
        f"README does not mention {name}"
    )
