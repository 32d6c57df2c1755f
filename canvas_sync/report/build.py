"""The SPEC §6 report: a typed model, its builder and its stable JSON shape.

`build_report` decides *what* is reported (which students, which discrepancies, in which
order); the renderers in `render.py` only decide *how* it looks. `report_to_dict` is the one
place that knows SPEC §6's exact keys, so scripts reading the JSON never see a renderer's
display rounding.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from canvas_sync.domain import (
    Course,
    DiscrepancyRecord,
    PolicyConfig,
    ReadingResult,
    Selection,
    Severity,
    StudentResult,
)
from canvas_sync.errors import UsageError
from canvas_sync.policy import reading_labels

__all__ = [
    "PolicySummary",
    "Report",
    "build_report",
    "report_to_dict",
    "utc_z",
]

# Errors first: a TA reading the list top-down meets what push would get wrong before notes.
_SEVERITY_RANK: dict[Severity, int] = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class PolicySummary:
    """The `policy` object of SPEC §6: the syllabus rule the totals were computed under."""

    required: int
    pool: int
    points_per_summary: float
    selection: Selection
    weight: float


@dataclass(frozen=True)
class Report:
    """SPEC §6 as typed values.

    `students` holds only included students (SPEC §2), sorted by sortable name, each with its
    readings sorted by that student's due date (undated last). `discrepancies` holds only
    course-level ones and those of the reported students, errors first, then by id.
    """

    course: Course
    generated_at: datetime
    policy: PolicySummary
    students: tuple[StudentResult, ...]
    discrepancies: tuple[DiscrepancyRecord, ...]
    #: assignment id → "R07", from the whole course (the labels push and the column use too).
    labels: Mapping[int, str] = dataclasses.field(default_factory=dict)


def build_report(
    course: Course,
    config: PolicyConfig,
    *,
    pool: int,
    results: Sequence[StudentResult],
    discrepancies: Sequence[DiscrepancyRecord],
    generated_at: datetime,
    student_id: int | None = None,
) -> Report:
    """Assemble the report (SPEC §6) from policy results.

    Excluded students (inactive, invited, deleted, the test student: SPEC §2) are dropped from
    `students` and their discrepancies from `discrepancies`; course-level discrepancies
    (`student_id` None) always stay; one naming a student absent from `results` is dropped
    too, since nothing shows that student is included. With `student_id`, only that student
    and their own plus the course-level discrepancies remain; an id that is not an included
    student is a `UsageError` (the CLI's `report --student`).
    """
    utc_z(generated_at)  # fail early on a naive clock, not halfway through rendering
    included = [r for r in results if r.student.included]
    labels = reading_labels(included)  # before choosing one student: the course's labels
    if student_id is not None:
        included = [r for r in included if r.student.id == student_id]
        if not included:
            raise UsageError(
                f"Student {student_id} is not an active or completed student of course "
                f"{course.id}; use a Canvas user id from the full report."
            )
    students = tuple(_sort_readings(r) for r in sorted(included, key=_student_key))
    kept_ids = {r.student.id for r in students}
    kept = [d for d in discrepancies if d.student_id is None or d.student_id in kept_ids]
    policy = PolicySummary(
        required=config.required,
        pool=pool,
        points_per_summary=config.points_per_summary,
        selection=config.selection,
        weight=config.weight,
    )
    return Report(
        course=course,
        generated_at=generated_at,
        policy=policy,
        students=students,
        discrepancies=tuple(sorted(kept, key=_discrepancy_key)),
        labels=labels,
    )


def _student_key(result: StudentResult) -> tuple[str, str, int]:
    # Canvas orders sortable_name case-insensitively ("de Vries, Anna" sits with the D's);
    # the raw name then the id break ties so the order never depends on input order.
    name = result.student.sortable_name
    return (name.casefold(), name, result.student.id)


def _reading_key(reading: ReadingResult) -> tuple[bool, datetime, int]:
    # Undated readings (no due date at all) go last; the assignment id keeps ties stable,
    # e.g. the two CS 598 readings both due the night before Feb 6.
    due = reading.due_at
    return (due is None, due or datetime.max.replace(tzinfo=UTC), reading.assignment_id)


def _sort_readings(result: StudentResult) -> StudentResult:
    readings = tuple(sorted(result.readings, key=_reading_key))
    return dataclasses.replace(result, readings=readings)


def _discrepancy_key(record: DiscrepancyRecord) -> tuple[int, int]:
    return (_SEVERITY_RANK[record.severity], record.id)


# --- SPEC §6 JSON -------------------------------------------------------------------------


def utc_z(moment: datetime) -> str:
    """A time as SPEC §6 writes it: UTC, ISO 8601, whole seconds, `Z` (like Canvas itself)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} in a report; domain times are UTC")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_z_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else utc_z(moment)


def _exact(value: float | None) -> float | None:
    """An exact (unrounded) number as a JSON float; NaN/inf become null so the JSON stays valid."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _whole(value: float) -> int | float:
    """A configured quantity (140, 10, 20): an int when whole, as SPEC §6's example shows."""
    return int(value) if float(value).is_integer() else float(value)


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as SPEC §6's JSON object: exactly its keys, in its order.

    Ids are ints, times UTC `...Z`, `canvas_value`/`expected_value` strings or null;
    `points`, `percent`, `weighted` and scores are exact floats (no display rounding);
    `possible` and the policy numbers are ints when whole.
    """
    policy = report.policy
    return {
        "course": {"id": int(report.course.id), "name": report.course.name},
        "generated_at": utc_z(report.generated_at),
        "policy": {
            "required": int(policy.required),
            "pool": int(policy.pool),
            "points_per_summary": _whole(policy.points_per_summary),
            "selection": policy.selection.value,
            "weight": _whole(policy.weight),
        },
        "students": [_student_dict(s) for s in report.students],
        "discrepancies": [_discrepancy_dict(d) for d in report.discrepancies],
    }


def _student_dict(result: StudentResult) -> dict[str, Any]:
    student = result.student
    return {
        "id": int(student.id),
        "name": student.name,
        "sis_user_id": student.sis_user_id,
        "readings": [_reading_dict(r) for r in result.readings],
        "points": _exact(result.points),
        "possible": _whole(result.possible),
        "percent": _exact(result.percent),
        "weighted": _exact(result.weighted),
        "on_time_count": int(result.on_time_count),
        "ungraded_count": int(result.ungraded_count),
        "at_risk": bool(result.at_risk),
    }


def _reading_dict(reading: ReadingResult) -> dict[str, Any]:
    return {
        "assignment_id": int(reading.assignment_id),
        "name": reading.name,
        "due_at": _utc_z_or_none(reading.due_at),
        "submitted_at": _utc_z_or_none(reading.submitted_at),
        "status": reading.status.value,
        "canvas_score": _exact(reading.canvas_score),
        "policy_score": _exact(reading.policy_score),
        "counted": bool(reading.counted),
    }


def _discrepancy_dict(record: DiscrepancyRecord) -> dict[str, Any]:
    return {
        "id": int(record.id),
        "kind": record.kind.value,
        "severity": record.severity.value,
        "student_id": None if record.student_id is None else int(record.student_id),
        "assignment_id": None if record.assignment_id is None else int(record.assignment_id),
        "canvas_value": None if record.canvas_value is None else str(record.canvas_value),
        "expected_value": None if record.expected_value is None else str(record.expected_value),
        "message": record.message,
        "state": record.state,
    }
