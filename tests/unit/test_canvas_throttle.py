"""Throttle: slow down before Canvas's leaky bucket runs dry (SPEC §8, canvas-api.md §3)."""

from __future__ import annotations

import threading

import pytest

from canvas_sync.canvas import Throttle


def make(**kwargs: float) -> tuple[Throttle, list[float], list[tuple[float, float]]]:
    sleeps: list[float] = []
    waits: list[tuple[float, float]] = []
    throttle = Throttle(sleep=sleeps.append, on_wait=lambda d, r: waits.append((d, r)), **kwargs)
    return throttle, sleeps, waits


def test_no_wait_before_canvas_reports_a_budget() -> None:
    throttle, sleeps, _ = make()
    assert throttle.before_request() == 0.0
    assert sleeps == [] and throttle.remaining is None


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [("600", 0.0), ("150.0", 0.0), ("149", 0.1), ("30.5", 11.95), ("0.0", 15.0)],
)
def test_wait_is_proportional_to_the_deficit(remaining: str, expected: float) -> None:
    throttle, sleeps, waits = make()
    throttle.observe({"X-Rate-Limit-Remaining": remaining})
    assert throttle.before_request() == pytest.approx(expected)
    assert sum(sleeps) == pytest.approx(expected)
    assert len(waits) == (1 if expected else 0)


def test_wait_is_capped() -> None:
    throttle, sleeps, _ = make(low_water=600.0, max_wait=20.0)
    throttle.observe({"X-Rate-Limit-Remaining": "0"})
    throttle.before_request()
    assert sleeps == [20.0]


def test_malformed_or_absent_headers_keep_previous_values() -> None:
    throttle, _, _ = make()
    throttle.observe({"X-Rate-Limit-Remaining": "120", "X-Request-Cost": "3.5"})
    throttle.observe({"X-Rate-Limit-Remaining": "lots", "X-Request-Cost": "-1"})
    throttle.observe({})
    assert throttle.remaining == 120.0 and throttle.last_cost == 3.5


def test_wait_credits_the_leak_so_the_next_request_goes_at_once() -> None:
    throttle, sleeps, _ = make()
    throttle.observe({"X-Rate-Limit-Remaining": "100"})
    throttle.before_request()
    throttle.before_request()
    assert sleeps == [pytest.approx(5.0)]


def test_expected_cost_is_debited_before_the_next_answer() -> None:
    throttle, sleeps, _ = make()
    throttle.observe({"X-Rate-Limit-Remaining": "160", "X-Request-Cost": "20"})
    throttle.before_request()  # 160 left: go; expect about 140 afterwards
    throttle.before_request()  # 140 < 150: wait 1 s
    assert sleeps == [pytest.approx(1.0)]


def test_concurrent_callers_share_one_wait() -> None:
    throttle, sleeps, _ = make()
    throttle.observe({"X-Rate-Limit-Remaining": "0"})
    start = threading.Barrier(8)

    def call() -> None:
        start.wait()
        throttle.before_request()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sleeps) == pytest.approx(15.0)  # one caller waits; the others see the credit


def test_headroom_is_what_may_be_spent_before_waiting() -> None:
    throttle, _, _ = make()
    assert throttle.headroom() == 450.0  # a full bucket until Canvas says otherwise
    throttle.observe({"X-Rate-Limit-Remaining": "400"})
    assert throttle.headroom() == 250.0
    throttle.observe({"X-Rate-Limit-Remaining": "90"})
    assert throttle.headroom() == 0.0
