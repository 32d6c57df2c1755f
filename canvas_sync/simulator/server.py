"""The simulator's HTTP server: routing, auth, throttle, latency and faults around the handlers.

Order per /api/v1 request, as a request meets Canvas's stack: fault injection (the load balancer,
before any side effect) → leaky-bucket throttle (keyed on the hashed token) → latency → token
auth → handler under the state lock; a `lost` fault (the `push` profile) lets the handler act
and then replaces its answer with a 502/504 page. Every answer carries `X-Request-Context-Id`; every
non-throttled one `X-Request-Cost` and `X-Rate-Limit-Remaining` (canvas-api.md §3, §9).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from canvas_sync.simulator import handlers_course, handlers_people, handlers_submissions
from canvas_sync.simulator.course import build_course
from canvas_sync.simulator.render import Renderer
from canvas_sync.simulator.state import CanvasState, SimError
from canvas_sync.simulator.throttle import Faults, Throttle, bucket_key
from canvas_sync.simulator.web import Ctx, json_response, read_params

__all__ = ["TA_TOKEN", "Simulator"]

TA_TOKEN = "ta-token"
TEACHER_ID, TA_ID = 1, 2
_RATE_LIMIT_BODY = "403 Forbidden (Rate Limit Exceeded)\n"
_FAULT_PAGES = {
    "500": (500, "Internal Server Error"),
    "502": (502, "Bad Gateway"),
    "503": (503, "Service Unavailable"),
    "stall": (503, "Service Unavailable"),
    "504": (504, "Gateway Timeout"),
}
LogEntry = tuple[str, str, str, int]


def _build_map() -> tuple[Map, dict[str, Callable[..., Response]]]:
    rules, endpoints = [], {}
    for module in (handlers_course, handlers_people, handlers_submissions):
        for method, path, handler in module.ROUTES:
            name = f"{method} {path}"
            rules.append(Rule(path, endpoint=name, methods=[method]))
            endpoints[name] = handler
    return Map(rules, strict_slashes=False), endpoints


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log lines on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _rate_limited() -> Response:
    response = Response(_RATE_LIMIT_BODY, status=403, content_type="text/plain; charset=utf-8")
    response.headers["X-Rate-Limit-Remaining"] = "0.0"
    return response


def _fault_page(kind: str) -> Response:
    status, title = _FAULT_PAGES[kind]
    html = f"<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>"
    return Response(html, status=status, content_type="text/html; charset=utf-8")


class Simulator:
    """A faithful fake Canvas for the CS 598 course, served over real HTTP on 127.0.0.1."""

    def __init__(
        self,
        students: int = 40,
        seed: int = 598,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        token: str = "sim-token",
        now: datetime | None = None,
        stall_seconds: float = 2.0,
        total_assignment: bool = False,
        fault_profile: str | None = None,
        job_delay: float | None = None,
    ) -> None:
        self.now = now
        self.state: CanvasState = build_course(
            students, seed, clock=self._clock, total_assignment=total_assignment
        )
        self.state.jobs.job_delay = job_delay
        self.lost_writes = 0
        #: Called with (method, path) after a write acted, before its answer leaves (tests use
        #: it to kill a client inside the window between Canvas acting and the client knowing).
        self.on_write: Callable[[str, str], None] | None = None
        #: Paths whose next write acts but loses its answer (502), once per entry.
        self.lose_once: list[str] = []
        self.latency_ms = latency_ms
        self.tokens = {token: TEACHER_ID, TA_TOKEN: TA_ID}
        self.throttle = Throttle()
        self.faults = Faults(fault_rate, fault_seed, stall_seconds)
        # Not Canvas: a proxy in front of it that drops the `Link` header (and so every
        # rel="next"), as header-stripping proxies do. Canvas itself always sends it when a
        # next page exists (canvas-lms lib/api.rb `build_links`).
        self.drop_link_header = False
        if fault_profile is not None:
            self.faults.configure(fault_rate, fault_seed, fault_profile)
        self.request_log: list[LogEntry] = []
        self._log_lock = threading.Lock()
        self._map, self._endpoints = _build_map()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.base_url = ""

    # ----------------------------------------------------------------- lifecycle
    def _clock(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)

    @property
    def course_id(self) -> int:
        return self.state.course.id

    def start(self, port: int = 0) -> str:
        """Bind 127.0.0.1:`port` (0 = any free port), serve in a thread, return the base URL."""
        if self._server is not None:
            return self.base_url
        self._stopped.clear()
        self._server = make_server(
            "127.0.0.1", port, self, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05),
            name="canvas-simulator",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port; `wait()` returns."""
        self.state.jobs.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `stop()` (for a foreground `canvas-sync simulate`)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- knobs
    def set_faults(self, rate: float, seed: int = 0, profile: str | None = None) -> None:
        """Change fault injection at run time (restarts the seeded sequence)."""
        self.faults.configure(rate, seed, profile)

    def _lost_kind(self) -> str:
        with self._log_lock:
            self.lost_writes += 1
            return "502" if self.lost_writes % 2 else "504"

    def reset_request_log(self) -> None:
        with self._log_lock:
            self.request_log.clear()

    def fill_bucket(self, token: str, units: float) -> None:
        """Charge `units` to a token's bucket (to provoke throttling in tests)."""
        self.throttle.charge(bucket_key(token, ""), units)

    # ----------------------------------------------------------------- WSGI
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        if not request.path.startswith("/api/v1/"):
            response = json_response(SimError.not_found().body, status=404)
        else:
            response = self._api(request)
            query = request.query_string.decode("latin-1")
            with self._log_lock:
                self.request_log.append((request.method, request.path, query, response.status_code))
        response.headers["X-Request-Context-Id"] = str(uuid.uuid4())
        return response(environ, start_response)

    def _token(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        if "access_token" in request.args:
            return request.args["access_token"]
        if request.mimetype == "application/x-www-form-urlencoded":
            # Read the cached raw body, never request.form: that would consume the stream.
            body = dict(parse_qsl(request.get_data(as_text=True)))
            return body.get("access_token")
        return None

    def _api(self, request: Request) -> Response:
        fault = self.faults.draw(write=request.method not in ("GET", "HEAD"))
        if fault in ("stall", "stall-ok"):
            time.sleep(self.faults.stall_seconds)
        if fault == "throttle":
            return _rate_limited()
        if fault not in (None, "lost", "stall-ok"):
            return _fault_page(str(fault))
        token = self._token(request)
        key = bucket_key(token, request.remote_addr or "unknown")
        if not self.throttle.begin(key):
            return _rate_limited()
        cost = 1.0 if request.method == "GET" else 2.0
        try:
            if self.latency_ms:
                time.sleep(self.latency_ms / 1000)
            response = self._authorized(request, token)
            # Canvas charges a request its CPU and database time (app/middleware/
            # request_throttle.rb), which grows with the rows it renders: a page of 100
            # submissions costs the base unit, a larger answer (grouped, every section's
            # students) proportionally more.
            cost = max(cost, getattr(response, "rows_rendered", 0) / 100)
        finally:
            remaining = self.throttle.end(key, cost)
        if self.on_write is not None and request.method != "GET" and response.status_code < 400:
            self.on_write(request.method, request.path)
        if request.method != "GET" and request.path in self.lose_once:
            self.lose_once.remove(request.path)
            fault = "lost"
        if fault == "lost" and response.status_code < 400:
            # Canvas acted (a bulk job is queued), but the answer is lost on the way back.
            return _fault_page(self._lost_kind())
        response.headers["X-Request-Cost"] = f"{cost:.4f}"
        response.headers["X-Rate-Limit-Remaining"] = f"{remaining:.4f}"
        if self.drop_link_header:
            response.headers.pop("Link", None)
        return response

    def _authorized(self, request: Request, token: str | None) -> Response:
        if not token:
            return self._unauthenticated(
                {
                    "status": "unauthenticated",
                    "errors": [{"message": "user authorization required"}],
                }
            )
        user_id = self.tokens.get(token)
        if user_id is None:
            return self._unauthenticated({"errors": [{"message": "Invalid access token."}]})
        try:
            return self._dispatch(request, user_id)
        except SimError as exc:
            return json_response(exc.body, status=exc.status)

    @staticmethod
    def _unauthenticated(body: Any) -> Response:
        response = json_response(body, status=401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="canvas-lms"'
        return response

    def _dispatch(self, request: Request, user_id: int) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except (NotFound, MethodNotAllowed):
            raise SimError.not_found() from None
        if values.get("course_id", self.course_id) != self.course_id:
            raise SimError.not_found()
        root = request.host_url.rstrip("/")
        with self.state.lock:
            ctx = Ctx(
                request=request,
                params=read_params(request),
                user_id=user_id,
                state=self.state,
                render=Renderer(self.state, root),
                root_url=root,
            )
            response = self._endpoints[str(endpoint)](ctx, **values)
            response.rows_rendered = ctx.render.rows_rendered  # type: ignore[attr-defined]
            return response
