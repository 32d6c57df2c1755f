"""Push use cases (SPEC §4): plan, push, manual-override resolution, daemon hook.

A push: reconcile what an earlier push left open → make sure the total assignment and column
exist → pull (incremental sync, so the plan sees Canvas as it is now) → plan → store
`manual_override` findings → confirm → apply (journaled), storing the read-back as it arrives.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial

from canvas_sync.canvas import CanvasClient
from canvas_sync.db import Database, locks, records, repo
from canvas_sync.db import journal as jr
from canvas_sync.domain import DiscrepancyRecord, Kind, StudentResult
from canvas_sync.errors import PushFailed, UsageError
from canvas_sync.push import (
    ApplyResult,
    PushPlan,
    Reconciled,
    Target,
    apply_plan,
)
from canvas_sync.push.apply import Hook
from canvas_sync.service._push_io import (
    ADVANCE_WINDOW,
    DbJournal,
    EarlyRead,
    FreshRows,
    dropped_line,
    journaled_recheck,
    reconcile_open,
)
from canvas_sync.service._push_plan import (
    PlanSource,
    batch_keys,
    missing_targets,
    plan_changes,
    stored_blocker,
)
from canvas_sync.service.core import make_client, open_database, sync
from canvas_sync.service.targets import Targets, ensure_targets
from canvas_sync.settings import Settings

__all__ = [
    "PushSummary",
    "auto_push",
    "plan_push",
    "push",
    "resolve_override",
]

Clock = Callable[[], datetime]

#: The first wait before polling a bulk update's Progress (it doubles from there, up to the
#: client's MAX_POLL_INTERVAL): a course's update_grades job often ends within a second.
POLL_START = 0.2


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PushSummary:
    plan: PushPlan
    dry_run: bool
    applied: bool
    planned: int
    sent: int = 0
    confirmed: int = 0
    failed: int = 0
    unresolved: int = 0
    comments: int = 0
    write_requests: int = 0
    progress_polls: int = 0
    requests: int = 0
    seconds: float = 0.0
    reconciled: Reconciled = field(default_factory=Reconciled)
    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()  # changes not sent: Canvas changed since the plan
    rounds: int = 0
    left: tuple[str, ...] = ()  # what Canvas kept refusing

    def line(self) -> str:
        if not self.dry_run and not self.planned:
            return (
                f"Nothing to change: Canvas holds the policy's grades; 0 write requests "
                f"({self.requests} read requests), "
                f"{len(self.plan.overrides)} manual overrides left alone."
            )
        if self.dry_run or not self.applied:
            verb = "Dry run" if self.dry_run else "Not applied"
            return (
                f"{verb}: {self.planned} changes planned ({self.plan.comments} comments), "
                f"{len(self.plan.overrides)} manual overrides left alone; nothing written."
            )
        dropped = (
            f", {len(self.dropped)} dropped (changed in Canvas since the plan)"
            if self.dropped
            else ""
        )
        return (
            f"Pushed: {self.planned} planned, {self.sent} sent, {self.confirmed} confirmed, "
            f"{self.failed} failed{dropped}; {self.comments} comments posted; "
            f"{self.write_requests} write requests + {self.progress_polls} progress polls in "
            f"{self.rounds} round{'s' if self.rounds != 1 else ''} "
            f"({self.requests} requests in all), {self.seconds:.1f} s."
        )


def _stored_total(settings: Settings, database: Database) -> int | None:
    """The total assignment's id as the last sync stored it (published), if any."""
    with database.transaction() as session:
        assignments = repo.load_assignments(session, settings.course_id)
    return next(
        (a.id for a in assignments if a.name == settings.total_assignment and a.published),
        None,
    )


def _store_overrides(database: Database, course_id: int, plan: PushPlan, now: datetime) -> None:
    with database.transaction() as session:
        findings = [o.finding() for o in plan.overrides]
        records.store_findings(session, course_id, findings, now, kinds=[Kind.MANUAL_OVERRIDE])


def plan_push(
    settings: Settings,
    *,
    client: CanvasClient | None = None,
    now: Clock = _now,
    refresh: bool = True,
) -> PushPlan:
    """What `push` would change, without writing to Canvas (`push --dry-run`)."""
    return push(settings, dry_run=True, client=client, now=now, refresh=refresh).plan


def push(
    settings: Settings,
    *,
    dry_run: bool = False,
    confirm: Callable[[PushPlan], bool] | None = None,
    client: CanvasClient | None = None,
    now: Clock = _now,
    refresh: bool = True,
    poll_interval: float = POLL_START,
    hook: Hook | None = None,
    reread_early: bool | None = None,
) -> PushSummary:
    """Plan and (unless `dry_run`, and if `confirm` agrees) apply the grade changes (SPEC §4).

    `refresh` pulls first (an incremental sync); the daemon, which has just synced, passes False.
    `reread_early` (default: when there is no `confirm`, which may ask someone) re-reads the
    cells to be written while the course is still evaluated (`EarlyRead`), not after the plan.
    Raises PushFailed after journaling when a change failed or Canvas did not finish in time.
    """
    early = confirm is None if reread_early is None else reread_early
    http = client or make_client(settings)
    database = open_database(settings)
    try:
        with _course_lock(settings, database, dry_run) as lock:
            return _push_locked(
                settings,
                database,
                http,
                lock,
                dry_run,
                confirm,
                now,
                refresh,
                poll_interval,
                hook,
                early and not dry_run,
            )
    finally:
        database.dispose()
        if client is None:
            http.close()


def _course_lock(
    settings: Settings, database: Database, dry_run: bool
) -> AbstractContextManager[locks.LockHandle | None]:
    """A real push holds the course's lock for its whole run, like a sync (a dry run writes
    nothing): two pushes at once would plan the same changes and send them twice."""
    if dry_run:
        return nullcontext()
    return locks.acquire(
        database,
        settings.course_id,
        wait_seconds=settings.lock_wait_seconds,
        zone=settings.zone,
        during="push",
    )


def _check(lock: locks.LockHandle | None) -> None:
    """Before a write to Canvas that is not journaled (creating a target)."""
    if lock is not None:
        lock.check()


def _push_locked(
    settings: Settings,
    database: Database,
    http: CanvasClient,
    lock: locks.LockHandle | None,
    dry_run: bool,
    confirm: Callable[[PushPlan], bool] | None,
    now: Clock,
    refresh: bool,
    poll_interval: float,
    hook: Hook | None,
    reread_early: bool,
) -> PushSummary:
    started = time.monotonic()
    before = http.request_count
    course_id = settings.course_id
    journal = DbJournal(database, course_id, uuid.uuid4().hex, now, lock)
    stored = _stored_total(settings, database)
    targets = ensure_targets(settings, client=http, create=False, known_total=stored)
    reconciled = Reconciled()
    if not dry_run:
        # What the last sync found may already forbid pushing: say so before creating
        # anything in Canvas (the check after this push's own sync is in plan_changes).
        blocked = stored_blocker(settings, database, now())
        if blocked is not None:
            raise UsageError(blocked)
        reconciled = reconcile_open(settings, database, http, journal, targets, poll_interval)
        if missing_targets(settings, targets):
            _check(lock)
            targets = ensure_targets(settings, client=http, create=True, found=targets)
    synced_at = time.monotonic()
    source = PlanSource(database, course_id)
    early = EarlyRead(http, course_id, targets.column_id) if reread_early else None
    try:
        if early is not None:
            source.on_batch = partial(_read_early, early, settings, targets, source)
        if refresh:
            sync(settings, trigger="push", client=http, now=now, lock=lock, collect=source)
        else:
            source.read_stored(database, settings, now())
        source.on_batch = None
        if early is not None:
            early.flush()  # read beside the planning
        if stored is not None and _stored_total(settings, database) != stored:
            # The stored total is gone from Canvas (the sync just said so): find it by name.
            _check(lock)
            targets = ensure_targets(settings, client=http, create=not dry_run)
        plan, cells = plan_changes(
            settings,
            database,
            http,
            targets,
            source,
            dry_run=dry_run,
            column_read=early.column_data
            if early is not None and early.column_id == targets.column_id
            else None,
        )
        del source  # the course's results and rows: the plan and its cells are all it needs
        _store_overrides(database, course_id, plan, now())
        summary = PushSummary(
            plan,
            dry_run,
            False,
            len(plan.actions),
            reconciled=reconciled,
            created=targets.created,
        )
        if dry_run or not plan.actions or (confirm is not None and not confirm(plan)):
            return _finish(summary, http.request_count - before, started)
        checked, journaled = journaled_recheck(
            database, http, course_id, targets, plan, cells, journal, early
        )
    finally:
        if early is not None:
            early.close()
    del cells  # compared: the write needs only the checked plan
    summary = replace(summary, dropped=tuple(dropped_line(a, why) for a, why in checked.dropped))
    fresh = FreshRows(database, course_id)  # stores what is read back, as it arrives
    result = apply_plan(
        http,
        course_id,
        checked.plan,
        journal,
        column_id=targets.column_id,
        timeout=settings.progress_timeout,
        poll_interval=poll_interval,
        hook=hook,
        keep=fresh,
        journaled=journaled,
    )
    if refresh and time.monotonic() - synced_at < ADVANCE_WINDOW.total_seconds():
        fresh.advance()
    done = _finish(_applied(summary, result), http.request_count - before, started)
    _raise_if_incomplete(done, result)
    return done


def _read_early(
    early: EarlyRead,
    settings: Settings,
    targets: Targets,
    source: PlanSource,
    results: Sequence[StudentResult],
) -> None:
    early.add(batch_keys(settings, targets, source, results))


def _applied(summary: PushSummary, result: ApplyResult) -> PushSummary:
    return PushSummary(
        summary.plan,
        summary.dry_run,
        True,
        summary.planned,
        sent=result.sent,
        confirmed=result.confirmed,
        failed=result.failed,
        unresolved=result.unresolved,
        comments=result.comments,
        write_requests=result.write_requests,
        progress_polls=result.progress_polls,
        reconciled=summary.reconciled,
        created=summary.created,
        dropped=summary.dropped,
        rounds=result.rounds,
        left=tuple(result.left),
    )


def _finish(summary: PushSummary, requests: int, started: float) -> PushSummary:
    return replace(summary, requests=requests, seconds=time.monotonic() - started)


def _raise_if_incomplete(summary: PushSummary, result: ApplyResult) -> None:
    left = summary.planned - summary.confirmed - len(summary.dropped)
    if left <= 0:
        return
    named = "; ".join(result.left[:3]) + ("; ..." if len(result.left) > 3 else "")
    first = result.problems[0].rstrip(".") if result.problems else "Canvas did not confirm them"
    raise PushFailed(
        f"{left} of {summary.planned} grade changes are not confirmed after "
        f"{result.rounds} rounds ({named or first}); "
        "run push again: it re-reads Canvas and only sends what is still missing."
    )


def auto_push(
    settings: Settings, *, client: CanvasClient | None = None, now: Clock = _now
) -> PushSummary | None:
    """For the scheduler, right after a sync: push without asking when `push.auto` is on."""
    if not settings.push_auto:
        return None
    return push(settings, client=client, now=now, refresh=False)


# --- resolving manual overrides ---------------------------------------------------------------


def _target_of(settings: Settings, database: Database, record: DiscrepancyRecord) -> Target:
    if record.assignment_id is None:
        return Target.COLUMN
    with database.transaction() as session:
        assignments = repo.load_assignments(session, settings.course_id)
    total = next((a.id for a in assignments if a.name == settings.total_assignment), None)
    return Target.TOTAL if record.assignment_id == total else Target.GRADE


def resolve_override(
    settings: Settings,
    discrepancy_id: int,
    *,
    keep_canvas: bool,
    note: str,
    by: str,
    now: Clock = _now,
) -> DiscrepancyRecord:
    """Resolve a `manual_override` (SPEC §4 "humans win").

    `keep_canvas`: the human value stays; for a reading an exemption with `note` makes the policy
    accept it, and the journal marks the cell `kept` so push never writes it. Otherwise
    (`--reapply`) the journal marks the cell `released`: the next push writes the policy value.
    """
    if not note.strip():
        raise UsageError("Resolving a manual override needs a note: pass --note TEXT.")
    database = open_database(settings)
    try:
        with database.transaction() as session:
            record = records.get_discrepancy(session, settings.course_id, discrepancy_id)
        if record is None or record.kind is not Kind.MANUAL_OVERRIDE or record.student_id is None:
            raise UsageError(
                f"Discrepancy {discrepancy_id} is not a manual_override of this course; "
                "--keep-canvas and --reapply only apply to those."
            )
        target = _target_of(settings, database, record)
        state = "kept" if keep_canvas else "released"
        value = record.canvas_value if keep_canvas else None
        spec = jr.ChangeSpec(
            target.value,
            record.student_id,
            record.assignment_id,
            record.expected_value,
            value,
            None,
            f"{state} by {by}: {note}",
        )
        with database.transaction() as session:
            if keep_canvas and target is Target.GRADE and record.assignment_id is not None:
                records.add_exemption(
                    session,
                    settings.course_id,
                    record.student_id,
                    record.assignment_id,
                    note,
                    by=by,
                    now=now(),
                )
            jr.add_marker(session, settings.course_id, spec, state, now())
            records.set_discrepancy_state(
                session, discrepancy_id, "resolved", by=by, note=note, now=now()
            )
            result = records.get_discrepancy(session, settings.course_id, discrepancy_id)
        assert result is not None
        return result
    finally:
        database.dispose()
