"""Canvas's Tardiness rules, effective due dates and late-policy deduction, as pure functions.

Mirrors canvas-lms `Submission::Tardiness`, `EffectiveDueDates` and `LatePolicy#points_deducted`
(canvas-api.md §6, §8). Every function takes the current time explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from canvas_sync.simulator.records import Assignment, LatePolicy, Override, Submission

__all__ = [
    "effective_due",
    "format_grade",
    "is_assigned",
    "is_late",
    "is_missing",
    "points_deducted",
    "points_for_missing",
    "seconds_late",
]

# Submission types that mean "nothing to hand in online": Canvas never marks these missing.
_NO_ONLINE_SUBMISSION = {"none", "on_paper", "not_graded", "external_tool", "wiki_page"}


def _override_due(override: Override, assignment: Assignment) -> datetime | None:
    # An override that does not override due_at inherits the assignment's date.
    if "due_at" in override.dates:
        return override.dates["due_at"]
    return assignment.due_at


def _level_due(dates: list[datetime | None]) -> datetime | None:
    # Within a level an undated override beats any dated one, else the latest date wins.
    if any(d is None for d in dates):
        return None
    return max(d for d in dates if d is not None)


def _levels(
    assignment: Assignment, overrides: Iterable[Override], user_id: int, section_ids: Iterable[int]
) -> list[list[Override]]:
    """The student's overrides of `assignment`, most specific level first: ad hoc, section,
    course (lib/effective_due_dates.rb)."""
    sections = set(section_ids)
    own = [o for o in overrides if o.assignment_id == assignment.id]
    return [
        [o for o in own if o.student_ids and user_id in o.student_ids],
        [o for o in own if not o.student_ids and o.section_id in sections],
        [o for o in own if not o.student_ids and o.section_id is None and o.course],
    ]


def is_assigned(
    assignment: Assignment, overrides: Iterable[Override], user_id: int, section_ids: Iterable[int]
) -> bool:
    """Whether the assignment is assigned to the student (and so has a submission row).

    canvas-lms lib/effective_due_dates.rb: through an override that applies to the student, or
    "Everyone else" unless `only_visible_to_overrides`; the most specific level naming the
    student decides, and an `unassign_item` override there takes the assignment away.
    """
    for level in _levels(assignment, list(overrides), user_id, section_ids):
        if level:
            return any(not o.unassign_item for o in level)
    return not assignment.only_visible_to_overrides


def effective_due(
    assignment: Assignment,
    overrides: Iterable[Override],
    user_id: int,
    section_ids: Iterable[int],
) -> datetime | None:
    """The student's due date: ad hoc override > section override > Course override > the
    everyone date; an override without `due_at` gives the assignment's date
    (lib/effective_due_dates.rb `CASE WHEN o.due_at_overridden ...`).

    Canvas stores it as `cached_due_date` with microseconds dropped (canvas-api.md §6).
    """
    for level in _levels(assignment, list(overrides), user_id, section_ids):
        dated = [_override_due(o, assignment) for o in level if not o.unassign_item]
        if dated:
            return _strip(_level_due(dated))
    return _strip(assignment.due_at)


def _strip(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=0) if value is not None else None


def seconds_late(
    sub: Submission, due: datetime | None, now: datetime, submitted_at: datetime | None
) -> int:
    """`seconds_late_override` if status is late; else the gap past due (now if unsubmitted)."""
    if sub.late_policy_status == "late":
        return sub.seconds_late_override or 0
    when = submitted_at or now
    if due is None or when <= due:
        return 0
    return int((when - due).total_seconds())


def is_late(sub: Submission, late_seconds: int, submitted_at: datetime | None) -> bool:
    """Excused or a custom status → no (submission.rb `late?`); a set status wins; else
    submitted and seconds_late > 0 (latest attempt)."""
    if sub.excused or sub.custom_grade_status_id is not None:
        return False
    if sub.late_policy_status:
        return sub.late_policy_status == "late"
    return submitted_at is not None and late_seconds > 0


def is_missing(
    sub: Submission, assignment: Assignment, late_seconds: int, submitted_at: datetime | None
) -> bool:
    """Canvas `missing?`: a grade with no status clears it (gotcha 3); on_paper never missing;
    excused or a custom status → no (submission.rb `missing?`)."""
    if sub.excused or sub.custom_grade_status_id is not None:
        return False
    if sub.grader_id is not None and sub.late_policy_status is None:
        return False
    if sub.late_policy_status:
        return sub.late_policy_status == "missing"
    if submitted_at is not None or late_seconds <= 0:
        return False
    return not set(assignment.submission_types) <= _NO_ONLINE_SUBMISSION


def points_deducted(
    policy: LatePolicy | None, assignment: Assignment, entered: float | None, late_seconds: int
) -> float | None:
    """Late-policy deduction in points, or None when the policy does not apply (gotcha 4)."""
    if policy is None or not policy.late_submission_deduction_enabled or entered is None:
        return None
    possible = assignment.points_possible
    if late_seconds <= 0 or possible <= 0 or assignment.grading_type == "pass_fail":
        return None
    interval = 3600 if policy.late_submission_interval == "hour" else 86400
    percent = policy.late_submission_deduction * math.ceil(late_seconds / interval)
    # LatePolicy#points_deducted: never below the minimum percent, which is 0 when disabled,
    # so a late 0 stays 0 (canvas-api.md §8: min(rate × intervals, raw% − min%)).
    minimum = (
        policy.late_submission_minimum_percent
        if policy.late_submission_minimum_percent_enabled
        else 0.0
    )
    raw = entered * 100 / possible
    percent = min(percent, max(raw - minimum, 0.0), 100.0)
    return round(possible * percent / 100, 2)


def points_for_missing(policy: LatePolicy, assignment: Assignment) -> float:
    """`LatePolicy#points_for_missing` (canvas-lms app/models/late_policy.rb): the score the
    missing policy gives, points × (1 − deduction%), 0 for pass/fail or no points."""
    possible = assignment.points_possible
    if possible <= 0 or assignment.grading_type == "pass_fail":
        return 0.0
    deducted = possible * policy.missing_submission_deduction / 100
    return round(possible - deducted, 2)


def format_grade(score: float | None, assignment: Assignment) -> str | None:
    """Canvas's `grade` string for a points/percent assignment ("8", "7.5", "40%")."""
    if score is None:
        return None
    if assignment.grading_type == "percent" and assignment.points_possible:
        return f"{_trim(score * 100 / assignment.points_possible)}%"
    if assignment.grading_type == "pass_fail":
        return "complete" if score >= assignment.points_possible else "incomplete"
    return _trim(score)


def _trim(value: float) -> str:
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"
