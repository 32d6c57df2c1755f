"""The dashboard for real (SPEC §9): a werkzeug server over a synced database of each kind, and
Debian's Chromium driven by Playwright pressing "Sync now" while a real daemon process runs."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from integration_helpers import canvas_env
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server
from werkzeug.test import Client

from canvas_sync import service
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import Simulator
from canvas_sync.web import Dashboard
from canvas_sync.web.dashboard import LOOPBACK_NAMES

TOKEN = "tok-dashboard-test-8c1e"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NAME = 'CS 598 <script>alert("x")</script>'


@pytest.fixture(scope="module")
def canvas() -> Iterator[Simulator]:
    with Simulator(students=12, token=TOKEN) as sim:
        yield sim


def _env(canvas: Simulator, url: str) -> dict[str, str]:
    return canvas_env(canvas, TOKEN, url)


def _settings(canvas: Simulator, url: str) -> Settings:
    loaded = load_settings(shipped_config(), env=_env(canvas, url))
    return dataclasses.replace(loaded, course_name=NAME)


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """The dashboard on a free localhost port; its base URL."""
    app = Dashboard([settings], trusted_hosts=LOOPBACK_NAMES)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def settings(canvas: Simulator, database_url: str) -> Settings:
    made = _settings(canvas, database_url)
    service.sync(made)
    return made


def _requests(url: str) -> list[tuple[int, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT id, state FROM sync_requests ORDER BY id")
            return [(row.id, row.state) for row in connection.execute(query)]
    finally:
        engine.dispose()


def _form_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def test_the_page_shows_the_course_escaped_and_never_the_token(
    served: str, settings: Settings
) -> None:
    page = httpx.get(served + "/").text
    assert "CS 598 &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert TOKEN not in page
    assert re.search(r"<td>manual</td>.*<span class=\"succeeded\">succeeded</span>", page)
    counts = service.status([settings]).courses[0].open_by_severity
    assert f"{counts['error']} error</span>, {counts['warning']} warning" in page
    assert "Daemons: none running" in page and "Lock: free" in page


def test_sync_now_needs_the_pages_form_token(served: str, settings: Settings) -> None:
    url = settings.database_url
    with httpx.Client(base_url=served) as client:
        token = _form_token(client.get("/").text)
        forged = client.post("/sync", data={"course": str(settings.course_id), "token": "x"})
        assert forged.status_code == 403 and _requests(url) == []
        unknown = client.post("/sync", data={"course": "4242", "token": token})
        assert unknown.status_code == 400 and _requests(url) == []
        asked = client.post("/sync", data={"course": str(settings.course_id), "token": token})
        assert asked.status_code == 303
        [(request_id, state)] = _requests(url)
        assert state == "pending"
        assert asked.headers["location"].endswith(f"/?requested={request_id}&course=598")
        shown = client.get(asked.headers["location"]).text
    assert f"Sync requested for course 598 (request {request_id})" in shown
    assert "no daemon is running for this course" in shown
    assert _requests(url) == [(request_id, "pending")]
    assert httpx.get(served + "/sync").status_code == 405
    assert httpx.get(served + "/nowhere").status_code == 404


@pytest.mark.slow
def test_sync_now_in_a_browser_runs_the_daemon(canvas: Simulator, tmp_path: Path) -> None:
    """A person presses the button in Chromium; the running daemon syncs; the page shows it."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium.")
        pytest.skip("chromium is not installed")
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    env = {**os.environ, **_env(canvas, url)}
    config = [sys.executable, "-m", "canvas_sync", "--config", str(shipped_config())]
    subprocess.run([*config, "db", "upgrade"], env=env, check=True, capture_output=True)
    daemon = subprocess.Popen([*config, "daemon"], env=env, stderr=subprocess.DEVNULL, cwd=tmp_path)
    server = make_server("127.0.0.1", 0, Dashboard([_settings(canvas, url)]), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.port}/")
            # The daemon's start-up run appears (the page refreshes itself every few seconds).
            expect(page.locator("table.runs")).to_contain_text("interval", timeout=30_000)
            page.get_by_role("button", name="Sync now").click()
            expect(page.get_by_role("status")).to_contain_text(
                "a running daemon picks it up", timeout=10_000
            )
            triggers = page.locator("table.triggers")
            expect(triggers).to_contain_text("done", timeout=30_000)
            expect(page.locator("table.runs")).to_contain_text("request", timeout=10_000)
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=15)
    assert code == 0
    assert [state for _, state in _requests(url)] == ["done"]


def test_a_page_asked_for_under_another_host_name_is_refused(served: str) -> None:
    """DNS rebinding: a web site that points its own name at 127.0.0.1 cannot read the page."""
    assert httpx.get(served + "/", headers={"Host": "rebound.example"}).status_code == 400
    assert httpx.get(served.replace("127.0.0.1", "localhost") + "/").status_code == 200


def test_a_database_that_is_down_gives_one_sentence(
    canvas: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    down = _settings(canvas, "postgresql+psycopg://postgres@127.0.0.1:9/nothing")
    answer = Client(Dashboard([down])).get("/")
    assert answer.status_code == 500
    assert "Cannot open the database at postgresql+psycopg://postgres@127.0.0.1:9/" in answer.text
    assert "check CANVAS_SYNC_DATABASE_URL" in answer.text and "Traceback" not in answer.text
    assert "event=dashboard_failed error=ConfigError" in caplog.text


@pytest.mark.slow
def test_the_dashboard_command_serves_until_sigterm(canvas: Simulator, tmp_path: Path) -> None:
    env = {**os.environ, **_env(canvas, f"sqlite:///{tmp_path / 'cmd.db'}")}
    env.pop("CANVAS_TOKEN")  # the dashboard needs none
    command = [sys.executable, "-m", "canvas_sync", "--config", str(shipped_config())]
    process = subprocess.Popen(
        [*command, "dashboard", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found is not None, line
        page = httpx.get(found.group(0), timeout=10)
        assert page.status_code == 200 and "No runs yet." in page.text
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0
