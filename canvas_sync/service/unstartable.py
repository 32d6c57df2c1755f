"""Runs that cannot start (no Canvas token): recorded as failed runs, so `status`, the dashboard
and the log all say so instead of a daemon that silently does nothing (issue 12)."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime

from canvas_sync.db import records
from canvas_sync.errors import ConfigError
from canvas_sync.service.core import open_database
from canvas_sync.settings import Settings

__all__ = ["NO_TOKEN", "check_runnable", "record_unstartable", "without_token"]

NO_TOKEN = "No Canvas token: set CANVAS_TOKEN to an access token for the course."


def without_token(settings_list: Sequence[Settings]) -> list[Settings]:
    """The courses whose runs can never start: they have no token."""
    return [s for s in settings_list if not s.token]


def check_runnable(settings_list: Sequence[Settings]) -> None:
    """A daemon with no course it could ever run refuses to start (exit 2), naming the fix."""
    if settings_list and len(without_token(settings_list)) == len(settings_list):
        source = settings_list[0].source
        raise ConfigError(
            f"No Canvas token for any course of {source}: set CANVAS_TOKEN in the daemon's "
            "environment (for systemd, in its EnvironmentFile); nothing could ever run."
        )


def record_unstartable(settings: Settings, trigger: str, error: str) -> int:
    """Record a run that could not start as `failed` with `error`; returns its id.

    No course lock is taken: the run reads and writes nothing of the course's data.
    """
    now = datetime.now(UTC)
    database = open_database(settings)
    try:
        with database.transaction() as session:
            run_id = records.start_run(
                session,
                settings.course_id,
                trigger,
                "auto",
                now,
                socket.gethostname(),
                os.getpid(),
            )
            records.finish_run(session, run_id, status="failed", now=now, error=error)
            return run_id
    finally:
        database.dispose()
