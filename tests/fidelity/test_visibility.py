"""Who an assignment is assigned to, override due dates, and the older Canvas's limits.

canvas-lms lib/effective_due_dates.rb (an override without `due_at` keeps the assignment's date;
Course overrides; `only_visible_to_overrides`), lib/submission_lifecycle_manager.rb (one row per
assigned student, soft-deleted when unassigned, restored when assigned again),
lib/api/v1/assignment_override.rb (JSON keys), canvas-api.md §10 items 23-24.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from canvas_sync.simulator import READING_IDS, Simulator


def rows(http: httpx.Client, assignment: int, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(
        "/courses/598/students/submissions",
        params={"student_ids[]": "all", "assignment_ids[]": assignment, "per_page": 100, **params},
    )
    answer.raise_for_status()
    body: list[dict[str, Any]] = answer.json()
    return body


def students(sim: Simulator) -> list[int]:
    return sorted({e.user_id for e in sim.state.student_enrollments()})


def test_override_without_due_at_keeps_the_assignments_date(
    sim: Simulator, http: httpx.Client
) -> None:
    aid, uid = READING_IDS[2], students(sim)[0]
    base = sim.state.assignments[aid].due_at
    assert base is not None
    override = sim.state.add_override(aid, [uid], title="extra attempt", sets_due=False)
    body = http.get(f"/courses/598/assignments/{aid}/overrides/{override.id}").json()
    assert "due_at" not in body and body["student_ids"] == [uid]
    (row,) = [r for r in rows(http, aid) if r["user_id"] == uid]
    assert row["cached_due_date"] == base.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_course_override_applies_to_everyone_below_sections(
    sim: Simulator, http: httpx.Client
) -> None:
    aid = READING_IDS[3]
    later = sim.state.assignments[aid].due_at
    assert later is not None
    later += timedelta(days=2)
    override = sim.state.add_override(aid, None, later, title="Everyone", course=True)
    body = http.get(f"/courses/598/assignments/{aid}/overrides/{override.id}").json()
    assert body["course_id"] == 598 and "course_section_id" not in body
    due = {r["user_id"]: r["cached_due_date"] for r in rows(http, aid)}
    assert set(due.values()) == {later.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_unassign_item_removes_the_row_and_deleting_it_restores_it(
    sim: Simulator, http: httpx.Client
) -> None:
    aid, uid = READING_IDS[4], students(sim)[1]
    (before,) = [r for r in rows(http, aid) if r["user_id"] == uid]
    override = sim.state.add_override(aid, [uid], title="not for you", unassign_item=True)
    body = http.get(f"/courses/598/assignments/{aid}/overrides/{override.id}").json()
    assert body["unassign_item"] is True and "due_at" not in body
    assert uid not in {r["user_id"] for r in rows(http, aid)}
    http.delete(f"/courses/598/assignments/{aid}/overrides/{override.id}").raise_for_status()
    (after,) = [r for r in rows(http, aid) if r["user_id"] == uid]
    assert after["id"] == before["id"]  # the same row, restored


def test_only_visible_to_overrides_keeps_rows_of_override_students_only(
    sim: Simulator, http: httpx.Client
) -> None:
    aid = READING_IDS[5]
    chosen = students(sim)[:2]
    sim.state.add_override(aid, chosen, None, title="two students", sets_due=False)
    sim.state.set_only_visible_to_overrides(aid, True)
    assignment = http.get(f"/courses/598/assignments/{aid}").json()
    assert assignment["only_visible_to_overrides"] is True
    assert sorted(r["user_id"] for r in rows(http, aid)) == chosen
    sim.state.set_only_visible_to_overrides(aid, False)
    assert len(rows(http, aid)) == len(students(sim))


def test_an_older_canvas_allows_50_student_ids_and_50_rows_a_page(
    sim: Simulator, http: httpx.Client
) -> None:
    sim.state.api_limit = 50
    try:
        many = [str(u) for u in students(sim)[:38]] + [str(9000 + i) for i in range(13)]
        answer = http.get(
            "/courses/598/students/submissions",
            params={"student_ids[]": many, "assignment_ids[]": READING_IDS[0]},
        )
        assert (answer.status_code, answer.json()) == (400, {"error": "too many students"})
        page = rows(http, READING_IDS[0]) + rows(http, READING_IDS[1])
        assert len(rows(http, READING_IDS[0])) <= 50 and page
        both = http.get(
            "/courses/598/students/submissions",
            params={"student_ids[]": "all", "assignment_ids[]": READING_IDS[:2], "per_page": 100},
        )
        assert len(both.json()) == 50 and 'rel="next"' in both.headers["Link"]
    finally:
        sim.state.api_limit = 100


@pytest.mark.parametrize("drop", [False, True])
def test_the_link_dropping_proxy_switch(sim: Simulator, http: httpx.Client, drop: bool) -> None:
    """Not Canvas: a proxy that strips `Link`, for the sync's completeness checks."""
    sim.drop_link_header = drop
    try:
        answer = http.get(
            "/courses/598/students/submissions",
            params={"student_ids[]": "all", "assignment_ids[]": READING_IDS[:5], "per_page": 100},
        )
        assert len(answer.json()) == 100
        assert ("Link" in answer.headers) is not drop
    finally:
        sim.drop_link_header = False
