"""A sync that loses its PostgreSQL lock mid-run never commits (issue 11, item 1).

The course's advisory lock lives on one PostgreSQL session; when that backend is terminated the
server frees the lock and a second sync may start. The first must notice before it commits, fail
with one sentence and be recorded `failed`, so two syncs of a course never overlap.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_sync import NOW, TOKEN, make_settings, run_sync

from canvas_sync.db import Database, locks, records
from canvas_sync.db.models import SyncLockRow
from canvas_sync.errors import CanvasSyncError, LockLost, LockTimeout
from canvas_sync.settings import Settings
from canvas_sync.simulator import Simulator


@pytest.fixture
def slow_sim() -> Iterator[Simulator]:
    with Simulator(students=20, seed=598, now=NOW, token=TOKEN, latency_ms=60) as simulator:
        yield simulator


def _terminate(url: str, sql_filter: str) -> int:
    """Terminate the test database's backends matching `sql_filter` (not our own); how many."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return len(
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        f"AND {sql_filter}"
                    )
                ).all()
            )
    finally:
        engine.dispose()


LOCK_BACKENDS = "pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"


class _Background:
    """A sync in a thread; keeps what it raised."""

    def __init__(self, settings: Settings) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings) -> None:
        try:
            run_sync(settings, full=True)
        except BaseException as exc:  # kept for the test to inspect
            self.error = exc


def _migrated(url: str) -> str:
    database = Database(url)
    database.ensure_schema()
    database.dispose()
    return url


def _wait_mid_pull(sim: Simulator, url: str) -> None:
    """Until the sync holds the lock, recorded its run, and is pulling."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            running = connection.execute(
                sa.text("SELECT count(*) FROM sync_runs WHERE status = 'running'")
            ).scalar_one()
        engine.dispose()
        if running and len(sim.request_log) >= 3:
            return
        time.sleep(0.05)
    raise AssertionError("the sync never started pulling")


def _runs(url: str) -> list[records.RunRecord]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return records.last_runs(session, 598, limit=10)
    finally:
        database.dispose()


def test_terminated_lock_backend_means_no_overlap(slow_sim: Simulator, postgres_url: str) -> None:
    settings = make_settings(slow_sim, _migrated(postgres_url), lock_wait_seconds=10.0)
    first = _Background(settings)
    _wait_mid_pull(slow_sim, postgres_url)
    assert _terminate(postgres_url, LOCK_BACKENDS) == 1
    run_sync(settings)  # the course is free: a second sync runs to the end
    first.thread.join(timeout=60)
    assert isinstance(first.error, LockLost), first.error
    assert "lock" in str(first.error) and "\n" not in str(first.error)
    runs = sorted(_runs(postgres_url), key=lambda r: r.id)
    assert [r.status for r in runs] == ["failed", "succeeded"]
    assert runs[0].error == str(first.error)
    done = [r for r in runs if r.status == "succeeded"]
    assert len(done) == 1  # never two succeeded runs of the course at once


def test_every_backend_terminated_gives_one_sentence(
    slow_sim: Simulator, postgres_url: str
) -> None:
    settings = make_settings(slow_sim, _migrated(postgres_url))
    first = _Background(settings)
    _wait_mid_pull(slow_sim, postgres_url)
    assert _terminate(postgres_url, "true") >= 1
    first.thread.join(timeout=60)
    assert isinstance(first.error, CanvasSyncError), repr(first.error)
    assert "unexpected" not in str(first.error)
    assert [r.status for r in _runs(postgres_url)] == ["failed"]


def test_refusal_names_the_holder_before_its_row_is_written(postgres_url: str) -> None:
    """Between taking the advisory lock and writing the row, the holder is still named."""
    database = Database(_migrated(postgres_url))
    try:
        with locks.acquire(database, 598, "host-a:4242", wait_seconds=0) as held:
            with database.engine.begin() as connection:  # the instant before the row exists
                connection.execute(sa.text("DELETE FROM sync_locks"))
            with pytest.raises(LockTimeout) as refused:
                locks.acquire(database, 598, "host-b:1", wait_seconds=1)
            assert "host-a:4242" in str(refused.value)
            assert held.info.holder == "host-a:4242"
    finally:
        database.dispose()


def test_sqlite_busy_database_is_not_blamed_on_a_holder(tmp_path: Path) -> None:
    database = Database(_migrated(f"sqlite:///{tmp_path / 'busy.db'}"))
    writer = database.engine.connect()
    try:
        writer.exec_driver_sql("BEGIN IMMEDIATE")  # another process's long write, no lock row
        with pytest.raises(LockTimeout) as refused:
            locks.acquire(database, 598, "host-b:1", wait_seconds=1)
        assert "synced by another process" not in str(refused.value)
        assert "busy" in str(refused.value)
    finally:
        writer.exec_driver_sql("ROLLBACK")
        writer.close()
        database.dispose()


def test_sqlite_refusal_names_a_holder_busy_committing(tmp_path: Path) -> None:
    """A holder whose long write kept it from renewing its lease is still named."""
    database = Database(_migrated(f"sqlite:///{tmp_path / 'committing.db'}"))
    writer = database.engine.connect()
    try:
        writer.exec_driver_sql(
            "INSERT INTO sync_locks (course_id, holder, acquired_at, lease_until) "
            "VALUES (598, 'host-a:4242', '2026-01-01 00:00:00', '2026-01-01 00:01:00')"
        )
        writer.commit()
        writer.exec_driver_sql("BEGIN IMMEDIATE")  # its write transaction, still committing
        with pytest.raises(LockTimeout) as refused:
            locks.acquire(database, 598, "host-b:1", wait_seconds=1)
        assert "host-a:4242" in str(refused.value)
    finally:
        writer.exec_driver_sql("ROLLBACK")
        writer.close()
        database.dispose()


def test_sqlite_lock_of_a_dead_local_process_is_taken_over_at_once(tmp_path: Path) -> None:
    database = Database(_migrated(f"sqlite:///{tmp_path / 'dead.db'}"))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    holder = f"{socket.gethostname()}:{int(gone.stdout)}"
    lease = datetime.now(UTC) + timedelta(seconds=60)  # would block the course for a minute
    try:
        with database.engine.begin() as connection:
            connection.execute(
                sa.insert(SyncLockRow).values(
                    course_id=598, holder=holder, acquired_at=datetime.now(UTC), lease_until=lease
                )
            )
        with locks.acquire(database, 598, "host-b:1", wait_seconds=0) as taken:
            assert taken.info.holder == "host-b:1"
    finally:
        database.dispose()
