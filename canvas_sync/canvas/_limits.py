"""What one request and one listing may cost: a deadline and byte and page caps.

httpx's timeout is per network operation: a server that sends one byte every two seconds never
trips it, and a listing whose `next` links never end is followed forever. So every request runs
against a deadline for the whole exchange (connect to last byte) and a cap on its body; every
listing against a page cap derived from how many items the course can hold, and a byte cap.
Exceeding either fails the request with one sentence and is not retried: what was read is
dropped, so memory stays bounded whatever Canvas sends.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from canvas_sync.canvas import _translate as tr
from canvas_sync.errors import CanvasError

if TYPE_CHECKING:
    import httpx  # imported where used at run time: see canvas/_http.py

__all__ = ["LimitExceeded", "Limits", "bounded_send"]

_MIB = 1024 * 1024
#: Headers that describe the body as it came off the wire, not the decoded body we keep.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class LimitExceeded(CanvasError):
    """A request ran past its deadline, or an answer or a listing past its cap (not retried)."""


@dataclass(frozen=True)
class Limits:
    """Config `canvas.request_deadline_seconds`, `max_response_megabytes`, `max_listing_*`."""

    deadline: float = 120.0
    max_response_bytes: int = 32 * _MIB
    max_listing_bytes: int = 256 * _MIB
    max_listing_pages: int = 1000

    def listing_pages(self, max_items: int | None, per_page: int) -> int:
        """The page cap of a listing of at most `max_items` items (None: the course's ceiling).

        Twice the full pages plus a few: Canvas may send short pages (filters applied after
        paging), never an unbounded number of them.
        """
        if max_items is None:
            return self.max_listing_pages
        return min(self.max_listing_pages, 2 * math.ceil(max_items / per_page) + 5)


def _read(
    client: httpx.Client, request: httpx.Request, cap: int, cancel: threading.Event
) -> httpx.Response:
    import httpx

    response = client.send(request, stream=True)
    try:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise _too_big(request, cap)
        body = bytearray()
        for chunk in response.iter_bytes():  # decoded: a gzip bomb counts at its real size
            if cancel.is_set():
                raise _too_slow(request, 0.0)
            body += chunk
            if len(body) > cap:
                raise _too_big(request, cap)
    finally:
        response.close()
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=request
    )


def bounded_send(client: httpx.Client, request: httpx.Request, limits: Limits) -> httpx.Response:
    """Send `request` and read its whole answer within the deadline and the body cap.

    The exchange runs on a worker thread so the deadline holds even while a read blocks; on
    expiry the worker is told to stop (it ends at its next chunk, or at httpx's read timeout)
    and drops what it read. Transport errors are raised as httpx raised them.
    """
    outcome: list[httpx.Response | BaseException] = []
    done, cancel = threading.Event(), threading.Event()

    def work() -> None:
        try:
            outcome.append(_read(client, request, limits.max_response_bytes, cancel))
        except BaseException as exc:  # handed to the waiting caller
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="canvas-request", daemon=True).start()
    if not done.wait(limits.deadline):
        cancel.set()
        raise _too_slow(request, limits.deadline)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _too_slow(request: httpx.Request, deadline: float) -> LimitExceeded:
    return LimitExceeded(
        f"Canvas did not finish answering {tr.where(request)} within {deadline:g} s: stopped "
        "reading; try again later or raise canvas.request_deadline_seconds."
    )


def _too_big(request: httpx.Request, cap: int) -> LimitExceeded:
    return LimitExceeded(
        f"Canvas's answer to {tr.where(request)} is larger than {cap / _MIB:g} MB: stopped "
        "reading; check CANVAS_URL or raise canvas.max_response_megabytes."
    )


def listing_too_long(path: str, pages: int) -> LimitExceeded:
    return LimitExceeded(
        f"Canvas sent more than {pages} pages for GET {path}, more than the course can hold: "
        "stopped; try again later or raise canvas.max_listing_pages."
    )


def listing_too_big(path: str, cap: int) -> LimitExceeded:
    return LimitExceeded(
        f"Canvas sent more than {cap / _MIB:g} MB for GET {path}: stopped; try again later or "
        "raise canvas.max_listing_megabytes."
    )
