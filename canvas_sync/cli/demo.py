"""demo: the whole loop on the bundled simulator and a fresh SQLite file, no Canvas account."""

from __future__ import annotations

import secrets
import sys
import time
from dataclasses import replace
from pathlib import Path

import click

from canvas_sync import report, service
from canvas_sync.cli.app import AppContext, cli, handle_errors, pass_app
from canvas_sync.cli.push_cmds import render_plan
from canvas_sync.files import write_private
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
        _demo_push(app, settings)
        # After the push, so the reports show what the database and dashboard show from now on.
        built = service.build_report(settings)
        report.render_table(built, app.out, max_discrepancies=15)
        html = out / "report.html"
        write_private(html, report.render_html(built, time_zone=settings.time_zone))
        write_private(out / "report.json", report.render_json(built))
    click.echo(f"Database: {database}")
    click.echo(f"HTML report: {html}  (open it in a browser)")
    click.echo(f"JSON report: {out / 'report.json'}")
    config = f"{_command()} --config {shipped_config()}"
    click.echo(
        f"Web app on this database: export CANVAS_SYNC_DATABASE_URL=sqlite:///{database}; "
        f"{config} user add prof --role instructor; {config} dashboard"
    )


def _command() -> str:
    """This install's `canvas-sync`, by path: the virtualenv is usually not on PATH."""
    beside = Path(sys.executable).with_name("canvas-sync")
    return str(beside) if beside.is_file() else "canvas-sync"


def _demo_push(app: AppContext, settings: Settings) -> None:
    """Push as `push --yes` would, show what changed, then show a second push writes nothing.

    The demo course keeps a Canvas Late Policy (the late_policy_conflict in its report), which
    stops a real push; the demo says so and pushes anyway, as push.allow_canvas_late_policy does.
    """
    click.echo(
        "The demo course's Canvas Late Policy also deducts from late work (late_policy_conflict): "
        "a real push stops until it is turned off; the demo pushes as with "
        "push.allow_canvas_late_policy = true."
    )
    settings = replace(settings, allow_canvas_late_policy=True)
    started = time.monotonic()
    first = service.push(settings, poll_interval=0.05)  # the simulator answers at once
    render_plan(first.plan, app.out, max_rows=15)
    for what in first.created:
        click.echo(f"Created {what}.")
    click.echo(first.line())
    click.echo(
        f"The push step took {time.monotonic() - started:.1f} s of wall-clock time in all "
        "(pull, plan, writes, verification and showing the plan)."
    )
    again = service.push(settings, poll_interval=0.05)
    click.echo(
        f"Second push: {again.planned} changes, {again.write_requests} write requests "
        "(Canvas already holds the policy's grades)."
    )
    after = service.sync(settings, trigger="demo")
    sev = after.open_by_severity
    click.echo(
        f"Sync after the push: open discrepancies: {sev.get('error', 0)} error, "
        f"{sev.get('warning', 0)} warning, {sev.get('info', 0)} info."
    )
