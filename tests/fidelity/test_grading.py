"""Grade writes, bulk Progress lifecycle, custom columns and the late policy (canvas-api.md §7-§8).

These tests write to the module's simulator; each one touches its own (student, reading) cells.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from canvasapi.course import Course
from canvasapi.exceptions import BadRequest, Unauthorized
from fidelity_helpers import NOW

from canvas_sync.simulator import READING_IDS, TA_TOKEN, UNPUBLISHED_ASSIGNMENT_ID, Simulator


def R(n: int) -> int:  # R1..R19 as in the course docstring
    return READING_IDS[n - 1]


def fetch(http: httpx.Client, user: int, assignment: int) -> dict[str, Any]:
    url = f"/courses/598/assignments/{assignment}/submissions/{user}"
    body: dict[str, Any] = http.get(url, params={"include[]": "submission_comments"}).json()
    return body


def test_single_put_grade_and_comment_clears_missing(course: Course, http: httpx.Client) -> None:
    assert fetch(http, 1013, R(16))["missing"] is True
    submission = course.get_assignment(R(16)).get_submission(1013)
    submission.edit(submission={"posted_grade": "0"}, comment={"text_comment": "Missing: 0."})
    row = fetch(http, 1013, R(16))
    assert (row["score"], row["missing"], row["workflow_state"]) == (0.0, False, "graded")
    assert row["grader_id"] == 1 and row["graded_at"] == "2026-05-20T17:00:00Z"
    (comment,) = row["submission_comments"]
    assert comment["comment"] == "Missing: 0." and comment["author_id"] == 1
    assert comment["author"]["display_name"] == "Canvas Sync Service"
    assert submission.submission_comments[0]["comment"] == "Missing: 0."


def test_api_grade_on_late_work_is_deducted_too(http: httpx.Client) -> None:
    url = f"/courses/598/assignments/{R(4)}/submissions/1003"
    body = http.put(url, data={"submission[posted_grade]": "9"}).json()
    # 26 h late → 2 days × 10% of 10 points (gotcha 4: a double penalty for a zeroing policy).
    assert (body["entered_score"], body["points_deducted"], body["score"]) == (9.0, 2.0, 7.0)
    assert body["all_submissions"][0]["id"] == body["id"]


def test_ta_token_grades_as_user_2(sim: Simulator) -> None:
    with httpx.Client(base_url=sim.base_url + "/api/v1") as client:
        response = client.put(
            f"/courses/598/assignments/{R(2)}/submissions/1020",
            data={"submission[posted_grade]": "6"},
            headers={"Authorization": f"Bearer {TA_TOKEN}"},
        )
    assert response.json()["grader_id"] == 2 and response.json()["score"] == 6.0


def test_status_excuse_and_percent_grades(http: httpx.Client) -> None:
    url = f"/courses/598/assignments/{R(5)}/submissions/1021"
    late = http.put(
        url,
        data={"submission[late_policy_status]": "late",
              "submission[seconds_late_override]": "3600"},
    ).json()  # fmt: skip
    assert (late["late"], late["seconds_late"], late["late_policy_status"]) == (True, 3600, "late")
    pct = http.put(url, json={"submission": {"posted_grade": "40%"}}).json()
    assert pct["entered_score"] == 4.0
    excused = http.put(url, data={"submission[excuse]": "true"}).json()
    assert (excused["excused"], excused["score"], excused["late_policy_status"]) == (
        True, None, None,
    )  # fmt: skip
    assert excused["late"] is False


def test_rubric_assessment_and_invalid_criterion(course: Course, http: httpx.Client) -> None:
    url = f"/courses/598/assignments/{R(6)}/submissions/1022"
    form = {f"rubric_assessment[P{n}][points]": "2" for n in range(1, 6)}
    body = http.put(url, data={**form, "include[]": "rubric_assessment"}).json()
    assert fetch(http, 1022, R(6))["score"] == body["score"]  # rubric never sets the score
    assessed = http.get(url, params={"include[]": "rubric_assessment"}).json()
    assert assessed["rubric_assessment"]["P3"] == {
        "rating_id": "P3_2",
        "comments": "",
        "points": 2.0,
    }
    bad = http.put(url, data={"rubric_assessment[P9][points]": "2"})
    assert bad.status_code == 400 and bad.json() == {"message": "invalid rubric_assessment"}
    with pytest.raises(BadRequest):
        course.get_assignment(R(6)).get_submission(1022).edit(submission={"posted_grade": "B+"})


def test_unpublished_assignment_refuses_grades(course: Course, http: httpx.Client) -> None:
    url = f"/courses/598/assignments/{UNPUBLISHED_ASSIGNMENT_ID}/submissions/1001"
    submission = course.get_assignment(UNPUBLISHED_ASSIGNMENT_ID).get_submission(1001)
    with pytest.raises(Unauthorized):  # 401 without WWW-Authenticate: not a token problem
        submission.edit(submission={"posted_grade": "1"})
    single = http.put(url, data={"submission[posted_grade]": "1"})
    assert single.status_code == 401
    assert single.json()["errors"][0]["message"] == "user not authorized to perform that action"
    bulk = http.post(
        f"/courses/598/assignments/{UNPUBLISHED_ASSIGNMENT_ID}/submissions/update_grades",
        data={"grade_data[1001][posted_grade]": "1"},
    )
    assert bulk.status_code == 401 and "WWW-Authenticate" not in bulk.headers


def test_bulk_progress_lifecycle(course: Course, http: httpx.Client) -> None:
    assignment = course.get_assignment(R(17))
    progress = assignment.submissions_bulk_update(
        grade_data={1023: {"posted_grade": "0", "text_comment": "Late: 0 per syllabus."},
                    1024: {"posted_grade": "3"}}
    )  # fmt: skip
    assert (progress.workflow_state, progress.tag, progress.completion) == (
        "queued", "submissions_update", 0.0,
    )  # fmt: skip
    assert progress.context_type == "Course" and progress.context_id == 598
    assert progress.url.endswith(f"/api/v1/progress/{progress.id}")
    assert fetch(http, 1024, R(17))["entered_score"] != 3.0  # only queued so far
    running = progress.query()
    assert running.workflow_state == "running"
    assert fetch(http, 1024, R(17))["entered_score"] == 3.0
    done = progress.query()
    assert (done.workflow_state, done.completion, done.message) == ("completed", 100.0, None)
    zeroed = fetch(http, 1023, R(17))
    assert zeroed["score"] == 0.0 and zeroed["grader_id"] == 1
    assert [c["comment"] for c in zeroed["submission_comments"]] == ["Late: 0 per syllabus."]


def poll(http: httpx.Client, progress: dict[str, Any]) -> dict[str, Any]:
    for _ in range(5):
        progress = http.get(f"/progress/{progress['id']}").json()
        if progress["workflow_state"] in ("completed", "failed"):
            break
    return progress


def test_bulk_unknown_student_fails_but_writes_the_others(http: httpx.Client) -> None:
    response = http.post(
        f"/courses/598/assignments/{R(18)}/submissions/update_grades",
        data={"grade_data[4242][posted_grade]": "0", "grade_data[1025][posted_grade]": "4"},
    )
    done = poll(http, response.json())
    assert done["workflow_state"] == "failed"
    assert done["message"] == "Couldn't find User(s) with API ids '4242'"
    assert fetch(http, 1025, R(18))["entered_score"] == 4.0


def test_course_level_json_bulk_and_unchanged_skip(sim: Simulator, http: httpx.Client) -> None:
    grades = {"1026": {"posted_grade": "5"}, "sis_user_id:sis-1027": {"posted_grade": "6"}}
    body = {"grade_data": {str(R(19)): grades}}
    done = poll(http, http.post("/courses/598/submissions/update_grades", json=body).json())
    assert done["workflow_state"] == "completed"
    first = fetch(http, 1026, R(19))
    assert first["entered_score"] == 5.0 and fetch(http, 1027, R(19))["entered_score"] == 6.0
    sim.now = NOW + timedelta(hours=1)
    try:
        poll(http, http.post("/courses/598/submissions/update_grades", json=body).json())
        assert fetch(http, 1026, R(19))["graded_at"] == first["graded_at"]  # unchanged: skipped
    finally:
        sim.now = NOW


def test_bulk_request_errors(http: httpx.Client) -> None:
    missing = http.post("/courses/598/submissions/update_grades", data={})
    assert missing.status_code == 400
    assert missing.json() == {"error": "'grade_data' parameter required"}
    unknown = http.post(
        "/courses/598/submissions/update_grades", data={"grade_data[9999][1001][posted_grade]": "1"}
    )
    assert unknown.status_code == 400 and "9999" in unknown.json()["error"]
    assert http.get("/progress/987654").status_code == 404


def test_custom_columns_and_bulk_data(course: Course, http: httpx.Client) -> None:
    column = course.create_custom_column(column={"title": "Counted reading summaries"})
    titles = [c.title for c in course.get_custom_columns()]
    assert titles == ["Notes", "Counted reading summaries"]
    put = http.put(
        f"/courses/598/custom_gradebook_columns/{column.id}/data/1001",
        data={"column_data[content]": "R1, R2"},
    )
    assert put.json() == {"content": "R1, R2", "user_id": 1001}
    progress = course.column_data_bulk_update(
        column_data=[{"column_id": column.id, "user_id": 1002, "content": "R3"},
                     {"column_id": column.id, "user_id": 1001, "content": ""}]
    )  # fmt: skip
    assert progress.workflow_state == "queued"
    progress.query()
    final = progress.query()
    assert final.workflow_state == "completed", final.message
    entries = {e.user_id: e.content for e in column.get_column_entries()}
    assert entries == {1002: "R3"}  # blank content deleted 1001's
    column.update_custom_column(column={"hidden": True})
    assert [c.title for c in course.get_custom_columns()] == ["Notes"]
    assert len(list(course.get_custom_columns(include_hidden=True))) == 2
    column.delete()
    assert len(list(course.get_custom_columns(include_hidden=True))) == 1


def test_late_policy_read_and_patch(course: Course, http: httpx.Client) -> None:
    policy = course.get_late_policy()
    assert policy.late_submission_deduction_enabled is True
    assert (policy.late_submission_deduction, policy.late_submission_interval) == (10.0, "day")
    assert policy.missing_submission_deduction_enabled is False
    try:
        assert course.edit_late_policy(late_policy={"late_submission_deduction_enabled": False})
        row = fetch(http, 1003, R(3))
        assert row["score"] == row["entered_score"] == 8.0 and row["points_deducted"] is None
    finally:
        course.edit_late_policy(late_policy={"late_submission_deduction_enabled": True})
    assert fetch(http, 1003, R(3))["score"] == 7.0


def test_late_policy_404_when_none(sim: Simulator, http: httpx.Client) -> None:
    with sim.state.lock:
        saved, sim.state.late_policy = sim.state.late_policy, None
    try:
        assert http.get("/courses/598/late_policy").status_code == 404
    finally:
        with sim.state.lock:
            sim.state.late_policy = saved


def test_state_api_mirrors_humans(sim: Simulator, http: httpx.Client) -> None:
    with sim.state.lock:
        sim.state.submit(1028, R(1), NOW - timedelta(days=1), body="<p>late</p>")
        sim.state.set_enrollment_state(1029, "inactive")
    row = fetch(http, 1028, R(1))
    assert row["late"] is True and row["body"] == "<p>late</p>"
    if row["entered_score"] is not None:  # resubmitting after grading needs regrading
        assert row["grade_matches_current_submission"] is False
        assert row["workflow_state"] == "submitted"
    enrollments = http.get("/courses/598/enrollments", params={"user_id": 1029}).json()
    assert enrollments == []
    with sim.state.lock:
        sim.state.grade(1028, R(1), 0.0, grader_id=2, comment="Late.")
    regraded = fetch(http, 1028, R(1))
    assert regraded["graded_at"] == "2026-05-20T17:00:00Z" and regraded["grader_id"] == 2


def test_graded_at_moves_exactly_when_canvas_moves_it(sim: Simulator, http: httpx.Client) -> None:
    """canvas-lms abstract_assignment.rb `save_grade_to_submission` (score given or excused)
    and submission.rb `infer_values` (late_policy_status changed) move `graded_at`; clearing
    a grade or un-excusing does not (canvas-api.md §10 item 18)."""
    url = f"/courses/598/assignments/{R(12)}/submissions/1030"
    steps = [
        ({"submission[posted_grade]": "7"}, True),
        ({"submission[posted_grade]": ""}, False),  # grade cleared
        ({"submission[excuse]": "true"}, True),
        ({"submission[excuse]": "false"}, False),  # un-excused
        ({"submission[late_policy_status]": "late"}, True),
        ({"submission[late_policy_status]": "late"}, False),  # unchanged status
        ({"submission[late_policy_status]": "none"}, True),
    ]
    previous = fetch(http, 1030, R(12))["graded_at"]
    try:
        for hour, (form, moves) in enumerate(steps, start=1):
            sim.now = NOW + timedelta(hours=hour)
            body = http.put(url, data=form).json()
            expected = (NOW + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert body["graded_at"] == (expected if moves else previous), form
            previous = body["graded_at"]
    finally:
        sim.now = NOW


def test_bulk_skips_a_zero_the_late_deduction_already_gives(
    sim: Simulator, http: httpx.Client
) -> None:
    """100% late deduction: 1003's R3 (3 h late, entered 8) already scores 0, so a bulk 0 is
    "unchanged" and skipped; entered_score stays 8 (submission.rb `process_bulk_update`)."""
    with sim.state.lock:
        policy = sim.state.late_policy
        assert policy is not None
        saved = policy.late_submission_deduction
        policy.late_submission_deduction = 100.0
    try:
        before = fetch(http, 1003, R(3))
        assert (before["entered_score"], before["score"]) == (8.0, 0.0)
        body = {"grade_data": {str(R(3)): {"1003": {"posted_grade": "0"}}}}
        done = poll(http, http.post("/courses/598/submissions/update_grades", json=body).json())
        assert done["workflow_state"] == "completed"
        after = fetch(http, 1003, R(3))
        assert (after["entered_score"], after["score"]) == (8.0, 0.0)
        assert after["graded_at"] == before["graded_at"] and after["grader_id"] == 2
    finally:
        with sim.state.lock:
            policy.late_submission_deduction = saved


def test_missing_policy_applicator_scores_recently_missing_work() -> None:
    """lib/missing_policy_applicator.rb: missing work due within the last day gets
    points × (1 − deduction%), grader_id null, state graded, still `missing`; older or
    submitted work is left alone."""
    due = datetime(2026, 4, 24, 4, 59, 59, tzinfo=UTC)  # R19
    with Simulator(students=19, now=due + timedelta(hours=3)) as fresh:
        state = fresh.state
        with state.lock:
            assert state.late_policy is not None
            state.late_policy.missing_submission_deduction_enabled = True
            state.late_policy.missing_submission_deduction = 70.0
        assert state.apply_missing_deductions() > 0
        with httpx.Client(
            base_url=fresh.base_url + "/api/v1", headers={"Authorization": "Bearer sim-token"}
        ) as client:
            row = fetch(client, 1001, R(19))  # Alice wrote R1–R14 only
            older = fetch(client, 1013, R(14))  # missing since April 7: outside the window
            submitted = fetch(client, 1001, R(1))
        assert (row["score"], row["grader_id"], row["workflow_state"]) == (3.0, None, "graded")
        assert row["missing"] is True and row["late_policy_status"] is None
        assert row["submitted_at"] is None and row["graded_at"] == "2026-04-24T07:59:59Z"
        assert older["score"] is None and submitted["grader_id"] == 2


def test_a_custom_grade_status_is_neither_late_nor_missing() -> None:
    """submission.rb `late?`/`missing?`: a custom status → neither, so no late deduction;
    setting it clears `late_policy_status` (`set_status_attributes`)."""
    with Simulator(students=19, now=NOW) as fresh:
        state = fresh.state
        with state.lock:
            state.submissions[(R(3), 1003)].late_policy_status = "late"
        state.set_custom_status(1003, R(3), 4)  # 3 h late, graded 8
        state.set_custom_status(1013, R(14), 4)  # never submitted
        with httpx.Client(
            base_url=fresh.base_url + "/api/v1", headers={"Authorization": "Bearer sim-token"}
        ) as client:
            late, missing = fetch(client, 1003, R(3)), fetch(client, 1013, R(14))
        assert (late["custom_grade_status_id"], late["late"], late["late_policy_status"]) == (
            4,
            False,
            None,
        )
        assert (late["score"], late["points_deducted"]) == (8.0, None)
        assert (missing["custom_grade_status_id"], missing["missing"]) == (4, False)
