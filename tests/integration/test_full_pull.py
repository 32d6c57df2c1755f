"""The daemon's scheduled full pull catches what incremental syncs cannot see (issue 9).

Canvas does not move `graded_at` when a grade is cleared or work is un-excused (canvas-lms
abstract_assignment.rb `save_grade_to_submission`), so `graded_since` misses both; the daemon's
sync job pulls everything once `schedule.full_pull_hours` have passed, or when the course never
had a full pull. On the simulator over real HTTP, SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from integration_helpers import canvas_env
from web_helpers import app_on, signed_in

from canvas_sync import service
from canvas_sync.db import Database, records, repo
from canvas_sync.service import daemon as jobs
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import READING_IDS, TA_TOKEN, Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN) as simulator:
        yield simulator


def stored(url: str, cell: tuple[int, int]) -> tuple[float | None, bool]:
    """(score, excused) the database holds for (assignment, student)."""
    database = Database(url)
    try:
        with database.transaction() as session:
            (row,) = [
                s for s in repo.load_submissions(session, 598, [cell[0]]) if s.student_id == cell[1]
            ]
            return row.score, row.excused
    finally:
        database.dispose()


def modes(url: str) -> list[str]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return [r.mode for r in records.last_runs(session, 598)]
    finally:
        database.dispose()


def ta_put(sim: Simulator, cell: tuple[int, int], form: dict[str, str]) -> None:
    url = f"{sim.base_url}/api/v1/courses/598/assignments/{cell[0]}/submissions/{cell[1]}"
    answer = httpx.put(url, data=form, headers={"Authorization": f"Bearer {TA_TOKEN}"})
    answer.raise_for_status()


def test_cleared_grade_and_unexcuse_are_caught_by_the_scheduled_full_pull(
    sim: Simulator, database_url: str
) -> None:
    env = canvas_env(sim, TOKEN, database_url)
    settings: Settings = load_settings(shipped_config(), env=env)
    assert settings.full_pull_hours == 24.0
    subs = sim.state.submissions
    cleared = next(k for k in sorted(subs) if k[0] in READING_IDS and subs[k].entered_score)
    unexcused = next(k for k in sorted(subs) if k[0] in READING_IDS and subs[k].excused)

    first = jobs.run_sync_job(settings, "interval")  # never had a full pull: full
    assert first is not None and first.mode == "full"
    assert jobs.last_full_pull(settings) is not None
    score, _ = stored(database_url, cleared)
    assert score and stored(database_url, unexcused)[1] is True

    ta_put(sim, cleared, {"submission[posted_grade]": ""})
    ta_put(sim, unexcused, {"submission[excuse]": "false"})
    assert subs[cleared].entered_score is None and not subs[unexcused].excused

    second = jobs.run_sync_job(settings, "interval")  # a full pull is not due yet
    assert second is not None and second.mode == "incremental"
    assert stored(database_url, cleared)[0] == score  # missed: graded_at did not move
    assert stored(database_url, unexcused)[1] is True

    due = dataclasses.replace(settings, full_pull_hours=1e-9)  # the last one is "old" now
    assert jobs.full_pull_due(due)
    third = jobs.run_sync_job(due, "interval")
    assert third is not None and third.mode == "full"
    assert stored(database_url, cleared)[0] is None
    assert stored(database_url, unexcused)[1] is False
    assert modes(database_url) == ["full", "incremental", "full"]

    view = service.status([settings]).courses[0]
    assert view.last_full_pull is not None and view.full_pull_due is not None
    assert (view.full_pull_due - view.last_full_pull).total_seconds() == 24 * 3600
    shown = subprocess.run(
        [sys.executable, "-m", "canvas_sync", "--config", str(shipped_config()), "status"],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    local = view.last_full_pull.astimezone(settings.zone)
    assert f"Last full pull: {local:%Y-%m-%d %H:%M:%S %Z}" in shown
    assert "incremental" in shown and "full" in shown
    with app_on(settings) as app, signed_in(app, "ta1") as (client, _token):
        page = client.get("/").text
    assert "Last full pull: " in page and "never" not in page.split("Last full pull: ")[1][:20]
