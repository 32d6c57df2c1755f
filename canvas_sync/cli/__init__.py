"""The `canvas-sync` command line: thin commands over `service.py`."""

from __future__ import annotations

from canvas_sync.cli import daemon_cmds, demo, push_cmds, review, sync_cmds, user_cmds
from canvas_sync.cli.app import cli

__all__ = ["cli", "main"]
_COMMAND_MODULES = (daemon_cmds, demo, push_cmds, review, sync_cmds, user_cmds)


def main() -> None:
    cli(prog_name="canvas-sync")
