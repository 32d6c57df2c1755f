"""CanvasClient over respx: paging, params, chunking, errors, retries, throttle, Progress."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from canvas_sync.canvas import CanvasClient, Limits
from canvas_sync.domain import Secret
from canvas_sync.errors import (
    AuthFailed,
    CanvasError,
    CanvasUnavailable,
    Forbidden,
    IncompleteListing,
    NotFound,
    PushFailed,
    RateLimited,
)

TOKEN = "7~Zq8XsecretTOKENvalue0123456789abcdef"
BASE = "https://canvas.test"
API = f"{BASE}/api/v1"
Events = list[tuple[str, dict[str, object]]]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def events() -> Events:
    return []


@pytest.fixture
def client(sleeps: list[float], events: Events, api: respx.MockRouter) -> Iterator[CanvasClient]:
    # The router as an explicit transport: no TLS context per client, so tests stay fast.
    canvas = CanvasClient(
        BASE,
        Secret(TOKEN),
        transport=httpx.MockTransport(api.handler),
        max_attempts=4,
        sleep=sleeps.append,
        on_event=lambda name, payload: events.append((name, payload)),
    )
    yield canvas
    canvas.close()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url)).query)


def link(url: str, rel: str = "next") -> dict[str, str]:
    return {"Link": f'<{url}>; rel="{rel}"'}


# --- basics ---------------------------------------------------------------------------------


def test_get_sends_bearer_token_and_counts_requests(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.get("/courses/598").respond(json={"id": 598, "name": "CS 598"})
    assert client.get_course(598) == {"id": 598, "name": "CS 598"}
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert str(request.url) == f"{API}/courses/598"
    assert client.request_count == 1


def test_together_hands_back_each_result_or_error_in_order(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """Calls made together: one failing stops none of the others (a write sent is sent)."""
    api.get("/courses/1").respond(json={"id": 1})
    api.get("/courses/2").respond(404, json={"errors": [{"message": "not found"}]})
    api.get("/courses/3").respond(json={"id": 3})
    answers = client.together([lambda n=n: client.get(f"/courses/{n}") for n in (1, 2, 3)])
    assert answers[0] == {"id": 1} and answers[2] == {"id": 3}
    assert isinstance(answers[1], NotFound)
    assert client.request_count == 3


def test_base_url_with_api_v1_and_slash_is_normalized(api: respx.MockRouter) -> None:
    route = api.get("/courses/1").respond(json={"id": 1})
    with CanvasClient(f"{API}/", Secret(TOKEN), sleep=lambda _: None) as canvas:
        canvas.get("/courses/1")
        assert canvas.base_url == BASE
    assert route.call_count == 1


def test_repr_hides_token(client: CanvasClient) -> None:
    assert TOKEN not in repr(client)
    assert BASE in repr(client)


# --- pagination -----------------------------------------------------------------------------


def test_paginate_follows_numbered_links_with_per_page_100(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    page2 = f"{API}/courses/1/assignments?page=2&per_page=100"
    page3 = f"{API}/courses/1/assignments?page=3&per_page=100"
    route = api.get(url__startswith=f"{API}/courses/1/assignments").mock(
        side_effect=[
            httpx.Response(200, json=[{"id": 1}, {"id": 2}], headers=link(page2)),
            # Header-name case is not guaranteed (canvas-api.md §2).
            httpx.Response(200, json=[{"id": 3}], headers={"link": f'<{page3}>; rel="next"'}),
            httpx.Response(200, json=[{"id": 4}], headers=link(f"{API}/x?page=1", "first")),
        ]
    )
    items = list(client.paginate("/courses/1/assignments", {"order_by": "due_at"}))
    assert [item["id"] for item in items] == [1, 2, 3, 4]
    urls = [str(call.request.url) for call in route.calls]
    assert query(route.calls[0].request) == {"order_by": ["due_at"], "per_page": ["100"]}
    assert urls[1:] == [page2, page3]


def test_paginate_follows_bookmark_urls_verbatim(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    bookmark = (
        f"{API}/courses/1/students/submissions?include%5B%5D=submission_history"
        "&page=bookmark:WzE2MzUsIjIwMjYtMDItMDFUMDU6NTk6NTlaIl0&per_page=100"
    )
    route = api.get(url__startswith=f"{API}/courses/1/students/submissions").mock(
        side_effect=[
            httpx.Response(200, json=[{"id": 10}], headers=link(bookmark)),
            httpx.Response(200, json=[{"id": 11}]),
        ]
    )
    assert [s["id"] for s in client.paginate("/courses/1/students/submissions")] == [10, 11]
    assert str(route.calls[1].request.url) == bookmark
    assert route.call_count == 2


def test_paginate_stops_on_repeated_next_link(client: CanvasClient, api: respx.MockRouter) -> None:
    loop = f"{API}/courses/1/users?page=2"
    api.get(url__startswith=f"{API}/courses/1/users").mock(
        return_value=httpx.Response(200, json=[{"id": 1}], headers=link(loop))
    )
    with pytest.raises(CanvasUnavailable, match="same next page"):
        list(client.paginate("/courses/1/users"))


def test_token_not_sent_to_foreign_next_link(client: CanvasClient, api: respx.MockRouter) -> None:
    foreign = "https://files.example.com/page2"
    api.get("/courses/1/files").respond(json=[1], headers=link(foreign))
    other = api.route(host="files.example.com", path="/page2").respond(json=[2])
    assert list(client.paginate("/courses/1/files")) == [1, 2]
    assert "Authorization" not in other.calls.last.request.headers


# --- endpoint parameters --------------------------------------------------------------------


def test_enrollments_encode_list_params_as_repeated_keys(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.get("/courses/598/enrollments").respond(json=[{"id": 1}])
    assert client.enrollments(598) == [{"id": 1}]
    params = query(route.calls.last.request)
    assert params["type[]"] == ["StudentEnrollment", "StudentViewEnrollment"]
    assert {"active", "completed", "inactive", "invited", "deleted"} <= set(params["state[]"])
    assert params["per_page"] == ["100"]


def test_section_enrollments_flatten_each_student_with_its_enrollments(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    ann = {"id": 7, "name": "Ann", "enrollments": [{"id": 70, "course_section_id": 1}]}
    bo = {
        "id": 8,
        "name": "Bo",
        "enrollments": [{"id": 80, "course_section_id": 2, "enrollment_state": "inactive"}],
    }
    route = api.get("/courses/598/sections").respond(
        json=[
            {"id": 1, "students": [ann]},
            {"id": 2, "students": [bo]},
            {"id": 3, "students": None},
        ]
    )
    assert client.section_enrollments(598) == [
        {"id": 70, "course_section_id": 1, "user": {"id": 7, "name": "Ann"}},
        {
            "id": 80,
            "course_section_id": 2,
            "enrollment_state": "inactive",
            "user": {"id": 8, "name": "Bo"},
        },
    ]
    assert query(route.calls.last.request)["include[]"] == ["students", "enrollments"]


@pytest.mark.parametrize(
    "sections",
    [
        [{"id": 1, "name": "A"}],  # the roster right is missing: Canvas drops the includes
        [{"id": 1, "students": [{"id": 7, "name": "Ann"}]}],  # an older Canvas: no enrollments
        [{"id": 1, "students": [{"id": 7, "enrollments": ["70"]}]}],
        [{"id": 1, "students": "all"}],
    ],
    ids=["no-students", "no-enrollments", "not-an-enrollment", "not-a-list"],
)
def test_section_enrollments_that_cannot_be_read_are_none(
    client: CanvasClient, api: respx.MockRouter, sections: list[Any]
) -> None:
    api.get("/courses/598/sections").respond(json=sections)
    assert client.section_enrollments(598) is None


def test_section_enrollments_past_the_size_cap_are_none(api: respx.MockRouter) -> None:
    """One answer for every section may grow past canvas.max_response_megabytes in a huge
    course: the sync then lists the enrollments a page at a time instead of failing."""
    big = {"id": 7, "name": "x" * 4000, "enrollments": [{"id": 70}]}
    api.get("/courses/598/sections").respond(json=[{"id": 1, "students": [big]}])
    with CanvasClient(
        BASE,
        Secret(TOKEN),
        transport=httpx.MockTransport(api.handler),
        limits=Limits(max_response_bytes=1024),
    ) as small:
        assert small.section_enrollments(598) is None


def test_assignment_groups_request_assignments_and_overrides(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.get("/courses/598/assignment_groups").respond(json=[{"id": 7}])
    assert client.assignment_groups(598) == [{"id": 7}]
    params = query(route.calls.last.request)
    assert params["include[]"] == ["assignments", "overrides"]
    assert params["override_assignment_dates"] == ["false"]


def grouped(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as Canvas answers `grouped=true`: one entry per student (by id), its rows inside."""
    users = sorted({int(row["user_id"]) for row in rows})
    return [
        {"user_id": u, "section_id": 1, "submissions": [r for r in rows if r["user_id"] == u]}
        for u in users
    ]


def test_student_submissions_chunks_over_100_students(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """Named students are read grouped: one request per chunk of students, every entry of the
    chunk in it, so no completeness probe is needed."""

    def answer(request: httpx.Request) -> httpx.Response:
        ids = query(request)["student_ids[]"]
        return httpx.Response(200, json=grouped([{"user_id": int(i)} for i in ids]))

    route = api.get("/courses/598/students/submissions").mock(side_effect=answer)
    students = list(range(1000, 1250))
    since = datetime(2026, 3, 8, 2, 30, tzinfo=timezone(timedelta(hours=-6)))
    rows = client.student_submissions(598, [11, 12], students, submitted_since=since)
    assert [row["user_id"] for row in rows] == students  # every row, in chunk order
    sent = [query(call.request) for call in route.calls]
    assert sorted(len(q["student_ids[]"]) for q in sent) == [50, 100, 100]  # two threads
    for params in sent:
        assert params["grouped"] == ["true"]
        assert params["assignment_ids[]"] == ["11", "12"]
        assert params["include[]"] == [
            "submission_history",
            "submission_comments",
            "rubric_assessment",
        ]
        assert params["per_page"] == ["100"]
        assert params["submitted_since"] == ["2026-03-08T08:30:00Z"]
        assert "graded_since" not in params


def test_student_submissions_all_students_and_empty_inputs(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.get("/courses/598/students/submissions").respond(json=[{"id": 1}])
    assert client.student_submissions(598, [11], None) == [{"id": 1}]
    assert query(route.calls.last.request)["student_ids[]"] == ["all"]
    assert client.student_submissions(598, [], None) == []
    assert client.student_submissions(598, [11], []) == []
    assert route.call_count == 1


def test_submissions_in_groups_ask_only_for_the_named_fields(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        params = query(request)
        rows = [
            {"user_id": int(u), "assignment_id": int(a)}
            for a in params["assignment_ids[]"]
            for u in params["student_ids[]"]
        ]
        return httpx.Response(200, json=grouped(rows))

    route = api.get("/courses/598/students/submissions").mock(side_effect=answer)
    groups: list[tuple[list[int], list[int] | None]] = [([11], [1, 2]), ([12, 13], [3]), ([], [4])]
    rows = client.submissions_in_groups(598, groups, include=(), fields=("id", "score"))
    pairs = [(r["assignment_id"], r["user_id"]) for r in rows]
    assert pairs == [(11, 1), (11, 2), (12, 3), (13, 3)]  # in group order; empty groups skipped
    assert route.call_count == 2
    for call in route.calls:
        params = query(call.request)
        assert params["response_fields[]"] == ["id", "score"]
        assert params["exclude_response_fields[]"] == ["preview_url"]
        assert "include[]" not in params
    client.student_submissions(598, [11], [1])
    assert "response_fields[]" not in query(route.calls.last.request)


def test_student_submission_chunks_run_with_bounded_concurrency(
    api: respx.MockRouter, sleeps: list[float]
) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.03)
        with lock:
            state["now"] -= 1
        n = len(query(request)["student_ids[]"])
        return httpx.Response(200, json=[{"user_id": 1, "submissions": [{"n": n}]}])

    api.get("/courses/598/students/submissions").mock(side_effect=slow)
    with CanvasClient(BASE, Secret(TOKEN), concurrency=2, sleep=sleeps.append) as canvas:
        rows = canvas.student_submissions(598, [11], list(range(600)))
    assert [row["n"] for row in rows] == [100] * 6
    assert state["max"] == 2


def test_in_flight_requests_never_exceed_concurrency(api: respx.MockRouter) -> None:
    """Canvas charges 50 units per in-flight request: even callers' own threads are capped."""
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return httpx.Response(200, json={})

    api.get("/courses/1").mock(side_effect=slow)
    transport = httpx.MockTransport(api.handler)
    with CanvasClient(BASE, Secret(TOKEN), concurrency=1, transport=transport) as canvas:
        threads = [threading.Thread(target=canvas.get, args=("/courses/1",)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert canvas.request_count == 4
    assert state["max"] == 1


def test_a_failing_chunk_fails_the_whole_call(client: CanvasClient, api: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if query(request)["student_ids[]"][0] == "100":
            return httpx.Response(400, json={"error": "too many students"})
        return httpx.Response(200, json=[])

    api.get("/courses/598/students/submissions").mock(side_effect=answer)
    with pytest.raises(CanvasError, match="too many students"):
        client.student_submissions(598, [11], list(range(300)))


def test_custom_columns_and_column_data_include_hidden(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    cols = api.get("/courses/598/custom_gradebook_columns").respond(json=[{"id": 3}])
    data = api.get("/courses/598/custom_gradebook_columns/3/data").respond(
        json=[{"user_id": 5, "content": "R1, R2"}]
    )
    assert client.custom_columns(598) == [{"id": 3}]
    assert client.column_data(598, 3) == [{"user_id": 5, "content": "R1, R2"}]
    assert query(cols.calls.last.request)["include_hidden"] == ["true"]
    assert query(data.calls.last.request)["include_hidden"] == ["true"]


def test_late_policy_unwraps_and_is_none_on_404(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    policy = {"id": 4, "late_submission_deduction_enabled": True}
    api.get("/courses/598/late_policy").respond(json={"late_policy": policy})
    api.get("/courses/599/late_policy").respond(
        404, json={"errors": [{"message": "The specified resource does not exist."}]}
    )
    assert client.late_policy(598) == policy
    assert client.late_policy(599) is None


# --- error translation ----------------------------------------------------------------------

ERROR_CASES = [
    (401, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
     {"errors": [{"message": "Invalid access token."}]}, AuthFailed, "set CANVAS_TOKEN"),
    (401, {}, {"status": "unauthorized",
               "errors": [{"message": "user not authorized to perform that action"}]},
     Forbidden, "not authorized"),
    (404, {}, {"errors": [{"message": "The specified resource does not exist."}]},
     NotFound, "course 598"),
    (403, {}, {"status": "unauthorized",
               "errors": [{"message": "user not authorized to perform that action"}]},
     Forbidden, "teacher rights"),
    (403, {"X-Rate-Limit-Remaining": "0.0"}, "403 Forbidden (Rate Limit Exceeded)\n",
     RateLimited, "throttled"),
    (429, {}, {"errors": [{"message": "slow down"}]}, RateLimited, "throttled"),
    (500, {}, {"errors": [{"message": "An error occurred."}]}, CanvasUnavailable, "(500)"),
    (400, {}, {"error": "too many students"}, CanvasError, "too many students"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "headers", "body", "error", "text"), ERROR_CASES)
def test_status_translation(
    client: CanvasClient,
    api: respx.MockRouter,
    status: int,
    headers: dict[str, str],
    body: object,
    error: type[Exception],
    text: str,
) -> None:
    kwargs: dict[str, Any] = {"text": body} if isinstance(body, str) else {"json": body}
    api.get("/courses/598").respond(status, headers=headers, **kwargs)
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")) as info:
        client.get_course(598)
    assert type(info.value) is error
    assert isinstance(info.value.__cause__, httpx.HTTPStatusError)
    assert "GET /api/v1/courses/598" in str(info.value) or error is AuthFailed


def test_auth_failed_message_is_the_documented_sentence(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    api.get("/courses/1").respond(401, headers={"WWW-Authenticate": "Bearer"}, json={})
    with pytest.raises(AuthFailed) as info:
        client.get("/courses/1")
    assert str(info.value) == (
        "Canvas rejected the token (401): set CANVAS_TOKEN to a valid access token."
    )
    assert client.request_count == 1  # not retried


def test_timeout_becomes_canvas_unavailable(client: CanvasClient, api: respx.MockRouter) -> None:
    api.get("/courses/1").mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(CanvasUnavailable, match="did not answer GET /api/v1/courses/1") as info:
        client.get("/courses/1")
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_connect_error_names_the_url(client: CanvasClient, api: respx.MockRouter) -> None:
    api.get("/courses/1").mock(side_effect=httpx.ConnectError("[Errno 111] refused"))
    with pytest.raises(CanvasUnavailable, match=r"Canvas at https://canvas\.test is unreachable"):
        client.get("/courses/1")


def test_non_json_answer_is_canvas_unavailable(client: CanvasClient, api: respx.MockRouter) -> None:
    api.get("/courses/1").respond(200, html="<html>Log in with SSO</html>")
    with pytest.raises(CanvasUnavailable, match="not JSON \\(text/html\\)") as info:
        client.get("/courses/1")
    assert isinstance(info.value.__cause__, ValueError)


# --- retries --------------------------------------------------------------------------------


def test_transient_failures_are_retried_until_success(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float], events: Events
) -> None:
    route = api.get("/courses/1").mock(
        side_effect=[
            httpx.Response(503),
            httpx.ConnectError("refused"),
            httpx.Response(403, text="403 Forbidden (Rate Limit Exceeded)\n"),
            httpx.Response(200, json={"id": 1}),
        ]
    )
    assert client.get("/courses/1") == {"id": 1}
    assert route.call_count == 4
    assert client.request_count == 4
    retries = [payload for name, payload in events if name == "retry"]
    assert [p["attempt"] for p in retries] == [1, 2, 3]
    assert [p["error"] for p in retries] == [
        "CanvasUnavailable",
        "CanvasUnavailable",
        "RateLimited",
    ]
    assert len(sleeps) >= 3 and all(s > 0 for s in sleeps)


def test_retries_stop_after_max_attempts(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/courses/1").respond(502)
    with pytest.raises(CanvasUnavailable, match="502"):
        client.get("/courses/1")
    assert route.call_count == 4  # max_attempts=4
    assert all(0 < s <= 30.0 for s in sleeps)


def test_backoff_grows_and_is_capped(api: respx.MockRouter) -> None:
    sleeps: list[float] = []
    api.get("/courses/1").respond(500)
    with (
        CanvasClient(
            BASE,
            Secret(TOKEN),
            max_attempts=6,
            backoff_base=1.0,
            backoff_max=5.0,
            sleep=sleeps.append,
        ) as canvas,
        pytest.raises(CanvasUnavailable),
    ):
        canvas.get("/courses/1")
    assert len(sleeps) == 5
    assert 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 3.0
    assert max(sleeps) <= 5.0 and sleeps[-1] == 5.0


def test_permanent_errors_are_not_retried(client: CanvasClient, api: respx.MockRouter) -> None:
    route = api.get("/courses/9").respond(404, json={})
    with pytest.raises(NotFound):
        client.get("/courses/9")
    assert route.call_count == 1


# --- writes and bulk grading ----------------------------------------------------------------

GRADES_PATH = "/courses/598/assignments/11/submissions/update_grades"
PROGRESS = {"id": 77, "workflow_state": "queued", "tag": "submissions_update", "completion": 0}


def test_bulk_update_grades_posts_json_grade_data(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.post(GRADES_PATH).respond(json=PROGRESS)
    grades = {1001: {"posted_grade": "0", "text_comment": "Late: submitted after the due time."}}
    assert client.bulk_update_grades(598, 11, grades) == PROGRESS
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"grade_data": {"1001": grades[1001]}}


def test_write_timeout_after_sending_is_not_retried(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.post(GRADES_PATH).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(CanvasUnavailable, match="was not retried") as info:
        client.bulk_update_grades(598, 11, {1: {"posted_grade": "0"}})
    assert route.call_count == 1
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    "first",
    [
        httpx.ConnectError("refused"),
        httpx.Response(429),
        httpx.Response(403, text="403 Forbidden (Rate Limit Exceeded)\n"),
        httpx.Response(503),
    ],
)
def test_write_refused_before_reaching_canvas_is_retried(
    client: CanvasClient, api: respx.MockRouter, first: httpx.Response | Exception
) -> None:
    route = api.post(GRADES_PATH).mock(side_effect=[first, httpx.Response(200, json=PROGRESS)])
    assert client.bulk_update_grades(598, 11, {1: {"posted_grade": "0"}}) == PROGRESS
    assert route.call_count == 2


def test_write_500_is_not_retried(client: CanvasClient, api: respx.MockRouter) -> None:
    route = api.post(GRADES_PATH).respond(500)
    with pytest.raises(CanvasUnavailable):
        client.bulk_update_grades(598, 11, {1: {"posted_grade": "0"}})
    assert route.call_count == 1


def test_bulk_update_needs_grade_data(client: CanvasClient) -> None:
    with pytest.raises(ValueError, match="at least one"):
        client.bulk_update_grades(598, 11, {})


def test_wait_progress_returns_completed(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/progress/77").mock(
        side_effect=[
            httpx.Response(200, json={**PROGRESS, "workflow_state": "running", "completion": 50}),
            httpx.Response(
                200, json={**PROGRESS, "workflow_state": "completed", "completion": 100}
            ),
        ]
    )
    done = client.wait_progress(PROGRESS, poll_interval=0.25)
    assert done["workflow_state"] == "completed" and done["completion"] == 100
    assert route.call_count == 2
    assert sleeps == [0.25, 0.5]  # the interval doubles (backoff)


def test_wait_progress_failed_raises_with_canvas_message(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    api.get("/progress/77").respond(
        json={**PROGRESS, "workflow_state": "failed",
              "message": "Couldn't find User(s) with API ids '999'"}
    )  # fmt: skip
    with pytest.raises(PushFailed, match="Couldn't find User\\(s\\) with API ids '999'"):
        client.wait_progress(PROGRESS)


def test_wait_progress_times_out(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get("/progress/77").respond(json={**PROGRESS, "workflow_state": "running"})
    with pytest.raises(PushFailed, match="still running after 2 s"):
        client.wait_progress(PROGRESS, timeout=2.0, poll_interval=0.5)
    assert route.call_count == 3
    assert sleeps == [0.5, 1.0, 2.0]  # backoff: waited 3.5 s >= 2 s after the third poll


def test_canceled_and_waiting_for_external_tool(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    """app/models/progress.rb: waiting_for_external_tool goes on; canceled ends the wait."""
    api.get("/progress/77").mock(
        side_effect=[
            httpx.Response(200, json={**PROGRESS, "workflow_state": "waiting_for_external_tool"}),
            httpx.Response(200, json={**PROGRESS, "workflow_state": "canceled"}),
        ]
    )
    with pytest.raises(PushFailed, match="was canceled"):
        client.wait_progress(PROGRESS, poll_interval=0.25)
    assert len(sleeps) == 2


def test_several_progresses_are_polled_together(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    first = api.get("/progress/1").mock(
        side_effect=[
            httpx.Response(200, json={**PROGRESS, "id": 1, "workflow_state": "running"}),
            httpx.Response(200, json={**PROGRESS, "id": 1, "workflow_state": "completed"}),
        ]
    )
    second = api.get("/progress/2").respond(json={**PROGRESS, "id": 2, "workflow_state": "failed"})
    done = client.wait_progresses(
        [{**PROGRESS, "id": 1}, {**PROGRESS, "id": 2}], poll_interval=0.25
    )
    assert {i: p["workflow_state"] for i, p in done.items()} == {1: "completed", 2: "failed"}
    assert (first.call_count, second.call_count) == (2, 1)
    assert sleeps == [0.25, 0.5]


def test_a_round_polls_its_progresses_at_once(client: CanvasClient, api: respx.MockRouter) -> None:
    both = threading.Barrier(2, timeout=5)  # broken unless the two polls are in flight together

    def answer(request: httpx.Request) -> httpx.Response:
        both.wait()
        progress_id = int(request.url.path.rsplit("/", 1)[1])
        return httpx.Response(
            200, json={**PROGRESS, "id": progress_id, "workflow_state": "completed"}
        )

    api.get(url__regex=r"/progress/\d+$").mock(side_effect=answer)
    done = client.wait_progresses([{**PROGRESS, "id": 1}, {**PROGRESS, "id": 2}])
    assert {i: p["workflow_state"] for i, p in done.items()} == {1: "completed", 2: "completed"}


def test_course_level_bulk_update_nests_assignment_then_student(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.post("/courses/598/submissions/update_grades").respond(json=PROGRESS)
    client.bulk_update_course_grades(
        598, {10: {5: {"posted_grade": "0", "text_comment": "late"}}, 11: {6: {}}}
    )
    body = json.loads(route.calls[0].request.content)
    assert body == {
        "grade_data": {"10": {"5": {"posted_grade": "0", "text_comment": "late"}}, "11": {"6": {}}}
    }


def test_wait_progress_already_completed_does_not_poll(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.get("/progress/77").respond(json=PROGRESS)
    assert client.wait_progress({**PROGRESS, "workflow_state": "completed"})["id"] == 77
    assert route.call_count == 0


# --- throttle through the client ------------------------------------------------------------


def test_client_slows_down_when_budget_is_low(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float], events: Events
) -> None:
    api.get("/courses/1").respond(
        json={"id": 1}, headers={"X-Rate-Limit-Remaining": "30.0", "X-Request-Cost": "2.5"}
    )
    client.get("/courses/1")
    assert sleeps == []  # nothing known before the first answer
    client.get("/courses/1")
    assert sleeps == [pytest.approx(12.0)]  # (150 - 30) / 10 units per second
    assert events == [("throttle_wait", {"delay": pytest.approx(12.0), "remaining": 30.0})]


def test_client_does_not_wait_with_plenty_of_budget(
    client: CanvasClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.get("/courses/1").respond(json={}, headers={"X-Rate-Limit-Remaining": "580.2"})
    for _ in range(3):
        client.get("/courses/1")
    assert sleeps == []


# --- the token stays secret -----------------------------------------------------------------


def test_token_never_in_errors_events_or_logs(
    client: CanvasClient,
    api: respx.MockRouter,
    events: Events,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get("/courses/1").mock(
        side_effect=[httpx.Response(503), httpx.Response(401, headers={"WWW-Authenticate": "B"})]
    )
    # A (hypothetical) Canvas error body echoing the token must be scrubbed too.
    api.get("/courses/2").respond(400, json={"error": f"bad token {TOKEN}"})
    api.get("/courses/3").mock(side_effect=httpx.ConnectError(f"refused {TOKEN}"))
    api.get("/courses/4").respond(200, text=f"<html>{TOKEN}</html>")
    failures: list[Exception] = []
    for course in (1, 2, 3, 4):
        with pytest.raises(CanvasError) as info:
            client.get(f"/courses/{course}")
        failures.append(info.value)
    assert len(events) >= 4
    for failure in failures:
        assert TOKEN not in str(failure) and TOKEN not in repr(failure)
    assert TOKEN not in repr(events)
    assert TOKEN not in caplog.text
    assert "[token]" in str(failures[1])


def test_naive_datetime_params_are_rejected(client: CanvasClient) -> None:
    with pytest.raises(ValueError, match="aware"):
        client.student_submissions(1, [1], [1], graded_since=datetime(2026, 2, 1))


def test_aware_datetimes_are_sent_as_utc_z(client: CanvasClient, api: respx.MockRouter) -> None:
    route = api.get("/courses/1/students/submissions").respond(json=[])
    client.student_submissions(1, [1], graded_since=datetime(2026, 2, 1, 12, 0, 5, 9, tzinfo=UTC))
    assert query(route.calls.last.request)["graded_since"] == ["2026-02-01T12:00:05Z"]


def test_a_list_ending_on_a_full_page_without_next_link_is_incomplete(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """A proxy that strips `Link` makes every list one page long: a full last page is checked
    with a `per_page=1` probe, and a probe without rel="next" fails the pull in one sentence."""
    route = api.get("/courses/598/enrollments").respond(json=[{"id": i} for i in range(100)])
    with pytest.raises(IncompleteListing, match="Link header") as caught:
        client.enrollments(598)
    assert "\n" not in str(caught.value)
    assert [query(c.request)["per_page"] for c in route.calls] == [["100"], ["1"]]
    short = api.get("/courses/598/assignment_groups").respond(json=[{"id": i} for i in range(7)])
    assert len(client.assignment_groups(598)) == 7  # a partial page is the end: no probe
    assert short.call_count == 1


def test_a_full_page_of_named_students_needs_no_probe_only_when_every_row_came(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """A grouped read sends one entry per named student: an entry for each of the 100 is the
    whole list; 50 entries for 100 students (a full page of an older Canvas, no next link), or
    100 plain rows for `all`, is checked with the probe."""
    route = api.get("/courses/598/students/submissions").respond(
        json=grouped([{"user_id": i, "assignment_id": a} for i in range(100) for a in (11, 12)])
    )
    assert len(client.student_submissions(598, [11, 12], list(range(100)))) == 200
    assert [query(c.request)["per_page"] for c in route.calls] == [["100"]]
    route.respond(json=grouped([{"user_id": i} for i in range(50)]))
    with pytest.raises(IncompleteListing):
        client.student_submissions(598, [11], list(range(100)))
    route.respond(json=[{"user_id": i} for i in range(100)])
    with pytest.raises(IncompleteListing):
        client.student_submissions(598, [11], None)
    assert [query(c.request)["per_page"] for c in route.calls][1:] == [["100"], ["1"]] * 2


def test_a_grouped_answer_without_submission_lists_is_refused(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    api.get("/courses/598/students/submissions").respond(json=[{"user_id": 1, "id": 5}])
    with pytest.raises(CanvasError, match="grouped"):
        client.student_submissions(598, [11], [1])


def test_too_many_students_halves_the_chunk_and_remembers(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """An older Canvas allows 50 `student_ids[]` (canvas-api.md §10 item 24): a 400 "too many
    students" halves the chunk, and later requests start at the size that worked."""

    def answer(request: httpx.Request) -> httpx.Response:
        ids = query(request)["student_ids[]"]
        if len(ids) > 50:
            return httpx.Response(400, json={"error": "too many students"})
        return httpx.Response(200, json=grouped([{"user_id": int(i)} for i in ids[:49]]))

    route = api.get("/courses/598/students/submissions").mock(side_effect=answer)
    rows = client.student_submissions(598, [11], list(range(1, 101)))
    assert len(rows) == 98
    assert [len(query(c.request)["student_ids[]"]) for c in route.calls] == [100, 50, 50]
    before = len(route.calls)
    client.student_submissions(598, [11], list(range(1, 101)))
    assert [len(query(c.request)["student_ids[]"]) for c in route.calls[before:]] == [50, 50]


def test_a_since_query_comes_a_page_at_a_time_and_is_still_checked_complete(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """`student_ids[]=all` (the incremental sync's since-queries) can hold every grade a push
    wrote: each page is handed on before the next is read, and a list ending on a full page
    without `rel="next"` still fails, after its pages were handed on."""
    pages = [[{"id": 100 * p + i} for i in range(100)] for p in range(3)] + [[{"id": 300}]]
    proxy_strips_links = False

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(query(request).get("page", ["0"])[0])
        more = number + 1 < len(pages) and not proxy_strips_links
        link = {"Link": f'<{API}/courses/598/students/submissions?page={number + 1}>; rel="next"'}
        return httpx.Response(200, json=pages[number], headers=link if more else {})

    route = api.get("/courses/598/students/submissions").mock(side_effect=answer)
    since = datetime(2026, 2, 1, tzinfo=UTC)
    batches = client.submission_batches(598, [([11], None)], graded_since=since)
    first = next(batches)
    assert [r["id"] for r in first] == list(range(100)) and route.call_count == 1
    assert [len(b) for b in batches] == [100, 100, 1]
    assert route.call_count == 4
    proxy_strips_links = True  # the first page looks like the last, and it is full
    handed = []
    with pytest.raises(IncompleteListing):
        for batch in client.submission_batches(598, [([11], None)], graded_since=since):
            handed.append(len(batch))
    assert handed == [100]  # the sync drops what it spooled when the pull raises
    assert [query(c.request)["per_page"] for c in route.calls[4:]] == [["100"], ["1"]]


@pytest.mark.parametrize(("pages_in_window", "switched"), [(3, False), (6, True)])
def test_a_long_since_window_is_read_again_grouped_once_paging_costs_more(
    client: CanvasClient, api: respx.MockRouter, pages_in_window: int, switched: bool
) -> None:
    """600 students in chunks of 100 (one assignment) are 6 grouped requests, 3 rounds at a
    concurrency of 2: a window of 3 pages is paged to its end; one of 6 is left after 3 full
    pages and read grouped, every student asked once."""
    pages = [[{"id": 100 * p + i, "user_id": 1} for i in range(100)] for p in range(6)]
    pages = [*pages[: pages_in_window - 1], [{"id": 999, "user_id": 1}]]
    asked: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = query(request)
        if params.get("grouped") == ["true"]:
            students = [int(s) for s in params["student_ids[]"]]
            asked.extend(students)
            return httpx.Response(200, json=[{"user_id": s, "submissions": []} for s in students])
        number = int(params.get("page", ["0"])[0])
        more = number + 1 < len(pages)
        next_page = link(f"{API}/courses/598/students/submissions?page={number + 1}")
        return httpx.Response(200, json=pages[number], headers=next_page if more else {})

    api.get("/courses/598/students/submissions").mock(side_effect=answer)
    batches = client.submission_batches(
        598,
        [([11], None)],
        graded_since=datetime(2026, 2, 1, tzinfo=UTC),
        students_if_many=list(range(1, 601)),
    )
    sizes = [len(batch) for batch in batches]
    if switched:
        assert sizes == [100, 100, 100] + [0] * 6 and sorted(asked) == list(range(1, 601))
    else:
        assert sizes == [100, 100, 1] and asked == []
