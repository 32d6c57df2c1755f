"""Queries: domain values in, domain values out. Functions take a `Session`; `service.py` owns
the transaction (STYLE practice 10)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from canvas_sync.db._submissions import load_submissions, overlay_submissions, save_submissions
from canvas_sync.db.models import (
    AssignmentGroupRow,
    AssignmentRow,
    CourseRow,
    OverrideRow,
    StudentRow,
    SubmissionRow,
)
from canvas_sync.domain import (
    Assignment,
    AssignmentGroup,
    Course,
    LatePolicy,
    Override,
    RubricCriterion,
    Student,
)

__all__ = [
    "StoredPairs",
    "assignment_raws",
    "count_rows",
    "load_assignments",
    "load_course",
    "load_course_row",
    "load_groups",
    "load_late_policy",
    "load_students",
    "load_submissions",
    "overlay_submissions",
    "save_assignments",
    "save_course",
    "save_groups",
    "save_students",
    "save_submissions",
    "set_watermarks",
    "submission_pairs",
]


# --- course -------------------------------------------------------------------------------


def load_course_row(session: Session, course_id: int) -> CourseRow | None:
    return session.get(CourseRow, course_id)


def load_course(session: Session, course_id: int) -> Course | None:
    row = session.get(CourseRow, course_id)
    return None if row is None else Course(row.id, row.name, row.time_zone)


def save_course(
    session: Session,
    course_id: int,
    course: tuple[Course, dict[str, Any]] | None,
    late_policy: tuple[LatePolicy, dict[str, Any]] | None,
) -> int:
    row = session.get(CourseRow, course_id)
    changed = 0
    if row is None:
        row = CourseRow(id=course_id, name="", time_zone="UTC", raw={})
        session.add(row)
        changed = 1
    if course is not None and row.raw != course[1]:
        row.name, row.time_zone, row.raw = course[0].name, course[0].time_zone, course[1]
        changed = 1
    policy_raw = late_policy[1] if late_policy else None
    if row.late_policy != policy_raw:
        row.late_policy = policy_raw
        changed = 1
    return changed


def set_watermarks(
    session: Session,
    course_id: int,
    submitted: datetime | None,
    graded: datetime | None,
    full_at: datetime | None,
) -> None:
    row = session.get(CourseRow, course_id)
    assert row is not None
    row.submitted_watermark, row.graded_watermark = submitted, graded
    if full_at is not None:
        row.last_full_sync_at = full_at


def load_late_policy(session: Session, course_id: int) -> LatePolicy | None:
    row = session.get(CourseRow, course_id)
    if row is None or not row.late_policy:
        return None
    raw = row.late_policy.get("late_policy", row.late_policy)
    return LatePolicy(
        late_submission_deduction_enabled=bool(raw.get("late_submission_deduction_enabled")),
        late_submission_deduction=float(raw.get("late_submission_deduction") or 0.0),
        missing_submission_deduction_enabled=bool(raw.get("missing_submission_deduction_enabled")),
        missing_submission_deduction=float(raw.get("missing_submission_deduction") or 0.0),
    )


# --- students ---------------------------------------------------------------------------


#: Students whose stored JSON is compared at once (`save_students`).
STUDENT_CHUNK = 500


def save_students(
    session: Session, course_id: int, students: Sequence[tuple[Student, dict[str, Any]]]
) -> int:
    """Insert new students, update those whose raw JSON changed; the number of rows written.

    The stored JSON is compared STUDENT_CHUNK students at a time, read as plain columns: only
    the changed rows become ORM objects."""
    changed = 0
    for start in range(0, len(students), STUDENT_CHUNK):
        for student, raw, row in _changed_students(
            session, course_id, students[start : start + STUDENT_CHUNK]
        ):
            if row is None:
                row = StudentRow(course_id=course_id, id=student.id)
                session.add(row)
            row.name, row.sortable_name = student.name, student.sortable_name
            row.sis_user_id, row.login_id = student.sis_user_id, student.login_id
            row.enrollment_state, row.is_test_student = (
                student.enrollment_state,
                student.is_test_student,
            )
            row.section_ids, row.raw = list(student.section_ids), raw
            changed += 1
    seen = {s.id for s, _ in students}
    states = session.execute(
        select(StudentRow.id, StudentRow.enrollment_state).where(StudentRow.course_id == course_id)
    )
    # Canvas no longer lists the enrollment (deleted): keep the row, stop including it.
    gone = [i for i, state in states if i not in seen and state != "deleted"]
    for row in _student_rows(session, course_id, gone):
        row.enrollment_state = "deleted"
    return changed + len(gone)


def _changed_students(
    session: Session, course_id: int, part: Sequence[tuple[Student, dict[str, Any]]]
) -> list[tuple[Student, dict[str, Any], StudentRow | None]]:
    """The students of `part` whose raw JSON is not the stored one, with their row if any."""
    rows = session.execute(
        select(StudentRow.id, StudentRow.raw).where(
            StudentRow.course_id == course_id, StudentRow.id.in_([s.id for s, _ in part])
        )
    )
    stored: dict[int, Any] = {row_id: row_raw for row_id, row_raw in rows}
    fresh = [(s, raw) for s, raw in part if s.id not in stored or stored[s.id] != raw]
    existing = {
        r.id: r
        for r in _student_rows(session, course_id, [s.id for s, _ in fresh if s.id in stored])
    }
    return [(s, raw, existing.get(s.id)) for s, raw in fresh]


def _student_rows(session: Session, course_id: int, ids: Sequence[int]) -> list[StudentRow]:
    """The ORM rows of these students, STUDENT_CHUNK ids a query."""
    return [
        row
        for start in range(0, len(ids), STUDENT_CHUNK)
        for row in session.scalars(
            select(StudentRow).where(
                StudentRow.course_id == course_id,
                StudentRow.id.in_(ids[start : start + STUDENT_CHUNK]),
            )
        )
    ]


def load_students(session: Session, course_id: int) -> list[Student]:
    # Plain columns, not ORM objects: no raw JSON (kilobytes a student) is read.
    rows = session.execute(
        select(
            StudentRow.id,
            StudentRow.name,
            StudentRow.sortable_name,
            StudentRow.sis_user_id,
            StudentRow.login_id,
            StudentRow.enrollment_state,
            StudentRow.is_test_student,
            StudentRow.section_ids,
        )
        .where(StudentRow.course_id == course_id)
        .order_by(StudentRow.id)
    )
    return [
        Student(
            id=r.id,
            name=r.name,
            sortable_name=r.sortable_name,
            sis_user_id=r.sis_user_id,
            login_id=r.login_id,
            enrollment_state=r.enrollment_state,
            is_test_student=r.is_test_student,
            section_ids=tuple(r.section_ids or ()),
        )
        for r in rows
    ]


# --- groups and assignments ---------------------------------------------------------------


def listed_enrollments(session: Session, course_id: int) -> list[dict[str, Any]]:
    """The raw enrollments of every stored student Canvas still listed (not marked deleted)."""
    rows = session.execute(
        select(StudentRow.raw).where(
            StudentRow.course_id == course_id, StudentRow.enrollment_state != "deleted"
        )
    )
    return [
        e
        for (raw,) in rows
        if isinstance(raw, dict) and isinstance(raw.get("enrollments"), list)
        for e in raw["enrollments"]
        if isinstance(e, dict)
    ]


def save_groups(
    session: Session, course_id: int, groups: Sequence[tuple[AssignmentGroup, dict[str, Any]]]
) -> int:
    existing = {
        r.id: r
        for r in session.scalars(
            select(AssignmentGroupRow).where(AssignmentGroupRow.course_id == course_id)
        )
    }
    changed = 0
    for group, raw in groups:
        row = existing.pop(group.id, None)
        if row is not None and row.raw == raw:
            continue
        if row is None:
            row = AssignmentGroupRow(course_id=course_id, id=group.id)
            session.add(row)
        row.name, row.raw = group.name, raw
        row.rules = {
            "drop_lowest": group.drop_lowest,
            "drop_highest": group.drop_highest,
            "never_drop": list(group.never_drop),
        }
        changed += 1
    for row in existing.values():
        session.delete(row)
        changed += 1
    return changed


def load_groups(session: Session, course_id: int) -> list[AssignmentGroup]:
    rows = session.scalars(
        select(AssignmentGroupRow)
        .where(AssignmentGroupRow.course_id == course_id)
        .order_by(AssignmentGroupRow.id)
    )
    return [
        AssignmentGroup(
            id=r.id,
            name=r.name,
            drop_lowest=int(r.rules.get("drop_lowest", 0)),
            drop_highest=int(r.rules.get("drop_highest", 0)),
            never_drop=tuple(r.rules.get("never_drop", ())),
        )
        for r in rows
    ]


def save_assignments(
    session: Session, course_id: int, assignments: Sequence[tuple[Assignment, dict[str, Any]]]
) -> int:
    existing = {
        r.id: r
        for r in session.scalars(select(AssignmentRow).where(AssignmentRow.course_id == course_id))
    }
    changed = 0
    for assignment, raw in assignments:
        row = existing.pop(assignment.id, None)
        if row is not None and row.raw == raw:
            continue
        if row is None:
            row = AssignmentRow(course_id=course_id, id=assignment.id)
            session.add(row)
        row.name, row.assignment_group_id = assignment.name, assignment.assignment_group_id
        row.points_possible, row.due_at = assignment.points_possible, assignment.due_at
        row.published, row.omit_from_final_grade = (
            assignment.published,
            assignment.omit_from_final_grade,
        )
        row.submission_types = list(assignment.submission_types)
        row.rubric = [
            {"id": c.id, "description": c.description, "points": c.points}
            for c in assignment.rubric
        ]
        row.raw = raw
        session.execute(
            delete(OverrideRow).where(
                OverrideRow.course_id == course_id, OverrideRow.assignment_id == assignment.id
            )
        )
        session.flush()
        for override in assignment.overrides:
            session.add(
                OverrideRow(
                    course_id=course_id,
                    id=override.id,
                    assignment_id=assignment.id,
                    due_at=override.due_at,
                    student_ids=list(override.student_ids),
                    course_section_id=override.course_section_id,
                    group_id=override.group_id,
                    raw={
                        "title": override.title,
                        "due_at_overridden": override.due_at_overridden,
                        "course_id": override.course_id,
                        "unassign_item": override.unassign_item,
                    },
                )
            )
        changed += 1
    for row in existing.values():
        # Deleted in Canvas: gone from the list, so gone from here (its submissions stay, unused).
        session.delete(row)
        changed += 1
    return changed


def load_assignments(session: Session, course_id: int) -> list[Assignment]:
    overrides: dict[int, list[Override]] = {}
    for o in session.scalars(
        select(OverrideRow).where(OverrideRow.course_id == course_id).order_by(OverrideRow.id)
    ):
        overrides.setdefault(o.assignment_id, []).append(
            Override(
                id=o.id,
                assignment_id=o.assignment_id,
                due_at=o.due_at,
                student_ids=tuple(o.student_ids or ()),
                course_section_id=o.course_section_id,
                group_id=o.group_id,
                title=str((o.raw or {}).get("title", "")),
                due_at_overridden=bool((o.raw or {}).get("due_at_overridden", True)),
                course_id=(o.raw or {}).get("course_id"),
                unassign_item=bool((o.raw or {}).get("unassign_item", False)),
            )
        )
    rows = session.scalars(
        select(AssignmentRow).where(AssignmentRow.course_id == course_id).order_by(AssignmentRow.id)
    )
    return [
        Assignment(
            id=r.id,
            name=r.name,
            assignment_group_id=r.assignment_group_id,
            points_possible=r.points_possible,
            due_at=r.due_at,
            published=r.published,
            omit_from_final_grade=r.omit_from_final_grade,
            submission_types=tuple(r.submission_types or ()),
            rubric=tuple(
                RubricCriterion(str(c["id"]), str(c.get("description", "")), float(c["points"]))
                for c in r.rubric or ()
            ),
            overrides=tuple(overrides.get(r.id, ())),
            only_visible_to_overrides=bool((r.raw or {}).get("only_visible_to_overrides")),
        )
        for r in rows
    ]


def assignment_raws(session: Session, course_id: int) -> dict[int, dict[str, Any]]:
    rows = session.execute(
        select(AssignmentRow.id, AssignmentRow.raw).where(AssignmentRow.course_id == course_id)
    )
    return {row_id: raw or {} for row_id, raw in rows}


class StoredPairs:
    """(student id, assignment id) of stored submission rows, compactly: per assignment a
    sorted array of student ids (8 bytes a row, where a set of tuples takes ~150)."""

    def __init__(self, by_assignment: dict[int, array[int]]) -> None:
        self._by_assignment = by_assignment

    def __contains__(self, pair: object) -> bool:
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        student_id, assignment_id = pair
        students = self._by_assignment.get(assignment_id)
        if students is None:
            return False
        at = bisect_left(students, student_id)
        return at < len(students) and students[at] == student_id

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._by_assignment.values())


def submission_pairs(session: Session, course_id: int) -> StoredPairs:
    """(student id, assignment id) of every stored submission row of the course; read as a
    stream of plain rows (a course has tens of thousands)."""
    rows = session.connection().execute(
        select(SubmissionRow.assignment_id, SubmissionRow.student_id)
        .where(SubmissionRow.course_id == course_id)
        .order_by(SubmissionRow.assignment_id, SubmissionRow.student_id)
    )
    by_assignment: dict[int, array[int]] = {}
    for assignment_id, student_id in rows:
        students = by_assignment.get(assignment_id)
        if students is None:
            students = by_assignment[assignment_id] = array("q")
        students.append(student_id)
    return StoredPairs(by_assignment)


def count_rows(session: Session, course_id: int) -> dict[str, int]:
    def n(model: Any) -> int:
        return int(
            session.scalar(
                select(func.count()).select_from(model).where(model.course_id == course_id)
            )
            or 0
        )

    return {
        "students": n(StudentRow),
        "assignments": n(AssignmentRow),
        "submissions": n(SubmissionRow),
    }
