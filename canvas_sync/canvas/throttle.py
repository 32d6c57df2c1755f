"""Client-side view of Canvas's leaky-bucket throttle (SPEC §8, canvas-api.md §3).

Canvas keeps one bucket per access token: a request is refused (403 "Rate Limit Exceeded") once
the bucket holds 600 units; the bucket leaks 10 units per second. Every answer to a token client
carries `X-Rate-Limit-Remaining` (600 minus the bucket level) and `X-Request-Cost` (what that
request cost). We remember the latest of both and, before sending, sleep long enough for the
bucket to drain back above a low-water mark, so we slow down *before* Canvas says no.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

__all__ = ["DEFAULT_LOW_WATER", "HIGH_WATER", "LEAK_PER_SECOND", "Throttle"]

#: Canvas refuses a request once the bucket holds this many units (`hwm`).
HIGH_WATER = 600.0
#: Canvas's default bucket drain rate (`outflow`), units per second.
LEAK_PER_SECOND = 10.0
#: Start waiting when fewer than this many of the 600 units remain (a quarter of the bucket).
DEFAULT_LOW_WATER = 150.0


def _header_float(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric header value, or None when absent or malformed (never trust a proxy's header)."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


class Throttle:
    """Thread-safe budget tracker shared by every request of one CanvasClient.

    Rule: when the estimated remaining budget is below `low_water`, wait
    `(low_water - remaining) / leak_per_second` seconds (capped at `max_wait`) before sending.
    After a wait the estimate is credited with what the bucket leaked meanwhile, and each send
    debits the last observed request cost, so concurrent threads do not all rush in on the same
    stale header value. Any fresh `X-Rate-Limit-Remaining` header replaces the estimate.
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], None],
        low_water: float = DEFAULT_LOW_WATER,
        leak_per_second: float = LEAK_PER_SECOND,
        max_wait: float = 30.0,
        on_wait: Callable[[float, float], None] | None = None,
    ) -> None:
        self._sleep = sleep
        self._low_water = low_water
        self._leak = leak_per_second
        self._max_wait = max_wait
        self._on_wait = on_wait
        self._lock = threading.Lock()
        self._remaining: float | None = None
        self._cost = 0.0

    @property
    def remaining(self) -> float | None:
        """The current estimate of the remaining budget (None until Canvas has told us)."""
        with self._lock:
            return self._remaining

    def headroom(self) -> float:
        """Units requests may cost before this client starts waiting (a full bucket's worth
        until Canvas has said otherwise; what leaks meanwhile is not counted)."""
        with self._lock:
            remaining = HIGH_WATER if self._remaining is None else self._remaining
        return max(0.0, remaining - self._low_water)

    @property
    def last_cost(self) -> float:
        """The latest `X-Request-Cost` Canvas reported."""
        with self._lock:
            return self._cost

    def _reserve(self) -> tuple[float, float]:
        """Decide this request's wait and update the estimate; returns (delay, remaining seen)."""
        with self._lock:
            if self._remaining is None:
                return 0.0, 0.0
            seen = self._remaining
            delay = 0.0
            if seen < self._low_water:
                delay = min(self._max_wait, (self._low_water - seen) / self._leak)
            # Credit what leaks while we wait, debit what this request will probably cost.
            self._remaining = seen + delay * self._leak - self._cost
            return delay, seen

    def before_request(self) -> float:
        """Sleep if the budget is low; returns the seconds slept (0.0 when none)."""
        delay, seen = self._reserve()
        if delay > 0:
            if self._on_wait is not None:
                self._on_wait(delay, seen)
            self._sleep(delay)
        return delay

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record Canvas's latest budget headers (absent headers keep the previous values)."""
        remaining = _header_float(headers, "X-Rate-Limit-Remaining")
        cost = _header_float(headers, "X-Request-Cost")
        with self._lock:
            if remaining is not None:
                self._remaining = remaining
            if cost is not None and cost >= 0:
                self._cost = cost
