"""The one send path to Canvas: throttle, retries, error translation, paging (STYLE 2, 3, 13).

One httpx client, one throttle, one retry policy, shared by our own calls and by canvasapi
(mounted through `adapter.py`). Every foreign failure leaves this module as a
`canvas_sync.errors` class, raised `from` the original.

Retry rule (STYLE 13, SPEC §8): only `RateLimited` and `CanvasUnavailable` are retried, at most
`max_attempts` sends, with exponential backoff plus jitter, sleeping through the injected
`sleep`. Writes (POST/PUT/PATCH/DELETE) are retried only when Canvas surely did not act on
them: the connection never opened, or Canvas's throttle (403 "Rate Limit Exceeded"/429) or a
503 refused them before any controller ran. A timeout or dropped connection *after* sending a
write is NOT retried, nor is a 500/502/504 answer to one: a bulk grade update may already be
queued, and sending it again could double comments. The caller gets CanvasUnavailable and the
push journal reconciles from Canvas's state on the next run (SPEC §4).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from canvas_sync import __version__
from canvas_sync.canvas import _limits as lim
from canvas_sync.canvas import _translate as tr
from canvas_sync.canvas._limits import Limits
from canvas_sync.canvas.throttle import Throttle
from canvas_sync.domain import Secret
from canvas_sync.errors import CanvasError, CanvasUnavailable, RateLimited

if TYPE_CHECKING:
    # At run time httpx is imported where a client is made or a request sent (here, in
    # _limits and in _translate): its package imports its command-line client too, and
    # with it click, rich and pygments (about 0.1 s), while the commands that never talk to
    # Canvas (report, status, db upgrade, the web app) import this package through the
    # service.
    import httpx

__all__ = ["PER_PAGE", "EventHook", "HttpCore", "Limits", "Params"]

Params = tr.Params
EventHook = Callable[[str, dict[str, object]], None]
T = TypeVar("T")

logger = logging.getLogger("canvas_sync.canvas")

#: Canvas's page-size maximum (`Api::MAX_PER_PAGE`); its default of 10 would cost 10x requests.
PER_PAGE = 100
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _GiveUp(Exception):
    """Carries an error out of the retry loop untouched: retrying it would be unsafe."""

    def __init__(self, error: CanvasError) -> None:
        super().__init__(str(error))
        self.error = error


def _normalize_base(base_url: str) -> str:
    """Root URL without a trailing slash or `/api/v1` (we add it; canvasapi refuses it)."""
    base = base_url.strip().rstrip("/")
    return base.removesuffix("/api/v1")


class HttpCore:
    """The send path CanvasClient builds on: throttle, retries, errors, paging, events."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        timeout: float = 60.0,
        max_attempts: int = 6,
        concurrency: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        throttle_max_wait: float = 30.0,
        limits: Limits | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_event: EventHook | None = None,
    ) -> None:
        import httpx

        self.base_url = _normalize_base(base_url)
        self._token = token
        self._origin = httpx.URL(self.base_url).copy_with(path="/", query=None, fragment=None)
        self._max_attempts = max(1, max_attempts)
        self._concurrency = max(1, concurrency)
        self._backoff = (backoff_base, backoff_max)
        self._sleep = sleep
        self._on_event = on_event
        self._limits = limits or Limits()
        #: Enrollments seen per course: bounds the listings that ask for `all` students.
        self._course_people: dict[int, int] = {}
        self._count_lock = threading.Lock()
        self._request_count = 0
        # Canvas charges 50 units per in-flight request: cap what is in flight at once.
        self._slots = threading.BoundedSemaphore(self._concurrency)
        self._throttle = Throttle(
            sleep=sleep, max_wait=throttle_max_wait, on_wait=self._report_throttle
        )
        self._http = httpx.Client(
            base_url=f"{self.base_url}/api/v1",
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": f"canvas-sync/{__version__}"},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        """Every HTTP request actually sent, retries included (recorded per run, SPEC §9)."""
        with self._count_lock:
            return self._request_count

    @property
    def concurrency(self) -> int:
        """Requests in flight at once, at most (`canvas.concurrency`)."""
        return self._concurrency

    @property
    def throttle(self) -> Throttle:
        return self._throttle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- events ----------------------------------------------------------------------------

    def _emit(self, event: str, payload: dict[str, object]) -> None:
        if self._on_event is not None:
            self._on_event(event, {k: self._scrub(v) for k, v in payload.items()})

    def _scrub(self, value: object) -> object:
        """Belt and braces: no string leaving this class ever contains the token."""
        secret = self._token.reveal()
        if isinstance(value, str) and secret and secret in value:
            return value.replace(secret, "[token]")
        return value

    def _report_throttle(self, delay: float, remaining: float) -> None:
        logger.info("Canvas budget low (%.1f left): waiting %.2f s", remaining, delay)
        self._emit("throttle_wait", {"delay": delay, "remaining": remaining})

    def _report_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        request: httpx.Request = state.args[0]
        payload: dict[str, object] = {
            "attempt": state.attempt_number,
            "max_attempts": self._max_attempts,
            "delay": delay,
            "method": request.method,
            "path": request.url.path,
            "error": type(error).__name__,
            "message": str(error),
        }
        logger.warning(
            "Retrying %s %s in %.2f s: %s", request.method, request.url.path, delay, error
        )
        self._emit("retry", payload)

    # --- the one send path -----------------------------------------------------------------

    def _build(self, method: str, url: str, **kwargs: Any) -> httpx.Request:
        if url.startswith("/api/v1/"):
            url = url.removeprefix("/api/v1")
        request = self._http.build_request(method.upper(), url, **kwargs)
        # Only our own Canvas origin gets the token: pagination links and canvasapi upload
        # URLs are followed verbatim and could point elsewhere (e.g. a file store).
        if request.url.copy_with(path="/", query=None, fragment=None) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def _exchange(self, request: httpx.Request, write: bool) -> httpx.Response:
        """One attempt: throttle, send, translate. Raises _GiveUp for unsafe-to-retry writes."""
        import httpx

        self._throttle.before_request()
        with self._slots:
            with self._count_lock:
                self._request_count += 1
            try:
                response = lim.bounded_send(self._http, request, self._limits)
            except lim.LimitExceeded as exc:
                raise _GiveUp(exc) from None
            except httpx.TransportError as exc:
                lost = tr.error_for_transport(exc, request)
                if write and not tr.request_not_sent(exc):
                    raise _GiveUp(self._unsent_write(lost, request)) from exc
                raise lost from exc
        self._throttle.observe(response.headers)
        logger.debug(
            "%s %s -> %s (cost %s, context %s)",
            request.method,
            request.url.path,
            response.status_code,
            response.headers.get("X-Request-Cost"),
            response.headers.get("X-Request-Context-Id"),
        )
        error = tr.error_for_response(response) or tr.redirect(response)
        if error is None:
            return response
        cause = httpx.HTTPStatusError(
            f"{response.status_code} for {tr.where(request)}", request=request, response=response
        )
        if write and not (isinstance(error, RateLimited) or response.status_code == 503):
            raise _GiveUp(error) from cause
        raise self._scrubbed(error) from cause

    def _scrubbed(self, error: CanvasError) -> CanvasError:
        text = self._scrub(error.message)
        return error if text == error.message else type(error)(str(text))

    @staticmethod
    def _unsent_write(error: CanvasUnavailable, request: httpx.Request) -> CanvasUnavailable:
        return CanvasUnavailable(
            f"{error.message.rstrip('.')}; {request.method} was not retried because Canvas may "
            "already have applied it (the next push re-reads Canvas first)."
        )

    def _backoff_delay(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter: min(max, base * 2**(n-1) + uniform(0, base))."""
        base, cap = self._backoff
        exponent = min(state.attempt_number - 1, 32)  # no float overflow on absurd settings
        return float(min(cap, base * 2**exponent + random.uniform(0, base)))

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request through throttle + retries; returns the 2xx httpx.Response.

        `url` is an API path (`/courses/1`) or an absolute URL followed verbatim (pagination
        links, canvasapi). `kwargs` go to `httpx.Client.build_request` (params, data, json,
        content, headers). Raises canvas_sync.errors; never returns a 4xx/5xx response.
        """
        request = self._build(method, url, **kwargs)
        write = request.method not in _READ_METHODS
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._backoff_delay,
            retry=retry_if_exception_type((RateLimited, CanvasUnavailable)),
            sleep=self._sleep,
            before_sleep=self._report_retry,
            reraise=True,
        )
        try:
            return retrying(self._exchange, request, write)
        except _GiveUp as stop:
            raise self._scrubbed(stop.error) from stop.__cause__

    # --- JSON helpers ------------------------------------------------------------------------

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content.strip():
            return None
        if (response.charset_encoding or "utf-8").lower() in ("utf-8", "utf8"):
            try:
                # orjson: half the time of json for a page of thousands of rows; json takes
                # what orjson refuses (integers past 64 bits, NaN) and other charsets.
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                pass
        try:
            return response.json()
        except ValueError as exc:
            # Not retried: a 200 HTML page is nearly always an SSO/login page or a wrong URL.
            raise tr.not_json(response) from exc

    @staticmethod
    def _expect(value: Any, kind: type[T], what: str) -> T:
        if not isinstance(value, kind):
            raise CanvasError(
                f"Canvas answered {what} with {type(value).__name__} where a "
                f"{kind.__name__} was expected."
            )
        return value

    def get(self, path: str, params: Params | None = None) -> Any:
        """GET one JSON answer (no pagination)."""
        return self._decode(self.send("GET", path, params=tr.encode_params(params)))

    def post(self, path: str, data: Any = None, json: Any = None) -> Any:
        """POST form `data` or a `json` body; returns Canvas's JSON answer."""
        return self._decode(self.send("POST", path, data=data, json=json))

    def put(self, path: str, data: Any = None, json: Any = None) -> Any:
        """PUT form `data` or a `json` body; returns Canvas's JSON answer."""
        return self._decode(self.send("PUT", path, data=data, json=json))

    def paginate(
        self, path: str, params: Params | None = None, *, max_items: int | None = None
    ) -> Iterator[Any]:
        """Every item of a list endpoint (`pages`, item by item)."""
        for page in self.pages(path, params, max_items=max_items):
            yield from page

    def pages(
        self, path: str, params: Params | None = None, *, max_items: int | None = None
    ) -> Iterator[list[Any]]:
        """Every page of a list endpoint, `per_page=100`, following `Link: rel="next"`.

        Canvas's next URLs are opaque (numbered or `page=bookmark:...`) and followed verbatim
        until the rel disappears; bookmark collections never send `last` (canvas-api.md §2).
        A listing stops with `LimitExceeded` past its page cap (derived from `max_items`, what
        the course can hold) or its byte cap (`_limits.py`).
        """
        response = self.send(
            "GET", path, params=tr.encode_params({**(params or {}), "per_page": PER_PAGE})
        )
        max_pages = self._limits.listing_pages(max_items, PER_PAGE)
        seen: set[str] = set()
        received = 0
        while True:
            received += len(response.content)
            if received > self._limits.max_listing_bytes:
                raise lim.listing_too_big(path, self._limits.max_listing_bytes)
            yield self._expect(self._decode(response), list, f"GET {path}")
            link = response.links.get("next", {}).get("url")
            if not link:
                return
            next_url = str(response.request.url.join(link))
            if next_url in seen:
                raise CanvasUnavailable(
                    f"Canvas sent the same next page twice for GET {path}: try again later."
                )
            if len(seen) + 1 >= max_pages:
                raise lim.listing_too_long(path, max_pages)
            seen.add(next_url)
            response = self.send("GET", next_url)

    def _imap(self, fn: Callable[[Any], T], jobs: Sequence[Any]) -> Iterator[T]:
        """`_map` one result at a time, in job order, with at most `concurrency` jobs ahead of
        the consumer: a caller that stores each result before asking for the next holds a
        bounded number of them, whatever the number of jobs."""
        if self._concurrency == 1 or len(jobs) <= 1:
            yield from (fn(job) for job in jobs)
            return
        with ThreadPoolExecutor(max_workers=min(self._concurrency, len(jobs))) as pool:
            pending: list[Future[T]] = []
            upcoming = iter(jobs)
            try:
                for job in upcoming:
                    pending.append(pool.submit(fn, job))
                    if len(pending) > self._concurrency:
                        yield pending.pop(0).result()
                while pending:
                    yield pending.pop(0).result()
            finally:
                for future in pending:
                    future.cancel()

    def together(self, calls: Sequence[Callable[[], T]]) -> list[T | Exception]:
        """Make independent calls (requests through this client) with at most `concurrency` in
        flight; each one's result, or the Exception it raised, in order (one failing stops
        none of the others: a write already sent cannot be taken back)."""

        def attempt(call: Callable[[], T]) -> T | Exception:
            try:
                return call()
            except Exception as exc:  # handed back to the caller, not lost
                return exc

        return self._map(attempt, calls)

    def all_together(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """`together`'s results, or its first error (in the calls' order), raised once every
        call has ended: for reads that are all needed."""
        results = self.together(calls)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return cast(list[T], results)

    def _map(self, fn: Callable[[Any], T], jobs: Sequence[Any]) -> list[T]:
        """Run independent jobs with at most `concurrency` threads; results in job order."""
        if self._concurrency == 1 or len(jobs) <= 1:
            return [fn(job) for job in jobs]
        with ThreadPoolExecutor(max_workers=min(self._concurrency, len(jobs))) as pool:
            futures: list[Future[T]] = [pool.submit(fn, job) for job in jobs]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
