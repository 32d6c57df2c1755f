"""Hostile Canvas: every request has a deadline, every answer and listing a cap (issue 11).

A real local HTTP server misbehaves on purpose: it trickles bytes, never ends its pagination,
sends huge pages, or redirects to another host. The client must stop with one sentence.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from canvas_sync.canvas import CanvasClient, LimitExceeded, Limits
from canvas_sync.domain import Secret
from canvas_sync.errors import CanvasError

TOKEN = "hostile-test-token"
MIB = 1024 * 1024


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def _send(self, body: bytes, headers: dict[str, str] | None = None, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path.endswith("/trickle"):
            self._trickle()
        elif url.path.endswith("/endless"):
            page = int(query.get("page", ["1"])[0])
            link = f'<{url.path}?page={page + 1}&per_page=100>; rel="next"' if page < 50 else ""
            self._send(json.dumps([{"id": page}]).encode(), {"Link": link} if link else {})
        elif url.path.endswith("/huge"):
            page = int(query.get("page", ["1"])[0])
            body = json.dumps([{"id": page, "pad": "x" * (600 * 1024)}]).encode()
            link = f'<{url.path}?page={page + 1}>; rel="next"' if page < 4 else ""
            self._send(body, {"Link": link} if link else {})
        elif url.path.endswith("/moved"):
            self._send(b"", {"Location": "https://login.elsewhere.example/sso?t=1"}, status=302)
        else:
            self._send(b"{}")

    def _trickle(self) -> None:
        """A valid JSON answer, one byte every 0.2 s (6 s in all): never idle long enough to
        trip a per-read timeout."""
        body = json.dumps({"id": 1, "name": "x" * 20}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client hung up: what we want
            return


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _client(base: str, **limits: float) -> CanvasClient:
    return CanvasClient(
        base,
        Secret(TOKEN),
        timeout=5.0,  # per read: the trickle never trips it
        max_attempts=3,
        sleep=lambda _s: None,
        limits=Limits(**limits),  # type: ignore[arg-type]
    )


def test_a_trickling_answer_is_cut_at_the_deadline(hostile: str) -> None:
    with _client(hostile, deadline=1.0) as canvas:
        with pytest.raises(LimitExceeded) as stopped:
            canvas.get("/courses/1/trickle")
        assert canvas.request_count == 1  # not retried
    message = str(stopped.value)
    assert "GET /api/v1/courses/1/trickle" in message and "1 s" in message
    assert "request_deadline_seconds" in message and TOKEN not in message


def test_an_endless_listing_stops_at_the_cap_derived_from_the_course(hostile: str) -> None:
    with _client(hostile) as canvas:
        # Two students x one assignment: at most 2 rows, so a handful of pages at most.
        with pytest.raises(LimitExceeded) as stopped:
            list(canvas.paginate("/courses/1/endless", max_items=2))
        assert canvas.request_count < 10
    assert "more than 7 pages" in str(stopped.value)


def test_a_listing_without_a_course_bound_stops_at_the_ceiling(hostile: str) -> None:
    with _client(hostile, max_listing_pages=20) as canvas:
        with pytest.raises(LimitExceeded, match="max_listing_pages"):
            list(canvas.paginate("/courses/1/endless"))
        assert canvas.request_count == 20


def test_a_huge_answer_is_refused(hostile: str) -> None:
    with (
        _client(hostile, max_response_bytes=MIB // 2) as canvas,
        pytest.raises(LimitExceeded, match="max_response_megabytes"),
    ):
        canvas.get("/courses/1/huge")


def test_a_listing_past_its_byte_cap_stops(hostile: str) -> None:
    with _client(hostile, max_listing_bytes=2 * MIB) as canvas:
        with pytest.raises(LimitExceeded, match="max_listing_megabytes"):
            list(canvas.paginate("/courses/1/huge"))
        assert canvas.request_count == 4


def test_a_redirect_to_another_host_says_so(hostile: str) -> None:
    with _client(hostile) as canvas, pytest.raises(CanvasError) as stopped:
        canvas.get("/courses/1/moved")
    message = str(stopped.value)
    assert "redirect (302) to https://login.elsewhere.example" in message
    assert "CANVAS_URL" in message and "sso" not in message and "NoneType" not in message
