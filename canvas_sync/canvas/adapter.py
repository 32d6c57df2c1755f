"""canvasapi on our transport: a `requests` adapter that sends through CanvasClient (STYLE 2).

canvasapi is the field's standard client and saves code for discovery and object creation, but
it never retries and knows nothing of our throttle. Mounting this adapter on its requests
session makes every canvasapi call take the same path as ours: one httpx client, one throttle
budget, the same retries, the same respx mocks in tests.

Errors: a failed request raises `canvas_sync.errors` from inside the adapter (requests and
canvasapi let it through unchanged), so canvasapi code in `canvas/` gets our error tree, not
canvasapi's `CanvasException` family.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from canvas_sync.domain import Secret

if TYPE_CHECKING:
    from canvas_sync.canvas.client import CanvasClient

__all__ = ["HttpxAdapter", "mount_canvasapi"]

# Hop-by-hop or transport-owned headers: httpx computes its own, and the client adds the
# Authorization header itself (only for the Canvas origin).
_DROP_REQUEST_HEADERS = frozenset(
    {"authorization", "content-length", "host", "connection", "accept-encoding", "user-agent"}
)
# httpx has already decoded the body; these would make the response lie about it.
_DROP_RESPONSE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class _HideHeaderLogs(logging.Filter):
    """Drops canvasapi's DEBUG "Headers: ..." records: they show the token's last 4 characters."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Headers:")


def _quiet_canvasapi_headers() -> None:
    requester_log = logging.getLogger("canvasapi.requester")
    if not any(isinstance(f, _HideHeaderLogs) for f in requester_log.filters):
        requester_log.addFilter(_HideHeaderLogs())


def _body_bytes(body: object) -> bytes | None:
    """A PreparedRequest body as bytes (requests allows str, bytes, files and iterables)."""
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if callable(read):
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if isinstance(body, Iterable):
        return b"".join(p.encode("utf-8") if isinstance(p, str) else bytes(p) for p in body)
    raise TypeError(f"Cannot send a request body of type {type(body).__name__}.")


def to_requests_response(
    response: httpx.Response, request: requests.PreparedRequest
) -> requests.Response:
    """Copy status, headers, body and URL of an httpx answer into a `requests.Response`."""
    result = requests.Response()
    result.status_code = response.status_code
    result.reason = response.reason_phrase
    result.headers = CaseInsensitiveDict(
        {k: v for k, v in response.headers.items() if k.lower() not in _DROP_RESPONSE_HEADERS}
    )
    result._content = response.content
    result.encoding = response.encoding
    result.url = str(response.url)
    result.request = request
    return result


class HttpxAdapter(BaseAdapter):
    """Sends each requests.PreparedRequest through `CanvasClient.send` (throttle + retries)."""

    def __init__(self, client: CanvasClient) -> None:
        super().__init__()
        self._client = client

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Forward the request; stream/timeout/verify/cert/proxies are the client's business."""
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST_HEADERS
        }
        response = self._client.send(
            request.method or "GET",
            request.url or "",
            content=_body_bytes(request.body),
            headers=headers,
        )
        return to_requests_response(response, request)

    def close(self) -> None:
        """Nothing to release: the CanvasClient owns the connection pool."""


def mount_canvasapi(client: CanvasClient, token: Secret) -> Any:
    """`canvasapi.Canvas(base_url, token)` with its session mounted on `client`'s adapter."""
    import canvasapi

    _quiet_canvasapi_headers()
    with warnings.catch_warnings():
        # canvasapi warns about http:// URLs; the bundled simulator runs on http://127.0.0.1.
        warnings.simplefilter("ignore", UserWarning)
        canvas = canvasapi.Canvas(client.base_url, token.reveal())
    # canvasapi offers no public hook for its session; this private name is stable since 0.x.
    session: requests.Session = canvas._Canvas__requester._session
    adapter = HttpxAdapter(client)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return canvas
