"""Config loading: the shipped CS 598 policy, validation messages, environment overrides."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from canvas_sync.domain import Selection
from canvas_sync.errors import ConfigError
from canvas_sync.settings import load_settings, shipped_config


def test_shipped_config_is_the_syllabus() -> None:
    settings = load_settings(shipped_config(), env={})
    assert len(settings.readings) == 19
    assert settings.policy.required == 14
    assert settings.policy.points_per_summary == 10
    assert settings.policy.weight == 20
    assert settings.policy.selection is Selection.BEST
    assert settings.policy.grace_seconds == 0
    assert settings.time_zone == "America/Chicago"
    assert dict(settings.weights) == {
        "attendance": 10,
        "reading_summary": 20,
        "paper_presentation": 15,
        "panel_discussion": 5,
        "final_presentation": 15,
        "project_report": 35,
    }
    assert sum(settings.weights.values()) == 100
    # Two readings share the Feb 6 lecture.
    assert sum(1 for r in settings.readings if r.lecture.isoformat() == "2026-02-06") == 2


@pytest.mark.parametrize(
    ("title_start", "due"),
    [
        # CST (UTC-6) before 2026-03-08, CDT (UTC-5) after: 23:59:59 local the day before.
        ("The Illustrated Stable Diffusion", datetime(2026, 2, 4, 5, 59, 59, tzinfo=UTC)),
        ("Taming Throughput", datetime(2026, 3, 6, 5, 59, 59, tzinfo=UTC)),
        ("JITServe", datetime(2026, 3, 11, 4, 59, 59, tzinfo=UTC)),
        ("Why Do Multi-Agent", datetime(2026, 4, 24, 4, 59, 59, tzinfo=UTC)),
    ],
)
def test_due_dates_follow_dst(title_start: str, due: datetime) -> None:
    settings = load_settings(shipped_config(), env={})
    reading = next(r for r in settings.readings if r.title.startswith(title_start))
    assert reading.due_at == due


def test_environment_overrides_file(tmp_path: Path) -> None:
    env = {
        "CANVAS_URL": "https://canvas.example.edu/",
        "CANVAS_TOKEN": "secret-token-value",
        "CANVAS_COURSE_ID": "4242",
        "CANVAS_SYNC_DATABASE_URL": "sqlite:///x.db",
    }
    settings = load_settings(shipped_config(), env=env)
    assert settings.canvas_url == "https://canvas.example.edu"
    assert settings.course_id == 4242
    assert settings.database_url == "sqlite:///x.db"
    assert settings.token.reveal() == "secret-token-value"
    assert "secret-token-value" not in repr(settings)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[canvas]\ncourse_id = 1\ncolour = 'red'\n", "unknown key 'canvas.colour'"),
        ("[canvas]\ncourse_id = 1\n[policy]\nrequired = 'x'\n", "key 'policy.required' is invalid"),
        ("[canvas]\ncourse_id = 1\n[policy]\nselection = 'worst'\n", "key 'policy.selection'"),
        ("[canvas]\ncourse_id = 1\n[course]\ntime_zone = 'Mars/Olympus'\n", "unknown time zone"),
        ("[canvas]\ncourse_id = 1\nurl = 'ftp://x'\n", "key 'canvas.url' is invalid"),
        ("[canvas]\n", "key 'canvas.course_id' is missing"),
        (
            "[canvas]\ncourse_id = 1\n[schedule]\nfull_pull_hours = 0\n",
            "key 'schedule.full_pull_hours' is invalid",
        ),
        (
            "[canvas]\ncourse_id = 1\n[schedule]\nfull_pull_hours = 'daily'\n",
            "key 'schedule.full_pull_hours' is invalid",
        ),
        (
            "[canvas]\ncourse_id = 1\n[push]\nallow_canvas_late_policy = 'maybe'\n",
            "key 'push.allow_canvas_late_policy' is invalid",
        ),
        ("[canvas\n", "not valid TOML"),
        (
            "[canvas]\ncourse_id = 1\nrequest_deadline_seconds = 0\n",
            "key 'canvas.request_deadline_seconds' is invalid",
        ),
        ("[canvas]\ncourse_id = 1\nmax_listing_pages = 0\n", "key 'canvas.max_listing_pages'"),
        (
            "[canvas]\ncourse_id = 1\nmax_response_megabytes = -1\n",
            "key 'canvas.max_response_megabytes'",
        ),
        ("[canvas]\ncourse_id = 1\n[web]\nallowed_hosts = ['http://x']\n", "'web.allowed_hosts'"),
        ("[canvas]\ncourse_id = 1\n[web]\nta_can_exempt = 'maybe'\n", "'web.ta_can_exempt'"),
    ],
)
def test_bad_config_names_file_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_bad_course_id_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CANVAS_COURSE_ID must be a positive integer"):
        load_settings(shipped_config(), env={"CANVAS_COURSE_ID": "abc"})


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --config FILE"):
        load_settings(tmp_path / "nope.toml", env={})


def test_required_cannot_exceed_pool(tmp_path: Path) -> None:
    text = (
        "[canvas]\ncourse_id = 1\n[policy]\nrequired = 3\n"
        "[[readings.list]]\ntitle = 'A'\nlecture = 2026-02-04\n"
        "[[readings.list]]\ntitle = 'B'\nlecture = 2026-02-05\n"
    )
    with pytest.raises(ConfigError, match="only 2 readings"):
        load_settings(_write(tmp_path, text), env={})


def test_push_stops_on_a_canvas_late_policy_unless_allowed(tmp_path: Path) -> None:
    assert load_settings(shipped_config(), env={}).allow_canvas_late_policy is False
    path = _write(tmp_path, "[canvas]\ncourse_id = 1\n[push]\nallow_canvas_late_policy = true\n")
    assert load_settings(path, env={}).allow_canvas_late_policy is True


def test_web_keys_default_and_given(tmp_path: Path) -> None:
    assert load_settings(shipped_config(), env={}).web_allowed_hosts == ()
    path = _write(
        tmp_path,
        "[canvas]\ncourse_id = 1\n[web]\nallowed_hosts = ['Grades.CS.example.edu']\n"
        "ta_can_exempt = true\n",
    )
    settings = load_settings(path, env={})
    assert settings.web_allowed_hosts == ("grades.cs.example.edu",)
    assert settings.ta_can_exempt


def test_the_schema_is_built_when_a_config_is_first_loaded_not_on_import() -> None:
    # defer_build: a command importing settings for its --help builds no pydantic validator.
    probe = (
        "import canvas_sync.settings as s; a = s._File.__pydantic_complete__; "
        "s.load_settings(s.shipped_config(), env={'CANVAS_COURSE_ID': '5'}); "
        "print(int(a), int(s._File.__pydantic_complete__))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "1"]
