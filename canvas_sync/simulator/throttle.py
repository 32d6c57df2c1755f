"""Canvas's per-token leaky bucket and the simulator's seeded fault injection.

Throttle (canvas-api.md §3, `RequestThrottle`): refuse when the bucket holds ≥ hwm (600) units;
each request is charged an up-front 50 units while it runs (refunded at the end, which is what
punishes concurrency), then its own small cost; the bucket leaks 10 units/s and is capped at 800.

Faults: with probability `rate` a request gets, before any side effect, a 500/502/503 HTML page,
a stall (sleep then 503) or a throttling 403. The draws come from one seeded RNG in request
order, so a serial client sees the same faults for the same seed. Faults may hit every /api/v1
request, `/progress` polls included: clients must retry those too.

The `push` profile (`Faults.profile("push")`, `canvas-sync simulate --faults push`) is what a
busy Canvas behind a load balancer does to a grade push: 8% of reads get a 5xx page, 5% of all
requests a throttling 403, 25% of writes fail and most of those (`lost`) only after Canvas
performed the write (the job is queued, the answer is a 502/504 the client cannot tell from a
refusal), and two requests stall for `stall_seconds` (6 s by default for the profile).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable

__all__ = ["FAULT_KINDS", "PROFILES", "Faults", "Throttle", "bucket_key"]

FAULT_KINDS = ("500", "502", "503", "stall", "throttle")
PROFILES = ("push",)


def bucket_key(token: str | None, fallback: str) -> str:
    """Canvas keys the bucket on the hashed token (else the client address)."""
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()
    return "ip:" + fallback


class Throttle:
    """A thread-safe leaky bucket per key."""

    def __init__(
        self,
        hwm: float = 600.0,
        maximum: float = 800.0,
        outflow: float = 10.0,
        up_front: float = 50.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hwm, self.maximum, self.outflow, self.up_front = hwm, maximum, outflow, up_front
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def _level(self, key: str) -> float:
        count, last = self._buckets.get(key, (0.0, self._clock()))
        now = self._clock()
        level = max(0.0, count - self.outflow * (now - last))
        self._buckets[key] = (level, now)
        return level

    def begin(self, key: str) -> bool:
        """Charge the up-front cost; False (refuse with 403) when the bucket is full."""
        with self._lock:
            level = self._level(key)
            if level >= self.hwm:
                return False
            self._buckets[key] = (min(level + self.up_front, self.maximum), self._clock())
            return True

    def end(self, key: str, cost: float) -> float:
        """Refund the up-front cost, add the request's cost; returns X-Rate-Limit-Remaining."""
        with self._lock:
            level = self._level(key)
            level = min(max(0.0, level - self.up_front + cost), self.maximum)
            self._buckets[key] = (level, self._clock())
            return self.hwm - level

    def charge(self, key: str, units: float) -> None:
        """Add units to a bucket directly (tests use it to fill a bucket)."""
        with self._lock:
            level = self._level(key)
            self._buckets[key] = (min(level + units, self.maximum), self._clock())

    def remaining(self, key: str) -> float:
        with self._lock:
            return self.hwm - self._level(key)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


class Faults:
    """Seeded fault draws, one per /api/v1 request: a uniform `rate`, or a named `profile`."""

    def __init__(
        self,
        rate: float = 0.0,
        seed: int = 0,
        stall_seconds: float = 2.0,
        profile: str | None = None,
    ) -> None:
        self.stall_seconds = stall_seconds
        self._lock = threading.Lock()
        self.rate = rate
        self.profile = profile
        self.stalls_left = 2
        self._rng = random.Random(seed)

    def configure(self, rate: float, seed: int, profile: str | None = None) -> None:
        """Change the rate (or profile) and restart the sequence from `seed`."""
        if profile is not None and profile not in PROFILES:
            raise ValueError(f"unknown fault profile {profile!r}; known: {', '.join(PROFILES)}")
        with self._lock:
            self.rate, self.profile, self.stalls_left = rate, profile, 2
            self._rng = random.Random(seed)

    def draw(self, write: bool = False) -> str | None:
        """The fault for the next request, or None; `lost` means "answer 502/504 after acting"."""
        with self._lock:
            if self.profile == "push":
                return self._push_profile(write)
            if self.rate <= 0:
                return None
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(FAULT_KINDS)

    def _push_profile(self, write: bool) -> str | None:
        rng = self._rng
        if self.stalls_left and rng.random() < 0.02:
            self.stalls_left -= 1
            return "stall-ok"
        if rng.random() < 0.05:
            return "throttle"
        if write:
            if rng.random() >= 0.25:
                return None
            return "lost" if rng.random() < 0.8 else rng.choice(("500", "503"))
        return rng.choice(("500", "502", "503")) if rng.random() < 0.08 else None
