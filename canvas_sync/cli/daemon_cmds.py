"""daemon, trigger and status: running canvas-sync in the background (SPEC §9)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from canvas_sync import service
from canvas_sync.cli.app import AppContext, cli, handle_errors, pass_app
from canvas_sync.errors import UsageError
from canvas_sync.inert import inert

if TYPE_CHECKING:
    from canvas_sync.settings import Settings

__all__ = ["daemon_cmd", "dashboard_cmd", "status_cmd", "trigger_cmd"]


def _load(app: AppContext) -> list[Settings]:
    # Imported here: pydantic (the config's schema) is for commands that read the config, not
    # for their --help.
    from canvas_sync.settings import load_all_settings

    return load_all_settings(app.config)


def _courses(app: AppContext, course: int | None) -> list[Settings]:
    found = _load(app)
    if course is None:
        return found
    chosen = [s for s in found if s.course_id == course]
    if not chosen:
        ids = ", ".join(str(s.course_id) for s in found)
        raise UsageError(f"Course {course} is not in the config (it has {ids}); pick one of them.")
    return chosen


@cli.command("daemon")
@pass_app
@handle_errors
def daemon_cmd(app: AppContext) -> None:
    """Run the scheduler in the foreground until SIGTERM or Ctrl-C (for systemd or a container).

    Syncs every course in the config (and its `include`s) every schedule.interval_minutes, a few
    minutes after each reading's due time, and whenever `canvas-sync trigger` asks; one
    key=value log line per event on stderr (level from logging.level, or --verbose).

    Example: CANVAS_TOKEN=... canvas-sync --config config/cs598-s26.toml daemon
    """
    # APScheduler and Flask are imported by the commands that run them, not by `status`.
    from canvas_sync import scheduler

    courses = _load(app)
    level = "DEBUG" if app.verbose else courses[0].log_level
    scheduler.configure_logging(level, secrets=[s.token.reveal() for s in courses])
    code = scheduler.run_daemon(courses)
    raise SystemExit(code)


@cli.command("trigger")
@click.option("--full", is_flag=True, help="Pull everything, ignoring the watermarks.")
@click.option("--no-wait", is_flag=True, help="Queue the request and return at once.")
@click.option("--course", type=int, default=None, help="Course id (default: the config's first).")
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 3600),
    default=30.0,
    show_default=True,
    help="Seconds to wait for a daemon to pick the request up.",
)
@pass_app
@handle_errors
def trigger_cmd(
    app: AppContext, full: bool, no_wait: bool, course: int | None, timeout: float
) -> None:
    """Ask the running daemon to sync now and print the run's outcome when it finishes.

    Works across machines that share the daemon's PostgreSQL database.

    Example: canvas-sync --config config/cs598-s26.toml trigger --full
    """
    settings = _courses(app, course)[0]
    outcome = service.trigger(settings, full=full, wait=not no_wait, pickup_timeout=timeout)
    click.echo(inert(outcome.line()))
    if not outcome.ok:
        raise SystemExit(1)


@cli.command("status")
@click.option("--course", type=int, default=None, help="One course id (default: all).")
@pass_app
@handle_errors
def status_cmd(app: AppContext, course: int | None) -> None:
    """Show, per course: last runs, next scheduled runs, open discrepancies and the lock holder.

    Example: canvas-sync --config config/cs598-s26.toml status
    """
    chosen = _courses(app, course)
    zones = {s.course_id: s.zone for s in chosen}
    view = service.status(chosen)
    for item in view.courses:
        _print_course(app, item, zones[item.course_id])


@cli.command("dashboard")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8600, show_default=True)
@click.option("--course", type=int, default=None, help="One course id (default: all).")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Another host name browsers use to reach it (also web.allowed_hosts); repeatable.",
)
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="An HTTPS reverse proxy on this machine forwards requests (trust X-Forwarded-Proto).",
)
@pass_app
@handle_errors
def dashboard_cmd(
    app: AppContext,
    host: str,
    port: int,
    course: int | None,
    allow_hosts: tuple[str, ...],
    behind_proxy: bool,
) -> None:
    """Serve the review web app: TAs and the instructor sign in (create users with
    'canvas-sync user add'), review and resolve discrepancies, look at students and runs;
    the instructor also pushes grades and triggers syncs.

    It listens on 127.0.0.1 unless --host says otherwise and answers only to loopback names,
    the --host address, and the names given by --allow-host or web.allowed_hosts. Pushing needs
    CANVAS_TOKEN; everything else reads only the database.

    Example: canvas-sync --config config/cs598-s26.toml dashboard --port 8600
    """
    from canvas_sync import web

    web.serve(
        _courses(app, course),
        host=host,
        port=port,
        allowed_hosts=allow_hosts,
        behind_proxy=behind_proxy,
    )


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    """A time as people read it: in the course time zone, with CST/CDT (the log keeps UTC)."""
    return "-" if moment is None else f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}"


def _full_pull_line(item: service.CourseStatus, zone: ZoneInfo) -> str:
    """When everything was last pulled from Canvas, and when the daemon does it next."""
    if item.last_full_pull is None:
        return "Last full pull: never (the next scheduled sync pulls everything)."
    return (
        f"Last full pull: {_when(item.last_full_pull, zone)}; "
        f"the daemon pulls everything again from {_when(item.full_pull_due, zone)}."
    )


def _line(out: Console, text: str, style: str = "") -> None:
    """One line of data: control characters escaped, never read as Rich markup."""
    out.print(Text(inert(text), style=style))


def _print_course(app: AppContext, item: service.CourseStatus, zone: ZoneInfo) -> None:
    out = app.out
    _line(out, f"Course {item.course_id} {item.name}", style="bold")
    runs = Table(
        "run", "trigger", "pull", f"started ({zone.key})", "seconds", "outcome", "requests"
    )
    runs.add_column("changed")
    for run in item.runs:
        took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        cells = (
            str(run.id),
            run.trigger,
            run.mode,
            _when(run.started_at, zone),
            f"{took:.1f}" if took is not None else "-",
            run.status + (f": {run.error}" if run.error else ""),
            str(run.requests),
            str(run.changed),
        )
        runs.add_row(*(Text(inert(cell)) for cell in cells))
    out.print(runs if item.runs else Text("No runs yet."))
    _line(out, _full_pull_line(item, zone))
    if item.runs and item.runs[0].status == "failed":
        _line(out, f"Problem: the last run failed: {item.runs[0].error or 'no reason recorded'}")
    if item.next_runs:
        upcoming = ", ".join(f"{_when(n.at, zone)} ({n.kind})" for n in item.next_runs)
        _line(out, f"Next runs: {upcoming}")
    else:
        _line(out, "Next runs: none scheduled (no daemon is running for this course).")
    _line(out, f"Daemons: {', '.join(item.daemons) or 'none'}")
    if item.triggers:
        latest = item.triggers[0]
        _line(
            out,
            f"Latest trigger: request {latest.id} by {latest.requested_by} at "
            f"{_when(latest.requested_at, zone)}: {latest.state}"
            + (f" ({latest.error})" if latest.error else ""),
        )
    sev = item.open_by_severity
    _line(
        out,
        f"Open discrepancies: {sev.get('error', 0)} error, {sev.get('warning', 0)} warning, "
        f"{sev.get('info', 0)} info",
    )
    lock = item.lock
    held = f"held by {lock.holder} since {_when(lock.acquired_at, zone)}" if lock else "free"
    _line(out, f"Lock: {held}")
    out.print()
