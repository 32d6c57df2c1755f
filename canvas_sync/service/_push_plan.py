"""Push planning (service/pushing.py runs it): the plan from the stored course, the journal's
last words and, only when a column change is planned, Canvas's column data."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from canvas_sync.canvas import CanvasClient
from canvas_sync.db import Database, records, repo
from canvas_sync.db import journal as jr
from canvas_sync.domain import Submission
from canvas_sync.errors import UsageError
from canvas_sync.push import PlanInputs, PushPlan, Target, Written, build_plan
from canvas_sync.service._evaluation import course_findings
from canvas_sync.service.blockers import blocking_reason
from canvas_sync.service.core import evaluate
from canvas_sync.service.targets import Targets
from canvas_sync.settings import Settings

__all__ = ["NEW_TARGET", "missing_targets", "plan_changes", "stored_blocker"]

#: Stands for the id of a total assignment a dry run would create (Canvas ids are positive).
NEW_TARGET = 0


def _short_course(settings: Settings) -> str:
    name = settings.course_name.split(":", 1)[0].strip()
    return name or "course"


def stored_blocker(settings: Settings, database: Database, now: datetime) -> str | None:
    """What forbids pushing according to the stored course (service/blockers.py), if anything.

    Both blocking kinds are course-level facts (the pool, Canvas's Late Policy), so only the
    course, its assignments, groups and late policy are loaded and checked, with no students
    or submissions: the same findings a full evaluation has for those kinds, at a fraction of
    its cost. None when nothing is stored yet (a first push syncs before it plans).
    """
    with database.transaction() as session:
        findings = course_findings(session, settings, now)
    return None if findings is None else blocking_reason(settings, findings)


def plan_changes(
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
    notes = [f"Will create {what}." for what in missing_targets(settings, targets)]
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
    plan = _with_column(inputs, client, course_id, targets.column_id)
    # Only the planned cells' rows are kept (the re-read before writing compares them): the
    # course's other rows, tens of thousands in a large course, are not held while pushing.
    planned = {(a.student_id, a.assignment_id) for a in plan.actions if a.assignment_id is not None}
    return plan, {key: cells[key] for key in planned if key in cells}


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


def missing_targets(settings: Settings, targets: Targets) -> list[str]:
    found = []
    if targets.total_assignment_id is None:
        found.append(f"the total assignment {settings.total_assignment!r}")
    if targets.column_id is None:
        found.append(f"the column {settings.total_column!r}")
    return found
