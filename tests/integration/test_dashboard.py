"""The review web app for real: served over HTTP on a free port, driven by Debian's Chromium
through Playwright (a TA resolves, the instructor pushes to the simulator, a TA cannot push; the
instructor's "Sync now" reaches a running daemon), and `canvas-sync dashboard` as a process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from flask import Flask
from integration_helpers import canvas_env
from playwright.sync_api import Browser, Page, expect, sync_playwright
from web_helpers import PASSWORD, TOKEN, hostile_course, make_app, synced_settings
from werkzeug.serving import make_server

from canvas_sync import service
from canvas_sync.errors import ConfigError
from canvas_sync.settings import load_settings, shipped_config
from canvas_sync.simulator import Simulator
from canvas_sync.web import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def canvas() -> Iterator[Simulator]:
    with Simulator(students=10, token=TOKEN) as sim:
        sim.state.late_policy = None  # set up as docs/canvas-setup.md says: push may write
        hostile_course(sim)
        yield sim


def _chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium.")
        pytest.skip("chromium is not installed")
    return CHROMIUM


@contextmanager
def _serve(app: Flask) -> Iterator[str]:
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
def browser() -> Iterator[Browser]:
    path = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=ARGS)
        expect.set_options(timeout=30_000)
        try:
            yield launched
        finally:
            launched.close()


def _sign_in(browser: Browser, base: str, name: str) -> Page:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.set_default_timeout(30_000)  # a loaded CI machine is slow, not wrong
    page.goto(base + "/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD[name])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    return page


@pytest.mark.slow
def test_ta_resolves_and_instructor_pushes_in_a_browser(
    canvas: Simulator, browser: Browser, tmp_path: Path
) -> None:
    settings = synced_settings(canvas, tmp_path / "browser.db")
    with _serve(make_app(settings)) as base:
        ta = _sign_in(browser, base, "ta1")
        wide = "document.documentElement.scrollWidth <= window.innerWidth"
        for path in ("/", "/students", "/discrepancies?state=all"):
            ta.goto(base + path)
            assert ta.evaluate(wide), f"{path} scrolls sideways on a laptop screen"
        grid = ta.locator(".grid-box")
        ta.goto(base + "/students")
        assert grid.evaluate("box => box.scrollWidth > box.clientWidth")  # scrolls in its box
        ta.screenshot(path=str(tmp_path / "ta-students.png"))
        ta.goto(base + "/")
        expect(ta.locator("#nav-push")).to_have_count(0)  # no push for a TA
        ta.get_by_role("link", name="Discrepancies", exact=True).click()
        ta.get_by_label("Severity").select_option("error")
        ta.get_by_role("button", name="Filter").click()
        expect(ta).to_have_url(re.compile(r"severity=error"))  # the filtered page, not the old
        rows = ta.locator("#discrepancy-table tbody tr[data-id]")
        expect(rows.first).to_be_visible()
        assert set(rows.locator("td.sev").all_inner_texts()) == {"error"}
        before = rows.count()
        chosen = rows.first.get_attribute("data-id")
        ta.get_by_label(f"Pick discrepancy {chosen}").check()
        ta.get_by_label("Note (kept with each picked discrepancy)").fill("Regraded with the TA")
        ta.screenshot(path=str(tmp_path / "ta-before-resolve.png"), full_page=True)
        ta.get_by_role("button", name="Resolve picked").click()
        expect(ta.get_by_label("Note (kept with each picked discrepancy)")).to_have_value("")
        expect(ta.locator(f'tr[data-id="{chosen}"]')).to_have_count(0)
        expect(ta.locator("#discrepancy-table tbody tr[data-id]")).to_have_count(before - 1)
        expect(ta.get_by_label("Severity")).to_have_value("error")
        ta.screenshot(path=str(tmp_path / "ta-after-resolve.png"), full_page=True)
        assert ta.goto(base + "/push") is not None
        expect(ta.get_by_role("alert")).to_contain_text("Only the instructor")
        assert ta.request.get(base + "/push").status == 403
        ta.screenshot(path=str(tmp_path / "ta-push-403.png"))

        prof = _sign_in(browser, base, "prof")
        prof.locator("#nav-push").click()
        expect(prof.locator("#plan-table tbody tr").first).to_be_visible()
        prof.screenshot(path=str(tmp_path / "instructor-plan.png"))
        prof.locator("#apply").click()
        expect(prof.locator("#outcome")).to_contain_text("Pushed:", timeout=60_000)
        expect(prof.locator("#outcome")).to_contain_text("0 failed")
        expect(prof.locator("#nothing")).to_be_visible()  # pushing again would write nothing
        prof.screenshot(path=str(tmp_path / "instructor-outcome.png"), full_page=True)
    resolved = {d.id: d for d in service.list_discrepancies(settings)}[int(chosen or 0)]
    assert resolved.state == "resolved" and resolved.note == "Regraded with the TA"
    assert (tmp_path / "instructor-outcome.png").stat().st_size > 0


@pytest.mark.slow
def test_sync_now_in_a_browser_runs_the_daemon(
    canvas: Simulator, browser: Browser, tmp_path: Path
) -> None:
    """The instructor presses "Sync now"; the running daemon syncs; the Runs page shows it."""
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    env = {**os.environ, **canvas_env(canvas, TOKEN, url)}
    config = [sys.executable, "-m", "canvas_sync", "--config", str(shipped_config())]
    subprocess.run([*config, "db", "upgrade"], env=env, check=True, capture_output=True)
    daemon = subprocess.Popen([*config, "daemon"], env=env, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        settings = load_settings(shipped_config(), env=canvas_env(canvas, TOKEN, url))
        with _serve(make_app(settings)) as base:
            page = _sign_in(browser, base, "prof")
            page.get_by_role("link", name="Runs", exact=True).click()
            page.get_by_role("button", name="Sync now").click()
            triggers = page.locator("table.triggers")
            expect(triggers).to_contain_text("web:prof")
            expect(triggers).to_contain_text("done", timeout=30_000)  # the page refreshes
            expect(page.locator("table.runs")).to_contain_text("request")
            page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=15)
    assert code == 0


def test_a_database_that_is_down_gives_one_sentence(canvas: Simulator) -> None:
    env = canvas_env(canvas, TOKEN, "postgresql+psycopg://postgres@127.0.0.1:9/nothing")
    down = load_settings(shipped_config(), env=env)
    with pytest.raises(ConfigError, match="Cannot open the database at postgresql") as caught:
        create_app([down])
    assert "check CANVAS_SYNC_DATABASE_URL" in str(caught.value)


@pytest.mark.slow
def test_the_dashboard_command_serves_until_sigterm(canvas: Simulator, tmp_path: Path) -> None:
    env = {**os.environ, **canvas_env(canvas, TOKEN, f"sqlite:///{tmp_path / 'cmd.db'}")}
    env.pop("CANVAS_TOKEN")  # reading needs none
    command = [sys.executable, "-m", "canvas_sync", "--config", str(shipped_config())]
    process = subprocess.Popen(
        [*command, "dashboard", "--port", "0", "--behind-proxy"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found is not None, line
        first = httpx.get(found.group(0), timeout=10)
        assert first.status_code == 303 and first.headers["location"].startswith("/login")
        login = httpx.get(found.group(0) + "login", timeout=10)
        assert login.status_code == 200 and "Sign in" in login.text
        assert "Secure" not in login.headers["set-cookie"]
        proxied = httpx.get(found.group(0) + "login", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in proxied.headers["set-cookie"]  # served over HTTPS by the proxy
        rebound = httpx.get(found.group(0) + "login", headers={"Host": "evil.example"})
        assert rebound.status_code == 400
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0
