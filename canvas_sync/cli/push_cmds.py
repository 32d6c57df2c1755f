"""push: show the plan, ask, apply (docs in README "Pushing grades to Canvas")."""

from __future__ import annotations

import sys
from collections import Counter

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from canvas_sync import service
from canvas_sync.cli.app import AppContext, cli, handle_errors, pass_app
from canvas_sync.errors import UsageError
from canvas_sync.push import PushPlan

__all__ = ["push_cmd", "render_plan"]

#: Rows shown before the table is cut (the totals line still counts everything).
MAX_ROWS = 200


def _one_line(text: str | None) -> str:
    return "-" if text is None else " ".join(text.split())


def render_plan(plan: PushPlan, out: Console, *, max_rows: int = MAX_ROWS) -> None:
    """The plan as a table (student, reading, from → to, why) and its totals."""
    table = Table(title=f"{len(plan.actions)} planned changes")
    for column in ("student", "reading", "from → to", "why", "comment"):
        table.add_column(column)
    for action in plan.actions[:max_rows]:
        table.add_row(
            escape(f"{action.student_name} ({action.student_id})"),
            escape(action.label or action.target.value),
            escape(f"{_one_line(action.from_value)} → {_one_line(action.to_value)}"),
            escape(action.reason),
            "yes" if action.comment else "",
        )
    if plan.actions:
        out.print(table)
    if len(plan.actions) > max_rows:
        out.print(f"… and {len(plan.actions) - max_rows} more changes.")
    kinds = Counter(a.target.value for a in plan.actions)
    out.print(
        f"Totals: {kinds['grade']} reading grades, {kinds['total']} totals, "
        f"{kinds['column']} column entries, {plan.comments} comments; "
        f"{len(plan.overrides)} manual overrides left alone."
    )
    for fact in plan.overrides:
        out.print(escape(f"Manual override: student {fact.student_id}: {fact.finding().message}"))
    for note in plan.notes:
        out.print(escape(note))


def _ask(app: AppContext, yes: bool) -> service.PushSummary:
    def confirm(plan: PushPlan) -> bool:
        render_plan(plan, app.out)
        return yes or click.confirm("Write these changes to Canvas?", default=False)

    return service.push(app.settings(), confirm=confirm)


@cli.command("push")
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing to Canvas.")
@click.option("--yes", is_flag=True, help="Apply without asking (required without a terminal).")
@pass_app
@handle_errors
def push_cmd(app: AppContext, dry_run: bool, yes: bool) -> None:
    """Write the policy's grades to Canvas: zeros for late and missing work, totals, column.

    Pulls first, shows the plan, asks on a terminal, then applies it journaled and verified.
    A grade someone changed after canvas-sync wrote it is left alone (manual_override).

    Example: canvas-sync push --dry-run
    """
    if not dry_run and not yes and not sys.stdin.isatty():
        raise UsageError("push needs --yes when not run from a terminal (or use --dry-run).")
    if dry_run:
        summary = service.push(app.settings(), dry_run=True)
        render_plan(summary.plan, app.out)
    else:
        summary = _ask(app, yes)
    for what in summary.created:
        click.echo(f"Created {what}.")
    if summary.reconciled.confirmed or summary.reconciled.superseded:
        click.echo(
            f"Reconciled an earlier push: {summary.reconciled.confirmed} confirmed, "
            f"{summary.reconciled.superseded} planned again."
        )
    if summary.planned and not summary.applied and not dry_run:
        click.echo("Nothing written.")
    for line in summary.dropped[:MAX_ROWS]:
        click.echo(f"Not written, changed in Canvas since the plan: {line}.")
    click.echo(summary.line())
