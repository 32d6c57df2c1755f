"""Push planning (service/pushing.py runs it): the plan from the stored course, the journal's
last words and, only when a column change is planned, Canvas's column data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from canvas_sync.canvas import CanvasClient
from canvas_sync.db import Database, records, repo
from canvas_sync.db import journal as jr
from canvas_sync.domain import Finding, Status, StudentResult, Submission
from canvas_sync.errors import UsageError
from canvas_sync.push import PlanInputs, PushPlan, Target, Written, build_plan
from canvas_sync.push.plan import CellKey, planning_row
from canvas_sync.service._evaluation import Batch, course_findings, evaluate_in_batches
from canvas_sync.service.blockers import BLOCKING_KINDS, blocking_reason
from canvas_sync.service.overrides import SyncOverrides
from canvas_sync.service.targets import Targets
from canvas_sync.settings import Settings

__all__ = [
    "NEW_TARGET",
    "PlanSource",
    "batch_keys",
    "late_rule",
    "missing_targets",
    "plan_changes",
    "stored_blocker",
]

#: Stands for the id of a total assignment a dry run would create (Canvas ids are positive).
NEW_TARGET = 0


def late_rule(settings: Settings) -> str:
    """The syllabus rule a late comment quotes."""
    course = settings.course_name.split(":", 1)[0].strip() or "course"
    return f"Late submissions are not accepted and receive 0 ({course} syllabus)."


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


#: The policy statuses whose reading push may zero (push/plan.py): only their rows, the total
#: assignment's and those the journal has a word on can make the plan write or see an override.
_ZEROED = (Status.LATE, Status.MISSING)


class PlanSource(SyncOverrides):
    """What planning keeps of an evaluation of the course, a batch of students at a time.

    Push's own sync hands over its batches (`sync(collect=...)`), so the course is evaluated
    once, and its manual-override check uses what this keeps (a superset of what it needs);
    without a sync the stored course is evaluated batch by batch here. Kept: every student's
    results (the texts need the course's reading labels), the findings that can forbid
    pushing, and only the rows the plan can act on (`_ZEROED` readings, the total, cells the
    journal wrote), compacted; the rest of the course's rows is let go with its batch.
    """

    def __init__(self, database: Database, course_id: int) -> None:
        with database.transaction() as session:
            super().__init__(jr.last_words(session, course_id))
            self.exemptions = {
                (e.student_id, e.assignment_id) for e in records.list_exemptions(session, course_id)
            }
        self.findings: list[Finding] = []
        self.batches = 0
        self.total_id: int | None = None
        self.reading_ids: set[int] = set()
        #: Told each batch's results once its rows are kept (push's early re-read).
        self.on_batch: Callable[[Sequence[StudentResult]], None] | None = None

    def add(self, batch: Batch) -> None:
        evaluation = batch.evaluation
        self.batches += 1
        self.total_id = batch.total_id
        self.reading_ids.update(a.id for a in evaluation.snapshot.readings)
        self.results.extend(evaluation.results)
        self.findings.extend(f for f in evaluation.findings if f.kind in BLOCKING_KINDS)
        zeroed = {
            (r.student_id, r.assignment_id)
            for result in evaluation.results
            for r in result.readings
            if r.status in _ZEROED
        }
        for sub in evaluation.snapshot.submissions:
            key = (sub.student_id, sub.assignment_id)
            if key in zeroed or key in self._written:
                self.cells[key] = planning_row(sub)
        for sub in batch.totals:
            self.cells[(sub.student_id, sub.assignment_id)] = planning_row(sub)
        if self.on_batch is not None:
            self.on_batch(evaluation.results)

    def add_total_rows(self, database: Database, course_id: int, total_id: int) -> None:
        """The rows of a total assignment the evaluation did not know by that id (another
        assignment of the same name stored first)."""
        with database.transaction() as session:
            for sub in repo.load_submissions(session, course_id, [total_id]):
                self.cells[(sub.student_id, sub.assignment_id)] = planning_row(sub)
        self.total_id = total_id

    def read_stored(self, database: Database, settings: Settings, now: datetime) -> None:
        """Evaluate the stored course here (push without its own sync)."""
        with database.transaction() as session:
            for batch in evaluate_in_batches(session, settings, now):
                self.add(batch)


def plan_changes(
    settings: Settings,
    database: Database,
    client: CanvasClient,
    targets: Targets,
    source: PlanSource,
    *,
    dry_run: bool = False,
    column_read: Callable[[], list[dict[str, Any]] | None] | None = None,
) -> tuple[PushPlan, dict[tuple[int, int], Submission]]:
    """The plan from `source` (every batch of one evaluation added) and the rows of its cells.

    `column_read`: the column's data already read since the sync's pull (None: not read)."""
    if not source.batches:
        raise UsageError("Nothing synced yet for this course: run 'canvas-sync sync' first.")
    wanted_total = targets.total_assignment_id
    if wanted_total is not None and wanted_total != source.total_id:
        source.add_total_rows(database, settings.course_id, wanted_total)
    blocked = blocking_reason(settings, source.findings)
    if blocked is not None and not dry_run:
        raise UsageError(blocked)
    # A target push would create is planned as the empty one it will be, so the dry run plans
    # the very changes the real push makes (a new column gets every student's entry).
    columns = {} if targets.column_id is None else _confirmed_column(source.last)
    notes = [f"Will create {what}." for what in missing_targets(settings, targets)]
    if blocked is not None:
        notes.append(f"{blocked} (This dry run shows what push would write once it may.)")
    # The batches come sorted by name within each batch: the plan lists the whole course so.
    results = sorted(source.results, key=lambda r: (r.student.sortable_name, r.student.id))
    inputs = _inputs(settings, targets, source, results, columns, tuple(notes))
    plan = _with_column(inputs, client, settings.course_id, targets.column_id, column_read)
    # Only the planned cells' rows are kept (the re-read before writing compares them).
    planned = {(a.student_id, a.assignment_id) for a in plan.actions if a.assignment_id is not None}
    cells = source.cells
    return plan, {key: cells[key] for key in planned if key in cells}


def batch_keys(
    settings: Settings, targets: Targets, source: PlanSource, results: Sequence[StudentResult]
) -> list[CellKey]:
    """The grade and total cells the plan changes for these students (each student's changes
    rest on that student's rows alone; the texts, which need the whole course, are not asked
    for): what push re-reads early, while the rest of the course is still being evaluated."""
    plan = build_plan(_inputs(settings, targets, source, results, None, ()))
    return [a.key for a in plan.actions if a.target is not Target.COLUMN]


def _inputs(
    settings: Settings,
    targets: Targets,
    source: PlanSource,
    results: Sequence[StudentResult],
    columns: dict[int, str] | None,
    notes: tuple[str, ...],
) -> PlanInputs:
    total_id = NEW_TARGET if targets.total_assignment_id is None else targets.total_assignment_id
    return PlanInputs(
        results=results,
        submissions=source.cells,
        time_zone=settings.time_zone,
        written={
            (Target(t), s, a): Written(e.to_value, e.state) for (t, s, a), e in source.last.items()
        },
        exemptions=source.exemptions,
        total_assignment_id=total_id,
        column_values=columns,
        comment_missing=settings.comment_missing,
        late_rule=late_rule(settings),
        required=settings.policy.required,
        notes=notes,
    )


def _confirmed_column(last: dict[tuple[str, int, int | None], jr.LastWord]) -> dict[int, str]:
    """What this service last confirmed in the (read-only) column, per student."""
    return {
        s: e.to_value
        for (t, s, _a), e in last.items()
        if t == Target.COLUMN.value and e.state == "confirmed" and e.to_value is not None
    }


def _with_column(
    inputs: PlanInputs,
    client: CanvasClient,
    course_id: int,
    column_id: int | None,
    column_read: Callable[[], list[dict[str, Any]] | None] | None = None,
) -> PushPlan:
    """Plan against the journal's column; read Canvas's column data only when that plans a
    column change (a no-op push then costs no column read), and plan again from it."""
    plan = build_plan(inputs)
    if column_id is None or not any(a.target is Target.COLUMN for a in plan.actions):
        return plan
    data = column_read() if column_read is not None else None
    if data is None:
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
