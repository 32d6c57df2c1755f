"""Row builders for tests (STYLE 11): domain values with sensible CS 598 defaults, so a test
names only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from canvas_sync.domain import Assignment, Finding, Kind, RubricCriterion, Student, Submission

COURSE_ID = 598
#: 23:59:59 America/Chicago on Feb 3, 2026 (the first reading's due time), in UTC.
DUE = datetime(2026, 2, 4, 5, 59, 59, tzinfo=UTC)
RUBRIC = tuple(RubricCriterion(f"P{i}", f"P{i}", 2.0) for i in range(1, 6))


def student(id: int = 1001, name: str = "Ada Lovelace", **changes: Any) -> Student:
    last_first = ", ".join(reversed(name.split(" ", 1)))
    fields: dict[str, Any] = {"sortable_name": last_first, "sis_user_id": f"sis{id}"}
    fields.update(changes)
    return Student(id, name, **fields)


def assignment(id: int = 2001, name: str = "Summary: LoRA", **changes: Any) -> Assignment:
    fields: dict[str, Any] = {
        "assignment_group_id": 7,
        "points_possible": 10.0,
        "due_at": DUE,
        "rubric": RUBRIC,
    }
    fields.update(changes)
    return Assignment(id, name, **fields)


def submission(
    id: int = 1, student_id: int = 1001, assignment_id: int = 2001, **changes: Any
) -> Submission:
    fields: dict[str, Any] = {"submitted_at": DUE, "cached_due_date": DUE}
    fields.update(changes)
    return Submission(id, student_id, assignment_id, **fields)


def finding(
    kind: Kind = Kind.LATE_GRADED, student_id: int | None = 1001, **changes: Any
) -> Finding:
    fields: dict[str, Any] = {
        "assignment_id": 2001,
        "canvas_value": "8",
        "expected_value": "0",
        "message": f"{kind.value} for {student_id}.",
    }
    fields.update(changes)
    return Finding(kind, student_id, **fields)
