"""push: show the plan, ask, apply; the whole plan as CSV with --output (docs in README
"Pushing grades to Canvas")."""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from canvas_sync import service
from canvas_sync.cli.app import AppContext, cli, handle_errors, pass_app
from canvas_sync.errors import UsageError
from canvas_sync.inert import inert

if TYPE_CHECKING:
    # Only a type here: importing canvas_sync.push loads SQLAlchemy (its journal), which
    # `push --help` does not need.
    from canvas_sync.push import PushPlan

__all__ = ["plan_csv", "push_cmd", "render_plan"]

#: Rows shown before the table is cut (the totals line still counts everything; --all shows all).
MAX_ROWS = 200
_CSV_HEADER = ("student_id", "student", "target", "reading", "from", "to", "why", "comment")


def _one_line(text: str | None) -> str:
    return "-" if text is None else " ".join(text.split())


def render_plan(plan: PushPlan, out: Console, *, max_rows: int | None = MAX_ROWS) -> None:
    """The plan as a table (student, reading, from → to, why) and its totals."""
    table = Table(title=f"{len(plan.actions)} planned changes")
    for column in ("student", "reading", "from → to", "why", "comment"):
        table.add_column(column)
    for action in plan.actions[:max_rows]:
        table.add_row(
            Text(inert(f"{action.student_name} ({action.student_id})")),
            Text(inert(action.label or action.target.value)),
            Text(inert(f"{_one_line(action.from_value)} → {_one_line(action.to_value)}")),
            Text(inert(action.reason)),
            "yes" if action.comment else "",
        )
    if plan.actions:
        out.print(table)
    if max_rows is not None and len(plan.actions) > max_rows:
        out.print(
            f"… and {len(plan.actions) - max_rows} more changes "
            "(--all shows them, --output FILE writes the whole plan)."
        )
    kinds = Counter(a.target.value for a in plan.actions)
    out.print(
        f"Totals: {kinds['grade']} reading grades, {kinds['total']} totals, "
        f"{kinds['column']} column entries, {plan.comments} comments; "
        f"{len(plan.overrides)} manual overrides left alone."
    )
    for fact in plan.overrides:
        out.print(
            Text(inert(f"Manual override: student {fact.student_id}: {fact.finding().message}"))
        )
    for note in plan.notes:
        out.print(Text(inert(note)))


def plan_csv(plan: PushPlan) -> str:
    """Every planned change, one row each: what the dry run shows, without the cut."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_CSV_HEADER)
    for a in plan.actions:
        writer.writerow(
            [
                a.student_id,
                a.student_name,
                a.target.value,
                a.label or a.target.value,
                "" if a.from_value is None else a.from_value,
                a.to_value,
                a.reason,
                a.comment or "",
            ]
        )
    return buffer.getvalue()


def _write_plan(plan: PushPlan, output: str) -> None:
    try:
        Path(output).write_text(plan_csv(plan), encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(
            f"Cannot write {output}: {exc.strerror}; choose another --output."
        ) from None
    click.echo(f"Wrote the plan ({len(plan.actions)} changes) to {output}.")


def _show(app: AppContext, plan: PushPlan, output: str | None, show_all: bool) -> None:
    render_plan(plan, app.out, max_rows=None if show_all else MAX_ROWS)
    if output is not None:
        _write_plan(plan, output)


def _ask(app: AppContext, yes: bool, output: str | None, show_all: bool) -> service.PushSummary:
    def confirm(plan: PushPlan) -> bool:
        _show(app, plan, output, show_all)
        return yes or click.confirm("Write these changes to Canvas?", default=False)

    # With --yes nobody is asked: the cells to write are re-read while the plan is made.
    return service.push(app.settings(), confirm=confirm, reread_early=yes)


@cli.command("push")
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing to Canvas.")
@click.option("--yes", is_flag=True, help="Apply without asking (required without a terminal).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the whole plan to FILE as CSV, one row per change.",
)
@click.option("--all", "show_all", is_flag=True, help="Show every planned change, not the first.")
@pass_app
@handle_errors
def push_cmd(app: AppContext, dry_run: bool, yes: bool, output: str | None, show_all: bool) -> None:
    """Write the policy's grades to Canvas: zeros for late and missing work, totals, column.

    Pulls first, shows the plan, asks on a terminal, then applies it journaled and verified.
    A grade someone changed after canvas-sync wrote it is left alone (manual_override).

    Example: canvas-sync push --dry-run --output plan.csv
    """
    if not dry_run and not yes and not sys.stdin.isatty():
        raise UsageError("push needs --yes when not run from a terminal (or use --dry-run).")
    if dry_run:
        summary = service.push(app.settings(), dry_run=True)
        _show(app, summary.plan, output, show_all)
    else:
        summary = _ask(app, yes, output, show_all)
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
