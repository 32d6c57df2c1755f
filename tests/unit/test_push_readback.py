"""push/readback over respx: which reads a push makes for the cells it checks and wrote."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from canvas_sync.canvas import CanvasClient
from canvas_sync.domain import Secret
from canvas_sync.push import Target
from canvas_sync.push.readback import ReadBack, read_cells

BASE = "https://canvas.test"
COURSE = 598
TOTAL = 99


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=f"{BASE}/api/v1", assert_all_called=False) as router:
        yield router


def answer(request: httpx.Request) -> httpx.Response:
    """Canvas's grouped answer: every asked student x assignment, with a score."""
    query = parse_qs(urlsplit(str(request.url)).query)
    assert query["grouped"] == ["true"]
    entries = [
        {
            "user_id": int(uid),
            "submissions": [
                {"id": int(aid) * 10_000 + int(uid), "user_id": int(uid), "assignment_id": int(aid)}
                | {"score": 0.0, "entered_score": 0.0, "workflow_state": "graded"}
                for aid in query["assignment_ids[]"]
            ],
        }
        for uid in query["student_ids[]"]
    ]
    return httpx.Response(200, json=entries)


def reads(route: respx.Route) -> list[tuple[int, int, bool]]:
    """(assignments, students, comments asked) per request."""
    found = []
    for call in route.calls:
        query = parse_qs(urlsplit(str(call.request.url)).query)
        comments = "submission_comments" in query.get("include[]", [])
        found.append((len(query["assignment_ids[]"]), len(query["student_ids[]"]), comments))
    return sorted(found)


def cells_of_a_class_push(students: int) -> list[Any]:
    """A zero on each of 10 readings for 60 students apiece, and everyone's total."""
    keys: list[Any] = [(Target.TOTAL, s, TOTAL) for s in range(1, students + 1)]
    for reading in range(1, 11):
        first = reading * 20
        keys += [(Target.GRADE, s, reading) for s in range(first, first + 60)]
    return keys


def read(
    api: respx.MockRouter, keys: list[Any], *, comments: bool, remaining: str | None = None
) -> tuple[ReadBack, respx.Route]:
    """`read_cells` of `keys` against Canvas's grouped answer; with `remaining`, Canvas has
    first said that much throttle budget is left."""
    route = api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=answer)
    with CanvasClient(BASE, Secret("t0ken"), sleep=lambda _s: None) as client:
        if remaining is not None:
            headers = {"X-Rate-Limit-Remaining": remaining}
            api.get(f"/courses/{COURSE}").respond(200, json={}, headers=headers)
            client.get_course(COURSE)
        return read_cells(client, COURSE, keys, None, comments=comments), route


def test_the_check_before_writing_reads_the_whole_class_in_few_requests(
    api: respx.MockRouter,
) -> None:
    keys = cells_of_a_class_push(300)
    seen, route = read(api, keys, comments=False)
    assert set(seen.cells) == set(keys)  # every asked cell, no other
    # 11 assignments x 300 students, 100 students a request: 3 reads instead of 11 or more.
    assert reads(route) == [(11, 100, False)] * 3
    assert {(r["user_id"], r["assignment_id"]) for r in seen.raw} == {(s, a) for _, s, a in keys}


def test_the_read_back_with_comments_reads_the_class_at_once_but_keeps_only_the_written_cells(
    api: respx.MockRouter,
) -> None:
    keys = cells_of_a_class_push(300)
    seen, route = read(api, keys, comments=True)
    assert set(seen.cells) == set(keys)
    # 11 assignments x 300 students in 3 requests, not each dense assignment on its own (13).
    assert reads(route) == [(11, 100, True)] * 3
    assert {(r["user_id"], r["assignment_id"]) for r in seen.raw} == {(s, a) for _, s, a in keys}


def test_with_little_throttle_budget_left_the_dense_assignments_are_read_on_their_own(
    api: respx.MockRouter,
) -> None:
    """The cross product reads 3,300 rows for 900 cells; Canvas charges by the rows rendered,
    so with the bucket nearly full the client reads only the cells' rows."""
    keys = cells_of_a_class_push(300)
    seen, route = read(api, keys, comments=True, remaining="170")
    assert set(seen.cells) == set(keys)
    assert reads(route) == [(1, 60, True)] * 10 + [(1, 100, True)] * 3


def test_a_sparse_read_back_reads_only_the_touched_assignments_and_students(
    api: respx.MockRouter,
) -> None:
    # Everyone's total, and a late zero on each of 10 readings: the cross product would read
    # 11 x 300 rows for 310 cells.
    keys: list[Any] = [(Target.TOTAL, s, TOTAL) for s in range(1, 301)]
    keys += [(Target.GRADE, 7 * reading, reading) for reading in range(1, 11)]
    seen, route = read(api, keys, comments=True)
    assert set(seen.cells) == set(keys)
    assert reads(route) == [(1, 100, True)] * 3 + [(10, 10, True)]


SINCE = datetime(2026, 5, 20, 16, 55, tzinfo=UTC)


def answer_since(stale: set[tuple[int, int]]) -> Any:
    """Canvas's grouped answer with `graded_since` applied: every row was graded after SINCE
    but the (student, assignment) cells in `stale`, which read a day earlier."""

    def respond(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        since = query.get("graded_since", [None])[0]
        entries = []
        for uid in query["student_ids[]"]:
            rows = []
            for aid in query["assignment_ids[]"]:
                graded = "2026-05-19T17:00:00Z" if (int(uid), int(aid)) in stale else None
                graded = graded or "2026-05-20T17:00:00Z"
                if since is not None and not graded > since:
                    continue
                rows.append(
                    {"id": int(aid) * 10_000 + int(uid), "user_id": int(uid)}
                    | {"assignment_id": int(aid), "score": 0.0, "entered_score": 0.0}
                    | {"workflow_state": "graded", "graded_at": graded}
                )
            entries.append({"user_id": int(uid), "submissions": rows})
        return httpx.Response(200, json=entries)

    return respond


def read_since(
    api: respx.MockRouter,
    keys: list[Any],
    stale: set[tuple[int, int]],
    remaining: str | None = None,
) -> tuple[ReadBack, list[tuple[int, int, bool]], list[tuple[int, int, bool]]]:
    """`read_cells` with `graded_since`: what it saw, its filtered reads and its whole ones."""
    route = api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=answer_since(stale))
    with CanvasClient(BASE, Secret("t0ken"), sleep=lambda _s: None) as client:
        if remaining is not None:
            headers = {"X-Rate-Limit-Remaining": remaining}
            api.get(f"/courses/{COURSE}").respond(200, json={}, headers=headers)
            client.get_course(COURSE)
        seen = read_cells(client, COURSE, keys, None, graded_since=SINCE)
    filtered, whole = [], []
    for call in route.calls:
        query = parse_qs(urlsplit(str(call.request.url)).query)
        shape = (len(query["assignment_ids[]"]), len(query["student_ids[]"]), True)
        (filtered if "graded_since" in query else whole).append(shape)
    return seen, sorted(filtered), sorted(whole)


def test_a_read_back_since_the_write_reads_the_missed_cells_again_without_the_filter(
    api: respx.MockRouter,
) -> None:
    keys = cells_of_a_class_push(300)
    stale = {(25, 1), (30, 1), (50, 2)}  # written, but their graded_at reads earlier
    seen, filtered, whole = read_since(api, keys, stale)
    assert set(seen.cells) == set(keys)  # none of them unknown
    assert filtered == [(11, 100, True)] * 3
    # Only the missed cells, read as the sparse rest: their 2 assignments x their 3 students.
    assert whole == [(2, 3, True)]
    assert sorted((r["user_id"], r["assignment_id"]) for r in seen.raw) == sorted(
        (s, a) for _, s, a in keys
    )  # each cell's row handed on once


def test_a_filtered_read_back_keeps_the_cross_product_with_little_throttle_budget(
    api: respx.MockRouter,
) -> None:
    """Canvas renders only the rows graded since the write, so the cross product costs about
    the written cells' units: no reason to split it (compare the unfiltered read above)."""
    keys = cells_of_a_class_push(300)
    seen, filtered, whole = read_since(api, keys, set(), remaining="170")
    assert set(seen.cells) == set(keys)
    assert filtered == [(11, 100, True)] * 3
    assert whole == []


def test_a_row_that_cannot_be_parsed_leaves_its_cell_unseen(api: respx.MockRouter) -> None:
    """A malformed row (here a comment without an id) is not a cell seen: the read goes on,
    and the push treats that cell as unknown (never as holding nothing)."""

    def malformed(request: httpx.Request) -> httpx.Response:
        entries: list[dict[str, Any]] = answer(request).json()
        entries[0]["submissions"][0]["submission_comments"] = [{"comment": "no id"}]
        return httpx.Response(200, json=entries)

    api.get(f"/courses/{COURSE}/students/submissions").mock(side_effect=malformed)
    keys: list[Any] = [(Target.GRADE, s, 1) for s in (1, 2)]
    with CanvasClient(BASE, Secret("t0ken"), sleep=lambda _s: None) as client:
        seen = read_cells(client, COURSE, keys, None)
    assert set(seen.cells) == {(Target.GRADE, 2, 1)}
    assert [r["user_id"] for r in seen.raw] == [2]
