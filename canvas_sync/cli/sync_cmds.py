"""sync, simulate and db: getting Canvas data in."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from canvas_sync import service
from canvas_sync.cli.app import AppContext, cli, handle_errors, pass_app
from canvas_sync.errors import UsageError
from canvas_sync.settings import canvas_access, database_url_only, load_settings

if TYPE_CHECKING:
    from canvas_sync.simulator import Simulator

__all__ = ["db_group", "init_cmd", "simulate_cmd", "sync_cmd"]

STEPS = ("course", "assignments", "students", "late policy", "submissions")


def run_sync(app: AppContext, *, full: bool, trigger: str = "manual") -> service.SyncSummary:
    settings = app.settings()
    if not app.err.is_terminal:
        return service.sync(settings, full=full, trigger=trigger)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=app.err, transient=True) as bar:
        task = bar.add_task("Pulling from Canvas", total=len(STEPS) + 1)

        def step(name: str) -> None:
            done = STEPS.index(name) if name in STEPS else 0
            bar.update(task, completed=done, description=f"Pulling {name}")

        summary = service.sync(settings, full=full, trigger=trigger, progress=step)
        bar.update(task, completed=len(STEPS) + 1)
    return summary


@cli.command("sync")
@click.option("--full", is_flag=True, help="Pull everything, ignoring the watermarks.")
@pass_app
@handle_errors
def sync_cmd(app: AppContext, full: bool) -> None:
    """Pull the course from Canvas now, then evaluate policy and discrepancies.

    Example: CANVAS_TOKEN=... canvas-sync --config config/cs598-s26.toml sync
    """
    summary = run_sync(app, full=full)
    click.echo(summary.line())


@cli.command("simulate")
@click.option("--port", type=click.IntRange(0, 65535), default=8900, show_default=True)
@click.option("--students", type=click.IntRange(1, 100_000), default=40, show_default=True)
@click.option("--latency-ms", type=click.IntRange(0, 60_000), default=0, show_default=True)
@click.option(
    "--faults",
    default="0",
    show_default=True,
    help="Share of API requests that fail (5xx, stall or throttling 403), 0 to 1; or `push`: "
    "8% of reads 5xx, 5% throttled, 25% of writes fail (most after Canvas acted), two stalls.",
)
@click.option(
    "--job-delay",
    type=click.FloatRange(0.0, 3600.0),
    default=None,
    help="Run queued bulk jobs in the background this many seconds after they are queued "
    "(default: a job advances when its progress is polled).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --faults.")
@click.option(
    "--token",
    envvar="CANVAS_TOKEN",
    default="sim-token",
    show_default=True,
    help="The token the simulator accepts (or $CANVAS_TOKEN).",
)
@click.option(
    "--drop-link-header",
    is_flag=True,
    help="Act like a proxy that strips Link headers (lists look one page long).",
)
@click.option(
    "--old-limits",
    is_flag=True,
    help="Act like an older Canvas: 50 rows a page and 50 student_ids a request.",
)
@handle_errors
def simulate_cmd(
    port: int,
    students: int,
    latency_ms: int,
    faults: str,
    job_delay: float | None,
    seed: int,
    token: str,
    drop_link_header: bool,
    old_limits: bool,
) -> None:
    """Run the bundled Canvas simulator with the CS 598 course until Ctrl-C.

    Example: canvas-sync simulate --port 8900 --students 300 --faults 0.1 --seed 7
    """
    from canvas_sync.simulator import Simulator

    rate, profile = _fault_option(faults)
    sim = Simulator(
        students=students,
        latency_ms=latency_ms,
        fault_rate=rate,
        fault_seed=seed,
        token=token,
        fault_profile=profile,
        stall_seconds=6.0 if profile else 2.0,
        job_delay=job_delay,
    )
    sim.drop_link_header = drop_link_header
    if old_limits:
        sim.state.api_limit = 50
    url = sim.start(port=port)
    click.echo(f"Canvas simulator at {url} (course {sim.course_id}): {_roster(sim)}.")
    click.echo("Use it with CANVAS_URL set to that address and CANVAS_TOKEN set to its token.")
    try:
        sim.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def _roster(sim: Simulator) -> str:
    """How many of the simulated students canvas-sync grades, and why not the others: a real
    course has inactive and invited enrollments and Canvas's test student too."""
    enrolled = [e for e in sim.state.enrollments.values() if e.type == "StudentEnrollment"]
    graded = sum(1 for e in enrolled if e.state in ("active", "completed"))
    ignored = Counter(e.state for e in enrolled if e.state not in ("active", "completed"))
    why = ", ".join(f"{n} {state}" for state, n in sorted(ignored.items()))
    text = f"{len(enrolled)} students, of whom canvas-sync grades {graded}"
    return text + (
        f" (it ignores {why} enrollment{'s' if sum(ignored.values()) > 1 else ''}"
        " and Canvas's test student)"
        if why
        else " (and ignores Canvas's test student)"
    )


def _fault_option(value: str) -> tuple[float, str | None]:
    """`--faults`: a share between 0 and 1, or a profile name."""
    from canvas_sync.simulator.throttle import PROFILES

    if value in PROFILES:
        return 0.0, value
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise UsageError(
            f"--faults must be a number from 0 to 1 or one of: {', '.join(PROFILES)} "
            f"(got {value!r})."
        )
    return rate, None


@cli.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@pass_app
@handle_errors
def db_upgrade_cmd(app: AppContext) -> None:
    """Apply migrations (also done automatically on first use).

    Example: CANVAS_SYNC_DATABASE_URL=postgresql+psycopg://user@host/db canvas-sync db upgrade
    """
    where = service.upgrade_database(database_url_only(app.config))
    click.echo(f"Database at {where} is up to date.")


@cli.command("init")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default="canvas-sync.toml",
    show_default=True,
    help="Where to write the config.",
)
@click.option(
    "--group",
    default="Reading Summaries",
    show_default=True,
    help="The assignment group holding the readings.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option(
    "--create-targets",
    is_flag=True,
    help="Also create the total assignment and the gradebook column in Canvas.",
)
@handle_errors
def init_cmd(output: str, group: str, force: bool, create_targets: bool) -> None:
    """Write a config for a course, discovering its reading assignments in Canvas.

    Reads CANVAS_URL, CANVAS_TOKEN and CANVAS_COURSE_ID from the environment.

    Example: CANVAS_URL=https://canvas.example.edu CANVAS_COURSE_ID=12345 canvas-sync init
    """
    url, token, course_id = canvas_access()
    path = Path(output)
    # service.setup (httpx, the Canvas client) loads here: only `init` needs it.
    found = service.setup.write_config(path, url, token, course_id, group=group, force=force)
    click.echo(
        f"Wrote {path}: {found.name}, {len(found.readings)} readings from the group "
        f"{found.group!r}, time zone {found.time_zone}. Review the lecture dates and policy."
    )
    for warning in service.setup.due_time_warnings(found):
        click.echo(f"Warning: {warning}")
    if create_targets:
        targets = service.ensure_targets(load_settings(path))
        made = ", ".join(targets.created) or "nothing (both exist)"
        click.echo(f"Created in Canvas: {made}.")
