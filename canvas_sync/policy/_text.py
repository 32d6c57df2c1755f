"""Small formatting helpers shared by the policy modules (display only, SPEC §2 "Rounding")."""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo

__all__ = ["VALUE_LIMIT", "Clock", "clip", "format_score", "is_multiple", "utc_iso"]

# Findings' canvas_value / expected_value are stored in 255-character columns (db/models.py).
VALUE_LIMIT = 255


def format_score(value: float | None) -> str | None:
    """A score as Canvas shows it: 8.0 → "8", 7.5 → "7.5", None → None.

    At most 6 decimals (display only; values are stored exact), trailing zeros dropped, and
    never "-0".
    """
    if value is None:
        return None
    value = float(value)  # Canvas JSON may carry ints; the formatting below is for floats
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # the common case (8.0 → "8"); also turns -0.0 into "0"
    if not math.isfinite(value) or abs(value) >= 1e15:
        return str(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def clip(text: str, limit: int = VALUE_LIMIT) -> str:
    """`text` cut to `limit` characters, ending in "…" when cut (the message keeps it all)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_multiple(value: float, step: float) -> bool:
    """True when `value` is a whole number of `step`s (tolerating float noise); step ≤ 0 → True."""
    if step <= 0:
        return True
    quotient = value / step
    if quotient.is_integer():
        return True
    return abs(quotient - round(quotient)) <= 1e-9 * max(1.0, abs(quotient))


def utc_iso(when: datetime | None) -> str | None:
    """UTC ISO 8601 with `Z`, whole seconds, as Canvas sends timestamps (canvas-api.md §9)."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Shows instants in the course time zone for one-line messages, e.g. "Mar 10 23:59 CDT"."""

    __slots__ = ("_seen", "_zone")

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        # Due dates repeat for every student: format each instant once.
        self._seen: dict[datetime, str] = {}

    def show(self, when: datetime | None, missing: str = "not set") -> str:
        """e.g. "Mar 10 23:59 CDT"; `missing` when there is no instant. For due dates."""
        if when is None:
            return missing
        text = self._seen.get(when)
        if text is None:
            text = _local_text(when, self._zone)
            if len(self._seen) < 100_000:
                self._seen[when] = text
        return text

    def show_once(self, when: datetime | None, missing: str = "not set") -> str:
        """`show` without the cache, for instants that seldom repeat (submission times)."""
        return missing if when is None else _local_text(when, self._zone)


def _local_text(when: datetime, zone: tzinfo) -> str:
    local = when.astimezone(zone)
    # `local:%H:%M` from a table: format specs (and strftime) cost more than the rest.
    return (
        f"{_MONTHS[local.month - 1]} {local.day} "
        f"{_TWO_DIGITS[local.hour]}:{_TWO_DIGITS[local.minute]} {local.tzname()}"
    )


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
