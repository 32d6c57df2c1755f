"""`students/submissions` filters and Canvas's Tardiness fields on the seeded course (§6, §10)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from canvasapi.course import Course
from fidelity_helpers import by_key, walk

from canvas_sync.simulator import READING_IDS, TEST_STUDENT_ID, UNPUBLISHED_ASSIGNMENT_ID

PATH = "/courses/598/students/submissions"


def R(n: int) -> int:  # R1..R19 as in the course docstring
    return READING_IDS[n - 1]


def one(http: httpx.Client, user: int, assignment: int, *include: str) -> dict[str, Any]:
    params = {"include[]": list(include)} if include else None
    response = http.get(f"/courses/598/assignments/{assignment}/submissions/{user}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_submission_carries_every_documented_field(http: httpx.Client) -> None:
    row = one(http, 1001, R(1))
    assert set(row) >= {
        "id", "user_id", "assignment_id", "submitted_at", "attempt", "submission_type",
        "workflow_state", "score", "grade", "entered_score", "entered_grade", "late", "missing",
        "seconds_late", "excused", "points_deducted", "late_policy_status", "graded_at",
        "grader_id", "grade_matches_current_submission", "posted_at", "cached_due_date",
        "grading_period_id", "extra_attempts", "redo_request", "body", "url", "preview_url",
        "anonymous_id",
    }  # fmt: skip
    assert row["submitted_at"].endswith("Z") and len(row["submitted_at"]) == 20
    assert row["workflow_state"] == "graded" and row["grader_id"] == 2


def test_late_graded_with_course_late_policy_deduction(http: httpx.Client) -> None:
    row = one(http, 1003, R(3))
    assert row["cached_due_date"] == "2026-02-06T05:59:59Z"
    assert (row["late"], row["missing"], row["seconds_late"]) == (True, False, 3 * 3600)
    # Gotcha 4: Canvas deducts 10%/day from the entered 8.
    assert (row["entered_score"], row["points_deducted"], row["score"]) == (8.0, 1.0, 7.0)
    assert (row["entered_grade"], row["grade"]) == ("8", "7")
    ungraded = one(http, 1003, R(4))
    assert ungraded["late"] is True and ungraded["score"] is None
    assert ungraded["workflow_state"] == "submitted" and ungraded["points_deducted"] is None


def test_late_resubmission_history(http: httpx.Client) -> None:
    row = one(http, 1004, R(5), "submission_history")
    first, second = row["submission_history"]
    assert first["attempt"] == 1 and first["late"] is False and first["entered_score"] is None
    assert second["attempt"] == 2 and second["late"] is True and second["seconds_late"] == 7200
    assert row["attempt"] == 2 and row["submitted_at"] == second["submitted_at"]
    assert row["late"] is True and row["entered_score"] == 9.0


def test_teacher_status_none_wins_over_computed_lateness(http: httpx.Client) -> None:
    row = one(http, 1005, R(6))
    assert row["late_policy_status"] == "none"
    assert row["late"] is False and row["seconds_late"] == 7200
    assert row["score"] == 10.0 and row["points_deducted"] is None


def test_excused_graded_without_submission_and_missing(http: httpx.Client) -> None:
    excused = one(http, 1006, R(1))
    assert excused["excused"] is True and excused["score"] is None
    assert excused["late"] is False and excused["missing"] is False
    paper = one(http, 1007, R(7), "submission_history")
    assert paper["submitted_at"] is None and paper["submission_type"] is None
    assert paper["score"] == 10.0 and paper["missing"] is False
    assert len(paper["submission_history"]) == 1
    missing = one(http, 1013, R(14))
    assert missing["missing"] is True and missing["score"] is None and missing["seconds_late"] > 0
    zeroed = one(http, 1013, R(15))  # gotcha 3: a grade with no status clears `missing`
    assert zeroed["missing"] is False and zeroed["score"] == 0.0


def test_effective_due_dates_from_overrides(http: httpx.Client) -> None:
    extended = one(http, 1012, R(13))
    assert extended["cached_due_date"] == "2026-03-28T04:59:59Z" and extended["late"] is False
    assert one(http, 1001, R(13))["cached_due_date"] == "2026-03-25T04:59:59Z"
    pending = one(http, 1012, R(19))
    assert pending["cached_due_date"] == "2027-01-16T05:59:59Z"
    assert pending["missing"] is False and pending["seconds_late"] == 0
    section = one(http, 1014, R(10))
    assert section["cached_due_date"] == "2026-03-06T05:59:59Z"
    assert section["submitted_at"] == "2026-03-05T12:00:00Z" and section["late"] is False
    assert one(http, 1001, R(10))["cached_due_date"] == "2026-03-04T05:59:59Z"
    jit = one(http, 1011, R(12))  # on time only because of the one-hour DST slip
    assert jit["submitted_at"] == "2026-03-11T05:30:00Z" and jit["late"] is False


def test_missing_needs_an_online_submission_type(http: httpx.Client) -> None:
    assert one(http, 1001, 2106)["missing"] is True  # Proposal: online_upload, past due
    assert one(http, 1001, 2101)["missing"] is False  # Attendance: on_paper, no due date


def test_rubric_assessment_shape(http: httpx.Client) -> None:
    row = one(http, 1009, R(11), "rubric_assessment")
    assert row["rubric_assessment"]["P1"] == {"rating_id": None, "comments": "", "points": 3.0}
    assert row["rubric_assessment"]["P2"]["rating_id"] == "P2_2"
    sums = one(http, 1009, R(10), "rubric_assessment")
    assert sum(v["points"] for v in sums["rubric_assessment"].values()) == 8.0
    assert sums["score"] == 9.0


def test_student_ids_all_includes_test_and_non_active(http: httpx.Client) -> None:
    rows, _ = walk(http, PATH, {"student_ids[]": "all", "assignment_ids[]": R(1), "per_page": 100})
    users = {row["user_id"] for row in rows}
    assert {TEST_STUDENT_ID, 1017, 1018, 1019} <= users
    active = http.get(
        PATH, params={"student_ids[]": "all", "assignment_ids[]": R(1),
                      "enrollment_state": "active", "per_page": 100},
    ).json()  # fmt: skip
    assert 1017 not in {r["user_id"] for r in active} and 1019 not in {r["user_id"] for r in active}
    concluded = http.get(
        PATH, params={"student_ids[]": "all", "assignment_ids[]": R(1),
                      "enrollment_state": "concluded"},
    ).json()  # fmt: skip
    assert [r["user_id"] for r in concluded] == [1019]


def test_unpublished_assignments_are_skipped_or_refused(http: httpx.Client) -> None:
    rows, _ = walk(http, PATH, {"student_ids[]": "1001", "per_page": 100})
    assert UNPUBLISHED_ASSIGNMENT_ID not in {r["assignment_id"] for r in rows}
    refused = http.get(
        PATH, params={"student_ids[]": "1001", "assignment_ids[]": UNPUBLISHED_ASSIGNMENT_ID}
    )
    assert refused.status_code == 403
    assert refused.json() == {"error": "invalid assignment ids requested"}


def test_too_many_student_ids_is_400(http: httpx.Client) -> None:
    response = http.get(PATH, params={"student_ids[]": [str(i) for i in range(1001, 1102)]})
    assert response.status_code == 400 and response.json() == {"error": "too many students"}
    fine = http.get(PATH, params={"student_ids[]": [str(i) for i in range(1001, 1101)]})
    assert fine.status_code == 200


@pytest.mark.parametrize("key", ["submitted_since", "graded_since"])
def test_since_filters_are_strict_and_exclude_null(http: httpx.Client, key: str) -> None:
    field = key.replace("_since", "_at")
    base = {"student_ids[]": "1003", "per_page": 100}
    everything, _ = walk(http, PATH, base)
    stamp = sorted(r[field] for r in everything if r[field])[-1]
    at, _ = walk(http, PATH, {**base, key: stamp})
    assert stamp not in {r[field] for r in at}  # strict >
    before = stamp.replace(stamp[17:19], f"{int(stamp[17:19]) - 1:02d}")
    later, _ = walk(http, PATH, {**base, key: before})
    assert stamp in {r[field] for r in later}
    assert all(r[field] is not None for r in later)


def test_bad_since_is_canvas_400(http: httpx.Client) -> None:
    response = http.get(PATH, params={"student_ids[]": "all", "submitted_since": "yesterday"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"submitted_since": "Invalid datetime for submitted_since"}
    }
    offset = http.get(
        PATH, params={"student_ids[]": "1001", "submitted_since": "2026-04-01T00:00:00-05:00"}
    )
    assert offset.status_code == 200


def test_workflow_state_filter_and_includes(http: httpx.Client) -> None:
    params = {"student_ids[]": "1003", "workflow_state": "submitted",
              "include[]": ["user", "assignment", "submission_comments"]}  # fmt: skip
    rows = http.get(PATH, params=params).json()
    assert rows and {r["workflow_state"] for r in rows} == {"submitted"}
    assert rows[0]["user"]["id"] == 1003 and rows[0]["assignment"]["id"] == rows[0]["assignment_id"]
    assert rows[0]["submission_comments"] == []


def test_assignment_submissions_list_and_sis_path(course: Course, http: httpx.Client) -> None:
    rows, _ = walk(http, f"/courses/598/assignments/{R(1)}/submissions", {"per_page": 15})
    assert [r["user_id"] for r in rows] == sorted(r["user_id"] for r in rows)
    assert TEST_STUDENT_ID in {r["user_id"] for r in rows}
    by_sis = http.get(f"/courses/598/assignments/{R(1)}/submissions/sis_user_id:sis-1001").json()
    assert by_sis["user_id"] == 1001
    via_canvasapi = course.get_assignment(R(3)).get_submission(1003)
    assert via_canvasapi.late is True and via_canvasapi.points_deducted == 1.0


def test_every_student_row_is_consistent(http: httpx.Client) -> None:
    rows, _ = walk(http, PATH, {"student_ids[]": "all", "per_page": 100})
    keyed = by_key(rows)
    for row in keyed.values():
        if row["submitted_at"] is None:
            assert row["late"] is False and row["attempt"] is None
        if row["late_policy_status"] is None and row["submitted_at"] and row["cached_due_date"]:
            assert row["late"] is (row["submitted_at"] > row["cached_due_date"])
        if row["score"] is not None and row["points_deducted"] is None:
            assert row["score"] == row["entered_score"]


def test_response_fields_trim_each_row_and_history_entry_as_canvas_does(
    http: httpx.Client,
) -> None:
    # canvas-lms lib/api/v1/submission.rb submission_attempt_json: response_fields[] intersects
    # the attributes and methods, exclude_response_fields[] subtracts them; preview_url goes
    # only when excluded; anonymous_id and the include[] blocks stay.
    params: dict[str, Any] = {
        "student_ids[]": [1004],
        "assignment_ids[]": [R(5)],
        "include[]": ["submission_history", "submission_comments"],
        "response_fields[]": ["id", "user_id", "score", "seconds_late", "body"],
        "exclude_response_fields[]": ["body"],
    }
    response = http.get(PATH, params=params)
    assert response.status_code == 200, response.text
    (row,) = response.json()
    assert set(row) == {
        "id", "user_id", "score", "seconds_late", "preview_url", "anonymous_id",
        "submission_history", "submission_comments",
    }  # fmt: skip
    assert row["seconds_late"] == 7200
    assert [set(h) for h in row["submission_history"]] == [
        {"id", "user_id", "score", "seconds_late", "preview_url", "anonymous_id"}
    ] * 2
    params["exclude_response_fields[]"] = ["preview_url"]
    (row,) = http.get(PATH, params=params).json()
    assert "preview_url" not in row and "body" in row
    del params["response_fields[]"]
    (row,) = http.get(PATH, params=params).json()
    assert "preview_url" not in row and {"grade", "workflow_state", "late"} <= set(row)
