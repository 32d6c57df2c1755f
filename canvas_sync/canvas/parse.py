"""Canvas JSON → domain dataclasses (STYLE 6; canvas-api.md §4-§8). Pure: no I/O, no httpx.

The raw JSON is kept by the caller beside the parsed values (SPEC §10); these functions only
read it. Tolerances, each for a real Canvas behaviour:

- ids arrive as integers, or as strings with `Accept: application/json+canvas-string-ids`;
- timestamps are ISO 8601, normally UTC with `Z`; offsets are converted, naive ones are taken
  as UTC (Canvas encodes every time in UTC); every datetime returned is aware UTC;
- booleans may be null (`excused: null` on untouched rows) and read as False;
- scores may be integers, floats, numeric strings or null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from canvas_sync.domain import (
    Assignment,
    AssignmentGroup,
    Attempt,
    Comment,
    Course,
    LatePolicy,
    Override,
    RubricCriterion,
    Student,
    Submission,
)

__all__ = [
    "parse_assignment",
    "parse_comment",
    "parse_course",
    "parse_enrollment",
    "parse_group",
    "parse_late_policy",
    "parse_override",
    "parse_students",
    "parse_submission",
    "parse_time",
]

Json = Mapping[str, Any]

# Which enrollment state wins when one user has several enrollments (several sections).
_STATE_RANK = ("active", "completed", "invited", "creation_pending", "inactive", "rejected")


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 (`Z` or `±HH:MM`, optional fraction) → aware UTC datetime; None/'' → None."""
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _id(value: Any) -> int:
    """A Canvas id from an int or a digit string (string-ids mode)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a Canvas id: {value!r}")
    return int(value)


def _opt_id(value: Any) -> int | None:
    return None if value is None or value == "" else _id(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _ids(values: Iterable[Any] | None) -> tuple[int, ...]:
    return tuple(_id(v) for v in values or ())


def parse_course(data: Json) -> Course:
    """`GET /courses/:id` → Course; a null `time_zone` keeps the domain default."""
    zone = data.get("time_zone")
    if zone:
        return Course(id=_id(data["id"]), name=str(data.get("name") or ""), time_zone=str(zone))
    return Course(id=_id(data["id"]), name=str(data.get("name") or ""))


def parse_group(data: Json) -> AssignmentGroup:
    """An assignment group; `rules` keys are omitted by Canvas when unset."""
    rules = data.get("rules") or {}
    return AssignmentGroup(
        id=_id(data["id"]),
        name=str(data.get("name") or ""),
        drop_lowest=int(rules.get("drop_lowest") or 0),
        drop_highest=int(rules.get("drop_highest") or 0),
        never_drop=_ids(rules.get("never_drop")),
    )


def parse_override(data: Json, assignment_id: int | None = None) -> Override:
    """An assignment override (canvas-lms lib/api/v1/assignment_override.rb).

    `due_at` is only in the JSON when the override sets a due date (`due_at_overridden`);
    without it the assignment's date applies. A Course override carries `course_id`; an
    `unassign_item` override removes the assignment for its targets.
    """
    return Override(
        id=_id(data["id"]),
        assignment_id=_id(data.get("assignment_id", assignment_id)),
        due_at=parse_time(data.get("due_at")),
        student_ids=_ids(data.get("student_ids")),
        course_section_id=_opt_id(data.get("course_section_id")),
        group_id=_opt_id(data.get("group_id")),
        title=str(data.get("title") or ""),
        due_at_overridden="due_at" in data,
        course_id=_opt_id(data.get("course_id")),
        unassign_item=bool(data.get("unassign_item") or False),
    )


def _criterion(data: Json) -> RubricCriterion:
    return RubricCriterion(
        id=str(data["id"]),
        description=str(data.get("description") or ""),
        points=float(data.get("points") or 0.0),
    )


def parse_assignment(data: Json) -> Assignment:
    """An assignment with its rubric criteria and overrides (`include[]=overrides`)."""
    assignment_id = _id(data["id"])
    return Assignment(
        id=assignment_id,
        name=str(data.get("name") or ""),
        assignment_group_id=_opt_id(data.get("assignment_group_id")),
        points_possible=_opt_float(data.get("points_possible")),
        due_at=parse_time(data.get("due_at")),
        published=bool(data.get("published", True)),
        omit_from_final_grade=bool(data.get("omit_from_final_grade") or False),
        submission_types=tuple(str(t) for t in data.get("submission_types") or ()),
        rubric=tuple(_criterion(c) for c in data.get("rubric") or ()),
        overrides=tuple(parse_override(o, assignment_id) for o in data.get("overrides") or ()),
        only_visible_to_overrides=bool(data.get("only_visible_to_overrides") or False),
    )


def parse_enrollment(data: Json) -> Student:
    """One enrollment → Student; the test student is the `StudentViewEnrollment` (SPEC §2)."""
    user = data.get("user") or {}
    name = str(user.get("name") or "")
    section = _opt_id(data.get("course_section_id"))
    return Student(
        id=_id(user.get("id", data.get("user_id"))),
        name=name,
        sortable_name=str(user.get("sortable_name") or name),
        sis_user_id=_opt_str(user.get("sis_user_id") or data.get("sis_user_id")),
        login_id=_opt_str(user.get("login_id")),
        enrollment_state=str(data.get("enrollment_state") or "active"),
        is_test_student=data.get("type") == "StudentViewEnrollment",
        section_ids=() if section is None else (section,),
    )


def _rank(state: str) -> int:
    return _STATE_RANK.index(state) if state in _STATE_RANK else len(_STATE_RANK)


def parse_students(enrollments: Iterable[Json]) -> tuple[Student, ...]:
    """Enrollments → one Student per user, in first-seen order.

    A user enrolled in several sections has one enrollment per section: their sections are
    merged and the most "alive" state wins (active > completed > invited > ... > deleted), so a
    student active in any section is included (SPEC §2).
    """
    merged: dict[int, Student] = {}
    for data in enrollments:
        student = parse_enrollment(data)
        known = merged.get(student.id)
        if known is None:
            merged[student.id] = student
            continue
        best = student if _rank(student.enrollment_state) < _rank(known.enrollment_state) else known
        sections = tuple(dict.fromkeys(known.section_ids + student.section_ids))
        merged[student.id] = Student(
            id=best.id,
            name=best.name,
            sortable_name=best.sortable_name,
            sis_user_id=best.sis_user_id or known.sis_user_id or student.sis_user_id,
            login_id=best.login_id or known.login_id or student.login_id,
            enrollment_state=best.enrollment_state,
            is_test_student=known.is_test_student and student.is_test_student,
            section_ids=sections,
        )
    return tuple(merged.values())


def parse_comment(data: Json) -> Comment:
    return Comment(
        id=_id(data["id"]),
        author_id=_opt_id(data.get("author_id")),
        comment=str(data.get("comment") or ""),
        created_at=parse_time(data.get("created_at")),
    )


def _history(data: Json) -> tuple[Attempt, ...]:
    """`submission_history` → attempts ordered by time, one per distinct `submitted_at`.

    Versions with no `submitted_at` (a grade entered before any submission) are not attempts.
    Without the include, the latest attempt alone is synthesised from the top-level fields so
    the policy always sees at least the attempt Canvas judges lateness by.
    """
    attempts: dict[datetime, Attempt] = {}
    for version in data.get("submission_history") or ():
        submitted = parse_time(version.get("submitted_at"))
        if submitted is not None:
            attempts[submitted] = Attempt(
                attempt=_opt_int(version.get("attempt")),
                submitted_at=submitted,
                score=_opt_float(version.get("score")),
            )
    latest = parse_time(data.get("submitted_at"))
    if not attempts and latest is not None:
        attempts[latest] = Attempt(
            _opt_int(data.get("attempt")), latest, _opt_float(data.get("score"))
        )
    return tuple(attempts[key] for key in sorted(attempts))


def _rubric_points(data: Json) -> dict[str, float | None]:
    assessment = data.get("rubric_assessment") or {}
    return {str(k): _opt_float((v or {}).get("points")) for k, v in assessment.items()}


def parse_submission(data: Json) -> Submission:
    """A `students/submissions` row (placeholders included) → Submission (canvas-api.md §6)."""
    return Submission(
        id=_id(data["id"]),
        student_id=_id(data["user_id"]),
        assignment_id=_id(data["assignment_id"]),
        submitted_at=parse_time(data.get("submitted_at")),
        cached_due_date=parse_time(data.get("cached_due_date")),
        score=_opt_float(data.get("score")),
        grade=_opt_str(data.get("grade")),
        entered_score=_opt_float(data.get("entered_score")),
        attempt=_opt_int(data.get("attempt")),
        workflow_state=str(data.get("workflow_state") or "unsubmitted"),
        submission_type=_opt_str(data.get("submission_type")),
        excused=bool(data.get("excused") or False),
        late=bool(data.get("late") or False),
        missing=bool(data.get("missing") or False),
        seconds_late=round(float(data.get("seconds_late") or 0)),
        late_policy_status=_opt_str(data.get("late_policy_status")),
        custom_grade_status_id=_opt_id(data.get("custom_grade_status_id")),
        graded_at=parse_time(data.get("graded_at")),
        grader_id=_opt_id(data.get("grader_id")),
        history=_history(data),
        rubric_assessment=_rubric_points(data),
        comments=tuple(parse_comment(c) for c in data.get("submission_comments") or ()),
    )


def parse_late_policy(data: Json) -> LatePolicy:
    """The course Late Policy, wrapped (`{"late_policy": {...}}`) or not."""
    policy = data.get("late_policy", data)
    return LatePolicy(
        late_submission_deduction_enabled=bool(policy.get("late_submission_deduction_enabled")),
        late_submission_deduction=float(policy.get("late_submission_deduction") or 0.0),
        missing_submission_deduction_enabled=bool(
            policy.get("missing_submission_deduction_enabled")
        ),
        missing_submission_deduction=float(policy.get("missing_submission_deduction") or 0.0),
    )
