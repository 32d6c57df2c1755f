"""The review web app over HTTP (Flask's test client on the real app, a synced simulator course):
every page and action as anonymous, TA and instructor, CSRF, escaping, and the hardening of
the dashboard (Host allow-list, body limit before reading, Origin check, bad query values)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from web_helpers import (
    ORIGIN,
    PASSWORD,
    SCRIPT_NAME,
    TOKEN,
    form_token,
    hostile_course,
    make_app,
    sign_in,
    signed_in,
    synced_settings,
)

from canvas_sync import service
from canvas_sync.settings import Settings
from canvas_sync.simulator import TA_TOKEN, Simulator
from canvas_sync.web import MAX_BODY

PAGES = ["/", "/discrepancies", "/students", "/runs", "/activity", "/kinds", "/account"]
INSTRUCTOR_PAGES = ["/push", "/push.csv"]
POSTS = ["/discrepancies/act", "/sync", "/push/plan", "/push/apply", "/account/token", "/logout"]


@pytest.fixture(scope="module")
def canvas() -> Iterator[Simulator]:
    with Simulator(students=8, token=TOKEN) as sim:
        sim.state.late_policy = None  # set up as docs/canvas-setup.md says: push may write
        hostile_course(sim)
        yield sim


@pytest.fixture(scope="module")
def settings(canvas: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return synced_settings(canvas, tmp_path_factory.mktemp("web") / "web.db")


@pytest.fixture(scope="module")
def app(settings: Settings) -> Flask:
    return make_app(settings)


def _open(settings: Settings, **filters: str) -> list[service.pages.DiscrepancyRecord]:
    items = service.list_discrepancies(settings, **filters)  # type: ignore[arg-type]
    return [d for d in items if d.student_id is not None]


def test_anonymous_is_sent_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    for path in [*PAGES, *INSTRUCTOR_PAGES, "/students/1001"]:
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["Location"].startswith("/login?next=/"), path
    for path in POSTS:
        answer = client.post(path, headers={"Origin": ORIGIN})
        assert answer.status_code == 303 and answer.headers["Location"].startswith("/login")
    for path in ["/api/report", "/api/discrepancies", "/api/runs", "/api/me", "/api/overview"]:
        answer = client.get(path)
        assert answer.status_code == 401 and "Bearer" in answer.get_json()["error"], path
    assert client.get("/login").status_code == 200


def test_wrong_password_is_refused_and_the_session_is_new_on_sign_in(app: Flask) -> None:
    with app.test_client() as client:
        token = form_token(client.get("/login").text)
        before = client.get_cookie("canvas_sync_session")
        wrong = client.post(
            "/login",
            data={"csrf_token": token, "name": "ta1", "password": "nope nope nope"},
            headers={"Origin": ORIGIN},
        )
        assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
        sign_in(client, "ta1")
        after = client.get_cookie("canvas_sync_session")
        assert before is not None and after is not None and after.value != before.value
        assert after.http_only and after.same_site == "Lax" and not after.secure
        assert PASSWORD["ta1"] not in after.value


def test_cookie_is_secure_over_https(app: Flask) -> None:
    with app.test_client() as client:
        page = client.get("/login", base_url="https://localhost")
        token = form_token(page.text)
        answer = client.post(
            "/login",
            base_url="https://localhost",
            data={"csrf_token": token, "name": "prof", "password": PASSWORD["prof"]},
            headers={"Origin": "https://localhost", "Referer": "https://localhost/login"},
        )
        assert answer.status_code == 303
        assert "Secure" in answer.headers["Set-Cookie"]


def test_signing_out_ends_the_session(app: Flask) -> None:
    with signed_in(app, "ta1") as (client, token):
        cookie = client.get_cookie("canvas_sync_session")
        assert cookie is not None
        out = client.post("/logout", data={"csrf_token": token}, headers={"Origin": ORIGIN})
        assert out.status_code == 303
    with app.test_client() as replay:  # the old cookie, replayed, no longer signs anyone in
        replay.set_cookie("canvas_sync_session", cookie.value)
        assert replay.get("/").status_code == 303


def test_ta_sees_every_page_but_not_push(app: Flask) -> None:
    with signed_in(app, "ta1") as (client, token):
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert 'id="nav-push"' not in answer.text
        for path in INSTRUCTOR_PAGES:
            assert client.get(path).status_code == 403, path
        for path in ["/sync", "/push/plan", "/push/apply"]:
            answer = client.post(path, data={"csrf_token": token}, headers={"Origin": ORIGIN})
            assert answer.status_code == 403, path
        assert "Sync now" not in client.get("/runs").text


def test_ta_resolves_many_with_a_note_recorded_and_shown(app: Flask, settings: Settings) -> None:
    picked = [d.id for d in _open(settings, state="open")[:2]]
    with signed_in(app, "ta1") as (client, token):
        answer = client.post(
            "/discrepancies/act",
            data={
                "csrf_token": token,
                "ids": picked,
                "note": "Checked <b>both</b>",
                "action": "resolve",
                "severity": "error",
            },
            headers={"Origin": ORIGIN},
        )
        assert answer.status_code == 303
        assert answer.headers["Location"].endswith("/discrepancies?severity=error&state=open")
        shown = client.get("/discrepancies?state=resolved").text
        activity = client.get("/activity").text
    after = {d.id: d for d in service.list_discrepancies(settings)}
    assert all(after[i].state == "resolved" and after[i].resolved_by == "ta1" for i in picked)
    assert all(after[i].note == "Checked <b>both</b>" for i in picked)
    assert "ta1: Checked &lt;b&gt;both&lt;/b&gt;" in shown
    assert "resolved" in activity and f"discrepancies {picked[0]}, {picked[1]}" in activity


def test_an_action_without_a_note_changes_nothing(app: Flask, settings: Settings) -> None:
    first = _open(settings, state="open")[0]
    with signed_in(app, "ta1") as (client, token):
        answer = client.post(
            "/discrepancies/act",
            data={"csrf_token": token, "ids": [first.id], "note": " ", "action": "acknowledge"},
            headers={"Origin": ORIGIN},
        )
    assert answer.status_code == 400 and "Write a note" in answer.text
    assert {d.id: d for d in service.list_discrepancies(settings)}[first.id].state == "open"


def test_missing_or_wrong_csrf_token_is_refused(app: Flask, settings: Settings) -> None:
    first = _open(settings, state="open")[0]
    with signed_in(app, "ta1") as (client, _token):
        for extra in ({}, {"csrf_token": "forged"}):
            answer = client.post(
                "/discrepancies/act",
                data={"ids": [first.id], "note": "x", "action": "acknowledge", **extra},
                headers={"Origin": ORIGIN},
            )
            assert answer.status_code == 400 and "expired" in answer.text
    assert {d.id: d for d in service.list_discrepancies(settings)}[first.id].state == "open"


def test_a_post_from_another_site_is_refused(app: Flask, settings: Settings) -> None:
    first = _open(settings, state="open")[0]
    data = {"ids": [first.id], "note": "x", "action": "acknowledge"}
    with signed_in(app, "ta1") as (client, token):
        data["csrf_token"] = token
        evil = client.post("/discrepancies/act", data=data, headers={"Origin": "http://evil.test"})
        referer = client.post(
            "/discrepancies/act", data=data, headers={"Referer": "http://evil.test/x"}
        )
        neither = client.post("/discrepancies/act", data=data)
    assert evil.status_code == referer.status_code == neither.status_code == 403
    assert {d.id: d for d in service.list_discrepancies(settings)}[first.id].state == "open"


def test_exempt_needs_the_instructor_unless_allowed(app: Flask, settings: Settings) -> None:
    late = next(d for d in _open(settings) if d.kind.value in ("late_graded", "missing_ungraded"))
    url = f"/students/{late.student_id}/exempt"
    data = {"reading": str(late.assignment_id), "reason": "Documented illness"}
    with signed_in(app, "ta1") as (client, token):
        assert (
            client.post(
                url, data={**data, "csrf_token": token}, headers={"Origin": ORIGIN}
            ).status_code
            == 403
        )
    with signed_in(app, "prof") as (client, token):
        done = client.post(url, data={**data, "csrf_token": token}, headers={"Origin": ORIGIN})
        assert done.status_code == 303
        page = client.get(f"/students/{late.student_id}").text
    assert "exempt: Documented illness" in page


def test_ta_may_exempt_when_the_instructor_allows(
    canvas: Simulator, tmp_path: Path, settings: Settings
) -> None:
    allowed = make_app(synced_settings(canvas, tmp_path / "allowed.db", ta_can_exempt=True))
    late = next(d for d in _open(settings) if d.kind.value in ("late_graded", "missing_ungraded"))
    with signed_in(allowed, "ta1") as (client, token):
        page = client.get(f"/students/{late.student_id}").text
        assert 'placeholder="reason"' in page
        done = client.post(
            f"/students/{late.student_id}/exempt",
            data={"csrf_token": token, "reading": str(late.assignment_id), "reason": "DRES"},
            headers={"Origin": ORIGIN},
        )
    assert done.status_code == 303


def test_hostile_student_name_is_text_everywhere(app: Flask, settings: Settings) -> None:
    with signed_in(app, "ta1") as (client, _token):
        grid = client.get("/students").text
        student_id = int(re.findall(r'href="/students/(\d+)"', grid)[0])
        pages = [grid, client.get(f"/students/{student_id}").text]
        pages += [client.get(p).text for p in ("/", "/discrepancies", "/discrepancies?state=all")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in grid
    for html in pages:
        assert "<script>alert" not in html
        assert "<script" not in html  # the app's pages carry no script at all
        for needle in ("<link", 'src="', "url(", "@import", "http://", "https://"):
            assert needle not in html  # nothing fetched from elsewhere
    with signed_in(app, "prof") as (client, _token):
        push = client.get("/push").text
    assert SCRIPT_NAME not in push and "&lt;script&gt;alert(1)&lt;/script&gt;" in push


def test_pages_show_names_labels_and_the_student_details(app: Flask, settings: Settings) -> None:
    with signed_in(app, "ta1") as (client, _token):
        listing = client.get("/discrepancies?severity=error").text
        kinds = client.get("/kinds").text
        overview = client.get("/").text
    rows = re.findall(r'<tr class="sev-(\w+)" data-id', listing)
    assert rows and set(rows) == {"error"}
    assert 'href="/kinds#late_graded"' in listing or 'href="/kinds#' in listing
    assert 'id="late_graded"' in kinds and "push will set it to 0" in kinds
    assert "Last full pull:" in overview and "Students at risk" in overview
    assert re.search(r'href="/discrepancies\?severity=error">\d+ open errors', overview)


def test_bad_query_values_answer_400(app: Flask) -> None:
    with signed_in(app, "ta1") as (client, _token):
        bad = ["/?course=²", "/?course=4242", "/discrepancies?severity=fatal"]
        bad += ["/discrepancies?student=abc", "/discrepancies?kind=%00", "/api/runs?course=x"]
        for path in bad:
            assert client.get(path).status_code == 400, path
    with signed_in(app, "prof") as (client, _token):
        assert client.get("/push?page=two").status_code == 400


def test_host_header_must_be_allowed(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/login", headers={"Host": "rebound.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "127.0.0.1:8600"}).status_code == 200


def test_configured_host_is_allowed(settings: Settings) -> None:
    import dataclasses

    app = make_app(dataclasses.replace(settings, web_allowed_hosts=("grades.example.edu",)))
    client = app.test_client()
    assert client.get("/login", headers={"Host": "grades.example.edu"}).status_code == 200
    assert client.get("/login", headers={"Host": "other.example.edu"}).status_code == 400


class _Exploding:
    """A request body that must never be read."""

    def read(self, *_args: object) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def test_a_large_body_is_refused_before_it_is_read(app: Flask) -> None:
    client = app.test_client()
    answer = client.post(
        "/login",
        headers={"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
        environ_overrides={"wsgi.input": _Exploding(), "CONTENT_LENGTH": str(200 * 1024 * 1024)},
    )
    assert answer.status_code == 413
    ok = client.post("/login", data={"name": "x" * (MAX_BODY // 2)}, headers={"Origin": ORIGIN})
    assert ok.status_code != 413


def test_instructor_pushes_and_syncs(app: Flask, settings: Settings) -> None:
    with signed_in(app, "prof") as (client, token):
        page = client.get("/push").text
        planned = int(re.search(r"Plan: (\d+) changes", page).group(1))  # type: ignore[union-attr]
        csv_text = client.get("/push.csv").text
        assert len(csv_text.strip().splitlines()) == planned + 1
        fingerprint = re.search(r'name="fingerprint" value="(\w+)"', page)
        assert fingerprint is not None and planned > 0
        stale = client.post(
            "/push/apply",
            data={"csrf_token": token, "fingerprint": "0" * 20},
            headers={"Origin": ORIGIN},
        )
        assert stale.status_code == 303
        page = _wait_for_outcome(client)
        assert "refused" in page and "nothing was written" in page
        page = client.get("/push").text  # the new plan
        fingerprint = re.search(r'name="fingerprint" value="(\w+)"', page)
        assert fingerprint is not None
        applied = client.post(
            "/push/apply",
            data={"csrf_token": token, "fingerprint": fingerprint.group(1)},
            headers={"Origin": ORIGIN},
        )
        assert applied.status_code == 303
        page = _wait_for_outcome(client)
        assert "Pushed:" in page and "0 failed" in page
        assert "Nothing to change" in client.get("/push").text
        late = next(d for d in _open(settings) if d.kind.value == "late_graded")
        student_page = client.get(f"/students/{late.student_id}").text
        assert '<p class="comment">' in student_page and "— canvas-sync" in student_page
        synced = client.post("/sync", data={"csrf_token": token}, headers={"Origin": ORIGIN})
        assert synced.status_code == 303
        runs = client.get(synced.headers["Location"]).text
        activity = client.get("/activity").text
    assert "web:prof" in runs and "pending" in runs
    assert "push_done" in activity and "sync_requested" in activity


def _wait_for_outcome(client: object) -> str:
    for _ in range(600):
        page: str = client.get("/push").text  # type: ignore[attr-defined]
        if 'id="outcome"' in page:
            return page
        time.sleep(0.1)
    raise AssertionError("the push never finished")


def test_api_token_for_scripts(app: Flask, settings: Settings) -> None:
    with signed_in(app, "ta1") as (client, token):
        page = client.post(
            "/account/token", data={"csrf_token": token}, headers={"Origin": ORIGIN}
        ).text
        api_token = re.search(r'<code id="token">([^<]+)</code>', page).group(1)  # type: ignore[union-attr]
        # A browser's session may read the API but not write through it.
        assert client.get("/api/me").get_json() == {"name": "ta1", "role": "ta"}
        first = _open(settings, state="open")[0]
        by_cookie = client.post(
            f"/api/discrepancies/{first.id}", json={"state": "resolved", "note": "x"}
        )
        assert by_cookie.status_code == 403
    bearer = {"Authorization": f"Bearer {api_token}"}
    script = app.test_client()
    report = script.get("/api/report", headers=bearer).get_json()
    assert {"course", "students", "discrepancies", "policy"} <= set(report)
    overview = script.get("/api/overview", headers=bearer).get_json()
    assert set(overview["open_by_severity"]) == {"error", "warning", "info"}
    student_id = report["students"][0]["id"]
    one = script.get(f"/api/students/{student_id}", headers=bearer).get_json()
    assert one["readings"] and all(r["why"] for r in one["readings"])
    assert script.get("/api/students/1", headers=bearer).status_code == 404
    errors = script.get("/api/discrepancies?severity=error", headers=bearer).get_json()
    assert all(d["severity"] == "error" for d in errors["discrepancies"])
    done = script.post(
        f"/api/discrepancies/{first.id}",
        headers=bearer,
        json={"state": "acknowledged", "note": "seen"},
    )
    assert done.status_code == 200 and done.get_json()["state"] == "acknowledged"
    assert done.get_json()["changed_by"] == "ta1"
    assert script.get("/api/me", headers={"Authorization": "Bearer cs_wrong"}).status_code == 401


def test_a_failing_scheduled_run_shows_as_failing(app: Flask, settings: Settings) -> None:
    engine = sa.create_engine(settings.database_url)
    started = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO sync_runs (course_id, trigger, mode, status, started_at,"
                    " finished_at, students, assignments, submissions, changed, requests, error)"
                    " VALUES (:c, 'interval', 'auto', 'failed', :s, :s, 0, 0, 0, 0, 3,"
                    " 'Canvas refused the token')"
                ),
                {"c": settings.course_id, "s": started.replace(tzinfo=None)},
            )
        with signed_in(app, "ta1") as (client, _token):
            overview = client.get("/").text
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM sync_runs WHERE trigger = 'interval'"))
        engine.dispose()
    assert "failing: the last scheduled run failed (Canvas refused the token)" in overview


def test_after_sign_in_only_a_path_on_this_site_follows(app: Flask) -> None:
    for target, expected in (
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/discrepancies?severity=error", "/discrepancies?severity=error"),
    ):
        with app.test_client() as client:
            token = form_token(client.get("/login").text)
            answer = client.post(
                "/login",
                query_string={"next": target},
                data={"csrf_token": token, "name": "ta1", "password": PASSWORD["ta1"]},
                headers={"Origin": ORIGIN},
            )
            assert answer.status_code == 303 and answer.headers["Location"] == expected


def test_manual_override_kept_from_the_push_page(tmp_path: Path) -> None:
    with Simulator(students=4, token=TOKEN) as sim:
        sim.state.late_policy = None  # set up as docs/canvas-setup.md says: push may write
        settings = synced_settings(sim, tmp_path / "override.db")
        app = make_app(settings)
        first = service.push(settings, poll_interval=0.05)
        action = next(a for a in first.plan.actions if a.target.value == "grade" and a.comment)
        url = (
            f"{sim.base_url}/api/v1/courses/{sim.course_id}/assignments/"
            f"{action.assignment_id}/submissions/{action.student_id}"
        )
        human = {"Authorization": f"Bearer {TA_TOKEN}"}
        httpx.put(url, headers=human, data={"submission[posted_grade]": "7"}).raise_for_status()
        with signed_in(app, "prof") as (client, token):
            replanned = client.post(
                "/push/plan", data={"csrf_token": token}, headers={"Origin": ORIGIN}
            )
            assert replanned.status_code == 303
            page = client.get("/push").text
            found = re.search(r'action="/discrepancies/(\d+)/override"', page)
            assert found is not None and "Keep Canvas" in page
            kept = client.post(
                f"/discrepancies/{found.group(1)}/override",
                data={"csrf_token": token, "choice": "keep", "note": "accepted", "back": "push"},
                headers={"Origin": ORIGIN},
            )
            assert kept.status_code == 303 and kept.headers["Location"] == "/push"
            assert "None: nobody changed a grade" in client.get("/push").text
        record = {d.id: d for d in service.list_discrepancies(settings)}[int(found.group(1))]
        assert record.state == "resolved" and record.resolved_by == "prof"
        assert sim.state.submissions[(action.assignment_id, action.student_id)].entered_score == 7
