"""Pagination (canvas-api.md §2) and enrollments/users (§5), checked with canvasapi and httpx."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from canvasapi.course import Course
from fidelity_helpers import walk

from canvas_sync.simulator import TEST_STUDENT_ID, Simulator

SCRIPT_NAME = '<script>alert("x")</script> Tables'


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def test_per_page_defaults_to_10_and_clamps_to_100(http: httpx.Client) -> None:
    params = {"student_ids[]": "all"}
    assert len(http.get("/courses/598/students/submissions", params=params).json()) == 10
    big = http.get("/courses/598/students/submissions", params={**params, "per_page": 500})
    assert len(big.json()) == 100
    assert _query(big.links["next"]["url"])["per_page"] == ["100"]


def test_students_submissions_default_is_bookmark_paging(http: httpx.Client) -> None:
    params: dict[str, Any] = {"student_ids[]": "all", "per_page": 100}
    first = http.get("/courses/598/students/submissions", params=params)
    assert set(first.links) == {"current", "next", "first"}  # no last, no prev
    page = _query(first.links["next"]["url"])["page"][0]
    assert page.startswith("bookmark:")
    token = page.removeprefix("bookmark:")
    assert json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    rows, pages = walk(http, "/courses/598/students/submissions", params)
    assert pages > 1 and "last" not in first.links
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)


def test_descending_and_grouped_are_numbered_with_last(http: httpx.Client) -> None:
    desc = http.get(
        "/courses/598/students/submissions",
        params={"student_ids[]": "all", "order_direction": "descending", "per_page": 50},
    )
    assert _query(desc.links["next"]["url"])["page"] == ["2"]
    assert "last" in desc.links
    ids = [row["id"] for row in desc.json()]
    assert ids == sorted(ids, reverse=True)
    grouped = http.get(
        "/courses/598/students/submissions",
        params={"student_ids[]": "all", "grouped": "true", "per_page": 5},
    )
    assert "last" in grouped.links and len(grouped.json()) == 5
    assert set(grouped.json()[0]) >= {"user_id", "section_id", "submissions"}


def test_grouped_pages_over_named_students_by_id_with_every_row(http: httpx.Client) -> None:
    """submissions_api_controller.rb `for_students`: grouped pages over the students (ordered
    by id), each entry with all its submissions of the asked assignments, and Canvas adds
    `has_postable_comments` to each submission."""
    everyone = http.get(
        "/courses/598/students/submissions", params={"student_ids[]": "all", "per_page": 100}
    )
    plain = {(r["user_id"], r["assignment_id"]) for r in everyone.json()}
    students = sorted({uid for uid, _ in plain})[:7]
    answer = http.get(
        "/courses/598/students/submissions",
        params={"student_ids[]": list(reversed(students)), "grouped": "true", "per_page": 100},
    )
    entries = answer.json()
    assert [e["user_id"] for e in entries] == students and "next" not in answer.links
    for entry in entries:
        assert {s["user_id"] for s in entry["submissions"]} <= {entry["user_id"]}
        assert all(isinstance(s["has_postable_comments"], bool) for s in entry["submissions"])
    assert "has_postable_comments" not in everyone.json()[0]


def test_a_request_costs_by_the_rows_it_renders(http: httpx.Client) -> None:
    """request_throttle.rb charges CPU and database time: a large grouped answer costs more
    than a page of 100 rows, which costs the base unit."""
    page = http.get(
        "/courses/598/students/submissions", params={"student_ids[]": "all", "per_page": 100}
    )
    grouped = {"student_ids[]": "all", "grouped": "true", "per_page": 100}
    big = http.get("/courses/598/students/submissions", params=grouped)
    rows = sum(len(e["submissions"]) for e in big.json())
    assert rows > 150
    assert float(page.headers["X-Request-Cost"]) == 1.0
    assert float(big.headers["X-Request-Cost"]) == rows / 100


def test_page_past_the_end_is_empty_list(http: httpx.Client) -> None:
    response = http.get("/courses/598/assignments", params={"page": 99})
    assert response.status_code == 200 and response.json() == []


def test_links_are_absolute_and_drop_access_token(sim: object, http: httpx.Client) -> None:
    anonymous = httpx.get(
        f"{http.base_url}courses/598/assignments",
        params={"access_token": "sim-token", "per_page": 5},
    )
    assert anonymous.status_code == 200
    for link in anonymous.links.values():
        assert link["url"].startswith("http://127.0.0.1:")
        assert "access_token" not in link["url"]


def test_canvasapi_walks_every_bookmark_page(sim: Simulator, course: Course) -> None:
    # canvasapi always asks for per_page=100 (the last duplicate wins, as in Rails) and
    # date-sniffs every string field, so: just over one page.
    sim.reset_request_log()
    rows = list(course.get_multiple_submissions(student_ids=[1001, 1002, 1003, 1004]))
    published = [a for a in course.get_assignments() if a.published]
    assert len(rows) == 4 * len(published) > 100
    assert len({(r.user_id, r.assignment_id) for r in rows}) == len(rows)
    pages = [q for (_, path, q, _) in sim.request_log if path.endswith("/students/submissions")]
    assert len(pages) > 1 and "bookmark" in pages[1]


def test_enrollments_default_states_and_bookmarks(http: httpx.Client) -> None:
    first = http.get("/courses/598/enrollments", params={"per_page": 7})
    assert "last" not in first.links
    assert _query(first.links["next"]["url"])["page"][0].startswith("bookmark:")
    rows, _ = walk(http, "/courses/598/enrollments", {"per_page": 7})
    states = {row["enrollment_state"] for row in rows}
    assert states == {"active", "invited"}
    assert TEST_STUDENT_ID not in {row["user_id"] for row in rows}
    row = next(r for r in rows if r["user_id"] == 1014)
    assert row["type"] == "StudentEnrollment" and row["course_section_id"] == 12
    assert set(row["user"]) >= {
        "id",
        "name",
        "sortable_name",
        "short_name",
        "sis_user_id",
        "login_id",
    }


def test_enrollment_filters_through_canvasapi(course: Course) -> None:
    states = ["active", "invited", "completed", "inactive"]
    every = list(course.get_enrollments(type=["StudentEnrollment"], state=states))
    by_user = {e.user_id: e.enrollment_state for e in every}
    assert by_user[1017] == "inactive" and by_user[1018] == "invited"
    assert by_user[1019] == "completed" and by_user[1001] == "active"
    teachers = list(course.get_enrollments(type=["TeacherEnrollment"]))
    assert [(e.user_id, e.user["name"]) for e in teachers] == [(1, "Canvas Sync Service")]
    test = list(course.get_enrollments(type=["StudentViewEnrollment"]))
    assert [e.user_id for e in test] == [TEST_STUDENT_ID]


def test_users_numbered_without_last_and_test_student_only_when_asked(
    course: Course, http: httpx.Client
) -> None:
    response = http.get("/courses/598/users", params={"enrollment_type[]": "student"})
    assert "last" not in response.links and "next" in response.links
    plain = {u.id for u in course.get_users(enrollment_type=["student", "student_view"])}
    asked = {
        u.id
        for u in course.get_users(
            enrollment_type=["student", "student_view"], include=["test_student"]
        )
    }
    assert TEST_STUDENT_ID in plain  # asking for student_view is asking for it
    only_students = {u.id for u in course.get_users(enrollment_type=["student"])}
    assert TEST_STUDENT_ID not in only_students and TEST_STUDENT_ID in asked
    assert 1017 not in only_students  # inactive is not a default state


def test_users_include_enrollments_and_markup_round_trips(course: Course) -> None:
    users = {
        u.id: u for u in course.get_users(enrollment_type=["student"], include=["enrollments"])
    }
    scripted = users[1015]
    assert scripted.name == SCRIPT_NAME
    assert scripted.sortable_name == 'Tables, <script>alert("x")</script>'
    assert scripted.enrollments[0]["type"] == "StudentEnrollment"
    names = [u.sortable_name for u in users.values()]
    assert names == sorted(names, key=str.lower)


def test_sections_list_every_student_enrollment_but_deleted_ones(http: httpx.Client) -> None:
    """sections_controller.rb `index` with include[]=students&include[]=enrollments: each
    section's StudentEnrollments in every state but deleted (course_section.rb `enrollments`),
    unpaginated, each student with that enrollment (lib/api/v1/section.rb); no test student."""
    params = {"include[]": ["students", "enrollments"], "per_page": 100}
    response = http.get("/courses/598/sections", params=params)
    sections = response.json()
    assert [s["name"] for s in sections] == ["Section A", "Section B"]
    assert "next" not in response.links and "last" in response.links
    listed = {
        e["id"]: (student, e)
        for section in sections
        for student in section["students"] or []
        for e in student["enrollments"]
    }
    every, _ = walk(
        http,
        "/courses/598/enrollments",
        {
            "type[]": ["StudentEnrollment"],
            "state[]": ["active", "invited", "completed", "inactive"],
        },
    )
    assert set(listed) == {row["id"] for row in every}
    for row in every:
        student, enrollment = listed[row["id"]]
        assert enrollment == {k: v for k, v in row.items() if k != "user"}
        assert {k: v for k, v in student.items() if k != "enrollments"} == row["user"]
    assert TEST_STUDENT_ID not in {student["id"] for student, _ in listed.values()}
    states = {e["user_id"]: e["enrollment_state"] for _, e in listed.values()}
    assert (states[1017], states[1018], states[1019]) == ("inactive", "invited", "completed")
    plain = http.get("/courses/598/sections", params={"include[]": "students"}).json()
    assert all("enrollments" not in s for section in plain for s in section["students"])
    counted = http.get("/courses/598/sections", params={"include[]": "total_students"}).json()
    assert "students" not in counted[0]
    assert sum(s["total_students"] for s in counted) == sum(
        1 for _, e in listed.values() if e["enrollment_state"] in ("active", "invited")
    )
