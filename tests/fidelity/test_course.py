"""Course, assignment groups, assignments, rubric, overrides, DST due dates (canvas-api.md §4)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from canvasapi import Canvas
from canvasapi.course import Course
from canvasapi.exceptions import ResourceDoesNotExist
from fidelity_helpers import NOW, close_canvas, make_canvas

from canvas_sync.simulator import READING_IDS, UNPUBLISHED_ASSIGNMENT_ID, Simulator, syllabus_due


def test_course_fields(course: Course) -> None:
    assert course.id == 598
    assert course.name == "CS 598: Systems for Generative AI (S'26)"
    assert course.workflow_state == "available"
    assert course.time_zone == "America/Chicago"
    assert course.apply_assignment_group_weights is True
    assert course.start_at.endswith("Z") and course.end_at.endswith("Z")


def test_unknown_course_is_canvas_404(canvas: Canvas, http: httpx.Client) -> None:
    with pytest.raises(ResourceDoesNotExist):
        canvas.get_course(599)
    body = http.get("/courses/599").json()
    assert body == {"errors": [{"message": "The specified resource does not exist."}]}


def test_assignment_groups_weights_and_rules(course: Course) -> None:
    groups = {g.name: g for g in course.get_assignment_groups(include=["assignments"])}
    assert {name: g.group_weight for name, g in groups.items()} == {
        "Reading Summaries": 20.0,
        "Attendance": 10.0,
        "Paper Presentation": 15.0,
        "Panel Discussion": 5.0,
        "Final Project Presentation": 15.0,
        "Project Report": 35.0,
        "Course Totals": 0.0,
    }
    # The deliberately wrong rule; unset keys are omitted, not null.
    assert groups["Reading Summaries"].rules == {"drop_lowest": 4}
    assert groups["Attendance"].rules == {}
    single = course.get_assignment_group(101, include=["assignments"])
    assert single.rules == {"drop_lowest": 4} and len(single.assignments) == 19
    readings = groups["Reading Summaries"].assignments
    assert [a["id"] for a in readings] == list(READING_IDS)
    report = [a["name"] for a in groups["Project Report"].assignments]
    assert report == ["Proposal", "Mid-Semester Report", "Final Report"]
    (total,) = groups["Course Totals"].assignments
    assert total["name"] == "Reading Summaries Total"
    assert total["omit_from_final_grade"] is True and total["published"] is True
    assert total["points_possible"] == 100.0


def test_groups_include_overrides_inside_assignments(http: httpx.Client) -> None:
    params = {"include[]": ["assignments", "overrides"]}
    groups = http.get("/courses/598/assignment_groups", params=params).json()
    readings = next(g for g in groups if g["name"] == "Reading Summaries")["assignments"]
    r10 = next(a for a in readings if a["id"] == READING_IDS[9])
    assert r10["has_overrides"] is True
    assert r10["overrides"][0]["course_section_id"] == 12
    assert r10["overrides"][0]["due_at"] == "2026-03-06T05:59:59Z"
    assert "overrides" not in http.get("/courses/598/assignment_groups").json()[0]


def test_reading_assignments_shape_and_rubric(course: Course) -> None:
    reading = course.get_assignment(READING_IDS[0])
    assert reading.name == "Summary: The Illustrated Stable Diffusion"
    assert reading.points_possible == 10.0
    assert reading.submission_types == ["online_text_entry"]
    assert reading.published is True and reading.grading_type == "points"
    assert [c["id"] for c in reading.rubric] == ["P1", "P2", "P3", "P4", "P5"]
    assert all(c["points"] == 2.0 for c in reading.rubric)
    assert {r["points"] for r in reading.rubric[0]["ratings"]} == {0.0, 1.0, 2.0}
    assert reading.has_overrides is False


@pytest.mark.parametrize(
    ("index", "due"),
    [
        (0, "2026-02-04T05:59:59Z"),  # lecture Feb 4 → Feb 3 23:59:59 CST
        (10, "2026-03-06T05:59:59Z"),  # Sarathi, lecture Mar 6: still CST
        (12, "2026-03-25T04:59:59Z"),  # ModServe, lecture Mar 25: CDT after Mar 8
        (18, "2026-04-24T04:59:59Z"),
        (11, "2026-03-11T05:59:59Z"),  # JITServe: the deliberate DST bug (should be 04:59:59Z)
    ],
)
def test_due_dates_in_utc_across_dst(course: Course, index: int, due: str) -> None:
    assert course.get_assignment(READING_IDS[index]).due_at == due


def test_syllabus_due_rule() -> None:
    assert syllabus_due(date(2026, 3, 8)) == datetime(2026, 3, 8, 5, 59, 59, tzinfo=UTC)
    assert syllabus_due(date(2026, 3, 9)) == datetime(2026, 3, 9, 4, 59, 59, tzinfo=UTC)


def test_assignments_list_with_overrides_and_all_dates(http: httpx.Client) -> None:
    params: dict[str, Any] = {"include[]": ["overrides", "all_dates"], "per_page": 100}
    rows = http.get("/courses/598/assignments", params=params).json()
    r13 = next(a for a in rows if a["id"] == READING_IDS[12])
    (override,) = r13["overrides"]
    assert override["student_ids"] == [1012]
    assert override["due_at"] == "2026-03-28T04:59:59Z"
    assert "course_section_id" not in override and "lock_at" not in override
    assert r13["all_dates"][0] == {
        "base": True,
        "due_at": "2026-03-25T04:59:59Z",
        "unlock_at": None,
        "lock_at": None,
    }
    assert len(r13["all_dates"]) == 2
    assert any(a["id"] == UNPUBLISHED_ASSIGNMENT_ID and not a["published"] for a in rows)


def test_override_crud_through_canvasapi(course: Course) -> None:
    assignment = course.get_assignment(READING_IDS[16])
    created = assignment.create_override(
        assignment_override={
            "student_ids": [1030],
            "title": "Extension",
            "due_at": "2026-04-20T04:59:59Z",
        }
    )
    assert created.student_ids == [1030] and created.due_at == "2026-04-20T04:59:59Z"
    assert [o.id for o in assignment.get_overrides()] == [created.id]
    created.edit(assignment_override={"title": "Ext 2"})
    # A PUT that omits an overridden date removes it.
    fetched = assignment.get_override(created.id)
    assert fetched.title == "Ext 2" and not hasattr(fetched, "due_at")
    created.delete()
    assert list(assignment.get_overrides()) == []


def test_create_and_publish_assignment(sim: Simulator, course: Course) -> None:
    created = course.create_assignment(
        {
            "name": "Scratch Total",
            "points_possible": 100,
            "omit_from_final_grade": True,
            "assignment_group_id": 107,
            "submission_types": ["none"],
        }
    )
    assert created.published is False and created.omit_from_final_grade is True
    assert created.assignment_group_id == 107 and created.points_possible == 100.0
    with sim.state.lock:
        rows = [s for (aid, _), s in sim.state.submissions.items() if aid == created.id]
    assert len(rows) == len(sim.state.student_enrollments())
    published = created.edit(assignment={"published": True})
    assert published.published is True
    assert course.get_assignment(created.id).published is True


def test_the_default_course_has_no_total_and_new_assignments_go_to_the_top_group() -> None:
    """assignments_api_controller.rb `create`: no group given → the top group (item 17);
    assignment_groups_api_controller.rb `create` makes a group at the end of the list."""
    with Simulator(students=5, now=NOW) as fresh:
        client = make_canvas(fresh.base_url)
        try:
            course = client.get_course(598)
            names = [a.name for a in course.get_assignments()]
            assert "Reading Summaries Total" not in names
            groups = list(course.get_assignment_groups())
            top = min(groups, key=lambda g: g.position)
            assert top.name == "Reading Summaries"
            made = course.create_assignment({"name": "Reading Summaries Total"})
            assert made.assignment_group_id == top.id
            group = course.create_assignment_group(name="Course Totals", group_weight=0)
            assert group.group_weight == 0 and group.position == len(groups) + 1
            placed = course.create_assignment({"name": "Other", "assignment_group_id": group.id})
            assert placed.assignment_group_id == group.id
        finally:
            close_canvas(client)
