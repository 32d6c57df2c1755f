"""Per-reading status: the SPEC §2 status table, decided in order.

Pure: frozen domain objects and an explicit `now` in, a status out. No clock, no I/O.

Order (SPEC §2, refined by the lead):

1. Canvas `excused` → EXCUSED, no policy score (removed from the pool).
2. A teacher-set `late_policy_status` wins both ways: `none`/`extended` → ON_TIME with the Canvas
   score on submitted work (never MISSING on unsubmitted work); `late` on submitted or scored work
   → LATE, 0; `missing` on unsubmitted work → MISSING, even before the due date.
3. Latest attempt after due + grace, an earlier attempt at/before it → LATE_RESUBMISSION, score
   kept.
4. Latest attempt after due + grace → LATE, 0.
5. Submitted at/before due + grace, or no due date → ON_TIME, Canvas score (None while ungraded).
6. No `submitted_at` but a non-zero score (graded on paper) → ON_TIME with the score. A 0 with
   no submission is treated as no score (rows 7-8): it is the zero written for missing work.
   A score Canvas's missing policy gave (no grader, Canvas still says `missing`) is not a paper
   grade: the work is MISSING (rows 7-8).
7. Not submitted and `now` > due + grace → MISSING, 0.
8. Otherwise PENDING, no policy score.

No submission row at all: Canvas keeps one for every assigned student (canvas-lms
lib/submission_lifecycle_manager.rb), so an absent row is UNKNOWN (never scored, never zeroed),
or UNASSIGNED when Canvas does not assign the reading to the student (out of their pool).
A Canvas custom grade status (`custom_grade_status_id`) makes the work neither late nor missing,
as in Canvas: ON_TIME with its Canvas score, or PENDING with none; never zeroed. With
`PolicyConfig.apply_to_custom_statuses` the table applies as usual.

A local exemption (SPEC §4) lifts the late rule: work that would be LATE or LATE_RESUBMISSION is
ON_TIME with its Canvas score, and work that would be MISSING stays PENDING ("exempted and excused
work is never zeroed"). `exempted` is reported on every non-excused reading that has one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from canvas_sync.domain import (
    Assignment,
    Override,
    PolicyConfig,
    ReadingResult,
    Status,
    Student,
    Submission,
)

__all__ = [
    "Classification",
    "assigned_to",
    "classify",
    "effective_due_date",
    "reading_status",
    "whole_seconds",
]

# (status, policy score, exempted): the part of a ReadingResult the status table decides.
Classification = tuple[Status, float | None, bool]

# Canvas `late_policy_status` values a teacher sets by hand (canvas-api.md §6 "Late / missing").
_TEACHER_ON_TIME = frozenset({"none", "extended"})
_TEACHER_LATE = "late"
_TEACHER_MISSING = "missing"

# Members bound once: on Python 3.11 `Status.X` is a descriptor lookup (~150 ns), paid for every
# (student, reading) of a course (benchmarks/bench_policy.py).
_EXCUSED, _ON_TIME, _LATE_RESUBMISSION = Status.EXCUSED, Status.ON_TIME, Status.LATE_RESUBMISSION
_LATE, _MISSING, _PENDING = Status.LATE, Status.MISSING, Status.PENDING
_UNKNOWN, _UNASSIGNED = Status.UNKNOWN, Status.UNASSIGNED


def effective_due_date(assignment: Assignment, student: Student) -> datetime | None:
    """The student's due date when Canvas sent no submission row (SPEC §2, canvas-api.md §6).

    Mirrors Canvas's `cached_due_date` (canvas-lms lib/effective_due_dates.rb): an ad hoc
    override naming the student beats a section override for one of the student's sections,
    which beats a Course override, which beats the assignment's `due_at`. An override that sets
    no due date (`due_at_overridden` false: its JSON has no `due_at`) gives the assignment's date
    (`CASE WHEN o.due_at_overridden THEN o.due_at ELSE a.due_at END`). Within a level the latest
    date wins, and "no due date" beats any dated one (`due_at DESC NULLS FIRST`).
    `unassign_item` overrides set no date: they take the reading away (`assigned_to`).

    Group overrides are not applied: group membership is not part of the snapshot, and reading
    summaries are individual work. Canvas stores `cached_due_date` without microseconds (its
    "fancy midnight" keeps 23:59:59.999999 on `due_at`), so the result is truncated the same way.
    """
    for level in _levels(assignment, student):
        dated = [o for o in level if not o.unassign_item]
        if dated:
            return whole_seconds(_latest_due(assignment, dated))
    return whole_seconds(assignment.due_at)


def assigned_to(assignment: Assignment, student: Student) -> bool:
    """Whether Canvas assigns `assignment` to `student` (and so keeps a submission row).

    canvas-lms lib/effective_due_dates.rb: a student is assigned through an override that
    applies to them, or through "Everyone else" unless `only_visible_to_overrides`; an
    `unassign_item` override removes the item for its targets (canvas-api.md §10 item 23).
    The most specific level that names the student decides (ad hoc, section, course). With
    group overrides on an assignment only visible to overrides the answer needs group
    membership, which the snapshot lacks: the student counts as assigned, so a missing row is
    reported rather than silently ignored.
    """
    for level in _levels(assignment, student):
        if level:
            return any(not o.unassign_item for o in level)
    if assignment.only_visible_to_overrides:
        return any(o.group_id is not None and not o.unassign_item for o in assignment.overrides)
    return True


def _levels(assignment: Assignment, student: Student) -> tuple[list[Override], ...]:
    """The overrides that apply to `student`, most specific level first."""
    if not assignment.overrides:
        return ()
    sections = set(student.section_ids)
    ad_hoc = [o for o in assignment.overrides if student.id in o.student_ids]
    by_section = [
        o
        for o in assignment.overrides
        if not o.student_ids and o.course_section_id is not None and o.course_section_id in sections
    ]
    by_course = [
        o
        for o in assignment.overrides
        if not o.student_ids and o.course_section_id is None and o.course_id is not None
    ]
    return (ad_hoc, by_section, by_course)


def _latest_due(assignment: Assignment, overrides: Iterable[Override]) -> datetime | None:
    """Latest due date of one override level; "no due date" wins over any dated one."""
    dates = [o.due_at if o.due_at_overridden else assignment.due_at for o in overrides]
    dated = [d for d in dates if d is not None]
    if len(dated) < len(dates):
        return None
    return max(dated)


def whole_seconds(value: datetime | None) -> datetime | None:
    """`value` without microseconds, as Canvas stores `cached_due_date`."""
    return None if value is None else value.replace(microsecond=0)


def reading_status(
    assignment: Assignment,
    submission: Submission | None,
    *,
    due_at: datetime | None,
    now: datetime,
    config: PolicyConfig,
    exempted: bool = False,
    student_id: int | None = None,
    assigned: bool = True,
) -> ReadingResult:
    """Status of one (student, reading) under SPEC §2; `counted` is left False (see totals).

    `due_at` is the student's due date (the submission's `cached_due_date`, or
    `effective_due_date` when Canvas sent no row). `student_id` is only needed when
    `submission` is None, since the result must name its student. With no row the reading is
    UNKNOWN (never scored), or UNASSIGNED when `assigned` is False (see `assigned_to`).
    """
    if submission is not None:
        student_id = submission.student_id
    if student_id is None:
        raise ValueError("reading_status needs a submission or an explicit student_id")
    status, policy, exempt = classify(
        submission,
        due_at,
        now,
        timedelta(seconds=config.grace_seconds),
        exempted,
        apply_custom=config.apply_to_custom_statuses,
    )
    if submission is None and not assigned:
        status, exempt = _UNASSIGNED, False
    return ReadingResult(
        student_id=student_id,
        assignment_id=assignment.id,
        name=assignment.name,
        due_at=due_at,
        submitted_at=None if submission is None else submission.submitted_at,
        status=status,
        canvas_score=None if submission is None else submission.score,
        policy_score=policy,
        exempted=exempt,
    )


def classify(
    submission: Submission | None,
    due_at: datetime | None,
    now: datetime,
    grace: timedelta,
    exempted: bool,
    *,
    apply_custom: bool = False,
) -> Classification:
    """The SPEC §2 status table for one (student, reading): (status, policy score, exempted).

    `exempted` in the result is True when a local exemption exists for a non-excused reading,
    whether or not it changed the outcome, so reports can show it. `apply_custom` applies the
    table to work with a Canvas custom grade status too (otherwise it is left alone).
    """
    if submission is None:
        # No row: Canvas keeps one for every assigned student, so what it holds is unknown.
        # Never zeroed (an absent row is not missing work).
        return (_UNKNOWN, None, exempted)
    deadline = None if due_at is None else due_at + grace
    if submission.excused:
        return (_EXCUSED, None, False)
    if submission.custom_grade_status_id is not None and not apply_custom:
        return _custom_status(submission, exempted)
    if submission.submitted_at is not None:
        return _submitted(submission, submission.submitted_at, deadline, exempted)
    if submission.score and _scored_by_missing_policy(submission):
        # Canvas's missing policy scored it, not a grader: still missing work (0 here).
        return _not_submitted(_TEACHER_MISSING, deadline, now, exempted)
    if submission.score:
        return _graded_without_submission(submission, submission.score, exempted)
    # Nothing submitted and no score, or a 0: a 0 with no submission is what the push (or
    # Canvas's own missing deduction) writes for missing work, so it must stay MISSING instead
    # of turning into an on-time summary after the first push.
    return _not_submitted(submission.late_policy_status, deadline, now, exempted)


def _custom_status(submission: Submission, exempted: bool) -> Classification:
    """A Canvas custom grade status: Canvas treats the work as neither late nor missing and
    clears `late_policy_status` (canvas-lms app/models/submission.rb `late?`, `missing?`,
    `set_status_attributes`). The policy does the same: the Canvas score stands (on time), or
    nothing is decided yet (pending); it is never zeroed."""
    if submission.submitted_at is not None or submission.score is not None:
        return (_ON_TIME, submission.score, exempted)
    return (_PENDING, None, exempted)


def _submitted(
    submission: Submission, submitted_at: datetime, deadline: datetime | None, exempted: bool
) -> Classification:
    """Rows 2-5: work with a `submitted_at` (the latest attempt's time, canvas-api.md §6)."""
    score = submission.score
    teacher = submission.late_policy_status
    if teacher in _TEACHER_ON_TIME:
        # A teacher marked it on time (or extended) in Canvas: the teacher's marking wins.
        return (_ON_TIME, score, exempted)
    teacher_late = teacher == _TEACHER_LATE
    late = teacher_late or (deadline is not None and submitted_at > deadline)
    if not late:
        return (_ON_TIME, score, exempted)
    if exempted:
        return (_ON_TIME, score, True)
    if not teacher_late and deadline is not None and _earlier_on_time(submission, deadline):
        # Canvas judges lateness on the latest attempt only (canvas-api.md §10.1): an on-time
        # summary followed by a late edit looks late. Keep the score and ask a TA.
        return (_LATE_RESUBMISSION, score, False)
    return (_LATE, 0.0, False)


def _earlier_on_time(submission: Submission, deadline: datetime) -> bool:
    """True when `submission_history` holds an attempt at or before the deadline."""
    return any(
        a.submitted_at is not None and a.submitted_at <= deadline for a in submission.history
    )


def _scored_by_missing_policy(submission: Submission) -> bool:
    """A score Canvas's missing policy gave (canvas-api.md §10 item 19): no grader, and Canvas
    still calls the work missing (lib/missing_policy_applicator.rb sets `grader_id` null and
    leaves the status alone; a grade someone enters clears `missing`)."""
    return submission.grader_id is None and (
        submission.missing or submission.late_policy_status == _TEACHER_MISSING
    )


def _graded_without_submission(
    submission: Submission, score: float, exempted: bool
) -> Classification:
    """Row 6: a score with no `submitted_at` (e.g. graded on paper) is on time with its score.

    Canvas nulls `submitted_at` when nothing was submitted online, even when graded. A teacher
    who also marked it `late` in Canvas decided it was late: that marking wins.
    """
    if submission.late_policy_status == _TEACHER_LATE and not exempted:
        return (_LATE, 0.0, False)
    return (_ON_TIME, score, exempted)


def _not_submitted(
    teacher: str | None, deadline: datetime | None, now: datetime, exempted: bool
) -> Classification:
    """Rows 7-8: nothing submitted and no score.

    Canvas's own `missing` flag follows the teacher's status (canvas-api.md §6): `none` or
    `extended` means "not missing" (e.g. an extension granted by hand), `missing` means missing
    even before the due date. Otherwise the work is missing once `now` is past due + grace.
    """
    if teacher in _TEACHER_ON_TIME:
        return (_PENDING, None, exempted)
    overdue = teacher == _TEACHER_MISSING or (deadline is not None and now > deadline)
    if not overdue:
        return (_PENDING, None, exempted)
    if exempted:
        return (_PENDING, None, True)
    return (_MISSING, 0.0, False)
