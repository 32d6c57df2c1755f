"""Output is inert: data from Canvas or a config never drives the terminal (issue 11, item 4).

A student name holding an ANSI escape reaches `report` and `push` tables as visible text, and
Rich markup in a course name or a Canvas error text is printed as typed, never interpreted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import cli_env
from click.testing import CliRunner, Result

from canvas_sync.cli import cli
from canvas_sync.db import Database, records
from canvas_sync.settings import shipped_config
from canvas_sync.simulator import Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "inert-test-token-51aa"
ESCAPE = "\x1b[31m"
RED_NAME = f"Eve {ESCAPE}Red\x1b[0m\u202eevil"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(students=12, seed=598, now=NOW, token=TOKEN) as simulator:
        user = simulator.state.users[1003]
        user.name = user.sortable_name = user.short_name = RED_NAME
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    # COLUMNS: one table row per line
    return {**cli_env(sim, TOKEN, tmp_path / "inert.db"), "COLUMNS": "250"}


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _no_raw_controls(output: str) -> None:
    assert "\x1b" not in output and "\u202e" not in output, repr(output)


def test_escape_in_a_student_name_is_shown_not_obeyed(env: dict[str, str]) -> None:
    assert invoke(env, "sync").exit_code == 0
    table = invoke(env, "report", "--format", "table")
    assert table.exit_code == 0, table.output
    _no_raw_controls(table.output)
    assert "Eve \\x1b[31mRed" in table.output
    plan = invoke(env, "push", "--dry-run")
    assert plan.exit_code == 0, plan.output
    _no_raw_controls(plan.output)
    assert "Eve \\x1b[31mRed" in plan.output


def test_markup_in_a_canvas_error_and_the_course_name_is_printed_as_typed(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert invoke(env, "sync").exit_code == 0
    database = Database(env["CANVAS_SYNC_DATABASE_URL"])
    with database.transaction() as session:
        run = records.start_run(session, 598, "manual", "auto", NOW, "host", 1)
        records.finish_run(
            session, run, status="failed", now=NOW, error=f"Canvas said [/bold] no {ESCAPE}"
        )
    database.dispose()
    config = tmp_path / "markup.toml"
    text = shipped_config().read_text(encoding="utf-8")
    config.write_text(text.replace('name = "CS 598', 'name = "[/bold]CS 598', 1), encoding="utf-8")
    status = invoke({**env, "CANVAS_SYNC_CONFIG": str(config)}, "status")
    assert status.exit_code == 0, status.output
    assert "[/bold]CS 598" in status.output
    assert "Canvas said [/bold] no" in status.output
    _no_raw_controls(status.output)
