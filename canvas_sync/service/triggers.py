"""Manual triggers and `status` (SPEC §9): asking a running daemon to sync, and what it is doing.

A trigger is a row in `sync_requests`, so it reaches a daemon on another machine that shares the
PostgreSQL database; the daemon's heartbeat row says what it will run next.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from canvas_sync.db import Session, locks, records, repo, requests
from canvas_sync.db.locks import LockInfo
from canvas_sync.db.records import RunRecord
from canvas_sync.db.requests import SyncRequest
from canvas_sync.service.core import open_database
from canvas_sync.service.daemon import DAEMON_DIED, DAEMON_STALE_SECONDS, log_event
from canvas_sync.settings import Settings

__all__ = ["CourseStatus", "NextRun", "RunOutcome", "StatusView", "status", "trigger"]


def _now() -> datetime:
    return datetime.now(UTC)


# --- trigger ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    """What became of a `canvas-sync trigger` request."""

    request_id: int
    course_id: int
    state: str  # pending | running | done | failed
    run: RunRecord | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.state in {"pending", "done"}

    def line(self) -> str:
        if self.state == "pending":
            return f"Sync requested for course {self.course_id} (request {self.request_id})."
        if self.state == "done" and self.run is not None:
            return f"Course {self.course_id}: {_run_line(self.run)}"
        return f"Course {self.course_id}: request {self.request_id} failed: {self.error}"


def _run_line(run: RunRecord) -> str:
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    return (
        f"run {run.id} ({run.trigger}, {run.mode}) {run.status} in {took:.1f} s: "
        f"{run.students} students, {run.submissions} submissions, {run.changed} changed rows, "
        f"{run.requests} requests."
    )


def trigger(
    settings: Settings,
    *,
    full: bool = False,
    wait: bool = True,
    pickup_timeout: float = 30.0,
    poll: float = 0.25,
    by: str | None = None,
) -> RunOutcome:
    """Ask a running daemon to sync now, through the database (works across machines).

    With `wait`, returns when the run finished; if no daemon claims the request within
    `pickup_timeout` seconds it is withdrawn and the outcome says so; if the daemon that took it
    dies mid-run (no heartbeat for DAEMON_STALE_SECONDS), it fails and the outcome says so.
    """
    database = open_database(settings)
    who = by or f"{socket.gethostname()}:{os.getpid()}"
    try:
        with database.transaction() as session:
            request_id = requests.enqueue(
                session, settings.course_id, by=who, full=full, now=_now()
            )
        log_event("request_queued", course=settings.course_id, request=request_id)
        if not wait:
            return RunOutcome(request_id, settings.course_id, "pending", None, None)
        deadline = time.monotonic() + pickup_timeout
        while True:
            with database.transaction() as session:
                found = requests.get(session, request_id)
                assert found is not None
                if found.state in {"done", "failed"}:
                    run = _run(session, settings.course_id, found.run_id)
                    return RunOutcome(request_id, found.course_id, found.state, run, found.error)
                give_up = _why_give_up(session, found, pickup_timeout, deadline)
                # Conditional: the daemon may take or finish the request at this very moment.
                if give_up is not None and requests.finish(
                    session,
                    request_id,
                    state="failed",
                    now=_now(),
                    error=give_up,
                    only_if=found.state,
                ):
                    return RunOutcome(request_id, found.course_id, "failed", None, give_up)
            time.sleep(poll)
    finally:
        database.dispose()


def _why_give_up(
    session: Session, found: SyncRequest, pickup_timeout: float, deadline: float
) -> str | None:
    """Why waiting on a request is pointless: nobody took it in time, or its daemon died."""
    if found.state == "pending" and time.monotonic() > deadline:
        return (
            f"no daemon picked it up within {pickup_timeout:g} s; start "
            "'canvas-sync daemon' on this database, or run 'canvas-sync sync'"
        )
    if found.state == "running" and found.claimed_by is not None:
        since = _now() - timedelta(seconds=DAEMON_STALE_SECONDS)
        if not requests.is_alive(session, found.claimed_by, since=since):
            return DAEMON_DIED
    return None


def _run(session: Session, course_id: int, run_id: int | None) -> RunRecord | None:
    if run_id is None:
        return None
    return next((r for r in records.last_runs(session, course_id, 50) if r.id == run_id), None)


# --- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextRun:
    at: datetime
    kind: str  # interval | after_due
    daemon: str


@dataclass(frozen=True)
class CourseStatus:
    course_id: int
    name: str
    runs: tuple[RunRecord, ...]
    next_runs: tuple[NextRun, ...]
    open_by_severity: dict[str, int]
    lock: LockInfo | None
    daemons: tuple[str, ...]
    triggers: tuple[SyncRequest, ...] = ()  # the latest trigger requests, newest first
    # Start of the last successful full pull (None: never), and when the daemon pulls in full
    # again (`schedule.full_pull_hours` later; now, if never).
    last_full_pull: datetime | None = None
    full_pull_due: datetime | None = None


@dataclass(frozen=True)
class StatusView:
    generated_at: datetime
    courses: tuple[CourseStatus, ...]


def status(settings_list: Sequence[Settings], *, runs: int = 5, upcoming: int = 5) -> StatusView:
    """Per course: last runs, next scheduled runs, open discrepancies, lock holder (SPEC §9)."""
    now = _now()
    found = []
    for settings in settings_list:
        database = open_database(settings)
        try:
            with database.transaction() as session:
                last = records.last_runs(session, settings.course_id, limit=runs)
                items = records.list_discrepancies(session, settings.course_id, state="open")
                triggers = requests.recent(session, settings.course_id, limit=runs)
                course_row = repo.load_course_row(session, settings.course_id)
                last_full = None if course_row is None else course_row.last_full_sync_at
                daemons = requests.live_daemons(
                    session, since=now - timedelta(seconds=DAEMON_STALE_SECONDS)
                )
            lock = locks.holder_of(database, settings.course_id)
        finally:
            database.dispose()
        serving = [d for d in daemons if settings.course_id in d.course_ids]
        nexts = sorted(
            (
                NextRun(datetime.fromisoformat(n["at"].replace("Z", "+00:00")), n["kind"], d.holder)
                for d in serving
                for n in d.next_runs
                if n.get("course_id") == settings.course_id
            ),
            key=lambda n: n.at,
        )
        counts = {"error": 0, "warning": 0, "info": 0}
        for item in items:
            counts[item.severity.value] = counts.get(item.severity.value, 0) + 1
        found.append(
            CourseStatus(
                settings.course_id,
                settings.course_name,
                tuple(last),
                tuple(nexts[:upcoming]),
                counts,
                lock,
                tuple(d.holder for d in serving),
                tuple(triggers),
                last_full,
                now if last_full is None else last_full + timedelta(hours=settings.full_pull_hours),
            )
        )
    return StatusView(now, tuple(found))
