"""The command line against the simulator: outputs, exit codes, one-sentence errors, no token."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import cli_env
from click.testing import CliRunner, Result

from canvas_sync.cli import cli
from canvas_sync.settings import shipped_config
from canvas_sync.simulator import Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "cli-test-token-8c1f"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(students=30, seed=598, now=NOW, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return cli_env(sim, TOKEN, tmp_path / "cli.db")


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def one_sentence_error(result: Result) -> str:
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and lines[0].endswith("."), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


def test_sync_prints_one_summary_line(env: dict[str, str]) -> None:
    result = invoke(env, "sync")
    assert result.exit_code == 0, result.output
    assert "Synced (full): 28 students, 19 readings, 532 submissions" in result.output
    assert TOKEN not in result.output
    again = invoke(env, "sync")
    assert "Synced (incremental)" in again.output


def test_bad_token_is_a_usage_error_without_the_token(env: dict[str, str]) -> None:
    result = invoke({**env, "CANVAS_TOKEN": "not-the-token-123"}, "sync")
    assert result.exit_code == 2
    message = one_sentence_error(result)
    assert "CANVAS_TOKEN" in message
    assert "not-the-token-123" not in result.output


def test_unknown_course_names_the_course(env: dict[str, str]) -> None:
    result = invoke({**env, "CANVAS_COURSE_ID": "999"}, "sync")
    assert result.exit_code == 2
    assert "999" in one_sentence_error(result)


def test_unreachable_canvas_is_a_failure(env: dict[str, str]) -> None:
    settings_env = {**env, "CANVAS_URL": "http://127.0.0.1:9"}
    config = Path(env["CANVAS_SYNC_DATABASE_URL"].removeprefix("sqlite:///")).with_name("c.toml")
    text = shipped_config().read_text(encoding="utf-8")
    config.write_text(
        text.replace("[canvas]\n", "[canvas]\nmax_attempts = 1\ntimeout_seconds = 2\n"),
        encoding="utf-8",
    )
    result = invoke({**settings_env, "CANVAS_SYNC_CONFIG": str(config)}, "sync")
    assert result.exit_code == 1
    assert "127.0.0.1:9" in one_sentence_error(result)


def test_bad_config_value_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[canvas]\ncourse_id = 1\n[policy]\nselection = 'worst'\n", encoding="utf-8")
    result = invoke(env, "--config", str(bad), "sync")
    assert result.exit_code == 2
    assert "policy.selection" in one_sentence_error(result)


def test_report_json_and_review_commands(env: dict[str, str], tmp_path: Path) -> None:
    assert invoke(env, "sync").exit_code == 0
    out = tmp_path / "report.json"
    result = invoke(env, "report", "--format", "json", "--output", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data) == ["course", "generated_at", "policy", "students", "discrepancies"]
    assert len(data["students"]) == 28
    late = next(d for d in data["discrepancies"] if d["kind"] == "late_graded")

    listed = invoke(env, "discrepancies", "--kind", "late_graded")
    assert str(late["id"]) in listed.output
    ack = invoke(env, "resolve", str(late["id"]), "--note", "asked the student", "--ack")
    assert ack.exit_code == 0 and "acknowledged" in ack.output
    unknown = invoke(env, "resolve", "999999", "--note", "x")
    assert unknown.exit_code == 2
    assert "999999" in one_sentence_error(unknown)

    exempt = invoke(env, "exempt", "1003", "Illustrated Stable", "--reason", "DRES letter")
    assert exempt.exit_code == 0, exempt.output
    assert "1003" in exempt.output
    nobody = invoke(env, "exempt", "no-such-login", "LoRA", "--reason", "x")
    assert nobody.exit_code == 2
    assert "no-such-login" in one_sentence_error(nobody)
    vague = invoke(env, "exempt", "1003", "Summary", "--reason", "x")
    assert vague.exit_code == 2
    assert "unique part" in one_sentence_error(vague)

    html = tmp_path / "r.html"
    assert invoke(env, "report", "--format", "html", "--output", str(html)).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page


def test_console_script_runs_as_a_real_process(env: dict[str, str]) -> None:
    """The installed entry point, in its own process, as the README uses it."""
    completed = subprocess.run(
        [sys.executable, "-m", "canvas_sync", "sync"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("Synced (full): 28 students")
    assert TOKEN not in completed.stdout + completed.stderr


def test_init_discovers_the_readings_and_writes_a_usable_config(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "course.toml"
    result = invoke(env, "init", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "19 readings" in result.output
    text = out.read_text(encoding="utf-8")
    assert 'title = "LoRA: Low-Rank Adaptation of Large Language Models"' in text
    assert "lecture = 2026-02-13" in text
    # JITServe's Canvas due date was set across the DST change (12:59 AM CDT, an hour off):
    # the lecture is the syllabus's Mar 11, and the warning names the reading and both dates.
    jitserve = text.split('title = "JITServe', 1)[1].split("[[readings.list]]", 1)[0]
    assert "lecture = 2026-03-11" in jitserve
    warning = next(line for line in result.output.splitlines() if "JITServe" in line)
    assert warning.startswith("Warning: R12 'JITServe")
    assert "Wed Mar 11, 2026 00:59 CDT" in warning and "Tue Mar 10, 2026 23:59 CDT" in warning
    assert TOKEN not in text  # the token stays in the environment
    synced = invoke({**env, "CANVAS_SYNC_CONFIG": str(out)}, "sync")
    assert synced.exit_code == 0, synced.output
    assert "19 readings" in synced.output
    again = invoke(env, "init", "--output", str(out))
    assert again.exit_code == 2
    assert "--force" in one_sentence_error(again)
    nogroup = invoke(env, "init", "--output", str(tmp_path / "x.toml"), "--group", "Nope")
    assert nogroup.exit_code == 2
    assert "--group" in one_sentence_error(nogroup)


def test_dashboard_on_a_taken_port_is_a_usage_error(env: dict[str, str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = invoke(env, "dashboard", "--port", str(port))
    assert result.exit_code == 2
    assert one_sentence_error(result) == (
        f"Error: Cannot listen on 127.0.0.1:{port} (Address already in use); "
        "pick another --port or --host."
    )


def test_demo_runs_the_whole_loop_as_the_readme_says(tmp_path: Path) -> None:
    """`canvas-sync demo` in its own process: simulator, sync, report, push, second push."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANVAS_", "CANVAS_SYNC_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "canvas_sync", "demo", "--students", "24", "--dir", "out"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert re.search(r"Synced \(full\): 22 students, 19 readings", out)
    assert "Second sync with nothing changed: 5 requests." in out
    assert re.search(r"Pushed: (\d+) planned, \1 sent, \1 confirmed, 0 failed", out)
    assert "Second push: 0 changes, 0 write requests" in out
    # The policy's own zeros are not errors: the push leaves fewer open errors than it found.
    before = re.search(r"Synced \(full\).*Open discrepancies: (\d+) error", out)
    after = re.search(r"Sync after the push: open discrepancies: (\d+) error", out)
    assert before is not None and after is not None
    assert int(after.group(1)) < int(before.group(1))
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert len(report["students"]) == 22 and report["policy"]["required"] == 14
    assert (
        (tmp_path / "out" / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    )
    # The web app line names this install's command by path: the virtualenv is not on PATH.
    last = out.strip().splitlines()[-1]
    assert last.startswith("Web app on this database: export CANVAS_SYNC_DATABASE_URL=sqlite:///")
    command = last.split()[7]
    assert Path(command).is_file() and command.endswith("canvas-sync"), last
    # The reports are written after the push: no late grade or missing zero is left to push.
    assert out.index("Second push:") < out.index("HTML report:")
    left = [d for d in report["discrepancies"] if d["kind"] in ("late_graded", "missing_ungraded")]
    assert left == []
    assert re.search(r"The push step took \d+\.\d s of wall-clock time", out)
