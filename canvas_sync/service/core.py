"""Use cases: sync and evaluation (review.py has what TAs do with the result); each public
function is one thing a person asks for, and owns its transactions.

A sync is one transaction per course (SPEC §1, issue: "a failed sync leaves the previous good
state"): everything is pulled first (the submissions spooled to a temporary file, not held in
memory), then written, evaluated and committed at once.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from canvas_sync.canvas import CanvasClient, Limits
from canvas_sync.db import Database, Session, locks, records, repo
from canvas_sync.domain import Finding, Kind
from canvas_sync.errors import CanvasSyncError, ConfigError, DatabaseUnavailable
from canvas_sync.service._evaluation import (
    Evaluation,
    evaluate_in_batches,
    evaluate_stored,
    reading_rules,
)
from canvas_sync.service.overrides import SyncOverrides
from canvas_sync.settings import Settings
from canvas_sync.sync import (
    Pulled,
    SyncState,
    advance_watermarks,
    enrollment_keys,
    fingerprint,
    pull_course,
)

__all__ = [
    "Evaluation",
    "SyncSummary",
    "evaluate",
    "evaluate_stored",
    "make_client",
    "open_database",
    "sync",
    "upgrade_database",
]

# manual_override comes from the push journal (service/overrides.py), not the course data;
# unusable_record comes from the pull and is stored with the policy's findings.
POLICY_KINDS = tuple(k for k in Kind if k is not Kind.MANUAL_OVERRIDE)


@dataclass(frozen=True)
class SyncSummary:
    run_id: int
    mode: str
    students: int
    readings: int
    submissions: int
    changed: int
    requests: int
    seconds: float
    counted_points: float
    at_risk: int
    provisional: int
    open_by_severity: dict[str, int]
    # Included (student, reading) rows Canvas did not send, even when asked directly.
    unseen: int = 0

    def line(self) -> str:
        sev = self.open_by_severity
        unseen = (
            f" Not seen in Canvas: {self.unseen} submissions (left alone until seen)."
            if self.unseen
            else ""
        )
        return (
            f"Synced ({self.mode}): {self.students} students, {self.readings} readings, "
            f"{self.submissions} submissions, {self.changed} changed rows, "
            f"{self.requests} requests, {self.seconds:.1f} s. "
            f"At risk: {self.at_risk}, provisional totals: {self.provisional}. "
            f"Open discrepancies: {sev.get('error', 0)} error, {sev.get('warning', 0)} warning, "
            f"{sev.get('info', 0)} info.{unseen}"
        )


def _now() -> datetime:
    return datetime.now(UTC)


def open_database(settings: Settings) -> Database:
    database = Database(settings.database_url)
    database.ensure_schema()
    return database


def upgrade_database(url: str) -> str:
    database = Database(url)
    database.upgrade()
    database.dispose()
    return database.engine.url.render_as_string(hide_password=True)


def make_client(
    settings: Settings, *, on_event: Callable[[str, dict[str, object]], None] | None = None
) -> CanvasClient:
    """The Canvas client for a course; `on_event` hears retries and throttle waits (daemon logs)."""
    if not settings.token:
        raise ConfigError("No Canvas token: set CANVAS_TOKEN to an access token for the course.")
    return CanvasClient(
        settings.canvas_url,
        settings.token,
        timeout=settings.http_timeout,
        max_attempts=settings.max_attempts,
        concurrency=settings.concurrency,
        backoff_base=settings.backoff_base,
        backoff_max=settings.backoff_max,
        throttle_max_wait=settings.throttle_max_wait,
        limits=Limits(
            deadline=settings.request_deadline,
            max_response_bytes=int(settings.max_response_megabytes * 1024 * 1024),
            max_listing_bytes=int(settings.max_listing_megabytes * 1024 * 1024),
            max_listing_pages=settings.max_listing_pages,
        ),
        on_event=on_event,
    )


def _sync_state(database: Database, course_id: int) -> SyncState:
    with database.transaction() as session:
        row = repo.load_course_row(session, course_id)
        if row is None:
            return SyncState()
        students = repo.load_students(session, course_id)
        raws = repo.assignment_raws(session, course_id)
        return SyncState(
            has_course=True,
            submitted_watermark=row.submitted_watermark,
            graded_watermark=row.graded_watermark,
            reading_fingerprints={i: fingerprint(raw) for i, raw in raws.items()},
            known_student_ids=frozenset(s.id for s in students if s.included),
            known_pairs=repo.submission_pairs(session, course_id),
            students=tuple(students),
            enrollment_keys=enrollment_keys(repo.listed_enrollments(session, course_id)),
        )


def sync(
    settings: Settings,
    *,
    trigger: str = "manual",
    full: bool = False,
    progress: Callable[[str], None] | None = None,
    client: CanvasClient | None = None,
    now: Callable[[], datetime] = _now,
    lock_wait: float | None = None,
    lock: locks.LockHandle | None = None,
    collect: SyncOverrides | None = None,
) -> SyncSummary:
    """Pull now, then evaluate policy and discrepancies, all in one transaction (SPEC §5 `sync`).

    `collect` takes each batch of the evaluation as it is made and checks it for manual
    overrides (push passes the collection its plan is made from, instead of evaluating the
    course a second time); by default a `SyncOverrides` of the journal's last words.

    One sync per course at a time (SPEC §9): the course lock is held from reading the watermarks
    to recording the run's end, waiting up to `lock_wait` (default: schedule.lock_wait_seconds)
    for another process's sync, else `LockTimeout` naming the holder. A caller that already
    holds the course (push, around its own sync) passes its `lock`, which stays held.
    """
    database = open_database(settings)
    wait = settings.lock_wait_seconds if lock_wait is None else lock_wait
    try:
        if lock is not None:
            return _sync_locked(
                database, lock, settings, trigger, full, progress, client, now, collect
            )
        with locks.acquire(
            database, settings.course_id, wait_seconds=wait, zone=settings.zone
        ) as held:
            return _sync_locked(
                database, held, settings, trigger, full, progress, client, now, collect
            )
    finally:
        database.dispose()


def _sync_locked(
    database: Database,
    lock: locks.LockHandle,
    settings: Settings,
    trigger: str,
    full: bool,
    progress: Callable[[str], None] | None,
    client: CanvasClient | None,
    now: Callable[[], datetime],
    collect: SyncOverrides | None,
) -> SyncSummary:
    course_id = settings.course_id
    started = now()
    clock = time.monotonic()
    state = _sync_state(database, course_id)
    # The client first: a missing token is a configuration error, not a run that never ends.
    http = client or make_client(settings)
    try:
        run_id = _start_run(database, course_id, trigger, full, started)
        try:
            pulled = pull_course(
                http, course_id, state, reading_rules(settings), full=full, progress=progress
            )
            try:
                return _store_run(
                    database, lock, settings, run_id, pulled, started, clock, http, now, collect
                )
            finally:
                pulled.submissions.close()
        except BaseException as exc:
            _record_failure(database, run_id, exc, now(), http.request_count)
            raise
    finally:
        if client is None:
            http.close()


def _store_run(
    database: Database,
    lock: locks.LockHandle,
    settings: Settings,
    run_id: int,
    pulled: Pulled,
    started: datetime,
    clock: float,
    http: CanvasClient,
    now: Callable[[], datetime],
    collect: SyncOverrides | None,
) -> SyncSummary:
    """The writing transaction: store, evaluate, record the run `succeeded`, all in one commit.

    The lock is confirmed first (holding our lock row until the commit, so a process that takes
    the course over waits for us) and again just before the commit; a run is recorded
    `succeeded` only by the commit that stores it.
    """
    course_id = settings.course_id
    with database.transaction() as session:
        lock.confirm(session)
        changed = _save_pulled(session, course_id, pulled, started)
        pulled.let_go()
        tally = _evaluate_and_store(session, settings, pulled.findings, now, collect)
        open_counts = records.open_by_severity(session, course_id)
        seconds = time.monotonic() - clock
        summary = tally.summary(
            run_id, pulled.mode, changed, http.request_count, seconds, open_counts
        )
        records.finish_run(
            session,
            run_id,
            status="succeeded",
            now=now(),
            mode=pulled.mode,
            counts={
                "students": summary.students,
                "assignments": summary.readings,
                "submissions": summary.submissions,
                "changed": changed,
            },
            requests=http.request_count,
        )
        lock.confirm(session)
    return summary


def _evaluate_and_store(
    session: Session,
    settings: Settings,
    pulled_findings: list[Finding],
    now: Callable[[], datetime],
    collect: SyncOverrides | None = None,
) -> _Tally:
    """Evaluate the stored course a batch of students at a time and store each batch's
    findings as it comes (one batch's rows, results and findings are held at once), then the
    sync's manual overrides; the summary's figures."""
    tally = _Tally()
    moment = now()
    findings = records.FindingStore(session, settings.course_id, moment, kinds=POLICY_KINDS)
    overrides = collect if collect is not None else SyncOverrides.load(session, settings.course_id)
    total_id: int | None = None
    for batch in evaluate_in_batches(session, settings, moment):
        evaluation, total_id = batch.evaluation, batch.total_id
        tally.add(evaluation)
        findings.add(evaluation.findings)
        overrides.add(batch)
    # Records skipped by the pull are reported beside the policy's findings.
    findings.add(pulled_findings)
    findings.finish()
    overrides.store(session, settings, now(), total_id)
    return tally


def _start_run(
    database: Database, course_id: int, trigger: str, full: bool, started: datetime
) -> int:
    with database.transaction() as session:
        # We hold the course lock: a run still marked running was left by a dead process.
        records.interrupt_orphaned_runs(session, course_id, started)
        return records.start_run(
            session,
            course_id,
            trigger,
            "full" if full else "auto",
            started,
            socket.gethostname(),
            os.getpid(),
        )


def _record_failure(
    database: Database, run_id: int, exc: BaseException, now: datetime, requests: int
) -> None:
    """A failed run (an error) or an interrupted one (Ctrl-C, the daemon stopping)."""
    status = "failed" if isinstance(exc, Exception) else "interrupted"
    message = str(exc) if isinstance(exc, CanvasSyncError) else type(exc).__name__
    try:
        with database.transaction() as session:
            records.finish_run(
                session, run_id, status=status, now=now, requests=requests, error=message
            )
    except DatabaseUnavailable:
        # The database is gone: the run stays `running` and the next sync of the course records
        # it `interrupted`; the error that ended the run is the one to show.
        pass


def _save_pulled(session: Session, course_id: int, pulled: Pulled, started: datetime) -> int:
    """Store what a pull brought and move the watermarks; the number of rows that changed."""
    changed = repo.save_course(session, course_id, pulled.course, pulled.late_policy)
    changed += repo.save_groups(session, course_id, pulled.groups)
    changed += repo.save_assignments(session, course_id, pulled.assignments)
    if pulled.students is not None:
        changed += repo.save_students(session, course_id, pulled.students)
    # The spooled rows, a bounded batch at a time (`sync/spool.py`).
    for batch in pulled.submissions.batches():
        changed += repo.save_submissions(session, course_id, batch)
        advance_watermarks(pulled, batch)
    repo.set_watermarks(
        session,
        course_id,
        pulled.submitted_watermark,
        pulled.graded_watermark,
        started if pulled.mode == "full" else None,
    )
    return changed


class _Tally:
    """The summary's figures, added up batch by batch (`evaluate_in_batches`)."""

    def __init__(self) -> None:
        self.readings = 0
        self.submissions = 0
        self.at_risk = 0
        self.provisional = 0
        self.unseen = 0
        # (sortable name, id, points) per student: the points are summed in the policy's
        # order of students, so the float sum is the whole evaluation's to the last bit.
        self.points: list[tuple[str, int, float]] = []

    def add(self, evaluation: Evaluation) -> None:
        results = evaluation.results
        included = {r.student.id for r in results}
        readings = set(evaluation.readings.reading_ids)
        self.readings = len(readings)
        self.submissions += sum(
            1
            for s in evaluation.snapshot.submissions
            if s.student_id in included and s.assignment_id in readings
        )
        self.at_risk += sum(1 for r in results if r.at_risk)
        self.provisional += sum(1 for r in results if r.provisional)
        self.unseen += sum(r.unknown_count for r in results)
        self.points += [(r.student.sortable_name, r.student.id, r.points) for r in results]

    def summary(
        self,
        run_id: int,
        mode: str,
        changed: int,
        requests: int,
        seconds: float,
        open_counts: dict[str, int],
    ) -> SyncSummary:
        return SyncSummary(
            run_id=run_id,
            mode=mode,
            students=len(self.points),
            readings=self.readings,
            submissions=self.submissions,
            changed=changed,
            requests=requests,
            seconds=seconds,
            counted_points=sum(points for *_, points in sorted(self.points)),
            at_risk=self.at_risk,
            provisional=self.provisional,
            open_by_severity=open_counts,
            unseen=self.unseen,
        )


def evaluate(settings: Settings, *, now: datetime | None = None) -> Evaluation:
    """Evaluate the stored course without talking to Canvas (reports, push planning)."""
    database = open_database(settings)
    try:
        with database.transaction() as session:
            return evaluate_stored(session, settings, now or _now())
    finally:
        database.dispose()
