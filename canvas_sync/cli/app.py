"""The root command: options shared by every subcommand and the one place errors are printed.

Errors print one sentence and exit with their class's code; a traceback only with --debug.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console

from canvas_sync import __version__
from canvas_sync.errors import CanvasSyncError
from canvas_sync.inert import InertLogFilter, inert
from canvas_sync.settings import Settings, load_settings

__all__ = ["AppContext", "cli", "console", "handle_errors", "pass_app"]

F = TypeVar("F", bound=Callable[..., Any])

#: Width for output that is not a terminal (a pipe, a file): tables keep their natural width
#: instead of being cut to Rich's 80-column default ("Stud…", issue 12).
PIPE_WIDTH = 1000


@dataclass
class AppContext:
    config: str | None
    debug: bool
    verbose: bool
    out: Console
    err: Console

    def settings(self) -> Settings:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    found = Console(stderr=stderr)
    return found if found.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)
