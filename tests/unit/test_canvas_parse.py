"""canvas/parse.py on realistic Canvas payloads (shapes per canvas-api.md §4-§8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from canvas_sync.canvas import (
    parse_assignment,
    parse_course,
    parse_enrollment,
    parse_group,
    parse_late_policy,
    parse_students,
    parse_submission,
    parse_time,
)
from canvas_sync.domain import Attempt, Override, RubricCriterion

# Lecture Mon 2026-03-09 → due Sun 2026-03-08 23:59:59 CDT (DST began that morning) = 04:59:59Z.
DUE_AFTER_DST = "2026-03-09T04:59:59Z"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def late_resubmission() -> dict[str, Any]:
    """An on-time first attempt, then a late second one that was graded (SPEC §2)."""
    first = {
        "id": 88123401,
        "user_id": 1001,
        "assignment_id": 5011,
        "attempt": 1,
        "submitted_at": "2026-03-08T23:10:02Z",
        "score": None,
        "grade": None,
        "workflow_state": "submitted",
        "submission_type": "online_upload",
        "late": False,
    }
    second = {
        **first,
        "attempt": 2,
        "submitted_at": "2026-03-09T05:12:44Z",
        "score": 8.0,
        "grade": "8",
        "workflow_state": "graded",
        "late": True,
    }
    return {
        "id": 88123401, "user_id": 1001, "assignment_id": 5011, "attempt": 2, "body": None,
        "grade": "8", "score": 8.0, "entered_grade": "8", "entered_score": 8.0,
        "submitted_at": "2026-03-09T05:12:44Z", "cached_due_date": DUE_AFTER_DST,
        "submission_type": "online_upload", "workflow_state": "graded",
        "grade_matches_current_submission": True, "graded_at": "2026-03-10T16:00:00Z",
        "grader_id": 2001, "late": True, "missing": False, "excused": False,
        "seconds_late": 765, "late_policy_status": None, "points_deducted": 0.0,
        "posted_at": "2026-03-10T16:00:00Z", "extra_attempts": None, "redo_request": False,
        "preview_url": "https://canvas.test/courses/598/assignments/5011/submissions/1001?preview=1",
        "submission_history": [first, second],
        "submission_comments": [{
            "id": 501, "author_id": 2001, "author_name": "Course TA", "comment": "Good summary.",
            "created_at": "2026-03-10T16:00:05Z", "edited_at": None,
            "author": {"id": 2001, "display_name": "Course TA", "avatar_image_url": "",
                       "html_url": ""},
        }],
        "rubric_assessment": {
            "_5127": {"rating_id": "r2", "comments": "", "points": 2.0},
            "_5128": {"rating_id": "r1", "comments": "thin", "points": 1.0},
            "_5129": {"rating_id": None, "comments": "", "points": None},
        },
    }  # fmt: skip


def placeholder() -> dict[str, Any]:
    """The `unsubmitted` row Canvas keeps for every assigned student."""
    return {
        "id": 88123999, "user_id": 1002, "assignment_id": 5011, "attempt": None, "body": None,
        "grade": None, "score": None, "submitted_at": None, "cached_due_date": DUE_AFTER_DST,
        "submission_type": None, "workflow_state": "unsubmitted", "graded_at": None,
        "grader_id": None, "late": False, "missing": True, "excused": None, "seconds_late": 0,
        "late_policy_status": None, "submission_history": [
            {"id": 88123999, "user_id": 1002, "attempt": None, "submitted_at": None}
        ], "submission_comments": [], "rubric_assessment": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-09T04:59:59Z", utc(2026, 3, 9, 4, 59, 59)),
        ("2026-03-08T23:59:59-05:00", utc(2026, 3, 9, 4, 59, 59)),
        ("2026-02-05T23:59:59-06:00", utc(2026, 2, 6, 5, 59, 59)),
        ("2026-01-22T05:59:59.999999Z", datetime(2026, 1, 22, 5, 59, 59, 999999, tzinfo=UTC)),
        ("2026-01-22T05:59:59", utc(2026, 1, 22, 5, 59, 59)),
        (None, None),
        ("", None),
    ],
)
def test_parse_time(raw: str | None, expected: datetime | None) -> None:
    parsed = parse_time(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_parse_time_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_time("next Tuesday")


def test_parse_course() -> None:
    course = parse_course({
        "id": 598, "name": "CS 598: Systems for Generative AI (S'26)", "course_code": "CS 598",
        "workflow_state": "available", "time_zone": "America/Chicago",
        "start_at": "2026-01-20T06:00:00Z", "end_at": None,
    })  # fmt: skip
    assert (course.id, course.name, course.time_zone) == (
        598,
        "CS 598: Systems for Generative AI (S'26)",
        "America/Chicago",
    )
    assert parse_course({"id": "12", "name": "X", "time_zone": "Europe/Berlin"}).time_zone == (
        "Europe/Berlin"
    )


def test_parse_group_rules() -> None:
    group = parse_group({
        "id": 4001, "name": "Reading Summaries", "position": 2, "group_weight": 20.0,
        "sis_source_id": None, "integration_data": {},
        "rules": {"drop_lowest": 5, "never_drop": [5099, "5098"]}, "assignments": [],
    })  # fmt: skip
    assert (group.id, group.name, group.drop_lowest, group.drop_highest) == (
        4001,
        "Reading Summaries",
        5,
        0,
    )
    assert group.never_drop == (5099, 5098)
    assert parse_group({"id": 4002, "name": "Project", "rules": {}}).drop_lowest == 0


def test_parse_assignment_with_rubric_and_overrides() -> None:
    assignment = parse_assignment({
        "id": 5011, "name": "Summary: Efficient Memory Management for LLM Serving (vLLM)",
        "due_at": "2026-01-22T05:59:59Z", "lock_at": None, "unlock_at": None,
        "points_possible": 10, "grading_type": "points", "assignment_group_id": 4001,
        "published": True, "omit_from_final_grade": False, "post_manually": False,
        "submission_types": ["online_upload"], "has_overrides": True, "allowed_attempts": -1,
        "rubric_settings": {"id": 77, "title": "Summary rubric", "points_possible": 10},
        "rubric": [
            {"id": "_5127", "points": 2.0, "description": "P1: problem", "long_description": "",
             "ratings": [{"id": "r2", "points": 2.0, "description": "Full"}]},
            {"id": "_5128", "points": 2, "description": "P2: key idea", "ratings": []},
        ],
        "overrides": [
            {"id": 9001, "assignment_id": 5011, "title": "1 student", "student_ids": [1003],
             "due_at": "2026-01-24T05:59:59Z", "all_day": False, "unlock_at": None,
             "lock_at": None},
            {"id": 9002, "assignment_id": 5011, "title": "Section B", "course_section_id": 3302},
        ],
    })  # fmt: skip
    assert assignment.id == 5011 and assignment.assignment_group_id == 4001
    assert assignment.points_possible == 10.0
    assert assignment.due_at == utc(2026, 1, 22, 5, 59, 59)
    assert assignment.submission_types == ("online_upload",)
    assert assignment.rubric == (
        RubricCriterion("_5127", "P1: problem", 2.0),
        RubricCriterion("_5128", "P2: key idea", 2.0),
    )
    assert assignment.overrides == (
        Override(9001, 5011, utc(2026, 1, 24, 5, 59, 59), student_ids=(1003,), title="1 student"),
        Override(
            9002, 5011, None, course_section_id=3302, title="Section B", due_at_overridden=False
        ),
    )


def test_parse_assignment_minimal_unpublished() -> None:
    assignment = parse_assignment({
        "id": "5012", "name": "Draft", "due_at": None, "points_possible": None,
        "assignment_group_id": "4001", "published": False, "submission_types": ["none"],
    })  # fmt: skip
    assert (assignment.id, assignment.assignment_group_id) == (5012, 4001)
    assert assignment.points_possible is None and assignment.due_at is None
    assert assignment.published is False and assignment.rubric == () == assignment.overrides


def enrollment(user_id: int, kind: str, state: str, section: int, name: str) -> dict[str, Any]:
    family, given = name.split(", ")
    return {
        "id": 70000 + user_id + section, "user_id": user_id, "course_id": 598, "type": kind,
        "role": kind, "course_section_id": section, "enrollment_state": state,
        "created_at": "2026-01-10T15:00:00Z", "start_at": None, "end_at": None,
        "grades": {"current_score": 91.5, "final_score": 60.2, "current_grade": None,
                   "final_grade": None},
        "user": {"id": user_id, "name": f"{given} {family}", "sortable_name": name,
                 "short_name": given, "sis_user_id": f"sis{user_id}", "login_id": f"u{user_id}",
                 "created_at": "2025-08-01T12:00:00Z"},
    }  # fmt: skip


def test_parse_enrollment_student_and_test_student() -> None:
    ada = parse_enrollment(enrollment(1001, "StudentEnrollment", "active", 3301, "Lovelace, Ada"))
    assert (ada.id, ada.name, ada.sortable_name) == (1001, "Ada Lovelace", "Lovelace, Ada")
    assert (ada.sis_user_id, ada.login_id, ada.section_ids) == ("sis1001", "u1001", (3301,))
    assert ada.included and not ada.is_test_student
    test = parse_enrollment(
        enrollment(1999, "StudentViewEnrollment", "active", 3301, "Student, Test")
    )
    assert test.is_test_student and not test.included
    gone = parse_enrollment(enrollment(1005, "StudentEnrollment", "inactive", 3301, "Doe, Jo"))
    assert gone.enrollment_state == "inactive" and not gone.included


def test_parse_students_merges_sections_and_keeps_best_state() -> None:
    rows = [
        enrollment(1001, "StudentEnrollment", "inactive", 3301, "Lovelace, Ada"),
        enrollment(1002, "StudentEnrollment", "completed", 3301, "Hopper, Grace"),
        enrollment(1001, "StudentEnrollment", "active", 3302, "Lovelace, Ada"),
    ]
    students = parse_students(rows)
    assert [s.id for s in students] == [1001, 1002]
    assert students[0].enrollment_state == "active" and students[0].section_ids == (3301, 3302)
    assert students[1].enrollment_state == "completed" and students[1].included


def test_parse_submission_late_resubmission() -> None:
    sub = parse_submission(late_resubmission())
    assert (sub.id, sub.student_id, sub.assignment_id) == (88123401, 1001, 5011)
    assert sub.submitted_at == utc(2026, 3, 9, 5, 12, 44)
    assert sub.cached_due_date == utc(2026, 3, 9, 4, 59, 59)
    assert (sub.score, sub.entered_score, sub.grade) == (8.0, 8.0, "8")
    assert isinstance(sub.score, float)
    assert sub.late and not sub.missing and not sub.excused and sub.seconds_late == 765
    assert sub.workflow_state == "graded" and sub.submission_type == "online_upload"
    assert (sub.graded_at, sub.grader_id, sub.attempt) == (utc(2026, 3, 10, 16), 2001, 2)
    assert sub.history == (
        Attempt(1, utc(2026, 3, 8, 23, 10, 2), None),
        Attempt(2, utc(2026, 3, 9, 5, 12, 44), 8.0),
    )
    assert sub.rubric_assessment == {"_5127": 2.0, "_5128": 1.0, "_5129": None}
    assert [(c.id, c.author_id, c.comment) for c in sub.comments] == [(501, 2001, "Good summary.")]
    assert sub.comments[0].created_at == utc(2026, 3, 10, 16, 0, 5)


def test_parse_submission_placeholder_row() -> None:
    sub = parse_submission(placeholder())
    assert sub.submitted_at is None and sub.score is None and sub.attempt is None
    assert sub.workflow_state == "unsubmitted" and sub.missing and not sub.excused
    assert sub.history == () and sub.rubric_assessment == {} and sub.comments == ()


def test_parse_submission_string_ids_and_no_history_include() -> None:
    raw = late_resubmission()
    raw.update(id="88123401", user_id="1001", assignment_id="5011", grader_id="-7", score="9.5")
    del raw["submission_history"]
    sub = parse_submission(raw)
    assert (sub.id, sub.student_id, sub.assignment_id, sub.grader_id) == (88123401, 1001, 5011, -7)
    assert sub.score == 9.5
    # Without include[]=submission_history the latest attempt is still known.
    assert sub.history == (Attempt(2, utc(2026, 3, 9, 5, 12, 44), 9.5),)


def test_parse_submission_graded_on_paper_and_excused() -> None:
    raw = placeholder()
    raw.update(score=10.0, grade="10", workflow_state="graded", missing=False, excused=False)
    graded = parse_submission(raw)
    assert graded.score == 10.0 and graded.submitted_at is None and graded.history == ()
    raw.update(score=None, grade=None, excused=True)
    assert parse_submission(raw).excused


def test_parse_late_policy_wrapped_and_plain() -> None:
    body = {"late_policy": {
        "id": 12, "course_id": 598, "missing_submission_deduction_enabled": False,
        "missing_submission_deduction": 100.0, "late_submission_deduction_enabled": True,
        "late_submission_deduction": 10.0, "late_submission_interval": "day",
        "late_submission_minimum_percent_enabled": False,
        "late_submission_minimum_percent": 0.0,
    }}  # fmt: skip
    policy = parse_late_policy(body)
    assert policy.late_submission_deduction_enabled and policy.late_submission_deduction == 10.0
    assert not policy.missing_submission_deduction_enabled
    assert policy.missing_submission_deduction == 100.0
    assert parse_late_policy(body["late_policy"]) == policy
