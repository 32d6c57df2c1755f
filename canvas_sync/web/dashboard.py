"""The dashboard (SPEC §9): each course's runs, schedule, lock, triggers and open discrepancies,
and a "Sync now" button that asks the running daemon to sync, like `canvas-sync trigger`.

A small WSGI app (werkzeug) over `service.status` and `service.trigger`: it reads what
`canvas-sync status` reads and writes nothing but trigger requests, so it can run beside the
daemon or on another machine that shares its database. It has no login of its own: it listens
on 127.0.0.1 unless told otherwise; put an authenticating proxy in front before exposing it.
Every POST must carry this process's random form token, so another web site open in the same
browser cannot trigger syncs (cross-site request forgery).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import signal
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from markupsafe import Markup
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, InternalServerError
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from canvas_sync import service
from canvas_sync.errors import CanvasSyncError, UsageError
from canvas_sync.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Dashboard", "serve"]

REFRESH_SECONDS = 5
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
logger = logging.getLogger("canvas_sync.web")
_STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem;
       padding: 0 1.5rem }
section { border-top: 1px solid #ccc; padding-top: .5rem; margin-top: 1rem }
table { border-collapse: collapse; margin: .5rem 0 }
td, th { padding: .2rem .6rem; text-align: left }
tr:nth-child(even) { background: #f4f4f4 } .failed, .interrupted, .error { color: #a00 }
.notice { background: #eef6ee; border: 1px solid #9c9; padding: .5rem }
"""


class Dashboard:
    """The WSGI application for the courses of one config."""

    def __init__(
        self, courses: Sequence[Settings], *, trusted_hosts: Sequence[str] | None = None
    ) -> None:
        self.courses = {s.course_id: s for s in courses}
        # Host names the page may be asked for (None: any). On a loopback address this keeps a
        # web site that re-points its own name at 127.0.0.1 (DNS rebinding) from reading it.
        self.trusted_hosts = None if trusted_hosts is None else list(trusted_hosts)
        # Per process: a page served before a restart cannot post after it (reload the page).
        self.form_token = secrets.token_urlsafe(32)
        self.urls = Map(
            [
                Rule("/", endpoint="page", methods=["GET"]),
                Rule("/sync", endpoint="sync", methods=["POST"]),
            ]
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.trusted_hosts = self.trusted_hosts
        try:
            request.host  # noqa: B018 - checks the Host header against trusted_hosts
            endpoint, _args = self.urls.bind_to_environ(environ).match()
            response = self.page(request) if endpoint == "page" else self.sync(request)
        except HTTPException as exc:  # 404, 405, 400, 403: werkzeug's plain answer pages
            return exc(environ, start_response)
        except Exception as exc:  # a database that is down, say: one sentence, no traceback
            logger.error("event=dashboard_failed error=%s", type(exc).__name__)
            why = (
                str(exc)
                if isinstance(exc, CanvasSyncError)  # written for people, never holds the token
                else "The dashboard could not read the database; see its log."
            )
            return InternalServerError(why)(environ, start_response)
        return response(environ, start_response)

    def page(self, request: Request) -> Response:
        view = service.status(list(self.courses.values()))
        served = {c.course_id for c in view.courses if c.daemons}
        notice = _notice(request.args.get("requested", ""), request.args.get("course", ""), served)
        body = [
            _course_html(c, self.courses[c.course_id].zone, self.form_token) for c in view.courses
        ]
        zone = next(iter(self.courses.values())).zone if self.courses else ZoneInfo("UTC")
        return Response(
            _document(notice, body, _when(view.generated_at, zone)), mimetype="text/html"
        )

    def sync(self, request: Request) -> Response:
        """Queue a trigger for the course and come back to the page (POST, redirect, GET)."""
        sent = request.form.get("token", "")
        if not hmac.compare_digest(sent.encode(), self.form_token.encode()):
            raise Forbidden(
                "This form has expired; reload the dashboard and press the button again."
            )
        try:
            settings = self.courses[int(request.form.get("course", ""))]
        except (KeyError, ValueError):
            raise BadRequest("No such course on this dashboard.") from None
        full = request.form.get("full") == "1"
        outcome = service.trigger(settings, full=full, wait=False)
        return redirect(f"/?requested={outcome.request_id}&course={settings.course_id}", code=303)


def serve(courses: Sequence[Settings], *, host: str, port: int) -> None:
    """Serve the dashboard until Ctrl-C or SIGTERM."""
    # Bound here, not by werkzeug, which prints its own text and exits 1 when the port is taken.
    try:
        listening = socket.create_server((host, port))
    except OSError as exc:
        raise UsageError(
            f"Cannot listen on {host}:{port} ({os.strerror(exc.errno) if exc.errno else exc}); "
            "pick another --port or --host."
        ) from None
    trusted = LOOPBACK_NAMES if host in LOOPBACK_NAMES else None
    app = Dashboard(courses, trusted_hosts=trusted)
    with listening:
        server = make_server(host, port, app, threaded=True, fd=listening.fileno())
    print(f"Dashboard: http://{host}:{server.port}/  (Ctrl-C stops it)", flush=True)
    # SIGTERM (systemd, kill) stops it like Ctrl-C: the listening socket is closed on the way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- the page ---------------------------------------------------------------------------------


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "-" if moment is None else f"{moment.astimezone(zone):%a %b %d, %H:%M:%S %Z}"


def _notice(requested: str, course: str, served: set[int]) -> Markup:
    """What became of the button press, shown once the browser is back on the page."""
    if not requested.isdigit() or not course.isdigit():
        return Markup("")
    then = (
        "a running daemon picks it up within seconds; this page refreshes itself."
        if int(course) in served
        else "no daemon is running for this course, so it waits until 'canvas-sync daemon' "
        "starts (or run 'canvas-sync sync')."
    )
    return Markup(
        '<p class="notice" role="status">Sync requested for course {} (request {}): {}</p>'
    ).format(course, requested, then)


def _rows(headers: Sequence[str], rows: Iterable[Sequence[object]], css: str = "") -> Markup:
    head = Markup("").join(Markup("<th>{}</th>").format(h) for h in headers)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(Markup("<td>{}</td>").format(cell) for cell in row)
        )
        for row in rows
    )
    return Markup('<table class="{}"><tr>{}</tr>{}</table>').format(css, head, body)


def _runs_table(runs: Sequence[service.RunRecord], zone: ZoneInfo) -> Markup:
    if not runs:
        return Markup("<p>No runs yet.</p>")
    return _rows(
        ["run", "trigger", "pull", "started", "seconds", "outcome", "requests", "changed rows"],
        (
            (
                run.id,
                run.trigger,
                run.mode,
                _when(run.started_at, zone),
                f"{(run.finished_at - run.started_at).total_seconds():.1f}"
                if run.finished_at
                else "-",
                Markup('<span class="{}">{}</span>').format(
                    run.status, run.status + (f": {run.error}" if run.error else "")
                ),
                run.requests,
                run.changed,
            )
            for run in runs
        ),
        "runs",
    )


def _triggers_table(triggers: Sequence[service.SyncRequest], zone: ZoneInfo) -> Markup:
    if not triggers:
        return Markup("<p>No triggers yet.</p>")
    return _rows(
        ["request", "asked", "by", "state", "run"],
        (
            (
                t.id,
                _when(t.requested_at, zone),
                t.requested_by,
                t.state + (f": {t.error}" if t.error else ""),
                t.run_id if t.run_id is not None else "-",
            )
            for t in triggers
        ),
        "triggers",
    )


def _full_pull(item: service.CourseStatus, zone: ZoneInfo) -> str:
    """When everything was last pulled (incremental syncs miss cleared grades and the like)."""
    if item.last_full_pull is None:
        return "never (the next scheduled sync pulls everything)"
    again = f"; next from {_when(item.full_pull_due, zone)}" if item.full_pull_due else ""
    return f"{_when(item.last_full_pull, zone)}{again}"


def _course_html(item: service.CourseStatus, zone: ZoneInfo, token: str) -> Markup:
    upcoming = ", ".join(f"{_when(n.at, zone)} ({n.kind})" for n in item.next_runs)
    lock = (
        f"held by {item.lock.holder} since {_when(item.lock.acquired_at, zone)}"
        if item.lock is not None
        else "free"
    )
    counts = item.open_by_severity
    return Markup(
        '<section id="course-{id}"><h2>{name} <small>(course {id})</small></h2>'
        '<form method="post" action="/sync"><input type="hidden" name="token" value="{token}">'
        '<input type="hidden" name="course" value="{id}">'
        '<button type="submit">Sync now</button> '
        '<label><input type="checkbox" name="full" value="1"> full pull</label></form>'
        '<p>Open discrepancies: <span class="error">{errors} error</span>, {warnings} warning, '
        "{infos} info &middot; Daemons: {daemons} &middot; Lock: {lock}</p>"
        "<p>Next runs: {upcoming}</p><p>Last full pull: {full}</p>"
        "<h3>Last runs</h3>{runs}<h3>Triggers</h3>{triggers}"
        "</section>"
    ).format(
        id=item.course_id,
        name=item.name,
        token=token,
        errors=counts.get("error", 0),
        warnings=counts.get("warning", 0),
        infos=counts.get("info", 0),
        daemons=", ".join(item.daemons) or "none running",
        lock=lock,
        upcoming=upcoming or "none scheduled (no daemon is running for this course)",
        full=_full_pull(item, zone),
        runs=_runs_table(item.runs, zone),
        triggers=_triggers_table(item.triggers, zone),
    )


def _document(notice: Markup, courses: Sequence[Markup], generated_at: str) -> str:
    return str(
        Markup(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="refresh" content="{refresh}">'
            "<title>canvas-sync dashboard</title><style>{style}</style></head><body>"
            "<h1>canvas-sync</h1>{notice}{courses}"
            "<p><small>As of {at}.</small></p></body></html>"
        ).format(
            refresh=REFRESH_SECONDS,
            style=Markup(_STYLE),
            notice=notice,
            courses=Markup("").join(courses),
            at=generated_at,
        )
    )
