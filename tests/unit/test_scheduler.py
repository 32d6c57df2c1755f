"""After-deadline runs land on the right UTC instants across DST; logs are key=value, token-free."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest

from canvas_sync.scheduler import Daemon, configure_logging
from canvas_sync.service import after_due_times
from canvas_sync.service import daemon as jobs
from canvas_sync.settings import load_settings, shipped_config

ENV = {"CANVAS_TOKEN": "tok-unit-secret", "CANVAS_SYNC_DATABASE_URL": "sqlite://"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _syllabus_dues() -> list[datetime]:
    return [r.due_at for r in load_settings(shipped_config(), env=ENV).readings]


@pytest.mark.parametrize(
    ("lecture_day", "expected"),
    [
        # 23:59:59 CST (UTC-6) on Mar 5, + 5 min: before DST starts on 2026-03-08.
        ("2026-03-06", datetime(2026, 3, 6, 6, 4, 59, tzinfo=UTC)),
        # 23:59:59 CDT (UTC-5) on Mar 10, + 5 min: after the change, one hour earlier in UTC.
        ("2026-03-11", datetime(2026, 3, 11, 5, 4, 59, tzinfo=UTC)),
        ("2026-02-04", datetime(2026, 2, 4, 6, 4, 59, tzinfo=UTC)),
        ("2026-04-24", datetime(2026, 4, 24, 5, 4, 59, tzinfo=UTC)),
    ],
)
def test_after_due_runs_follow_the_course_zone_across_dst(
    lecture_day: str, expected: datetime
) -> None:
    runs = after_due_times(_syllabus_dues(), 5, NOW)
    assert [r for r in runs if r.date().isoformat() == lecture_day] == [expected]


def test_after_due_runs_are_distinct_and_only_in_the_future() -> None:
    dues = _syllabus_dues()
    assert len(dues) == 19
    runs = after_due_times(dues, 5, NOW)
    assert len(runs) == 18  # two readings share the Feb 6 lecture: one run for both
    assert runs == sorted(runs)
    later = after_due_times(dues, 5, datetime(2026, 3, 7, tzinfo=UTC))
    assert later[0] == datetime(2026, 3, 11, 5, 4, 59, tzinfo=UTC)
    assert all(r > datetime(2026, 3, 7, tzinfo=UTC) for r in later)


def test_an_extension_adds_its_own_after_due_run() -> None:
    base = datetime(2026, 3, 6, 5, 59, 59, tzinfo=UTC)
    runs = after_due_times([base, base, base + timedelta(days=2)], 10, NOW)
    assert runs == [base + timedelta(minutes=10), base + timedelta(days=2, minutes=10)]


def test_the_daemon_schedules_date_jobs_at_those_instants(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(shipped_config(), env=ENV)
    monkeypatch.setattr(jobs, "due_instants", lambda _settings: _syllabus_dues())
    daemon = Daemon([settings], holder="test:1")
    daemon.plan(NOW)
    daemon.scheduler.start(paused=True)
    try:
        kinds = daemon.next_runs()
        due_runs = [at for course, at, kind in kinds if kind == "after_due"]
        assert due_runs == after_due_times(_syllabus_dues(), settings.after_due_minutes, NOW)
        assert datetime(2026, 3, 11, 5, 4, 59, tzinfo=UTC) in due_runs
        interval = daemon.scheduler.get_job(f"interval:{settings.course_id}")
        assert interval.coalesce and interval.max_instances == 1
        assert interval.misfire_grace_time >= 60
        # Re-planning after a sync drops runs whose due date moved away.
        monkeypatch.setattr(jobs, "due_instants", lambda _settings: _syllabus_dues()[:1])
        daemon.plan_after_due(settings.course_id, NOW)
        assert [k for k in daemon.next_runs() if k[2] == "after_due"] == [
            (settings.course_id, datetime(2026, 2, 4, 6, 4, 59, tzinfo=UTC), "after_due")
        ]
    finally:
        daemon.scheduler.shutdown(wait=False)


def test_log_lines_are_key_value_and_never_show_the_token() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging("INFO", secrets=["tok-unit-secret"], stream=stream)
    try:
        jobs.log_event("run_started", course=598, trigger="interval", note="a b")
        logging.getLogger("canvas_sync.canvas").warning("retry with tok-unit-secret in it")
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert 'event=run_started course=598 trigger=interval note="a b"' in lines[0]
    assert lines[0].startswith("time=") and "level=info" in lines[0]
    assert "event=log" in lines[1] and "[token]" in lines[1]
    assert "tok-unit-secret" not in stream.getvalue()
