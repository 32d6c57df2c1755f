"""The Canvas seam: the only package that speaks HTTP to Canvas (STYLE 2, 3, 13).

`CanvasClient` sends, throttles, retries and translates errors; `parse_*` turn its JSON into
domain values; `HttpxAdapter` puts canvasapi on the same transport.
"""

from typing import TYPE_CHECKING, Any

from canvas_sync.canvas._limits import LimitExceeded, Limits
from canvas_sync.canvas.client import CanvasClient, Params
from canvas_sync.canvas.parse import (
    parse_assignment,
    parse_comment,
    parse_course,
    parse_enrollment,
    parse_group,
    parse_late_policy,
    parse_override,
    parse_students,
    parse_submission,
    parse_time,
)
from canvas_sync.canvas.throttle import Throttle

if TYPE_CHECKING:
    from canvas_sync.canvas.adapter import HttpxAdapter

__all__ = [
    "CanvasClient",
    "HttpxAdapter",
    "LimitExceeded",
    "Limits",
    "Params",
    "Throttle",
    "parse_assignment",
    "parse_comment",
    "parse_course",
    "parse_enrollment",
    "parse_group",
    "parse_late_policy",
    "parse_override",
    "parse_students",
    "parse_submission",
    "parse_time",
]


def __getattr__(name: str) -> Any:
    # The canvasapi adapter pulls in requests; only `init` and target creation need it, so it
    # is imported on first use rather than by every command (start-up time).
    if name == "HttpxAdapter":
        from canvas_sync.canvas.adapter import HttpxAdapter

        return HttpxAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
