"""A daemon whose runs cannot start says so (issue 12): it used to keep running, log
`job_failed`, record no run, and `status` and the dashboard showed nothing wrong.

Now: with no token for any course it exits 2 at once with one sentence; a course without a
token gets a failed run with the reason (seen by `status` and the dashboard) and an ERROR line.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_helpers import app_on, signed_in

from canvas_sync.cli import cli
from canvas_sync.service import daemon as jobs
from canvas_sync.settings import load_settings, shipped_config

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")}
    env["CANVAS_SYNC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'blocked.db'}"
    env["CANVAS_URL"] = "http://127.0.0.1:9"  # never reached: nothing may run
    return env


def test_daemon_with_no_token_for_any_course_exits_2_at_once(tmp_path: Path) -> None:
    env = _env(tmp_path)
    command = [sys.executable, "-m", "canvas_sync", "--config", str(shipped_config()), "daemon"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: No Canvas token for any course")
    assert "CANVAS_TOKEN" in lines[0]


def test_a_run_that_cannot_start_is_recorded_and_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = _env(tmp_path)
    settings = load_settings(shipped_config(), env=env)
    assert not settings.token
    with caplog.at_level(logging.INFO, logger="canvas_sync.daemon"):
        assert jobs.run_sync_job(settings, "interval") is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "event=run_not_started" in errors[0].getMessage()
    shown = CliRunner().invoke(cli, ["--config", str(shipped_config()), "status"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "failed: No Canvas token" in shown.output
    assert "Problem: the last run failed: No Canvas token" in shown.output
    assert "CST" in shown.output or "CDT" in shown.output  # course time zone, not UTC
    with app_on(settings) as app, signed_in(app, "prof") as (client, _token):
        page = client.get("/").text
        runs = client.get("/runs").text
    assert "failing" in page  # the overview's daemon health
    assert "No Canvas token" in runs
    assert " UTC" not in runs  # times in the course time zone
