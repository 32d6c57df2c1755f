"""The `canvas-sync` command line: thin commands over `service.py`.

Each command's module is imported when the command runs (`app.COMMAND_MODULES`), not here.
"""

from __future__ import annotations

from canvas_sync.cli.app import cli

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="canvas-sync")
