"""canvasapi mounted on CanvasClient: its traffic takes our transport, retries and errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import requests
import respx

from canvas_sync.canvas import CanvasClient, HttpxAdapter
from canvas_sync.domain import Secret
from canvas_sync.errors import AuthFailed, NotFound

TOKEN = "9~adapterSECRETtoken_abcdefghijklmnop"
BASE = "http://127.0.0.1:8900"  # http:// on purpose: canvasapi warns, warnings are errors
API = f"{BASE}/api/v1"
COURSE = {
    "id": 598,
    "name": "CS 598: Systems for Generative AI (S'26)",
    "time_zone": "America/Chicago",
}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


@pytest.fixture
def events() -> list[tuple[str, dict[str, object]]]:
    return []


@pytest.fixture
def client(
    api: respx.MockRouter, events: list[tuple[str, dict[str, object]]]
) -> Iterator[CanvasClient]:
    canvas = CanvasClient(
        BASE,
        Secret(TOKEN),
        transport=httpx.MockTransport(api.handler),
        sleep=lambda _: None,
        on_event=lambda name, payload: events.append((name, payload)),
    )
    yield canvas
    canvas.close()


def test_canvasapi_get_course_goes_through_the_client(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    route = api.get("/courses/598").respond(json=COURSE, headers={"X-Rate-Limit-Remaining": "42"})
    course = client.canvasapi().get_course(598)
    assert course.name == COURSE["name"]
    request = route.calls.last.request
    assert request.headers.get_list("Authorization") == [f"Bearer {TOKEN}"]
    assert client.request_count == 1
    assert client.throttle.remaining == 42.0  # the shared throttle saw canvasapi's answer


def test_canvasapi_call_is_retried_on_503(
    client: CanvasClient,
    api: respx.MockRouter,
    events: list[tuple[str, dict[str, object]]],
) -> None:
    route = api.get("/courses/598").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=COURSE)]
    )
    assert client.canvasapi().get_course(598).id == 598
    assert route.call_count == 2
    assert [name for name, _ in events] == ["retry"]


def test_canvasapi_errors_are_ours(client: CanvasClient, api: respx.MockRouter) -> None:
    api.get("/courses/1").respond(404, json={"errors": [{"message": "does not exist"}]})
    api.get("/courses/2").respond(401, headers={"WWW-Authenticate": "Bearer"}, json={})
    canvas = client.canvasapi()
    with pytest.raises(NotFound, match="course 1"):
        canvas.get_course(1)
    with pytest.raises(AuthFailed) as info:
        canvas.get_course(2)
    assert TOKEN not in str(info.value)


def test_canvasapi_pagination_follows_links(client: CanvasClient, api: respx.MockRouter) -> None:
    page2 = f"{API}/courses/598/assignments?page=2&per_page=100"
    next_link = f'<{page2}>; rel="next"'
    api.get("/courses/598").respond(json=COURSE)
    route = api.get("/courses/598/assignments").mock(
        side_effect=[
            httpx.Response(200, json=[{"id": 1, "name": "R1"}], headers={"Link": next_link}),
            httpx.Response(200, json=[{"id": 2, "name": "R2"}]),
        ]
    )  # fmt: skip
    names = [a.name for a in client.canvasapi().get_course(598).get_assignments()]
    assert names == ["R1", "R2"]
    assert str(route.calls[1].request.url) == page2


def test_canvasapi_post_sends_form_body(client: CanvasClient, api: respx.MockRouter) -> None:
    api.get("/courses/598").respond(json=COURSE)
    route = api.post("/courses/598/assignments").respond(
        json={"id": 900, "name": "Reading summaries total", "course_id": 598}
    )
    course = client.canvasapi().get_course(598)
    created = course.create_assignment(
        {"name": "Reading summaries total", "points_possible": 100, "omit_from_final_grade": True}
    )
    assert created.id == 900
    form = parse_qs(route.calls.last.request.content.decode())
    assert form["assignment[name]"] == ["Reading summaries total"]
    assert form["assignment[omit_from_final_grade]"] == ["true"]


def test_adapter_converts_response_fields(client: CanvasClient, api: respx.MockRouter) -> None:
    api.get("/courses/598").respond(json=COURSE, headers={"X-Request-Cost": "0.25"})
    session = requests.Session()
    session.mount("http://", HttpxAdapter(client))
    response = session.get(f"{API}/courses/598")
    assert response.status_code == 200
    assert response.json() == COURSE
    assert response.headers["x-request-cost"] == "0.25"
    assert response.url == f"{API}/courses/598"
    assert client.request_count == 1


def test_canvasapi_debug_logs_hold_no_token_fragment(
    client: CanvasClient, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get("/courses/598").respond(json=COURSE)
    client.canvasapi().get_course(598)
    assert "Request: GET" in caplog.text  # canvasapi did log this call
    assert TOKEN[-4:] not in caplog.text
