"""What the web app's pages show, read from the stored course in one transaction each, and the
review actions it takes on many discrepancies at once. Nothing here talks to Canvas.

`course_view` evaluates the stored course like `report` does (same policy, same `now`), and adds
what a student page needs beyond the report: each submission's attempts and comments, the
exemptions, every discrepancy in any state, and the last full pull.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from canvas_sync import report
from canvas_sync.db import records, repo
from canvas_sync.domain import (
    Course,
    DiscrepancyRecord,
    Exemption,
    ReadingResult,
    Selection,
    Status,
    Submission,
)
from canvas_sync.errors import UsageError
from canvas_sync.push import MARKER
from canvas_sync.report import Report
from canvas_sync.service.core import evaluate_stored, open_database
from canvas_sync.settings import Settings

__all__ = [
    "CourseView",
    "counted_why",
    "course_view",
    "our_comments",
    "resolve_many",
]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CourseView:
    """One evaluation of the stored course, as the pages read it."""

    report: Report  # students + open/acknowledged discrepancies (the same as `report`)
    discrepancies: tuple[DiscrepancyRecord, ...]  # every state, by id
    submissions: Mapping[tuple[int, int], Submission]  # (student id, assignment id)
    exemptions: tuple[Exemption, ...]
    # The last full pull (every row re-read from Canvas), from the course row's record of it.
    last_full_pull: datetime | None
    synced: bool  # False before the first sync: pages say so instead of showing nothing


def course_view(settings: Settings, *, now: datetime | None = None) -> CourseView:
    moment = now or _now()
    database = open_database(settings)
    try:
        with database.transaction() as session:
            row = repo.load_course_row(session, settings.course_id)
            items = records.list_discrepancies(session, settings.course_id)
            exemptions = records.list_exemptions(session, settings.course_id)
            evaluation = evaluate_stored(session, settings, moment) if row is not None else None
            last_full = row.last_full_sync_at if row is not None else None
    finally:
        database.dispose()
    if evaluation is None:
        return CourseView(_empty_report(settings, moment), (), {}, (), None, False)
    built = report.build_report(
        evaluation.snapshot.course,
        settings.policy,
        pool=len(evaluation.readings.reading_ids),
        results=evaluation.results,
        discrepancies=[d for d in items if d.state != "resolved"],
        generated_at=moment,
    )
    included = {r.student.id for r in built.students}
    return CourseView(
        report=built,
        discrepancies=tuple(d for d in items if d.student_id is None or d.student_id in included),
        submissions={(s.student_id, s.assignment_id): s for s in evaluation.snapshot.submissions},
        exemptions=tuple(exemptions),
        last_full_pull=last_full,
        synced=True,
    )


def _empty_report(settings: Settings, moment: datetime) -> Report:
    return report.build_report(
        Course(settings.course_id, settings.course_name, settings.time_zone),
        settings.policy,
        pool=len(settings.readings),
        results=[],
        discrepancies=[],
        generated_at=moment,
    )


def counted_why(reading: ReadingResult, required: int, selection: Selection) -> str:
    """Why a reading counts towards the total or not, in the syllabus's words."""
    rule = f"best {required}" if selection is Selection.BEST else f"first {required} on time"
    if reading.counted:
        return f"counted: among the {rule}"
    if reading.status is Status.EXCUSED:
        return "not counted: excused, removed from the pool"
    if reading.status is Status.PENDING:
        return "not counted yet: not submitted and not due"
    if reading.policy_score is None:
        return "not counted yet: waiting for a grade"
    return f"not counted: not among the {rule}"


def our_comments(submission: Submission | None) -> tuple[str, ...]:
    """The comments this service posted on a submission (they end with its marker)."""
    if submission is None:
        return ()
    return tuple(c.comment for c in submission.comments if c.comment.rstrip().endswith(MARKER))


def resolve_many(
    settings: Settings, ids: Sequence[int], *, note: str, acknowledge: bool, by: str
) -> list[DiscrepancyRecord]:
    """Acknowledge or resolve several discrepancies with one note, all or none."""
    if not note.strip():
        raise UsageError("Write a note saying why, then press the button again.")
    if not ids:
        raise UsageError("Tick at least one discrepancy, then press the button again.")
    state = "acknowledged" if acknowledge else "resolved"
    database = open_database(settings)
    try:
        with database.transaction() as session:
            found = [records.get_discrepancy(session, settings.course_id, i) for i in ids]
            if any(f is None for f in found):
                raise UsageError("A ticked discrepancy is not in this course; reload the page.")
            for discrepancy_id in ids:
                records.set_discrepancy_state(
                    session, discrepancy_id, state, by=by, note=note, now=_now()
                )
            done = [records.get_discrepancy(session, settings.course_id, i) for i in ids]
    finally:
        database.dispose()
    return [d for d in done if d is not None]
