"""Auth errors, throttle headers and 403s, latency, seeded faults, request log (§1, §3, §9)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from canvasapi import Canvas
from canvasapi.exceptions import Forbidden, InvalidAccessToken
from fidelity_helpers import NOW, close_canvas, make_canvas

from canvas_sync.simulator import TA_TOKEN, Simulator
from canvas_sync.simulator.throttle import FAULT_KINDS

RATE_LIMIT_BODY = "403 Forbidden (Rate Limit Exceeded)\n"


@pytest.fixture
def small() -> Iterator[Simulator]:
    """A fresh small simulator for tests that change knobs (faults, latency, buckets)."""
    with Simulator(students=20, now=NOW, stall_seconds=0.02) as simulator:
        yield simulator


def statuses(sim: Simulator, count: int) -> list[int]:
    with httpx.Client(
        base_url=sim.base_url + "/api/v1", headers={"Authorization": "Bearer sim-token"}
    ) as client:
        return [client.get("/courses/598").status_code for _ in range(count)]


def test_bad_token_is_401_with_www_authenticate(sim: Simulator) -> None:
    response = httpx.get(
        f"{sim.base_url}/api/v1/courses/598", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
    assert response.json() == {"errors": [{"message": "Invalid access token."}]}
    bad: Canvas = make_canvas(sim.base_url, "nope")
    try:
        with pytest.raises(InvalidAccessToken):
            bad.get_course(598)
    finally:
        close_canvas(bad)


def test_no_token_and_access_token_param(sim: Simulator) -> None:
    bare = httpx.get(f"{sim.base_url}/api/v1/courses/598")
    assert bare.status_code == 401 and "WWW-Authenticate" in bare.headers
    assert bare.json()["status"] == "unauthenticated"
    param = httpx.get(f"{sim.base_url}/api/v1/courses/598", params={"access_token": "sim-token"})
    assert param.status_code == 200 and param.json()["id"] == 598


def test_every_answer_has_context_id_and_throttle_headers(
    sim: Simulator, http: httpx.Client
) -> None:
    for response in (
        http.get("/courses/598"),
        http.get("/courses/598/nothing-here"),
        httpx.get(f"{sim.base_url}/api/v1/courses/598", headers={"Authorization": "Bearer x"}),
    ):
        assert uuid.UUID(response.headers["X-Request-Context-Id"]).version == 4
        assert float(response.headers["X-Request-Cost"]) > 0
        assert 0 < float(response.headers["X-Rate-Limit-Remaining"]) <= 600


def test_full_bucket_gives_canvas_403_text(small: Simulator) -> None:
    small.fill_bucket(TA_TOKEN, 700)
    response = httpx.get(
        f"{small.base_url}/api/v1/courses/598", headers={"Authorization": f"Bearer {TA_TOKEN}"}
    )
    assert response.status_code == 403
    assert response.text == RATE_LIMIT_BODY
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Rate-Limit-Remaining"] == "0.0"
    assert "Retry-After" not in response.headers and "X-Request-Cost" not in response.headers
    ta = make_canvas(small.base_url, TA_TOKEN)
    try:
        # canvasapi 3.6 maps every 403 to Forbidden (RateLimitExceeded only for 429): the
        # body is what tells throttling apart.
        with pytest.raises(Forbidden, match="Rate Limit Exceeded"):
            ta.get_course(598)
    finally:
        close_canvas(ta)
    # One quota per token: the teacher token is untouched.
    assert statuses(small, 1) == [200]


def test_parallel_slow_requests_trip_the_up_front_cost(small: Simulator) -> None:
    small.latency_ms = 400
    results: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        response = httpx.get(
            f"{small.base_url}/api/v1/courses/598",
            headers={"Authorization": "Bearer sim-token"},
            timeout=10,
        )
        with lock:
            results.append(response.status_code)

    threads = [threading.Thread(target=hit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 12 in flight hold 600 units; the rest are refused (gotcha 12).
    assert results.count(403) >= 1 and results.count(200) >= 12


def test_faults_are_reproducible_for_a_seed(small: Simulator) -> None:
    small.set_faults(0.4, seed=11)
    first = statuses(small, 25)
    small.set_faults(0.4, seed=11)
    assert statuses(small, 25) == first
    assert set(first) - {200} and 200 in first
    assert set(first) <= {200, 403, 500, 502, 503}
    small.set_faults(0.4, seed=12)
    assert statuses(small, 25) != first
    small.set_faults(0.0, seed=0)
    assert set(statuses(small, 10)) == {200}


def test_constructor_fault_seed_matches_set_faults(small: Simulator) -> None:
    small.set_faults(0.5, seed=3)
    expected = statuses(small, 12)
    with Simulator(students=20, now=NOW, fault_rate=0.5, fault_seed=3, stall_seconds=0.02) as other:
        assert statuses(other, 12) == expected


def test_fault_pages_are_html_and_stalls_wait(small: Simulator) -> None:
    seed = next(
        s for s in range(500) if (rng := random.Random(s)) and rng.random() < 1
        and rng.choice(FAULT_KINDS) == "stall"
    )  # fmt: skip
    small.set_faults(1.0, seed=seed)
    small.faults.stall_seconds = 0.3
    started = time.monotonic()
    response = httpx.get(
        f"{small.base_url}/api/v1/courses/598", headers={"Authorization": "Bearer sim-token"}
    )
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 503 and response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_request_log_and_wait(small: Simulator) -> None:
    small.reset_request_log()
    httpx.get(
        f"{small.base_url}/api/v1/courses/598/assignments",
        params={"per_page": 2},
        headers={"Authorization": "Bearer sim-token"},
    )
    assert small.request_log == [("GET", "/api/v1/courses/598/assignments", "per_page=2", 200)]
    assert small.wait(timeout=0.01) is False
    stopper = threading.Timer(0.05, small.stop)
    stopper.start()
    assert small.wait(timeout=5) is True
    stopper.join()
