"""Per-course preparation and the per-reading rows of one student (SPEC §2 statuses).

A course is evaluated for every student against the same readings, `now` and grace period, so
what depends only on those is computed once here (`Plan`) instead of once per (student,
reading). `rows` then walks one student's readings with the common case inlined: see
benchmarks/bench_policy.py for why every step per row matters.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from canvas_sync.domain import Assignment, PolicyConfig, Status, Student, Submission

from .status import assigned_to, classify, effective_due_date, whole_seconds

__all__ = ["NEVER", "Counts", "Plan", "PlannedReading", "Row", "rows"]

_ON_TIME, _RESUBMITTED = Status.ON_TIME, Status.LATE_RESUBMISSION
_EXCUSED, _PENDING = Status.EXCUSED, Status.PENDING
_UNKNOWN, _UNASSIGNED = Status.UNKNOWN, Status.UNASSIGNED
# Sorts after every real date: "no due date" comes last.
NEVER = datetime.max.replace(tzinfo=UTC)


# One reading of one student: the fields of its ReadingResult, in field order (see _build.py).
Row = dict[str, Any]


class PlannedReading:
    """One reading as every student's row needs it, prepared once per course."""

    __slots__ = (
        "assignment",
        "due",
        "fields",
        "id",
        "name",
        "overridden",
        "position",
        "restricted",
    )

    def __init__(self, assignment: Assignment, position: int) -> None:
        self.assignment = assignment
        self.id = assignment.id
        self.name = assignment.name
        # A student with no override and no submission row is due at the assignment's due date.
        self.due = whole_seconds(assignment.due_at)
        self.overridden = bool(assignment.overrides)
        # Not assigned to everyone: a student it is not assigned to is UNASSIGNED even if an
        # old row of theirs is stored (Canvas soft-deletes it, lib/submission_lifecycle_manager).
        self.restricted = assignment.only_visible_to_overrides or any(
            o.unassign_item for o in assignment.overrides
        )
        # Input position: breaks ties exactly as a stable sort of the input would.
        self.position = position
        # A student's row starts as a copy of this: ReadingResult's fields, in field order.
        self.fields: Row = {
            "student_id": 0,
            "assignment_id": assignment.id,
            "name": assignment.name,
            "due_at": None,
            "submitted_at": None,
            "status": None,
            "canvas_score": None,
            "policy_score": None,
            "counted": False,
            "exempted": False,
        }


class Plan:
    """The readings in their usual order, `now`, the grace period and the config of one run.

    `readings` are sorted by (due date, None last; assignment id; input position). A student
    whose due dates are all the usual ones gets the SPEC §6 reading order without sorting.
    """

    __slots__ = ("config", "grace", "in_order", "now", "readings")

    def __init__(self, readings: Sequence[Assignment], now: datetime, config: PolicyConfig) -> None:
        self.now = now
        self.config = config
        self.grace = timedelta(seconds=config.grace_seconds)
        planned = [PlannedReading(a, i) for i, a in enumerate(readings)]
        try:
            planned.sort(key=_usual_order)
            self.in_order = True
        except TypeError:  # naive and aware due dates mixed: each student's sort raises it
            self.in_order = False
        self.readings = tuple(planned)


def _usual_order(reading: PlannedReading) -> tuple[bool, datetime, int, int]:
    due = reading.due
    return (due is None, NEVER if due is None else due, reading.id, reading.position)


class Counts(NamedTuple):
    """Per-student tallies the totals need, counted while the rows are made (order-free)."""

    excused: int
    on_time: int  # ON_TIME or LATE_RESUBMISSION: an on-time submission exists
    ungraded: int  # on time but no Canvas score yet
    pending: int
    submitted: int  # non-excused readings with a `submitted_at`
    unknown: int  # no row from Canvas for an assigned reading (UNKNOWN)


def rows(
    plan: Plan,
    student: Student,
    submissions: Sequence[Submission | None],
    exempt: Collection[int],
) -> tuple[list[Row], Counts]:
    """Each reading's due date and status for one student, in SPEC §6 reading order.

    `submissions` is aligned with `plan.readings`. The student's due date is the submission's
    `cached_due_date` when Canvas sent a row, else `effective_due_date`. `counted` is left False
    for the selection to set.
    """
    now, grace, sid = plan.now, plan.grace, student.id
    custom = plan.config.apply_to_custom_statuses
    in_order = plan.in_order
    out: list[Row] = []
    append = out.append
    excused = on_time = ungraded = pending = submitted = unknown = 0
    any_exempt = bool(exempt)  # most students have no exemption
    for reading, sub in zip(plan.readings, submissions, strict=True):
        usual_due = reading.due
        exempted = any_exempt and reading.id in exempt
        if sub is not None and reading.restricted and not assigned_to(reading.assignment, student):
            sub = None  # a stale row of a student Canvas no longer assigns it to
        if sub is None:
            due = (
                effective_due_date(reading.assignment, student) if reading.overridden else usual_due
            )
            submitted_at = score = None
            if assigned_to(reading.assignment, student):
                status, policy = _UNKNOWN, None
            else:
                status, policy, exempted = _UNASSIGNED, None, False
        else:
            due, submitted_at, score = sub.cached_due_date, sub.submitted_at, sub.score
            if (
                submitted_at is not None
                and not sub.excused
                and sub.late_policy_status is None
                and (due is None or submitted_at <= due + grace)
            ):
                # `classify` row 5 (submitted on time, no teacher marking), inlined: most rows.
                status, policy = _ON_TIME, score
            else:
                status, policy, exempted = classify(
                    sub, due, now, grace, exempted, apply_custom=custom
                )
        if status is _ON_TIME or status is _RESUBMITTED:
            on_time += 1
            if score is None:
                ungraded += 1
            if submitted_at:
                submitted += 1
        elif status is _EXCUSED or status is _UNASSIGNED:
            # Not assigned to the student: out of their pool, as excused work is.
            excused += 1
        elif status is _UNKNOWN:
            unknown += 1
        else:
            if status is _PENDING:
                pending += 1
            if submitted_at:
                submitted += 1
        if due is not usual_due and due != usual_due:
            in_order = False
        # Copying the reading's template and filling it in beats building a 10-key dict.
        row = reading.fields.copy()
        row["student_id"] = sid
        row["due_at"] = due
        row["submitted_at"] = submitted_at
        row["status"] = status
        row["canvas_score"] = score
        row["policy_score"] = policy
        if exempted:
            row["exempted"] = True
        append(row)
    if not in_order:
        out = _by_own_due_date(out, plan.readings)
    return out, Counts(excused, on_time, ungraded, pending, submitted, unknown)


def _by_own_due_date(table: list[Row], readings: Sequence[PlannedReading]) -> list[Row]:
    """The student's own due date, None last, then assignment id (SPEC §6 reading order).

    `table` is aligned with `readings`; input position breaks the remaining ties.
    """

    def key(i: int) -> tuple[bool, datetime, int, int]:
        due = table[i]["due_at"]
        return (due is None, NEVER if due is None else due, readings[i].id, readings[i].position)

    return [table[i] for i in sorted(range(len(table)), key=key)]
