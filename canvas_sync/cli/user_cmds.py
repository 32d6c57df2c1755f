"""user: who may sign in to the web app (`canvas-sync dashboard`), and with which role."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from canvas_sync import service
from canvas_sync.cli.app import AppContext, cli, handle_errors, pass_app
from canvas_sync.cli.review import reviewer
from canvas_sync.errors import UsageError

__all__ = ["user_group"]


def _password(from_stdin: bool) -> str:
    """From standard input (one line, for scripts) or a hidden prompt asked twice; never argv."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("No password on standard input; pipe one line into --password-stdin.")
        return line
    if not sys.stdin.isatty():
        raise UsageError("No terminal to ask for the password; use --password-stdin.")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _database(app: AppContext) -> service.accounts.Database:
    # Imported here, like the accounts (service.accounts, on first use): `user --help` needs
    # neither pydantic nor SQLAlchemy.
    from canvas_sync.settings import database_url_only

    return service.accounts.accounts_database(database_url_only(app.config))


_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)


@cli.group("user")
def user_group() -> None:
    """Who may sign in to the web app: TAs review, the instructor also pushes and syncs."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["ta", "instructor"]), required=True)
@_STDIN
@pass_app
@handle_errors
def user_add_cmd(app: AppContext, name: str, role: str, password_stdin: bool) -> None:
    """Create a user; the password is asked for (twice, hidden) or read from standard input.

    Example: canvas-sync --config config/cs598-s26.toml user add prof --role instructor
    """
    database = _database(app)
    try:
        user = service.accounts.add_user(
            database, name, role, _password(password_stdin), by=reviewer()
        )
    finally:
        database.dispose()
    click.echo(f"Added {user.role} {user.name}.")


@user_group.command("list")
@pass_app
@handle_errors
def user_list_cmd(app: AppContext) -> None:
    """List the users and their roles.

    Example: canvas-sync user list
    """
    database = _database(app)
    try:
        users = service.accounts.list_users(database)
    finally:
        database.dispose()
    table = Table("name", "role", "created (UTC)", "API token")
    for user in users:
        table.add_row(
            escape(user.name),
            user.role,
            f"{user.created_at:%Y-%m-%d %H:%M}",
            "yes" if user.has_api_token else "no",
        )
    app.out.print(table if users else "No users yet; add one with 'canvas-sync user add'.")


@user_group.command("remove")
@click.argument("name")
@pass_app
@handle_errors
def user_remove_cmd(app: AppContext, name: str) -> None:
    """Remove a user; their browsers are signed out and their API token stops working.

    Example: canvas-sync user remove ta2
    """
    database = _database(app)
    try:
        service.accounts.remove_user(database, name, by=reviewer())
    finally:
        database.dispose()
    click.echo(f"Removed {name}.")


@user_group.command("passwd")
@click.argument("name")
@_STDIN
@pass_app
@handle_errors
def user_passwd_cmd(app: AppContext, name: str, password_stdin: bool) -> None:
    """Set a user's password (asked for, or from standard input); signs their browsers out.

    Example: canvas-sync user passwd ta1
    """
    database = _database(app)
    try:
        service.accounts.set_password(database, name, _password(password_stdin), by=reviewer())
    finally:
        database.dispose()
    click.echo(f"Password of {name} changed.")
