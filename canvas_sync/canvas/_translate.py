"""The seam's vocabulary: query parameters out, Canvas statuses and httpx errors in (STYLE 3).

Every foreign failure becomes one `canvas_sync.errors` class with one sentence that says what to
fix. Messages name the method and path only (never the query string, never headers), so the
token cannot leak through them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from canvas_sync.errors import (
    AuthFailed,
    CanvasError,
    CanvasUnavailable,
    Forbidden,
    NotFound,
    RateLimited,
)

if TYPE_CHECKING:
    import httpx  # imported where used at run time: see canvas/_http.py

__all__ = [
    "AUTH_MESSAGE",
    "ParamScalar",
    "ParamValue",
    "Params",
    "encode_params",
    "error_for_response",
    "error_for_transport",
    "format_time",
    "not_json",
    "redirect",
    "request_not_sent",
    "where",
]

ParamScalar = str | int | float | bool | datetime
ParamValue = ParamScalar | Sequence[ParamScalar] | None
Params = Mapping[str, ParamValue]

AUTH_MESSAGE = "Canvas rejected the token (401): set CANVAS_TOKEN to a valid access token."
_RATE_LIMIT_TEXT = "rate limit exceeded"
_COURSE_IN_PATH = re.compile(r"/courses/([^/]+)")


def format_time(value: datetime) -> str:
    """ISO 8601 UTC with `Z`, whole seconds (Canvas's own format, canvas-api.md §9).

    Truncating sub-seconds moves a since-watermark earlier, which only widens the overlap window
    the sync de-duplicates anyway (since-filters are strict `>`).
    """
    if value.tzinfo is None:
        raise ValueError("Canvas parameters need aware datetimes (UTC), got a naive one.")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(value: ParamScalar) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


def encode_params(params: Params | None) -> list[tuple[str, str]]:
    """Mapping → ordered pairs; a list value becomes repeated keys (`include[]=a&include[]=b`).

    None values are dropped so callers can pass optional filters unconditionally.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, str | int | float | bool | datetime):
            pairs.append((key, _scalar(value)))
        else:
            pairs.extend((key, _scalar(item)) for item in value)
    return pairs


def where(request: httpx.Request) -> str:
    """`METHOD /path` for messages: the query string is left out on purpose."""
    return f"{request.method} {request.url.path}"


def _canvas_message(response: httpx.Response) -> str:
    """Canvas's own error text from its several body shapes (canvas-api.md §1), or ''."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            return str(errors[0].get("message", ""))
        if isinstance(errors, Mapping):
            return "; ".join(f"{k}: {v}" for k, v in errors.items())
        for key in ("error", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return ""


def _is_permission_401(response: httpx.Response) -> bool:
    """A 401 that means "not permitted", not "bad token" (canvas-api.md §10 gotcha 15).

    Canvas sends `WWW-Authenticate` with every bad/absent-token 401; a permission 401 carries
    `{"status": "unauthorized"}` and no such header.
    """
    if "www-authenticate" in response.headers:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, Mapping) and body.get("status") == "unauthorized"


def _not_found(request: httpx.Request) -> NotFound:
    match = _COURSE_IN_PATH.search(request.url.path)
    course = f" (course {match.group(1)})" if match else ""
    return NotFound(
        f"Canvas has nothing at {where(request)}{course} (404): check CANVAS_COURSE_ID and that "
        "the token's user can see it."
    )


def error_for_response(response: httpx.Response) -> CanvasError | None:
    """The error a non-2xx answer stands for, or None for success."""
    status = response.status_code
    if status < 400:
        return None
    request = response.request
    detail = _canvas_message(response)
    if status == 401 and not _is_permission_401(response):
        return AuthFailed(AUTH_MESSAGE)
    if status == 404:
        return _not_found(request)
    if status == 429 or (status == 403 and _RATE_LIMIT_TEXT in response.text.lower()):
        return RateLimited(
            f"Canvas throttled this token ({status}) at {where(request)}: "
            "wait a few minutes or lower the request rate."
        )
    if status in (401, 403):
        return Forbidden(
            f"Canvas refused {where(request)} ({status}: {detail or 'not authorized'}): "
            "the token's user needs teacher rights in this course."
        )
    if status >= 500:
        return CanvasUnavailable(
            f"Canvas failed on {where(request)} ({status}): it is having trouble, try again later."
        )
    return CanvasError(
        f"Canvas rejected {where(request)} ({status}: {detail or 'no reason given'})."
    )


def request_not_sent(exc: httpx.TransportError) -> bool:
    """True when the request surely never reached Canvas, so even a write may be retried.

    A connect failure or a wait for a pooled connection happens before any byte is sent; a
    read/write timeout or a dropped connection may come after Canvas got (and acted on) it.
    """
    import httpx

    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def error_for_transport(exc: httpx.TransportError, request: httpx.Request) -> CanvasUnavailable:
    """An httpx network failure as CanvasUnavailable, naming the host or the request."""
    import httpx

    origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
    if request_not_sent(exc):
        return CanvasUnavailable(
            f"Canvas at {origin} is unreachable ({type(exc).__name__}): check CANVAS_URL and "
            "the network."
        )
    if isinstance(exc, httpx.TimeoutException):
        return CanvasUnavailable(
            f"Canvas did not answer {where(request)} in time ({type(exc).__name__}): "
            "it may be overloaded, try again later."
        )
    return CanvasUnavailable(
        f"The connection to Canvas at {origin} broke during {where(request)} "
        f"({type(exc).__name__}): try again later."
    )


def not_json(response: httpx.Response) -> CanvasUnavailable:
    """A 2xx answer on a JSON endpoint that is not JSON (often an SSO/login page)."""
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    return CanvasUnavailable(
        f"Canvas answered {where(response.request)} with something that is not JSON ({kind}): "
        "check that CANVAS_URL is the Canvas root URL."
    )


def redirect(response: httpx.Response) -> CanvasError | None:
    """A 3xx answer (never followed: the token must not travel to another host), or None.

    Only the target's origin is named: its query string could carry anything.
    """
    if not 300 <= response.status_code < 400:
        return None
    target = response.request.url.join(response.headers.get("location", ""))
    origin = f"{target.scheme}://{target.netloc.decode('ascii', 'replace')}"
    return CanvasError(
        f"Canvas answered {where(response.request)} with a redirect ({response.status_code}) to "
        f"{origin}: set CANVAS_URL to the address Canvas really answers on."
    )
