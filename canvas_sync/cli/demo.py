"""demo: the whole loop on the bundled simulator and a fresh SQLite file, no Canvas account."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from canvas_sync import report, service
from canvas_sync.cli.app import AppContext, cli, handle_errors, pass_app
from canvas_sync.cli.push_cmds import render_plan
from canvas_sync.settings import Settings, load_settings, shipped_config

__all__ = ["demo_cmd"]


@cli.command("demo")
@click.option("--students", type=click.IntRange(1, 5000), default=40, show_default=True)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default="canvas-sync-demo",
    show_default=True,
    help="Where the demo database and reports go.",
)
@pass_app
@handle_errors
def demo_cmd(app: AppContext, students: int, directory: str) -> None:
    """Start the Canvas simulator with the CS 598 course, sync, report, and push grades.

    Example: canvas-sync demo --students 40
    """
    from canvas_sync.simulator import Simulator

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    database = out / "demo.db"
    database.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)  # a throwaway token known only to this process
    with Simulator(students=students, token=token) as sim:
        env = {
            "CANVAS_URL": sim.base_url,
            "CANVAS_TOKEN": token,
            "CANVAS_COURSE_ID": str(sim.course_id),
            "CANVAS_SYNC_DATABASE_URL": f"sqlite:///{database}",
        }
        settings = load_settings(shipped_config(), env=env)
        click.echo(f"Canvas simulator running at {sim.base_url} (course {sim.course_id}).")
        summary = service.sync(settings, full=True, trigger="demo")
        click.echo(summary.line())
        again = service.sync(settings, trigger="demo")
        click.echo(f"Second sync with nothing changed: {again.requests} requests.")
        built = service.build_report(settings)
        report.render_table(built, app.out, max_discrepancies=15)
        html = out / "report.html"
        html.write_text(report.render_html(built, time_zone=settings.time_zone), encoding="utf-8")
        (out / "report.json").write_text(report.render_json(built), encoding="utf-8")
        _demo_push(app, settings)
    click.echo(f"Database: {database}")
    click.echo(f"HTML report: {html}  (open it in a browser)")
    click.echo(f"JSON report: {out / 'report.json'}")
    config = f"canvas-sync --config {shipped_config()}"
    click.echo(
        f"Web app on this database: export CANVAS_SYNC_DATABASE_URL=sqlite:///{database}; "
        f"{config} user add prof --role instructor; {config} dashboard"
    )


def _demo_push(app: AppContext, settings: Settings) -> None:
    """Push as `push --yes` would, show what changed, then show a second push writes nothing."""
    first = service.push(settings, poll_interval=0.05)  # the simulator answers at once
    render_plan(first.plan, app.out, max_rows=15)
    for what in first.created:
        click.echo(f"Created {what}.")
    click.echo(first.line())
    again = service.push(settings, poll_interval=0.05)
    click.echo(
        f"Second push: {again.planned} changes, {again.write_requests} write requests "
        "(Canvas already holds the policy's grades)."
    )
