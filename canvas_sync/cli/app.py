"""The root command: options shared by every subcommand and the one place errors are printed.

Errors print one sentence and exit with their class's code; a traceback only with --debug.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from canvas_sync import __version__
from canvas_sync.errors import CanvasSyncError
from canvas_sync.inert import InertLogFilter, inert

if TYPE_CHECKING:
    from rich.console import Console

    from canvas_sync.settings import Settings

__all__ = [
    "COMMAND_MODULES",
    "AppContext",
    "LazyGroup",
    "cli",
    "console",
    "handle_errors",
    "pass_app",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Width for output that is not a terminal (a pipe, a file): tables keep their natural width
#: instead of being cut to Rich's 80-column default ("Stud…", issue 12).
PIPE_WIDTH = 1000

#: Which module of canvas_sync.cli defines each command. A command's module (and with it the
#: service, SQLAlchemy, httpx, ...) is imported only when that command runs, so `--version`,
#: `--help` of one command and every command a TA types start quickly.
COMMAND_MODULES = {
    "daemon": "daemon_cmds",
    "trigger": "daemon_cmds",
    "status": "daemon_cmds",
    "dashboard": "daemon_cmds",
    "demo": "demo",
    "push": "push_cmds",
    "report": "review",
    "discrepancies": "review",
    "resolve": "review",
    "exempt": "review",
    "sync": "sync_cmds",
    "simulate": "sync_cmds",
    "db": "sync_cmds",
    "init": "sync_cmds",
    "user": "user_cmds",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (listed from COMMAND_MODULES)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"canvas_sync.cli.{module}")  # registers its commands
        return super().get_command(ctx, cmd_name)


@dataclass
class AppContext:
    config: str | None
    debug: bool
    verbose: bool
    out: Console
    err: Console

    def settings(self) -> Settings:
        from canvas_sync.settings import load_settings

        return load_settings(self.config)


pass_app = click.make_pass_decorator(AppContext)


def handle_errors(func: F) -> F:
    """Turn our exceptions into one line on stderr and the class's exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        app = ctx.find_object(AppContext)
        debug = bool(app and app.debug)
        try:
            return func(*args, **kwargs)
        except CanvasSyncError as exc:
            if debug:
                raise
            click.echo(f"Error: {inert(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing half-written was kept.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if debug:
                raise
            click.echo(
                f"Error: unexpected {type(exc).__name__}; rerun with --debug for details.",
                err=True,
            )
            ctx.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="canvas-sync")
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $CANVAS_SYNC_CONFIG or ./canvas-sync.toml).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("-v", "--verbose", is_flag=True, help="Log each request and retry.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool, verbose: bool) -> None:
    """Keep a Canvas course's reading-summary grades true to its syllabus.

    Example: canvas-sync --config config/cs598-s26.toml sync
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(InertLogFilter())
    ctx.obj = AppContext(config, debug, verbose, console(), console(stderr=True))


def console(*, stderr: bool = False) -> Console:
    """Rich's console, as wide as the terminal, or wide enough for any table when piped."""
    from rich.console import Console  # imported here: `--version` needs no Rich

    found = Console(stderr=stderr)
    return found if found.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)
