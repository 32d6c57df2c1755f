"""report, discrepancies, resolve, exempt: what TAs review."""

from __future__ import annotations

import getpass
import io
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from canvas_sync import service
from canvas_sync.cli.app import PIPE_WIDTH, AppContext, cli, handle_errors, pass_app
from canvas_sync.errors import UsageError
from canvas_sync.files import write_private
from canvas_sync.inert import inert

if TYPE_CHECKING:
    from canvas_sync import report

__all__ = ["discrepancies_cmd", "exempt_cmd", "report_cmd", "resolve_cmd", "reviewer"]


def reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@cli.command("report")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to FILE instead of standard output.",
)
@click.option("--student", default=None, help="Only this student (Canvas id, SIS id or login).")
@pass_app
@handle_errors
def report_cmd(app: AppContext, fmt: str, output: str | None, student: str | None) -> None:
    """The grade and discrepancy report of the last sync.

    Example: canvas-sync report --format html --output report.html
    """
    # Imported here: the renderers (Jinja for HTML) are for this command only, not for every
    # command of this module (`user` imports `reviewer` from it) nor for `report --help`.
    from canvas_sync import report

    settings = app.settings()
    built = service.build_report(settings, student=student)
    if fmt == "table" and output is None:
        if student is not None:
            report.render_student(built, app.out, time_zone=settings.time_zone)
        report.render_table(built, app.out)
        return
    text = {
        "json": lambda: report.render_json(built),
        "csv": lambda: report.render_csv(built),
        "html": lambda: report.render_html(built, time_zone=settings.time_zone),
        "table": lambda: _table_text(built, settings.time_zone if student else None),
    }[fmt]()
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        write_private(Path(output), text)
    except OSError as exc:
        raise UsageError(
            f"Cannot write {output}: {exc.strerror}; choose another --output."
        ) from None
    click.echo(f"Wrote {fmt} report to {output}.")


def _table_text(built: report.Report, student_zone: str | None) -> str:
    from canvas_sync import report

    console = Console(record=True, width=PIPE_WIDTH, file=io.StringIO())
    if student_zone is not None:
        report.render_student(built, console, time_zone=student_zone)
    report.render_table(built, console)
    return console.export_text()


@cli.command("discrepancies")
@click.option(
    "--state",
    type=click.Choice(["open", "acknowledged", "resolved", "all"]),
    default="open",
    show_default=True,
    help="Which review state to list.",
)
@click.option("--severity", type=click.Choice(["error", "warning", "info"]), default=None)
@click.option("--kind", default=None, help="Only this kind, e.g. late_graded.")
@click.option("--student", default=None, help="Only this student (Canvas id, SIS id or login).")
@pass_app
@handle_errors
def discrepancies_cmd(
    app: AppContext, state: str, severity: str | None, kind: str | None, student: str | None
) -> None:
    """List what TAs should review: open discrepancies by default, errors first, with names.

    Example: canvas-sync discrepancies --severity error --student jdoe2
    """
    found = service.review_discrepancies(
        app.settings(),
        state=None if state == "all" else state,
        severity=severity,
        kind=kind,
        student=student,
    )
    which = "" if state == "all" else f" {state}"
    table = Table(title=f"{len(found.items)}{which} discrepancies")
    for column in ("id", "severity", "kind", "state", "student", "reading"):
        table.add_column(column, overflow="fold")
    table.add_column("canvas → expected")
    table.add_column("message", overflow="fold", min_width=30)
    for d in found.items:
        table.add_row(
            str(d.id),
            d.severity.value,
            d.kind.value,
            d.state,
            Text(inert(found.student(d))),
            Text(inert(found.reading(d))),
            Text(inert(f"{d.canvas_value or '-'} → {d.expected_value or '-'}")),
            Text(inert(d.message)),
        )
    app.out.print(table)


@cli.command("resolve")
@click.argument("discrepancy_id", type=int)
@click.option("--note", required=True, help="Why (kept with the discrepancy).")
@click.option("--ack", is_flag=True, help="Acknowledge only (keep it listed as acknowledged).")
@click.option(
    "--keep-canvas",
    is_flag=True,
    help="manual_override: keep the human's Canvas value (stored as an exemption).",
)
@click.option(
    "--reapply", is_flag=True, help="manual_override: the next push writes the policy value."
)
@pass_app
@handle_errors
def resolve_cmd(
    app: AppContext,
    discrepancy_id: int,
    note: str,
    ack: bool,
    keep_canvas: bool,
    reapply: bool,
) -> None:
    """Acknowledge or resolve a discrepancy with a note.

    For a manual_override, --keep-canvas accepts the human value and --reapply lets the next
    push write the policy value again.

    Example: canvas-sync resolve 12 --note "Checked with the student" --ack
    """
    if sum((ack, keep_canvas, reapply)) > 1:
        raise UsageError("Choose one of --ack, --keep-canvas and --reapply.")
    if keep_canvas or reapply:
        record = service.resolve_override(
            app.settings(), discrepancy_id, keep_canvas=keep_canvas, note=note, by=reviewer()
        )
    else:
        record = service.resolve_discrepancy(
            app.settings(), discrepancy_id, note=note, acknowledge=ack, by=reviewer()
        )
    click.echo(f"Discrepancy {record.id} ({record.kind.value}) is now {record.state}.")


@cli.command("exempt")
@click.argument("student")
@click.argument("reading")
@click.option("--reason", required=True, help="Why the late rule does not apply.")
@pass_app
@handle_errors
def exempt_cmd(app: AppContext, student: str, reading: str, reason: str) -> None:
    """Exempt a student's reading from the late rule (kept locally, respected by push).

    Example: canvas-sync exempt jdoe2 "LoRA" --reason "Documented illness (DRES)"
    """
    done = service.add_exemption(app.settings(), student, reading, reason=reason, by=reviewer())
    click.echo(inert(f"Student {done.student_id} is exempt from the late rule for {done.reading}."))
    if done.warning:
        click.echo(inert(f"Note: {done.warning}"))
    if done.at_risk_before and not done.at_risk_after:
        click.echo("The student is no longer at risk.")
    elif done.at_risk_after:
        click.echo("The student is still at risk.")
