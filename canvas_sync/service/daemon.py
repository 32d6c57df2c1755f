"""Daemon use cases (SPEC §9): the jobs the scheduler runs, manual triggers, and `status`.

The scheduler (`scheduler/daemon.py`) only decides *when*; everything that touches the database
or Canvas is here. Every event is logged as one key=value line through `log_event`.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from canvas_sync.db import locks, records, repo, requests
from canvas_sync.db.records import RunRecord
from canvas_sync.db.requests import SyncRequest
from canvas_sync.errors import CanvasSyncError, ConfigError, LockTimeout
from canvas_sync.service.core import SyncSummary, make_client, open_database, sync
from canvas_sync.service.unstartable import record_unstartable
from canvas_sync.settings import Settings
from canvas_sync.sync import SyllabusReading, find_readings

__all__ = [
    "DAEMON_DIED",
    "DAEMON_STALE_SECONDS",
    "Stopping",
    "abandon",
    "after_due_times",
    "claim_requests",
    "default_holder",
    "due_instants",
    "format_event",
    "full_pull_due",
    "last_full_pull",
    "log_event",
    "record_daemon",
    "run_request",
    "run_sync_job",
    "unregister_daemon",
]

logger = logging.getLogger("canvas_sync.daemon")
default_holder = locks.default_holder

#: A daemon row whose heartbeat is older than this belongs to a dead process.
DAEMON_STALE_SECONDS = 60.0
#: Why a trigger whose daemon died mid-run failed.
DAEMON_DIED = (
    "The daemon that took this trigger stopped without finishing it (no heartbeat for "
    f"{DAEMON_STALE_SECONDS:g} s); trigger again or run 'canvas-sync sync'."
)


class Stopping(BaseException):
    """Raised inside a running sync when the daemon was told to stop (SIGTERM/SIGINT).

    A BaseException so no `except Exception` on the way swallows it: `sync()` rolls the
    transaction back and records the run as `interrupted`.
    """


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- structured logs ------------------------------------------------------------------------


def _value(value: object) -> str:
    text = _iso(value) if isinstance(value, datetime) else str(value)
    if text == "" or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    return text


def format_event(event: str, fields: dict[str, object]) -> str:
    """`event=NAME k=v ...`: one line, values quoted when they contain spaces or quotes."""
    parts = [f"event={event}"]
    parts += [f"{key}={_value(value)}" for key, value in fields.items() if value is not None]
    return " ".join(parts)


def log_event(event: str, level: int = logging.INFO, **fields: object) -> None:
    logger.log(level, "%s", format_event(event, fields))


def _client_events(course_id: int, stopping: threading.Event | None) -> Callable[..., None]:
    """The Canvas client's `on_event`: log retries and throttle waits; stop between attempts."""

    def hear(event: str, payload: dict[str, object]) -> None:
        log_event(f"canvas_{event}", logging.WARNING, course=course_id, **payload)
        if stopping is not None and stopping.is_set():
            raise Stopping

    return hear


# --- after-deadline runs --------------------------------------------------------------------


def after_due_times(due: Iterable[datetime], after_minutes: float, now: datetime) -> list[datetime]:
    """One run `after_minutes` after each distinct due instant still ahead of `now` (SPEC §9).

    Due instants are UTC (Canvas's `due_at`/`cached_due_date`, or the syllabus date already
    converted in the course zone), so DST needs no handling here: 23:59:59 Chicago is 05:59:59Z
    before 2026-03-08 and 04:59:59Z after it, and the run follows the instant.
    """
    delay = timedelta(minutes=after_minutes)
    return sorted({d.astimezone(UTC) + delay for d in due if d.astimezone(UTC) + delay > now})


def due_instants(settings: Settings) -> list[datetime]:
    """Distinct effective due instants of the course's readings, as Canvas reports them.

    The base `due_at`, every override's date (extensions, sections) and each submission's
    `cached_due_date` (the student's effective date): late work is caught after each of them.
    """
    database = open_database(settings)
    try:
        with database.transaction() as session:
            if repo.load_course_row(session, settings.course_id) is None:
                return []
            assignments = repo.load_assignments(session, settings.course_id)
            match = find_readings(
                assignments,
                repo.load_groups(session, settings.course_id),
                tuple(SyllabusReading(r.title, r.due_at) for r in settings.readings),
                group_name=settings.readings_group,
                match_titles=settings.match_titles,
                explicit_ids=settings.reading_ids,
                exclude_names=(settings.total_assignment, settings.total_column),
            )
            wanted = set(match.reading_ids)
            found: set[datetime] = set()
            for a in assignments:
                if a.id in wanted:
                    found.update(d for d in [a.due_at, *(o.due_at for o in a.overrides)] if d)
            for s in repo.load_submissions(session, settings.course_id, sorted(wanted)):
                if s.cached_due_date is not None:
                    found.add(s.cached_due_date)
            return sorted(found)
    finally:
        database.dispose()


# --- jobs -----------------------------------------------------------------------------------


def _recent_success(settings: Settings, within: float) -> RunRecord | None:
    database = open_database(settings)
    try:
        with database.transaction() as session:
            runs = records.last_runs(session, settings.course_id, limit=5)
    finally:
        database.dispose()
    cutoff = _now() - timedelta(seconds=within)
    return next(
        (r for r in runs if r.status == "succeeded" and r.finished_at and r.finished_at > cutoff),
        None,
    )


def last_full_pull(settings: Settings) -> datetime | None:
    """When the course's last successful full pull started (None: never)."""
    database = open_database(settings)
    try:
        with database.transaction() as session:
            row = repo.load_course_row(session, settings.course_id)
            return None if row is None else row.last_full_sync_at
    finally:
        database.dispose()


def full_pull_due(settings: Settings, now: datetime | None = None) -> bool:
    """A scheduled sync pulls everything when the last full pull is `schedule.full_pull_hours`
    old, or when the course never had one.

    Canvas does not move `graded_at` when a grade is cleared, work is un-excused, the late
    policy re-scores or due dates are recalculated (canvas-api.md §10 item 18), so the
    incremental since-filters never see those changes: only a full pull does.
    """
    last = last_full_pull(settings)
    if last is None:
        return True
    moment = now or _now()
    return moment - last.astimezone(UTC) >= timedelta(hours=settings.full_pull_hours)


def run_sync_job(
    settings: Settings,
    trigger: str,
    *,
    full: bool | None = None,
    lock_wait: float = 0.0,
    stopping: threading.Event | None = None,
    skip_if_recent: float | None = None,
) -> SyncSummary | None:
    """A scheduled sync: skipped (None) when the course is busy or was synced moments ago.

    `full` None: a full pull when one is due (`full_pull_due`), else incremental. Scheduled
    runs do not queue behind another process's sync (`lock_wait` 0): that process is doing
    the same work, which is how several daemons on one database split it (SPEC §9).
    """
    course = settings.course_id
    if full is None:
        full = full_pull_due(settings)
    if skip_if_recent is not None and not full:
        recent = _recent_success(settings, skip_if_recent)
        if recent is not None:
            log_event("run_skipped", course=course, trigger=trigger, reason="recent", run=recent.id)
            return None

    def step(name: str) -> None:
        if stopping is not None and stopping.is_set():
            raise Stopping
        log_event("run_step", logging.DEBUG, course=course, step=name)

    try:
        client = make_client(settings, on_event=_client_events(course, stopping))
    except ConfigError as exc:  # no token: say so in status, the dashboard and the log
        run = record_unstartable(settings, trigger, str(exc))
        log_event("run_not_started", logging.ERROR, course=course, run=run, error=str(exc))
        return None
    log_event("run_started", course=course, trigger=trigger, full=full)
    try:
        summary = sync(
            settings, trigger=trigger, full=full, progress=step, client=client, lock_wait=lock_wait
        )
    except LockTimeout as exc:
        log_event("run_skipped", course=course, trigger=trigger, reason="locked", detail=str(exc))
        return None
    except CanvasSyncError as exc:
        log_event("run_failed", logging.ERROR, course=course, trigger=trigger, error=str(exc))
        raise
    except Stopping:
        log_event("run_interrupted", logging.WARNING, course=course, trigger=trigger)
        raise
    finally:
        client.close()
    log_event(
        "run_finished",
        course=course,
        trigger=trigger,
        run=summary.run_id,
        mode=summary.mode,
        seconds=round(summary.seconds, 2),
        requests=summary.requests,
        changed=summary.changed,
    )
    _auto_push(settings)
    return summary


def _auto_push(settings: Settings) -> None:
    """Push after a sync when `push.auto` is on (SPEC §9; off by default)."""
    if not settings.push_auto:
        return
    try:
        push: Callable[[Settings], object] = importlib.import_module(
            "canvas_sync.service.pushing"
        ).auto_push
    except (ImportError, AttributeError):
        log_event("push_skipped", logging.WARNING, course=settings.course_id, reason="no push")
        return
    log_event("push_started", course=settings.course_id)
    try:
        result = push(settings)
    except CanvasSyncError as exc:
        log_event("push_failed", logging.ERROR, course=settings.course_id, error=str(exc))
        return
    line = getattr(result, "line", None)
    log_event(
        "push_finished",
        course=settings.course_id,
        result=line() if callable(line) else result,
    )


def claim_requests(
    settings_list: Sequence[Settings], claimer: str
) -> list[tuple[Settings, SyncRequest]]:
    """Claim every pending trigger for our courses (one query per database)."""
    by_url: dict[str, dict[int, Settings]] = {}
    for s in settings_list:
        by_url.setdefault(s.database_url, {})[s.course_id] = s
    claimed: list[tuple[Settings, SyncRequest]] = []
    for courses in by_url.values():
        database = open_database(next(iter(courses.values())))
        try:
            with database.transaction() as session:
                for request in requests.pending(session, sorted(courses)):
                    if requests.claim(session, request.id, claimer):
                        claimed.append((courses[request.course_id], request))
                        log_event("request_claimed", course=request.course_id, request=request.id)
        finally:
            database.dispose()
    return claimed


def run_request(
    settings: Settings, request: SyncRequest, *, stopping: threading.Event | None = None
) -> None:
    """Run a claimed trigger, waiting for the lock like a manual `sync`, and close the request."""
    started = _now()
    state, run_id, error = "failed", None, None
    log_event("run_started", course=settings.course_id, trigger="request", request=request.id)
    try:
        summary = sync(
            settings,
            trigger="request",
            full=request.full,
            client=make_client(settings, on_event=_client_events(settings.course_id, stopping)),
            progress=lambda _step: _check(stopping),
        )
        state, run_id = "done", summary.run_id
        log_event("run_finished", course=settings.course_id, trigger="request", run=run_id)
    except CanvasSyncError as exc:
        error = str(exc)
        log_event("run_failed", logging.ERROR, course=settings.course_id, error=error)
    except Stopping:
        error = "The daemon was stopped during the run; trigger again."
        log_event("run_interrupted", logging.WARNING, course=settings.course_id)
    except Exception as exc:  # reported to the person waiting on `trigger`, then logged
        error = f"unexpected {type(exc).__name__} in the daemon; see its log"
        log_event("run_failed", logging.ERROR, course=settings.course_id, error=repr(exc))
    finally:
        database = open_database(settings)
        try:
            with database.transaction() as session:
                if run_id is None:
                    run_id = requests.run_between(
                        session, settings.course_id, socket.gethostname(), os.getpid(), started
                    )
                requests.finish(
                    session, request.id, state=state, now=_now(), run_id=run_id, error=error
                )
        finally:
            database.dispose()
    if state == "done":
        _auto_push(settings)


def _check(stopping: threading.Event | None) -> None:
    if stopping is not None and stopping.is_set():
        raise Stopping


# --- the daemon's own rows ------------------------------------------------------------------


def _databases(settings_list: Sequence[Settings]) -> dict[str, list[Settings]]:
    found: dict[str, list[Settings]] = {}
    for s in settings_list:
        found.setdefault(s.database_url, []).append(s)
    return found


def record_daemon(
    settings_list: Sequence[Settings],
    holder: str,
    *,
    started_at: datetime,
    next_runs: Sequence[tuple[int, datetime, str]],
) -> None:
    """Heartbeat: this daemon is alive and will run these (course, when, kind) next."""
    for group in _databases(settings_list).values():
        ids = {s.course_id for s in group}
        runs = [
            {"course_id": c, "at": _iso(at), "kind": kind} for c, at, kind in next_runs if c in ids
        ]
        database = open_database(group[0])
        try:
            with database.transaction() as session:
                requests.upsert_daemon(
                    session,
                    holder,
                    started_at=started_at,
                    now=_now(),
                    course_ids=sorted(ids),
                    next_runs=runs,
                )
                # Triggers a dead daemon took would otherwise stay "running" for good.
                orphaned = requests.fail_orphaned(
                    session,
                    alive_since=_now() - timedelta(seconds=DAEMON_STALE_SECONDS),
                    error=DAEMON_DIED,
                    now=_now(),
                )
                if orphaned:
                    log_event("requests_orphaned", logging.WARNING, count=orphaned)
        finally:
            database.dispose()


def unregister_daemon(settings_list: Sequence[Settings], holder: str) -> None:
    """Clean stop: fail the triggers we claimed but never ran, and drop our row."""
    for group in _databases(settings_list).values():
        database = open_database(group[0])
        try:
            with database.transaction() as session:
                requests.fail_claimed_by(
                    session, holder, error="The daemon stopped before running it.", now=_now()
                )
                requests.remove_daemon(session, holder)
        finally:
            database.dispose()


def abandon(settings_list: Sequence[Settings], holder: str) -> None:
    """Hard stop (a run would not finish in time): record our runs as interrupted, free the
    course locks and triggers. The runs' own transactions die with the process, uncommitted."""
    host, pid = socket.gethostname(), os.getpid()
    for group in _databases(settings_list).values():
        database = open_database(group[0])
        try:
            with database.transaction() as session:
                for run_id in requests.running_runs(session, host, pid):
                    records.finish_run(
                        session, run_id, status="interrupted", now=_now(), error="Stopping"
                    )
            locks.clear_holder(database, locks.default_holder())  # what sync() holds locks as
        finally:
            database.dispose()
    unregister_daemon(settings_list, holder)
