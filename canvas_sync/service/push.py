"""Push use cases (SPEC §4): plan, push, manual-override resolution, daemon hook.

A push: reconcile what an earlier push left open → make sure the total assignment and column
exist → pull (incremental sync, so the plan sees Canvas as it is now) → plan → store
`manual_override` findings → confirm → apply (journaled) → store the re-read submissions.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from canvas_sync.canvas import CanvasClient
from canvas_sync.db import Database, records, repo
from canvas_sync.db import journal as jr
from canvas_sync.domain import DiscrepancyRecord, Kind, Submission
from canvas_sync.errors import PushFailed, UsageError
from canvas_sync.push import (
    ApplyResult,
    PlanInputs,
    PushPlan,
    Reconciled,
    Target,
    Written,
    apply_plan,
    build_plan,
)
from canvas_sync.push.apply import Hook
from canvas_sync.service._push_io import (
    ADVANCE_WINDOW,
    DbJournal,
    dropped_line,
    recheck_plan,
    reconcile_open,
    store_fresh,
)
from canvas_sync.service.blockers import blocking_reason, refuse_blocked_push
from canvas_sync.service.core import evaluate, make_client, open_database, sync
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
#: Stands for the id of a total assignment a dry run would create (Canvas ids are positive).
NEW_TARGET = 0


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


# --- planning -------------------------------------------------------------------------------


def _short_course(settings: Settings) -> str:
    name = settings.course_name.split(":", 1)[0].strip()
    return name or "course"


def _plan(
    settings: Settings,
    database: Database,
    client: CanvasClient,
    targets: Targets,
    now: datetime,
    *,
    dry_run: bool = False,
) -> tuple[PushPlan, dict[tuple[int, int], Submission]]:
    evaluation = evaluate(settings, now=now)
    blocked = blocking_reason(settings, evaluation.findings)
    if blocked is not None and not dry_run:
        raise UsageError(blocked)
    course_id = settings.course_id
    with database.transaction() as session:
        # The readings' rows are the evaluation's own (one snapshot, loaded once); only the
        # total assignment's rows are loaded here.
        wanted = [] if targets.total_assignment_id is None else [targets.total_assignment_id]
        readings = {a.id for a in evaluation.snapshot.readings}
        submissions = [
            *evaluation.snapshot.submissions,
            *(
                s
                for s in repo.load_submissions(session, course_id, wanted)
                if s.assignment_id not in readings
            ),
        ]
        exemptions = records.list_exemptions(session, course_id)
        last = jr.last_words(session, course_id)
    # A target push would create is planned as the empty one it will be, so the dry run plans
    # the very changes the real push makes (a new column gets every student's entry).
    columns = {} if targets.column_id is None else _confirmed_column(last)
    total_id = NEW_TARGET if targets.total_assignment_id is None else targets.total_assignment_id
    notes = [f"Will create {what}." for what in _missing(settings, targets)]
    if blocked is not None:
        notes.append(f"{blocked} (This dry run shows what push would write once it may.)")
    cells = {(s.student_id, s.assignment_id): s for s in submissions}
    inputs = PlanInputs(
        results=evaluation.results,
        submissions=cells,
        time_zone=settings.time_zone,
        written={(Target(t), s, a): Written(e.to_value, e.state) for (t, s, a), e in last.items()},
        exemptions={(e.student_id, e.assignment_id) for e in exemptions},
        total_assignment_id=total_id,
        column_values=columns,
        comment_missing=settings.comment_missing,
        late_rule=(
            f"Late submissions are not accepted and receive 0 ({_short_course(settings)} syllabus)."
        ),
        required=settings.policy.required,
        notes=tuple(notes),
    )
    return _with_column(inputs, client, course_id, targets.column_id), cells


def _confirmed_column(last: dict[tuple[str, int, int | None], jr.JournalEntry]) -> dict[int, str]:
    """What this service last confirmed in the (read-only) column, per student."""
    return {
        s: e.to_value
        for (t, s, _a), e in last.items()
        if t == Target.COLUMN.value and e.state == "confirmed" and e.to_value is not None
    }


def _with_column(
    inputs: PlanInputs, client: CanvasClient, course_id: int, column_id: int | None
) -> PushPlan:
    """Plan against the journal's column; read Canvas's column data only when that plans a
    column change (a no-op push then costs no column read), and plan again from it."""
    plan = build_plan(inputs)
    if column_id is None or not any(a.target is Target.COLUMN for a in plan.actions):
        return plan
    data = client.column_data(course_id, column_id)
    real = {int(d["user_id"]): str(d.get("content") or "") for d in data}
    if real == inputs.column_values:
        return plan  # build_plan is pure: the same inputs plan the same changes
    return build_plan(replace(inputs, column_values=real))


def _stored_course(database: Database, course_id: int) -> bool:
    """Whether a sync has stored the course (a first push syncs before anything is known)."""
    with database.transaction() as session:
        return repo.load_course_row(session, course_id) is not None


def _stored_total(settings: Settings, database: Database) -> int | None:
    """The total assignment's id as the last sync stored it (published), if any."""
    with database.transaction() as session:
        assignments = repo.load_assignments(session, settings.course_id)
    return next(
        (a.id for a in assignments if a.name == settings.total_assignment and a.published),
        None,
    )


def _missing(settings: Settings, targets: Targets) -> list[str]:
    found = []
    if targets.total_assignment_id is None:
        found.append(f"the total assignment {settings.total_assignment!r}")
    if targets.column_id is None:
        found.append(f"the column {settings.total_column!r}")
    return found


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
    poll_interval: float = 0.5,
    hook: Hook | None = None,
) -> PushSummary:
    """Plan and (unless `dry_run`, and if `confirm` agrees) apply the grade changes (SPEC §4).

    `refresh` pulls first (an incremental sync); the daemon, which has just synced, passes False.
    Raises PushFailed after journaling when a change failed or Canvas did not finish in time.
    """
    started = time.monotonic()
    http = client or make_client(settings)
    database = open_database(settings)
    try:
        before = http.request_count
        course_id = settings.course_id
        journal = DbJournal(database, course_id, uuid.uuid4().hex, now)
        stored = _stored_total(settings, database)
        targets = ensure_targets(settings, client=http, create=False, known_total=stored)
        reconciled = Reconciled()
        if not dry_run:
            # What the last sync found may already forbid pushing: say so before creating
            # anything in Canvas (the check after this push's own sync is in _plan).
            if _stored_course(database, course_id):
                refuse_blocked_push(settings, evaluate(settings, now=now()).findings)
            reconciled = reconcile_open(settings, database, http, journal, targets, poll_interval)
            if _missing(settings, targets):
                targets = ensure_targets(settings, client=http, create=True)
        synced_at = time.monotonic()
        if refresh:
            sync(settings, trigger="push", client=http, now=now)
        if stored is not None and _stored_total(settings, database) != stored:
            # The stored total is gone from Canvas (the sync just said so): find it by name.
            targets = ensure_targets(settings, client=http, create=not dry_run)
        plan, cells = _plan(settings, database, http, targets, now(), dry_run=dry_run)
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
        checked = recheck_plan(database, http, course_id, targets, plan, cells)
        summary = replace(
            summary, dropped=tuple(dropped_line(a, why) for a, why in checked.dropped)
        )
        result = apply_plan(
            http,
            course_id,
            checked.plan,
            journal,
            column_id=targets.column_id,
            timeout=settings.progress_timeout,
            poll_interval=poll_interval,
            hook=hook,
        )
        recent = time.monotonic() - synced_at < ADVANCE_WINDOW.total_seconds()
        store_fresh(database, course_id, result.fresh, advance=refresh and recent)
        done = _finish(_applied(summary, result), http.request_count - before, started)
        _raise_if_incomplete(done, result)
        return done
    finally:
        database.dispose()
        if client is None:
            http.close()


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
