"""The early pre-write re-read (service/_push_io.py `EarlyRead`) over respx: which cells are read
when, how many requests that costs, and what `recheck_plan` then reads again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from canvas_sync.canvas import CanvasClient
from canvas_sync.domain import Secret
from canvas_sync.push import PushAction, PushPlan, Target
from canvas_sync.push.plan import CellKey
from canvas_sync.service import _push_io
from canvas_sync.service._push_io import EarlyRead, recheck_plan

BASE = "https://canvas.test"
COURSE = 598
READINGS = (11, 12, 13)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=f"{BASE}/api/v1", assert_all_called=False) as router:
        yield router


def answer(request: httpx.Request) -> httpx.Response:
    """Canvas's grouped answer: every asked student x assignment, an ungraded row each."""
    query = parse_qs(urlsplit(str(request.url)).query)
    entries = [
        {
            "user_id": int(uid),
            "submissions": [
                {"id": int(aid) * 10_000 + int(uid), "user_id": int(uid), "assignment_id": int(aid)}
                | {"score": None, "entered_score": None, "workflow_state": "unsubmitted"}
                for aid in query["assignment_ids[]"]
            ],
        }
        for uid in query["student_ids[]"]
    ]
    return httpx.Response(200, json=entries)


def students_asked(route: respx.Route) -> list[list[int]]:
    """The student ids of each request, in the order the requests were made."""
    return [
        [int(s) for s in parse_qs(urlsplit(str(c.request.url)).query)["student_ids[]"]]
        for c in route.calls
    ]


def zeroes(students: range) -> list[CellKey]:
    return [(Target.GRADE, s, a) for s in students for a in READINGS]


def client() -> CanvasClient:
    return CanvasClient(BASE, Secret("t0ken"), concurrency=2)


def test_cells_are_read_a_request_of_students_at_a_time_as_batches_come(
    api: respx.MockRouter,
) -> None:
    """Each full request's worth of students is read when its batch arrives; the students
    that do not fill a request wait for the next batch, or for `flush`."""
    route = api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=answer)
    with client() as http:
        per_request = http.grouped_students(len(READINGS), trimmed=True)
        early = EarlyRead(http, COURSE)
        early.add(zeroes(range(1, per_request)))  # one student short of a request
        early.add([])
        assert route.call_count == 0
        early.add(zeroes(range(per_request, per_request + 5)))
        early.flush()
        read, rows = early.finish()
    asked = sorted(students_asked(route))
    assert asked == [list(range(1, per_request + 1)), list(range(per_request + 1, per_request + 5))]
    assert read == set(zeroes(range(1, per_request + 5)))
    assert len(rows) == len(read)


def plan_of(keys: list[CellKey]) -> PushPlan:
    return PushPlan(
        tuple(PushAction(t, s, a, None, "0", None, "late") for t, s, a in keys),
        (),
        (),
    )


def test_recheck_reads_only_the_cells_the_early_read_lacks(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=answer)
    with client() as http:
        early = EarlyRead(http, COURSE)
        early.add(zeroes(range(1, 4)))
        early.flush()
        plan = plan_of(zeroes(range(1, 6)))  # the plan has two students more
        checked = recheck_plan(None, http, COURSE, None, plan, {}, early)  # type: ignore[arg-type]
    assert sorted(students_asked(route)) == [[1, 2, 3], [4, 5]]
    assert checked.dropped == ()


def test_a_failed_early_read_is_read_again(api: respx.MockRouter) -> None:
    """An early read that failed covers nothing: its cells are read after the plan."""
    calls = {"n": 0}

    def first_fails(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(404, json={"errors": [{"message": "not found"}]})
        return answer(request)

    route = api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=first_fails)
    with client() as http:
        early = EarlyRead(http, COURSE)
        early.add(zeroes(range(1, 4)))
        early.flush()
        checked = recheck_plan(
            None,  # type: ignore[arg-type]
            http,
            COURSE,
            None,  # type: ignore[arg-type]
            plan_of(zeroes(range(1, 4))),
            {},
            early,
        )
    assert students_asked(route) == [[1, 2, 3], [1, 2, 3]]
    assert checked.dropped == () and len(checked.plan.actions) == 9


def test_early_reads_too_old_are_all_read_again(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller whose `confirm` took long: what was read early is not trusted at the write."""
    monkeypatch.setattr(_push_io, "EARLY_MAX_AGE", 0.0)
    route = api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=answer)
    with client() as http:
        early = EarlyRead(http, COURSE)
        early.add(zeroes(range(1, 4)))
        early.flush()
        recheck_plan(None, http, COURSE, None, plan_of(zeroes(range(1, 4))), {}, early)  # type: ignore[arg-type]
    assert students_asked(route) == [[1, 2, 3], [1, 2, 3]]


def test_a_cell_changed_after_the_early_read_began_is_seen_in_its_answer(
    api: respx.MockRouter,
) -> None:
    """What Canvas answers the early read is what the premise is checked against: a cell
    graded by then drops its change."""

    def graded(request: httpx.Request) -> httpx.Response:
        entries: list[dict[str, Any]] = answer(request).json()
        entries[0]["submissions"][0] |= {"score": 7.0, "entered_score": 7.0}
        entries[0]["submissions"][0]["workflow_state"] = "graded"
        return httpx.Response(200, json=entries)

    api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=graded)
    with client() as http:
        early = EarlyRead(http, COURSE)
        early.add(zeroes(range(1, 3)))
        early.flush()
        checked = recheck_plan(None, http, COURSE, None, plan_of(zeroes(range(1, 3))), {}, early)  # type: ignore[arg-type]
    assert [(a.student_id, a.assignment_id, why) for a, why in checked.dropped] == [
        (1, READINGS[0], "Canvas now holds 7")
    ]


def test_the_column_is_read_with_the_first_changing_cell_and_only_then(
    api: respx.MockRouter,
) -> None:
    """A batch with changes starts the column's read (its pages follow one another, so they
    are read while the course is evaluated); a push with no change reads no column."""
    api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=answer)
    data = [{"user_id": 1, "content": "R01"}]
    column = api.get(f"/courses/{COURSE}/custom_gradebook_columns/7/data").respond(200, json=data)
    with client() as http:
        idle = EarlyRead(http, COURSE, 7)
        idle.add([])
        idle.flush()
        assert idle.column_data() is None and column.call_count == 0
        idle.finish()
        early = EarlyRead(http, COURSE, 7)
        early.add(zeroes(range(1, 3)))
        early.add(zeroes(range(3, 5)))
        assert early.column_data() == data
        early.flush()
        early.finish()
    assert column.call_count == 1


def test_a_failed_column_read_gives_nothing_to_plan_from(api: respx.MockRouter) -> None:
    api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=answer)
    api.get(f"/courses/{COURSE}/custom_gradebook_columns/7/data").respond(404, json={})
    with client() as http:
        early = EarlyRead(http, COURSE, 7)
        early.add(zeroes(range(1, 3)))
        assert early.column_data() is None  # the plan then reads the column itself
        early.close()
