"""Selection, totals and at_risk for each student (SPEC §2 "Selection").

Pure: the same snapshot, `now` and config always give the same results, whatever the order of
students, readings and submissions in the input.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from canvas_sync.domain import (
    Assignment,
    CourseSnapshot,
    Exemption,
    PolicyConfig,
    ReadingResult,
    Selection,
    Status,
    Student,
    StudentResult,
    Submission,
)

from .status import classify, effective_due_date

__all__ = [
    "evaluate_course",
    "evaluate_student",
    "required_effective",
    "submissions_by_student",
]

# Members bound once and compared with `is`: on Python 3.11 `Status.X` is a descriptor lookup
# and hashing an Enum runs Python code, both paid for every (student, reading) of a course.
_ON_TIME_STATUS, _RESUBMITTED = Status.ON_TIME, Status.LATE_RESUBMISSION
_PENDING, _EXCUSED = Status.PENDING, Status.EXCUSED
# Sorts after every real date: "no due date" comes last.
_NEVER = datetime.max.replace(tzinfo=UTC)


class _Row(NamedTuple):
    """One reading's status before selection (cheap to build; ReadingResult is built once)."""

    order: tuple[bool, datetime, int]
    assignment: Assignment
    submission: Submission | None
    due_at: datetime | None
    status: Status
    policy_score: float | None
    exempted: bool


def required_effective(pool: int, excused: int, required: int) -> int:
    """R_eff = min(R, pool − excused) (SPEC §2): required count shrinks with excusals."""
    return max(0, min(required, pool - excused))


def evaluate_student(
    student: Student,
    readings: Sequence[Assignment],
    submissions: Mapping[int, Submission],
    *,
    now: datetime,
    config: PolicyConfig,
    exempted: Collection[int] = (),
) -> StudentResult:
    """Status of every reading, the counted selection and the totals of one student (SPEC §2).

    `submissions` is keyed by assignment id; `exempted` holds assignment ids with a local
    exemption. The student's due date is the submission's `cached_due_date` when Canvas sent a
    row, else `effective_due_date`. Readings come back sorted by due date (None last), then id.
    """
    exempt = exempted if isinstance(exempted, (set, frozenset)) else frozenset(exempted)
    rows = _rows(
        student, readings, submissions, now, timedelta(seconds=config.grace_seconds), exempt
    )
    excused = sum(1 for r in rows if r.status is _EXCUSED)
    r_eff = required_effective(len(rows), excused, config.required)
    if config.selection is Selection.FIRST:
        counted = _select_first(rows, r_eff)
    else:
        counted = _select_best(rows, r_eff)
    sid = student.id
    results = tuple(
        ReadingResult(
            sid,
            r.assignment.id,
            r.assignment.name,
            r.due_at,
            None if r.submission is None else r.submission.submitted_at,
            r.status,
            None if r.submission is None else r.submission.score,
            r.policy_score,
            i in counted,
            r.exempted,
        )
        for i, r in enumerate(rows)
    )
    return _totals(student, results, rows, counted, r_eff, config)


def _rows(
    student: Student,
    readings: Sequence[Assignment],
    submissions: Mapping[int, Submission],
    now: datetime,
    grace: timedelta,
    exempt: Collection[int],
) -> list[_Row]:
    """Each reading's due date and status, sorted by (due date, assignment id)."""
    rows = []
    for assignment in readings:
        submission = submissions.get(assignment.id)
        if submission is not None:
            due_at = submission.cached_due_date
        else:
            due_at = effective_due_date(assignment, student)
        status, policy, exempted = classify(submission, due_at, now, grace, assignment.id in exempt)
        # The student's own due date, None last, then assignment id (SPEC §6 reading order).
        order = (due_at is None, _NEVER if due_at is None else due_at, assignment.id)
        rows.append(_Row(order, assignment, submission, due_at, status, policy, exempted))
    rows.sort(key=_by_order)
    return rows


def _by_order(row: _Row) -> tuple[bool, datetime, int]:
    return row.order


def _select_best(rows: Sequence[_Row], r_eff: int) -> set[int]:
    """`best`: the R_eff highest policy scores; ties → earlier own due date, then assignment id.

    Returns positions in `rows`, which is already in (due date, id) order: a stable sort on the
    score alone keeps that order among ties. Ungraded on-time work is not a candidate yet (the
    total is provisional).
    """
    candidates = [
        (-r.policy_score, i)
        for i, r in enumerate(rows)
        if r.policy_score is not None and r.status is not _EXCUSED
    ]
    candidates.sort()
    return {i for _, i in candidates[:r_eff]}


def _select_first(rows: Sequence[_Row], r_eff: int) -> set[int]:
    """`first`: the first R_eff on-time submissions by submission time fill the slots.

    On-time means ON_TIME or LATE_RESUBMISSION, graded or not: an ungraded one holds its slot and
    adds nothing until graded. Work graded without a submission is placed at its due date. Slots
    left over are filled with the zero items (late, missing) by earliest due date. Returns
    positions in `rows` (already in due-date order, which breaks ties).
    """
    on_time = [(_submission_time(r), i) for i, r in enumerate(rows) if _on_time(r.status)]
    on_time.sort()
    chosen = {i for _, i in on_time[:r_eff]}
    if len(chosen) < r_eff:
        zeros = [
            i for i, r in enumerate(rows) if not _on_time(r.status) and r.policy_score is not None
        ]
        chosen.update(zeros[: r_eff - len(chosen)])
    return chosen


def _submission_time(row: _Row) -> tuple[bool, datetime]:
    submitted_at = row.submission.submitted_at if row.submission is not None else None
    when = submitted_at if submitted_at is not None else row.due_at
    return (when is None, _NEVER if when is None else when)


def _on_time(status: Status) -> bool:
    """ON_TIME or LATE_RESUBMISSION: an on-time submission exists (SPEC §2 at_risk, `first`)."""
    return status is _ON_TIME_STATUS or status is _RESUBMITTED


def _totals(
    student: Student,
    results: tuple[ReadingResult, ...],
    rows: Sequence[_Row],
    counted: Collection[int],
    r_eff: int,
    config: PolicyConfig,
) -> StudentResult:
    """points, possible, percent, weighted, counts and at_risk (SPEC §2); exact floats.

    Counted from `rows` (the same facts as `results`, cheaper to read).
    """
    scores = [rows[i].policy_score for i in counted]
    on_time = ungraded = pending = submitted = 0
    for r in rows:
        status = r.status
        if status is _ON_TIME_STATUS or status is _RESUBMITTED:
            on_time += 1
            ungraded += r.submission is None or r.submission.score is None
        elif status is _PENDING:
            pending += 1
        if status is not _EXCUSED and r.submission is not None and r.submission.submitted_at:
            submitted += 1
    # fsum: exact and independent of the order the scores are added in.
    points = math.fsum(p for p in scores if p is not None)
    possible = r_eff * config.points_per_summary
    percent = 100.0 * points / possible if possible else 0.0
    return StudentResult(
        student=student,
        readings=results,
        points=points,
        possible=possible,
        percent=percent,
        weighted=percent * config.weight / 100.0,
        on_time_count=on_time,
        ungraded_count=ungraded,
        at_risk=on_time + pending < r_eff,
        submitted_count=submitted,
    )


def evaluate_course(
    snapshot: CourseSnapshot,
    *,
    now: datetime,
    config: PolicyConfig,
    exemptions: Iterable[Exemption] = (),
) -> tuple[StudentResult, ...]:
    """Results of every included student (SPEC §2 "Students"), sorted by (sortable_name, id).

    Excluded enrollments and the test student are skipped. Submissions for other assignments are
    ignored; if Canvas sent two rows for one pair, the one with the highest id is used.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    students = sorted(
        (s for s in snapshot.students if s.included), key=lambda s: (s.sortable_name, s.id)
    )
    reading_ids = {a.id for a in snapshot.readings}
    by_student = submissions_by_student(snapshot.submissions, reading_ids)
    exempt: dict[int, set[int]] = {}
    for e in exemptions:
        exempt.setdefault(e.student_id, set()).add(e.assignment_id)
    empty_subs: dict[int, Submission] = {}
    empty_exempt: frozenset[int] = frozenset()
    return tuple(
        evaluate_student(
            s,
            snapshot.readings,
            by_student.get(s.id, empty_subs),
            now=now,
            config=config,
            exempted=exempt.get(s.id, empty_exempt),
        )
        for s in students
    )


def submissions_by_student(
    submissions: Iterable[Submission], reading_ids: Collection[int]
) -> dict[int, dict[int, Submission]]:
    """Submissions of the readings by student, then assignment id.

    Canvas sends one row per (student, assignment); should two arrive, the highest submission
    id wins, so the result does not depend on input order.
    """
    out: dict[int, dict[int, Submission]] = {}
    for sub in submissions:
        if sub.assignment_id not in reading_ids:
            continue
        per = out.setdefault(sub.student_id, {})
        seen = per.get(sub.assignment_id)
        if seen is None or sub.id > seen.id:
            per[sub.assignment_id] = sub
    return out
