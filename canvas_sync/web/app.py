"""The web app's factory and its guards, and `serve` for `canvas-sync dashboard`.

Guards, before any view runs:
- the Host header must be a loopback name, the `--host` it listens on, or one of
  `web.allowed_hosts` (a web site that re-points its own name here, DNS rebinding, is refused);
- a request body over MAX_BODY bytes is refused from its Content-Length, before it is read;
- a POST from a browser must come from this site (Origin, else Referer) and carry the form's
  CSRF token (Flask-WTF); API scripts use their bearer token instead;
- every page and API needs a signed-in user, except the login page.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, PackageLoader
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from canvas_sync import report
from canvas_sync.errors import CanvasSyncError, UsageError
from canvas_sync.service import accounts
from canvas_sync.settings import Settings
from canvas_sync.web import api, auth, pages, pushing, review
from canvas_sync.web.common import State

__all__ = ["LOOPBACK_NAMES", "MAX_BODY", "create_app", "serve"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
#: The largest request body accepted (forms are small; a bulk resolve of 500 ids is ~6 KB).
MAX_BODY = 16 * 1024
logger = logging.getLogger("canvas_sync.web")
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class _Sessions(SecureCookieSessionInterface):
    """Session cookies are Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure or app.config["SESSION_COOKIE_SECURE"])


def create_app(
    courses: Sequence[Settings], *, allowed_hosts: Sequence[str] = (), testing: bool = False
) -> Flask:
    """The web app for the courses of one config; users live in the first course's database."""
    if not courses:
        raise UsageError("The config has no course to serve; check --config.")
    database = accounts.accounts_database(courses[0].database_url)
    hosts = tuple(dict.fromkeys([*LOOPBACK_NAMES, *allowed_hosts, *_config_hosts(courses)]))
    app = Flask("canvas_sync.web")
    app.config.update(
        SECRET_KEY=accounts.cookie_key(database),
        TRUSTED_HOSTS=list(hosts),
        MAX_CONTENT_LENGTH=MAX_BODY,
        MAX_FORM_MEMORY_SIZE=MAX_BODY,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="canvas_sync_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        TESTING=testing,
    )
    app.session_interface = _Sessions()
    app.jinja_loader = ChoiceLoader(
        [PackageLoader("canvas_sync.web", "templates"), report.TEMPLATES]
    )
    report.configure_templates(app.jinja_env, courses[0].zone)
    app.extensions["canvas_sync"] = State({s.course_id: s for s in courses}, database, hosts)
    app.before_request(_guard)  # before the CSRF check: anonymous posts go to the login page
    csrf = CSRFProtect(app)
    csrf.exempt(api.blueprint)
    for blueprint in (auth.blueprint, pages.blueprint, review.blueprint, pushing.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(api.blueprint, url_prefix="/api")
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CanvasSyncError, _our_error)
    return app


def _config_hosts(courses: Sequence[Settings]) -> list[str]:
    return [h for s in courses for h in s.web_allowed_hosts]


def _same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == request.host_url.rstrip("/")


def _guard() -> BaseResponse | None:
    request.host  # noqa: B018 - werkzeug checks it against TRUSTED_HOSTS (400 otherwise)
    size = request.content_length
    if size is not None and size > MAX_BODY:
        return _plain(413, f"The request is larger than {MAX_BODY // 1024} KB.")
    if request.method == "POST" and not request.path.startswith("/api/"):
        origin = request.headers.get("Origin")
        referer = request.headers.get("Referer")
        sent = origin if origin not in (None, "null") else referer
        if sent is None or not _same_origin(sent):
            return _plain(403, "This form was not sent from this site; reload the page.")
    return auth.load_user()


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _plain(code: int, why: str) -> Response:
    if request.path.startswith("/api/"):
        answer = jsonify(error=why)
        answer.status_code = code
        return answer
    return Response(render_template("error.html", code=code, why=why, me=None), code)


def _http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    if isinstance(exc, CSRFError):
        return _plain(400, "This form has expired or was not sent from this site; reload the page.")
    why = exc.description if isinstance(exc.description, str) else exc.name
    return _plain(code, why)


def _our_error(exc: CanvasSyncError) -> Response:
    """Our errors are written for people and never hold the token: show the sentence."""
    logger.warning("event=web_failed error=%s", type(exc).__name__)
    return _plain(400 if exc.exit_code == 2 else 502, str(exc))


def serve(
    courses: Sequence[Settings],
    *,
    host: str,
    port: int,
    allowed_hosts: Sequence[str] = (),
    behind_proxy: bool = False,
) -> None:
    """Serve the app with waitress until Ctrl-C or SIGTERM (one process, many threads).

    `behind_proxy`: an HTTPS reverse proxy on this machine forwards the requests; its
    X-Forwarded-Proto is trusted, so the app knows it is served over HTTPS (Secure cookies, and
    the Origin of its own forms reads https://).
    """
    from waitress.server import create_server

    try:
        listening = socket.create_server((host, port))
    except OSError as exc:
        raise UsageError(
            f"Cannot listen on {host}:{port} ({os.strerror(exc.errno) if exc.errno else exc}); "
            "pick another --port or --host."
        ) from None
    app = create_app(courses, allowed_hosts=[host, *allowed_hosts])
    proxy: dict[str, Any] = (
        {"trusted_proxy": "127.0.0.1", "trusted_proxy_headers": {"x-forwarded-proto"}}
        if behind_proxy
        else {}
    )
    server = create_server(
        app, sockets=[listening], threads=8, clear_untrusted_proxy_headers=True, **proxy
    )
    bound = listening.getsockname()[1]
    print(f"Web app: http://{host}:{bound}/  (Ctrl-C stops it)", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
